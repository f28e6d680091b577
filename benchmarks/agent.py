"""The health agent's overhead: CPU (% of one core, averaged over the run) and memory (RSS) of each agent of a
three-droplet ring at the default interval (5 s), in containers with the memory limit the role sets.

Targets: <= 1 % of a core averaged over 10 minutes, <= 30 MB RSS. Three agent containers (master and two web
droplets, on a network of their own, 10.199.24.0/24) probe each other as the ring assigns, read their containers
(dummy ones named as the role's expected containers) through the engine's socket, answer each other's probes, and
master mails its heartbeat (to an SMTP server in this process). Runs 40 s by default (CI: under a minute in all);
the 10-minute figure of the target with PCLOUD_BENCH_FULL=1 (or --seconds 600). Removes everything it made, and
first what a killed earlier run left (containers and network labelled pcloud.bench=agent).
Exits 1 when an agent stops, is killed for memory or fails its probes, or master sends no heartbeat.

What is measured is the agent process, as on a droplet; the setting is lighter than a droplet, on purpose: no local
cloud is started. On a droplet the agent is a container of the droplet's own engine with host networking (the
droplet's address, that engine's socket); here each agent is a container of this machine's engine with an address
of its own on the bench network and this engine's socket. It lists every container of this engine each round, so on
a busy machine it reads more than on a droplet: the figures are an upper bound.

    .venv/bin/python benchmarks/agent.py [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import docker
import yaml
from aiosmtpd.controller import Controller

from pcloud import _collection  # noqa: F401
from pcloud.localcloud import engine

from ansible_collections.pcloud.infra.plugins.module_utils import health, zipapp  # isort: skip

ROOT = Path(__file__).resolve().parents[1]
MODULE_UTILS = ROOT / "collections" / "ansible_collections" / "pcloud" / "infra" / "plugins" / "module_utils"
ROLE = ROOT / "collections" / "ansible_collections" / "pcloud" / "infra" / "roles" / "health_monitor"
AGENT = ROOT / "src" / "pcloud" / "agent"
NETWORK, SUBNET, GATEWAY = "pcloud-bench-agent", "10.199.24.0/24", "10.199.24.1"
LABEL = "pcloud.bench=agent"
IPS = {"pcloud-master": "10.199.24.2", "bench-web1": "10.199.24.3", "bench-web2": "10.199.24.4"}
STATE = {
    "droplets": {
        "pcloud-master": {"ip": IPS["pcloud-master"], "role": "master", "monitors": ["bench-web1", "bench-web2"]},
        "bench-web1": {"ip": IPS["bench-web1"], "role": "web", "monitors": ["pcloud-master", "bench-web2"]},
        "bench-web2": {"ip": IPS["bench-web2"], "role": "web", "monitors": ["pcloud-master", "bench-web1"]},
    },
    "projects": {"bench-uat": {
        "backend": {"type": "web", "port": 8100, "assigned_droplets": ["bench-web1", "bench-web2"],
                    "service_name": "bench-uat-backend"},
        "frontend": {"type": "web", "port": 8101, "assigned_droplets": ["bench-web1", "bench-web2"],
                     "service_name": "bench-uat-frontend"},
        "jobs": {"type": "worker", "assigned_droplets": ["bench-web1"], "service_name": "bench-uat-jobs"},
    }},
}
TEMPLATES = AGENT.parent / "data" / "templates"


def agent_sources():
    """The agent's modules as the role ships them, one zip application (roles/health_monitor/vars/main.yml)."""
    listed = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())["_health_monitor_sources"]
    return {name: Path(path.replace("{{ __health_monitor_agent_dir }}", str(AGENT))
                       .replace("{{ _health_monitor_module_utils }}", str(MODULE_UTILS))).read_text()
            for name, path in listed.items()}


class Sink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.count += 1
        return "250 OK"


def agent_dir(tmp: str, name: str, smtp_port: int) -> str:
    """The agent's /opt/pcloud as the role fills it: code, configuration, fleet key, mail templates."""
    path = Path(tmp, name)
    path.mkdir()
    (path / "agent.pyz").write_bytes(zipapp.zipapp(agent_sources(), "pcloud_agent"))
    for template in TEMPLATES.glob("*.j2"):
        (path / template.name).write_bytes(template.read_bytes())
    (path / "agent-key").write_text("6265" * 32 + "\n")
    config = health.agent_config(STATE, name, name, droplet_ids={n: i + 1 for i, n in enumerate(sorted(IPS))})
    config.update(api={"url": "", "token_file": None}, recovery_url=None, auth={"key_file": "/opt/pcloud/agent-key"},
                  notify={"email": {"enabled": True, "smtp_host": GATEWAY, "smtp_port": smtp_port, "tls": "none",
                                    "username_env": None, "password_env": None, "from": "pcloud@localhost",
                                    "to": ["owner@localhost"], "heartbeat_minutes": 15, "backup_after_minutes": 20,
                                    "timeout": 5},
                          "sms": {"enabled": False}, "templates": "/opt/pcloud"})
    (path / "agent.json").write_text(json.dumps(config))
    return str(path)


def agent_pid(container) -> int:
    """The agent's python process on this machine (the container's init is docker's tini)."""
    container.reload()
    init = container.attrs["State"]["Pid"]
    children = Path("/proc/%d/task/%d/children" % (init, init)).read_text().split()
    return int(children[0]) if children else init


def cpu_seconds(pid: int) -> float:
    fields = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def healthy(name: str) -> bool:
    try:
        with urllib.request.urlopen("http://%s:8080/health" % IPS[name], timeout=3) as resp:  # noqa: S310 - our containers
            return resp.status == 200
    except OSError:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    full = os.environ.get("PCLOUD_BENCH_FULL") == "1"
    parser.add_argument("--seconds", type=float, default=600.0 if full else 40.0, help="measured seconds")
    args = parser.parse_args()
    os.environ.update(NO_PROXY="*", no_proxy="*")
    client = docker.from_env()
    image = engine.ensure_service_image(client, "agent", log=lambda line: print(line, file=sys.stderr))
    memory = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())["health_monitor_memory"]
    sink = Sink()
    made = []
    for leftover in client.containers.list(all=True, filters={"label": LABEL}):  # a killed earlier run
        leftover.remove(force=True)
    for leftover in client.networks.list(names=[NETWORK], filters={"label": LABEL}):
        leftover.remove()
    with tempfile.TemporaryDirectory(prefix="pcloud-bench-agent-") as tmp:
        network = client.networks.create(NETWORK, driver="bridge", labels={"pcloud.bench": "agent"},
                                         ipam=docker.types.IPAMConfig(pool_configs=[
                                             docker.types.IPAMPool(subnet=SUBNET, gateway=GATEWAY)]))
        with socket.socket() as probe:  # a free port on the network's gateway, where the agents reach this machine
            probe.bind((GATEWAY, 0))
            port = probe.getsockname()[1]
        smtp = Controller(sink, hostname=GATEWAY, port=port)
        smtp.start()
        try:
            agents = {}
            for name, ip in IPS.items():
                # the containers the role expects on each droplet, so each round lists and inspects real ones
                for item in health.expected_containers(STATE, name, name):
                    made.append(client.containers.run(image, ["sleep", "infinity"], name=item["names"][0], detach=True,
                                                      network_mode="none", init=True, labels={"pcloud.bench": "agent"}))
                host_config = client.api.create_host_config(
                    binds={agent_dir(tmp, name, smtp.port): {"bind": "/opt/pcloud", "mode": "rw"},
                           "/var/run/docker.sock": {"bind": "/var/run/docker.sock", "mode": "rw"}},
                    init=True, mem_limit=memory or None)
                created = client.api.create_container(
                    image, ["python3", "/opt/pcloud/agent.pyz", "--config", "/opt/pcloud/agent.json"],
                    name="%s-health-agent" % name, working_dir="/opt/pcloud", environment={"MALLOC_ARENA_MAX": "2"},
                    labels={"pcloud.bench": "agent"}, host_config=host_config,
                    networking_config=client.api.create_networking_config(
                        {NETWORK: client.api.create_endpoint_config(ipv4_address=ip)}))
                agents[name] = client.containers.get(created["Id"])
                made.append(agents[name])
                agents[name].start()
            deadline = time.monotonic() + 30
            while not all(healthy(n) for n in IPS) and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(6)  # start-up (imports, the first round, master's first heartbeat) is not steady state
            pids = {n: agent_pid(c) for n, c in agents.items()}
            before = {n: cpu_seconds(p) for n, p in pids.items()}
            peak = {n: rss_mb(p) for n, p in pids.items()}
            started = time.monotonic()
            while time.monotonic() - started < args.seconds:
                time.sleep(min(5.0, max(0.0, args.seconds - (time.monotonic() - started))))
                for name, pid in pids.items():
                    peak[name] = max(peak[name], rss_mb(pid))
            wall = time.monotonic() - started
            after = {n: cpu_seconds(p) for n, p in pids.items()}
            rss = {n: rss_mb(p) for n, p in pids.items()}
            reports = {}
            for name, ip in IPS.items():
                with urllib.request.urlopen("http://%s:8080/health" % ip, timeout=5) as resp:  # noqa: S310 - ours
                    reports[name] = json.loads(resp.read())
            oom = {}
            for name, container in agents.items():
                container.reload()
                oom[name] = container.attrs["State"].get("OOMKilled") or container.status != "running"
        finally:
            smtp.stop()
            for container in made:
                container.remove(force=True)
            network.remove()

    ok = True
    print("health agent overhead over %.0f s at the default interval (%.0f s), memory limit %s%s:"
          % (wall, health.agent_config(STATE, "pcloud-master", "x")["interval"], memory or "none",
             "" if full or args.seconds >= 600 else "; PCLOUD_BENCH_FULL=1 for the 10-minute figure"))
    for name in IPS:
        cpu = 100.0 * (after[name] - before[name]) / wall
        probes_ok = all(p["failures"] == 0 for p in reports[name]["monitors"].values())
        ok = ok and probes_ok and not oom[name]
        print("  %-14s CPU %.2f %% of a core (target <= 1 %%), RSS %.1f MB, peak %.1f MB (target <= 30 MB)%s%s"
              % (name, cpu, rss[name], peak[name], "" if probes_ok else ", PROBES FAILING", ", STOPPED OR OOM-KILLED" if oom[name] else ""))
    print("  heartbeat mails received: %d" % sink.count)
    return 0 if ok and sink.count >= 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
