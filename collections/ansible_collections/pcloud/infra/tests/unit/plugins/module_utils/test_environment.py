# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils.environment import service_environment
from ansible_collections.pcloud.infra.plugins.module_utils.errors import StateError
from ansible_collections.pcloud.infra.plugins.module_utils.topology import build_state

IPS = {"pcloud-master": "10.9.0.2", "hostomatic-web1": "10.9.0.3", "hostomatic-web2": "10.9.0.4",
       "mynewproject-web1": "10.9.0.5"}


def test_web_service_environment(seed_spec):
    state = build_state(seed_spec, ips=IPS)
    prod = state["projects"]["hostomatic-prod"]
    env = service_environment(state, "hostomatic-prod", "backend", {"LOG_LEVEL": "info"})
    assert env == {
        "DB_USER": "user_8ef866a5", "DB_NAME": "hostomatic_prod_8ef866a5", "DB_HOST": "10.9.0.2",
        "DB_PORT": str(prod["database"]["port"]), "REDIS_HOST": "10.9.0.2", "REDIS_PORT": str(prod["redis"]["port"]),
        "SERVICE_NAME": "hostomatic-prod-backend", "ENVIRONMENT": "prod", "PROJECT": "hostomatic",
        "ASSIGNED_DROPLETS": "hostomatic-web1,hostomatic-web2", "RESOURCE_HASH": "8ef866a5f8d4", "LOG_LEVEL": "info"}
    assert prod["backend"]["port"]  # the slot is the droplet's side; PORT/SERVICE_PORT are set where the image is known


def test_workers_get_no_service_port(seed_spec):
    env = service_environment(build_state(seed_spec, ips=IPS), "hostomatic-uat", "worker_email")
    assert "SERVICE_PORT" not in env and env["SERVICE_NAME"] == "hostomatic-uat-worker_email"


def test_errors(seed_spec):
    with pytest.raises(StateError, match="no service 'nope'"):
        service_environment(build_state(seed_spec, ips=IPS), "hostomatic-prod", "nope")
    with pytest.raises(StateError, match="no IP address yet"):
        service_environment(build_state(seed_spec), "hostomatic-prod", "backend")
