"""Pure parts of the local cloud: catalogue, pagination, fingerprints, firewall rulesets."""

from __future__ import annotations

import urllib.parse

import pytest

from pcloud.localcloud import catalog, firewall

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHn0OK8xhMx8ar4CiEjq4jV1vNx8Z3dV6D5dKmA9m7yF test"


def test_fingerprint_is_md5_of_the_blob():
    import base64
    import hashlib

    digest = hashlib.md5(base64.b64decode(KEY.split()[1])).hexdigest()
    assert catalog.fingerprint(KEY) == ":".join(digest[i:i + 2] for i in range(0, 32, 2))
    with pytest.raises(ValueError):
        catalog.fingerprint("not a key")


@pytest.mark.parametrize("total, page, per_page, keys, count", [
    (0, 1, 20, set(), 0),
    (5, 1, 20, set(), 5),
    (45, 1, 20, {"next", "last"}, 20),
    (45, 2, 20, {"first", "prev", "next", "last"}, 20),
    (45, 3, 20, {"first", "prev"}, 5),
    (450, 1, 500, {"next", "last"}, 200),  # per_page is capped at 200
])
def test_paginate(total, page, per_page, keys, count):
    chunk, links = catalog.paginate(list(range(total)), "http://127.0.0.1:9/", "/v2/droplets",
                                    {"page": str(page), "per_page": str(per_page), "tag_name": "pcloud"})
    assert len(chunk) == count
    assert set(links.get("pages", {})) == keys
    for url in links.get("pages", {}).values():
        parts = urllib.parse.urlsplit(url)
        assert url.startswith("http://127.0.0.1:9/v2/droplets?")
        assert urllib.parse.parse_qs(parts.query)["tag_name"] == ["pcloud"]


def test_parse_image_and_limits():
    assert catalog.parse_image("debian-12-x64") == ("distribution", None)
    assert catalog.parse_image("1234") == ("snapshot", 1234) and catalog.parse_image(77) == ("snapshot", 77)
    with pytest.raises(ValueError, match="not available here"):
        catalog.parse_image("windows-2022")
    assert catalog.container_limits("s-8vcpu-16gb", host_cpus=2) == {"nano_cpus": 2_000_000_000,
                                                                     "mem_limit": 16384 * 1024 * 1024}


def test_ruleset_without_firewall_accepts_everything():
    rules = firewall.ruleset([], {}, {})
    assert "-j DROP" not in rules and rules.endswith("COMMIT\n")
    assert rules.startswith("*mangle\n") and "*filter" not in rules and "*nat" not in rules  # the engine's own tables


def test_ruleset_sees_only_what_arrives_on_the_droplet_interface():
    rules = firewall.ruleset([{"inbound_rules": [{"protocol": "tcp", "ports": "22", "sources": {"addresses": ["0.0.0.0/0"]}}]}],
                             {}, {}).splitlines()
    assert rules[0] == "*mangle" and "-A PREROUTING -i eth+ -j PCLOUD-FW" in rules
    assert not [r for r in rules if r.startswith("-A INPUT") or r.startswith("-A FORWARD")]


def test_ruleset_from_rules():
    fw = {"inbound_rules": [
        {"protocol": "tcp", "ports": "22", "sources": {"addresses": ["10.1.0.1"], "tags": ["pcloud"]}},
        {"protocol": "tcp", "ports": "80", "sources": {"addresses": ["0.0.0.0/0", "::/0"]}},
        {"protocol": "tcp", "ports": "5000-9999", "sources": {"droplet_ids": [7]}},
        {"protocol": "icmp", "ports": "0", "sources": {"addresses": ["10.1.0.1"]}},
    ]}
    rules = firewall.ruleset([fw], {7: "10.1.0.7", 8: "10.1.0.8"}, {"pcloud": [7, 8]}).splitlines()
    assert "-A PCLOUD-FW -s 10.1.0.1/32 -p tcp -m tcp --dport 22 -j ACCEPT" in rules
    assert "-A PCLOUD-FW -s 10.1.0.8/32 -p tcp -m tcp --dport 22 -j ACCEPT" in rules
    assert "-A PCLOUD-FW -p tcp -m tcp --dport 80 -j ACCEPT" in rules  # 0.0.0.0/0: no source match
    assert "-A PCLOUD-FW -s 10.1.0.7/32 -p tcp -m tcp --dport 5000:9999 -j ACCEPT" in rules
    assert "-A PCLOUD-FW -s 10.1.0.1/32 -p icmp -j ACCEPT" in rules
    assert rules[-2:] == ["-A PCLOUD-FW -j DROP", "COMMIT"]


def test_firewalls_for_by_id_or_tag():
    fws = [{"name": "a", "droplet_ids": [1], "tags": []}, {"name": "b", "droplet_ids": [], "tags": ["web"]}]
    assert [f["name"] for f in firewall.firewalls_for(1, [], fws)] == ["a"]
    assert [f["name"] for f in firewall.firewalls_for(2, ["web"], fws)] == ["b"]
    assert firewall.firewalls_for(3, ["db"], fws) == []
