#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pcloud_state_info
short_description: The pcloud plan against the provider - what to create, resize and destroy
version_added: 0.1.0
author: pcloud contributors (@pcloud)
description:
  - Reads the pcloud spec from O(config_dir), computes the desired state (keeping earlier port allocations from
    C(infrastructure.json)), reads the provider's droplets with the fleet tag and returns what differs, the
    create requests for the droplets, the fleet firewall and the admin IP.
  - Never changes anything.
extends_documentation_fragment:
  - pcloud.infra.pcloud
  - pcloud.infra.pcloud.sources
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: This module never changes anything.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  admin_ip:
    description:
      - The IP address SSH is allowed from. Defaults to the one recorded in C(infrastructure.json), and for the local
        cloud to its droplet network's gateway.
    type: str
  image:
    description: Image slug for new droplets.
    type: str
    default: debian-12-x64
  force:
    description: The run recreates every droplet (counted as destroyed by O(confirm_destroy)).
    type: bool
    default: false
  confirm_destroy:
    description:
      - Allow a plan that destroys master or more than half of the fleet's droplets (a spec that lost its
        projects, or O(force=true)). Without it such a plan fails here, before anything changes; in check mode it
        is a warning.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Plan against the provider
  pcloud.infra.pcloud_state_info:
    config_dir: "{{ playbook_dir }}/../config"
  register: plan

- name: Show what would be created
  ansible.builtin.debug:
    msg: "{{ plan.changes.create | map(attribute='name') }}"
"""

RETURN = r"""
provider:
  description: The provider the plan was made against (the token is never returned).
  returned: always
  type: dict
  sample: {"name": "local", "url": "http://127.0.0.1:8910/v2"}
state:
  description: The desired state in the C(infrastructure.json) shape, with the provider's IP addresses.
  returned: always
  type: dict
droplets:
  description: One create request per planned droplet (name, size, region, image, tags, role, project).
  returned: always
  type: list
  elements: dict
changes:
  description: Lists C(create), C(resize), C(destroy) and C(keep) against the provider's droplets.
  returned: always
  type: dict
firewall:
  description: The fleet firewall (name, tags, inbound_rules, outbound_rules).
  returned: always
  type: dict
admin_ip:
  description: The IP address SSH is allowed from.
  returned: always
  type: str
deploy:
  description: Per project its repository URL, branch, version and services (from C(deployment_config.json)).
  returned: always
  type: dict
destruction:
  description: Why this plan needs O(confirm_destroy) (what it would destroy), or null.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pcloud.infra.plugins.module_utils.argspec import pcloud_argument_spec
from ansible_collections.pcloud.infra.plugins.module_utils.errors import PcloudError
from ansible_collections.pcloud.infra.plugins.module_utils.fleet import droplet_requests, firewall_spec, plan_against_provider
from ansible_collections.pcloud.infra.plugins.module_utils.topology import destruction_problem, diff_droplets


def main() -> None:
    spec = pcloud_argument_spec()
    spec.update(admin_ip={"type": "str"}, image={"type": "str", "default": "debian-12-x64"},
                force={"type": "bool", "default": False}, confirm_destroy={"type": "bool", "default": False},
                sources={"type": "dict", "default": {}})
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    params = module.params
    try:
        plan = plan_against_provider(params["config_dir"], params["api_url"], params["api_token"], params["fleet_tag"],
                                     params["timeout"], params["admin_ip"], params["sources"])
    except PcloudError as exc:
        module.fail_json(msg=str(exc))
    changes = diff_droplets(plan.state, plan.droplets, params["fleet_tag"])
    destruction = destruction_problem(changes, params["force"])
    warnings = list(plan.spec.warnings)
    if destruction and not params["confirm_destroy"]:
        if not module.check_mode:
            module.fail_json(msg="%s; nothing was changed. Confirm with -e pcloud_confirm_destroy=true "
                                 "('pcloud orchestrate --yes'), or fix the spec" % destruction, changes=changes)
        warnings.append("%s: a real run needs pcloud_confirm_destroy=true" % destruction)
    module.exit_json(
        changed=False,
        provider={"name": plan.provider.name, "url": plan.provider.url},
        state=plan.state,
        droplets=droplet_requests(plan.state, params["image"]),
        changes=changes,
        destruction=destruction,
        firewall=firewall_spec(plan.admin_ip, params["fleet_tag"]),
        admin_ip=plan.admin_ip,
        deploy=plan.spec.deploy.to_json(tuple(p.name for p in plan.spec.infra.projects)),
        warnings=warnings,
    )


if __name__ == "__main__":
    main()
