# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""Post-deploy snapshots: their names, which to keep, which a recovery uses, and their metadata log.

A deploy snapshots each droplet it touched as ``{droplet}-deploy-{YYYYMMDD-HHMM}``; the provider's
snapshot list is the truth, ``snapshots.json`` in the config dir only adds what the provider cannot hold
(the project-env, services and commit deployed), keyed by snapshot id.
"""

from __future__ import annotations

import os
import re
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from ansible_collections.pcloud.infra.plugins.module_utils.errors import PcloudError
from ansible_collections.pcloud.infra.plugins.module_utils.statefile import FileLock, read_json_list, write_json_atomic

KEEP = 3
LOG_FILE = "snapshots.json"
_NAME = re.compile(r"^(?P<droplet>[a-z][a-z0-9-]{0,62}?)-deploy-(?P<stamp>[0-9]{8}-[0-9]{4})\Z")
_STAMP = re.compile(r"^[0-9]{8}-[0-9]{4}\Z")


def snapshot_name(droplet: str, stamp: str) -> str:
    """``{droplet}-deploy-{YYYYMMDD-HHMM}``."""
    if not _STAMP.match(str(stamp)):
        raise PcloudError("snapshot time %r is not YYYYMMDD-HHMM" % (stamp,), field="stamp")
    name = "%s-deploy-%s" % (droplet, stamp)
    if not _NAME.match(name):
        raise PcloudError("%r is not a droplet name" % (droplet,), field="droplet")
    return name


def parse_name(name: str) -> Optional[Tuple[str, str]]:
    """``(droplet, stamp)`` of a post-deploy snapshot name, None for any other snapshot."""
    match = _NAME.match(str(name))
    return (match.group("droplet"), match.group("stamp")) if match else None


def _order(snapshot: Mapping[str, Any]) -> Tuple[str, int]:
    """Newest first sorts by creation time, then by id (two deploys in one minute share a name)."""
    ident = str(snapshot.get("id", "0"))
    return (str(snapshot.get("created_at", "")), int(ident) if ident.isdigit() else 0)


def by_droplet(snapshots: Iterable[Mapping[str, Any]]) -> Dict[str, List[Dict[str, Any]]]:
    """Post-deploy snapshots grouped by droplet name, newest first; other snapshots are left out."""
    groups: Dict[str, List[Dict[str, Any]]] = {}
    for snap in snapshots:
        parsed = parse_name(str(snap.get("name", "")))
        if parsed:
            groups.setdefault(parsed[0], []).append(dict(snap))
    for items in groups.values():
        items.sort(key=_order, reverse=True)
    return groups


def latest(snapshots: Iterable[Mapping[str, Any]], droplet: str) -> Optional[Dict[str, Any]]:
    """The droplet's newest post-deploy snapshot, or None."""
    return (by_droplet(snapshots).get(droplet) or [None])[0]


def cleanup_plan(snapshots: Iterable[Mapping[str, Any]], droplets: Iterable[str], keep: int = KEEP) -> Dict[str, List[Dict[str, Any]]]:
    """Which post-deploy snapshots stay and which go, each with the reason.

    A droplet of the fleet keeps its newest ``keep``; a droplet the fleet no longer has keeps none
    (orphaned). Snapshots not named by a deploy are never touched.
    """
    if int(keep) < 1:
        raise PcloudError("keep must be at least 1, not %r" % (keep,), field="keep")
    fleet = set(droplets)
    plan: Dict[str, List[Dict[str, Any]]] = {"keep": [], "delete": []}
    for droplet, items in sorted(by_droplet(snapshots).items()):
        for index, snap in enumerate(items):
            entry = {"id": str(snap.get("id")), "name": snap.get("name"), "droplet": droplet,
                     "created_at": snap.get("created_at")}
            if droplet not in fleet:
                plan["delete"].append(dict(entry, reason="orphaned: %s is not in the fleet" % droplet))
            elif index >= int(keep):
                plan["delete"].append(dict(entry, reason="older than the newest %d of %s" % (int(keep), droplet)))
            else:
                plan["keep"].append(entry)
    return plan


# ---------------------------------------------------------------------------------------- metadata log

def log_path(config_dir: str) -> str:
    return os.path.join(config_dir, LOG_FILE)


def load_log(config_dir: str) -> List[Dict[str, Any]]:
    return read_json_list(log_path(config_dir), "snapshot log")


def records(taken: Iterable[str], provider: Iterable[Mapping[str, Any]], metadata: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """One log record per snapshot name just taken: the newest provider snapshot of that name, with ``metadata``."""
    provider = list(provider)
    found = []
    for name in taken:
        parsed = parse_name(name)
        same = sorted((s for s in provider if s.get("name") == name), key=_order, reverse=True)
        if parsed is None or not same:
            raise PcloudError("the provider has no snapshot named %r" % (name,), field="taken")
        found.append(dict(metadata, id=str(same[0]["id"]), name=name, droplet=parsed[0],
                          created_at=same[0].get("created_at")))
    return found


def update_log(log: List[Dict[str, Any]], add: Iterable[Mapping[str, Any]], existing_ids: Optional[Iterable[str]]) -> Tuple[List[Dict[str, Any]], bool]:
    """The log with ``add`` recorded (by snapshot id) and, when ``existing_ids`` is given, the entries of
    snapshots that no longer exist dropped. Returns ``(log, changed)``."""
    known = {str(e.get("id")): dict(e) for e in log}
    order = [str(e.get("id")) for e in log]
    for entry in add:
        ident = str(entry.get("id") or "")
        if not ident:
            raise PcloudError("a snapshot record needs its id: %r" % (dict(entry),), field="snapshots")
        if ident not in known:
            order.append(ident)
        known[ident] = dict(entry, id=ident)
    if existing_ids is not None:
        alive = {str(i) for i in existing_ids}
        order = [i for i in order if i in alive]
    new = [known[i] for i in order]
    return new, new != log


def write_log(config_dir: str, add: Iterable[Mapping[str, Any]], existing_ids: Optional[Iterable[str]],
              check: bool = False) -> Tuple[List[Dict[str, Any]], bool]:
    """Apply :func:`update_log` to ``snapshots.json`` under a lock."""
    file = log_path(config_dir)
    with FileLock(file + ".lock"):
        log, changed = update_log(load_log(config_dir), add, existing_ids)
        if changed and not check:
            write_json_atomic(file, log, mode=0o644)
    return log, changed
