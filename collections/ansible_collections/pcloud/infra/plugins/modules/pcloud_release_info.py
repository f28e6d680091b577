#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pcloud_release_info
short_description: Read the recorded releases of the project-envs
version_added: 0.2.0
author: pcloud contributors (@pcloud)
description:
  - Reads C(releases/{project}-{env}.json) in the config dir (written by M(pcloud.infra.pcloud_release)) and returns
    the releases, oldest first per project-env - for a rollback, to reproduce a tag, or to show what runs where.
  - Records hold commits, tags, image ids, non-secret configuration and secret versions; never secret values.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - pcloud.infra.pcloud.local_records
options:
  config_dir:
    description: The pcloud config directory.
    type: path
    required: true
  project_env:
    description: Only this project-env, C({project}-{env}).
    type: str
  tag:
    description: Only the releases of this Git tag (its UAT deploy and its prod promotions).
    type: str
"""

EXAMPLES = r"""
- name: The releases of a UAT tag
  pcloud.infra.pcloud_release_info:
    config_dir: /srv/pcloud/config
    tag: v1.0.0-uat-20261122-0610
  register: tagged
"""

RETURN = r"""
releases:
  description: The releases, each with its C(project_env), oldest first per project-env.
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pcloud.infra.plugins.module_utils.errors import PcloudError
from ansible_collections.pcloud.infra.plugins.module_utils.names import git_url_problem
from ansible_collections.pcloud.infra.plugins.module_utils.release_store import load_histories
from ansible_collections.pcloud.infra.plugins.module_utils.releases import releases_with_tag


def main() -> None:
    module = AnsibleModule(argument_spec={
        "config_dir": {"type": "path", "required": True},
        "project_env": {"type": "str"},
        "tag": {"type": "str"},
    }, supports_check_mode=True)
    p = module.params
    try:
        found = releases_with_tag(load_histories(p["config_dir"]), tag=p["tag"], key=p["project_env"])
    except PcloudError as exc:
        module.fail_json(msg=str(exc))
    for release in found:
        # a record written before Git URLs were validated must not reach 'git' now (reproduce checks it out)
        why = git_url_problem(release["repo"]) if release.get("repo") and not str(release["repo"]).startswith("/") else None
        if why:
            module.fail_json(msg="release %s of %s records a repository pcloud will not use: %s"
                                 % (release.get("number"), release.get("project_env", "?"), why))
    module.exit_json(changed=False, releases=found)


if __name__ == "__main__":
    main()
