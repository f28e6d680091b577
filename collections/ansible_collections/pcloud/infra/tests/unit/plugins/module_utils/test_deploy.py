# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils.deploy import service_containers
from ansible_collections.pcloud.infra.plugins.module_utils.errors import StateError
from ansible_collections.pcloud.infra.plugins.module_utils.topology import build_state

IPS = {"pcloud-master": "10.9.0.2", "hostomatic-web1": "10.9.0.3", "hostomatic-web2": "10.9.0.4",
       "mynewproject-web1": "10.9.0.5"}


@pytest.fixture
def setup(seed_spec, seed_deploy):
    state = build_state(seed_spec, ips=IPS)
    services = {s.name: s.to_json() for s in seed_deploy.services_for("hostomatic")}
    return state, services


def test_containers_per_droplet(setup):
    state, services = setup
    on = {d: {c["service"] for c in service_containers(state, services, "hostomatic-prod", d)} for d in IPS}
    assert on["pcloud-master"] == set() and on["mynewproject-web1"] == set()  # data stores are not app containers
    workers = {w for d in ("hostomatic-web1", "hostomatic-web2") for w in on[d]} - {"backend", "frontend"}
    assert workers == {"worker_email", "scheduler"}
    assert {"backend", "frontend"} <= on["hostomatic-web1"] and {"backend", "frontend"} <= on["hostomatic-web2"]


def test_container_description(setup):
    state, services = setup
    web1 = {c["service"]: c for c in service_containers(state, services, "hostomatic-prod", "hostomatic-web1")}
    backend = web1["backend"]
    assert backend["type"] == "web" and backend["port"] == state["projects"]["hostomatic-prod"]["backend"]["port"]
    assert backend["secrets"] == ["db_password", "redis_password", "stripe_key"]
    assert backend["platform_secrets"] == ["db_password", "redis_password"]
    assert "SERVICE_PORT" not in backend["environment"] and backend["container_port"] == "auto" and backend["command"] is None
    assert "stripe_key" not in " ".join(backend["environment"]).lower()


def test_environment_values_fill_in_project_environment_and_service(setup):
    state, services = setup
    services = dict(services, backend=dict(services["backend"], environment={
        "APP_NAME": "{project}-{environment}-{service}", "LITERAL": "{other} {0} %s"}))
    web1 = {c["service"]: c for c in service_containers(state, services, "hostomatic-uat", "hostomatic-web1")}
    assert web1["backend"]["environment"]["APP_NAME"] == "hostomatic-uat-backend"
    assert web1["backend"]["environment"]["LITERAL"] == "{other} {0} %s"  # only the three placeholders


def test_unknown_project_env(setup):
    state, services = setup
    with pytest.raises(StateError, match="no project-env 'nope-prod'"):
        service_containers(state, services, "nope-prod", "pcloud-master")


@pytest.fixture
def backend(setup):
    state, services = setup
    web1 = {c["service"]: c for c in service_containers(state, services, "hostomatic-prod", "hostomatic-web1")}
    return web1["backend"]


def test_running_slots_read_the_serving_slot_from_container_names(setup):
    from ansible_collections.pcloud.infra.plugins.module_utils.deploy import running_slots

    state, _services = setup
    prod = state["projects"]["hostomatic-prod"]
    running = ["/pc-hostomatic-prod-backend-alt", "pc-hostomatic-prod-frontend", "pc-hostomatic-prod-frontend-alt",
               "pc-hostomatic-prod-worker_email", "pc-hostomatic-uat-backend-alt", "pc-other-prod-backend"]
    slots = running_slots(state, "hostomatic-web1", "pc", running)
    assert slots["hostomatic-prod-backend"] == {"hostomatic-web1": prod["backend"]["port"] + 10000}  # only -alt runs
    assert slots["hostomatic-prod-frontend"] == {"hostomatic-web1": prod["frontend"]["port"]}  # both: main first
    assert "hostomatic-prod-worker_email" not in slots  # workers are not load balancer members
    assert "hostomatic-uat-frontend" not in slots  # nothing of it runs
    assert running_slots(state, "pcloud-master", "pc", running) == {}  # no web service there
    assert running_slots(state, "hostomatic-web1", "xx", running) == {}  # another droplet's prefix


def test_every_service_gets_connection_urls_as_secret_templates(setup):
    state, services = setup
    web1 = {c["service"]: c for c in service_containers(state, services, "hostomatic-uat", "hostomatic-web1")}
    urls = web1["backend"]["connection_urls"]
    db, redis = state["projects"]["hostomatic-uat"]["database"], state["projects"]["hostomatic-uat"]["redis"]
    template = "postgresql://%s:{password}@10.9.0.2:%s/%s" % (db["db_user"], db["port"], db["db_name"])
    assert urls["DATABASE_URL"] == {"template": template, "secret": "db_password", "mode": "auto"}
    assert urls["REDIS_URL"] == {"template": "redis://:{password}@10.9.0.2:%s/0" % redis["port"],
                                 "secret": "redis_password", "mode": "auto"}
    assert "DATABASE_URL" not in web1["backend"]["environment"]  # never a plain variable


def test_connection_url_names_and_modes_are_configurable(setup):
    state, services = setup
    services = dict(services, backend=dict(services["backend"], environment={
        "DATABASE_URL": "postgresql://elsewhere/db", "CACHE_URL": "auto:redis", "REDIS_URL": "file", "X": "auto"}))
    web1 = {c["service"]: c for c in service_containers(state, services, "hostomatic-uat", "hostomatic-web1")}
    urls, env = web1["backend"]["connection_urls"], web1["backend"]["environment"]
    assert sorted(urls) == ["CACHE_URL", "REDIS_URL"] and urls["REDIS_URL"]["mode"] == "file"
    assert env["DATABASE_URL"] == "postgresql://elsewhere/db" and env["X"] == "auto"  # the user's own values


def test_the_release_phase_is_one_item_per_service_that_has_one(setup):
    state, services = setup
    services = dict(services, backend=dict(services["backend"], release="python manage.py migrate",
                                           entrypoint=["./boot.sh"]))
    items = service_containers(state, services, "hostomatic-uat", "pcloud-master", "release")
    assert [(i["service"], i["type"], i["command"], i["entrypoint"]) for i in items] == [
        ("backend", "release", "python manage.py migrate", [])]
    assert items[0]["environment"]["DB_HOST"] and "DATABASE_URL" in items[0]["connection_urls"]
    assert service_containers(setup[0], setup[1], "hostomatic-uat", "pcloud-master", "release") == []
    with pytest.raises(StateError, match="phase"):
        service_containers(state, services, "hostomatic-uat", "pcloud-master", "later")
