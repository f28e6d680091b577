"""The local cloud's API, called directly, on real containers over real SSH."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import time
import urllib.parse

import docker
import pytest

from pcloud.localcloud.engine import BASE_IMAGE, SERVICE_IMAGES, service_image

from .conftest import DropletEngine, public_ip, ssh

# What the template volume preloads into every new droplet's engine (DESIGN.md: the droplet image is a template).
PRELOADED = {BASE_IMAGE} | {service_image(name) for name in SERVICE_IMAGES}
GiB = 1024 * 1024 * 1024


def md5_fingerprint(public_key: str) -> str:
    digest = hashlib.md5(base64.b64decode(public_key.split()[1])).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, 32, 2))


@pytest.fixture(scope="module")
def key_id(cloud, fleet_key):
    public = fleet_key.with_suffix(".pub").read_text().strip()
    status, body = cloud.request("POST", "/account/keys", {"name": "api-test", "public_key": public})
    assert status == 201
    assert body["ssh_key"]["fingerprint"] == md5_fingerprint(public)
    return body["ssh_key"]["id"]


@pytest.fixture(scope="module")
def droplet(cloud, key_id):
    status, body = cloud.request("POST", "/droplets", {
        "name": "api-one", "size": "s-1vcpu-1gb", "region": "lon1", "image": "debian-12-x64", "ssh_keys": [key_id],
        "tags": ["api-test"], "vpc_uuid": None, "user_data": None, "volumes": None, "backups": False})
    assert status == 202 and body["droplet"]["status"] == "new"
    droplet_id = body["droplet"]["id"]
    status, body = cloud.request("GET", "/droplets/%d" % droplet_id)
    assert status == 200 and body["droplet"]["status"] == "active"
    yield body["droplet"]
    cloud.request("DELETE", "/droplets/%d" % droplet_id)


def test_auth_and_errors_are_json(cloud):
    status, body = cloud.request("GET", "/account", token="wrong")
    assert status == 401 and body["id"] == "unauthorized" and body["message"]
    status, body = cloud.request("GET", "/droplets/999999")
    assert status == 404 and body["id"] == "not_found"
    status, body = cloud.request("GET", "/no/such/thing")
    assert status == 404 and body["id"] == "not_found"
    status, body = cloud.request("POST", "/droplets", {"name": "x", "size": "s-99vcpu", "image": "debian-12-x64"})
    assert status == 422 and "invalid size" in body["message"]
    status, body = cloud.request("POST", "/droplets", {"name": "bad name!", "size": "s-1vcpu-1gb", "image": "debian-12-x64"})
    assert status == 422
    status, body = cloud.request("GET", "/account")
    assert status == 200 and body["account"]["status"] == "active"


def test_ssh_key_by_id_or_fingerprint(cloud, key_id, fleet_key):
    fp = md5_fingerprint(fleet_key.with_suffix(".pub").read_text())
    assert cloud.request("GET", "/account/keys/%s" % fp)[1]["ssh_key"]["id"] == key_id
    assert cloud.request("GET", "/account/keys/%d" % key_id)[1]["ssh_key"]["fingerprint"] == fp
    status, body = cloud.request("PUT", "/account/keys/%s" % fp, {"name": "renamed"})
    assert status == 200 and body["ssh_key"]["name"] == "renamed"
    status, body = cloud.request("GET", "/account/keys/00:11")
    assert status == 404 and body["id"] == "not_found"


def engine_of(droplet, fleet_key) -> DropletEngine:
    """The droplet's own Docker engine over SSH (droplets made here carry no pinned host key)."""
    return DropletEngine(droplet["name"], public_ip(droplet), fleet_key)


def test_droplet_is_a_container_reachable_over_ssh(cloud, droplet, fleet_key):
    ip = public_ip(droplet)
    assert droplet["size_slug"] == "s-1vcpu-1gb" and droplet["tags"] == ["api-test"]
    result = ssh(ip, fleet_key, "hostname && python3 -c 'import docker' && docker ps -q >/dev/null && echo ok")
    assert result.returncode == 0 and result.stdout.split() == ["api-one", "ok"], result.stderr
    client = docker.from_env()
    container = client.containers.get("pctest-api-one-%d" % droplet["id"])
    assert container.attrs["HostConfig"]["Memory"] == GiB
    assert container.attrs["Config"]["Env"].count("PCLOUD_DROPLET_ID=%d" % droplet["id"]) == 1
    # its own engine, not the host's: no socket of the host inside, /var/lib/docker on the droplet's own volume
    mounts = container.attrs["Mounts"]
    assert [(m["Type"], m["Destination"]) for m in mounts] == [("volume", "/var/lib/docker")], mounts
    assert mounts[0]["Name"] == container.labels["pcloud.droplet.volume"] == "pctest-api-one-%d-docker" % droplet["id"]
    inside = engine_of(droplet, fleet_key)
    info = json.loads(inside.docker("info", "--format", "{{json .}}").stdout)
    assert info["ID"] != client.info()["ID"] and info["Name"] == "api-one" and info["Driver"] == "overlay2", info
    assert info["Containers"] == 0  # a new droplet runs nothing


def test_a_new_droplet_engine_has_the_platform_images_before_anything_runs(droplet, fleet_key):
    """Seeded from the template volume: the base and service images are there without a pull or a build."""
    inside = engine_of(droplet, fleet_key)
    tags = {t for image in inside.images() for t in image["RepoTags"]}
    assert PRELOADED <= tags, PRELOADED - tags
    assert not inside.events("type=image")  # nothing pulled, loaded or built since the engine started


def test_the_size_limits_the_whole_droplet_and_its_containers(droplet, fleet_key):
    """s-1vcpu-1gb: the droplet's cgroup (the root of the cgroup namespace its engine sees) is limited to 1 GiB and
    one CPU, so a container of its engine that tries to hold 1.5 GiB is killed by the droplet's limit."""
    inside = engine_of(droplet, fleet_key)
    limits = inside.sh("cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us "
                       "/sys/fs/cgroup/cpu/cpu.cfs_period_us").stdout.split()
    assert [int(v) for v in limits] == [GiB, 100000, 100000], limits
    hog = inside.docker("run", "--rm", "--network", "none", BASE_IMAGE, "python3", "-c",
                        "b = bytearray(1536 * 1024 * 1024); print('held', len(b))", check=False, timeout=120)
    assert hog.returncode == 137 and "held" not in hog.stdout, (hog.returncode, hog.stdout, hog.stderr)
    assert inside.sh("docker version --format '{{.Server.Version}}'").returncode == 0  # the engine survived


def test_pagination_links_are_absolute_and_absent_on_last_page(cloud, droplet):
    status, body = cloud.request("GET", "/sizes?per_page=5")
    assert status == 200 and len(body["sizes"]) == 5 and body["meta"]["total"] > 5
    nxt = body["links"]["pages"]["next"]
    assert nxt.startswith(cloud.url + "/sizes?") and "per_page=5" in nxt and "page=2" in nxt
    last = body["links"]["pages"]["last"]
    status, body = cloud.request("GET", last[len(cloud.url):])
    assert status == 200 and "next" not in body["links"].get("pages", {})
    status, body = cloud.request("GET", "/droplets?tag_name=api-test&per_page=1")
    assert [d["name"] for d in body["droplets"]] == ["api-one"] and body["links"] == {}


def test_power_actions_complete_at_once(cloud, droplet, fleet_key):
    ip = public_ip(droplet)
    for kind, expected in (("power_off", "off"), ("power_on", "active")):
        started = time.monotonic()
        status, body = cloud.request("POST", "/droplets/%d/actions" % droplet["id"], {"type": kind})
        assert status == 201 and body["action"]["status"] == "completed"
        action_id = body["action"]["id"]
        assert cloud.request("GET", "/actions/%d" % action_id)[1]["action"]["type"] == kind
        assert cloud.request("GET", "/droplets/%d/actions/%d" % (droplet["id"], action_id))[0] == 200
        assert cloud.request("GET", "/droplets/%d" % droplet["id"])[1]["droplet"]["status"] == expected
        assert time.monotonic() - started < 15
    assert ssh(ip, fleet_key, "true").returncode == 0


def test_resize_needs_power_off(cloud, droplet):
    status, body = cloud.request("POST", "/droplets/%d/actions" % droplet["id"], {"type": "resize", "size": "s-1vcpu-2gb"})
    assert status == 422 and "powered off" in body["message"]


def test_firewall_is_enforced_in_the_droplet_namespace(cloud, droplet, fleet_key):
    ip = public_ip(droplet)
    gateway = droplet["networks"]["v4"][0]["gateway"]
    # an app in the droplet's own engine with host networking (as the roles run services), on 9000 and 9001
    inside = engine_of(droplet, fleet_key)
    inside.docker("run", "-d", "--init", "--network", "host", "--name", "api-one-app", BASE_IMAGE, "python3", "-c",
                  "import http.server,threading\n"
                  "for p in (9000, 9001):\n"
                  "    s = http.server.HTTPServer(('', p), http.server.SimpleHTTPRequestHandler)\n"
                  "    threading.Thread(target=s.serve_forever).start()\n")
    try:
        assert _wait_open(ip, 9000) and _wait_open(ip, 9001)
        status, body = cloud.request("POST", "/firewalls", {
            "name": "api-test-fw", "droplet_ids": [str(droplet["id"])], "tags": None,
            "inbound_rules": [
                {"protocol": "tcp", "ports": "22", "sources": {"addresses": [gateway], "droplet_ids": None,
                                                               "load_balancer_uids": None, "tags": None}},
                {"protocol": "tcp", "ports": "9000", "sources": {"addresses": ["0.0.0.0/0"]}}],
            "outbound_rules": [{"protocol": "tcp", "ports": "0", "destinations": {"addresses": ["0.0.0.0/0"]}}]})
        assert status == 202
        firewall = body["firewall"]
        assert firewall["droplet_ids"] == [droplet["id"]]
        assert firewall["inbound_rules"][0]["sources"] == {"addresses": [gateway], "droplet_ids": [],
                                                           "load_balancer_uids": [], "tags": []}
        assert _open(ip, 9000) and not _open(ip, 9001)
        assert ssh(ip, fleet_key, "true").returncode == 0
        status, _ = cloud.request("DELETE", "/firewalls/%s/droplets" % firewall["id"], {"droplet_ids": [droplet["id"]]})
        assert status == 204 and _open(ip, 9001)
        assert cloud.request("DELETE", "/firewalls/%s" % firewall["id"])[0] == 204
    finally:
        inside.docker("rm", "-f", "api-one-app")


def _wait_open(ip: str, port: int, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _open(ip, port):
            return True
        time.sleep(0.2)
    return False


def _open(ip: str, port: int) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=1.5):
            return True
    except OSError:
        return False


def test_snapshot_and_create_from_snapshot(cloud, droplet, key_id, fleet_key):
    """The snapshot holds the root filesystem and the engine's data: a droplet made from it starts with the images
    and containers its source had (nothing pulled), and deleting the snapshot removes its copy of the volume."""
    ip = public_ip(droplet)
    assert ssh(ip, fleet_key, "echo from-snapshot > /root/marker").returncode == 0
    source = engine_of(droplet, fleet_key)
    source.docker("tag", BASE_IMAGE, "api-test/kept:1")
    source.docker("create", "--name", "kept", "api-test/kept:1", "true")
    status, body = cloud.request("POST", "/droplets/%d/actions" % droplet["id"], {"type": "snapshot", "name": "api-snap"})
    assert status == 201
    assert cloud.request("GET", "/actions/%d" % body["action"]["id"])[1]["action"]["status"] == "completed"
    snaps = cloud.request("GET", "/snapshots?resource_type=droplet")[1]["snapshots"]
    snap = next(s for s in snaps if s["name"] == "api-snap")
    assert isinstance(snap["id"], str) and snap["resource_id"] == str(droplet["id"])
    assert int(snap["id"]) in cloud.request("GET", "/droplets/%d" % droplet["id"])[1]["droplet"]["snapshot_ids"]
    assert cloud.request("GET", "/droplets/%d/snapshots" % droplet["id"])[1]["snapshots"][0]["type"] == "snapshot"
    assert cloud.request("GET", "/images/%s" % snap["id"])[1]["image"]["type"] == "snapshot"
    client = docker.from_env()
    snapshot_volumes = {v.name for v in client.volumes.list(filters={"name": "pctest-snapshot-"})}
    assert snapshot_volumes, "the snapshot has no copy of the droplet's engine volume"
    status, body = cloud.request("POST", "/droplets", {"name": "api-copy", "size": "s-1vcpu-1gb", "region": "lon1",
                                                       "image": snap["id"], "ssh_keys": [str(key_id)]})
    assert status == 202
    copy_id = body["droplet"]["id"]
    try:
        copy = cloud.request("GET", "/droplets/%d" % copy_id)[1]["droplet"]
        result = ssh(public_ip(copy), fleet_key, "cat /root/marker; hostname")
        assert result.stdout.split() == ["from-snapshot", "api-copy"], result.stderr
        restored = engine_of(copy, fleet_key)
        assert "api-test/kept:1" in {t for image in restored.images() for t in image["RepoTags"]}
        assert [r["Names"] for r in restored.ps(all=True)] == ["kept"]
        assert not restored.events("type=image")  # there before the engine started: nothing pulled or loaded
    finally:
        assert cloud.request("DELETE", "/droplets/%d" % copy_id)[0] == 204
        source.docker("rm", "-f", "kept")
        source.docker("rmi", "api-test/kept:1")
    assert cloud.request("DELETE", "/snapshots/%s" % snap["id"])[0] == 204
    assert cloud.request("GET", "/snapshots/%s" % snap["id"])[0] == 404
    left = {v.name for v in client.volumes.list(filters={"name": "pctest-snapshot-"})}
    assert not snapshot_volumes & left, "deleting the snapshot left its volume"


def test_tags_and_vpcs_and_catalogue(cloud, droplet):
    assert cloud.request("POST", "/tags", {"name": "api-extra"})[0] == 201
    assert cloud.request("POST", "/tags", {"name": "api-extra"})[0] == 422
    resources = {"resources": [{"resource_id": str(droplet["id"]), "resource_type": "droplet"}]}
    assert cloud.request("POST", "/tags/api-extra/resources", resources)[0] == 204
    assert cloud.request("GET", "/tags/api-extra")[1]["tag"]["resources"]["count"] == 1
    assert "api-extra" in cloud.request("GET", "/droplets/%d" % droplet["id"])[1]["droplet"]["tags"]
    assert cloud.request("DELETE", "/tags/api-extra/resources", resources)[0] == 204
    assert cloud.request("DELETE", "/tags/api-extra")[0] == 204
    status, body = cloud.request("POST", "/vpcs", {"name": "api-vpc", "region": "lon1"})
    assert status == 201
    assert cloud.request("DELETE", "/vpcs/%s" % body["vpc"]["id"])[0] == 204
    regions = cloud.request("GET", "/regions?per_page=200")[1]["regions"]
    assert "lon1" in {r["slug"] for r in regions}
    images = cloud.request("GET", "/images?type=distribution")[1]["images"]
    assert "debian-12-x64" in {i["slug"] for i in images}


def test_delete_removes_the_droplet_with_its_engine_volume(cloud, key_id, fleet_key):
    """The droplet's services live in its engine, whose data is the droplet's volume: deleting the droplet removes
    the container and the volume, and with them every container and image of its engine."""
    status, body = cloud.request("POST", "/droplets", {"name": "api-gone", "size": "s-1vcpu-1gb", "region": "lon1",
                                                       "image": "debian-12-x64", "ssh_keys": [key_id], "tags": ["gone"]})
    assert status == 202
    droplet_id = body["droplet"]["id"]
    client = docker.from_env()
    container = client.containers.get("pctest-api-gone-%d" % droplet_id)
    volume = container.labels["pcloud.droplet.volume"]
    assert client.volumes.get(volume).attrs["Labels"]["pcloud.droplet.id"] == str(droplet_id)
    inside = engine_of(cloud.request("GET", "/droplets/%d" % droplet_id)[1]["droplet"], fleet_key)
    inside.docker("run", "-d", "--init", "--network", "host", "--name", "api-gone-app", BASE_IMAGE, "sleep", "300")
    assert cloud.request("DELETE", "/droplets?tag_name=gone")[0] == 204
    assert container.name not in {c.name for c in client.containers.list(all=True)}
    assert volume not in {v.name for v in client.volumes.list()}
    assert cloud.request("GET", "/droplets/%d" % droplet_id)[0] == 404


def test_contract_log_sees_responses(cloud, droplet):
    entries = cloud.contract_entries()
    assert len(entries) > 20
    paths = {urllib.parse.urlsplit(e["path"]).path for e in entries}
    assert "/v2/droplets" in paths and "/v2/account" in paths
