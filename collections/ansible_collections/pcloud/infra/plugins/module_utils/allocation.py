# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""Deterministic, collision-free and stable allocation of ports and database names.

Seed formula first: ``h = md5("{project}-{env}").hexdigest()[:12]`` and
``port = base + int(h, 16) % 1000``. Ranges (``PORT_RANGES``), one per kind:

===========  ===========  ===============================================
kind         range        hash input
===========  ===========  ===============================================
postgres     5000-5999    ``{project}-{env}``
redis        6000-6999    ``{project}-{env}``
web          7000-7999    ``{project}-{env}-{service}`` (web services other
                          than backend and frontend)
backend      8000-8999    ``{project}-{env}``
frontend     9000-9999    ``{project}-{env}``
===========  ===========  ===============================================

A port is taken on every droplet its service is assigned to. Collisions are resolved by
linear probing: ``base + (offset + i) % 1000`` for i = 0, 1, 2, ..., skipping reserved ports
(``RESERVED_PORTS`` on every droplet, ``RESERVED_MASTER_PORTS`` on master). Requests are
served in a fixed order: first every request that has a previous allocation still valid
(kept as it was, so adding a project never moves an existing port), then the others
sorted by ``(project-env, service)``. Only ``hashlib`` is used, never ``hash()``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Dict, FrozenSet, Iterable, List, Mapping, Optional, Set, Tuple

from ansible_collections.pcloud.infra.plugins.module_utils.errors import AllocationError

PORT_RANGE_SIZE = 1000
PORT_RANGES: Dict[str, int] = {
    "postgres": 5000,
    "redis": 6000,
    "web": 7000,
    "backend": 8000,
    "frontend": 9000,
}
# Ports no project service may take, on any droplet: ssh, http(s), the health agent.
RESERVED_PORTS: FrozenSet[int] = frozenset((22, 80, 443, 8080))
# Ports on master: the image registry's, and ports kept free for the OpenBao (8200) and OpenSearch (9200, 9300) of
# later work; only the registry runs today (topology.INFRASTRUCTURE_SERVICES).
REGISTRY_PORT = 5000
RESERVED_MASTER_PORTS: FrozenSet[int] = frozenset((REGISTRY_PORT, 8200, 9200, 9300))
HEALTH_AGENT_PORT = 8080
# A web service's second slot for zero-downtime switches: the new release starts beside the old one on
# port + ALTERNATE_PORT_OFFSET (17000-19999), so two releases never share a port.
ALTERNATE_PORT_OFFSET = 10000
PG_IDENTIFIER_MAX = 63

Key = Tuple[str, str]  # (project-env key, service)


def resource_hash(project: str, environment: str) -> str:
    """The seeds' 12-hex-digit hash of ``{project}-{env}``."""
    return hashlib.md5(("%s-%s" % (project, environment)).encode("utf-8")).hexdigest()[:12]


def port_kind(service: str, service_type: str) -> str:
    """Which range a service's port comes from."""
    if service_type in ("postgres", "redis"):
        return service_type
    if service in ("backend", "frontend"):
        return service
    return "web"


def alternate_port(port: int) -> int:
    """The second slot of a web service's port (its new release starts there beside the old one)."""
    return port + ALTERNATE_PORT_OFFSET


def port_range(kind: str) -> Tuple[int, int]:
    """First and last port of a kind's range."""
    base = PORT_RANGES[kind]
    return base, base + PORT_RANGE_SIZE - 1


def seed_port(project: str, environment: str, service: str, kind: str) -> int:
    """The seed formula; web services other than backend/frontend hash their own name too."""
    if kind == "web":
        digest = hashlib.md5(("%s-%s-%s" % (project, environment, service)).encode("utf-8")).hexdigest()[:12]
    else:
        digest = resource_hash(project, environment)
    return PORT_RANGES[kind] + int(digest, 16) % PORT_RANGE_SIZE


def db_name(project: str, environment: str) -> str:
    """``{project}_{env}_{h[:8]}``; '-' becomes '_' and the name fits a PostgreSQL identifier."""
    suffix = "_%s_%s" % (environment, resource_hash(project, environment)[:8])
    return project.replace("-", "_")[: PG_IDENTIFIER_MAX - len(suffix)] + suffix


def db_user(project: str, environment: str) -> str:
    return "user_%s" % resource_hash(project, environment)[:8]


def reserved_ports(droplet_role: str) -> FrozenSet[int]:
    return RESERVED_PORTS | RESERVED_MASTER_PORTS if droplet_role == "master" else RESERVED_PORTS


@dataclass(frozen=True)
class PortRequest:
    key: Key
    project: str
    environment: str
    service: str
    kind: str
    droplets: Tuple[str, ...]


def allocate_ports(
    requests: Iterable[PortRequest],
    reserved: Mapping[str, FrozenSet[int]],
    previous: Optional[Mapping[Key, int]] = None,
) -> Dict[Key, int]:
    """Give every request one port, free on all its droplets; see the module docstring."""
    ordered = sorted(requests, key=lambda r: r.key)
    previous = previous or {}
    used: Dict[str, Set[int]] = {}
    result: Dict[Key, int] = {}
    _check_capacity(ordered, reserved)

    def free(port: int, droplets: Tuple[str, ...]) -> bool:
        for droplet in droplets:
            if port in reserved.get(droplet, RESERVED_PORTS) or port in used.get(droplet, ()):
                return False
        return True

    def take(req: PortRequest, port: int) -> None:
        for droplet in req.droplets:
            used.setdefault(droplet, set()).add(port)
        result[req.key] = port

    pending: List[PortRequest] = []
    for req in ordered:
        port = previous.get(req.key)
        low, high = port_range(req.kind)
        if isinstance(port, int) and low <= port <= high and free(port, req.droplets):
            take(req, port)
        else:
            pending.append(req)

    for req in pending:
        base = PORT_RANGES[req.kind]
        offset = seed_port(req.project, req.environment, req.service, req.kind) - base
        for step in range(PORT_RANGE_SIZE):
            port = base + (offset + step) % PORT_RANGE_SIZE
            if free(port, req.droplets):
                take(req, port)
                break
        else:
            raise _exhausted(req, used, reserved)
    return result


def _check_capacity(requests: List[PortRequest], reserved: Mapping[str, FrozenSet[int]]) -> None:
    """Fail early, naming the droplet and range, when a droplet needs more ports of a kind than exist."""
    need: Dict[Tuple[str, str], int] = {}
    for req in requests:
        for droplet in req.droplets:
            need[(droplet, req.kind)] = need.get((droplet, req.kind), 0) + 1
    for (droplet, kind), count in sorted(need.items()):
        low, high = port_range(kind)
        blocked = sum(1 for p in reserved.get(droplet, RESERVED_PORTS) if low <= p <= high)
        capacity = PORT_RANGE_SIZE - blocked
        if count > capacity:
            raise AllocationError(
                "droplet %r needs %d %s ports but range %d-%d holds %d; move projects to web droplets "
                "(raise Servers) or split the fleet" % (droplet, count, kind, low, high, capacity),
                field="ports", droplet=droplet, kind=kind)


def _exhausted(req: PortRequest, used: Mapping[str, Set[int]], reserved: Mapping[str, FrozenSet[int]]) -> AllocationError:
    low, high = port_range(req.kind)
    fullest = max(req.droplets, key=lambda d: sum(1 for p in used.get(d, ()) if low <= p <= high))
    return AllocationError(
        "cannot allocate a %s port for %s/%s on droplet %r: no port of range %d-%d is free on all of %s"
        % (req.kind, req.key[0], req.service, fullest, low, high, ", ".join(req.droplets)),
        field="ports", droplet=fullest, kind=req.kind)
