#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pcloud_deploy_info
short_description: What one deploy builds and runs - the request checked, the build named, its registry images
version_added: 0.3.0
author: pcloud contributors (@pcloud)
description:
  - Checks a deploy request against the plan (the project and environment must be in the spec), reads the source
    on the control node without changing it and names the build - the fetched commit, the commit of a clean
    C(--local) working copy or the hash of its files, or for prod the commit of the promoted UAT tag (prod never
    builds; by default the build uat runs, and a tag uat was rolled back from needs O(force)) - then the images
    it pushes to the fleet's registry and where every service builds from (each path
    resolved inside the source, symlinks followed).
  - C(playbooks/deploy.yml) calls it once and hands the result to the droplets as host variables.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - pcloud.infra.pcloud.local_records
options:
  project:
    description: The project to deploy.
    type: str
    required: true
  environment:
    description: The environment to deploy to.
    type: str
    required: true
  branch:
    description: The branch the checkout was fetched from when not the spec's (checked against Git's ref rules).
    type: str
    default: ""
  projects:
    description: The deploy spec per project (RV(pcloud.infra.pcloud_state_info#module:deploy.projects)).
    type: dict
    required: true
  project_envs:
    description: The project-envs of the plan (the keys of its state's C(projects)).
    type: list
    elements: str
    required: true
  source:
    description: The checkout (or with O(local) the working copy) to build from.
    type: path
    required: true
  local:
    description: O(source) is the user's working copy (C(--local)); a build of uncommitted files is named by their hash.
    type: bool
    default: false
  checkout_commit:
    description: The commit the fetched checkout is at (without O(local)).
    type: str
    default: ""
  promote_tag:
    description: The UAT tag prod promotes; empty means the newest.
    type: str
    default: ""
  force:
    description: Promote a UAT tag even when uat was rolled back from it.
    type: bool
    default: false
  images_override:
    description: A rollback's images by service; nothing is read, built or promoted.
    type: dict
    default: {}
  override_commit:
    description: The commit of the rollback's release.
    type: str
    default: ""
  config_dir:
    description: The config dir (where the source archive is written).
    type: path
    required: true
requirements:
  - git
"""

EXAMPLES = r"""
- name: Name this build
  pcloud.infra.pcloud_deploy_info:
    project: hostomatic
    environment: uat
    projects: "{{ plan.deploy.projects }}"
    project_envs: "{{ plan.state.projects | list }}"
    source: /srv/pcloud/config/.build/hostomatic
    checkout_commit: "{{ checkout.after }}"
    config_dir: /srv/pcloud/config
  register: build
"""

RETURN = r"""
build:
  description:
    - The deploy - C(project), C(environment), C(key), C(kind) (deploy, promote, rollback), C(source), C(commit),
      C(taggable), C(tags), C(tags_at_commit), C(promoted), C(images) (registry references by service),
      C(build_paths), C(build_dir) (on master), C(archive) (on the control node), C(secrets) (names the user
      provides), C(notice) (why a build gets no UAT tag), C(run_images) (a rollback's).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pcloud.infra.plugins.module_utils import deploy_build
from ansible_collections.pcloud.infra.plugins.module_utils.errors import PcloudError
from ansible_collections.pcloud.infra.plugins.module_utils.gitrefs import read_repo
from ansible_collections.pcloud.infra.plugins.module_utils.release_store import load_history


def main() -> None:
    module = AnsibleModule(argument_spec={
        "project": {"type": "str", "required": True},
        "environment": {"type": "str", "required": True},
        "branch": {"type": "str", "default": ""},
        "projects": {"type": "dict", "required": True},
        "project_envs": {"type": "list", "elements": "str", "required": True},
        "source": {"type": "path", "required": True},
        "local": {"type": "bool", "default": False},
        "checkout_commit": {"type": "str", "default": ""},
        "promote_tag": {"type": "str", "default": ""},
        "force": {"type": "bool", "default": False},
        "images_override": {"type": "dict", "default": {}},
        "override_commit": {"type": "str", "default": ""},
        "config_dir": {"type": "path", "required": True},
    }, supports_check_mode=True)
    p = module.params
    try:
        deploy_build.check_request(p["project"], p["environment"], p["branch"])
        repo = None
        if not p["images_override"]:
            repo = read_repo(module.run_command, module.get_bin_path("git", required=True), p["source"], p["local"])
        build = deploy_build.resolve(p["project"], p["environment"], p["projects"], p["project_envs"], p["source"], repo,
                                     local=p["local"], checkout_commit=p["checkout_commit"], promote_tag=p["promote_tag"],
                                     override_images=p["images_override"], override_commit=p["override_commit"],
                                     config_dir=p["config_dir"], force=p["force"],
                                     uat_history=load_history(p["config_dir"], "%s-uat" % p["project"])
                                     if p["environment"] == "prod" and not p["images_override"] else None)
    except (PcloudError, ValueError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, build=build)


if __name__ == "__main__":
    main()
