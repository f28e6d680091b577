# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import copy

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils import topology
from ansible_collections.pcloud.infra.plugins.module_utils.errors import StateError
from ansible_collections.pcloud.infra.plugins.module_utils.spec import Spec, load_spec, parse_projects_csv
from ansible_collections.pcloud.infra.plugins.module_utils.topology import (
    apply_ips,
    build_state,
    diff_droplets,
    keys_on_droplet,
    lb_targets,
    live_ports,
    monitored_by,
    monitoring_ring,
    public_ipv4,
    services_on_droplet,
    validate_state,
)

M = "pcloud-master"
IPS = {"pcloud-master": "10.9.0.2", "hostomatic-web1": "10.9.0.3", "hostomatic-web2": "10.9.0.4",
       "mynewproject-web1": "10.9.0.5"}


@pytest.fixture
def state(seed_spec):
    return build_state(seed_spec, ips=IPS)


def test_droplets_of_the_seed(state):
    assert {n: (d["role"], d["size"], d["project"]) for n, d in state["droplets"].items()} == {
        "pcloud-master": ("master", "s-2vcpu-4gb", None),
        "hostomatic-web1": ("web", "s-2vcpu-4gb", "hostomatic"),
        "hostomatic-web2": ("web", "s-2vcpu-4gb", "hostomatic"),
        "mynewproject-web1": ("web", "s-1vcpu-2gb", "mynewproject"),
    }
    assert state["droplets"]["hostomatic-web1"]["tags"] == ["pcloud", "pcloud-web", "pcloud-project-hostomatic"]


@pytest.mark.parametrize("webs, expected", [
    ([], {M: []}),
    (["a-web1"], {M: ["a-web1"], "a-web1": [M]}),
    (["a-web1", "a-web2", "b-web1"], {M: ["a-web1", "a-web2", "b-web1"], "a-web1": [M, "a-web2"],
                                      "a-web2": [M, "b-web1"], "b-web1": [M, "a-web1"]}),
])
def test_monitoring_ring(webs, expected):
    assert monitoring_ring(webs) == expected


def test_monitored_by_is_the_inverse_of_monitors(state):
    for name in state["droplets"]:
        watchers = monitored_by(state, name)
        assert watchers == state["droplets"][name]["monitored_by"]
        assert all(name in state["droplets"][w]["monitors"] for w in watchers)
    assert monitored_by(state, M) == ["hostomatic-web1", "hostomatic-web2", "mynewproject-web1"]


def test_services_assignment(state):
    prod = state["projects"]["hostomatic-prod"]
    assert prod["backend"]["assigned_droplets"] == ["hostomatic-web1", "hostomatic-web2"]
    assert prod["frontend"]["assigned_droplets"] == ["hostomatic-web1", "hostomatic-web2"]
    assert prod["database"]["assigned_droplets"] == [M] and prod["database"]["type"] == "postgres"
    assert prod["redis"]["assigned_droplets"] == [M]
    for worker in ("worker_email", "scheduler"):
        assert prod[worker]["type"] == "worker" and "port" not in prod[worker]
        assert len(prod[worker]["assigned_droplets"]) == 1
        assert prod[worker]["assigned_droplets"][0] in ("hostomatic-web1", "hostomatic-web2")
    # master-only project: web services on master
    assert state["projects"]["digitalpixo-uat"]["backend"]["assigned_droplets"] == [M]
    assert prod["backend"]["service_name"] == "hostomatic-prod-backend"


def test_seed_ports_when_nothing_collides(state):
    prod = state["projects"]["hostomatic-prod"]
    h = int("8ef866a5f8d4", 16) % 1000
    assert (prod["backend"]["port"], prod["frontend"]["port"], prod["database"]["port"], prod["redis"]["port"]) == (
        8000 + h, 9000 + h, 5000 + h, 6000 + h)
    assert prod["database"]["db_name"] == "hostomatic_prod_8ef866a5"
    assert prod["database"]["db_user"] == "user_8ef866a5"


def test_no_port_conflicts_and_state_is_valid(state):
    assert validate_state(state, require_ips=True) == []


def test_same_input_same_output(seed_spec):
    assert build_state(seed_spec) == build_state(seed_spec)


def test_adding_a_project_never_moves_existing_ports(seed_spec):
    before = build_state(seed_spec)
    text = "Project,Servers,MasterSpec,WebSpec\n" + "".join(
        "%s,%d,s-1vcpu-1gb,s-1vcpu-1gb\n" % (p.name, p.servers) for p in seed_spec.infra.projects)
    # many new master-only projects: their seed ports collide with existing ones
    text += "".join("new%03d,1,s-1vcpu-1gb,s-1vcpu-1gb\n" % i for i in range(150))
    bigger = Spec(infra=parse_projects_csv(text, "p.csv"), deploy=seed_spec.deploy)
    after = build_state(bigger, previous=before)
    for key, services in before["projects"].items():
        for svc, body in services.items():
            assert after["projects"][key][svc].get("port") == body.get("port"), (key, svc)
    assert validate_state(after) == []


def test_lb_targets(state):
    targets = lb_targets(state)
    assert targets["hostomatic-prod"]["backend"] == [
        "10.9.0.3:%d" % state["projects"]["hostomatic-prod"]["backend"]["port"],
        "10.9.0.4:%d" % state["projects"]["hostomatic-prod"]["backend"]["port"]]
    assert "worker_email" not in targets["hostomatic-prod"]
    assert "database" not in targets["hostomatic-prod"] and "redis" not in targets["hostomatic-prod"]
    assert lb_targets(state, key="digitalpixo-prod", service="frontend") == {
        "digitalpixo-prod": {"frontend": ["10.9.0.2:%d" % state["projects"]["digitalpixo-prod"]["frontend"]["port"]]}}


def test_lb_targets_follow_the_live_slots(state):
    port = state["projects"]["hostomatic-prod"]["backend"]["port"]
    ips = [state["droplets"][d]["ip"] for d in state["projects"]["hostomatic-prod"]["backend"]["assigned_droplets"]]
    first, second = state["projects"]["hostomatic-prod"]["backend"]["assigned_droplets"]
    live = {"hostomatic-prod-backend": {first: port + 10000, second: 1234}, "hostomatic-prod-nosuch": {first: 1}}
    members = lb_targets(state, key="hostomatic-prod", service="backend", live=live)["hostomatic-prod"]["backend"]
    assert members == ["%s:%d" % (ips[0], port + 10000), "%s:%d" % (ips[1], port)]  # 1234 is no slot of it
    assert live_ports(state, live) == {"hostomatic-prod-backend": {first: port + 10000}}
    assert live_ports(state, {"hostomatic-prod-backend": {"gone-web9": port}}) == {}


def test_lb_targets_need_ips(seed_spec):
    with pytest.raises(StateError, match="droplet 'hostomatic-web1' has no IP address yet"):
        lb_targets(build_state(seed_spec), key="hostomatic-prod")


def test_services_on_droplet(state):
    on_master = services_on_droplet(state, M)
    kinds = {s["type"] for s in on_master}
    assert kinds == {"postgres", "redis", "web"}  # digitalpixo's web services live on master
    assert len([s for s in on_master if s["type"] == "postgres"]) == 9
    web1 = {(s["key"], s["service"]) for s in services_on_droplet(state, "hostomatic-web1")}
    assert ("hostomatic-prod", "backend") in web1 and ("hostomatic-prod", "database") not in web1
    assert services_on_droplet(state, "nowhere") == []


@pytest.mark.parametrize("mutate, expected", [
    (lambda s: s["projects"]["hostomatic-prod"]["frontend"].update(
        port=s["projects"]["hostomatic-prod"]["backend"]["port"]), "port %d used by both"),
    (lambda s: s["projects"]["hostomatic-prod"]["backend"]["assigned_droplets"].append("ghost"),
     "assigned to unknown droplet 'ghost'"),
    (lambda s: s["droplets"][M]["monitors"].append("ghost"), "droplets.pcloud-master.monitors: unknown droplet"),
    (lambda s: s["droplets"][M].update(ip=None), "droplets.pcloud-master.ip: missing"),
    (lambda s: s["projects"]["hostomatic-prod"]["backend"].pop("port"), "no port allocated"),
    (lambda s: s["projects"]["digitalpixo-prod"]["backend"].update(port=80), "port 80 used by both nginx"),
])
def test_validate_state_finds_problems(state, mutate, expected):
    broken = copy.deepcopy(state)
    mutate(broken)
    problems = validate_state(broken, require_ips=True)
    if "%d" in expected:
        expected = expected % state["projects"]["hostomatic-prod"]["backend"]["port"]
    assert any(expected in p for p in problems), problems


def test_summary(state):
    assert state["summary"] == {"droplets": 4, "projects": 3, "environments": 9, "web_services": 18, "workers": 6,
                                "databases": 9, "redis": 9}


def test_heartbeat(state):
    assert state["health_monitoring"]["heartbeat"] == {
        "primary": M, "backups": ["hostomatic-web1", "hostomatic-web2", "mynewproject-web1"],
        "interval_minutes": 15, "backup_after_minutes": 20}


def _droplet(name, size="s-2vcpu-4gb", tags=("pcloud",), ip="10.9.0.9", did=1):
    return {"id": did, "name": name, "size_slug": size, "tags": list(tags),
            "networks": {"v4": [{"type": "private", "ip_address": "10.1.0.1"}, {"type": "public", "ip_address": ip}]}}


def test_diff_droplets(state):
    actual = [
        _droplet(M),
        _droplet("hostomatic-web1", size="s-1vcpu-1gb"),
        _droplet("old-web1", did=7),
        _droplet("someone-elses", tags=("other",)),
    ]
    diff = diff_droplets(state, actual)
    assert [d["name"] for d in diff["create"]] == ["hostomatic-web2", "mynewproject-web1"]
    assert diff["resize"] == [{"name": "hostomatic-web1", "from": "s-1vcpu-1gb", "to": "s-2vcpu-4gb"}]
    assert diff["destroy"] == [{"name": "old-web1", "id": 7}]  # untagged droplets are never ours
    assert diff["keep"] == [{"name": M, "id": 1}]


def test_public_ipv4_and_apply_ips(seed_dir):
    assert public_ipv4(_droplet("x", ip="10.9.0.7")) == "10.9.0.7"
    assert public_ipv4({"networks": {"v4": []}}) is None
    state = apply_ips(build_state(load_spec(str(seed_dir))), {M: "10.9.0.2"})
    assert state["droplets"][M]["ip"] == "10.9.0.2" and state["droplets"]["hostomatic-web1"]["ip"] is None


def test_keys_on_droplet(state):
    assert keys_on_droplet(state, "hostomatic-web1") == ["hostomatic-prod", "hostomatic-test", "hostomatic-uat"]
    assert "mynewproject-prod" in keys_on_droplet(state, "pcloud-master")  # its data stores
    assert keys_on_droplet(state, "nosuch") == []


def test_lb_standby_is_the_lowest_web_ip():
    from ansible_collections.pcloud.infra.plugins.module_utils.topology import lb_standby

    state = {"droplets": {"pcloud-master": {"role": "master", "ip": "10.0.0.2"},
                          "a-web1": {"role": "web", "ip": "10.0.0.10"}, "b-web1": {"role": "web", "ip": "10.0.0.9"},
                          "c-web1": {"role": "web", "ip": None}}}
    assert lb_standby(state) == "b-web1"  # 10.0.0.9 < 10.0.0.10 as addresses, not as strings
    assert lb_standby(state, down=["pcloud-master", "b-web1"]) == "a-web1"
    assert lb_standby({"droplets": {"pcloud-master": {"role": "master", "ip": "10.0.0.2"}}}) is None


def _changes(keep=(), destroy=(), resize=()):
    return {"keep": [{"name": n, "id": 1} for n in keep], "destroy": [{"name": n, "id": 2} for n in destroy],
            "resize": [{"name": n, "from": "a", "to": "b"} for n in resize], "create": []}


@pytest.mark.parametrize("changes, force, needs", [
    (_changes(keep=["pcloud-master", "a-web1"]), False, None),
    (_changes(keep=["pcloud-master", "a-web1"], destroy=["b-web1"]), False, None),           # 1 of 3
    (_changes(keep=["pcloud-master"], destroy=["b-web1", "b-web2"]), False, "2 of the fleet's 3"),
    (_changes(keep=["pcloud-master", "a-web1"], destroy=["b-web1", "b-web2"]), False, None),  # exactly half
    (_changes(keep=["pcloud-master", "a-web1"]), True, "master and 2 of the fleet's 2"),   # --force recreates all
    (_changes(destroy=["pcloud-master"]), False, "master and 1"),
    (_changes(), True, None),                                                                 # nothing exists yet
])
def test_destruction_problem(changes, force, needs):
    got = topology.destruction_problem(changes, force=force)
    assert (got is None) if needs is None else (needs in got)


def test_the_plan_lists_only_the_infrastructure_master_runs(state):
    """The load balancer and the image registry; ports of services not built yet are reserved, not listed."""
    assert state["infrastructure_services"] == {
        "nginx": {"assigned_droplets": ["pcloud-master"], "ports": [80, 443]},
        "registry": {"assigned_droplets": ["pcloud-master"], "ports": [5000]}}
