"""``pcloud local up|down|status``: the Docker engine, the images, the network and the server process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Dict, Optional

import docker
import docker.errors

from pcloud.localcloud import settings
from pcloud.localcloud.engine import (
    LABEL_CLOUD,
    SERVICE_IMAGES,
    SNAPSHOT_REPO,
    Engine,
    EngineError,
    docker_client,
    ensure_images,
    ensure_network,
    ensure_service_image,
    ensure_template_volume,
    remove_network,
)

DOCKERD_LOG = "/var/log/pcloud-dockerd.log"
APT_PACKAGES = ("docker.io", "debootstrap")


def _apt_install(packages, log: Callable[[str], None]) -> None:
    if os.geteuid() != 0:
        raise EngineError("missing %s; install them as root (apt-get install %s)" % (", ".join(packages), " ".join(packages)))
    log("installing %s from Debian" % ", ".join(packages))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, env=env, stdout=subprocess.DEVNULL)


def ensure_docker(log: Callable[[str], None] = print) -> docker.DockerClient:
    """A Docker engine that answers: install docker.io and start dockerd when needed."""
    try:
        return docker_client()
    except EngineError:
        pass
    missing = [p for p, exe in (("docker.io", "dockerd"), ("debootstrap", "debootstrap")) if not shutil.which(exe)]
    if missing:
        _apt_install(missing, log)
    if not os.path.exists("/var/run/docker.sock") or not _answers():
        log("starting dockerd (log: %s)" % DOCKERD_LOG)
        with open(DOCKERD_LOG, "ab") as out:
            subprocess.Popen(["dockerd"], stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if _answers():
            return docker_client()
        time.sleep(0.5)
    raise EngineError("dockerd did not answer within 60 s; see %s" % DOCKERD_LOG)


def _answers() -> bool:
    try:
        docker.from_env(timeout=5).ping()
        return True
    except docker.errors.DockerException:
        return False


def endpoint(config_dir: str) -> Optional[Dict[str, Any]]:
    try:
        with open(settings.path(config_dir, "endpoint.json"), encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    pid = data.get("pid")
    try:
        os.kill(int(pid), 0)
    except (OSError, TypeError, ValueError):
        return None
    return data


def _account_ok(url: str, token: str) -> bool:
    req = urllib.request.Request(url + "/account", headers={"Authorization": "Bearer %s" % token})
    try:
        with urllib.request.urlopen(req, timeout=3) as response:  # noqa: S310 - loopback only
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def up(config_dir: str, name: str = settings.DEFAULT_NAME, network: str = settings.DEFAULT_NETWORK,
       subnet: str = settings.DEFAULT_SUBNET, port: int = settings.DEFAULT_PORT,
       log: Callable[[str], None] = print) -> Dict[str, Any]:
    client = ensure_docker(log)
    cfg = settings.init(config_dir, name, network, subnet, port)
    ensure_images(client, log)
    for image in SERVICE_IMAGES:
        ensure_service_image(client, image, log)
    ensure_template_volume(client, log)
    ensure_network(client, cfg.cloud)
    token = settings.read_token(config_dir)
    running = endpoint(config_dir)
    if running and _account_ok(running["url"], token):
        return running
    log_path = settings.path(config_dir, "server.log")
    with open(log_path, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "pcloud.localcloud.server", "--config-dir", config_dir],
                                stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True,
                                env=dict(os.environ, NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise EngineError("the local cloud server exited with %s; see %s" % (proc.returncode, log_path))
        running = endpoint(config_dir)
        if running and running.get("pid") == proc.pid and _account_ok(running["url"], token):
            return running
        time.sleep(0.1)
    proc.terminate()
    raise EngineError("the local cloud server did not answer within 30 s; see %s" % log_path)


def down(config_dir: str, purge: bool = False, log: Callable[[str], None] = print) -> None:
    running = endpoint(config_dir)
    if running:
        os.kill(int(running["pid"]), signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and endpoint(config_dir):
            time.sleep(0.1)
        log("stopped the local cloud server (pid %s)" % running["pid"])
    if not purge:
        return
    try:
        cfg = settings.load(config_dir)
    except FileNotFoundError:
        return
    client = docker_client()
    engine = Engine(client, cfg.cloud)
    for container in engine.ours():
        engine.delete(container["Id"])
        log("removed droplet container %s" % container["Names"][0].lstrip("/"))
    for volume in engine.remove_volumes():
        log("removed volume %s" % volume)
    state_path = settings.path(config_dir, "state.json")
    if os.path.exists(state_path):
        with open(state_path, encoding="utf-8") as handle:
            snaps = json.load(handle).get("snapshots", {})
        for snap in snaps.values():
            engine.remove_snapshot(dict(snap, image=snap.get("image", "%s:%s" % (SNAPSHOT_REPO, snap["id"]))))
        os.unlink(state_path)
    remove_network(client, cfg.cloud)
    log("removed network %s and the local cloud's state" % cfg.cloud.network)


def purge_orphan(network: str, name: str, log: Callable[[str], None] = print) -> None:
    """Remove what a local cloud left on ``network`` when its config dir and server are gone (a killed test run):
    the containers and volumes labelled with its id or named ``<name>-...``, its snapshot images, the network.
    Only a network a local cloud made (it carries the cloud label) is touched."""
    client = ensure_docker(log)
    try:
        net = client.networks.get(network)
    except docker.errors.NotFound:
        return
    owner = (net.attrs.get("Labels") or {}).get(LABEL_CLOUD)
    if not owner:
        raise EngineError("network %r was not made by a local cloud; not touching it" % network)
    prefix = name + "-"
    for container in client.containers.list(all=True):
        labels = container.labels or {}
        if labels.get(LABEL_CLOUD) == owner or container.name.startswith(prefix):
            container.remove(force=True, v=True)
            log("removed leftover container %s" % container.name)
    for volume in client.volumes.list():
        if (volume.attrs.get("Labels") or {}).get(LABEL_CLOUD) == owner or volume.name.startswith(prefix):
            volume.remove(force=True)
            log("removed leftover volume %s" % volume.name)
    for image in client.images.list(name=SNAPSHOT_REPO):
        for tag in image.tags:
            if tag.startswith("%s:%s-" % (SNAPSHOT_REPO, owner)):
                client.api.remove_image(tag, force=True)
    net.remove()
    log("removed leftover network %s (local cloud %s)" % (network, owner))


def status(config_dir: str) -> Dict[str, Any]:
    running = endpoint(config_dir)
    out: Dict[str, Any] = {"running": bool(running), "url": running["url"] if running else None}
    try:
        cfg = settings.load(config_dir)
        out.update(network=cfg.cloud.network, subnet=cfg.cloud.subnet, gateway=cfg.cloud.gateway)
        client = docker.from_env(timeout=5)
        out["droplet_containers"] = len(client.api.containers(
            all=True, filters={"label": "%s=%s" % (LABEL_CLOUD, cfg.cloud.cloud_id)}))
    except (OSError, ValueError, KeyError, docker.errors.DockerException):
        out.setdefault("droplet_containers", None)
    return out
