# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  config_dir:
    description: The pcloud config directory (spec files, C(infrastructure.json), C(localcloud/)).
    type: path
    required: true
  api_url:
    description:
      - Base URL of the DigitalOcean-shaped API. When unset, C(PCLOUD_API_URL) is used, else DigitalOcean when a
        C(DO_API_TOKEN), C(DIGITALOCEAN_TOKEN) or C(DO_OAUTH_TOKEN) is set, else the local cloud started for
        O(config_dir). The P(pcloud.infra.provider#lookup) lookup resolves it the same way.
    type: str
  api_token:
    description:
      - API token. When unset, C(PCLOUD_API_TOKEN) is used (then the first of C(DO_API_TOKEN), C(DIGITALOCEAN_TOKEN),
        C(DO_OAUTH_TOKEN), then the local cloud's token file).
    type: str
  fleet_tag:
    description: Only droplets with this tag belong to the fleet; others are never touched.
    type: str
    default: pcloud
  timeout:
    description: Seconds to wait for each API response.
    type: int
    default: 30
"""

    # The modules that plan: where each project's Procfile is read.
    SOURCES = r"""
options:
  sources:
    description:
      - Per project, the source directory a deploy builds from (the checkout, or the working tree of a C(--local)
        deploy). A project that C(deployment_config.json) lists no services for takes its services from the
        C(Procfile) there (C(web) the web service, C(release) the release phase, every other type a worker), and
        a service's C(process) key takes its command from it. Without it the Procfile of the last checkout
        (C(<config_dir>/.build/<project>)) is read, else the one the state recorded.
    type: dict
    default: {}
"""

    # The local modules (Git, release and snapshot records in the config dir): full check mode, no diff.
    LOCAL_RECORDS = r"""
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
"""
