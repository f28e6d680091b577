# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The provider lookup: the playbooks' token and URL come from module_utils/provider.py, like the modules'."""

from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleLookupError

from ansible_collections.pcloud.infra.plugins.lookup.provider import LookupModule
from ansible_collections.pcloud.infra.plugins.module_utils.provider import DIGITALOCEAN_URL

PROVIDER_VARS = ("PCLOUD_API_URL", "PCLOUD_API_TOKEN", "DO_API_TOKEN", "DIGITALOCEAN_TOKEN", "DO_OAUTH_TOKEN",
                 "PCLOUD_AGENT_API_TOKEN")


@pytest.fixture
def lookup(monkeypatch, tmp_path):
    for var in PROVIDER_VARS:
        monkeypatch.delenv(var, raising=False)
    options = {"config_dir": str(tmp_path), "agent_api_token": ""}
    module = LookupModule()

    def set_options(var_options=None, direct=None):
        options.update(direct or {})

    monkeypatch.setattr(module, "set_options", set_options)
    monkeypatch.setattr(module, "get_option", lambda name: options[name])
    return module


def local_cloud(config_dir):
    base = config_dir / "localcloud"
    base.mkdir()
    (base / "endpoint.json").write_text(json.dumps({"url": "http://127.0.0.1:8910/v2",
                                                    "droplet_url": "http://10.199.0.1:8910/v2"}))
    (base / "token").write_text("full-local\n")
    (base / "token-droplet-read").write_text("read-local\n")


@pytest.mark.parametrize("var", ["DO_API_TOKEN", "DIGITALOCEAN_TOKEN", "DO_OAUTH_TOKEN"])
def test_every_digitalocean_token_variable_is_honoured(lookup, monkeypatch, tmp_path, var):
    local_cloud(tmp_path)  # a DigitalOcean token wins over the local cloud, as in the inventory and the modules
    monkeypatch.setenv(var, "do-secret")
    assert lookup.run(["name", "url", "token"]) == ["digitalocean", DIGITALOCEAN_URL, "do-secret"]
    # the agents never get it
    assert lookup.run(["agent_url", "agent_token"]) == [DIGITALOCEAN_URL, ""]


def test_local_cloud(lookup, tmp_path):
    local_cloud(tmp_path)
    assert lookup.run(["name", "url", "token"]) == ["local", "http://127.0.0.1:8910/v2", "full-local"]
    assert lookup.run(["agent_url", "agent_token"]) == ["http://10.199.0.1:8910/v2", "read-local"]
    assert lookup.run(["agent_token"], agent_api_token="given-ro") == ["given-ro"]


def test_pcloud_api_url_and_token(lookup, monkeypatch):
    monkeypatch.setenv("PCLOUD_API_URL", "http://api.example:1/v2/")
    monkeypatch.setenv("PCLOUD_API_TOKEN", "p")
    monkeypatch.setenv("DO_API_TOKEN", "never-sent-elsewhere")
    assert lookup.run(["url", "token"]) == ["http://api.example:1/v2", "p"]


def test_no_provider_gives_empty_strings(lookup):
    assert lookup.run(["name", "url", "token", "agent_url", "agent_token"]) == ["", "", "", "", ""]


def test_unknown_term(lookup):
    with pytest.raises(AnsibleLookupError, match="unknown term.*'password'"):
        lookup.run(["token", "password"])
