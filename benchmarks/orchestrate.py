"""Orchestrate on the local cloud: cold run, no-op re-run, create-to-SSH per droplet.

Starts its own local cloud (network pcloud-bench, 10.199.16.0/24) in a temporary config dir,
orchestrates master + 2 web droplets for 2 projects (hostomatic 3 servers, digitalpixo 1),
re-runs it, then times droplet creation through the API until sshd answers. Removes
everything it made. Targets on these 2-core machines: cold <= 30 s, no-op <= 10 s.

    .venv/bin/python benchmarks/orchestrate.py [--droplets N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from pcloud.localcloud import control
from pcloud.localcloud.engine import Engine

PCLOUD = str(Path(sys.executable).parent / "pcloud")


def pcloud(config: str, *args: str) -> str:
    result = subprocess.run([PCLOUD, "--config-dir", config, *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit("pcloud %s failed:\n%s\n%s" % (" ".join(args), result.stdout, result.stderr))
    return result.stdout


def api(url: str, token: str, method: str, path: str, body=None):
    req = urllib.request.Request(url + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as resp:  # noqa: S310 - loopback only
        raw = resp.read()
        return json.loads(raw) if raw else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--droplets", type=int, default=3, help="droplets for the create-to-SSH figure")
    args = parser.parse_args()
    os.environ.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    with tempfile.TemporaryDirectory(prefix="pcloud-bench-") as tmp:
        config = os.path.join(tmp, "config")
        control.purge_orphan("pcloud-bench", "pcbench")  # a killed earlier run
        try:
            endpoint = json.loads(pcloud(config, "local", "up", "--port", "0", "--network", "pcloud-bench",
                                         "--subnet", "10.199.16.0/24", "--name", "pcbench", "--json"))
            token = Path(config, "localcloud", "token").read_text().strip()
            pcloud(config, "init")
            Path(config, "projects.csv").write_text("Project,Servers,MasterSpec,WebSpec\n"
                                                    "hostomatic,3,s-1vcpu-1gb,s-1vcpu-1gb\n"
                                                    "digitalpixo,1,s-1vcpu-1gb,s-1vcpu-1gb\n")
            start = time.perf_counter()
            cold = json.loads(pcloud(config, "orchestrate", "--json"))
            cold_s = time.perf_counter() - start
            start = time.perf_counter()
            noop = json.loads(pcloud(config, "orchestrate", "--json"))
            noop_s = time.perf_counter() - start
            key = api(endpoint["url"], token, "GET", "/account/keys")["ssh_keys"][0]["id"]
            ready = []
            for i in range(args.droplets):
                start = time.perf_counter()
                made = api(endpoint["url"], token, "POST", "/droplets", {
                    "name": "bench-%d" % i, "size": "s-1vcpu-1gb", "region": "lon1", "image": "debian-12-x64",
                    "ssh_keys": [key], "tags": ["bench"]})
                droplet = api(endpoint["url"], token, "GET", "/droplets/%d" % made["droplet"]["id"])["droplet"]
                Engine.wait_ssh(droplet["networks"]["v4"][0]["ip_address"])
                ready.append(time.perf_counter() - start)
            print("cold orchestrate (3 droplets, 2 projects): %.1f s (target <= 30 s), created %s, changed=%d"
                  % (cold_s, ",".join(sorted(cold["created"])), cold["changed"]))
            print("no-op re-run: %.1f s (target <= 10 s), changed=%d" % (noop_s, noop["changed"]))
            print("API create to SSH-ready per droplet: median %.2f s, max %.2f s over %d"
                  % (statistics.median(ready), max(ready), len(ready)))
        finally:
            subprocess.run([PCLOUD, "--config-dir", config, "local", "down", "--purge"], capture_output=True, check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
