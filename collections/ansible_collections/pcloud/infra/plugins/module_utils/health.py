# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""The health agent's bookkeeping, without I/O: what a droplet should run, what its report says, and
what a monitor has seen of its peers (consecutive failures, last contact, isolation).

The agent (``pcloud.agent``) feeds probe results in and serves the views; ``consensus.decide`` turns the
views of a target's monitors into a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

# Only the standard library: the agent runs this file inside droplets, beside consensus.py.

ALTERNATE_SUFFIX = "-alt"
AGENT_PORT = 8080
MASTER_ROLE = "master"


def expected_containers(state: Mapping[str, Any], droplet: str, prefix: str) -> List[Dict[str, Any]]:
    """The containers ``droplet`` should run: ``[{"service", "kind", "names"}]``; a web service runs in either of
    its two slots, so it lists both names. Master also runs the load balancer."""
    out: List[Dict[str, Any]] = []
    for key in sorted(state.get("projects", {})):
        for service, body in sorted(state["projects"][key].items()):
            if droplet not in body.get("assigned_droplets", ()):
                continue
            kind = body.get("type")
            base = "%s-%s-%s" % (prefix, key, service)
            names = [base, base + ALTERNATE_SUFFIX] if kind == "web" else [base]
            out.append({"service": body.get("service_name", "%s-%s" % (key, service)), "kind": kind, "names": names})
    if (state.get("droplets", {}).get(droplet) or {}).get("role") == MASTER_ROLE:
        out.append({"service": "nginx-lb", "kind": "lb", "names": ["%s-nginx-lb" % prefix]})
    return out


def queue_checks(state: Mapping[str, Any], droplet: str, prefix: str) -> List[Dict[str, Any]]:
    """The worker queues whose Redis runs on ``droplet``: ``[{"key", "service", "queue", "container"}]`` - the
    agent there reads each depth inside the Redis container (its password never leaves it)."""
    out: List[Dict[str, Any]] = []
    for key in sorted(state.get("projects", {})):
        services = state["projects"][key]
        redis = [name for name, body in services.items() if body.get("type") == "redis"
                 and droplet in body.get("assigned_droplets", ())]
        if not redis:
            continue
        for service, body in sorted(services.items()):
            if body.get("type") == "worker" and body.get("queue"):
                out.append({"key": key, "service": body.get("service_name", "%s-%s" % (key, service)),
                            "queue": body["queue"], "container": "%s-%s-%s" % (prefix, key, redis[0])})
    return out


def agent_config(state: Mapping[str, Any], droplet: str, prefix: str, interval: float = 5.0, timeout: float = 2.0,
                 k: int = 3, replace_after: float = 600.0, takeover_after: float = 30.0,
                 droplet_ids: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """Everything the agent on ``droplet`` needs, from the rendered state (with IPs): who it is, whom it probes
    (its ``monitors`` list in the state), the monitors of each of its targets, every peer's address and id,
    the containers it should run, and where the load balancer runs."""
    droplets = state.get("droplets", {})
    if droplet not in droplets or not droplets[droplet].get("ip"):
        raise ValueError("droplet %r is not in the state or has no IP address yet" % droplet)
    targets = sorted(droplets[droplet].get("monitors") or ())
    monitors_of = {t: sorted(n for n, b in droplets.items() if t in (b.get("monitors") or ())) for t in targets}
    master = next((n for n, b in sorted(droplets.items()) if b.get("role") == MASTER_ROLE), None)
    return {
        "droplet": droplet, "ip": droplets[droplet]["ip"], "port": AGENT_PORT, "role": droplets[droplet].get("role"),
        "interval": float(interval), "timeout": float(timeout), "k": int(k), "max_age": float(interval) * (int(k) + 2),
        "replace_after": float(replace_after), "takeover_after": float(takeover_after),
        "peers": {n: b["ip"] for n, b in sorted(droplets.items()) if n != droplet and b.get("ip")},
        "droplet_ids": {n: (droplet_ids or {}).get(n) for n in sorted(droplets)},
        "targets": targets, "monitors_of": monitors_of, "master": master,
        "roles": {n: b.get("role") for n, b in sorted(droplets.items())},
        "expected": expected_containers(state, droplet, prefix),
        "queues": queue_checks(state, droplet, prefix),
        "lb_container": "%s-nginx-lb" % prefix if master == droplet else None,
    }


def container_report(expected: Sequence[Mapping[str, Any]], actual: Mapping[str, Mapping[str, Any]]) -> Dict[str, Any]:
    """Expected vs running. ``actual`` is ``{container name: {"running": bool, "restarts": int}}``."""
    missing, running, restarts, workers = [], 0, {}, []
    for item in expected:
        up = [n for n in item["names"] if (actual.get(n) or {}).get("running")]
        if up:
            running += 1
        else:
            missing.append(item["service"])
        for name in item["names"]:
            count = int((actual.get(name) or {}).get("restarts") or 0)
            if count:
                restarts[item["service"]] = restarts.get(item["service"], 0) + count
        if item["kind"] == "worker":
            workers.append({"service": item["service"], "running": bool(up)})
    return {"expected": len(expected), "running": running, "missing": missing, "restarts": restarts, "workers": workers}


def droplet_status(containers: Mapping[str, Any], disk_used_pct: Optional[float] = None) -> str:
    """ok | degraded (a container missing, or the disk over 90 %)."""
    if containers["missing"] or (disk_used_pct is not None and disk_used_pct > 90):
        return "degraded"
    return "ok"


@dataclass
class Peer:
    name: str
    ip: str
    failures: int = 0
    last_ok: Optional[float] = None
    last_attempt: Optional[float] = None


class PeerBook:
    """What a monitor has seen of its peers. ``record`` each probe or view fetch; a success resets the count."""

    def __init__(self, me: str, my_ip: str, peers: Mapping[str, str]) -> None:
        self.me, self.my_ip = me, my_ip
        self.peers: Dict[str, Peer] = {n: Peer(n, ip) for n, ip in sorted(peers.items()) if n != me}
        self.started: Optional[float] = None

    def contact(self, name: str, now: float) -> None:
        """A successful exchange with a peer that is not a probe (e.g. fetching its views)."""
        if name in self.peers:
            self.peers[name].last_ok = now

    def record(self, name: str, ok: bool, now: float) -> None:
        peer = self.peers[name]
        peer.last_attempt = now
        if self.started is None:
            self.started = now
        if ok:
            peer.failures, peer.last_ok = 0, now
        else:
            peer.failures += 1

    def isolated(self, now: float, max_age: float) -> bool:
        """True when this monitor has tried for at least ``max_age`` seconds and reached no peer in that time."""
        if not self.peers or self.started is None or now - self.started < max_age:
            return False
        return not any(p.last_ok is not None and now - p.last_ok <= max_age for p in self.peers.values())

    def views(self, targets: Iterable[str], now: float, max_age: float) -> List[Dict[str, Any]]:
        """This monitor's views of ``targets`` in the shape ``consensus.View.from_json`` reads."""
        isolated = self.isolated(now, max_age)
        return [{"monitor": self.me, "monitor_ip": self.my_ip, "target": t, "failures": self.peers[t].failures,
                 "last_ok": self.peers[t].last_ok, "at": now, "isolated": isolated}
                for t in sorted(targets) if t in self.peers]


def seen_by(reports: Mapping[str, Optional[Mapping[str, Any]]], droplets: Mapping[str, Mapping[str, Any]]) -> Dict[str, Dict[str, str]]:
    """For each droplet, how each of its monitors sees it: ``ok``, ``N failed`` or ``no report`` (the monitor's
    agent did not answer)."""
    out: Dict[str, Dict[str, str]] = {}
    for target in sorted(droplets):
        views = {}
        for monitor in sorted(m for m, body in droplets.items() if target in (body.get("monitors") or ())):
            peer = ((reports.get(monitor) or {}).get("monitors") or {}).get(target)
            if reports.get(monitor) is None or peer is None:
                views[monitor] = "no report"
            else:
                views[monitor] = "ok" if not peer.get("failures") else "%d failed" % peer["failures"]
        out[target] = views
    return out
