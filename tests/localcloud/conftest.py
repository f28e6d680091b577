"""A real local cloud for the tests: Docker engine, droplet image, network and API server.

Every response the server sends during the session is validated against the OpenAPI subset
(tests/contract/); the session fails if any response violates it.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import docker
import pytest

from pcloud.localcloud import control

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
    # a test run killed before its teardown leaves its cloud on the test network: clear it, or nothing starts
    control.purge_orphan(TEST_NETWORK, TEST_NAME, log=lambda _line: None)
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


class DropletEngine:
    """The Docker engine of one droplet, driven over SSH as an operator would (``ssh root@<droplet> docker ...``).

    Service containers run inside each droplet's own engine; the host's engine only runs the droplet containers, so
    tests look at services through this and at droplets through ``docker.from_env()``. Every call is one SSH
    connection; results come back parsed (``docker ... --format '{{json .}}'``, ``docker inspect``). With
    ``console`` (the droplet's container on the host) commands go through ``docker exec`` instead, the local
    equivalent of a provider's recovery console: only for a droplet the test has cut off the network."""

    def __init__(self, name: str, ip: str, key: Optional[Path] = None, known_hosts: Optional[Path] = None,
                 console: Optional[str] = None) -> None:
        self.name, self.ip, self.key, self.known_hosts, self.console = name, ip, key, known_hosts, console

    def __repr__(self) -> str:
        return "<droplet %s %s%s>" % (self.name, self.ip, " (console)" if self.console else "")

    def sh(self, command: str, timeout: int = 120) -> subprocess.CompletedProcess:
        """``command`` (a shell line) as root on the droplet; the host key is checked when it is pinned."""
        if self.console:
            return subprocess.run(["docker", "exec", self.console, "sh", "-c", command], capture_output=True, text=True,
                                  timeout=timeout, check=False)
        assert self.key is not None
        return ssh(self.ip, self.key, command, timeout=timeout, known_hosts=self.known_hosts,
                   alias=self.name if self.known_hosts else None)

    def docker(self, *args: str, timeout: int = 120, check: bool = True) -> subprocess.CompletedProcess:
        done = self.sh("docker " + shlex.join(args), timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError("docker %s on %s failed (%d): %s%s" % (" ".join(args), self.name, done.returncode,
                                                                        done.stdout[-1000:], done.stderr[-1000:]))
        return done

    def _lines(self, *args: str) -> List[Dict[str, Any]]:
        out = self.docker(*args, "--format", "{{json .}}").stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    @staticmethod
    def _filters(labels) -> List[str]:
        return [arg for label in labels for arg in ("--filter", "label=%s" % label)]

    def ps(self, *labels: str, all: bool = False) -> List[Dict[str, Any]]:  # noqa: A002 - docker's own flag
        """``docker ps`` rows (Names, ID, Image, State, Labels, ...) of the containers with every ``label``."""
        return self._lines("ps", "--no-trunc", *(["--all"] if all else []), *self._filters(labels))

    def containers(self, *labels: str, all: bool = False) -> List[Dict[str, Any]]:  # noqa: A002
        """``docker inspect`` of the containers with every ``label`` (one SSH round trip), sorted by name."""
        query = "docker ps -q --no-trunc %s %s" % ("--all" if all else "", shlex.join(self._filters(labels)))
        done = self.sh('ids=$(%s) && if [ -n "$ids" ]; then docker inspect $ids; else echo "[]"; fi' % query)
        assert done.returncode == 0, (self.name, done.stderr)
        return sorted(json.loads(done.stdout), key=lambda c: c["Name"])

    def names(self, *labels: str, all: bool = False) -> Dict[str, str]:  # noqa: A002
        """``{container name: id}`` of the containers with every ``label``."""
        return {row["Names"]: row["ID"] for row in self.ps(*labels, all=all)}

    def inspect(self, *objects: str) -> List[Dict[str, Any]]:
        """``docker inspect`` of containers or images by name, id or reference."""
        return json.loads(self.docker("inspect", *objects).stdout)

    def images(self) -> List[Dict[str, Any]]:
        """``docker image inspect`` of every image in the droplet's engine."""
        done = self.sh('ids=$(docker images -q --no-trunc | sort -u) && '
                       'if [ -n "$ids" ]; then docker image inspect $ids; else echo "[]"; fi')
        assert done.returncode == 0, (self.name, done.stderr)
        return json.loads(done.stdout)

    def exec(self, container: str, *argv: str, timeout: int = 120) -> Tuple[int, str]:
        """(exit code, stdout + stderr) of ``argv`` run in one of the droplet's containers."""
        done = self.sh("docker exec %s %s 2>&1" % (shlex.quote(container), shlex.join(argv)), timeout=timeout)
        return done.returncode, done.stdout

    def events(self, *filters: str) -> List[Dict[str, Any]]:
        """The engine's events since it started (``docker events`` keeps them in memory), e.g. ``"event=pull"``."""
        return self._lines("events", "--since", "0", "--until", "0s",
                           *[arg for f in filters for arg in ("--filter", f)])


def fleet_engines(cloud, names=None) -> Dict[str, DropletEngine]:
    """``{droplet name: DropletEngine}`` of the fleet's droplets (tag ``pcloud``, as the provider lists them now:
    a recovered droplet is found at its new address), reached with the config dir's key and pinned host keys."""
    status, body = cloud.request("GET", "/droplets?tag_name=pcloud&per_page=200")
    assert status == 200, body
    ssh_dir = cloud.config_dir / "ssh"
    return {d["name"]: DropletEngine(d["name"], public_ip(d), ssh_dir / "id_ed25519", ssh_dir / "known_hosts")
            for d in body["droplets"] if names is None or d["name"] in names}


def droplet_engine(cloud, name: str) -> DropletEngine:
    engines = fleet_engines(cloud, [name])
    assert name in engines, "no droplet %s in the fleet" % name
    return engines[name]


def cloud_id(cloud) -> str:
    return json.loads((cloud.config_dir / "localcloud" / "cloud.json").read_text())["cloud_id"]


def droplet_console(cloud, name: str) -> DropletEngine:
    """The droplet's engine through its container on the host (reaches a droplet cut off the network)."""
    found = docker.from_env().containers.list(filters={"label": ["pcloud.cloud=" + cloud_id(cloud),
                                                                 "pcloud.droplet.name=" + name]})
    assert len(found) == 1, (name, found)
    return DropletEngine(name, "", console=found[0].id)


def fleet_containers(cloud, *labels: str, all: bool = False) -> List[Tuple[DropletEngine, Dict[str, Any]]]:  # noqa: A002
    """(droplet, ``docker inspect``) of every container with every ``label`` on every droplet of the fleet."""
    return [(engine, info) for _name, engine in sorted(fleet_engines(cloud).items())
            for info in engine.containers(*labels, all=all)]


def host_service_containers(cloud) -> List[str]:
    """Names of the containers on the host's engine that look like this cloud's services (labelled as a pcloud
    service, or named after one of its droplets) and are not droplets: there must be none. Another cloud's
    containers on the same machine (labelled with its own cloud id) are not this cloud's business."""
    ours = cloud_id(cloud)
    droplets = [d["name"] for d in cloud.request("GET", "/droplets?per_page=200")[1]["droplets"]]
    out = []
    for container in docker.from_env().containers.list(all=True):
        labels = container.labels or {}
        if "pcloud.droplet.id" in labels or labels.get("pcloud.cloud", ours) != ours:
            continue
        if "pcloud.service" in labels or any(container.name.startswith(prefix + "-") for d in droplets
                                             for prefix in (d, "%s-%s" % (TEST_NAME, d))):
            out.append(container.name)
    return out


def fresh_env_without_provider():
    env = dict(os.environ)
    for var in ("DO_API_TOKEN", "DIGITALOCEAN_TOKEN", "PCLOUD_API_URL", "PCLOUD_API_TOKEN"):
        env.pop(var, None)
    return env
