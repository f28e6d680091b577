# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils.consensus import (
    CONFIRMED,
    HEALTHY,
    SUSPECT,
    View,
    acting_monitor,
    decide,
    incident_id,
)

NOW = 1000.0
IPS = {"m%d" % i: "10.0.0.%d" % (10 - i) for i in range(1, 6)}  # m5 has the lowest address


def views(*failures, at=NOW, isolated=()):
    return [View("m%d" % (i + 1), IPS["m%d" % (i + 1)], f, at, "m%d" % (i + 1) in isolated)
            for i, f in enumerate(failures) if f is not None]


@pytest.mark.parametrize("monitors, failures, provider, verdict, leader", [
    # one monitor: its word alone is never enough; the provider is the second source
    (1, (3,), None, SUSPECT, None),
    (1, (3,), "active", SUSPECT, None),
    (1, (3,), "off", CONFIRMED, "m1"),
    (1, (2,), "off", HEALTHY, None),
    # two monitors: both, or one and the provider
    (2, (3, 3), None, CONFIRMED, "m2"),
    (2, (3, 0), None, SUSPECT, None),
    (2, (3, 0), "missing", CONFIRMED, "m1"),
    (2, (0, 0), "off", HEALTHY, None),
    # three: a majority of two
    (3, (3, 3, 0), None, CONFIRMED, "m2"),
    (3, (3, 0, 0), None, SUSPECT, None),
    (3, (5, 9, 4), None, CONFIRMED, "m3"),
    # five: three of them
    (5, (3, 3, 0, 0, 0), None, SUSPECT, None),
    (5, (3, 3, 3, 0, 0), None, CONFIRMED, "m3"),
    (5, (0, 0, 3, 3, 3), None, CONFIRMED, "m5"),
    (5, (3, 3, None, None, None), None, SUSPECT, None),  # three never reported
])
def test_quorum(monitors, failures, provider, verdict, leader):
    names = ["m%d" % (i + 1) for i in range(monitors)]
    decision = decide("web1", names, views(*failures), NOW, k=3, provider_status=provider)
    assert (decision.verdict, decision.leader) == (verdict, leader), decision.reason
    assert decision.needed == monitors // 2 + 1


def test_flapping_never_reaches_k():
    # failures are consecutive: a success resets the count, so up/down/up/down reports at most 1
    for failures in ((1, 1, 1), (2, 0, 2), (2, 2, 2)):
        assert decide("web1", ["m1", "m2", "m3"], views(*failures), NOW, k=3).verdict == HEALTHY


def test_late_reports_do_not_count():
    stale = views(3, 3, at=NOW - 60)
    decision = decide("web1", ["m1", "m2", "m3"], stale + views(None, None, 0), NOW, k=3, max_age=15)
    assert decision.verdict == HEALTHY and decision.abstained == ["m1", "m2"]
    # the newest view of a monitor wins over its older ones
    mixed = views(3, 3, at=NOW - 5) + views(0, at=NOW - 1)
    assert decide("web1", ["m1", "m2"], mixed, NOW, k=3).verdict == SUSPECT


def test_a_partitioned_monitor_abstains():
    # m1 cannot reach anyone: its failures say nothing about the target
    decision = decide("web1", ["m1", "m2"], views(9, 0, isolated=("m1",)), NOW, k=3, provider_status="active")
    assert decision.verdict == HEALTHY and decision.abstained == ["m1"]
    lone = decide("web1", ["m1"], views(9, isolated=("m1",)), NOW, k=3, provider_status="off")
    assert lone.verdict == HEALTHY


def test_views_of_strangers_are_ignored():
    decision = decide("web1", ["m1", "m2"], views(3, 3, 3), NOW, k=3)
    assert decision.down == ["m2", "m1"] and decision.verdict == CONFIRMED


def test_standby_takes_over_when_the_leader_is_silent():
    decision = decide("web1", ["m1", "m2", "m3"], views(3, 3, 3), NOW, k=3)
    assert decision.down == ["m3", "m2", "m1"]
    assert acting_monitor(decision, None, NOW) == "m3"
    assert acting_monitor(decision, NOW - 10, NOW, takeover_after=30) == "m3"
    assert acting_monitor(decision, NOW - 31, NOW, takeover_after=30) == "m2"
    assert acting_monitor(decision, NOW - 500, NOW, takeover_after=30) == "m1"
    assert acting_monitor(decide("web1", ["m1"], views(0), NOW), None, NOW) is None


def test_one_incident_per_failed_droplet():
    assert incident_id("hostomatic-web1", 1003) == "hostomatic-web1-1003"
    assert incident_id("hostomatic-web1", 1003) != incident_id("hostomatic-web1", 1007)


def test_k_must_be_positive_and_json_shape():
    with pytest.raises(ValueError):
        decide("web1", ["m1"], [], NOW, k=0)
    out = decide("web1", ["m1", "m2"], views(3, 3), NOW).to_json()
    assert out["verdict"] == CONFIRMED and out["leader"] == "m2" and out["down"] == ["m2", "m1"]
    assert View.from_json({"monitor": "m1", "monitor_ip": "10.0.0.9", "failures": "3", "at": NOW}).failures == 3


def test_several_down_is_raised_by_the_leader_of_the_first_only():
    from ansible_collections.pcloud.infra.plugins.module_utils.consensus import several_down

    decisions = {"web2": {"verdict": "confirmed", "leader": "master"}, "web1": {"verdict": "confirmed", "leader": "master"},
                 "web3": {"verdict": "suspect", "leader": None}}
    assert several_down(decisions, "master") == ["web1", "web2"]
    assert several_down(decisions, "web3") is None  # not the leader: stands by
    assert several_down({"web1": {"verdict": "confirmed", "leader": "master"}}, "master") is None  # one is not several
    assert several_down(dict(decisions, web3={"verdict": "confirmed", "leader": "web4"}), "master", threshold=3) == [
        "web1", "web2", "web3"]
