# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.pcloud.infra.plugins.inventory.projects import InventoryModule

OPTIONS = {"fleet_tag": "pcloud", "strict": True, "compose": {}, "groups": {}, "keyed_groups": [],
           "leading_separator": True, "use_extra_vars": False}


def droplet(did, name, ip, tags=("pcloud",), size="s-2vcpu-4gb"):
    return {"id": did, "name": name, "size_slug": size, "status": "active", "tags": list(tags),
            "networks": {"v4": [{"ip_address": ip, "type": "public", "netmask": "255.255.0.0", "gateway": "10.9.0.1"}],
                         "v6": []}}


# A recorded-shape droplet list: master and one web droplet exist, hostomatic-web2 and mynewproject-web1
# are planned but not created, one droplet is someone else's, one is ours but no longer planned.
RECORDED = [
    droplet(101, "pcloud-master", "10.9.0.2"),
    droplet(102, "hostomatic-web1", "10.9.0.3"),
    droplet(103, "hostomatic-web1-copy", "10.9.0.9"),
    droplet(104, "hostomatic-web2", "10.9.0.4", tags=("not-ours",)),
]


@pytest.fixture
def plugin(monkeypatch):
    module = InventoryModule()
    module.inventory = InventoryData()
    module.templar = Templar(loader=DataLoader())
    monkeypatch.setattr(module, "get_option", lambda name: OPTIONS[name])
    return module


def test_verify_file_suffix(plugin, tmp_path):
    for name, ok in (("inventory.pcloud.yml", True), ("pcloud.yaml", True), ("hosts.yml", False)):
        path = tmp_path / name
        path.write_text("plugin: pcloud.infra.projects\n")
        assert plugin.verify_file(str(path)) is ok


def test_populate_groups_and_hostvars(plugin, seed_spec):
    plugin._populate(seed_spec, None, RECORDED, private_key_file="/keys/id_ed25519")
    inv = plugin.inventory
    assert sorted(inv.hosts) == ["hostomatic-web1", "pcloud-master"]  # planned + tagged only
    assert [h.name for h in inv.groups["master"].hosts] == ["pcloud-master"]
    assert [h.name for h in inv.groups["web"].hosts] == ["hostomatic-web1"]
    assert sorted(h.name for h in inv.groups["project_hostomatic"].hosts) == ["hostomatic-web1", "pcloud-master"]
    assert [h.name for h in inv.groups["project_digitalpixo"].hosts] == ["pcloud-master"]
    assert sorted(h.name for h in inv.groups["env_prod"].hosts) == ["hostomatic-web1", "pcloud-master"]
    web1 = inv.hosts["hostomatic-web1"].vars
    assert web1["ansible_host"] == "10.9.0.3"
    assert web1["ansible_ssh_private_key_file"] == "/keys/id_ed25519"
    assert web1["pcloud_role"] == "web" and web1["pcloud_project"] == "hostomatic"
    assert web1["pcloud_monitors"] == ["pcloud-master", "hostomatic-web2"]
    assert web1["pcloud_droplet_id"] == 102
    backend = [s for s in web1["pcloud_services"] if s["key"] == "hostomatic-prod" and s["service"] == "backend"]
    assert backend and backend[0]["environment"] == "prod" and 8000 <= backend[0]["port"] <= 8999
    master = inv.hosts["pcloud-master"].vars
    assert {s["type"] for s in master["pcloud_services"]} == {"postgres", "redis", "web"}


@pytest.mark.parametrize("control_dir, expected_dir", [
    (None, "/srv/pcloud/config/ssh/cp"),
    ("/tmp/pcloud-cp-abc123", "/tmp/pcloud-cp-abc123"),  # the fallback when the config dir path is too long
])
def test_populate_checks_host_keys_strictly(plugin, seed_spec, control_dir, expected_dir):
    plugin._populate(seed_spec, None, RECORDED, config_dir="/srv/pcloud/config", control_path_dir=control_dir)
    for name in ("pcloud-master", "hostomatic-web1"):
        hostvars = plugin.inventory.hosts[name].vars
        assert hostvars["ansible_ssh_common_args"].split() == [
            "-o", "UserKnownHostsFile=/srv/pcloud/config/ssh/known_hosts", "-o", "StrictHostKeyChecking=yes",
            "-o", "HostKeyAlias=%s" % name, "-o", "GlobalKnownHostsFile=/dev/null"]
        assert hostvars["ansible_host_key_checking"] is True
        assert hostvars["ansible_control_path_dir"] == expected_dir


def test_populate_with_nothing_created(plugin, seed_spec):
    plugin._populate(seed_spec, None, [])
    assert plugin.inventory.hosts == {}
    assert "master" in plugin.inventory.groups and "web" in plugin.inventory.groups


def test_keyed_groups_from_constructed(plugin, seed_spec, monkeypatch):
    options = dict(OPTIONS, keyed_groups=[{"key": trust_as_template("pcloud_size"), "prefix": "size"}])
    monkeypatch.setattr(plugin, "get_option", lambda name: options[name])
    plugin._populate(seed_spec, None, RECORDED)
    assert sorted(h.name for h in plugin.inventory.groups["size_s_2vcpu_4gb"].hosts) == ["hostomatic-web1", "pcloud-master"]
