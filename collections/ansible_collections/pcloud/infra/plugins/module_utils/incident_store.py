# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""Recoveries, one record per incident: ``incidents.json`` in the config dir (newest last, bounded)."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional

from ansible_collections.pcloud.infra.plugins.module_utils.statefile import FileLock, read_json_list, write_json_atomic

INCIDENTS_FILE = "incidents.json"
KEEP = 200
OPEN = ("recovering",)


def path(config_dir: str) -> str:
    return os.path.join(config_dir, INCIDENTS_FILE)


def load(config_dir: str) -> List[Dict[str, Any]]:
    return read_json_list(path(config_dir), "incident log")


def find(incidents: List[Dict[str, Any]], incident_id: str) -> Optional[Dict[str, Any]]:
    return next((i for i in reversed(incidents) if i.get("id") == incident_id), None)


def record(config_dir: str, incident: Dict[str, Any]) -> None:
    """Insert or update ``incident`` (by id), atomically and under a lock."""
    file = path(config_dir)
    with FileLock(file + ".lock"):
        incidents = load(config_dir)
        for index, item in enumerate(incidents):
            if item.get("id") == incident["id"]:
                incidents[index] = dict(item, **incident)
                break
        else:
            incidents.append(dict(incident))
        write_json_atomic(file, incidents[-KEEP:], mode=0o644)
