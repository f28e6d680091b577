"""Pinned SSH host keys and private control sockets on real droplets (issue 10, items 14 and 15).

The control node generates each droplet's host key and hands it over in cloud-init user_data; the local cloud
installs it, config/ssh/known_hosts pins it, and every connection checks it strictly. A changed key stops the
next run with a message that names the droplet.
"""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import tarfile
import time

import docker
import pytest

from ..conftest import REPO, VENV_BIN
from .conftest import pcloud, public_ip, ssh

pytestmark = pytest.mark.usefixtures("cloud")
SHARED_CP = "/tmp/.pcloud-ansible-cp"  # where control sockets lived before


def quiet_env(cloud):
    """This module rebuilds, re-keys and reboots keys-web1 on purpose: its agents must not replace it meanwhile
    (an automatic recovery would hold the config dir lock and rebuild the droplet under the test)."""
    return cloud.env(PCLOUD_AUTO_RECOVER="0")


def run(cloud, *args, check=True):
    return pcloud("--config-dir", str(cloud.config_dir), *args, env=quiet_env(cloud), check=check)


def droplets(cloud):
    status, body = cloud.request("GET", "/droplets?tag_name=pcloud&per_page=200")
    assert status == 200
    return {d["name"]: d for d in body["droplets"]}


def keyscan(ip):
    out = subprocess.run(["ssh-keyscan", "-T", "10", ip], capture_output=True, text=True, check=False).stdout
    return sorted(" ".join(line.split()[1:3]) for line in out.splitlines() if line and not line.startswith("#"))


def pinned(cloud, name):
    return " ".join((cloud.config_dir / "ssh" / "hosts" / (name + ".pub")).read_text().split()[:2])


def known_hosts(cloud):
    lines = (cloud.config_dir / "ssh" / "known_hosts").read_text().splitlines()
    return {line.split()[0]: " ".join(line.split()[1:3]) for line in lines if line and not line.startswith("#")}


def ansible_ping(cloud, *extra):
    return subprocess.run([str(VENV_BIN / "ansible"), "all", "-i", "inventory/pcloud.yml", "-m", "ansible.builtin.ping",
                           "-o", *extra], capture_output=True, text=True, env=quiet_env(cloud), cwd=REPO, check=False)


def container(cloud, name):
    client = docker.from_env()
    droplet = droplets(cloud)[name]
    found = client.containers.list(filters={"label": "pcloud.droplet.id=%d" % droplet["id"]})
    assert len(found) == 1
    return found[0]


def reboot(cloud, name):
    droplet_id = droplets(cloud)[name]["id"]
    status, _ = cloud.request("POST", "/droplets/%d/actions" % droplet_id, {"type": "reboot"})
    assert status == 201


def put_host_key(box, private: bytes, public: bytes):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data, mode in (("ssh_host_ed25519_key", private, 0o600), ("ssh_host_ed25519_key.pub", public, 0o644)):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    box.exec_run(["sh", "-c", "rm -f /etc/ssh/ssh_host_*"])
    box.put_archive("/etc/ssh", buf.getvalue())


@pytest.fixture(scope="module")
def pinned_fleet(cloud):
    assert cloud.request("DELETE", "/droplets?tag_name=pcloud")[0] == 204
    (cloud.config_dir / "infrastructure.json").unlink(missing_ok=True)
    run(cloud, "init")
    (cloud.config_dir / "projects.csv").write_text("Project,Servers,MasterSpec,WebSpec\nkeys,2,s-1vcpu-1gb,s-1vcpu-1gb\n")
    shared_before = sorted(os.listdir(SHARED_CP)) if os.path.isdir(SHARED_CP) else None
    result = run(cloud, "orchestrate", "--json")
    assert json.loads(result.stdout)["status"] == "successful"
    return cloud, shared_before


def test_orchestrate_pins_the_host_key_each_droplet_presents(pinned_fleet):
    cloud, _ = pinned_fleet
    fleet = droplets(cloud)
    assert set(fleet) == {"pcloud-master", "keys-web1"}
    pins = known_hosts(cloud)
    assert set(pins) == {"%s,%s" % (name, public_ip(d)) for name, d in fleet.items()}
    hosts_dir = cloud.config_dir / "ssh" / "hosts"
    assert stat.S_IMODE(hosts_dir.stat().st_mode) == 0o700
    for name, droplet in fleet.items():
        key = pinned(cloud, name)
        assert key.startswith("ssh-ed25519 ")
        assert pins["%s,%s" % (name, public_ip(droplet))] == key
        assert keyscan(public_ip(droplet)) == [key]  # the droplet presents exactly its pinned key, nothing else
        assert stat.S_IMODE((hosts_dir / name).stat().st_mode) == 0o600
    assert pinned(cloud, "pcloud-master") != pinned(cloud, "keys-web1")


def test_no_private_host_key_in_runner_artifacts_or_the_local_cloud_store(pinned_fleet):
    cloud, _ = pinned_fleet
    secrets = [line for name in ("pcloud-master", "keys-web1")
               for line in (cloud.config_dir / "ssh" / "hosts" / name).read_text().splitlines()[1:-1]]
    assert secrets
    places = [p for p in (cloud.config_dir / ".runner").rglob("*") if p.is_file()]
    places += [p for p in (cloud.config_dir / "localcloud").rglob("*") if p.is_file()]
    assert places
    for path in places:
        text = path.read_text(errors="replace")
        assert "PRIVATE KEY" not in text, path
        assert not any(line in text for line in secrets), path
    store = json.loads((cloud.config_dir / "localcloud" / "state.json").read_text())
    for record in store["droplets"].values():
        assert "user_data" not in record and len(record["user_data_sha256"]) == 64


def test_ansible_connects_with_strict_host_key_checking(pinned_fleet):
    cloud, _ = pinned_fleet
    ping = ansible_ping(cloud, "-vvv")
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert "StrictHostKeyChecking=yes" in ping.stdout
    assert "StrictHostKeyChecking=no" not in ping.stdout and "UserKnownHostsFile=/dev/null" not in ping.stdout
    key = cloud.config_dir / "ssh" / "id_ed25519"
    for name, droplet in droplets(cloud).items():  # what the README tells users to type
        result = ssh(public_ip(droplet), key, "hostname", known_hosts=cloud.config_dir / "ssh" / "known_hosts")
        assert result.returncode == 0 and result.stdout.strip() == name, result.stderr


def test_control_sockets_are_private_under_the_config_dir(pinned_fleet):
    cloud, shared_before = pinned_fleet
    assert ansible_ping(cloud).returncode == 0
    cp = cloud.config_dir / "ssh" / "cp"
    assert stat.S_IMODE(cp.stat().st_mode) == 0o700
    sockets = [p for p in cp.iterdir() if stat.S_ISSOCK(p.lstat().st_mode)]
    assert sockets, "ControlPersist keeps the masters' sockets for 60 s"
    shared_after = sorted(os.listdir(SHARED_CP)) if os.path.isdir(SHARED_CP) else None
    assert shared_after == shared_before  # nothing new in the old shared /tmp directory


def test_a_droplet_rebuilt_from_a_snapshot_gets_a_new_pinned_key(pinned_fleet):
    cloud, _ = pinned_fleet
    old = droplets(cloud)["keys-web1"]
    old_key = pinned(cloud, "keys-web1")
    status, _ = cloud.request("POST", "/droplets/%d/actions" % old["id"], {"type": "snapshot", "name": "keys-web1-snap"})
    assert status == 201
    snap = next(s for s in cloud.request("GET", "/snapshots?per_page=200")[1]["snapshots"] if s["name"] == "keys-web1-snap")
    try:
        result = subprocess.run(
            [str(VENV_BIN / "ansible-playbook"), "playbooks/orchestrate.yml", "-e",
             json.dumps({"pcloud_replace": ["keys-web1"], "pcloud_replace_images": {"keys-web1": str(snap["id"])}})],
            capture_output=True, text=True, env=quiet_env(cloud), cwd=REPO, check=False)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr
        new = droplets(cloud)["keys-web1"]
        assert new["id"] != old["id"] and new["image"]["id"] == int(snap["id"])
        new_key = pinned(cloud, "keys-web1")
        assert new_key != old_key  # re-pinned deliberately, not the snapshot's key
        assert keyscan(public_ip(new)) == [new_key]
        assert known_hosts(cloud)["keys-web1,%s" % public_ip(new)] == new_key
        assert ansible_ping(cloud).returncode == 0
    finally:
        cloud.request("DELETE", "/snapshots/%s" % snap["id"])


def test_a_changed_host_key_stops_the_next_run_naming_the_droplet(pinned_fleet, tmp_path):
    cloud, _ = pinned_fleet
    box = container(cloud, "keys-web1")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "evil")], check=True)
    put_host_key(box, (tmp_path / "evil").read_bytes(), (tmp_path / "evil.pub").read_bytes())
    reboot(cloud, "keys-web1")
    ip = public_ip(droplets(cloud)["keys-web1"])
    assert keyscan(ip) != [pinned(cloud, "keys-web1")]
    try:
        result = run(cloud, "orchestrate", check=False)
        assert result.returncode != 0
        out = result.stdout + result.stderr
        assert "SSH host key of droplet keys-web1 (%s) has changed" % ip in out, out
        ping = ansible_ping(cloud)
        assert ping.returncode != 0
        assert "keys-web1 | UNREACHABLE" in ping.stdout and "Host key for keys-web1 has changed" in ping.stdout, \
            ping.stdout
        assert "pcloud-master | SUCCESS" in ping.stdout  # only the changed droplet is refused
    finally:
        hosts = cloud.config_dir / "ssh" / "hosts"
        put_host_key(box, (hosts / "keys-web1").read_bytes(), (hosts / "keys-web1.pub").read_bytes())
        reboot(cloud, "keys-web1")
    deadline = time.monotonic() + 10
    while keyscan(ip) != [pinned(cloud, "keys-web1")] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert run(cloud, "orchestrate", check=False).returncode == 0


def test_a_droplet_without_a_pinned_key_is_refused_until_adopted(pinned_fleet):
    """A droplet made before pcloud pinned host keys: refused, then pinned on first use only when asked."""
    cloud, _ = pinned_fleet
    hosts = cloud.config_dir / "ssh" / "hosts"
    presented = pinned(cloud, "keys-web1")
    for path in (hosts / "keys-web1", hosts / "keys-web1.pub"):
        path.unlink()
    result = run(cloud, "orchestrate", check=False)
    assert result.returncode != 0
    assert "droplet keys-web1 (%s) has no pinned SSH host key" % public_ip(droplets(cloud)["keys-web1"]) in \
        result.stdout + result.stderr
    assert not any(k.startswith("keys-web1,") for k in known_hosts(cloud))
    adopt = subprocess.run([str(VENV_BIN / "ansible-playbook"), "playbooks/orchestrate.yml", "-e",
                            "pcloud_adopt_host_keys=true"], capture_output=True, text=True, env=quiet_env(cloud), cwd=REPO,
                           check=False)
    assert adopt.returncode == 0, adopt.stdout[-3000:] + adopt.stderr
    assert "pinned the SSH host key droplet keys-web1" in adopt.stdout + adopt.stderr
    assert pinned(cloud, "keys-web1") == presented
    assert ansible_ping(cloud).returncode == 0
