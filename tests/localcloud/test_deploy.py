"""pcloud deploy of the example project on real droplets: build, data services, web services, workers,
the load balancer, secrets as files, and the UAT tag in the project's Git repository."""

from __future__ import annotations

import http.client
import http.cookiejar
import json
import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from cryptography import x509

from pcloud.loadgen import Load

from .chromium import Chromium
from .cloudflare import FakeCloudflare
from .conftest import REPO, droplet_console, droplet_engine, fleet_containers, fleet_engines, host_service_containers, pcloud
from .pebble import Pebble


@pytest.fixture(scope="module")
def deployed(cloud):
    config = cloud.config_dir
    for stale in ("deployment_config.json", ".env"):
        (config / stale).unlink(missing_ok=True)
    shutil.rmtree(config / "git", ignore_errors=True)
    pcloud("--config-dir", str(config), "init", "--example", env=cloud.env())
    (config / "projects.csv").write_text("Project,Servers,MasterSpec,WebSpec,Environments\n"
                                         "hostomatic,3,s-1vcpu-1gb,s-1vcpu-1gb,uat;prod\n")
    pcloud("--config-dir", str(config), "orchestrate", env=cloud.env())
    result = pcloud("--config-dir", str(config), "deploy", "uat", "hostomatic", "--json", env=cloud.env())
    state = json.loads((config / "infrastructure.json").read_text())
    return cloud, state, json.loads(result.stdout), result


def running(cloud, *labels):
    """{(droplet, container name): id} of the running containers with every label, on every droplet's engine."""
    return {(engine.name, info["Name"].lstrip("/")): info["Id"] for engine, info in fleet_containers(cloud, *labels)}


def planned(state, project_envs):
    """{droplet: container names} the deploys of ``project_envs`` must leave running: each droplet's health agent, the
    load balancer and the
    registry on master, each project-env's data services on master, its web services and workers on the droplets
    they are assigned to (a web service in its first slot)."""
    out = {name: {"%s-health-agent" % name} for name in state["droplets"]}  # from orchestrate on (issue 11 item 7)
    out["pcloud-master"] |= {"pcloud-master-nginx-lb", "pcloud-master-registry"}
    for project_env in project_envs:
        for service, body in state["projects"][project_env].items():
            for droplet in body["assigned_droplets"]:
                out[droplet].add("%s-%s-%s" % (droplet, project_env, service))
    return out


def get(url, body=None):
    req = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(),
                                 method="GET" if body is None else "POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - the local cloud's master droplet
        return resp.status, json.loads(resp.read() or b"null")


def test_deploy_reaches_both_web_droplets_through_the_load_balancer(deployed):
    _cloud, state, summary, _result = deployed
    assert summary["status"] == "successful" and summary["failed"] == 0
    lb = "http://%s" % state["droplets"]["pcloud-master"]["ip"]
    assert get(lb + "/health") == (200, {"status": "ok"})
    members = get(lb + "/lb-status")[1]["hostomatic-uat-backend"]
    port = state["projects"]["hostomatic-uat"]["backend"]["port"]
    assert sorted(members) == sorted("%s:%d" % (state["droplets"][d]["ip"], port)
                                     for d in ("hostomatic-web1", "hostomatic-web2"))
    served_by = {get(lb + "/hostomatic/uat/backend/api/version")[1]["droplet"] for _ in range(12)}
    assert served_by == {"hostomatic-web1", "hostomatic-web2"}
    assert get(lb + "/hostomatic/uat/frontend/health")[0] == 200


def test_path_routing_tells_the_app_its_prefix_host_scheme_and_client(deployed):
    """Issue 12 item 7 (path routing): a service behind /{project}/{env}/{service}/ learns the prefix it is served
    under (X-Forwarded-Prefix, to build its links and redirects), and the original host, scheme and client."""
    _cloud, state, _summary, _result = deployed
    master = state["droplets"]["pcloud-master"]["ip"]
    forwarded = get("http://%s/hostomatic/uat/backend/api/version" % master)[1]["forwarded"]
    assert forwarded == {"Prefix": "/hostomatic/uat/backend", "Proto": "http", "Host": master,
                         "For": state["admin_ip"]}, forwarded


def https_get(ip, name, path, cafile):
    """GET https://{name}{path} from the load balancer at ``ip`` (SNI and Host: ``name``), verified with ``cafile``."""
    ctx = ssl.create_default_context(cafile=str(cafile))
    with socket.create_connection((ip, 443), timeout=10) as raw, ctx.wrap_socket(raw, server_hostname=name) as tls:
        tls.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, name)).encode())
        response = http.client.HTTPResponse(tls)
        response.begin()
        return response.status, json.loads(response.read() or b"null")


def test_a_domain_is_served_at_its_root_over_https_and_plain_http_redirects_there(deployed):
    """Issue 12 item 7 (domains): the example's backend declares api.uat.hostomatic.example for uat; the load
    balancer serves it at "/" with a certificate for that name, tells the app the scheme and host, and answers
    plain HTTP on that name with a redirect to HTTPS. The key stays out of the state and the run's output."""
    cloud, state, _summary, result = deployed
    master = state["droplets"]["pcloud-master"]["ip"]
    name = "api.uat.hostomatic.example"
    assert state["projects"]["hostomatic-uat"]["backend"]["domains"] == [name]
    cert = cloud.config_dir / "secrets" / "tls" / "hostomatic-uat-backend.crt"
    status, body = https_get(master, name, "/api/version", cert)
    assert status == 200, body
    assert body["forwarded"] == {"Prefix": None, "Proto": "https", "Host": name, "For": state["admin_ip"]}
    conn = http.client.HTTPConnection(master, 80, timeout=10)
    conn.request("GET", "/api/items?page=2", headers={"Host": name})
    redirect = conn.getresponse()
    assert (redirect.status, redirect.getheader("Location")) == (301, "https://%s/api/items?page=2" % name)
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):  # it names the domain, not the address
        https_get(master, master, "/api/version", cert)
    key = (cloud.config_dir / "secrets" / "tls" / "hostomatic-uat-backend.key").read_text()
    secret = "".join(key.split("-----")[2].split())
    assert secret[:40] not in json.dumps(state) and secret[:40] not in result.stdout + result.stderr


def test_backend_writes_postgres_and_the_worker_processes_the_job(deployed):
    _cloud, state, _summary, _result = deployed
    lb = "http://%s" % state["droplets"]["pcloud-master"]["ip"]
    status, body = get(lb + "/hostomatic/uat/backend/api/items", {"name": "through the lb"})
    assert status == 201
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        items = get(lb + "/hostomatic/uat/backend/api/items")[1]["items"]
        if any(i["id"] == body["id"] and i["email"] == "sent" for i in items):
            return
        time.sleep(0.5)
    pytest.fail("the job of item %s was not processed: %s" % (body["id"], items))


def test_services_run_in_the_droplets_engines_and_none_on_the_host(deployed):
    """Issue 11: the host's engine runs droplets only; each droplet's own engine runs exactly its planned containers."""
    cloud, state, _summary, _result = deployed
    assert host_service_containers(cloud) == []
    engines = fleet_engines(cloud)
    assert set(engines) == set(state["droplets"])
    expected = planned(state, ["hostomatic-uat"])
    for name, engine in sorted(engines.items()):
        rows = engine.ps()
        assert {r["Names"] for r in rows} == expected[name], name
        assert all(r["State"] == "running" for r in rows), rows
        for info in engine.containers():  # one network model, the same on both providers
            labels, mode = info["Config"]["Labels"], info["HostConfig"]["NetworkMode"]
            key = "%s-%s" % (labels.get("pcloud.project"), labels.get("pcloud.environment"))
            if labels.get("pcloud.service") in ("database", "redis") or "pcloud.project" not in labels:
                assert mode == "host", info["Name"]  # platform daemons: host networking in the droplet's engine
                continue
            # apps: the project-env's own bridge network; a web slot publishes its container port on the slot port
            assert mode.endswith("-" + key) and info["Name"].lstrip("/").startswith(mode + "-"), (info["Name"], mode)
            bindings = info["HostConfig"]["PortBindings"] or {}
            body = state["projects"][key].get(labels["pcloud.service"]) or {}
            if body.get("type") == "web":
                env = dict(item.split("=", 1) for item in info["Config"]["Env"])
                slot = int(body["port"]) + (10000 if info["Name"].endswith("-alt") else 0)
                assert bindings == {"%s/tcp" % env["PORT"]: [{"HostIp": "", "HostPort": str(slot)}]}, bindings
                assert env["SERVICE_PORT"] == env["PORT"], env
            else:
                assert not bindings, (info["Name"], bindings)


def test_web_droplets_pull_the_release_from_masters_registry_by_digest(deployed):
    """Built on master, pushed to its registry, pulled by digest: each app container on a web droplet runs the
    release's recorded ``registry.pcloud:5000/<project>/<service>@sha256:`` reference, its image carries that
    digest and no tag (nothing is built or re-tagged on a web droplet), and master holds the same image."""
    cloud, state, _summary, _result = deployed
    release = json.loads((cloud.config_dir / "releases" / "hostomatic-uat.json").read_text())[-1]
    engines = fleet_engines(cloud)
    master_images = engines["pcloud-master"].images()
    for service, ref in release["images"].items():
        assert ref.startswith("registry.pcloud:5000/hostomatic/%s@sha256:" % service.replace("_", "-")), ref
        built = [i for i in master_images if i["Id"] == release["image_ids"][service]]
        assert built and ref in built[0]["RepoDigests"], (service, [i["RepoTags"] for i in master_images])
    seen = set()
    for name in ("hostomatic-web1", "hostomatic-web2"):
        engine = engines[name]
        images = {i["Id"]: i for i in engine.images()}
        for info in engine.containers("pcloud.project=hostomatic"):
            service = info["Config"]["Labels"]["pcloud.service"]
            assert info["Config"]["Image"] == release["images"][service], info["Name"]
            image = images[info["Image"]]
            assert image["Id"] == release["image_ids"][service]
            assert image["RepoDigests"] == [release["images"][service]] and image["RepoTags"] == [], image
            seen.add(service)
        pulls = [e["id"] for e in engine.events("type=image", "event=pull")]
        assert pulls and all("@sha256:" in ref and ref.startswith("registry.pcloud:5000/") for ref in pulls), pulls
        assert not engine.events("type=image", "event=tag") and not engine.events("type=image", "event=push")
    assert seen == set(release["images"])


def test_uat_tag_is_pushed(deployed):
    cloud, _state, _summary, _result = deployed
    tags = subprocess.run(["git", "-C", str(cloud.config_dir / "git" / "hostomatic.git"), "tag"], capture_output=True,
                          text=True, check=True).stdout.split()
    assert len(tags) == 1 and tags[0].startswith("v1.0.0-uat-")


def test_secrets_are_files_and_nowhere_else(deployed):
    cloud, _state, _summary, result = deployed
    dotenv = dict(line.split("=", 1) for line in (cloud.config_dir / ".env").read_text().splitlines()
                  if "=" in line and not line.startswith("#"))
    stripe = dotenv["HOSTOMATIC_STRIPE_KEY"]
    backends = fleet_containers(cloud, "pcloud.service=backend", "pcloud.environment=uat")
    assert len(backends) == 2
    for engine, info in backends:
        code, out = engine.exec(info["Name"].lstrip("/"), "cat", "/run/secrets/stripe_key")
        assert code == 0 and out == stripe
        assert stripe not in json.dumps(info)
        assert "STRIPE" not in " ".join(info["Config"]["Env"])
    assert stripe not in result.stdout + result.stderr
    assert stripe not in (cloud.config_dir / "infrastructure.json").read_text()
    for path in (cloud.config_dir / ".runner").rglob("*"):
        if path.is_file():
            assert stripe not in path.read_text(errors="replace"), path


def deploy_snapshots(cloud):
    """{droplet: [snapshot, ...]} of the post-deploy snapshots, oldest first, as the provider lists them."""
    out = {}
    for snap in cloud.request("GET", "/snapshots?resource_type=droplet&per_page=200")[1]["snapshots"]:
        if "-deploy-" in snap["name"]:
            out.setdefault(snap["name"].rsplit("-deploy-", 1)[0], []).append(snap)
    return out


def test_the_deploy_snapshotted_every_droplet_it_touched(deployed):
    cloud, state, _summary, _result = deployed
    snaps = deploy_snapshots(cloud)
    assert set(snaps) >= set(state["droplets"]), snaps  # master and both web droplets
    stamp = time.strftime("%Y%m%d-", time.gmtime())
    log = json.loads((cloud.config_dir / "snapshots.json").read_text())
    release = json.loads((cloud.config_dir / "releases" / "hostomatic-uat.json").read_text())[-1]
    for droplet in state["droplets"]:
        newest = snaps[droplet][-1]
        assert newest["name"].startswith("%s-deploy-%s" % (droplet, stamp)), newest
        record = next(e for e in log if e["id"] == newest["id"])
        assert record["droplet"] == droplet and record["project_env"] == "hostomatic-uat"
        assert record["commit"] == release["commit"] and "backend" in record["services"]


def test_second_deploy_changes_nothing(deployed):
    cloud, _state, _summary, _result = deployed
    before = deploy_snapshots(cloud)
    again = json.loads(pcloud("--config-dir", str(cloud.config_dir), "deploy", "uat", "hostomatic", "--json",
                              env=cloud.env()).stdout)
    assert again["status"] == "successful" and again["changed"] == 0, again
    assert deploy_snapshots(cloud) == before  # nothing deployed, nothing snapshotted


def test_prod_promotes_the_uat_images_without_building(deployed):
    cloud, state, _summary, _result = deployed
    master = droplet_engine(cloud, "pcloud-master")  # where deploys build

    def built():
        return {i["Id"]: sorted(i["RepoTags"]) for i in master.images()
                if any(t.startswith("registry.pcloud:5000/hostomatic/") for t in i["RepoTags"])}

    images_before = built()
    assert images_before
    summary = json.loads(pcloud("--config-dir", str(cloud.config_dir), "deploy", "prod", "hostomatic", "--json",
                                env=cloud.env()).stdout)
    assert summary["status"] == "successful"
    assert built() == images_before  # nothing built, nothing re-tagged
    uat = fleet_containers(cloud, "pcloud.service=backend", "pcloud.environment=uat")
    prod = fleet_containers(cloud, "pcloud.service=backend", "pcloud.environment=prod")
    assert len(prod) == 2 and {i["Image"] for _e, i in prod} == {i["Image"] for _e, i in uat}
    # the same digest reference: promotion re-uses what UAT pulled
    assert {i["Config"]["Image"] for _e, i in prod} == {i["Config"]["Image"] for _e, i in uat}
    lb = "http://%s" % state["droplets"]["pcloud-master"]["ip"]
    assert get(lb + "/hostomatic/prod/backend/health")[1]["service"] == "hostomatic-prod-backend"
    result = pcloud("--config-dir", str(cloud.config_dir), "deploy", "prod", "hostomatic", "--tag",
                    "v9.9.9-uat-20200101-0000", env=cloud.env(), check=False)
    assert result.returncode == 1 and "No UAT tag v9.9.9-uat-20200101-0000 in the repository" in result.stderr


def test_reproduce_a_released_tag(deployed, tmp_path):
    cloud, _state, _summary, _result = deployed
    release = json.loads((cloud.config_dir / "releases" / "hostomatic-uat.json").read_text())[0]
    target = tmp_path / "reproduced"
    out = json.loads(pcloud("--config-dir", str(cloud.config_dir), "--reproduce", release["tag"], "--reproduce-dir",
                            str(target), "--json", env=cloud.env()).stdout)
    assert out["status"] == "successful" and out["project_env"] == "hostomatic-uat"
    head = subprocess.run(["git", "-C", str(target), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    assert head.stdout.strip() == release["commit"]
    assert json.loads((target / ".pcloud-release.json").read_text())["image_ids"] == release["image_ids"]
    # rebuilt on the same engine from the same commit: the very same images
    assert set(out["images"]) == set(release["images"]) and all(i["identical"] for i in out["images"].values()), out
    again = pcloud("--config-dir", str(cloud.config_dir), "reproduce", release["tag"], "--dir", str(target),
                   env=cloud.env(), check=False)
    assert again.returncode == 2 and "is not an empty directory" in again.stderr
    unknown = pcloud("--config-dir", str(cloud.config_dir), "reproduce", "v9.9.9-uat-20200101-0000", "--dir",
                     str(tmp_path / "x"), env=cloud.env(), check=False)
    assert unknown.returncode == 2 and "no release of v9.9.9-uat-20200101-0000 is recorded" in unknown.stderr
    assert not (tmp_path / "x").exists()


def test_release_history_records_versions_not_values(deployed):
    cloud, _state, _summary, _result = deployed
    history = json.loads((cloud.config_dir / "releases" / "hostomatic-uat.json").read_text())
    assert len(history) == 1  # the no-change redeploy recorded nothing
    release = history[0]
    assert release["tag"].startswith("v1.0.0-uat-") and release["kind"] == "deploy"
    assert set(release["images"]) == {"backend", "frontend", "worker_email", "scheduler"}
    assert all(i.startswith("sha256:") for i in release["image_ids"].values())
    assert set(release["secret_versions"]) == {"stripe_key", "stripe_publishable_key", "sendgrid_api_key"}
    text = (cloud.config_dir / "releases" / "hostomatic-uat.json").read_text()
    for line in (cloud.config_dir / ".env").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            assert line.split("=", 1)[1] not in text


def version_of(body):
    return json.loads(body)["version"]


def test_code_change_and_rollback_under_load_lose_no_request(deployed, tmp_path):
    cloud, state, _summary, _result = deployed
    lb = "http://%s" % state["droplets"]["pcloud-master"]["ip"]
    port = state["projects"]["hostomatic-uat"]["backend"]["port"]
    work = tmp_path / "hostomatic"
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@localhost"]
    subprocess.run(["git", "clone", "--quiet", str(cloud.config_dir / "git" / "hostomatic.git"), str(work)], check=True)
    (work / "backend" / "VERSION").write_text("1.0.1\n")
    subprocess.run(git + ["-C", str(work), "commit", "--quiet", "-am", "backend 1.0.1"], check=True)
    subprocess.run(["git", "-C", str(work), "push", "--quiet", "origin", "main"], check=True)
    urls = [lb + "/hostomatic/uat/backend/api/version"]
    with Load(urls, workers=4, classify=version_of) as load:
        pcloud("--config-dir", str(cloud.config_dir), "deploy", "uat", "hostomatic", env=cloud.env())
        time.sleep(1)
    assert load.result.failed == 0, load.result.to_json()
    assert load.result.seen["1.0.0"] > 0 and load.result.seen["1.0.1"] > 0, load.result.to_json()
    assert {get(urls[0])[1]["version"] for _ in range(6)} == {"1.0.1"}
    # the new release serves from the second slot; the old slots are gone
    members = get(lb + "/lb-status")[1]["hostomatic-uat-backend"]
    assert sorted(members) == sorted("%s:%d" % (state["droplets"][d]["ip"], port + 10000)
                                     for d in ("hostomatic-web1", "hostomatic-web2"))
    backends = fleet_containers(cloud, "pcloud.service=backend", "pcloud.environment=uat", all=True)
    assert sorted(i["Name"].rsplit("-", 1)[-1] for _e, i in backends) == ["alt", "alt"]
    # a code-only change moves only the changed layer (the COPY of the code) to each web droplet
    old, new = [r["image_ids"]["backend"] for r in
                json.loads((cloud.config_dir / "releases" / "hostomatic-uat.json").read_text())[-2:]]
    for engine, _info in backends:
        layers = {i["Id"]: i["RootFS"]["Layers"] for i in engine.inspect(old, new)}
        moved = [layer for layer in layers[new] if layer not in layers[old]]
        assert len(moved) == 1 and layers[new][:-1] == layers[old][:-1], layers
        steps = {image: [(row["CreatedBy"], int(row["Size"])) for row in reversed(
            [json.loads(line) for line in engine.docker("history", "--human=false", "--no-trunc", "--format",
                                                         "{{json .}}", image).stdout.splitlines()])]
            for image in (old, new)}
        shared = next((i for i, (a, b) in enumerate(zip(steps[old], steps[new])) if a != b), len(steps[new]))
        changed = sum(size for _step, size in steps[new][shared:])  # the build steps after the first that differs
        print("%s: the code change moved 1 layer, %d bytes uncompressed" % (engine.name, changed))
        assert 0 < changed < 100_000, steps[new][shared:]

    with Load(urls, workers=4, classify=version_of) as load:
        summary = json.loads(pcloud("--config-dir", str(cloud.config_dir), "rollback", "hostomatic", "uat", "--json",
                                    env=cloud.env()).stdout)
        time.sleep(1)
    assert summary["status"] == "successful"
    assert load.result.failed == 0, load.result.to_json()
    assert {get(urls[0])[1]["version"] for _ in range(6)} == {"1.0.0"}
    assert sorted(get(lb + "/lb-status")[1]["hostomatic-uat-backend"]) == sorted(
        "%s:%d" % (state["droplets"][d]["ip"], port) for d in ("hostomatic-web1", "hostomatic-web2"))
    history = json.loads((cloud.config_dir / "releases" / "hostomatic-uat.json").read_text())
    assert [r["kind"] for r in history] == ["deploy", "deploy", "rollback"]
    assert history[2]["image_ids"] == history[0]["image_ids"] and history[2]["commit"] == history[0]["commit"]
    tags = subprocess.run(["git", "-C", str(cloud.config_dir / "git" / "hostomatic.git"), "tag"], capture_output=True,
                          text=True, check=True).stdout.split()
    assert len(tags) == 2


LOCAL_RUNS = {}  # what the --local deploys below printed, for the test that reads it


def uat_tags(cloud):
    return subprocess.run(["git", "-C", str(cloud.config_dir / "git" / "hostomatic.git"), "tag"], capture_output=True,
                          text=True, check=True).stdout.split()


def test_local_deploys_an_uncommitted_edit(deployed, tmp_path):
    """Issue 11: --local builds what is on disk, named by the hash of its files, not the cached image of HEAD."""
    cloud, state, _summary, _result = deployed
    url = "http://%s/hostomatic/uat/backend/api/version" % state["droplets"]["pcloud-master"]["ip"]
    tags = uat_tags(cloud)
    work = tmp_path / "hostomatic"
    subprocess.run(["git", "clone", "--quiet", str(cloud.config_dir / "git" / "hostomatic.git"), str(work)], check=True)
    (work / "backend" / "VERSION").write_text("1.0.2-local\n")  # not committed
    LOCAL_RUNS["uncommitted"] = pcloud("--config-dir", str(cloud.config_dir), "deploy", "uat", "hostomatic", "--local",
                                       "--project-path", str(work), env=cloud.env())
    assert {get(url)[1]["version"] for _ in range(6)} == {"1.0.2-local"}
    assert uat_tags(cloud) == tags  # an uncommitted build is not a UAT release of any commit


def test_local_deploys_a_directory_that_is_not_a_git_repository(deployed, tmp_path):
    cloud, state, _summary, _result = deployed
    url = "http://%s/hostomatic/uat/backend/api/version" % state["droplets"]["pcloud-master"]["ip"]
    tags = uat_tags(cloud)
    work = tmp_path / "hostomatic"
    subprocess.run(["git", "clone", "--quiet", str(cloud.config_dir / "git" / "hostomatic.git"), str(work)], check=True)
    shutil.rmtree(work / ".git")
    (work / "backend" / "VERSION").write_text("1.0.3-plain\n")
    LOCAL_RUNS["plain"] = pcloud("--config-dir", str(cloud.config_dir), "deploy", "uat", "hostomatic", "--local",
                                 "--project-path", str(work), env=cloud.env(), check=False)
    assert LOCAL_RUNS["plain"].returncode == 0, LOCAL_RUNS["plain"].stderr[-2000:]
    assert {get(url)[1]["version"] for _ in range(6)} == {"1.0.3-plain"}
    assert uat_tags(cloud) == tags


@pytest.mark.parametrize("run, why", [("uncommitted", "has uncommitted changes"), ("plain", "is not a Git repository")])
def test_a_local_build_says_it_gets_no_uat_tag(run, why):
    """The issue: '(no UAT tag is created then; say so)' - the user sees it in the deploy's own output."""
    if run not in LOCAL_RUNS:
        pytest.skip("the --local deploy of this case did not run")
    out = LOCAL_RUNS[run].stdout + LOCAL_RUNS[run].stderr
    assert why in out and "no UAT tag" in out, out[-2000:]


def test_each_droplet_keeps_its_newest_three_snapshots(deployed):
    """By now uat, prod, a code change and its rollback were deployed: at least four snapshots per web droplet
    were taken and the oldest pruned; the log holds exactly what the provider has."""
    cloud, state, _summary, _result = deployed
    snaps = deploy_snapshots(cloud)
    releases = sum(len(json.loads(p.read_text())) for p in (cloud.config_dir / "releases").glob("hostomatic-*.json"))
    assert releases >= 4
    for droplet in state["droplets"]:
        assert len(snaps[droplet]) == 3, (droplet, [s["name"] for s in snaps[droplet]])
    log = json.loads((cloud.config_dir / "snapshots.json").read_text())
    assert sorted(e["id"] for e in log) == sorted(s["id"] for items in snaps.values() for s in items)


def test_cleanup_lists_then_deletes_old_and_orphaned_snapshots(deployed):
    cloud, state, _summary, _result = deployed
    config = str(cloud.config_dir)
    web2 = next(d for d in cloud.request("GET", "/droplets?tag_name=pcloud")[1]["droplets"] if d["name"] == "hostomatic-web2")
    made = {}
    for name in ("hostomatic-web2-deploy-20990101-0000", "gone-web9-deploy-20260101-0000", "hand-made-backup"):
        status, _body = cloud.request("POST", "/droplets/%d/actions" % web2["id"], {"type": "snapshot", "name": name})
        assert status == 201
        made[name] = next(s["id"] for s in cloud.request("GET", "/snapshots?per_page=200")[1]["snapshots"]
                          if s["name"] == name)
    oldest_web2 = deploy_snapshots(cloud)["hostomatic-web2"][0]
    dry = pcloud("--config-dir", config, "cleanup", "--dry-run", env=cloud.env())
    assert "would delete snapshot %s" % oldest_web2["name"] in dry.stdout, dry.stdout
    assert "gone-web9-deploy-20260101-0000" in dry.stdout and "orphaned: gone-web9 is not in the fleet" in dry.stdout
    assert "hand-made-backup" not in dry.stdout
    assert "2 snapshot(s) and 0 droplet(s) to delete (dry run)" in dry.stdout, dry.stdout
    assert oldest_web2["id"] in [s["id"] for s in deploy_snapshots(cloud)["hostomatic-web2"]]  # nothing deleted
    done = json.loads(pcloud("--config-dir", config, "cleanup", "--json", env=cloud.env()).stdout)
    assert done["status"] == "successful" and len(done["cleanup"]["snapshots"]["delete"]) == 2, done
    ids = [s["id"] for s in cloud.request("GET", "/snapshots?per_page=200")[1]["snapshots"]]
    assert oldest_web2["id"] not in ids and made["gone-web9-deploy-20260101-0000"] not in ids
    assert made["hand-made-backup"] in ids and made["hostomatic-web2-deploy-20990101-0000"] in ids
    assert oldest_web2["id"] not in (cloud.config_dir / "snapshots.json").read_text()
    again = pcloud("--config-dir", config, "cleanup", env=cloud.env())
    assert "0 snapshot(s) and 0 droplet(s) deleted" in again.stdout, again.stdout
    assert cloud.request("DELETE", "/snapshots/%s" % made["hand-made-backup"])[0] == 204
    assert cloud.request("DELETE", "/snapshots/%s" % made["hostomatic-web2-deploy-20990101-0000"])[0] == 204


def test_prod_promotes_only_what_uat_runs_and_a_rolled_back_tag_needs_force(deployed):
    """Issue 12 item 9. By now uat was deployed, changed (a second tag), rolled back, then ran --local builds."""
    cloud, _state, _summary, _result = deployed
    config = str(cloud.config_dir)
    uat = json.loads((cloud.config_dir / "releases" / "hostomatic-uat.json").read_text())
    rolled_back_tag = uat[1]["tag"]
    assert [r["kind"] for r in uat][:3] == ["deploy", "deploy", "rollback"] and rolled_back_tag
    # item 10: who deployed - git's user.email of the source, else $USER (no AWX user here)
    email = subprocess.run(["git", "-C", str(cloud.config_dir / ".build" / "hostomatic"), "config", "user.email"],
                           capture_output=True, text=True, check=False).stdout.strip()
    assert uat[0]["who"] == (email or cloud.env().get("USER") or "unknown"), uat[0]
    untagged = pcloud("--config-dir", config, "deploy", "prod", "hostomatic", env=cloud.env(), check=False)
    assert untagged.returncode == 1 and "which has no UAT tag" in untagged.stderr, untagged.stderr[-2000:]
    refused = pcloud("--config-dir", config, "deploy", "prod", "hostomatic", "--tag", rolled_back_tag, env=cloud.env(),
                     check=False)
    assert refused.returncode == 1, refused.stderr[-2000:]
    assert "uat was rolled back from %s" % rolled_back_tag in refused.stderr and "--force" in refused.stderr


def test_a_deploy_with_no_snapshot_takes_none(deployed):
    cloud, _state, _summary, _result = deployed
    before = deploy_snapshots(cloud)
    releases = len(json.loads((cloud.config_dir / "releases" / "hostomatic-prod.json").read_text()))
    uat = json.loads((cloud.config_dir / "releases" / "hostomatic-uat.json").read_text())
    tag = uat[1]["tag"]  # uat was rolled back from it: promoted on purpose, which records a new prod release
    forced = pcloud("--config-dir", str(cloud.config_dir), "deploy", "prod", "hostomatic", "--tag", tag, "--force",
                    "--no-snapshot", env=cloud.env())
    assert "promoting %s (commit %s), as asked" % (tag, uat[1]["commit"][:12]) in forced.stderr, forced.stderr[-2000:]
    assert len(json.loads((cloud.config_dir / "releases" / "hostomatic-prod.json").read_text())) == releases + 1
    assert deploy_snapshots(cloud) == before  # a new release, and no snapshot


def test_rollback_without_history_exits_2(deployed):
    cloud, _state, _summary, _result = deployed
    result = pcloud("--config-dir", str(cloud.config_dir), "rollback", "hostomatic", "test", env=cloud.env(), check=False)
    assert result.returncode == 2 and "no earlier release to roll back to (0 recorded)" in result.stderr


def test_missing_secret_fails_before_anything_changes(deployed):
    cloud, _state, _summary, _result = deployed
    env_file = cloud.config_dir / ".env"
    original = env_file.read_text()
    before = running(cloud, "pcloud.project=hostomatic")
    try:
        env_file.write_text("\n".join(line for line in original.splitlines() if "SENDGRID" not in line) + "\n")
        result = pcloud("--config-dir", str(cloud.config_dir), "deploy", "uat", "hostomatic", env=cloud.env(),
                        check=False)
    finally:
        env_file.write_text(original)
    assert result.returncode == 1
    assert "secret 'sendgrid_api_key' of hostomatic-uat is not set; set one of HOSTOMATIC_UAT_SENDGRID_API_KEY" in result.stderr
    after = running(cloud, "pcloud.project=hostomatic")
    assert before
    assert after == before


@pytest.mark.parametrize("args, message", [
    (["deploy", "uat", "nosuch"], "no project 'nosuch'"),
    (["deploy", "staging", "hostomatic"], "project 'hostomatic' has no environment 'staging'"),
    (["deploy", "uat", "Bad;Name"], "illegal project name"),
    (["deploy", "uat", "hostomatic", "--local"], "--local and --project-path go together"),
    (["deploy", "uat", "hostomatic", "--tag", "v1.0.0-uat-20261122-0610"], "only for prod"),
    (["deploy", "prod", "hostomatic", "--tag", "latest"], "--tag takes a UAT tag"),
])
def test_bad_deploy_requests_exit_2(deployed, args, message):
    cloud, _state, _summary, _result = deployed
    result = pcloud("--config-dir", str(cloud.config_dir), *args, env=cloud.env(), check=False)
    assert result.returncode == 2 and message in result.stderr


def test_a_build_failure_names_the_service_and_step_and_the_old_release_keeps_serving(deployed, tmp_path):
    cloud, state, _summary, _result = deployed
    lb = "http://%s" % state["droplets"]["pcloud-master"]["ip"]
    url = lb + "/hostomatic/uat/backend/api/version"
    serving = get(url)[1]["version"]
    work = tmp_path / "hostomatic"
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@localhost", "-C", str(work)]
    subprocess.run(["git", "clone", "--quiet", str(cloud.config_dir / "git" / "hostomatic.git"), str(work)], check=True)
    dockerfile = work / "workers" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "RUN echo 'broken step' && exit 3\n")
    (work / "backend" / "VERSION").write_text("9.9.9\n")
    subprocess.run(git + ["commit", "--quiet", "-am", "a broken worker build"], check=True)
    subprocess.run(git + ["push", "--quiet", "origin", "main"], check=True)
    before = running(cloud, "pcloud.project=hostomatic")
    tags_before = subprocess.run(["git", "-C", str(cloud.config_dir / "git" / "hostomatic.git"), "tag"],
                                 capture_output=True, text=True, check=True).stdout
    try:
        with Load([url], workers=2, classify=version_of) as load:
            result = pcloud("--config-dir", str(cloud.config_dir), "deploy", "uat", "hostomatic", env=cloud.env(),
                            check=False)
    finally:
        subprocess.run(git + ["revert", "--no-edit", "--quiet", "HEAD"], check=True)
        subprocess.run(git + ["push", "--quiet", "origin", "main"], check=True)
    assert result.returncode == 1
    assert "worker_email" in result.stderr and "exit 3" in result.stderr, result.stderr
    assert load.result.failed == 0 and set(load.result.seen) == {serving}, load.result.to_json()
    assert running(cloud, "pcloud.project=hostomatic") == before
    assert subprocess.run(["git", "-C", str(cloud.config_dir / "git" / "hostomatic.git"), "tag"],
                          capture_output=True, text=True, check=True).stdout == tags_before


def test_a_dockerfile_outside_the_repository_is_refused_before_anything_runs(deployed):
    cloud, _state, _summary, _result = deployed
    config_file = cloud.config_dir / "deployment_config.json"
    original = config_file.read_text()
    config = json.loads(original)
    config["projects"]["hostomatic"]["services"]["backend"]["containerfile_path"] = "../../etc/Dockerfile"
    try:
        config_file.write_text(json.dumps(config, indent=2))
        result = pcloud("--config-dir", str(cloud.config_dir), "deploy", "uat", "hostomatic", env=cloud.env(),
                        check=False)
    finally:
        config_file.write_text(original)
    assert result.returncode == 2
    assert "projects.hostomatic.services.backend.containerfile_path" in result.stderr
    assert "escapes the repository" in result.stderr


def test_logs_shows_a_service_across_its_droplets(deployed):
    """Issue 12 item 8: 'pcloud logs' reads each droplet's containers of the service over SSH (pinned host keys)."""
    cloud, state, _summary, _result = deployed
    webs = state["projects"]["hostomatic-uat"]["backend"]["assigned_droplets"]
    get("http://%s/hostomatic/uat/backend/api/version" % state["droplets"]["pcloud-master"]["ip"])
    out = pcloud("--config-dir", str(cloud.config_dir), "logs", "hostomatic", "uat", "backend", "--lines", "5",
                 env=cloud.env()).stdout
    prefixes = {line.split(" | ", 1)[0] for line in out.splitlines() if " | " in line}
    assert {p.rsplit("-alt", 1)[0] for p in prefixes} == {"%s-hostomatic-uat-backend" % d for d in webs}, out[-2000:]
    one = pcloud("--config-dir", str(cloud.config_dir), "logs", "hostomatic", "uat", "backend", "--droplet", webs[0],
                 "--lines", "3", env=cloud.env()).stdout
    assert one and all(line.startswith(webs[0] + "-") for line in one.splitlines()), one
    bad = pcloud("--config-dir", str(cloud.config_dir), "logs", "hostomatic", "uat", "nope;id", env=cloud.env(),
                 check=False)
    assert bad.returncode == 2 and "service" in bad.stderr and "nope;id" in bad.stderr, bad.stderr


def test_a_worker_that_exits_at_once_fails_the_deploy_with_its_log_and_is_removed(deployed):
    """Issue 12 item 8: a worker has no health check; one that stops right after its start is reported with its
    exit code and the last lines of its log, and does not stay behind."""
    cloud, state, _summary, _result = deployed
    config_file = cloud.config_dir / "deployment_config.json"
    original = config_file.read_text()
    config = json.loads(original)
    config["projects"]["hostomatic"]["services"]["worker_email"]["command"] = "echo 'no queue configured' >&2; exit 4"
    droplet = state["projects"]["hostomatic-uat"]["worker_email"]["assigned_droplets"][0]
    try:
        config_file.write_text(json.dumps(config, indent=2))
        result = pcloud("--config-dir", str(cloud.config_dir), "deploy", "uat", "hostomatic", "--no-snapshot",
                        env=cloud.env(), check=False)
    finally:
        config_file.write_text(original)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "%s-hostomatic-uat-worker_email stopped right after its start (exit code 4" % droplet in result.stderr
    assert "no queue configured" in result.stderr and "it was removed" in result.stderr, result.stderr[-3000:]
    assert not running(cloud, "pcloud.service=worker_email", "pcloud.environment=uat")
    assert not [i for _e, i in fleet_containers(cloud, "pcloud.service=worker_email", "pcloud.environment=uat", all=True)]
    pcloud("--config-dir", str(cloud.config_dir), "deploy", "uat", "hostomatic", "--no-snapshot", env=cloud.env())
    assert running(cloud, "pcloud.service=worker_email", "pcloud.environment=uat")


def test_services_get_database_url_and_redis_url_at_process_start_only(deployed):
    """Issue 12 item 2: DATABASE_URL/REDIS_URL with the generated passwords reach the app's process (exported by the
    wrapper from /run/secrets), never the container's configuration."""
    cloud, state, _summary, _result = deployed
    droplet = state["projects"]["hostomatic-uat"]["backend"]["assigned_droplets"][0]
    engine = droplet_engine(cloud, droplet)
    name = next(n for n in engine.names("pcloud.service=backend", "pcloud.environment=uat"))
    script = ("for p in /proc/[0-9]*; do tr '\\0' '\\n' < $p/environ 2>/dev/null; done | grep -E '^(DATABASE|REDIS)_URL=' "
              "| sort -u; echo; cat /run/secrets/db_password; echo; cat /run/secrets/redis_password")
    out = engine.docker("exec", name, "sh", "-c", script).stdout.split("\n")
    found = dict(line.split("=", 1) for line in out if "_URL=" in line)
    db_password, redis_password = [line for line in out if line and "_URL=" not in line][-2:]
    db = state["projects"]["hostomatic-uat"]["database"]
    master = state["droplets"]["pcloud-master"]["ip"]
    assert found["DATABASE_URL"] == "postgresql://%s:%s@%s:%s/%s" % (db["db_user"], db_password, master, db["port"],
                                                                      db["db_name"]), found
    assert found["REDIS_URL"] == "redis://:%s@%s:%s/0" % (redis_password, master,
                                                         state["projects"]["hostomatic-uat"]["redis"]["port"])
    inspect = json.dumps(engine.inspect(name))
    assert db_password not in inspect and redis_password not in inspect
    assert "DATABASE_URL_FILE=/run/secrets/env.DATABASE_URL" in inspect


def test_the_release_phase_runs_once_before_the_switch_and_a_failing_one_stops_the_deploy(deployed, tmp_path):
    """Issue 12 item 6: a service's 'release' runs once per release in a one-off container of its image on master,
    with the service's environment (DATABASE_URL too); with a code change, the release phase and then the switch
    happen under load without a failed request; a failing release leaves the serving release alone."""
    cloud, state, _summary, _result = deployed
    config_file = cloud.config_dir / "deployment_config.json"
    original = config_file.read_text()
    master = droplet_engine(cloud, "pcloud-master")
    name = "pcloud-master-hostomatic-uat-backend-release"
    url = "http://%s/hostomatic/uat/backend/api/version" % state["droplets"]["pcloud-master"]["ip"]

    def deploy_with(release):
        config = json.loads(original)
        config["projects"]["hostomatic"]["services"]["backend"]["release"] = release
        config_file.write_text(json.dumps(config, indent=2))
        return pcloud("--config-dir", str(cloud.config_dir), "deploy", "uat", "hostomatic", "--no-snapshot",
                      env=cloud.env(), check=False)

    work = tmp_path / "hostomatic"  # a code change too: the release phase runs and then the switch, under load
    subprocess.run(["git", "clone", "--quiet", str(cloud.config_dir / "git" / "hostomatic.git"), str(work)], check=True)
    (work / "backend" / "VERSION").write_text("1.0.5-release\n")
    git = ["git", "-C", str(work), "-c", "user.name=test", "-c", "user.email=test@localhost"]
    subprocess.run(git + ["commit", "--quiet", "-am", "backend 1.0.5-release"], check=True)
    subprocess.run(git + ["push", "--quiet", "origin", "main"], check=True)
    try:
        with Load([url], workers=2, classify=version_of) as load:
            ok = deploy_with('echo "release of $PROJECT-$ENVIRONMENT"; test -n "$DATABASE_URL"')
            time.sleep(1)
        assert ok.returncode == 0, ok.stderr[-3000:]
        print("release phase and switch under load: %d requests, %d failed" % (load.result.requests, load.result.failed))
        assert load.result.failed == 0 and load.result.seen.get("1.0.5-release"), load.result.to_json()
        serving = get(url)[1]["version"]
        assert serving == "1.0.5-release"
        (info,) = master.inspect(name)
        assert info["State"]["ExitCode"] == 0 and not info["State"]["Running"]
        assert "release of hostomatic-uat" in master.docker("logs", name).stdout
        again = deploy_with('echo "release of $PROJECT-$ENVIRONMENT"; test -n "$DATABASE_URL"')
        assert again.returncode == 0 and master.inspect(name)[0]["State"]["StartedAt"] == info["State"]["StartedAt"]
        with Load([url], workers=2, classify=version_of) as load:
            bad = deploy_with("echo 'migration 42 failed' >&2; exit 5")
        assert bad.returncode == 1
        assert "the release phase exited with code 5" in bad.stderr and "migration 42 failed" in bad.stderr, \
            bad.stderr[-3000:]
        assert load.result.failed == 0 and set(load.result.seen) == {serving}, load.result.to_json()
        assert not master.names("pcloud.phase=release", all=True)  # the failed one does not stay behind
    finally:
        config_file.write_text(original)


def test_a_procfile_declares_the_services_of_a_project_that_lists_none(deployed, tmp_path):
    """Issue 12 item 5: with no services listed for the project, the repository's Procfile is the spec - 'web' the web
    service behind the load balancer, every other type a worker, 'release' the release phase (before the switch) -
    and the state records what it said."""
    cloud, state, _summary, _result = deployed
    config_file = cloud.config_dir / "deployment_config.json"
    state_file = cloud.config_dir / "infrastructure.json"
    original, original_state = config_file.read_text(), state_file.read_text()
    work = tmp_path / "hostomatic"
    subprocess.run(["git", "clone", "--quiet", str(cloud.config_dir / "git" / "hostomatic.git"), str(work)], check=True)
    (work / "Dockerfile").write_text("FROM pcloud/python:bookworm\nWORKDIR /app\nCOPY backend /app\n")
    (work / "VERSION").write_text("1.0.4-procfile\n")
    (work / "backend" / "VERSION").write_text("1.0.4-procfile\n")
    (work / "Procfile").write_text(
        "# a Heroku-style Procfile: nothing in it knows about pcloud\n"
        "web: exec python3 /app/app.py\n"
        "clock: while true; do echo \"tick of $PROJECT-$ENVIRONMENT\"; sleep 2; done\n"
        "release: echo \"procfile release of $PROJECT-$ENVIRONMENT\"\n")
    config = json.loads(original)
    del config["projects"]["hostomatic"]["services"]
    config_file.write_text(json.dumps(config, indent=2))
    master = droplet_engine(cloud, "pcloud-master")
    try:
        run = pcloud("--config-dir", str(cloud.config_dir), "deploy", "uat", "hostomatic", "--local", "--project-path",
                     str(work), "--no-snapshot", env=cloud.env(), check=False)
        assert run.returncode == 0, run.stderr[-3000:]
        recorded = json.loads(state_file.read_text())
        assert recorded["procfiles"]["hostomatic"]["clock"].startswith("while true")
        services = recorded["projects"]["hostomatic-uat"]
        assert services["web"]["type"] == "web" and services["clock"]["type"] == "worker"
        url = "http://%s/hostomatic/uat/web/api/version" % state["droplets"]["pcloud-master"]["ip"]
        assert {get(url)[1]["version"] for _ in range(4)} == {"1.0.4-procfile"}
        (clock,) = services["clock"]["assigned_droplets"]
        engine = droplet_engine(cloud, clock)
        name = "%s-hostomatic-uat-clock" % clock
        time.sleep(3)
        assert "tick of hostomatic-uat" in engine.docker("logs", name).stdout
        assert "procfile release of hostomatic-uat" in master.docker(
            "logs", "pcloud-master-hostomatic-uat-web-release").stdout
    finally:
        config_file.write_text(original)
        state_file.write_text(original_state)


# The stand-in for the public base image examples/microblog's Dockerfile names (no registry is reachable here): Debian's
# python3 with pip, like the official image, so the app's own "pip install -r requirements.txt" runs unchanged.
STAND_IN = ("FROM pcloud/python:bookworm\n"
            "RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-pip >/dev/null"
            " && rm -rf /var/lib/apt/lists/* /usr/lib/python3*/EXTERNALLY-MANAGED\n")


def load_stand_in(cloud, tmp_path, tag="python:3.12-slim"):
    """Build the stand-in on the host and load it into master's engine (test set-up, like the template preload)."""
    (tmp_path / "stand-in").mkdir()
    (tmp_path / "stand-in" / "Dockerfile").write_text(STAND_IN)
    subprocess.run(["docker", "build", "-q", "-t", tag, str(tmp_path / "stand-in")], check=True, capture_output=True)
    console = droplet_console(cloud, "pcloud-master").console
    save = subprocess.Popen(["docker", "save", tag], stdout=subprocess.PIPE)
    loaded = subprocess.run(["docker", "exec", "-i", console, "docker", "load", "-q"], stdin=save.stdout,
                            capture_output=True, text=True, check=False)
    assert save.wait() == 0 and loaded.returncode == 0, loaded.stderr


class Browser:
    """A cookie-keeping HTTP client that does not follow redirects (a test looks at each one)."""

    def __init__(self, cafile=None, resolve=None):
        self.cookies = http.cookiejar.CookieJar()
        handlers = [urllib.request.HTTPCookieProcessor(self.cookies), NoRedirect()]
        if cafile:
            handlers.append(urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=str(cafile))))
        self.opener = urllib.request.build_opener(*handlers)
        self.resolve = resolve or {}

    def open(self, url, form=None):
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with self.opener.open(urllib.request.Request(url, data=data), timeout=15) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read().decode()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def https_redirect(ip, name, cafile):
    """The Location of ``GET https://{name}/`` from the load balancer at ``ip``, verified with ``cafile``."""
    ctx = ssl.create_default_context(cafile=str(cafile))
    with socket.create_connection((ip, 443), timeout=10) as raw, ctx.wrap_socket(raw, server_hostname=name) as tls:
        tls.sendall(("GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % name).encode())
        response = http.client.HTTPResponse(tls)
        response.begin()
        assert response.status == 302, response.status
        return response.getheader("Location")


def test_a_twelve_factor_app_deploys_unchanged_by_path_and_by_domain(deployed, tmp_path):
    """Issue 12, the example: examples/microblog knows nothing about pcloud (Procfile web/worker/release, DATABASE_URL,
    REDIS_URL, PORT from its EXPOSE, a Dockerfile FROM python:3.12-slim with pip). Deployed as it is to uat and then
    promoted to prod, it migrates in each release phase, logs in through a form with redirects that keep the path
    prefix, sets its cookie for that prefix only, serves its static asset, queues work for its worker, and is also
    its own HTTPS host at its domain in each environment, with a certificate from an ACME CA (pebble, HTTP-01);
    headless Chromium (Debian) logs in by domain and by path and keeps one session cookie per site."""
    cloud, state, _summary, _result = deployed
    config_dir = cloud.config_dir
    master = state["droplets"]["pcloud-master"]["ip"]
    config_file = config_dir / "deployment_config.json"
    original = config_file.read_text()
    repo = tmp_path / "microblog.git"
    work = tmp_path / "microblog"
    shutil.copytree(REPO / "examples" / "microblog", work, ignore=shutil.ignore_patterns("__pycache__"))
    assert "pcloud" not in " ".join(p.read_text() for p in work.rglob("*") if p.is_file()).lower()
    subprocess.run(["git", "init", "-q", "--bare", "--initial-branch=main", str(repo)], check=True)
    git = ["git", "-C", str(work), "-c", "user.name=dev", "-c", "user.email=dev@example.com"]
    for args in (["init", "-q", "--initial-branch=main"], ["add", "-A"], ["commit", "-qm", "microblog"],
                 ["push", "-q", str(repo), "main"]):
        subprocess.run(git + args, check=True)
    config = json.loads(original)
    config["projects"]["microblog"] = {"git_url": "file://%s" % repo, "services": {
        "web": {"containerfile_path": "Dockerfile", "process": "web", "tls": "acme-http",
                "domains": {"uat": ["uat.microblog.example"], "prod": ["microblog.example"]}},
        "worker": {"type": "worker", "containerfile_path": "Dockerfile", "process": "worker"}}}
    config_file.write_text(json.dumps(config, indent=2))
    load_stand_in(cloud, tmp_path)
    ca = Pebble(tmp_path / "pebble", resolve_to=master)
    try:
        ca.__enter__()
        env = dict(cloud.env(), **ca.env())
        roots = tmp_path / "pebble-root.pem"
        roots.write_text(ca.roots())
        pcloud("--config-dir", str(config_dir), "project", "add", "microblog", "--envs", "uat,prod", "--servers", "1",
               env=cloud.env())
        run = pcloud("--config-dir", str(config_dir), "deploy", "uat", "microblog", "--no-snapshot", env=env,
                     check=False)
        assert run.returncode == 0, run.stderr[-3000:]
        master_engine = droplet_engine(cloud, "pcloud-master")
        assert "migrated to schema version 3" in master_engine.docker(
            "logs", "pcloud-master-microblog-uat-web-release").stdout

        base = "http://%s/microblog/uat/web" % master
        browser = Browser()
        status, headers, _ = browser.open(base + "/")
        assert (status, headers["Location"]) == (302, base + "/login?next=/")
        status, _, page = browser.open(base + "/login?next=/")
        assert status == 200 and 'href="/microblog/uat/web/static/style.css"' in page
        assert 'action="/microblog/uat/web/login"' in page
        assert browser.open(base + "/static/style.css")[0] == 200
        status, headers, _ = browser.open(base + "/login", {"name": "ada", "next": "/"})
        assert (status, headers["Location"]) == (303, base + "/")
        [cookie] = list(browser.cookies)
        assert cookie.name == "session" and cookie.path == "/microblog/uat/web"
        status, _, page = browser.open(base + "/")
        assert status == 200 and "Hello, ada" in page
        assert browser.open(base + "/posts", {"body": "hello from uat"})[0] == 303
        deadline = time.monotonic() + 30
        while True:
            posts = get(base + "/api/posts")[1]["posts"]
            if posts and posts[-1]["delivered"]:
                break
            assert time.monotonic() < deadline, posts
            time.sleep(0.5)

        # by domain: its own host at "/", over HTTPS, its cookie for that host (a person's browser: the DNS name)
        cert = config_dir / "secrets" / "tls" / "microblog-uat-web.acme.crt"  # pebble's, leaf first
        domain = "uat.microblog.example"
        status, body = https_get(master, domain, "/api/posts", roots)
        assert status == 200 and body["posts"][-1]["body"] == "hello from uat"
        conn = http.client.HTTPConnection(master, 80, timeout=10)
        conn.request("GET", "/", headers={"Host": domain})
        assert conn.getresponse().getheader("Location") == "https://%s/" % domain
        assert https_redirect(master, domain, roots) == "https://%s/login?next=/" % domain

        # what a person sees, in a real browser: the domain, then the same app by path (another site to the browser)
        green = "rgb(0, 170, 85)"  # h1 in its stylesheet: the static asset loaded from where the page says
        with Chromium(tmp_path / "chromium", resolve={domain: master}, pinned=[cert.read_bytes()]) as page:
            page.goto("https://%s/" % domain)
            assert page.js("location.href") == "https://%s/login?next=/" % domain
            assert page.js("getComputedStyle(document.querySelector('h1')).color") == green
            page.submit("form", {"name": "grace"})
            assert page.js("location.href") == "https://%s/" % domain
            assert page.js("document.querySelector('#hello').textContent") == "Hello, grace"
            page.goto(base + "/")  # the domain's session cookie is not sent here: logged out, sent to its login
            assert page.js("location.href") == base + "/login?next=/"
            assert page.js("getComputedStyle(document.querySelector('h1')).color") == green
            page.submit("form", {"name": "linus"})
            assert page.js("location.href") == base + "/"
            assert page.js("document.querySelector('#hello').textContent") == "Hello, linus"
            sessions = {(c["domain"], c["path"]): c for c in page.cookies() if c["name"] == "session"}
            assert set(sessions) == {(domain, "/"), (master, "/microblog/uat/web")}, sessions
            assert sessions[(domain, "/")]["secure"] and sessions[(domain, "/")]["httpOnly"]

        # prod: uat's image promoted (no build), its own database migrated, its own domain and certificate
        run = pcloud("--config-dir", str(config_dir), "deploy", "prod", "microblog", "--no-snapshot", env=env,
                     check=False)
        assert run.returncode == 0, run.stderr[-3000:]
        assert "migrated to schema version 3" in master_engine.docker(
            "logs", "pcloud-master-microblog-prod-web-release").stdout
        prod = "http://%s/microblog/prod/web" % master
        assert Browser().open(prod + "/")[1]["Location"] == prod + "/login?next=/"
        assert https_redirect(master, "microblog.example", roots) == "https://microblog.example/login?next=/"
        status, body = https_get(master, "microblog.example", "/api/posts", roots)
        assert status == 200 and body["posts"] == []  # prod's database, not uat's
        issued = x509.load_pem_x509_certificate((config_dir / "secrets" / "tls" / "microblog-prod-web.acme.crt")
                                                .read_bytes())
        assert "Pebble" in issued.issuer.rfc4514_string()
    finally:
        ca.__exit__()
        config_file.write_text(original)
        # the spec and state as before; microblog's containers stay on master (removing a project removes none)
        pcloud("--config-dir", str(config_dir), "project", "remove", "microblog", env=cloud.env(), check=False)


def served_serial(ip, name, cafile):
    """The serial number of the certificate the load balancer at ``ip`` serves for ``name``, verified."""
    ctx = ssl.create_default_context(cafile=str(cafile))
    with socket.create_connection((ip, 443), timeout=10) as raw, ctx.wrap_socket(raw, server_hostname=name) as tls:
        return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True)).serial_number


def test_acme_certificates_over_http01_and_dns01_are_issued_served_and_renewed(deployed, tmp_path):
    """Issue 12 item 7 (acme-http, acme-dns, renewal): one deploy orders the backend's certificate over HTTP-01
    (pebble connects to the load balancer on port 80) and the frontend's apex + wildcard over DNS-01 (TXT records
    through the Cloudflare API, answered by real DNS); both are served. Between deploys 'pcloud certificates'
    orders nothing while they are far from expiry, and inside the renewal window (--renew-before) it orders both
    again and the load balancer serves the new ones. Last in this
    module: its deploy adds a release the history tests above count, and the load balancer keeps pebble's
    certificates."""
    cloud, state, _summary, _result = deployed
    master = state["droplets"]["pcloud-master"]["ip"]
    api, apex, www = "api.uat.hostomatic.example", "hostomatic.example", "www.hostomatic.example"
    config_file = cloud.config_dir / "deployment_config.json"
    original = config_file.read_text()
    config = json.loads(original)
    services = config["projects"]["hostomatic"]["services"]
    services["backend"]["tls"] = "acme-http"
    services["frontend"].update(domains={"uat": [apex, "*." + apex]}, tls="acme-dns")
    config_file.write_text(json.dumps(config, indent=2))
    tls_dir = cloud.config_dir / "secrets" / "tls"
    issued = {"backend": tls_dir / "hostomatic-uat-backend.acme.crt", "frontend": tls_dir / "hostomatic-uat-frontend.acme.crt"}
    token = "cf-token-%s" % os.urandom(6).hex()
    try:
        with Pebble(tmp_path / "pebble", resolve_to=master) as ca, \
                FakeCloudflare(token, [apex], str(ca.dir / "listener.crt"), str(ca.dir / "listener.key")) as cf:
            env = dict(cloud.env(), **ca.env(), CLOUDFLARE_API_TOKEN=token, PCLOUD_CLOUDFLARE_API_URL=cf.url,
                       PCLOUD_ACME_DNS_NAMESERVERS="127.0.0.1:18053")
            started = time.monotonic()
            run = pcloud("--config-dir", str(cloud.config_dir), "deploy", "uat", "hostomatic", "--no-snapshot",
                         env=env, check=False)
            print("deploy with two ACME orders: %.1f s" % (time.monotonic() - started))
            assert run.returncode == 0, run.stderr[-3000:]
            assert token not in run.stdout + run.stderr
            roots = tmp_path / "pebble-root.pem"
            roots.write_text(ca.roots())
            status, body = https_get(master, api, "/api/version", roots)  # verified against pebble's root only
            assert status == 200 and body["forwarded"]["Proto"] == "https", body
            for name in (apex, www):  # the wildcard covers any one label
                status, body = https_get(master, name, "/health", roots)
                assert status == 200 and body["status"] == "ok", (name, body)
            names = {}
            for svc, path in issued.items():
                cert = x509.load_pem_x509_certificate(path.read_bytes())
                assert "Pebble" in cert.issuer.rfc4514_string(), cert.issuer
                names[svc] = sorted(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
                                    .value.get_values_for_type(x509.DNSName))
            assert names == {"backend": [api], "frontend": ["*." + apex, apex]}
            assert cf.records == {}  # the challenge records are removed once validated
            stamps = {svc: path.stat().st_mtime_ns for svc, path in issued.items()}
            serial = served_serial(master, apex, roots)

            calm = pcloud("--config-dir", str(cloud.config_dir), "certificates", env=env, check=False)
            assert calm.returncode == 0, calm.stderr[-3000:]
            assert "ordered now" not in calm.stdout and "hostomatic-uat-frontend" in calm.stdout, calm.stdout
            assert {svc: path.stat().st_mtime_ns for svc, path in issued.items()} == stamps  # not due: no order

            # inside the renewal window (pebble's certificates last years: a window longer than that)
            renew = pcloud("--config-dir", str(cloud.config_dir), "certificates", "--renew-before", "100000", env=env,
                           check=False)
            assert renew.returncode == 0, renew.stderr[-3000:]
            assert renew.stdout.count("ordered now: due for renewal") == 2, renew.stdout
            assert token not in renew.stdout + renew.stderr
            renewed = x509.load_pem_x509_certificate(issued["frontend"].read_bytes()).serial_number
            assert renewed != serial and served_serial(master, apex, roots) == renewed
            assert https_get(master, api, "/api/version", roots)[0] == 200
    finally:
        config_file.write_text(original)
