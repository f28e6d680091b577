# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: provider
short_description: The provider's URL and token, resolved as the pcloud modules and inventory resolve them
version_added: 0.3.0
author: pcloud contributors (@pcloud)
description:
  - Returns, for each term, one fact about the provider of the config dir, from the same function the pcloud modules,
    the inventory plugin and the C(pcloud) CLI use, so a playbook never resolves a token differently from them.
  - The provider is C(PCLOUD_API_URL) with C(PCLOUD_API_TOKEN) when C(PCLOUD_API_URL) is set; else DigitalOcean with
    the first of C(DO_API_TOKEN), C(DIGITALOCEAN_TOKEN), C(DO_OAUTH_TOKEN) that is set; else the local cloud started
    for O(config_dir) (its C(localcloud/token)). With none of them every term is an empty string.
  - C(agent_url) and C(agent_token) are the provider as the health agents on the droplets use it - the address droplets
    reach it by, and a read-only token (scope C(droplet:read)) - O(agent_api_token), else C(PCLOUD_AGENT_API_TOKEN),
    else on the local cloud its C(localcloud/token-droplet-read), else empty. Never the full-access token.
  - Tokens are secrets - pass them only to module options marked C(no_log) or to tasks with C(no_log).
options:
  _terms:
    description: What to return, any of C(name) (C(digitalocean) or C(local)), C(url), C(token), C(agent_url), C(agent_token).
    type: list
    elements: str
    required: true
  config_dir:
    description: The pcloud config directory on the control node (where C(localcloud/) is).
    type: path
    required: true
  agent_api_token:
    description: An explicit read-only token for the agents (C(pcloud_agent_api_token)); empty means not given.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Plan against the provider
  pcloud.infra.pcloud_state_info:
    config_dir: /srv/pcloud/config
    api_token: "{{ lookup('pcloud.infra.provider', 'token', config_dir='/srv/pcloud/config') }}"

- name: The health agents read the provider with a read-only token
  ansible.builtin.include_role:
    name: pcloud.infra.health_monitor
  vars:
    health_monitor_api_url: "{{ lookup('pcloud.infra.provider', 'agent_url', config_dir='/srv/pcloud/config') }}"
    health_monitor_api_token: "{{ lookup('pcloud.infra.provider', 'agent_token', config_dir='/srv/pcloud/config') }}"
"""

RETURN = r"""
_raw:
  description: One string per term, in the order of the terms.
  type: list
  elements: str
"""

import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.pcloud.infra.plugins.module_utils import provider as providers

TERMS = ("name", "url", "token", "agent_url", "agent_token")


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        config_dir = self.get_option("config_dir")
        unknown = [t for t in terms if t not in TERMS]
        if unknown:
            raise AnsibleLookupError("pcloud.infra.provider: unknown term(s) %s; use %s"
                                     % (", ".join(map(repr, unknown)), ", ".join(TERMS)))
        main = providers.resolve_provider(os.environ, config_dir=config_dir)
        agent = None
        if any(t.startswith("agent_") for t in terms):
            agent = providers.agent_provider(os.environ, config_dir, self.get_option("agent_api_token") or None)
        values = {
            "name": main.name if main else "",
            "url": main.url if main else "",
            "token": main.token if main else "",
            "agent_url": agent.url if agent else "",
            "agent_token": agent.token if agent else "",
        }
        return [values[t] for t in terms]
