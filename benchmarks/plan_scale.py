"""Plan a large fleet: 300 projects x 3 environments on 100+ droplets.

50 projects have 3 servers (100 web droplets), 250 live on master only, so master carries
900 databases and 900 redis instances in 1000-port ranges, and 750 backends and frontends.
Prints the seconds to plan (parse + allocate + relationships) and the number of port
collisions left in the result (must be 0). Target: under 2 s.

    .venv/bin/python benchmarks/plan_scale.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "collections"))

from ansible_collections.pcloud.infra.plugins.module_utils.allocation import port_kind, seed_port  # noqa: E402
from ansible_collections.pcloud.infra.plugins.module_utils.spec import (  # noqa: E402
    DeploymentConfig,
    Spec,
    parse_projects_csv,
)
from ansible_collections.pcloud.infra.plugins.module_utils.topology import (  # noqa: E402
    build_state,
    lb_targets,
    validate_state,
)


def make_csv(projects: int, multi: int) -> str:
    rows = ["Project,Servers,MasterSpec,WebSpec"]
    for i in range(projects):
        rows.append("proj%03d,%d,s-8vcpu-16gb,s-1vcpu-2gb" % (i, 3 if i < multi else 1))
    return "\n".join(rows) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    text = make_csv(300, 50)
    timings = []
    state = {}
    for _ in range(args.repeat):
        start = time.perf_counter()
        spec = Spec(infra=parse_projects_csv(text, "bench.csv"), deploy=DeploymentConfig())
        state = build_state(spec)
        ips = {name: "10.200.%d.%d" % divmod(i + 2, 250) for i, name in enumerate(sorted(state["droplets"]))}
        for name, ip in ips.items():
            state["droplets"][name]["ip"] = ip
        lb_targets(state)
        problems = validate_state(state, require_ips=True)
        timings.append(time.perf_counter() - start)
    conflicts = [p for p in problems if "used by both" in p]
    probed = sum(1 for key, services in state["projects"].items() for svc, body in services.items()
                 if "port" in body and body["port"] != seed_port(body["project"], body["environment"], svc,
                                                                  port_kind(svc, body["type"])))
    counts = state["summary"]
    print("fleet: %d droplets, %d projects, %d project-envs, %d databases, %d web services"
          % (counts["droplets"], counts["projects"], counts["environments"], counts["databases"],
             counts["web_services"]))
    print("plan seconds: median %.3f, min %.3f, max %.3f over %d runs (target < 2 s)"
          % (statistics.median(timings), min(timings), max(timings), len(timings)))
    print("port collisions in the result: %d (must be 0)" % len(conflicts))
    print("seed-formula collisions resolved by probing: %d of %d ports"
          % (probed, sum(1 for _k, s in state["projects"].items() for b in s.values() if "port" in b)))
    return 0 if not conflicts and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
