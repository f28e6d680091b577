"""Docker side of the local cloud: droplets are containers on one user-defined network.

A droplet container runs sshd under tini with the host's Docker socket mounted; apps are sibling
containers in its network namespace (``network_mode: container:<droplet>``), so removing a
droplet removes them too, and a firewall applied with iptables in that namespace covers them.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any, Dict, List, Optional, Tuple

import docker
import docker.errors

from pcloud import _collection  # noqa: F401
from pcloud.localcloud.catalog import container_limits

from ansible_collections.pcloud.infra.plugins.module_utils.hostkeys import (  # isort: skip
    HostKeyError,
    host_keys_from_user_data,
)

BASE_IMAGE = "pcloud/debian-base:bookworm"
DROPLET_IMAGE = "pcloud/droplet:bookworm"
SNAPSHOT_REPO = "pcloud/snapshot"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
SSH_READY_TIMEOUT = 60.0
LABEL_CLOUD = "pcloud.cloud"
LABEL_ID = "pcloud.droplet.id"
LABEL_NAME = "pcloud.droplet.name"
LABEL_CONTEXT = "pcloud.image.context"  # sha256 of the files an image was built from: rebuilt when they change
# droplet-init moves host keys staged here into /etc/ssh at boot, over the image's or the snapshot's keys
HOST_KEY_STAGING = "/etc/ssh/pcloud-host-keys"


class EngineError(Exception):
    pass


@dataclass(frozen=True)
class CloudConfig:
    name: str
    cloud_id: str
    network: str
    subnet: str

    @property
    def gateway(self) -> str:
        return str(next(ipaddress.ip_network(self.subnet).hosts()))

    @property
    def netmask(self) -> str:
        return str(ipaddress.ip_network(self.subnet).netmask)


def docker_client() -> docker.DockerClient:
    try:
        client = docker.from_env(timeout=120)
        client.ping()
        return client
    except docker.errors.DockerException as exc:
        raise EngineError("the Docker engine does not answer (%s); run 'pcloud local up'" % exc) from None


def host_key_files(user_data: Any) -> Tuple[Dict[str, str], Optional[str]]:
    """The host key files a droplet's cloud-config ``user_data`` asks for (``ssh_keys``, as cloud-init applies
    them), and the sha256 of the user_data (all the local cloud keeps of it: it holds private keys).
    ValueError, with a message fit for an API answer and free of key material, when it is malformed."""
    try:
        files = host_keys_from_user_data(user_data)
    except HostKeyError as exc:
        raise ValueError("user_data: %s." % exc.message.rstrip(".")) from None
    digest = hashlib.sha256(user_data.encode("utf-8")).hexdigest() if isinstance(user_data, str) and user_data else None
    return files, digest


# --------------------------------------------------------------------------- images


def ensure_images(client: docker.DockerClient, log=print) -> None:
    """Build the template (debootstrap + import) and the droplet image when they are absent."""
    if not _has_image(client, BASE_IMAGE):
        if not shutil.which("debootstrap"):
            raise EngineError("debootstrap is missing: apt-get install debootstrap")
        log("building %s with debootstrap (about 40 s)" % BASE_IMAGE)
        with tempfile.TemporaryDirectory(prefix="pcloud-rootfs-") as rootfs:
            subprocess.run(["debootstrap", "--variant=minbase", "--include=python3", "bookworm", rootfs,
                            DEBIAN_MIRROR], check=True, stdout=subprocess.DEVNULL)
            tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
            subprocess.run(["docker", "import", "-", BASE_IMAGE], stdin=tar.stdout, check=True,
                           stdout=subprocess.DEVNULL)
            if tar.wait() != 0:
                raise EngineError("tar of the debootstrap rootfs failed")
    droplet_context = resources.files("pcloud.localcloud") / "droplet"
    digest = _context_digest(droplet_context)
    if _image_label(client, DROPLET_IMAGE, LABEL_CONTEXT) != digest:  # absent, or built from other files
        log("building %s" % DROPLET_IMAGE)
        docker_cli = shutil.which("docker")
        if not docker_cli:
            raise EngineError("the docker CLI is missing: apt-get install docker.io")
        _build(client, DROPLET_IMAGE, droplet_context, extra={"docker": os.path.realpath(docker_cli)},
               labels={LABEL_CONTEXT: digest})


# Service images built from Debian packages on first use (the DigitalOcean provider uses registry images).
SERVICE_IMAGES = ("python", "postgres", "redis", "nginx", "agent")


def service_image(name: str) -> str:
    return "pcloud/%s:bookworm" % name


def ensure_service_image(client: docker.DockerClient, name: str, log=print) -> str:
    """``pcloud/<name>:bookworm``, built from ``images/<name>`` on the template image when absent."""
    if name not in SERVICE_IMAGES:
        raise EngineError("unknown service image %r (known: %s)" % (name, ", ".join(SERVICE_IMAGES)))
    ref = service_image(name)
    if not _has_image(client, ref):
        ensure_images(client, log)
        log("building %s" % ref)
        _build(client, ref, resources.files("pcloud.localcloud") / "images" / name)
    return ref


def _context_digest(source: Any) -> str:
    """sha256 over the names and contents of a packaged build context (its files, not the extra host files)."""
    digest = hashlib.sha256()
    for item in sorted((i for i in source.iterdir() if i.is_file()), key=lambda i: i.name):
        data = item.read_bytes()
        digest.update(b"%s\0%d\0" % (item.name.encode(), len(data)))
        digest.update(data)
    return digest.hexdigest()


def _image_label(client: docker.DockerClient, ref: str, label: str) -> Optional[str]:
    """A label of a local image; None when the image is absent or has no such label."""
    try:
        return ((client.images.get(ref).attrs.get("Config") or {}).get("Labels") or {}).get(label)
    except docker.errors.ImageNotFound:
        return None


def _build(client: docker.DockerClient, tag: str, source: Any, extra: Optional[Dict[str, str]] = None,
           labels: Optional[Dict[str, str]] = None) -> None:
    """docker build of a packaged context (plus extra host files), FROM the template image, never pulling."""
    with tempfile.TemporaryDirectory(prefix="pcloud-build-") as ctx:
        for item in source.iterdir():
            if item.is_file():
                with open(os.path.join(ctx, item.name), "wb") as handle:
                    handle.write(item.read_bytes())
        for name, path in (extra or {}).items():
            shutil.copy(path, os.path.join(ctx, name))
        try:
            client.images.build(path=ctx, tag=tag, buildargs={"BASE_IMAGE": BASE_IMAGE}, rm=True, pull=False,
                                labels=labels or {})
        except docker.errors.BuildError as exc:
            tail = " | ".join(str(line.get("stream", "")).strip() for line in exc.build_log if line.get("stream"))[-600:]
            raise EngineError("building %s failed: %s (%s)" % (tag, exc.msg, tail)) from None


def _has_image(client: docker.DockerClient, ref: str) -> bool:
    try:
        client.images.get(ref)
        return True
    except docker.errors.ImageNotFound:
        return False


# --------------------------------------------------------------------------- network


def ensure_network(client: docker.DockerClient, cloud: CloudConfig) -> None:
    try:
        net = client.networks.get(cloud.network)
    except docker.errors.NotFound:
        pool = docker.types.IPAMPool(subnet=cloud.subnet, gateway=cloud.gateway)
        client.networks.create(cloud.network, driver="bridge", ipam=docker.types.IPAMConfig(pool_configs=[pool]),
                               labels={LABEL_CLOUD: cloud.cloud_id})
        return
    owner = (net.attrs.get("Labels") or {}).get(LABEL_CLOUD)
    if owner != cloud.cloud_id:
        raise EngineError("network %r belongs to another local cloud (id %s); stop that one with 'pcloud local down "
                          "--purge' in its config dir, or give this one --network and --subnet" % (cloud.network, owner))
    subnets = [c.get("Subnet") for c in (net.attrs.get("IPAM") or {}).get("Config") or ()]
    if cloud.subnet not in subnets:
        raise EngineError("network %r exists with subnet %s, not %s; remove it or choose another name"
                          % (cloud.network, ", ".join(s for s in subnets if s) or "?", cloud.subnet))


def remove_network(client: docker.DockerClient, cloud: CloudConfig) -> None:
    try:
        client.networks.get(cloud.network).remove()
    except docker.errors.NotFound:
        pass


# --------------------------------------------------------------------------- droplets


class Engine:
    def __init__(self, client: docker.DockerClient, cloud: CloudConfig) -> None:
        self.client = client
        self.cloud = cloud
        self.host_cpus = os.cpu_count() or 1

    def container_name(self, droplet_id: int, name: str) -> str:
        return "%s-%s-%d" % (self.cloud.name, name, droplet_id)

    def create(self, droplet_id: int, name: str, size: str, ip: str, image: str, authorized_keys: str,
               host_keys: Optional[Dict[str, str]] = None) -> str:
        """Create and start a droplet container; returns its id once sshd answers. ``host_keys`` (file name in
        /etc/ssh -> content, from the user_data) replace the droplet's own host keys at boot, as cloud-init does."""
        limits = container_limits(size, self.host_cpus)
        networking = self.client.api.create_networking_config(
            {self.cloud.network: self.client.api.create_endpoint_config(ipv4_address=ip)})
        host_config = self.client.api.create_host_config(
            binds=["/var/run/docker.sock:/var/run/docker.sock"], cap_add=["NET_ADMIN"],
            nano_cpus=limits["nano_cpus"], mem_limit=limits["mem_limit"],
            restart_policy={"Name": "unless-stopped"}, network_mode=self.cloud.network)
        created = self.client.api.create_container(
            image, name=self.container_name(droplet_id, name), hostname=name, detach=True,
            environment={"PCLOUD_DROPLET_ID": str(droplet_id)}, host_config=host_config,
            networking_config=networking,
            labels={LABEL_CLOUD: self.cloud.cloud_id, LABEL_ID: str(droplet_id), LABEL_NAME: name})
        container_id = created["Id"]
        self._put_file(container_id, "/root/.ssh", "authorized_keys", authorized_keys.encode(), 0o600)
        if host_keys:
            staging = os.path.basename(HOST_KEY_STAGING)
            self._put_files(container_id, os.path.dirname(HOST_KEY_STAGING), {staging: None, **{
                "%s/%s" % (staging, path): (content.encode(), 0o644 if path.endswith(".pub") else 0o600)
                for path, content in sorted(host_keys.items())}})
        # What roles need to know about the droplet they run on: apps join this container's network namespace.
        metadata = {"id": droplet_id, "name": name, "container": self.container_name(droplet_id, name),
                    "cloud": self.cloud.name, "cloud_id": self.cloud.cloud_id, "provider": "local", "ip": ip}
        self._put_file(container_id, "/etc", "pcloud-droplet.json", json.dumps(metadata).encode(), 0o644)
        self.client.api.start(container_id)
        self.wait_ssh(ip)
        return container_id

    def _put_file(self, container_id: str, directory: str, name: str, data: bytes, mode: int) -> None:
        self._put_files(container_id, directory, {name: (data, mode)})

    def _put_files(self, container_id: str, directory: str, files: Dict[str, Optional[Tuple[bytes, int]]]) -> None:
        """Copy files (relative name -> (data, mode); None for a 0700 directory) into ``directory``, root-owned."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for name, item in files.items():
                info = tarfile.TarInfo(name)
                info.mtime = int(time.time())
                if item is None:
                    info.type, info.mode = tarfile.DIRTYPE, 0o700
                    tar.addfile(info)
                else:
                    data, mode = item
                    info.size, info.mode = len(data), mode
                    tar.addfile(info, io.BytesIO(data))
        self.client.api.put_archive(container_id, directory, buf.getvalue())

    @staticmethod
    def wait_ssh(ip: str, timeout: float = SSH_READY_TIMEOUT) -> None:
        """Return when sshd on ip:22 sends its banner."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection((ip, 22), timeout=2) as sock:
                    if sock.recv(64).startswith(b"SSH-"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise EngineError("droplet at %s did not answer SSH within %d s" % (ip, timeout))
            time.sleep(0.05)

    def exists(self, container_id: str) -> Optional[str]:
        """The container's state ('running', 'exited', ...) or None when it is gone."""
        try:
            return self.client.api.inspect_container(container_id)["State"]["Status"]
        except docker.errors.NotFound:
            return None

    def siblings(self, container_id: str) -> List[Dict[str, Any]]:
        """Containers running in the droplet's network namespace."""
        out = []
        for item in self.client.api.containers(all=True):
            info = self.client.api.inspect_container(item["Id"])
            if info["HostConfig"].get("NetworkMode") in ("container:%s" % container_id,):
                out.append(info)
        return out

    def delete(self, container_id: str) -> None:
        for sibling in self.siblings(container_id):
            self.client.api.remove_container(sibling["Id"], force=True, v=True)
        try:
            self.client.api.remove_container(container_id, force=True, v=True)
        except docker.errors.NotFound:
            pass

    def power_off(self, container_id: str, graceful: bool) -> None:
        self.client.api.stop(container_id, timeout=10 if graceful else 0)

    def power_on(self, container_id: str, ip: str) -> None:
        self.client.api.start(container_id)
        self.wait_ssh(ip)

    def reboot(self, container_id: str, ip: str) -> None:
        self.client.api.restart(container_id, timeout=5)
        self.wait_ssh(ip)

    def resize(self, container_id: str, size: str) -> None:
        limits = container_limits(size, self.host_cpus)
        self.client.api.update_container(container_id, cpu_period=100000,
                                         cpu_quota=limits["nano_cpus"] // 10000, mem_limit=limits["mem_limit"],
                                         memswap_limit=-1)

    def snapshot(self, container_id: str, snapshot_id: int) -> Dict[str, Any]:
        """Commit the droplet (its environment is only the droplet id) and record its sibling containers."""
        siblings = [{"name": s["Name"].lstrip("/"), "image": s["Config"]["Image"], "labels": s["Config"]["Labels"],
                     "command": s["Config"].get("Cmd")} for s in self.siblings(container_id)]
        tag = "%s-%s" % (self.cloud.cloud_id, snapshot_id)  # clouds on one engine number their snapshots alike
        self.client.api.commit(container_id, repository=SNAPSHOT_REPO, tag=tag,
                               changes=["ENV PCLOUD_DROPLET_ID="], message="pcloud snapshot %s" % tag)
        size = self.client.api.inspect_image("%s:%s" % (SNAPSHOT_REPO, tag)).get("Size", 0)
        return {"image": "%s:%s" % (SNAPSHOT_REPO, tag), "siblings": siblings, "size_gigabytes": round(size / 1e9, 2)}

    def remove_image(self, ref: str) -> None:
        try:
            self.client.api.remove_image(ref, force=True)
        except docker.errors.ImageNotFound:
            pass

    def apply_firewall(self, container_id: str, rules: str) -> None:
        self._put_file(container_id, "/run", "pcloud-firewall.rules", rules.encode(), 0o600)
        result = self.client.api.exec_create(container_id, ["iptables-restore", "/run/pcloud-firewall.rules"])
        output = self.client.api.exec_start(result["Id"])
        code = self.client.api.exec_inspect(result["Id"])["ExitCode"]
        if code != 0:
            raise EngineError("iptables-restore failed in droplet %s: %s" % (container_id[:12], output.decode()[:300]))

    def remove_volumes(self) -> List[str]:
        """Named volumes the roles made for this cloud's droplets (labelled with the cloud id)."""
        removed = []
        for volume in self.client.volumes.list(filters={"label": "%s=%s" % (LABEL_CLOUD, self.cloud.cloud_id)}):
            volume.remove(force=True)
            removed.append(volume.name)
        return removed

    def ours(self) -> List[Dict[str, Any]]:
        return self.client.api.containers(all=True, filters={"label": "%s=%s" % (LABEL_CLOUD, self.cloud.cloud_id)})
