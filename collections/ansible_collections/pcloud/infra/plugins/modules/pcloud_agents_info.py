#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pcloud_agents_info
short_description: Which droplets have a health agent answering, and which agents a run configures
version_added: 0.2.0
author: pcloud contributors (@pcloud)
description:
  - Asks the open C(GET /health) of the health agent on each droplet of O(state) that has an address (port 8080,
    which the fleet firewall opens to the admin IP), in parallel, and decides which droplets' agents
    C(playbooks/orchestrate.yml) configures (P(pcloud.infra.health_monitor#role)).
  - With O(agents=auto), every droplet when the run creates, destroys or recreates droplets (every agent's ring
    changes), else only the droplets without an agent answering as themselves; the agents are not asked at all when
    the ring changes. O(agents=always) configures every droplet, O(agents=never) none.
  - Reads only; changes nothing.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  state:
    description: The rendered pcloud state with IP addresses (the C(infrastructure) M(pcloud.infra.pcloud_state) returns).
    type: dict
    required: true
  changes:
    description: The run's changes (C(changes) of M(pcloud.infra.pcloud_state_info)); C(create) and C(destroy) change the ring.
    type: dict
    default: {}
  force:
    description: The run recreates every droplet.
    type: bool
    default: false
  replace:
    description: Droplets the run recreates.
    type: list
    elements: str
    default: []
  agents:
    description: Which agents to configure.
    type: str
    choices: [auto, always, never]
    default: auto
  timeout:
    description: Seconds each agent may take to answer.
    type: float
    default: 3
"""

EXAMPLES = r"""
- name: Choose the droplets whose health agent this run configures
  pcloud.infra.pcloud_agents_info:
    state: "{{ recorded.infrastructure }}"
    changes: "{{ plan.changes }}"
  register: agents
"""

RETURN = r"""
configure:
  description: The droplets whose agent the run configures, sorted.
  returned: always
  type: list
  elements: str
ring_changed:
  description: Whether the run creates, destroys or recreates droplets.
  returned: always
  type: bool
reports:
  description: Each asked droplet's C(/health) report, or null when its agent did not answer; empty when not asked.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pcloud.infra.plugins.module_utils.agentprobe import (
    AGENTS_MODES,
    agent_reports,
    agents_to_configure,
    ring_changes,
)


def main() -> None:
    module = AnsibleModule(argument_spec={
        "state": {"type": "dict", "required": True},
        "changes": {"type": "dict", "default": {}},
        "force": {"type": "bool", "default": False},
        "replace": {"type": "list", "elements": "str", "default": []},
        "agents": {"type": "str", "choices": list(AGENTS_MODES), "default": "auto"},
        "timeout": {"type": "float", "default": 3.0},
    }, supports_check_mode=True)
    params = module.params
    droplets = params["state"].get("droplets")
    if not isinstance(droplets, dict):
        module.fail_json(msg="pcloud_agents_info: state has no 'droplets' mapping; give the rendered pcloud state")
    ips = {name: body["ip"] for name, body in sorted(droplets.items()) if isinstance(body, dict) and body.get("ip")}
    changed_ring = ring_changes(params["changes"], params["force"], params["replace"])
    asked = params["agents"] == "auto" and not changed_ring
    reports = agent_reports(ips, timeout=params["timeout"]) if asked else {}
    module.exit_json(changed=False, ring_changed=changed_ring, reports=reports,
                     configure=agents_to_configure(ips, params["agents"], changed_ring, reports))


if __name__ == "__main__":
    main()
