# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""The environment pcloud gives every service container (seed names), from the rendered state."""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from ansible_collections.pcloud.infra.plugins.module_utils.errors import StateError
from ansible_collections.pcloud.infra.plugins.module_utils.topology import droplet_ip


def service_environment(state: Mapping[str, Any], key: str, service: str,
                        own: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """``DB_*``, ``REDIS_*``, ``SERVICE_NAME``, ``ENVIRONMENT``, ``PROJECT``, ``ASSIGNED_DROPLETS``,
    ``RESOURCE_HASH``, then the service's own ``environment``. A web service's ``PORT`` and ``SERVICE_PORT`` (the
    port it listens on in its container) are set on the droplet, where the image tells it (containers.resolve_port)."""
    try:
        services = state["projects"][key]
        body = services[service]
        database, redis = services["database"], services["redis"]
    except KeyError:
        raise StateError("no service %r in project-env %r of the state" % (service, key),
                         field="projects.%s.%s" % (key, service)) from None
    db_host = droplet_ip(state, database["assigned_droplets"][0])
    redis_host = droplet_ip(state, redis["assigned_droplets"][0])
    if not db_host or not redis_host:
        raise StateError("the master droplet has no IP address yet; run 'pcloud orchestrate' first",
                         field="droplets")
    env = {
        "DB_USER": database["db_user"],
        "DB_NAME": database["db_name"],
        "DB_HOST": db_host,
        "DB_PORT": str(database["port"]),
        "REDIS_HOST": redis_host,
        "REDIS_PORT": str(redis["port"]),
        "SERVICE_NAME": body["service_name"],
        "ENVIRONMENT": body["environment"],
        "PROJECT": body["project"],
        "ASSIGNED_DROPLETS": ",".join(body["assigned_droplets"]),
        "RESOURCE_HASH": body["resource_hash"],
    }
    env.update(own or {})
    return env
