# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils import snapshots
from ansible_collections.pcloud.infra.plugins.module_utils.errors import PcloudError


def snap(ident, name, created):
    return {"id": str(ident), "name": name, "created_at": created, "resource_type": "droplet"}


FLEET = ["pcloud-master", "shop-web1"]
SNAPS = [
    snap(11, "shop-web1-deploy-20261120-0900", "2026-11-20T09:00:05Z"),
    snap(12, "shop-web1-deploy-20261121-0900", "2026-11-21T09:00:05Z"),
    snap(13, "shop-web1-deploy-20261122-0900", "2026-11-22T09:00:05Z"),
    snap(14, "shop-web1-deploy-20261122-0900", "2026-11-22T09:00:05Z"),  # same minute, same second: id decides
    snap(15, "pcloud-master-deploy-20261122-0900", "2026-11-22T09:00:07Z"),
    snap(16, "gone-web1-deploy-20261101-1200", "2026-11-01T12:00:00Z"),
    snap(17, "hand-made-backup", "2026-10-01T00:00:00Z"),
]


def test_names_round_trip_and_refuse_bad_input():
    assert snapshots.snapshot_name("shop-web1", "20261122-1130") == "shop-web1-deploy-20261122-1130"
    assert snapshots.parse_name("shop-web1-deploy-20261122-1130") == ("shop-web1", "20261122-1130")
    assert snapshots.parse_name("my-deploy-box-deploy-20261122-1130") == ("my-deploy-box", "20261122-1130")
    assert snapshots.parse_name("hand-made-backup") is None
    assert snapshots.parse_name("shop-web1-deploy-2026112-1130") is None
    with pytest.raises(PcloudError, match="YYYYMMDD-HHMM"):
        snapshots.snapshot_name("shop-web1", "2026-11-22")
    with pytest.raises(PcloudError, match="not a droplet name"):
        snapshots.snapshot_name("Shop;rm", "20261122-1130")


def test_latest_is_newest_by_time_then_id_and_only_deploy_snapshots():
    assert snapshots.latest(SNAPS, "shop-web1")["id"] == "14"
    assert snapshots.latest(SNAPS, "pcloud-master")["id"] == "15"
    assert snapshots.latest(SNAPS, "hand") is None and snapshots.latest([], "shop-web1") is None


def test_cleanup_keeps_the_newest_three_and_drops_orphans():
    plan = snapshots.cleanup_plan(SNAPS, FLEET, keep=3)
    assert [s["id"] for s in plan["keep"]] == ["15", "14", "13", "12"]
    assert {s["id"]: s["reason"] for s in plan["delete"]} == {
        "16": "orphaned: gone-web1 is not in the fleet",
        "11": "older than the newest 3 of shop-web1",
    }
    assert "17" not in json.dumps(plan)  # a snapshot no deploy named is never touched
    assert [s["id"] for s in snapshots.cleanup_plan(SNAPS, FLEET, keep=1)["keep"]] == ["15", "14"]
    with pytest.raises(PcloudError, match="at least 1"):
        snapshots.cleanup_plan(SNAPS, FLEET, keep=0)


def test_records_pick_the_newest_of_a_name_and_carry_the_metadata():
    found = snapshots.records(["shop-web1-deploy-20261122-0900"], SNAPS, {"project_env": "shop-uat", "commit": "abc"})
    assert found == [{"project_env": "shop-uat", "commit": "abc", "id": "14", "name": "shop-web1-deploy-20261122-0900",
                      "droplet": "shop-web1", "created_at": "2026-11-22T09:00:05Z"}]
    with pytest.raises(PcloudError, match="no snapshot named"):
        snapshots.records(["shop-web1-deploy-20300101-0000"], SNAPS, {})


def test_log_adds_updates_and_forgets_deleted_snapshots(tmp_path):
    config = str(tmp_path)
    log, changed = snapshots.write_log(config, [{"id": "12", "commit": "a"}, {"id": "13", "commit": "b"}], None)
    assert changed and [e["id"] for e in log] == ["12", "13"]
    assert snapshots.write_log(config, [{"id": "13", "commit": "b"}], None) == (log, False)  # idempotent
    log, changed = snapshots.write_log(config, [{"id": "14", "commit": "c"}], ["13", "14"], check=True)
    assert changed and [e["id"] for e in log] == ["13", "14"]
    assert [e["id"] for e in snapshots.load_log(config)] == ["12", "13"]  # check mode wrote nothing
    snapshots.write_log(config, [{"id": "14", "commit": "c"}], ["13", "14"])
    assert snapshots.load_log(config) == [{"id": "13", "commit": "b"}, {"id": "14", "commit": "c"}]
    with pytest.raises(PcloudError, match="needs its id"):
        snapshots.update_log([], [{"commit": "x"}], None)
