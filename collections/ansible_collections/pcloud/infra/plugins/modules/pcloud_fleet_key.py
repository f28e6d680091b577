#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pcloud_fleet_key
short_description: The fleet's SSH key pair on the control node, created when missing
version_added: 0.3.0
author: pcloud contributors (@pcloud)
description:
  - Makes sure the config dir holds the fleet's SSH key pair, C(ssh/id_ed25519) (mode 0600) and C(ssh/id_ed25519.pub),
    the pair C(pcloud init) writes. A config dir with only a spec (C(projects.csv)) gets it here, with its C(ssh/)
    directory (mode 0700).
  - An existing pair is kept as it is. A private key without its public half gets the public half derived from it; a
    public half without its private key is replaced by a new pair.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - pcloud.infra.pcloud.local_records
options:
  config_dir:
    description: The pcloud config directory.
    type: path
    required: true
  path:
    description: The private key file; the public half is next to it with C(.pub). Default C(ssh/id_ed25519) in O(config_dir).
    type: path
"""

EXAMPLES = r"""
- name: Generate or reuse the fleet key pair
  pcloud.infra.pcloud_fleet_key:
    config_dir: /srv/pcloud/config
  register: fleet_key

- name: Upload the fleet key
  community.digitalocean.digital_ocean_sshkey:
    name: pcloud-fleet
    ssh_pub_key: "{{ fleet_key.public_key }}"
"""

RETURN = r"""
path:
  description: The private key file.
  returned: always
  type: str
  sample: /srv/pcloud/config/ssh/id_ed25519
public_key:
  description:
    - The public key, one OpenSSH line. In check mode, for a key that does not exist yet, a key made in memory only.
  returned: always
  type: str
  sample: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC3c0m9wJ8p7cl3rJrWAb0aK2q3YqkKxk0LxbXgq7m7v pcloud-fleet
fingerprint:
  description:
    - The key's id at the provider (MD5 of the key, colon-separated hex, as DigitalOcean names SSH keys), known before
      the key is uploaded.
  returned: always
  type: str
  sample: 3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa
created:
  description: The directory and files this run created (in check mode, would create).
  returned: always
  type: list
  elements: str
msg:
  description: What was created, or that the existing key was kept.
  returned: always
  type: str
  sample: created /srv/pcloud/config/ssh, /srv/pcloud/config/ssh/id_ed25519, /srv/pcloud/config/ssh/id_ed25519.pub
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pcloud.infra.plugins.module_utils import fleetkey
from ansible_collections.pcloud.infra.plugins.module_utils.errors import PcloudError


def main() -> None:
    module = AnsibleModule(argument_spec={
        "config_dir": {"type": "path", "required": True},
        "path": {"type": "path"},
    }, supports_check_mode=True)
    p = module.params
    try:
        key = fleetkey.ensure_fleet_key(p["config_dir"], p["path"], check=module.check_mode)
        fingerprint = fleetkey.provider_fingerprint(key.public_key)
    except (PcloudError, OSError) as exc:
        module.fail_json(msg="Cannot make the fleet SSH key %s: %s" % (p["path"] or fleetkey.key_path(p["config_dir"]),
                                                                       exc))
    module.exit_json(changed=bool(key.created), path=key.path, public_key=key.public_key, fingerprint=fingerprint,
                     created=key.created,
                     msg="created %s" % ", ".join(key.created) if key.created else "kept %s" % key.path)


if __name__ == "__main__":
    main()
