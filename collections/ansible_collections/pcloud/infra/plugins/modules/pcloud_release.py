#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pcloud_release
short_description: Record a release of a project-env
version_added: 0.1.0
author: pcloud contributors (@pcloud)
description:
  - Appends a release to C(releases/{project}-{env}.json) in the config dir - the commit and tag, the images and their
    ids, the non-secret service configuration, the secret versions (never values), who and when - written atomically
    under a lock.
  - A deploy that runs exactly what the newest release runs records nothing and reports no change.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - pcloud.infra.pcloud.local_records
options:
  config_dir:
    description: The pcloud config directory.
    type: path
    required: true
  project_env:
    description: The project-env, C({project}-{env}).
    type: str
    required: true
  commit:
    description: The commit the images were built from.
    type: str
    required: true
  tag:
    description: The Git tag of the commit, if any.
    type: str
  repo:
    description: The repository the commit comes from (recorded so the release can be reproduced).
    type: str
  images:
    description: The image of each service.
    type: dict
    required: true
  image_info:
    description: The images as M(community.docker.docker_image_info) returns them (C(Id), C(RepoTags)).
    type: list
    elements: dict
    required: true
  services:
    description: The non-secret configuration of the services.
    type: dict
    default: {}
  secret_versions:
    description: A version per secret name (see the C(pcloud.infra.secret) lookup); never values.
    type: dict
    default: {}
  who:
    description:
      - Who deployed, when the caller knows (AWX's C(awx_user_name), Semaphore's user). Empty means
        C(git config user.email) of O(repo_path), else C($USER), else C(unknown).
    type: str
    default: ""
  repo_path:
    description: The source on the control node, whose C(git config user.email) names the deployer.
    type: path
  kind:
    description: What made the release.
    type: str
    choices: [deploy, promote, rollback]
    default: deploy
"""

EXAMPLES = r"""
- name: Record the release
  pcloud.infra.pcloud_release:
    config_dir: /srv/pcloud/config
    project_env: hostomatic-uat
    commit: "{{ commit }}"
    images: {backend: "pcloud/hostomatic-backend:0123456789ab"}
    image_info: "{{ info.images }}"
"""

RETURN = r"""
release:
  description: The newest release after the run.
  returned: always
  type: dict
path:
  description: The history file.
  returned: always
  type: str
keep_images:
  description:
    - The registry digest references of the newest releases of the project, which image
      pruning on the droplets and garbage collection in the registry keep - the newest three per environment.
  returned: always
  type: list
  elements: str
"""

import os
from datetime import datetime, timezone

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pcloud.infra.plugins.module_utils.errors import PcloudError
from ansible_collections.pcloud.infra.plugins.module_utils.registry import kept_images
from ansible_collections.pcloud.infra.plugins.module_utils.release_store import history_path, load_histories, load_history
from ansible_collections.pcloud.infra.plugins.module_utils.releases import append_release, deployer, image_ids, release_record
from ansible_collections.pcloud.infra.plugins.module_utils.statefile import FileLock, write_json_atomic


def main() -> None:
    module = AnsibleModule(argument_spec={
        "config_dir": {"type": "path", "required": True},
        "project_env": {"type": "str", "required": True},
        "commit": {"type": "str", "required": True},
        "tag": {"type": "str"},
        "repo": {"type": "str"},
        "images": {"type": "dict", "required": True},
        "image_info": {"type": "list", "elements": "dict", "required": True},
        "services": {"type": "dict", "default": {}},
        "secret_versions": {"type": "dict", "default": {}, "no_log": False},  # versions (HMACs), never values
        "who": {"type": "str", "default": ""},
        "repo_path": {"type": "path"},
        "kind": {"type": "str", "default": "deploy", "choices": ["deploy", "promote", "rollback"]},
    }, supports_check_mode=True)
    p = module.params
    email = ""
    if not p["who"] and p["repo_path"] and os.path.isdir(p["repo_path"]):
        git = module.get_bin_path("git")
        if git:
            _rc, email, _err = module.run_command([git, "-C", p["repo_path"], "config", "user.email"])
    who = deployer(p["who"], email, os.environ.get("USER"))
    path = history_path(p["config_dir"], p["project_env"])
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with FileLock(path + ".lock"):
            history = load_history(p["config_dir"], p["project_env"])
            record = release_record(p["commit"], p["tag"], p["images"], image_ids(p["images"], p["image_info"]), p["services"],
                                    p["secret_versions"], who,
                                    datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), p["kind"], p["repo"])
            history, changed = append_release(history, record)
            if changed and not module.check_mode:
                write_json_atomic(path, history, mode=0o644)
    except PcloudError as exc:
        module.fail_json(msg=str(exc))
    histories = load_histories(p["config_dir"])
    histories[p["project_env"]] = history
    keep = kept_images(histories, p["project_env"].rsplit("-", 1)[0])
    module.exit_json(changed=changed, release=history[-1] if history else record, path=path, keep_images=keep)


if __name__ == "__main__":
    main()
