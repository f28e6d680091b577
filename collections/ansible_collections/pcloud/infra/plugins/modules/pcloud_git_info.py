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

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pcloud.infra.plugins.module_utils.gitrefs import build_name, list_tags_argv, parse_tags, tags_at, tree_hash


def main() -> None:
    module = AnsibleModule(argument_spec={"repo_path": {"type": "path", "required": True},
                                          "content_hash": {"type": "bool", "default": False}}, supports_check_mode=True)
    path = module.params["repo_path"]
    if not os.path.isdir(path):
        module.fail_json(msg="%s is not a directory" % path)
    git = module.get_bin_path("git", required=True)
    rc, out, err = module.run_command([git, "-C", path, "rev-parse", "--is-inside-work-tree", "--is-bare-repository"])
    is_repo = rc == 0
    extra = {}
    head, tags = "", {}
    if is_repo:
        rc, out, err = module.run_command([git, "-C", path, "rev-parse", "--verify", "--quiet", "HEAD"])
        head = out.strip() if rc == 0 else ""
        rc, out, err = module.run_command([git] + list_tags_argv(path)[1:])
        if rc != 0:
            module.fail_json(msg="cannot read the tags of %s: %s" % (path, err.strip()))
        tags = parse_tags(out)
    elif not module.params["content_hash"]:
        module.fail_json(msg="%s is not a Git repository" % path)
    if module.params["content_hash"]:
        dirty = False
        if is_repo:
            rc, out, err = module.run_command([git, "-C", path, "status", "--porcelain", "--untracked-files=normal"])
            dirty = rc != 0 or bool(out.strip())
        content = tree_hash(path)
        build, taggable = build_name(head, dirty, content)
        extra = {"dirty": dirty, "content": content, "build": build, "taggable": taggable}
    module.exit_json(changed=False, head=head, tags=tags, tags_at_head=tags_at(tags, head) if head else [],
                     is_repo=is_repo, **extra)


if __name__ == "__main__":
    main()
