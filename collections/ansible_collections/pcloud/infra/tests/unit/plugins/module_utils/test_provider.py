# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import io
import json
import os
import urllib.error

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils.errors import ProviderError
from ansible_collections.pcloud.infra.plugins.module_utils.provider import (
    DIGITALOCEAN_URL,
    Client,
    Provider,
    agent_provider,
    resolve_provider,
)


@pytest.mark.parametrize("env, url, expected", [
    ({}, None, None),
    ({"DO_API_TOKEN": "t"}, None, ("digitalocean", DIGITALOCEAN_URL, "t")),
    ({"DIGITALOCEAN_TOKEN": "t2"}, None, ("digitalocean", DIGITALOCEAN_URL, "t2")),
    ({"PCLOUD_API_URL": "http://127.0.0.1:9/v2/", "PCLOUD_API_TOKEN": "l", "DO_API_TOKEN": "t"}, None,
     ("local", "http://127.0.0.1:9/v2", "l")),
    ({"DO_API_TOKEN": "t"}, "http://127.0.0.1:5/v2", ("local", "http://127.0.0.1:5/v2", "")),
])
def test_resolve_provider(env, url, expected):
    provider = resolve_provider(env, url)
    assert (None if provider is None else (provider.name, provider.url, provider.token)) == expected


LOCAL_URL = "http://127.0.0.1:8910/v2"
DROPLET_URL = "http://10.199.0.1:8910/v2"


@pytest.fixture
def local_dir(tmp_path):
    """A config dir whose local cloud runs: endpoint.json, the full-access and the droplet:read token."""
    base = tmp_path / "localcloud"
    base.mkdir()
    (base / "endpoint.json").write_text(json.dumps({"url": LOCAL_URL + "/", "droplet_url": DROPLET_URL}))
    (base / "token").write_text("full-local\n")
    (base / "token-droplet-read").write_text("read-local\n")
    return str(tmp_path)


# The one resolution every path uses (modules, inventory, CLI, and playbooks through the provider lookup).
@pytest.mark.parametrize("env, expected", [
    ({}, ("local", LOCAL_URL, "full-local")),
    ({"DO_API_TOKEN": "a"}, ("digitalocean", DIGITALOCEAN_URL, "a")),
    ({"DIGITALOCEAN_TOKEN": "b"}, ("digitalocean", DIGITALOCEAN_URL, "b")),
    ({"DO_OAUTH_TOKEN": "c"}, ("digitalocean", DIGITALOCEAN_URL, "c")),
    ({"DIGITALOCEAN_TOKEN": "b", "DO_OAUTH_TOKEN": "c", "DO_API_TOKEN": "a"}, ("digitalocean", DIGITALOCEAN_URL, "a")),
    ({"DIGITALOCEAN_TOKEN": "b", "DO_OAUTH_TOKEN": "c"}, ("digitalocean", DIGITALOCEAN_URL, "b")),
    # a URL of its own never gets a DigitalOcean token, nor the local cloud's
    ({"PCLOUD_API_URL": "http://api.example:1/v2", "DO_API_TOKEN": "a"}, ("local", "http://api.example:1/v2", "")),
    ({"PCLOUD_API_URL": LOCAL_URL, "PCLOUD_API_TOKEN": "p"}, ("local", LOCAL_URL, "p")),
    ({"PCLOUD_API_TOKEN": "p"}, ("local", LOCAL_URL, "full-local")),  # a token alone names no provider
])
def test_resolve_provider_with_a_local_cloud(local_dir, env, expected):
    provider = resolve_provider(env, config_dir=local_dir)
    assert (provider.name, provider.url, provider.token) == expected


@pytest.mark.parametrize("env, explicit, expected", [
    # the local cloud: droplets reach it by its droplet-side address, with the droplet:read token
    ({}, None, ("local", DROPLET_URL, "read-local")),
    ({"PCLOUD_API_URL": LOCAL_URL, "PCLOUD_API_TOKEN": "p"}, None, ("local", DROPLET_URL, "read-local")),
    ({"PCLOUD_AGENT_API_TOKEN": "env-ro"}, None, ("local", DROPLET_URL, "env-ro")),
    ({"PCLOUD_AGENT_API_TOKEN": "env-ro"}, "var-ro", ("local", DROPLET_URL, "var-ro")),
    # DigitalOcean: never the full-access token, never the local cloud's read-only one
    ({"DIGITALOCEAN_TOKEN": "full"}, None, ("digitalocean", DIGITALOCEAN_URL, "")),
    ({"DO_API_TOKEN": "full", "PCLOUD_AGENT_API_TOKEN": "ro"}, None, ("digitalocean", DIGITALOCEAN_URL, "ro")),
    ({"PCLOUD_API_URL": "http://api.example:1/v2", "PCLOUD_API_TOKEN": "p"}, None,
     ("local", "http://api.example:1/v2", "")),
])
def test_agent_provider(local_dir, env, explicit, expected):
    provider = agent_provider(env, local_dir, explicit)
    assert (provider.name, provider.url, provider.token) == expected


def test_agent_provider_without_a_provider(tmp_path):
    assert agent_provider({}, str(tmp_path)) is None
    assert agent_provider({"PCLOUD_AGENT_API_TOKEN": "ro"}, None) is None


def test_agent_provider_local_without_read_only_token(local_dir):
    os.unlink(os.path.join(local_dir, "localcloud", "token-droplet-read"))
    provider = agent_provider({}, local_dir)
    assert (provider.url, provider.token) == (DROPLET_URL, "")  # the agents then do not consult the provider


def test_token_not_in_repr():
    assert "secret" not in repr(Provider("local", "http://127.0.0.1/v2", "secret"))


class FakeResponse(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def fake_opener(pages, seen):
    def opener(url, headers, timeout):
        seen.append((url, headers.get("Authorization")))
        body = pages[url]
        if isinstance(body, Exception):
            raise body
        return FakeResponse(json.dumps(body).encode())
    return opener


BASE = "http://127.0.0.1:8/v2"


def test_list_follows_next_on_same_origin():
    pages = {
        BASE + "/droplets?per_page=200&tag_name=pcloud": {"droplets": [{"id": 1}], "links": {"pages": {
            "next": BASE + "/droplets?page=2&per_page=200&tag_name=pcloud"}}, "meta": {"total": 2}},
        BASE + "/droplets?page=2&per_page=200&tag_name=pcloud": {"droplets": [{"id": 2}], "links": {}},
    }
    seen = []
    client = Client(Provider("local", BASE, "tok"), opener=fake_opener(pages, seen))
    assert [d["id"] for d in client.droplets(tag="pcloud")] == [1, 2]
    assert [s[1] for s in seen] == ["Bearer tok", "Bearer tok"]


def test_list_refuses_foreign_next():
    pages = {BASE + "/droplets?per_page=200": {"droplets": [], "links": {"pages": {
        "next": "https://api.digitalocean.com/v2/droplets?page=2"}}}}
    client = Client(Provider("local", BASE, ""), opener=fake_opener(pages, []))
    with pytest.raises(ProviderError, match="another host"):
        client.droplets()


def test_http_error_carries_status_and_message():
    error = urllib.error.HTTPError(BASE + "/droplets?per_page=200", 401, "Unauthorized", {},
                                   io.BytesIO(b'{"id": "unauthorized", "message": "Unable to authenticate you"}'))
    client = Client(Provider("digitalocean", BASE, "bad"), opener=fake_opener({BASE + "/droplets?per_page=200": error}, []))
    with pytest.raises(ProviderError) as exc_info:
        client.droplets()
    assert exc_info.value.status == 401
    assert "HTTP 401 for GET /v2/droplets?per_page=200: Unable to authenticate you" in str(exc_info.value)
    assert "bad" not in str(exc_info.value)


def test_unreachable_and_bad_bodies():
    url = BASE + "/droplets?per_page=200"
    client = Client(Provider("local", BASE, ""), opener=fake_opener({url: urllib.error.URLError("refused")}, []))
    with pytest.raises(ProviderError, match="cannot reach the local API"):
        client.droplets()
    client = Client(Provider("local", BASE, ""), opener=fake_opener({url: {"items": []}}, []))
    with pytest.raises(ProviderError, match="without a 'droplets' list"):
        client.droplets()
