# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils.health import (
    PeerBook,
    agent_config,
    container_report,
    droplet_status,
    expected_containers,
    seen_by,
)
from ansible_collections.pcloud.infra.plugins.module_utils.topology import build_state

IPS = {"pcloud-master": "10.9.0.2", "hostomatic-web1": "10.9.0.3", "hostomatic-web2": "10.9.0.4",
       "mynewproject-web1": "10.9.0.5"}


@pytest.fixture
def state(seed_spec):
    return build_state(seed_spec, ips=IPS)


def test_expected_containers(state):
    web1 = expected_containers(state, "hostomatic-web1", "pc-web1")
    backend = next(c for c in web1 if c["service"] == "hostomatic-prod-backend")
    assert backend["names"] == ["pc-web1-hostomatic-prod-backend", "pc-web1-hostomatic-prod-backend-alt"]
    assert all(len(c["names"]) == 1 for c in web1 if c["kind"] == "worker")
    master = expected_containers(state, "pcloud-master", "pc-m")
    assert {"pc-m-nginx-lb"} == {n for c in master if c["kind"] == "lb" for n in c["names"]}
    assert "pc-m-hostomatic-prod-database" in {n for c in master for n in c["names"]}


def test_container_report():
    expected = [{"service": "a-web", "kind": "web", "names": ["x", "x-alt"]},
                {"service": "a-job", "kind": "worker", "names": ["j"]}]
    report = container_report(expected, {"x-alt": {"running": True, "restarts": 0}, "j": {"running": False, "restarts": 4}})
    assert report == {"expected": 2, "running": 1, "missing": ["a-job"], "restarts": {"a-job": 4},
                      "workers": [{"service": "a-job", "running": False}]}
    assert droplet_status(report) == "degraded"
    assert droplet_status({"missing": []}, 95.0) == "degraded" and droplet_status({"missing": []}, 10.0) == "ok"


def test_peer_book_counts_and_isolation():
    book = PeerBook("m", "10.0.0.1", {"m": "10.0.0.1", "a": "10.0.0.2", "b": "10.0.0.3"})
    assert set(book.peers) == {"a", "b"}
    book.record("a", False, 100.0)
    book.record("a", False, 105.0)
    assert book.peers["a"].failures == 2 and not book.isolated(105.0, 15.0)  # not long enough to tell
    book.record("b", False, 110.0)
    assert book.isolated(120.0, 15.0)
    book.contact("b", 121.0)
    assert not book.isolated(121.0, 15.0)
    book.record("a", True, 122.0)
    views = book.views(["a", "zz"], 123.0, 15.0)
    assert views == [{"monitor": "m", "monitor_ip": "10.0.0.1", "target": "a", "failures": 0, "last_ok": 122.0,
                      "at": 123.0, "isolated": False}]


def test_agent_config(state):
    config = agent_config(state, "hostomatic-web1", "pc-web1", interval=5, k=3, droplet_ids={"hostomatic-web1": 7})
    assert config["targets"] == sorted(state["droplets"]["hostomatic-web1"]["monitors"])
    for target in config["targets"]:
        assert "hostomatic-web1" in config["monitors_of"][target]
    assert config["master"] == "pcloud-master" and config["lb_container"] is None
    assert config["max_age"] == 25.0 and config["droplet_ids"]["hostomatic-web1"] == 7
    assert "hostomatic-web1" not in config["peers"] and config["peers"]["pcloud-master"] == "10.9.0.2"
    assert agent_config(state, "pcloud-master", "pc-m")["lb_container"] == "pc-m-nginx-lb"
    with pytest.raises(ValueError):
        agent_config({"droplets": {"x": {}}}, "x", "p")  # no IP yet


def test_queue_checks_go_to_the_droplet_with_the_redis():
    from ansible_collections.pcloud.infra.plugins.module_utils.health import queue_checks

    state = {"droplets": {}, "projects": {"shop-uat": {
        "mail": {"type": "worker", "queue": "shop-uat-mail", "assigned_droplets": ["shop-web1"], "service_name": "shop-uat-mail"},
        "cron": {"type": "worker", "assigned_droplets": ["shop-web1"]},  # no queue
        "redis": {"type": "redis", "assigned_droplets": ["pcloud-master"]}}}}
    assert queue_checks(state, "pcloud-master", "pc-m") == [
        {"key": "shop-uat", "service": "shop-uat-mail", "queue": "shop-uat-mail", "container": "pc-m-shop-uat-redis"}]
    assert queue_checks(state, "shop-web1", "pc-w") == []


def test_seen_by():
    droplets = {"m": {"monitors": ["a", "b"]}, "a": {"monitors": ["m", "b"]}, "b": {"monitors": ["m", "a"]}}
    reports = {"m": {"monitors": {"a": {"failures": 0}, "b": {"failures": 3}}}, "a": None,
               "b": {"monitors": {"m": {"failures": 0}, "a": {"failures": 1}}}}
    assert seen_by(reports, droplets) == {"a": {"b": "1 failed", "m": "ok"}, "b": {"a": "no report", "m": "3 failed"},
                                          "m": {"a": "no report", "b": "ok"}}
