"""Deploys of the example project on the local cloud: cold (images built vs. cached), no-change redeploy,
prod promotion, a code change under load (failed requests), and requests/s through the load balancer vs.
directly to one backend.

Starts its own local cloud (network pcloud-bench, 10.199.16.0/24) in a temporary config dir with the
example fleet (hostomatic on master + 2 web droplets, uat and prod) and removes everything it made.
Targets on these 2-core machines: no-change redeploy <= 10 s, 0 failed requests during a redeploy,
load balancer >= 0.8 x direct.

    .venv/bin/python benchmarks/deploy.py [--seconds N] [--workers N] [--short]

--short (CI) skips the cached cold deploy and the prod promotion (tests/localcloud exercises both) and plans uat only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import docker

from pcloud import loadgen
from pcloud.loadgen import Load
from pcloud.localcloud import control

PCLOUD = str(Path(sys.executable).parent / "pcloud")


def pcloud(config: str, *args: str) -> dict:
    result = subprocess.run([PCLOUD, "--config-dir", config, *args, "--json"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit("pcloud %s failed:\n%s\n%s" % (" ".join(args), result.stdout, result.stderr))
    return json.loads(result.stdout)


def timed(config: str, *args: str) -> tuple:
    start = time.perf_counter()
    out = pcloud(config, *args)
    return time.perf_counter() - start, out


def version_of(body: bytes) -> str:
    return json.loads(body)["version"]


def commit_version(work: Path, version: str) -> None:
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "-C", str(work)]
    (work / "backend" / "VERSION").write_text(version + "\n")
    subprocess.run(git + ["commit", "--quiet", "-am", "backend " + version], check=True)
    subprocess.run(git + ["push", "--quiet", "origin", "main"], check=True)


def master_container(client: docker.DockerClient, cloud: str):
    return client.containers.list(filters={"label": ["pcloud.cloud=" + cloud, "pcloud.droplet.name=pcloud-master"]})[0]


def remove_project_containers(client: docker.DockerClient, cloud: str, project: str) -> None:
    """Remove a project's containers from every droplet's own engine (the host's engine only runs the droplets)."""
    for droplet in client.containers.list(filters={"label": "pcloud.cloud=" + cloud}):
        code, out = droplet.exec_run(["sh", "-c", "docker ps -aq --filter label=pcloud.project=%s | xargs -r docker rm -f"
                                      % project])
        if code != 0:
            raise SystemExit("removing %s's containers on %s failed: %s" % (project, droplet.name, out.decode()))


def load_from(container, url: str, args: argparse.Namespace) -> dict:
    """Run pcloud/loadgen.py (standard library only) inside a droplet and read its figures."""
    script = Path(loadgen.__file__).read_text()
    code, out = container.exec_run(["python3", "-c", script, url, "--seconds", str(args.seconds),
                                    "--workers", str(args.workers)])
    if code != 0:
        raise SystemExit("load generator in %s failed: %s" % (container.name, out.decode(errors="replace")))
    return json.loads(out.decode().strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each requests/s measurement")
    parser.add_argument("--workers", type=int, default=8, help="concurrent keep-alive clients")
    parser.add_argument("--short", action="store_true", help="no cached cold deploy, no prod promotion (CI)")
    args = parser.parse_args()
    os.environ.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    client = docker.from_env()
    with tempfile.TemporaryDirectory(prefix="pcloud-bench-") as tmp:
        config = os.path.join(tmp, "config")
        control.purge_orphan("pcloud-bench", "pcbench")  # a killed earlier run
        try:
            pcloud(config, "local", "up", "--port", "0", "--network", "pcloud-bench", "--subnet", "10.199.16.0/24",
                   "--name", "pcbench")
            cloud = json.loads(Path(config, "localcloud", "cloud.json").read_text())["cloud_id"]
            subprocess.run([PCLOUD, "--config-dir", config, "init", "--example"], capture_output=True, check=True)
            Path(config, "projects.csv").write_text("Project,Servers,MasterSpec,WebSpec,Environments\n"
                                                    "hostomatic,3,s-1vcpu-1gb,s-1vcpu-1gb,%s\n"
                                                    % ("uat" if args.short else "uat;prod"))
            pcloud(config, "orchestrate")
            # this cloud's example repository is a new commit: nothing of it is built yet; --no-cache also skips the
            # layer cache, without touching images other clouds on this engine use
            cold_s, cold = timed(config, "deploy", "uat", "hostomatic", "--no-cache")
            cached_s = prod_s = None
            if not args.short:
                remove_project_containers(client, cloud, "hostomatic")
                cached_s, cached = timed(config, "deploy", "uat", "hostomatic")
            noop_s, noop = timed(config, "deploy", "uat", "hostomatic")
            if not args.short:
                prod_s, prod = timed(config, "deploy", "prod", "hostomatic")

            state = json.loads(Path(config, "infrastructure.json").read_text())
            lb = "http://%s" % state["droplets"]["pcloud-master"]["ip"]
            work = Path(tmp, "work")
            subprocess.run(["git", "clone", "--quiet", str(Path(config, "git", "hostomatic.git")), str(work)], check=True)
            commit_version(work, "1.0.1")
            url = lb + "/hostomatic/uat/backend/api/version"
            with Load([url], workers=args.workers, classify=version_of) as load:
                change_s, change = timed(config, "deploy", "uat", "hostomatic")
                time.sleep(1)
            during = load.result

            with urllib.request.urlopen(lb + "/lb-status", timeout=10) as status:  # noqa: S310 - master droplet
                member = json.loads(status.read())["hostomatic-uat-backend"][0]
            # service ports are open to droplets only: both figures come from a client on master
            master = master_container(client, cloud)
            through_lb = load_from(master, "http://127.0.0.1/hostomatic/uat/backend/api/version", args)
            direct = load_from(master, "http://%s/api/version" % member, args)
        finally:
            subprocess.run([PCLOUD, "--config-dir", config, "local", "down", "--purge"], capture_output=True, check=False)

    print("cold deploy to uat, images built: %.1f s (changed=%d)" % (cold_s, cold["changed"]))
    if cached_s is not None:
        print("cold deploy to uat, images cached: %.1f s (changed=%d)" % (cached_s, cached["changed"]))
    print("no-change redeploy: %.1f s (target <= 10 s), changed=%d" % (noop_s, noop["changed"]))
    if prod_s is not None:
        print("prod promotion (no build): %.1f s (changed=%d)" % (prod_s, prod["changed"]))
    print("redeploy with a code change under load: %.1f s; %d requests, %d failed (target 0: %d non-2xx, %d connection "
          "errors), %d keep-alive retries; answered by %s"
          % (change_s, during.requests, during.failed, during.non_2xx, during.errors, during.retried,
             ", ".join("%s x%d" % kv for kv in sorted(during.seen.items()))))
    ratio = through_lb["rps"] / direct["rps"] if direct["rps"] else 0.0
    print("requests/s from master through the load balancer (2 backends): %.0f (%d failed); directly to one backend "
          "%s: %.0f (%d failed); ratio %.2f (target >= 0.8)"
          % (through_lb["rps"], through_lb["failed"], member, direct["rps"], direct["failed"], ratio))
    return 0 if change["status"] == "successful" else 1


if __name__ == "__main__":
    sys.exit(main())
