# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""Which droplets have a health agent answering, and which agents a run of orchestrate configures.

The control node asks each agent's open ``GET /health`` (port 8080 is open to the admin IP), in parallel:
``pcloud status`` shows the reports, ``pcloud.infra.pcloud_agents_info`` decides from them which droplets
``playbooks/orchestrate.yml`` gives an agent.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Iterable, List, Mapping, Optional

from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
from ansible.module_utils.urls import open_url

from ansible_collections.pcloud.infra.plugins.module_utils.health import AGENT_PORT

AGENTS_MODES = ("auto", "always", "never")


def agent_reports(ips: Mapping[str, str], timeout: float = 3.0, workers: int = 8) -> Dict[str, Optional[Dict[str, Any]]]:
    """``{droplet: its agent's /health report, or None when it does not answer}``, asked in parallel."""

    def fetch(ip: str) -> Optional[Dict[str, Any]]:
        try:
            with open_url("http://%s:%d/health" % (ip, AGENT_PORT), timeout=timeout, method="GET") as resp:
                report = json.loads(resp.read())
                return report if isinstance(report, dict) else None
        except (OSError, ValueError, UrlsConnectionError):
            return None

    if not ips:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(ips)))) as pool:
        return dict(zip(ips, pool.map(fetch, ips.values())))


def ring_changes(changes: Mapping[str, Any], force: bool = False, replace: Iterable[str] = ()) -> bool:
    """True when a run creates, destroys or recreates droplets: every agent's ring (its peers, their addresses and
    provider ids) changes with it."""
    return bool(force or list(replace) or changes.get("create") or changes.get("destroy"))


def agents_to_configure(droplets: Iterable[str], mode: str, ring_changed: bool,
                        reports: Mapping[str, Optional[Mapping[str, Any]]]) -> List[str]:
    """The droplets whose agent a run configures: ``always`` every one, ``never`` none, ``auto`` every one when the
    ring changes, else those without an agent answering as themselves (a droplet made by an interrupted run, an agent
    that was removed)."""
    if mode not in AGENTS_MODES:
        raise ValueError("agents must be one of %s, not %r" % (", ".join(AGENTS_MODES), mode))
    names = sorted(droplets)
    if mode == "never":
        return []
    if mode == "always" or ring_changed:
        return names
    return [n for n in names if (reports.get(n) or {}).get("droplet") != n]
