# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Golden files pin the allocation of the seed examples: a change to them must be deliberate.

Regenerate with ``PCLOUD_UPDATE_GOLDEN=1 pytest ...test_golden.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils.spec import load_spec
from ansible_collections.pcloud.infra.plugins.module_utils.topology import build_state
from ansible_collections.pcloud.infra.tests.unit.seed import FIXTURES

PINNED = ("type", "port", "assigned_droplets", "db_name", "db_user", "resource_hash", "service_name")


def allocation(state):
    return {
        "droplets": {n: {k: d[k] for k in ("role", "size", "region", "monitors")} for n, d in state["droplets"].items()},
        "projects": {key: {svc: {k: body[k] for k in PINNED if k in body} for svc, body in services.items()}
                     for key, services in state["projects"].items()},
    }


@pytest.mark.parametrize("variant, files", [
    ("csv", ("projects.csv", "deployment_config.json")),
    ("json", ("infrastructure.json", "deployment_config.json")),
])
def test_seed_allocation_matches_golden(tmp_path, variant, files):
    for name in files:
        shutil.copy(os.path.join(FIXTURES, name), tmp_path / name)
    got = allocation(build_state(load_spec(str(tmp_path))))
    golden = os.path.join(FIXTURES, "golden_%s.json" % variant)
    if os.environ.get("PCLOUD_UPDATE_GOLDEN"):
        with open(golden, "w", encoding="utf-8") as handle:
            json.dump(got, handle, indent=1, sort_keys=True)
            handle.write("\n")
    with open(golden, encoding="utf-8") as handle:
        assert got == json.load(handle)
