#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pcloud_git_tag
short_description: Create an annotated Git tag on a commit and push it
version_added: 0.2.0
author: pcloud contributors (@pcloud)
description:
  - Creates the annotated tag O(name) on O(commit) in a repository on the control node unless it exists, and pushes
    it to O(remote) when O(push) is set. A tag that exists on another commit is an error, never moved.
  - Used by the deploy to tag a successful UAT deploy C(v{version}-uat-{YYYYMMDD-HHMM}).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - pcloud.infra.pcloud.local_records
options:
  repo_path:
    description: The working copy.
    type: path
    required: true
  name:
    description: The tag.
    type: str
    required: true
  commit:
    description: The full commit id to tag.
    type: str
    required: true
  annotation:
    description: The tag message.
    type: str
    default: pcloud deploy
  push:
    description: Push the tag to O(remote).
    type: bool
    default: false
  remote:
    description: The remote to push to.
    type: str
    default: origin
requirements:
  - git
"""

EXAMPLES = r"""
- name: Tag the UAT deploy
  pcloud.infra.pcloud_git_tag:
    repo_path: /srv/pcloud/config/.build/hostomatic
    name: v1.0.0-uat-20261122-0610
    commit: "{{ commit }}"
    push: true
"""

RETURN = r"""
tag:
  description: The tag.
  returned: always
  type: str
created:
  description: Whether the tag was created by this run.
  returned: always
  type: bool
pushed:
  description: Whether the tag was pushed by this run.
  returned: always
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pcloud.infra.plugins.module_utils.gitrefs import COMMIT_RE, TAG_NAME_RE, list_tags_argv, parse_tags


def main() -> None:
    module = AnsibleModule(argument_spec={
        "repo_path": {"type": "path", "required": True},
        "name": {"type": "str", "required": True},
        "commit": {"type": "str", "required": True},
        "annotation": {"type": "str", "default": "pcloud deploy"},
        "push": {"type": "bool", "default": False},
        "remote": {"type": "str", "default": "origin"},
    }, supports_check_mode=True)
    p = module.params
    if not TAG_NAME_RE.match(p["name"]):
        module.fail_json(msg="illegal tag name %r" % p["name"])
    if not COMMIT_RE.match(p["commit"]):
        module.fail_json(msg="commit must be a full 40-hex commit id, not %r" % p["commit"])
    git = module.get_bin_path("git", required=True)
    path = p["repo_path"]

    # the tagger of an annotated tag, without touching the repository's or the user's git config
    identity = {"GIT_COMMITTER_NAME": "pcloud", "GIT_COMMITTER_EMAIL": "pcloud@localhost"}

    def run(*args: str) -> str:
        rc, out, err = module.run_command([git, "-C", path] + list(args), environ_update=identity)
        if rc != 0:
            module.fail_json(msg="git %s failed in %s: %s" % (args[0], path, (err or out).strip()))
        return out

    tags = parse_tags(run(*list_tags_argv(path)[3:]))
    created = p["name"] not in tags
    if not created and tags[p["name"]] != p["commit"]:
        module.fail_json(msg="tag %s already points at %s, not %s" % (p["name"], tags[p["name"]], p["commit"]))
    pushed = False
    if p["push"]:
        remote_has = run("ls-remote", "--tags", p["remote"], "refs/tags/" + p["name"]).strip() != ""
        pushed = not remote_has
    if not module.check_mode:
        if created:
            run("tag", "-a", p["name"], "-m", p["annotation"], p["commit"])
        if pushed:
            run("push", "--quiet", p["remote"], "refs/tags/" + p["name"])
    module.exit_json(changed=created or pushed, tag=p["name"], created=created, pushed=pushed)


if __name__ == "__main__":
    main()
