"""Failover on the local cloud with the example fleet: seconds from 'docker kill' of a web droplet until it is
out of the load balancer (target <= 10 s) and until its replacement serves (target <= 60 s), failed requests
during the event (target <= 1 %, none sent after the drain), and recoveries started during a single-droplet
network partition (target 0). Then master: seconds from its 'docker kill' until the web droplet with the lowest
IP serves as the load balancer, and until the rebuilt master serves again.

Starts its own local cloud (network pcloud-bench, 10.199.16.0/24) in a temporary config dir and removes
everything it made.

    .venv/bin/python benchmarks/failover.py [--workers N] [--partition-seconds S]
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import docker

from pcloud.loadgen import Load
from pcloud.localcloud import control

PCLOUD = str(Path(sys.executable).parent / "pcloud")


def pcloud(config: str, *args: str) -> None:
    result = subprocess.run([PCLOUD, "--config-dir", config, *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit("pcloud %s failed:\n%s\n%s" % (" ".join(args), result.stdout, result.stderr))


def wait_for(predicate, timeout: float, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4, help="concurrent keep-alive clients")
    parser.add_argument("--partition-seconds", type=float, default=45.0, help="how long the partition lasts")
    parser.add_argument("--no-master", action="store_true", help="skip killing master")
    args = parser.parse_args()
    os.environ.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    client = docker.from_env()
    with tempfile.TemporaryDirectory(prefix="pcloud-bench-") as tmp:
        config = os.path.join(tmp, "config")
        control.purge_orphan("pcloud-bench", "pcbench")  # a killed earlier run
        try:
            pcloud(config, "local", "up", "--port", "0", "--network", "pcloud-bench", "--subnet", "10.199.16.0/24",
                   "--name", "pcbench")
            cloud = json.loads(Path(config, "localcloud", "cloud.json").read_text())
            pcloud(config, "init", "--example")
            Path(config, "projects.csv").write_text("Project,Servers,MasterSpec,WebSpec,Environments\n"
                                                    "hostomatic,3,s-1vcpu-1gb,s-1vcpu-1gb,uat\n")
            for step in (["orchestrate"], ["deploy", "uat", "hostomatic"], ["platform"]):
                pcloud(config, *step)
            state = json.loads(Path(config, "infrastructure.json").read_text())
            label = "pcloud.cloud=" + cloud["cloud_id"]

            def droplet(name):
                return client.containers.list(all=True, filters={"label": [label, "pcloud.droplet.name=" + name]})[0]

            def drained():
                """The addresses /lb-status shows drained (members marked down)."""
                status = answers_json("http://%s/lb-status" % state["droplets"]["pcloud-master"]["ip"]) or {}
                return {m.rsplit(":", 1)[0] for members in status.get("drained", {}).values() for m in members}

            def incidents():
                path = Path(config, "incidents.json")
                return json.loads(path.read_text()) if path.exists() else []

            time.sleep(15)  # the agents' first rounds
            # a partition: web2 cut off from the droplet network
            network = client.networks.get(cloud["network"])
            web2, web2_ip = droplet("hostomatic-web2"), state["droplets"]["hostomatic-web2"]["ip"]
            before = len(incidents())
            network.disconnect(web2)
            time.sleep(args.partition_seconds)
            false_recoveries = len(incidents()) - before
            network.connect(web2, ipv4_address=web2_ip)
            wait_for(lambda: not drained(), 60)

            # a kill: web1 under load
            ip = state["droplets"]["hostomatic-web1"]["ip"]
            answers = []

            def classify(body: bytes) -> str:
                name = json.loads(body)["droplet"]
                answers.append((time.time(), name))
                return name

            url = "http://%s/hostomatic/uat/backend/api/version" % state["droplets"]["pcloud-master"]["ip"]
            with Load([url], workers=args.workers, classify=classify) as load:
                time.sleep(3)
                killed = time.time()
                droplet("hostomatic-web1").kill()
                wait_for(lambda: ip in drained(), 60, 0.1)  # as /lb-status shows it
                drained_at = time.time()
                serving = wait_for(lambda: [t for t, d in answers if d == "hostomatic-web1" and t > drained_at], 300, 0.5)
                time.sleep(2)
            result = load.result
            finished = wait_for(lambda: [i for i in incidents() if i["droplet"] == "hostomatic-web1"
                                         and i["status"] in ("recovered", "failed")], 120, 1)
            incident = finished[-1] if finished else {}
            master_times = None if args.no_master else kill_master(config, droplet, incidents)
        finally:
            subprocess.run([PCLOUD, "--config-dir", config, "local", "down", "--purge"], capture_output=True, check=False)

    after_drain = len([t for t in result.failed_at if t > drained_at + 1])
    print("kill -> out of the load balancer (/lb-status): %.1f s (target <= 10 s)" % (drained_at - killed))
    print("kill -> replacement serving: %s (target <= 60 s)" % ("%.1f s" % (serving[0] - killed) if serving else "never"))
    print("recovery steps: %s" % ", ".join("%s %.1f s" % (s["step"], s["seconds"]) for s in incident.get("steps", [])))
    print("requests during the event: %d, failed %d (%.2f %%, target <= 1 %%), sent after the drain and failed: %d "
          "(target 0), keep-alive retries %d"
          % (result.requests, result.failed, 100.0 * result.failed / max(1, result.requests), after_drain, result.retried))
    print("recoveries started during a %.0f s partition of one droplet: %d (target 0)" % (args.partition_seconds,
                                                                                      false_recoveries))
    if master_times is not None:
        standby, took_over, rebuilt = master_times
        print("master kill -> load balancer on %s: %s; -> rebuilt master serving: %s"
              % (standby, "%.1f s" % took_over if took_over else "never", "%.1f s" % rebuilt if rebuilt else "never"))
    return 0 if serving and false_recoveries == 0 and (master_times is None or master_times[2]) else 1


def answers_json(url: str):
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - a droplet of the local cloud
            return json.loads(resp.read())
    except (OSError, ValueError):
        return None


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - a droplet of the local cloud
            return resp.status == 200
    except OSError:
        return False


def kill_master(config: str, droplet, incidents):
    """(standby, seconds until it serves as the load balancer, seconds until the rebuilt master serves)."""
    state = json.loads(Path(config, "infrastructure.json").read_text())
    webs = {n: b["ip"] for n, b in state["droplets"].items() if b["role"] == "web"}
    standby = min(webs, key=lambda n: ipaddress.ip_address(webs[n]))
    path = "/hostomatic/uat/backend/api/version"
    before = len(incidents())
    killed = time.time()
    droplet("pcloud-master").kill()
    took_over = wait_for(lambda: answers("http://%s%s" % (webs[standby], path)), 180, 0.5)
    took_over_at = time.time() if took_over else None
    done = wait_for(lambda: [i for i in incidents()[before:] if i["droplet"] == "pcloud-master"
                             and i["status"] in ("recovered", "failed")], 400, 1)
    master_ip = json.loads(Path(config, "infrastructure.json").read_text())["droplets"]["pcloud-master"]["ip"]
    rebuilt = wait_for(lambda: answers("http://%s%s" % (master_ip, path)), 30, 0.5) if done else None
    return (standby, took_over_at - killed if took_over_at else None,
            (time.time() - killed) if rebuilt and done[-1]["status"] == "recovered" else None)


if __name__ == "__main__":
    sys.exit(main())
