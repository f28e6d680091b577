#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pcloud_state
short_description: Write the rendered pcloud state, C(infrastructure.json)
version_added: 0.1.0
author: pcloud contributors (@pcloud)
description:
  - Computes the desired state from the spec in O(config_dir) (earlier port allocations are kept), takes the IP
    addresses from the provider, and writes C(infrastructure.json) atomically (temporary file and rename) under a
    lock, so readers and killed runs see the old or the new file, never a torn one.
  - Reports C(changed) only when the content differs.
extends_documentation_fragment:
  - pcloud.infra.pcloud
  - pcloud.infra.pcloud.sources
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
options:
  admin_ip:
    description: The IP address SSH is allowed from; recorded in the state. Defaults as in M(pcloud.infra.pcloud_state_info).
    type: str
"""

EXAMPLES = r"""
- name: Record the fleet
  pcloud.infra.pcloud_state:
    config_dir: "{{ playbook_dir }}/../config"
"""

RETURN = r"""
path:
  description: The file written.
  returned: always
  type: str
infrastructure:
  description: The rendered state, as written to C(infrastructure.json).
  returned: always
  type: dict
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pcloud.infra.plugins.module_utils.argspec import pcloud_argument_spec
from ansible_collections.pcloud.infra.plugins.module_utils.errors import PcloudError
from ansible_collections.pcloud.infra.plugins.module_utils.fleet import plan_against_provider, rendered_state
from ansible_collections.pcloud.infra.plugins.module_utils.spec import INFRASTRUCTURE_JSON
from ansible_collections.pcloud.infra.plugins.module_utils.statefile import FileLock, write_json_atomic


def main() -> None:
    spec = pcloud_argument_spec()
    spec.update(admin_ip={"type": "str"}, sources={"type": "dict", "default": {}})
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    params = module.params
    path = os.path.join(params["config_dir"], INFRASTRUCTURE_JSON)
    try:
        with FileLock(path + ".lock"):
            plan = plan_against_provider(params["config_dir"], params["api_url"], params["api_token"],
                                         params["fleet_tag"], params["timeout"], params["admin_ip"],
                                         params["sources"])
            before = plan.previous
            after = rendered_state(plan.state, plan.admin_ip, {"name": plan.provider.name, "url": plan.provider.url})
            changed = json.dumps(before, sort_keys=True) != json.dumps(after, sort_keys=True)
            if changed and not module.check_mode:
                write_json_atomic(path, after, mode=0o644)
    except PcloudError as exc:
        module.fail_json(msg=str(exc))
    diff = {"before": json.dumps(before, indent=1, sort_keys=True) + "\n" if before else "",
            "after": json.dumps(after, indent=1, sort_keys=True) + "\n",
            "before_header": path, "after_header": path}
    module.exit_json(changed=changed, path=path, infrastructure=after, diff=diff)


if __name__ == "__main__":
    main()
