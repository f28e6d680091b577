"""pcloud orchestrate end to end on the local cloud: real droplets, real SSH, real firewall."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from ..conftest import REPO, VENV_BIN, ansible_env
from .conftest import pcloud

pytestmark = pytest.mark.usefixtures("cloud")


def run(cloud, *args, env=None, check=True):
    return pcloud("--config-dir", str(cloud.config_dir), *args, env=env or cloud.env(), check=check)


def orchestrate(cloud, *args, check=True):
    result = run(cloud, *args, "--json", check=check)
    return json.loads(result.stdout) if result.stdout.strip() else None, result


def fleet(cloud):
    """Our droplets as the provider reports them: name -> id."""
    status, body = cloud.request("GET", "/droplets?tag_name=pcloud&per_page=200")
    assert status == 200
    return {d["name"]: d["id"] for d in body["droplets"]}


def write_csv(cloud, rows):
    (cloud.config_dir / "projects.csv").write_text("Project,Servers,MasterSpec,WebSpec\n" + "".join(
        "%s,%d,s-1vcpu-1gb,s-1vcpu-1gb\n" % row for row in rows))


@pytest.fixture(scope="module")
def initialised(cloud):
    # start from an empty fleet whatever ran before in this cloud
    assert cloud.request("DELETE", "/droplets?tag_name=pcloud")[0] == 204
    (cloud.config_dir / "infrastructure.json").unlink(missing_ok=True)
    run(cloud, "init")
    write_csv(cloud, [("hostomatic", 3), ("digitalpixo", 1)])
    return cloud


def test_orchestrate_creates_the_fleet_and_second_run_changes_nothing(initialised):
    cloud = initialised
    summary, _ = orchestrate(cloud, "orchestrate")
    assert summary["status"] == "successful" and summary["failed"] == 0
    assert sorted(summary["created"]) == ["hostomatic-web1", "hostomatic-web2", "pcloud-master"]
    assert set(fleet(cloud)) == {"hostomatic-web1", "hostomatic-web2", "pcloud-master"}
    state = json.loads((cloud.config_dir / "infrastructure.json").read_text())
    assert all(d["ip"] for d in state["droplets"].values())
    assert state["health_monitoring"]["monitors"]["pcloud-master"] == ["hostomatic-web1", "hostomatic-web2"]
    assert state["infrastructure_spec"]["projects"]["hostomatic"]["web_droplets"] == 2  # rewritten from the CSV
    assert cloud.token not in (cloud.config_dir / "infrastructure.json").read_text()
    again, _ = orchestrate(cloud, "orchestrate")
    assert again["changed"] == 0 and again["created"] == [] and again["destroyed"] == []
    # every droplet's health agent answers and the ring is the same: the agents are left alone, no droplet is visited
    assert set(again["hosts"]) == {"localhost"}, again["hosts"]


def test_inventory_and_ping_over_ssh(initialised):
    cloud = initialised
    env = cloud.env()
    listed = subprocess.run([str(VENV_BIN / "ansible-inventory"), "-i", "inventory/pcloud.yml", "--list"],
                            capture_output=True, text=True, env=env, cwd=REPO, check=True)
    groups = json.loads(listed.stdout)
    assert sorted(groups["web"]["hosts"]) == ["hostomatic-web1", "hostomatic-web2"]
    ping = subprocess.run([str(VENV_BIN / "ansible"), "all", "-i", "inventory/pcloud.yml", "-m", "ansible.builtin.ping",
                           "-o"], capture_output=True, text=True, env=env, cwd=REPO, check=False)
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert sorted(line.split()[0] for line in ping.stdout.splitlines() if "SUCCESS" in line) == [
        "hostomatic-web1", "hostomatic-web2", "pcloud-master"]


def test_firewall_allows_ssh_and_blocks_service_ports_from_outside_the_fleet(initialised):
    cloud = initialised
    status, body = cloud.request("GET", "/firewalls")
    fw = next(f for f in body["firewalls"] if f["name"] == "pcloud-fleet")
    assert fw["tags"] == ["pcloud"]
    assert {"protocol": "tcp", "ports": "5000-9999", "sources": {"addresses": [], "droplet_ids": [],
                                                                  "load_balancer_uids": [], "tags": ["pcloud"]}} in fw[
        "inbound_rules"]


def test_check_changes_nothing(initialised):
    cloud = initialised
    before = fleet(cloud)
    state_before = (cloud.config_dir / "infrastructure.json").read_text()
    write_csv(cloud, [("hostomatic", 1), ("digitalpixo", 1), ("blog", 2)])
    summary, _ = orchestrate(cloud, "orchestrate", "--check")
    assert summary["check"] is True
    assert summary["created"] == ["blog-web1"]
    assert sorted(summary["destroyed"]) == ["hostomatic-web1", "hostomatic-web2"]
    assert fleet(cloud) == before
    assert (cloud.config_dir / "infrastructure.json").read_text() == state_before
    write_csv(cloud, [("hostomatic", 3), ("digitalpixo", 1)])


def test_scale_add_remove_touch_only_their_project(initialised):
    cloud = initialised
    start = fleet(cloud)
    spec = (cloud.config_dir / "projects.csv").read_text()
    # destroying 2 of the fleet's 3 droplets needs a confirmation: refused whole, the spec edit undone
    refused = run(cloud, "scale", "hostomatic", "1", check=False)
    assert refused.returncode == 2 and "would destroy 2 of the fleet's 3 droplets" in refused.stderr, refused.stderr
    assert fleet(cloud) == start and (cloud.config_dir / "projects.csv").read_text() == spec
    # ansible-playbook (and AWX) refuse too, before any change, unless pcloud_confirm_destroy is set
    write_csv(cloud, [("hostomatic", 1), ("digitalpixo", 1)])
    direct = subprocess.run([str(VENV_BIN / "ansible-playbook"), "playbooks/orchestrate.yml"], capture_output=True,
                            text=True, env=cloud.env(), cwd=REPO, check=False)
    assert direct.returncode != 0 and "pcloud_confirm_destroy=true" in direct.stdout, direct.stdout[-2000:]
    assert fleet(cloud) == start
    (cloud.config_dir / "projects.csv").write_text(spec)
    summary, _ = orchestrate(cloud, "scale", "hostomatic", "1", "--yes")
    assert sorted(summary["destroyed"]) == ["hostomatic-web1", "hostomatic-web2"] and summary["created"] == []
    assert fleet(cloud) == {"pcloud-master": start["pcloud-master"]}
    summary, _ = orchestrate(cloud, "--scale", "hostomatic", "3")
    assert sorted(summary["created"]) == ["hostomatic-web1", "hostomatic-web2"]
    summary, _ = orchestrate(cloud, "scale", "hostomatic", "2")
    assert summary["destroyed"] == ["hostomatic-web2"]
    now = fleet(cloud)
    assert set(now) == {"pcloud-master", "hostomatic-web1"} and now["pcloud-master"] == start["pcloud-master"]
    summary, _ = orchestrate(cloud, "project", "add", "blog", "--servers", "2", "--envs", "prod,uat")
    assert summary["created"] == ["blog-web1"]
    assert "blog,2,s-1vcpu-1gb,s-1vcpu-1gb,prod;uat" in (cloud.config_dir / "projects.csv").read_text()
    with_blog = fleet(cloud)
    summary, _ = orchestrate(cloud, "--remove-project", "blog")
    assert summary["destroyed"] == ["blog-web1"]
    after = fleet(cloud)
    assert after == {k: v for k, v in with_blog.items() if k != "blog-web1"}
    state = json.loads((cloud.config_dir / "infrastructure.json").read_text())
    assert "blog-prod" not in state["projects"]


def test_update_ip_changes_the_ssh_rule_and_is_recorded(initialised):
    cloud = initialised
    state = json.loads((cloud.config_dir / "infrastructure.json").read_text())
    gateway = state["admin_ip"]
    summary, _ = orchestrate(cloud, "update-ip", "192.0.2.10")
    assert summary["status"] == "successful"
    fw = next(f for f in cloud.request("GET", "/firewalls")[1]["firewalls"] if f["name"] == "pcloud-fleet")
    assert fw["inbound_rules"][0]["sources"]["addresses"] == ["192.0.2.10"]
    assert json.loads((cloud.config_dir / "infrastructure.json").read_text())["admin_ip"] == "192.0.2.10"
    summary, _ = orchestrate(cloud, "--update-ip", gateway)
    assert json.loads((cloud.config_dir / "infrastructure.json").read_text())["admin_ip"] == gateway
    result = run(cloud, "update-ip", "not-an-ip", check=False)
    assert result.returncode == 2 and "(arguments): ip: not an IP address" in result.stderr


def test_bad_spec_stops_before_any_api_call(initialised):
    cloud = initialised
    csv_before = (cloud.config_dir / "projects.csv").read_text()
    state_before = (cloud.config_dir / "infrastructure.json").read_text()
    calls_before = len(cloud.contract_entries())
    try:
        (cloud.config_dir / "projects.csv").write_text("Project,Servers,MasterSpec,WebSpec\nhostomatic,0,s-1vcpu-1gb,x\n")
        result = run(cloud, "orchestrate", check=False)
        assert result.returncode == 2
        assert "projects.csv:2: Servers:" in result.stderr and "projects.csv:2: WebSpec:" in result.stderr
        result = run(cloud, "scale", "nosuch", "2", check=False)
        assert result.returncode == 2
    finally:
        (cloud.config_dir / "projects.csv").write_text(csv_before)
    result = run(cloud, "scale", "nosuch", "2", check=False)
    assert result.returncode == 2 and "no project 'nosuch'" in result.stderr
    assert len(cloud.contract_entries()) == calls_before
    assert (cloud.config_dir / "infrastructure.json").read_text() == state_before


def test_wrong_token_and_unreachable_api_give_one_clear_message(initialised):
    cloud = initialised
    result = run(cloud, "orchestrate", env=cloud.env(PCLOUD_API_URL=cloud.url, PCLOUD_API_TOKEN="wrong"), check=False)
    assert result.returncode == 1
    assert "HTTP 401" in result.stderr and "Unable to authenticate you" in result.stderr
    result = run(cloud, "orchestrate", env=cloud.env(PCLOUD_API_URL="http://127.0.0.1:9/v2", PCLOUD_API_TOKEN="x"),
                 check=False)
    assert result.returncode == 1 and "cannot reach the local API at http://127.0.0.1:9/v2" in result.stderr


def test_second_orchestrate_refuses_while_one_runs(initialised):
    cloud = initialised
    first = subprocess.Popen([str(VENV_BIN / "pcloud"), "--config-dir", str(cloud.config_dir), "orchestrate", "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cloud.env())
    lock = cloud.config_dir / ".pcloud.lock"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and "orchestrate" not in (lock.read_text() if lock.exists() else ""):
        time.sleep(0.05)
    second = run(cloud, "orchestrate", check=False)
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert second.returncode == 1 and "locked by pcloud orchestrate (pid %d)" % first.pid in second.stderr


def test_killed_run_leaves_state_whole(initialised):
    cloud = initialised
    path = cloud.config_dir / "infrastructure.json"
    old = json.loads(path.read_text())
    write_csv(cloud, [("hostomatic", 2), ("digitalpixo", 1)])
    for delay in (0.5, 2.0, 4.0):
        proc = subprocess.Popen([str(VENV_BIN / "pcloud"), "--config-dir", str(cloud.config_dir), "orchestrate"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=cloud.env(),
                                start_new_session=True)
        time.sleep(delay)
        subprocess.run(["pkill", "-KILL", "-s", str(proc.pid)], check=False)
        # ansible-runner starts ansible-playbook in a session of its own: it dies with the run, as in a crash
        subprocess.run(["pkill", "-KILL", "-f", str(cloud.config_dir / ".runner")], check=False)
        proc.wait(timeout=30)
        data = json.loads(path.read_text())  # never torn
        assert set(data["droplets"]) in (set(old["droplets"]), {"pcloud-master", "hostomatic-web1"})
        assert not list(cloud.config_dir.glob(".infrastructure.json.*"))
    summary, _ = orchestrate(cloud, "orchestrate")  # the next run completes the change
    assert summary["status"] == "successful"
    assert set(fleet(cloud)) == {"pcloud-master", "hostomatic-web1"}


def test_force_recreates_every_droplet(initialised):
    cloud = initialised
    before = fleet(cloud)
    refused = run(cloud, "orchestrate", "--force", check=False)
    assert refused.returncode == 2 and "would destroy master and" in refused.stderr, refused.stderr
    assert fleet(cloud) == before
    summary, _ = orchestrate(cloud, "orchestrate", "--force", "--yes")
    assert summary["status"] == "successful" and sorted(summary["recreated"]) == sorted(before)
    after = fleet(cloud)
    assert set(after) == set(before) and not set(after.values()) & set(before.values())
    again, _ = orchestrate(cloud, "orchestrate")
    assert again["changed"] == 0


def test_no_secret_in_runner_artifacts(initialised):
    cloud = initialised
    for path in (cloud.config_dir / ".runner").rglob("*"):
        if path.is_file():
            assert cloud.token not in path.read_text(errors="replace"), path


def test_local_cloud_survives_a_server_restart(initialised):
    cloud = initialised
    before = fleet(cloud)
    endpoint = json.loads((cloud.config_dir / "localcloud" / "endpoint.json").read_text())
    import os

    os.kill(endpoint["pid"], signal.SIGTERM)
    deadline = time.monotonic() + 10
    while (cloud.config_dir / "localcloud" / "endpoint.json").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    up = run(cloud, "local", "up", "--json")
    cloud.url = json.loads(up.stdout)["url"]
    assert fleet(cloud) == before
    again, _ = orchestrate(cloud, "orchestrate")
    assert again["changed"] == 0


def test_a_config_dir_with_only_projects_csv(cloud, tmp_path):
    """orchestrate creates what 'pcloud init' would have written for it (ssh/ and the fleet key) and says so; the
    playbook path alone does the same (here in check mode, which writes nothing). Runs last in this module: it
    starts from an empty fleet and leaves one, so no droplet pinned or keyed here outlives it."""
    import base64
    import hashlib
    import shutil
    import stat

    fresh = tmp_path / "only-csv"
    fresh.mkdir()
    (fresh / "projects.csv").write_text("Project,Servers,MasterSpec,WebSpec\nshop,2,s-1vcpu-1gb,s-1vcpu-1gb\n")
    # the local cloud that runs for it, as 'pcloud local up' in this dir would record it
    (fresh / "localcloud").mkdir()
    for name in ("endpoint.json", "token"):
        shutil.copy(cloud.config_dir / "localcloud" / name, fresh / "localcloud" / name)
    env = ansible_env(PCLOUD_CONFIG_DIR=str(fresh))
    assert cloud.request("DELETE", "/droplets?tag_name=pcloud")[0] == 204
    try:
        check = subprocess.run([str(VENV_BIN / "ansible-playbook"), "--check", "playbooks/orchestrate.yml"],
                               capture_output=True, text=True, env=env, cwd=REPO, check=False)
        assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-2000:]
        assert not (fresh / "ssh").exists() and fleet(cloud) == {}
        result = pcloud("--config-dir", str(fresh), "orchestrate", "--json", env=env)
        summary = json.loads(result.stdout)
        assert summary["status"] == "successful" and sorted(summary["created"]) == ["pcloud-master", "shop-web1"]
        assert set(fleet(cloud)) == {"pcloud-master", "shop-web1"}
        key = fresh / "ssh" / "id_ed25519"
        assert "created the fleet SSH key pair" in result.stderr and str(key) in result.stderr, result.stderr
        assert stat.S_IMODE(key.stat().st_mode) == 0o600 and stat.S_IMODE(key.parent.stat().st_mode) == 0o700
        assert json.loads((fresh / "infrastructure.json").read_text())["droplets"]["shop-web1"]["ip"]
        again = pcloud("--config-dir", str(fresh), "orchestrate", "--json", env=env)
        assert json.loads(again.stdout)["changed"] == 0 and "fleet SSH key" not in again.stderr
    finally:
        assert cloud.request("DELETE", "/droplets?tag_name=pcloud")[0] == 204
        pub = fresh / "ssh" / "id_ed25519.pub"
        if pub.exists():  # the provider keeps no key of this throwaway dir
            digest = hashlib.md5(base64.b64decode(pub.read_text().split()[1])).hexdigest()  # noqa: S324 - DO's id
            cloud.request("DELETE", "/account/keys/%s" % ":".join(digest[i:i + 2] for i in range(0, 32, 2)))
