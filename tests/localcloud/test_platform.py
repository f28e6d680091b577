"""playbooks/platform.yml on real droplets: Docker, PostgreSQL and Redis per project-env on master."""

from __future__ import annotations

import json
import re
import socket
import subprocess

import pytest

from ..conftest import REPO, VENV_BIN
from .conftest import droplet_engine, host_service_containers, pcloud, ssh


@pytest.fixture(scope="module")
def platform(cloud):
    config = cloud.config_dir
    pcloud("--config-dir", str(config), "init", env=cloud.env())
    (config / "projects.csv").write_text("Project,Servers,MasterSpec,WebSpec,Environments\n"
                                         "shop,2,s-1vcpu-1gb,s-1vcpu-1gb,prod;uat\n")
    pcloud("--config-dir", str(config), "orchestrate", env=cloud.env())
    state = json.loads((config / "infrastructure.json").read_text())
    return cloud, state


def play(cloud, *extra):
    result = subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", "inventory/pcloud.yml", "playbooks/platform.yml",
                             *extra], capture_output=True, text=True, env=cloud.env(), cwd=REPO, check=False, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", result.stdout, re.M)}


def test_converge_then_nothing_changes(platform):
    cloud, _state = platform
    first = play(cloud)
    assert first["pcloud-master"] > 0
    again = play(cloud)
    assert set(again.values()) == {0}, again
    check = play(cloud, "--check")
    assert set(check.values()) == {0}, check


def test_databases_answer_droplets_but_not_outsiders(platform):
    cloud, state = platform
    master_ip = state["droplets"]["pcloud-master"]["ip"]
    web_ip = state["droplets"]["shop-web1"]["ip"]
    key = cloud.config_dir / "ssh" / "id_ed25519"
    for env in ("prod", "uat"):
        for service in ("database", "redis"):
            port = state["projects"]["shop-%s" % env][service]["port"]
            probe = ssh(web_ip, key, "python3 -c \"import socket; socket.create_connection(('%s', %d), 3); print('open')\""
                        % (master_ip, port))
            assert probe.stdout.strip() == "open", (service, env, probe.stderr)
            with pytest.raises(OSError):  # this machine is the admin IP: SSH only, not service ports
                socket.create_connection((master_ip, port), timeout=2).close()


def test_database_login_with_the_generated_password(platform):
    cloud, state = platform
    db = state["projects"]["shop-prod"]["database"]
    master = droplet_engine(cloud, "pcloud-master")  # the data services run in master's own engine
    assert host_service_containers(cloud) == []
    code, out = master.exec("pcloud-master-shop-prod-database", "sh", "-c",
                            "PGPASSWORD=$(cat /run/secrets/db_password) psql -h 127.0.0.1 -p %d -U %s -d %s "
                            "-tAc 'select current_user'" % (db["port"], db["db_user"], db["db_name"]))
    assert code == 0 and out.strip() == db["db_user"], out
    password = (cloud.config_dir / "secrets" / "shop-prod-db_password").read_text().strip()
    assert len(password) == 32
    assert oct((cloud.config_dir / "secrets" / "shop-prod-db_password").stat().st_mode & 0o777) == "0o600"
    inspected = json.dumps(master.inspect("pcloud-master-shop-prod-database"))
    assert password not in inspected
    assert password not in (cloud.config_dir / "infrastructure.json").read_text()
    port = state["projects"]["shop-prod"]["redis"]["port"]
    code, out = master.exec("pcloud-master-shop-prod-redis", "sh", "-c",
                            "redis-cli -p %d ping; redis-cli -p %d -a $(cat /run/secrets/redis_password) "
                            "--no-auth-warning ping" % (port, port))
    assert out.split() == ["NOAUTH", "Authentication", "required.", "PONG"], out


def test_data_survives_a_container_recreation(platform):
    cloud, state = platform
    db = state["projects"]["shop-uat"]["database"]
    master = droplet_engine(cloud, "pcloud-master")
    name = "pcloud-master-shop-uat-database"
    sql = "PGPASSWORD=$(cat /run/secrets/db_password) psql -h 127.0.0.1 -p %d -U %s -d %s -tAc" % (
        db["port"], db["db_user"], db["db_name"])
    code, out = master.exec(name, "sh", "-c", sql + " 'create table if not exists kept (x int); insert into kept values (42)'")
    assert code == 0, out
    master.docker("rm", "-f", name)
    assert play(cloud)["pcloud-master"] > 0  # the role recreates it, same volume, same password
    code, out = master.exec(name, "sh", "-c", sql + " 'select sum(x) from kept'")
    assert code == 0 and out.strip() == "42", out
