# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import hashlib

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils.allocation import (
    RESERVED_MASTER_PORTS,
    RESERVED_PORTS,
    PortRequest,
    allocate_ports,
    db_name,
    db_user,
    port_kind,
    reserved_ports,
    resource_hash,
    seed_port,
)
from ansible_collections.pcloud.infra.plugins.module_utils.errors import AllocationError


@pytest.mark.parametrize("project, env, expected", [
    ("hostomatic", "prod", hashlib.md5(b"hostomatic-prod").hexdigest()[:12]),
    ("digitalpixo", "uat", hashlib.md5(b"digitalpixo-uat").hexdigest()[:12]),
    ("hostomatic", "prod", "8ef866a5f8d4"),
])
def test_resource_hash_is_the_seed_formula(project, env, expected):
    assert resource_hash(project, env) == expected


@pytest.mark.parametrize("service, stype, kind, base", [
    ("backend", "web", "backend", 8000),
    ("frontend", "web", "frontend", 9000),
    ("database", "postgres", "postgres", 5000),
    ("redis", "redis", "redis", 6000),
    ("admin", "web", "web", 7000),
])
def test_seed_port_per_kind(service, stype, kind, base):
    assert port_kind(service, stype) == kind
    h = resource_hash("hostomatic", "prod")
    if kind == "web":
        h = hashlib.md5(b"hostomatic-prod-admin").hexdigest()[:12]
    assert seed_port("hostomatic", "prod", service, kind) == base + int(h, 16) % 1000


@pytest.mark.parametrize("project, env, name, user", [
    ("hostomatic", "prod", "hostomatic_prod_8ef866a5", "user_8ef866a5"),
    ("my-app", "uat", "my_app_uat_" + hashlib.md5(b"my-app-uat").hexdigest()[:8],
     "user_" + hashlib.md5(b"my-app-uat").hexdigest()[:8]),
])
def test_db_names(project, env, name, user):
    assert db_name(project, env) == name
    assert db_user(project, env) == user


def test_db_name_fits_postgres_identifier():
    name = db_name("a" * 41, "e" * 16)
    assert len(name) <= 63 and name.endswith(resource_hash("a" * 41, "e" * 16)[:8])


def req(key, service="backend", kind="backend", droplets=("master",), project=None, env="prod"):
    project = project or key.rsplit("-", 1)[0]
    return PortRequest(key=(key, service), project=project, environment=env, service=service, kind=kind,
                       droplets=tuple(droplets))


RESERVED = {"master": reserved_ports("master"), "w1": reserved_ports("web"), "w2": reserved_ports("web")}


def test_collision_is_resolved_by_linear_probe():
    # find two project-envs whose seed backend ports collide
    seen = {}
    pair = None
    for i in range(5000):
        port = seed_port("p%d" % i, "prod", "backend", "backend")
        if port in seen:
            pair = (seen[port], "p%d" % i, port)
            break
        seen[port] = "p%d" % i
    assert pair is not None
    first, second, port = pair
    ports = allocate_ports([req(second + "-prod", project=second), req(first + "-prod", project=first)], RESERVED)
    # sorted order decides who keeps the seed port; the other probes upward
    winner, loser = sorted([first, second])
    assert ports[(winner + "-prod", "backend")] == port
    probe = port
    while True:  # the next port of the range, wrapping, that is not reserved
        probe = 8000 + (probe - 8000 + 1) % 1000
        if probe not in RESERVED["master"]:
            break
    assert ports[(loser + "-prod", "backend")] == probe


def test_same_port_on_different_droplets_is_fine():
    a = req("a-prod", droplets=("w1",), project="a")
    b = PortRequest(key=("b-prod", "backend"), project="a", environment="prod", service="backend", kind="backend",
                    droplets=("w2",))
    ports = allocate_ports([a, b], RESERVED)
    assert ports[("a-prod", "backend")] == ports[("b-prod", "backend")]


def test_multi_droplet_service_needs_a_port_free_everywhere():
    first = req("x-prod", droplets=("w1",), project="x")
    both = PortRequest(key=("y-prod", "backend"), project="x", environment="prod", service="backend",
                       kind="backend", droplets=("w1", "w2"))
    ports = allocate_ports([first, both], RESERVED)
    assert ports[("y-prod", "backend")] != ports[("x-prod", "backend")]


def test_reserved_ports_are_skipped():
    assert 8080 in RESERVED_PORTS and 8200 in RESERVED_MASTER_PORTS
    assert 5000 in RESERVED_MASTER_PORTS and 5000 not in RESERVED_PORTS  # the fleet's image registry, on master only
    # pretend a previous allocation sat on the health agent port: it is not kept
    ports = allocate_ports([req("a-prod", project="a")], RESERVED, previous={("a-prod", "backend"): 8080})
    assert ports[("a-prod", "backend")] != 8080


def test_previous_allocations_win_and_stay():
    requests = [req("a-prod", project="a"), req("b-prod", project="b")]
    fresh = allocate_ports(requests, RESERVED)
    moved = {("b-prod", "backend"): 8123, ("a-prod", "backend"): 8999}
    kept = allocate_ports(requests, RESERVED, previous=moved)
    assert kept == moved
    assert fresh != moved


def test_previous_out_of_range_or_conflicting_is_reallocated():
    requests = [req("a-prod", project="a"), req("b-prod", project="b")]
    ports = allocate_ports(requests, RESERVED, previous={("a-prod", "backend"): 8500, ("b-prod", "backend"): 8500})
    assert ports[("a-prod", "backend")] == 8500
    assert ports[("b-prod", "backend")] != 8500
    ports = allocate_ports(requests, RESERVED, previous={("a-prod", "backend"): 5500})
    assert 8000 <= ports[("a-prod", "backend")] <= 8999


def test_input_order_does_not_matter():
    requests = [req("p%d-prod" % i, project="p%d" % i) for i in range(200)]
    assert allocate_ports(requests, RESERVED) == allocate_ports(list(reversed(requests)), RESERVED)


def test_full_range_fails_naming_droplet_and_range():
    requests = [req("p%d-prod" % i, service="database", kind="postgres", project="p%d" % i) for i in range(1001)]
    with pytest.raises(AllocationError) as exc_info:
        allocate_ports(requests, RESERVED)
    # 999: the registry keeps 5000 on master
    assert "droplet 'master' needs 1001 postgres ports but range 5000-5999 holds 999" in str(exc_info.value)


def test_full_backend_range_on_master_counts_reserved_ports():
    # 8080 and 8200 are reserved on master: 998 backend ports fit, 999 do not
    ok = [req("p%d-prod" % i, project="p%d" % i) for i in range(998)]
    assert len(set(allocate_ports(ok, RESERVED).values())) == 998
    with pytest.raises(AllocationError, match="range 8000-8999 holds 998"):
        allocate_ports(ok + [req("zz-prod", project="zz")], RESERVED)
