"""The local cloud's droplet create with cloud-init user_data: host keys handed to the engine, malformed
user_data refused as DigitalOcean does (422), and nothing of the user_data persisted but a digest."""

from __future__ import annotations

import hashlib
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pcloud.localcloud.api import LocalCloud, create_app
from pcloud.localcloud.engine import TEMPLATE_VOLUME, CloudConfig
from pcloud.localcloud.store import Store

from ansible_collections.pcloud.infra.plugins.module_utils.hostkeys import render_cloud_config  # isort: skip

TOKEN = "t0k"


class FakeEngine:
    def __init__(self):
        self.cloud = CloudConfig("pctest", "abc", "net", "10.199.9.0/24")
        self.created = []

    def create(self, droplet_id, name, size, ip, image, authorized_keys, host_keys=None, seed_volume=None):
        self.created.append({"name": name, "host_keys": host_keys, "seed_volume": seed_volume})
        return "container-%d" % droplet_id

    def exists(self, _container):
        return "running"

    def apply_firewall(self, _container, _rules):
        pass


@pytest.fixture
def api(tmp_path):
    engine = FakeEngine()
    store = Store(str(tmp_path / "state.json"), engine.cloud.subnet)
    app = create_app(LocalCloud(store, engine, TOKEN))
    client = app.test_client()

    def post(body):
        resp = client.post("/v2/droplets", data=json.dumps(body), headers={"Authorization": "Bearer " + TOKEN,
                                                                            "Content-Type": "application/json"})
        return resp.status_code, resp.get_json()

    return post, engine, tmp_path / "state.json"


@pytest.fixture(scope="module")
def pair():
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return private, public


BODY = {"name": "ud-one", "size": "s-1vcpu-1gb", "region": "lon1", "image": "debian-12-x64", "tags": ["t"]}


def test_cloud_config_host_keys_reach_the_engine_and_only_a_digest_is_stored(api, pair):
    post, engine, state = api
    user_data = render_cloud_config(*pair)
    status, body = post(dict(BODY, user_data=user_data))
    assert status == 202, body
    assert engine.created[-1]["host_keys"] == {"ssh_host_ed25519_key": pair[0],
                                               "ssh_host_ed25519_key.pub": " ".join(pair[1].split()[:2]) + "\n"}
    stored = state.read_text()
    assert "PRIVATE KEY" not in stored and pair[1].split()[1] not in stored
    record = json.loads(stored)["droplets"][str(body["droplet"]["id"])]
    assert record["user_data_sha256"] == hashlib.sha256(user_data.encode()).hexdigest()
    assert "user_data" not in body["droplet"]


@pytest.mark.parametrize("user_data", [None, "", "#cloud-config\nruncmd: [touch /x]\n"])
def test_no_host_keys_in_user_data_leaves_the_droplet_its_own(api, user_data):
    post, engine, _state = api
    status, _body = post(dict(BODY, user_data=user_data))
    assert status == 202
    assert engine.created[-1]["host_keys"] == {}
    assert engine.created[-1]["seed_volume"] == TEMPLATE_VOLUME  # a distribution image: the template's engine data


@pytest.mark.parametrize("user_data, message", [
    ("#!/bin/sh\necho hi\n", "user_data: only '#cloud-config' user_data is supported"),
    ("#cloud-config\nssh_keys: [\n", "user_data: user_data is not valid cloud-config YAML"),
    ("#cloud-config\nssh_keys: {ed25519_private: nope, ed25519_public: 'ssh-ed25519 AAAA'}\n",
     "user_data: not an OpenSSH private key"),
    (["#cloud-config"], "user_data: user_data must be a string"),
])
def test_malformed_user_data_is_a_422_and_creates_nothing(api, user_data, message):
    post, engine, state = api
    status, body = post(dict(BODY, user_data=user_data))
    assert status == 422 and body["id"] == "unprocessable_entity"
    assert body["message"].startswith(message)
    assert "nope" not in body["message"]  # no key material in the answer
    assert engine.created == []
    assert not state.exists() or json.loads(state.read_text())["droplets"] == {}
