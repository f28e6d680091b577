"""The local cloud's credentials over real HTTP on loopback (no Docker): the full-access token, a custom-scoped
``droplet:read`` token (what the health agents get) and the recovery hook, which takes only requests signed with
the fleet key."""

from __future__ import annotations

import json
import os
import stat
import threading
import urllib.error
import urllib.request

import pytest
from werkzeug.serving import make_server

from pcloud import _collection  # noqa: F401
from pcloud.localcloud import settings
from pcloud.localcloud.api import LocalCloud, allowed, create_app
from pcloud.localcloud.store import Store

from ansible_collections.pcloud.infra.plugins.module_utils import agentauth  # isort: skip

FULL, READ = "full-access-token", "droplet-read-token"
KEY = bytes(range(32))


@pytest.fixture
def api(tmp_path):
    """(base URL, recovery calls, store) of a local cloud without an engine."""
    calls = []
    store = Store(str(tmp_path / "state.json"), "10.250.0.0/24")
    cloud = LocalCloud(store, None, FULL, recover=lambda *args: calls.append(args) or "started",
                       scoped_tokens={READ: ("droplet:read",)}, agent_key=lambda: KEY)
    server = make_server("127.0.0.1", 0, create_app(cloud), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d" % server.server_port, calls, store
    server.shutdown()


def request(url, method, path, token=None, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if token:
        all_headers["Authorization"] = "Bearer " + token
    req = urllib.request.Request(url + path, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback
            raw, status = resp.read(), resp.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    return status, json.loads(raw) if raw else None


@pytest.mark.parametrize("method, path, token, status", [
    ("GET", "/v2/droplets", READ, 200),
    ("GET", "/v2/droplets?tag_name=pcloud", READ, 200),
    ("GET", "/v2/droplets/1001", READ, 404),  # allowed; there is no such droplet
    ("DELETE", "/v2/droplets/1001", READ, 403),
    ("POST", "/v2/droplets", READ, 403),
    ("DELETE", "/v2/droplets?tag_name=pcloud", READ, 403),
    ("POST", "/v2/droplets/1001/actions", READ, 403),
    ("GET", "/v2/account", READ, 403),
    ("GET", "/v2/account/keys", READ, 403),
    ("GET", "/v2/firewalls", READ, 403),
    ("GET", "/v2/droplets", "wrong", 401),
    ("GET", "/v2/droplets", None, 401),
    ("DELETE", "/v2/droplets/1001", FULL, 404),  # full access: reaches the handler
    ("GET", "/v2/account", FULL, 200),
])
def test_scoped_token(api, method, path, token, status):
    """Item 16: the read-scoped token may only GET droplets; anything else is 403 with DigitalOcean's error body."""
    url, _calls, _store = api
    got, body = request(url, method, path, token=token)
    assert got == status, body
    if status == 403:
        assert body == {"id": "forbidden", "message": "You do not have access for the attempted action."}


@pytest.mark.parametrize("scopes, method, path, ok", [
    (("droplet:read",), "GET", "/v2/droplets", True),
    (("droplet:read",), "GET", "/v2/droplets/7/actions/9", True),
    (("droplet:read",), "GET", "/v2/dropletsX", False),
    (("droplet:read",), "HEAD", "/v2/droplets", False),
    (("droplet:read",), "PUT", "/v2/droplets/7", False),
    (("droplet:write",), "GET", "/v2/droplets", False),  # unknown scopes allow nothing
    ((), "GET", "/v2/droplets", False),
])
def test_allowed(scopes, method, path, ok):
    assert allowed(scopes, method, path) is ok


def recover_body():
    return {"droplet": "shop-web1", "incident": "shop-web1-2", "reported_by": "pcloud-master", "drained": True}


def signed_headers(key, body, at=None):
    return agentauth.sign(key, "POST", "/pcloud/v1/recover", json.dumps(body).encode(), now=at)


@pytest.mark.parametrize("case", ["unsigned", "full token", "read token", "wrong key", "stale"])
def test_the_recovery_hook_refuses_all_but_the_fleet_key(api, case):
    url, calls, store = api
    store.data["droplets"]["1001"] = {"id": 1001, "name": "shop-web1"}
    body = recover_body()
    token = {"full token": FULL, "read token": READ}.get(case)
    headers = {}
    if case == "wrong key":
        headers = signed_headers(bytes(range(1, 33)), body)
    if case == "stale":
        import time

        headers = signed_headers(KEY, body, at=time.time() - 31)
    status, answer = request(url, "POST", "/pcloud/v1/recover", token=token, body=body, headers=headers)
    assert status == 401 and answer["id"] == "unauthorized", answer
    assert calls == []


def test_the_recovery_hook_takes_a_signed_request_once(api):
    url, calls, store = api
    store.data["droplets"]["1001"] = {"id": 1001, "name": "shop-web1"}
    body = recover_body()
    headers = signed_headers(KEY, body)
    status, answer = request(url, "POST", "/pcloud/v1/recover", body=body, headers=headers)
    assert status == 202 and answer["status"] == "started"
    assert calls == [("shop-web1", "shop-web1-2", "pcloud-master", True)]
    assert request(url, "POST", "/pcloud/v1/recover", body=body, headers=headers)[0] == 401  # a replay


def test_local_up_creates_a_private_read_scoped_token(tmp_path):
    settings.init(str(tmp_path), "t", "net", "10.250.0.0/24", 0)
    read = settings.read_token(str(tmp_path), "droplet:read")
    assert read and read != settings.read_token(str(tmp_path))
    assert stat.S_IMODE(os.stat(settings.path(str(tmp_path), "token-droplet-read")).st_mode) == 0o600
    assert settings.scoped_tokens(str(tmp_path)) == {read: ("droplet:read",)}
    settings.init(str(tmp_path), "t", "net", "10.250.0.0/24", 0)
    assert settings.read_token(str(tmp_path), "droplet:read") == read  # kept
