# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: agent_key
short_description: The fleet key the health agents sign their calls to each other with
version_added: 0.1.0
author: pcloud contributors (@pcloud)
description:
  - Returns the fleet key of the config dir as hex, from C(secrets/.agent-key), which is created (mode 0600, 32 random
    bytes) when missing. Concurrent runs agree on one key.
  - The health agents check every call to C(/views), C(/incidents), C(/drain), C(/undrain) and the local cloud's
    recovery hook against an HMAC-SHA256 under this key. Use it only in tasks with C(no_log) and deliver it as a file.
  - Delete the file and run the agents' playbook again to rotate the key.
options:
  config_dir:
    description: The config dir on the control node.
    type: path
    required: true
"""

EXAMPLES = r"""
- name: The health agent, with the fleet key
  ansible.builtin.include_role:
    name: pcloud.infra.health_monitor
  vars:
    health_monitor_agent_key: "{{ lookup('pcloud.infra.agent_key', config_dir='/srv/pcloud/config') }}"
"""

RETURN = r"""
_raw:
  description: The key, as 64 hexadecimal digits.
  type: list
  elements: str
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.pcloud.infra.plugins.module_utils import agentauth


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        config_dir = self.get_option("config_dir")
        try:
            return [agentauth.ensure_key(config_dir)]
        except (OSError, ValueError) as exc:
            raise AnsibleLookupError("pcloud.infra.agent_key: cannot read or create %s: %s; check the config dir's "
                                     "permissions, or delete a damaged key file to create a new one"
                                     % (agentauth.key_path(config_dir), type(exc).__name__)) from exc
