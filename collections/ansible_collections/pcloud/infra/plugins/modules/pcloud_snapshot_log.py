#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pcloud_snapshot_log
short_description: Record what each post-deploy snapshot holds
version_added: 0.2.0
author: pcloud contributors (@pcloud)
description:
  - Keeps C(snapshots.json) in the config dir - per snapshot id, the droplet, the project-env, the services deployed and
    the Git commit - which the provider's snapshot list cannot hold. The provider stays the truth about which snapshots
    exist, and entries of snapshots missing from O(provider_snapshots) are dropped.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - pcloud.infra.pcloud.local_records
options:
  config_dir:
    description: The pcloud config directory.
    type: path
    required: true
  provider_snapshots:
    description:
      - Every snapshot the provider has (C(digital_ocean_snapshot_info)'s C(data)). Entries of any other snapshot are
        dropped from the log.
    type: list
    elements: dict
    required: true
  taken:
    description: Names of the snapshots just taken; each is recorded as the provider's newest snapshot of that name.
    type: list
    elements: str
    default: []
  metadata:
    description: What the taken snapshots hold, e.g. C(project_env), C(services), C(commit), C(tag).
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Record the snapshot of web1 after a deploy
  pcloud.infra.pcloud_snapshot_log:
    config_dir: /srv/pcloud/config
    provider_snapshots: "{{ found.data }}"
    taken: [hostomatic-web1-deploy-20261122-1130]
    metadata: {project_env: hostomatic-uat, services: [api, web], commit: 3f2a9c0d1e2f}
"""

RETURN = r"""
snapshots:
  description: The log after the change, oldest first.
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pcloud.infra.plugins.module_utils import snapshots
from ansible_collections.pcloud.infra.plugins.module_utils.errors import PcloudError


def main() -> None:
    module = AnsibleModule(argument_spec={
        "config_dir": {"type": "path", "required": True},
        "provider_snapshots": {"type": "list", "elements": "dict", "required": True},
        "taken": {"type": "list", "elements": "str", "default": []},
        "metadata": {"type": "dict", "default": {}},
    }, supports_check_mode=True)
    p = module.params
    try:
        add = snapshots.records(p["taken"], p["provider_snapshots"], p["metadata"])
        log, changed = snapshots.write_log(p["config_dir"], add, [str(s.get("id")) for s in p["provider_snapshots"]],
                                           check=module.check_mode)
    except PcloudError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=changed, snapshots=log)


if __name__ == "__main__":
    main()
