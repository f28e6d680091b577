# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from datetime import datetime

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils.errors import SpecError
from ansible_collections.pcloud.infra.plugins.module_utils.releases import latest_uat_tag, next_version, uat_tag, uat_tags


def test_uat_tag_format():
    assert uat_tag("1.4.0", datetime(2026, 11, 22, 6, 5)) == "v1.4.0-uat-20261122-0605"
    with pytest.raises(SpecError):
        uat_tag("1.4", datetime(2026, 11, 22))


@pytest.mark.parametrize("configured, tags, expected", [
    ("2.0.0", ["v1.0.3-uat-20261101-1000"], "2.0.0"),
    (None, [], "0.1.0"),
    (None, ["v1.0.3-uat-20261101-1000", "v1.0.9-uat-20261001-1000", "release-7"], "1.0.10"),
])
def test_next_version(configured, tags, expected):
    assert next_version(configured, tags) == expected


def test_latest_uat_tag_orders_by_time():
    tags = ["v1.0.9-uat-20261001-1000", "v1.0.3-uat-20261101-0959", "v1.0.3-uat-20261101-1000", "v2-final"]
    assert uat_tags(tags) == tags[:3]
    assert latest_uat_tag(tags) == "v1.0.3-uat-20261101-1000"
    assert latest_uat_tag(["nope"]) is None


def test_the_deployer_is_the_first_usable_name():
    from ansible_collections.pcloud.infra.plugins.module_utils.releases import deployer

    assert deployer("alice", "a@example.org", "root") == "alice"  # AWX/Semaphore user first
    assert deployer("", "a@example.org\n", "root") == "a@example.org"  # then git's user.email
    assert deployer(None, "", "root") == "root"  # then $USER
    assert deployer("", "evil\x1b[31m", None) == "unknown"
    assert len(deployer("x" * 500)) == 200
