"""The local cloud's persisted state: one JSON document, written atomically after each change."""

from __future__ import annotations

import ipaddress
import json
import os
import threading
from typing import Any, Dict, Optional

from pcloud import _collection  # noqa: F401

from ansible_collections.pcloud.infra.plugins.module_utils.statefile import write_json_atomic  # isort: skip

EMPTY: Dict[str, Any] = {
    "next_id": 1000,
    "droplets": {},
    "ssh_keys": {},
    "firewalls": {},
    "tags": [],
    "snapshots": {},
    "actions": {},
    "vpcs": {},
}


class Store:
    """Thread-safe access to the state; ``with store:`` holds the lock for a whole request."""

    def __init__(self, path: str, subnet: str) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.network = ipaddress.ip_network(subnet)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                self.data: Dict[str, Any] = json.load(handle)
            for key, value in EMPTY.items():
                self.data.setdefault(key, json.loads(json.dumps(value)))
        else:
            self.data = json.loads(json.dumps(EMPTY))

    def __enter__(self) -> Store:
        self.lock.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.lock.release()

    def save(self) -> None:
        write_json_atomic(self.path, self.data)

    def new_id(self) -> int:
        self.data["next_id"] += 1
        return self.data["next_id"]

    def free_ip(self) -> str:
        """The lowest address of the subnet not used by a droplet (.1 is the gateway, the host)."""
        used = {d["ip"] for d in self.data["droplets"].values()}
        hosts = self.network.hosts()
        next(hosts)  # the gateway
        for ip in hosts:
            if str(ip) not in used:
                return str(ip)
        raise RuntimeError("no free address left in %s" % self.network)

    def droplet(self, droplet_id: Any) -> Optional[Dict[str, Any]]:
        return self.data["droplets"].get(str(droplet_id))
