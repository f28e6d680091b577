# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""When the fleet may call a droplet dead, and who acts on it.

Every droplet is watched by the monitors the ring assigns it (``topology``: master watches every web
droplet, each web droplet watches master and the next web droplet). A monitor probes its targets every
``interval`` seconds and counts consecutive failures; a success resets the count, so a flapping target
never reaches ``k``. The decision for a target takes the *fresh* views (reported within ``max_age``
seconds) of all of its monitors:

* a monitor **votes down** when it has seen ``k`` consecutive failures and can still reach some other
  peer (a monitor that reaches nobody is partitioned itself and abstains);
* the failure is **confirmed** when the down votes are a majority of the target's monitors
  (``len(monitors) // 2 + 1``) and there are at least two of them, or when at least one monitor votes down and the provider, a second
  source, says the droplet is not running (the case of a lone monitor, or of monitors that cannot
  all be heard);
* one down vote without a majority or a second source is **suspect**; no down vote is **healthy**.

Among the agreeing monitors the one with the lowest IP address is the **leader** and acts; the others
stand by, and the next one takes over when the acting monitor has not reported progress on the
incident for ``takeover_after`` seconds. An incident is named after the target and the provider's id of
the droplet that failed (``incident_id``), so one failure leads to one recovery: the replacement has a
new id, and its own failures are new incidents.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence

HEALTHY = "healthy"
SUSPECT = "suspect"
CONFIRMED = "confirmed"
# provider statuses that mean the droplet is not running (DigitalOcean: new, active, off, archive)
NOT_RUNNING = frozenset(("off", "archive", "missing"))


@dataclass(frozen=True)
class View:
    """What one monitor reports about one target."""

    monitor: str
    monitor_ip: str
    failures: int  # consecutive failed probes of the target
    at: float  # when the view was taken (seconds since the epoch)
    isolated: bool = False  # the monitor reaches none of its other peers

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> View:
        return cls(monitor=str(data["monitor"]), monitor_ip=str(data["monitor_ip"]), failures=int(data["failures"]),
                   at=float(data["at"]), isolated=bool(data.get("isolated", False)))


@dataclass(frozen=True)
class Decision:
    target: str
    verdict: str  # healthy | suspect | confirmed
    down: List[str]  # the monitors voting down, leader first
    needed: int  # down votes that make a majority
    leader: Optional[str]
    reason: str
    abstained: List[str] = field(default_factory=list)  # stale, missing or partitioned monitors

    def to_json(self) -> Dict[str, Any]:
        return {"target": self.target, "verdict": self.verdict, "down": list(self.down), "needed": self.needed,
                "leader": self.leader, "reason": self.reason, "abstained": list(self.abstained)}


def _ip_key(ip: str) -> Any:
    try:
        return (0, int(ipaddress.ip_address(ip)))
    except ValueError:
        return (1, ip)


def decide(target: str, monitors: Sequence[str], views: Sequence[View], now: float, k: int = 3,
           max_age: float = 15.0, provider_status: Optional[str] = None) -> Decision:
    """The verdict on ``target`` from its ``monitors``' views (see the module docstring)."""
    if k < 1:
        raise ValueError("k must be at least 1")
    expected = sorted(set(monitors))
    needed = len(expected) // 2 + 1 if expected else 1
    latest: Dict[str, View] = {}
    for view in views:
        if view.monitor in expected and (view.monitor not in latest or view.at > latest[view.monitor].at):
            latest[view.monitor] = view
    fresh = {m: v for m, v in latest.items() if now - v.at <= max_age}
    abstained = sorted(m for m in expected if m not in fresh or fresh[m].isolated)
    down = sorted((v for m, v in fresh.items() if not v.isolated and v.failures >= k), key=lambda v: _ip_key(v.monitor_ip))
    names = [v.monitor for v in down]
    second_source = provider_status is not None and provider_status in NOT_RUNNING
    if not down:
        reason = "no monitor has seen %d failures in a row" % k
        if abstained:
            reason += "; no fresh view from %s" % ", ".join(abstained)
        return Decision(target, HEALTHY, [], needed, None, reason, abstained)
    if len(down) >= needed and len(down) >= 2:
        return Decision(target, CONFIRMED, names, needed, names[0],
                        "%d of %d monitors see it down" % (len(down), len(expected)), abstained)
    if second_source:
        return Decision(target, CONFIRMED, names, needed, names[0],
                        "%d of %d monitors see it down and the provider reports it %s"
                        % (len(down), len(expected), provider_status), abstained)
    return Decision(target, SUSPECT, names, needed, None,
                    "%d of %d monitors see it down, %d needed (or the provider's word)"
                    % (len(down), len(expected), max(needed, 2)), abstained)


def acting_monitor(decision: Decision, progress_at: Optional[float], now: float, takeover_after: float = 30.0) -> Optional[str]:
    """Who acts on a confirmed failure: the leader, or - when the incident's last progress report is older
    than ``takeover_after`` - the next agreeing monitor, one step per elapsed period."""
    if decision.verdict != CONFIRMED or not decision.down:
        return None
    if progress_at is None:
        return decision.down[0]
    steps = int(max(0.0, now - progress_at) // takeover_after)
    return decision.down[min(steps, len(decision.down) - 1)]


def incident_id(target: str, droplet_id: Any) -> str:
    """One incident per failed droplet: the target's name and the provider's id of that droplet."""
    return "%s-%s" % (target, droplet_id)


def several_down(decisions: Mapping[str, Mapping[str, Any]], me: str, threshold: int = 2) -> Optional[List[str]]:
    """The droplets confirmed down, sorted, when there are at least ``threshold`` of them and ``me`` leads the
    decision on the first (so one monitor raises the critical alert, not each); else None.
    ``decisions`` maps target to :meth:`Decision.to_json`."""
    down = sorted(t for t, d in decisions.items() if d.get("verdict") == CONFIRMED)
    if len(down) < max(2, int(threshold)) or decisions[down[0]].get("leader") != me:
        return None
    return down
