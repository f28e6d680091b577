# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.pcloud.infra.plugins.filter.pcloud import FilterModule
from ansible_collections.pcloud.infra.plugins.module_utils.topology import build_state

FILTERS = FilterModule().filters()
IPS = {"pcloud-master": "10.9.0.2", "hostomatic-web1": "10.9.0.3", "hostomatic-web2": "10.9.0.4",
       "mynewproject-web1": "10.9.0.5"}


@pytest.fixture
def state(seed_spec):
    return build_state(seed_spec, ips=IPS)


def test_all_filters_are_exported():
    assert sorted(FILTERS) == ["acme_challenges", "acme_orders", "agent_config", "consensus", "latest_snapshot",
                               "latest_uat_tag", "lb_certificate_files", "lb_certificates", "lb_standby", "lb_targets",
                               "lb_upstreams", "live_ports", "monitored_by", "resource_hash", "running_slots", "service_containers",
                               "service_name", "service_port", "services_on_droplet", "snapshot_cleanup",
                               "snapshot_name", "uat_tag", "zipapp"]


def test_acme_orders_names_mismatched_loop_results():
    certs = [{"name": "a", "domains": ["a.example.com"], "tls": "acme-dns"}]
    with pytest.raises(AnsibleFilterError, match="pcloud.infra.acme_orders: 1 ACME certificates, 0 renewal"):
        FILTERS["acme_orders"](certs, [], [])


def test_lb_upstreams_renders_the_include_and_reports_bad_input():
    state = {"droplets": {"w1": {"ip": "10.0.0.3"}, "w2": {"ip": None}},
             "projects": {"a-uat": {"web": {"type": "web", "port": 8100, "assigned_droplets": ["w1"]}}}}
    text = FILTERS["lb_upstreams"](state, drained=["w1"])
    assert "server 10.0.0.3:8100 down;" in text and '"drained":{"a-uat-web":["10.0.0.3:8100"]}' in text
    state["projects"]["a-uat"]["web"]["assigned_droplets"] = ["w2"]
    with pytest.raises(AnsibleFilterError, match="pcloud.infra.lb_upstreams: droplets.w2.ip: droplet 'w2' has no IP address yet"):
        FILTERS["lb_upstreams"](state)


def test_snapshot_filters_name_choose_and_plan():
    snaps = [{"id": "5", "name": "shop-web1-deploy-20261120-0900", "created_at": "2026-11-20T09:00:00Z"},
             {"id": "6", "name": "shop-web1-deploy-20261121-0900", "created_at": "2026-11-21T09:00:00Z"}]
    assert FILTERS["snapshot_name"]("shop-web1", "20261122-1130") == "shop-web1-deploy-20261122-1130"
    assert FILTERS["latest_snapshot"](snaps, "shop-web1") == "6" and FILTERS["latest_snapshot"](snaps, "x") == ""
    assert [s["id"] for s in FILTERS["snapshot_cleanup"](snaps, ["shop-web1"], 1)["delete"]] == ["5"]
    with pytest.raises(AnsibleFilterError, match="snapshot_name: .*YYYYMMDD-HHMM"):
        FILTERS["snapshot_name"]("shop-web1", "now")


def test_lb_standby_and_running_slots(state):
    assert FILTERS["lb_standby"](state) == "hostomatic-web1"  # 10.9.0.3, the lowest web address
    assert FILTERS["lb_standby"](state, ["pcloud-master", "hostomatic-web1"]) == "hostomatic-web2"
    port = state["projects"]["hostomatic-prod"]["backend"]["port"]
    assert FILTERS["running_slots"](state, "hostomatic-web1", "pc", ["pc-hostomatic-prod-backend-alt"]) == {
        "hostomatic-prod-backend": {"hostomatic-web1": port + 10000}}


@pytest.mark.parametrize("name, args, expected", [
    ("resource_hash", ("hostomatic", "prod"), "8ef866a5f8d4"),
    ("service_name", ("hostomatic", "prod", "backend"), "hostomatic-prod-backend"),
])
def test_pure_filters(name, args, expected):
    assert FILTERS[name](*args) == expected


def test_state_filters(state):
    port = FILTERS["service_port"](state, "hostomatic-prod", "backend")
    assert port == state["projects"]["hostomatic-prod"]["backend"]["port"]
    assert FILTERS["lb_targets"](state, key="hostomatic-prod", service="backend") == {
        "hostomatic-prod": {"backend": ["10.9.0.3:%d" % port, "10.9.0.4:%d" % port]}}
    assert FILTERS["monitored_by"](state, "hostomatic-web1") == ["mynewproject-web1", "pcloud-master"]
    names = [s["service_name"] for s in FILTERS["services_on_droplet"](state, "mynewproject-web1")]
    assert "mynewproject-prod-backend" in names and all(n.startswith("mynewproject-") for n in names)


@pytest.mark.parametrize("name, args, message", [
    ("service_port", ("hostomatic-prod", "worker_email"), "no port for service 'worker_email'"),
    ("service_port", ("nope-prod", "backend"), "no port for service 'backend' of 'nope-prod'"),
])
def test_errors_become_filter_errors(state, name, args, message):
    with pytest.raises(AnsibleFilterError, match=message):
        FILTERS[name](state, *args)


def test_lb_targets_without_ips_is_a_filter_error(seed_spec):
    with pytest.raises(AnsibleFilterError, match="has no IP address yet"):
        FILTERS["lb_targets"](build_state(seed_spec))


def test_wrong_input_shape_is_a_filter_error():
    with pytest.raises(AnsibleFilterError, match="expected the pcloud state"):
        FILTERS["monitored_by"]({"droplets": {"a": None}}, "a")


def test_release_filters():
    assert FILTERS["uat_tag"]("1.2.0", [], "20261122-0610") == "v1.2.0-uat-20261122-0610"
    assert FILTERS["uat_tag"](None, ["v1.2.0-uat-20261101-0000"], "20261122-0610") == "v1.2.1-uat-20261122-0610"
    assert FILTERS["latest_uat_tag"](["v1.0.0-uat-20261101-0000", "v1.0.0-uat-20261102-0000", "x"]) == \
        "v1.0.0-uat-20261102-0000"
    assert FILTERS["latest_uat_tag"]([]) == ""
    taken = ["v1.2.0-uat-20261122-0610", "v1.2.1-uat-20261122-0610"]
    assert FILTERS["uat_tag"]("1.2.0", taken, "20261122-0610") == "v1.2.2-uat-20261122-0610"
    with pytest.raises(AnsibleFilterError, match="not YYYYMMDD-HHMM"):
        FILTERS["uat_tag"]("1.0.0", [], "yesterday")


def test_service_containers_filter(state, seed_deploy):
    services = {s.name: s.to_json() for s in seed_deploy.services_for("hostomatic")}
    web1 = FILTERS["service_containers"](state, services, "hostomatic-prod", "hostomatic-web1")
    assert {c["service"] for c in web1} >= {"backend", "frontend"}
    assert all(c["type"] in ("web", "worker") for c in web1)


def test_consensus_filter():
    views = [{"monitor": "pcloud-master", "monitor_ip": "10.0.0.2", "failures": 3, "at": 100.0},
             {"monitor": "hostomatic-web2", "monitor_ip": "10.0.0.4", "failures": 4, "at": 99.0}]
    out = FILTERS["consensus"](views, "hostomatic-web1", ["pcloud-master", "hostomatic-web2"], 101.0)
    assert out["verdict"] == "confirmed" and out["leader"] == "pcloud-master"
    with pytest.raises(AnsibleFilterError):
        FILTERS["consensus"]([{"monitor": "x"}], "hostomatic-web1", ["x"], 1.0)
