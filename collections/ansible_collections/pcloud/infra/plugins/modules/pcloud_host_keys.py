#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pcloud_host_keys
short_description: Generate the droplets' SSH host keys on the control node and pin them in known_hosts
version_added: 0.3.0
author: pcloud contributors (@pcloud)
description:
  - For each droplet in O(generate), makes a fresh ed25519 host key pair in C(ssh/hosts/<droplet>) (0600) and
    C(ssh/hosts/<droplet>.pub) in the config dir, and returns the cloud-init C(user_data) that installs it on the
    droplet at creation (DigitalOcean's cloud-init and the local cloud both honour it). The user_data holds the
    private key - use C(no_log) on this task and on the task that passes the user_data on.
  - For the droplets in O(known_hosts), rewrites C(ssh/known_hosts) in the config dir from their pinned public keys,
    one C(<droplet>,<ip>) line each. Every SSH connection of pcloud checks it strictly, with the droplet name as
    C(HostKeyAlias).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - pcloud.infra.pcloud.local_records
options:
  config_dir:
    description: The pcloud config directory.
    type: path
    required: true
  generate:
    description: Droplets about to be created; each gets a new host key, replacing any key kept under its name.
    type: list
    elements: str
    default: []
  adopt:
    description:
      - Droplet objects (the provider's shape) that have no pinned key yet - made before pcloud pinned host keys -
        whose presented key (C(ssh-keyscan)) is pinned as it is, on first use. Droplets with a pinned key are never
        re-pinned this way. Only use it over a network path you trust.
    type: list
    elements: dict
    default: []
  changes:
    description:
      - The plan's C(changes) (C(pcloud_state_info)); the droplets this run creates - the new ones, and those it
        destroys first because of O(force) or O(replace) - are added to O(generate).
    type: dict
  force:
    description: Every kept droplet is recreated (C(pcloud_force)).
    type: bool
    default: false
  replace:
    description: Droplets that are recreated (C(pcloud_replace)).
    type: list
    elements: str
    default: []
  known_hosts:
    description:
      - Droplet objects (the provider's shape, as C(digital_ocean_droplet) returns them in C(data.droplet)) whose
        pinned keys make up C(ssh/known_hosts). When omitted, C(ssh/known_hosts) is left alone.
    type: list
    elements: dict
"""

EXAMPLES = r"""
- name: Pin host keys for the droplets this run creates
  pcloud.infra.pcloud_host_keys:
    config_dir: /srv/pcloud/config
    changes: "{{ plan.changes }}"
    replace: [hostomatic-web1]
  register: host_keys
  no_log: true  # the user_data holds private keys

- name: Write known_hosts for the fleet
  pcloud.infra.pcloud_host_keys:
    config_dir: /srv/pcloud/config
    known_hosts: "{{ created.results | map(attribute='data.droplet') | list }}"
"""

RETURN = r"""
generated:
  description: The droplets that got a new host key.
  returned: always
  type: list
  elements: str
user_data:
  description: Per generated droplet, the C(#cloud-config) user_data with its host key (a secret).
  returned: always
  type: dict
fingerprints:
  description: Per droplet with a pinned key, the C(SHA256:) fingerprint of its host key.
  returned: always
  type: dict
  sample: {"hostomatic-web1": "SHA256:7y1mE1Yp3l6yD0mE3nXz0x7lQ2bQyq3m9p2l1o4QeXk"}
unpinned:
  description: Droplets in O(known_hosts) with no pinned key (made before pcloud pinned host keys, or outside it).
  returned: always
  type: list
  elements: str
known_hosts_file:
  description: The path of the known_hosts file.
  returned: always
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pcloud.infra.plugins.module_utils import hostkeys
from ansible_collections.pcloud.infra.plugins.module_utils.errors import PcloudError
from ansible_collections.pcloud.infra.plugins.module_utils.topology import public_ipv4


def _new_pair() -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode("ascii")
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode("ascii")
    return private, public


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def main() -> None:
    module = AnsibleModule(argument_spec={
        "config_dir": {"type": "path", "required": True},
        "generate": {"type": "list", "elements": "str", "default": []},
        "known_hosts": {"type": "list", "elements": "dict"},
        "adopt": {"type": "list", "elements": "dict", "default": []},
        "changes": {"type": "dict"},
        "force": {"type": "bool", "default": False},
        "replace": {"type": "list", "elements": "str", "default": []},
    }, supports_check_mode=True)
    p = module.params
    hosts_dir = os.path.join(p["config_dir"], hostkeys.HOSTS_DIR)
    changed = False
    user_data = {}
    fingerprints = {}
    unpinned = []
    known_file = os.path.join(p["config_dir"], hostkeys.KNOWN_HOSTS)
    try:
        names = sorted(set(p["generate"]) | set(hostkeys.droplets_to_pin(p["changes"] or {}, p["force"], p["replace"])))
        for name in names:
            hostkeys.check_droplet_name(name)
        if names:
            changed = True
            if not module.check_mode:
                hostkeys.ensure_private_dir(os.path.dirname(hosts_dir))
                hostkeys.ensure_private_dir(hosts_dir)
                for name in names:
                    private, public = _new_pair()
                    hostkeys.write_private_file(os.path.join(hosts_dir, name), private)
                    hostkeys.write_private_file(os.path.join(hosts_dir, name + ".pub"), public + "\n", 0o644)
                    user_data[name] = hostkeys.render_cloud_config(private, public)
                    fingerprints[name] = hostkeys.fingerprint(public)
        for droplet in p["adopt"]:
            name = hostkeys.check_droplet_name(droplet.get("name"))
            ip = public_ipv4(droplet)
            if ip is None or os.path.exists(os.path.join(hosts_dir, name + ".pub")):
                continue
            _rc, out, _err = module.run_command([module.get_bin_path("ssh-keyscan", required=True), "-T", "10", ip])
            key = hostkeys.key_to_adopt(hostkeys.presented_keys(out).get(ip, []))
            if key is None:
                module.fail_json(msg="Cannot pin the host key of droplet %s (%s) on first use: it presented none"
                                 % (name, ip))
            changed = True
            module.warn("pinned the SSH host key droplet %s (%s) presents now, on first use: %s"
                        % (name, ip, hostkeys.fingerprint(key)))
            if not module.check_mode:
                hostkeys.ensure_private_dir(os.path.dirname(hosts_dir))
                hostkeys.ensure_private_dir(hosts_dir)
                hostkeys.write_private_file(os.path.join(hosts_dir, name + ".pub"), key + "\n", 0o644)
        if p["known_hosts"] is not None:
            pins = []
            for droplet in p["known_hosts"]:
                name = hostkeys.check_droplet_name(droplet.get("name"))
                public = _read(os.path.join(hosts_dir, "%s.pub" % name))
                if public is None:
                    unpinned.append(name)
                    continue
                fingerprints[name] = hostkeys.fingerprint(public)
                pins.append((name, public_ipv4(droplet), public))
            content = hostkeys.render_known_hosts(pins)
            if not module.check_mode:
                hostkeys.ensure_private_dir(os.path.dirname(known_file))
                changed = hostkeys.write_private_file(known_file, content, 0o644) or changed
            elif _read(known_file) != content:
                changed = True
    except (PcloudError, OSError) as exc:
        module.fail_json(msg="Cannot pin SSH host keys in %s: %s" % (hosts_dir, exc))
    for name in sorted(unpinned):
        module.warn("droplet %s has no pinned SSH host key (no %s.pub in %s); strict host key checking will refuse "
                    "it - recreate it with 'pcloud recover %s'" % (name, name, hosts_dir, name))
    module.exit_json(changed=changed, generated=names, user_data=user_data, fingerprints=fingerprints, unpinned=sorted(unpinned),
                     known_hosts_file=known_file)


if __name__ == "__main__":
    main()
