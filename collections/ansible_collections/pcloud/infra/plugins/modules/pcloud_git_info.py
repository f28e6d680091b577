#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pcloud_git_info
short_description: The HEAD commit and the tags of a Git repository
version_added: 0.2.0
author: pcloud contributors (@pcloud)
description:
  - Reads a working copy or bare repository on the control node without changing it - the commit of C(HEAD) and
    every tag with the commit it points at (annotated tags are peeled to their commit) - for the deploy's UAT
    tags and prod promotion.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - pcloud.infra.pcloud.local_records
options:
  repo_path:
    description: The working copy or bare repository.
    type: path
    required: true
  content_hash:
    description:
      - Also hash the files of the working tree (without C(.git)) and say whether it has uncommitted changes, for a
        C(--local) build; the directory may then be a plain directory, not a Git repository.
    type: bool
    default: false
requirements:
  - git
"""

EXAMPLES = r"""
- name: Read the tags
  pcloud.infra.pcloud_git_info:
    repo_path: /srv/pcloud/config/.build/hostomatic
  register: repo
"""

RETURN = r"""
head:
  description: The commit of C(HEAD) (empty for a repository without commits).
  returned: always
  type: str
tags:
  description: Every tag and the commit it points at.
  returned: always
  type: dict
is_repo:
  description: Whether O(repo_path) is a Git repository.
  returned: always
  type: bool
dirty:
  description: Whether the working tree has uncommitted changes (with O(content_hash); untracked files count).
  returned: when O(content_hash)
  type: bool
content:
  description: The sha256 of the working tree's files (with O(content_hash)).
  returned: when O(content_hash)
  type: str
build:
  description: The name of a C(--local) build (with O(content_hash)) - HEAD for a clean working copy, else RV(content).
  returned: when O(content_hash)
  type: str
taggable:
  description: Whether that build is a commit that may get a UAT tag (with O(content_hash)).
  returned: when O(content_hash)
  type: bool
tags_at_head:
  description: The tags pointing at C(HEAD), sorted.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pcloud.infra.plugins.module_utils.gitrefs import read_repo


def main() -> None:
    module = AnsibleModule(argument_spec={"repo_path": {"type": "path", "required": True},
                                          "content_hash": {"type": "bool", "default": False}}, supports_check_mode=True)
    try:
        found = read_repo(module.run_command, module.get_bin_path("git", required=True), module.params["repo_path"],
                          module.params["content_hash"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **found)


if __name__ == "__main__":
    main()
