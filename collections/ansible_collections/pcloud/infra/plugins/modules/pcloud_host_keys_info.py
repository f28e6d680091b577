#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pcloud_host_keys_info
short_description: Compare the SSH host key each droplet presents with the one pinned for it
version_added: 0.3.0
author: pcloud contributors (@pcloud)
description:
  - Asks each droplet for its SSH host keys (C(ssh-keyscan)) and compares them with its pinned key in
    C(ssh/hosts/<droplet>.pub) in the config dir.
  - Never changes anything. A droplet whose key differs from the pinned one, or that has no pinned key, is listed in
    RV(problems) with a message that names it; the playbook decides to fail. A droplet that does not answer from
    here (down, or the firewall admits another admin IP) cannot be compared and only gets a warning.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - pcloud.infra.pcloud.local_records
attributes:
  check_mode:
    details: This module never changes anything.
options:
  config_dir:
    description: The pcloud config directory.
    type: path
    required: true
  droplets:
    description: Droplet objects (the provider's shape) to check, by name and public IPv4 address.
    type: list
    elements: dict
    required: true
  timeout:
    description: Seconds C(ssh-keyscan) waits for the droplets (all are scanned at once).
    type: int
    default: 5
"""

EXAMPLES = r"""
- name: Check the droplets present their pinned host keys
  pcloud.infra.pcloud_host_keys_info:
    config_dir: /srv/pcloud/config
    droplets: "{{ created.results | map(attribute='data.droplet') | list }}"
  register: host_keys

- name: Stop on a changed host key
  ansible.builtin.assert:
    that: host_keys.problems | length == 0
    fail_msg: "{{ host_keys.problems | join('; ') }}"
"""

RETURN = r"""
droplets:
  description: Per droplet its address, and the fingerprints of the pinned and the presented host keys.
  returned: always
  type: dict
  sample: {"hostomatic-web1": {"ip": "10.199.8.3", "pinned": "SHA256:7y1m...", "presented": ["SHA256:7y1m..."]}}
problems:
  description: One message per droplet whose presented key is not its pinned key (or that has none pinned).
  returned: always
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pcloud.infra.plugins.module_utils import hostkeys
from ansible_collections.pcloud.infra.plugins.module_utils.errors import PcloudError
from ansible_collections.pcloud.infra.plugins.module_utils.topology import public_ipv4


def main() -> None:
    module = AnsibleModule(argument_spec={
        "config_dir": {"type": "path", "required": True},
        "droplets": {"type": "list", "elements": "dict", "required": True},
        "timeout": {"type": "int", "default": 5},
    }, supports_check_mode=True)
    p = module.params
    keyscan = module.get_bin_path("ssh-keyscan", required=True)
    report = {}
    problems = []
    try:
        targets = []
        for droplet in sorted(p["droplets"], key=lambda d: str(d.get("name"))):
            targets.append((hostkeys.check_droplet_name(droplet.get("name")), public_ipv4(droplet)))
        ips = sorted({ip for _name, ip in targets if ip})
        presented = {}
        if ips:  # one run scans every droplet in parallel, so an unreachable one costs the timeout once
            _rc, out, _err = module.run_command([keyscan, "-T", str(p["timeout"])] + ips)
            presented = hostkeys.presented_keys(out)
        for name, ip in targets:
            try:
                with open(os.path.join(p["config_dir"], hostkeys.HOSTS_DIR, name + ".pub"), encoding="utf-8") as handle:
                    pinned = handle.read().strip()
            except FileNotFoundError:
                pinned = None
            keys = presented.get(ip, []) if ip else []
            problem = hostkeys.host_key_problem(name, ip, pinned, keys)
            if problem:
                problems.append(problem)
            elif not keys:
                module.warn("could not read the SSH host key of droplet %s (%s) from here; it was not compared with "
                            "its pinned key" % (name, ip or "no address"))
            report[name] = {"ip": ip, "pinned": hostkeys.fingerprint(pinned) if pinned else None,
                            "presented": [hostkeys.fingerprint(k) for k in keys]}
    except PcloudError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, droplets=report, problems=problems)


if __name__ == "__main__":
    main()
