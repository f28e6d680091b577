"""Docker side of the local cloud: droplets are containers on one user-defined network.

A droplet container runs sshd under tini and its **own** Docker engine (Debian's dockerd, started by
droplet-init), with ``/var/lib/docker`` on a per-droplet volume: services run inside the droplet's engine
exactly as on a DigitalOcean droplet (platform daemons with host networking, apps on a bridge network with their
port published), so the droplet's iptables firewall covers them and removing the droplet removes them.
A new droplet's volume starts as a copy of the *template* volume (the
platform images preloaded, as in a custom DigitalOcean image); a snapshot copies the volume too, so a droplet
restored from it starts with its images and data. Nothing reaches the host's engine from inside a droplet.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
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
LABEL_VOLUME = "pcloud.droplet.volume"  # the droplet's /var/lib/docker volume (or a snapshot's copy of it)
LABEL_TEMPLATE = "pcloud.template"  # digest of the images preloaded into the template volume
TEMPLATE_VOLUME = "pcloud-template-docker"
# What a droplet's container needs to run its own engine here (measured; --privileged is refused on these
# machines because CAP_SYS_RESOURCE cannot be granted): every other capability, no seccomp/apparmor filter,
# a private cgroup namespace (droplet-init remounts the cgroup v1 controllers read-write inside it).
DROPLET_CAPS = {"cap_add": ["ALL"], "cap_drop": ["SYS_RESOURCE"],
                "security_opt": ["seccomp=unconfined", "apparmor=unconfined"], "cgroupns": "private",
                # the droplet's engine routes its bridge networks (published ports, egress), as a droplet's kernel does
                "sysctls": {"net.ipv4.ip_forward": "1"}}
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
SERVICE_IMAGES = ("python", "postgres", "redis", "nginx", "agent", "registry")


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


def ensure_template_volume(client: docker.DockerClient, log=print) -> str:
    """The volume every new droplet's /var/lib/docker starts from: an engine with the platform images loaded
    (the local cloud's equivalent of a custom image with Docker and images preinstalled). Built once per set of
    image ids (about 30 s), by a droplet container that loads ``docker save`` of the images."""
    refs = [BASE_IMAGE] + [service_image(name) for name in SERVICE_IMAGES]
    digest = hashlib.sha256(("\0".join([client.images.get(DROPLET_IMAGE).id] +
                                         [client.images.get(ref).id for ref in refs])).encode()).hexdigest()
    try:
        volume = client.volumes.get(TEMPLATE_VOLUME)
        if (volume.attrs.get("Labels") or {}).get(LABEL_TEMPLATE) == digest:
            return TEMPLATE_VOLUME
        volume.remove(force=True)
    except docker.errors.NotFound:
        pass
    log("preloading the platform images into the droplet template (about 30 s, once)")
    staging = "%s-staging" % TEMPLATE_VOLUME
    _remove_quietly(client, staging)
    client.volumes.create(staging)
    builder = client.api.create_container(
        DROPLET_IMAGE, name="pcloud-template-builder-%d" % os.getpid(), detach=True,
        host_config=client.api.create_host_config(binds=["%s:/var/lib/docker" % staging], network_mode="none",
                                                  **DROPLET_CAPS))["Id"]
    try:
        client.api.start(builder)
        _wait_engine(client, builder)
        save = subprocess.Popen(["docker", "save", *refs], stdout=subprocess.PIPE)
        loaded = subprocess.run(["docker", "exec", "-i", builder, "docker", "load", "-q"], stdin=save.stdout,
                                capture_output=True, check=False)
        if save.wait() != 0 or loaded.returncode != 0:
            raise EngineError("preloading the template failed: %s" % loaded.stderr.decode(errors="replace")[-300:])
        client.api.stop(builder, timeout=20)
    finally:
        client.api.remove_container(builder, force=True)
    client.volumes.create(TEMPLATE_VOLUME, labels={LABEL_TEMPLATE: digest})
    _copy_volume(client, staging, TEMPLATE_VOLUME)
    client.volumes.get(staging).remove(force=True)
    return TEMPLATE_VOLUME


def _wait_engine(client: docker.DockerClient, container_id: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.api.exec_create(container_id, ["docker", "version"])
        client.api.exec_start(run["Id"])
        if client.api.exec_inspect(run["Id"])["ExitCode"] == 0:
            return
        time.sleep(0.2)
    raise EngineError("the droplet engine in %s did not start within %d s" % (container_id[:12], timeout))


def _copy_volume(client: docker.DockerClient, source: str, target: str, link_layers: bool = False) -> None:
    """cp -a of one volume into another (overlay2 layers keep their whiteouts and xattrs). ``link_layers``, only for
    a source nobody runs containers from (the template, whose overlay2 holds image layers that no engine writes in
    place): the new volume shares those files as hard links (a fraction of a second instead of seconds per GB) and
    copies the rest (the engine's own databases). Done on the host when its volume directories are reachable
    (the local cloud runs as root next to its engine), else in a short container."""
    paths = [client.volumes.get(name).attrs.get("Mountpoint") or "" for name in (source, target)]
    if all(os.path.isdir(path) for path in paths):
        src, dst = paths
        if link_layers and os.path.isdir(os.path.join(src, "overlay2")):
            _run_cp(["cp", "-al", os.path.join(src, "overlay2"), dst])
            for entry in sorted(os.listdir(src)):
                if entry != "overlay2":
                    _run_cp(["cp", "-a", os.path.join(src, entry), dst])
        else:
            _run_cp(["cp", "-a", src + "/.", dst + "/"])
        return
    client.containers.run(DROPLET_IMAGE, ["cp", "-a", "/from/.", "/to/"], entrypoint=[], remove=True,
                          network_mode="none", cap_add=["SYS_ADMIN"],
                          volumes={source: {"bind": "/from", "mode": "ro"}, target: {"bind": "/to", "mode": "rw"}})


def _run_cp(command: List[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise EngineError("copying a droplet volume failed: %s" % done.stderr.strip()[-300:])


def _remove_quietly(client: docker.DockerClient, volume: str) -> None:
    try:
        client.volumes.get(volume).remove(force=True)
    except docker.errors.NotFound:
        pass


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

    def volume_name(self, droplet_id: int, name: str) -> str:
        return "%s-docker" % self.container_name(droplet_id, name)

    def create(self, droplet_id: int, name: str, size: str, ip: str, image: str, authorized_keys: str,
               host_keys: Optional[Dict[str, str]] = None, seed_volume: str = TEMPLATE_VOLUME) -> str:
        """Create and start a droplet container; returns its id once sshd (and so its engine) answers.
        ``host_keys`` (file name in /etc/ssh -> content, from the user_data) replace the droplet's own host keys
        at boot, as cloud-init does. Its /var/lib/docker volume starts as a copy of ``seed_volume`` (the template,
        or the volume of the snapshot the droplet is made from)."""
        limits = container_limits(size, self.host_cpus)
        volume = self.volume_name(droplet_id, name)
        _remove_quietly(self.client, volume)
        self.client.volumes.create(volume, labels={LABEL_CLOUD: self.cloud.cloud_id, LABEL_ID: str(droplet_id)})
        _copy_volume(self.client, seed_volume, volume, link_layers=seed_volume == TEMPLATE_VOLUME)
        networking = self.client.api.create_networking_config(
            {self.cloud.network: self.client.api.create_endpoint_config(ipv4_address=ip)})
        host_config = self.client.api.create_host_config(
            binds=["%s:/var/lib/docker" % volume], nano_cpus=limits["nano_cpus"], mem_limit=limits["mem_limit"],
            restart_policy={"Name": "unless-stopped"}, network_mode=self.cloud.network, **DROPLET_CAPS)
        created = self.client.api.create_container(
            image, name=self.container_name(droplet_id, name), hostname=name, detach=True,
            environment={"PCLOUD_DROPLET_ID": str(droplet_id)}, host_config=host_config,
            networking_config=networking,
            labels={LABEL_CLOUD: self.cloud.cloud_id, LABEL_ID: str(droplet_id), LABEL_NAME: name,
                    LABEL_VOLUME: volume})
        container_id = created["Id"]
        self._put_file(container_id, "/root/.ssh", "authorized_keys", authorized_keys.encode(), 0o600)
        if host_keys:
            staging = os.path.basename(HOST_KEY_STAGING)
            self._put_files(container_id, os.path.dirname(HOST_KEY_STAGING), {staging: None, **{
                "%s/%s" % (staging, path): (content.encode(), 0o644 if path.endswith(".pub") else 0o600)
                for path, content in sorted(host_keys.items())}})
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

    def delete(self, container_id: str) -> None:
        """Remove the droplet and its volume (its engine's images, containers and data go with it)."""
        try:
            volume = (self.client.api.inspect_container(container_id)["Config"].get("Labels") or {}).get(LABEL_VOLUME)
            self.client.api.remove_container(container_id, force=True, v=True)
        except docker.errors.NotFound:
            return
        if volume:
            _remove_quietly(self.client, volume)

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
        """Commit the droplet's root filesystem (its environment is only the droplet id) and copy its engine's
        volume (images, containers, data), as a DigitalOcean snapshot holds the whole disk of a live droplet."""
        tag = "%s-%s" % (self.cloud.cloud_id, snapshot_id)  # clouds on one engine number their snapshots alike
        self.client.api.commit(container_id, repository=SNAPSHOT_REPO, tag=tag,
                               changes=["ENV PCLOUD_DROPLET_ID="], message="pcloud snapshot %s" % tag)
        size = self.client.api.inspect_image("%s:%s" % (SNAPSHOT_REPO, tag)).get("Size", 0)
        source = (self.client.api.inspect_container(container_id)["Config"].get("Labels") or {}).get(LABEL_VOLUME)
        volume = "%s-snapshot-%s" % (self.cloud.name, tag)
        if source:
            _remove_quietly(self.client, volume)
            self.client.volumes.create(volume, labels={LABEL_CLOUD: self.cloud.cloud_id})
            _copy_volume(self.client, source, volume)
        return {"image": "%s:%s" % (SNAPSHOT_REPO, tag), "volume": volume if source else None,
                "size_gigabytes": round(size / 1e9, 2)}

    def remove_image(self, ref: str) -> None:
        try:
            self.client.api.remove_image(ref, force=True)
        except docker.errors.ImageNotFound:
            pass

    def remove_snapshot(self, snap: Dict[str, Any]) -> None:
        """A snapshot's image and its copy of the engine volume."""
        self.remove_image(snap["image"])
        if snap.get("volume"):
            _remove_quietly(self.client, snap["volume"])

    def apply_firewall(self, container_id: str, rules: str) -> None:
        self._put_file(container_id, "/run", "pcloud-firewall.rules", rules.encode(), 0o600)
        result = self.client.api.exec_create(container_id, ["iptables-restore", "/run/pcloud-firewall.rules"])
        output = self.client.api.exec_start(result["Id"])
        code = self.client.api.exec_inspect(result["Id"])["ExitCode"]
        if code != 0:
            raise EngineError("iptables-restore failed in droplet %s: %s" % (container_id[:12], output.decode()[:300]))

    def remove_volumes(self) -> List[str]:
        """The volumes of this cloud's droplets and snapshots (labelled with the cloud id)."""
        removed = []
        for volume in self.client.volumes.list(filters={"label": "%s=%s" % (LABEL_CLOUD, self.cloud.cloud_id)}):
            volume.remove(force=True)
            removed.append(volume.name)
        return removed

    def ours(self) -> List[Dict[str, Any]]:
        return self.client.api.containers(all=True, filters={"label": "%s=%s" % (LABEL_CLOUD, self.cloud.cloud_id)})
