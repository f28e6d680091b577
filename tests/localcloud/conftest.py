"""A real local cloud for the tests: Docker engine, droplet image, network and API server.

Every response the server sends during the session is validated against the OpenAPI subset
(tests/contract/); the session fails if any response violates it.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional

import pytest

from ..conftest import REPO, VENV_BIN, ansible_env

CONTRACT = REPO / "tests" / "contract" / "digitalocean-openapi-subset.yaml"
TEST_NETWORK = "pcloud-test-droplets"
TEST_SUBNET = "10.199.8.0/24"
TEST_NAME = "pctest"


class Cloud:
    def __init__(self, config_dir: Path, url: str, token: str, contract_log: Path) -> None:
        self.config_dir = config_dir
        self.url = url
        self.token = token
        self.contract_log = contract_log

    def request(self, method: str, path: str, body=None, token=None):
        """(status, parsed JSON or None) for one API call."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Authorization": "Bearer %s" % (self.token if token is None else token),
            "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            return exc.code, json.loads(raw) if raw else None

    def contract_entries(self):
        if not self.contract_log.exists():
            return []
        return [json.loads(line) for line in self.contract_log.read_text().splitlines() if line.strip()]

    def env(self, **extra):
        return ansible_env(PCLOUD_CONFIG_DIR=str(self.config_dir), **extra)


def pcloud(*args, env=None, check=True, timeout=900):
    result = subprocess.run([str(VENV_BIN / "pcloud"), *args], capture_output=True, text=True, env=env,
                            timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise AssertionError("pcloud %s failed (%d):\n%s\n%s" % (" ".join(args), result.returncode, result.stdout,
                                                                  result.stderr))
    return result


@pytest.fixture(scope="session")
def cloud(tmp_path_factory):
    base = tmp_path_factory.mktemp("localcloud")
    config = base / "config"
    contract_log = base / "contract.jsonl"
    env = ansible_env(PCLOUD_LOCALCLOUD_CONTRACT=str(CONTRACT), PCLOUD_LOCALCLOUD_CONTRACT_LOG=str(contract_log))
    up = pcloud("--config-dir", str(config), "local", "up", "--port", "0", "--network", TEST_NETWORK,
                "--subnet", TEST_SUBNET, "--name", TEST_NAME, "--json", env=env)
    endpoint = json.loads(up.stdout)
    token = (config / "localcloud" / "token").read_text().strip()
    instance = Cloud(config, endpoint["url"], token, contract_log)
    yield instance
    pcloud("--config-dir", str(config), "local", "down", "--purge", env=env, check=False)
    bad = [e for e in instance.contract_entries() if not e["ok"]]
    assert not bad, "responses that violate the OpenAPI subset:\n" + "\n".join(json.dumps(b) for b in bad[:20])


@pytest.fixture(scope="session")
def fleet_key(tmp_path_factory):
    """An ed25519 key pair for droplets created directly through the API."""
    directory = tmp_path_factory.mktemp("keys")
    key = directory / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pcloud-test", "-f", str(key)], check=True)
    return key


def ssh(ip: str, key: Path, command: str, timeout: int = 20, known_hosts: Optional[Path] = None,
        alias: Optional[str] = None):
    """Run ``command`` on a droplet as root. With ``known_hosts`` (a config dir's ssh/known_hosts) the host key is
    checked strictly, as pcloud does (``alias``: the droplet name it is pinned under); without, it is not checked -
    only for droplets a test creates through the API with no user_data, whose host keys nobody pinned."""
    if known_hosts is None:
        checking = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    else:
        checking = ["-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=%s" % known_hosts,
                    "-o", "GlobalKnownHostsFile=/dev/null"] + (["-o", "HostKeyAlias=%s" % alias] if alias else [])
    return subprocess.run(["ssh", "-i", str(key), *checking, "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5",
                           "-o", "BatchMode=yes", "root@%s" % ip, command],
                          capture_output=True, text=True, timeout=timeout, check=False)


def public_ip(droplet) -> str:
    return next(n["ip_address"] for n in droplet["networks"]["v4"] if n["type"] == "public")


def fresh_env_without_provider():
    env = dict(os.environ)
    for var in ("DO_API_TOKEN", "DIGITALOCEAN_TOKEN", "PCLOUD_API_URL", "PCLOUD_API_TOKEN"):
        env.pop(var, None)
    return env
