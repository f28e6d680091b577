# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils import fleet
from ansible_collections.pcloud.infra.plugins.module_utils.errors import SpecError, SpecErrors
from ansible_collections.pcloud.infra.plugins.module_utils.fleet import (
    admin_ip_problem,
    droplet_requests,
    firewall_spec,
    load_plan,
    plan_against_provider,
    rendered_state,
    resolve_admin_ip,
)
from ansible_collections.pcloud.infra.plugins.module_utils.topology import build_state


@pytest.mark.parametrize("value, ok", [
    ("203.0.113.7", True), ("203.0.113.0/24", True), ("2001:db8::1", True),
    ("0.0.0.0", False), ("224.0.0.1", False), ("example.com", False), ("", False),
])
def test_admin_ip_problem(value, ok):
    assert (admin_ip_problem(value) is None) is ok


@pytest.mark.parametrize("explicit, previous, provider, gateway, expected", [
    ("198.51.100.1", {"admin_ip": "203.0.113.7"}, "digitalocean", None, "198.51.100.1"),
    (None, {"admin_ip": "203.0.113.7"}, "digitalocean", None, "203.0.113.7"),
    (None, None, "local", "10.199.0.1", "10.199.0.1"),
    (None, {"admin_ip": "203.0.113.7"}, "local", "10.199.0.1", "203.0.113.7"),
])
def test_resolve_admin_ip(explicit, previous, provider, gateway, expected):
    assert resolve_admin_ip(explicit, previous, provider, gateway) == expected


@pytest.mark.parametrize("previous, provider, message", [
    (None, "digitalocean", "run 'pcloud update-ip"),
    (None, "local", "gateway is unknown"),
    ({"admin_ip": "nonsense"}, "digitalocean", "not an IP address"),
])
def test_resolve_admin_ip_errors(previous, provider, message):
    with pytest.raises(SpecError, match=message):
        resolve_admin_ip(None, previous, provider, None)


def test_firewall_spec():
    fw = firewall_spec("203.0.113.7")
    assert fw["name"] == "pcloud-fleet" and fw["tags"] == ["pcloud"]
    rules = {r["ports"]: r["sources"] for r in fw["inbound_rules"] if r["protocol"] == "tcp"}
    assert rules["22"] == {"addresses": ["203.0.113.7"], "tags": ["pcloud"]}
    assert rules["80"]["addresses"] == ["0.0.0.0/0", "::/0"] and rules["443"]["addresses"] == ["0.0.0.0/0", "::/0"]
    assert rules["5000-9999"] == {"tags": ["pcloud"]}  # service ports and the health agent: droplets only
    assert all(r["ports"] == "0" for r in fw["outbound_rules"])


def test_droplet_requests_and_rendered_state(seed_spec):
    state = build_state(seed_spec)
    requests = droplet_requests(state, "debian-12-x64")
    assert [r["name"] for r in requests] == ["hostomatic-web1", "hostomatic-web2", "mynewproject-web1", "pcloud-master"]
    assert requests[-1] == {"name": "pcloud-master", "size": "s-2vcpu-4gb", "region": "lon1", "image": "debian-12-x64",
                            "tags": ["pcloud", "pcloud-master"], "role": "master", "project": None}
    out = rendered_state(state, "203.0.113.7", {"name": "local", "url": "http://127.0.0.1:1/v2"})
    assert out["admin_ip"] == "203.0.113.7" and out["provider"] == "local" and "admin_ip" not in state


def test_load_plan(seed_dir):
    loaded = load_plan(str(seed_dir))
    assert loaded.previous is None and sorted(loaded.state["droplets"])[-1] == "pcloud-master"
    (seed_dir / "infrastructure.json").write_text('["not an object"]')
    assert load_plan(str(seed_dir)).previous is None  # a previous state that is no object keeps nothing


def test_the_modules_validate_like_the_cli(seed_dir, monkeypatch):
    """pcloud_state_info and pcloud_state plan through plan_against_provider, the CLI through load_plan: a state
    that fails validation stops both, with the same lines, before any provider call."""
    monkeypatch.setattr(fleet, "validate_state", lambda state: ["droplet 'pcloud-master': port 5000 used by both a and b"])
    monkeypatch.setattr(fleet, "Client", lambda *a, **k: pytest.fail("the provider was called"))
    monkeypatch.setenv("PCLOUD_API_URL", "http://127.0.0.1:9/v2")
    with pytest.raises(SpecErrors) as cli:
        load_plan(str(seed_dir))
    with pytest.raises(SpecErrors) as module:
        plan_against_provider(str(seed_dir), None, None, "pcloud", 5, None)
    assert cli.value.lines() == module.value.lines() == [
        "%s: droplet 'pcloud-master': port 5000 used by both a and b" % (seed_dir / "projects.csv")]
