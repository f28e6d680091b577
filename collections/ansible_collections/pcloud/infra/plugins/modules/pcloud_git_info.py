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
tags_at_head:
  description: The tags pointing at C(HEAD), sorted.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pcloud.infra.plugins.module_utils.gitrefs import list_tags_argv, parse_tags, tags_at


def main() -> None:
    module = AnsibleModule(argument_spec={"repo_path": {"type": "path", "required": True}}, supports_check_mode=True)
    path = module.params["repo_path"]
    git = module.get_bin_path("git", required=True)
    rc, out, err = module.run_command([git, "-C", path, "rev-parse", "--verify", "--quiet", "HEAD"])
    head = out.strip() if rc == 0 else ""
    rc, out, err = module.run_command([git] + list_tags_argv(path)[1:])
    if rc != 0:
        module.fail_json(msg="cannot read the tags of %s: %s" % (path, err.strip()))
    tags = parse_tags(out)
    module.exit_json(changed=False, head=head, tags=tags, tags_at_head=tags_at(tags, head) if head else [])


if __name__ == "__main__":
    main()
