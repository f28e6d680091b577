# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""``pcloud logs PROJECT ENV SERVICE``: which droplets run the service, and the command each one runs (pure)."""

from __future__ import annotations

import os
import shlex
from typing import Any, List, Mapping, Optional, Tuple

from ansible_collections.pcloud.infra.plugins.module_utils.errors import SpecError
from ansible_collections.pcloud.infra.plugins.module_utils.hostkeys import KNOWN_HOSTS
from ansible_collections.pcloud.infra.plugins.module_utils.names import name_problem
from ansible_collections.pcloud.infra.plugins.module_utils.topology import droplet_ip

MAX_LINES = 100000


def targets(state: Mapping[str, Any], project: str, environment: str, service: str,
            droplet: Optional[str] = None) -> List[Tuple[str, str]]:
    """``[(droplet, ip)]`` of the droplets the service is assigned to (only ``droplet`` when given). Every name is
    checked first (they reach a shell on the droplet); an unknown one is a SpecError that lists what there is."""
    for kind, value in (("project", project), ("environment", environment), ("service", service)):
        why = name_problem(kind, value)
        if why:
            raise SpecError(why, file="(arguments)", field=kind)
    key = "%s-%s" % (project, environment)
    services = (state.get("projects") or {}).get(key)
    if services is None:
        raise SpecError("no project-env %s; there are %s" % (key, ", ".join(sorted(state.get("projects") or {})) or "none"),
                        file="(arguments)", field="project")
    body = services.get(service)
    if body is None or body.get("type") not in ("web", "worker"):
        apps = sorted(n for n, b in services.items() if b.get("type") in ("web", "worker"))
        raise SpecError("%s has no service %s; its services are %s" % (key, service, ", ".join(apps) or "none"),
                        file="(arguments)", field="service")
    assigned = list(body.get("assigned_droplets") or ())
    if droplet is not None:
        if droplet not in assigned:
            raise SpecError("%s of %s does not run on %s; it runs on %s" % (service, key, droplet, ", ".join(assigned)),
                            file="(arguments)", field="--droplet")
        assigned = [droplet]
    out = []
    for name in assigned:
        ip = droplet_ip(state, name)
        if not ip:
            raise SpecError("droplet %s has no address yet; run 'pcloud orchestrate' first" % name,
                            file="(arguments)", field="--droplet")
        out.append((name, ip))
    return out


def remote_command(project: str, environment: str, service: str, lines: int, follow: bool) -> str:
    """The shell line run on a droplet: the logs of every container (both slots of a web service) of the service,
    each line prefixed with the container's name; with ``follow`` they stream until interrupted."""
    if isinstance(lines, bool) or not isinstance(lines, int) or not 0 < lines <= MAX_LINES:
        raise SpecError("--lines must be a whole number from 1 to %d" % MAX_LINES, file="(arguments)", field="--lines")
    filters = " ".join("--filter %s" % shlex.quote("label=pcloud.%s=%s" % (k, v))
                       for k, v in (("project", project), ("environment", environment), ("service", service)))
    logs = "docker logs --timestamps --tail %d%s \"$c\" 2>&1 | sed -u \"s/^/$c | /\"" % (lines, " --follow" if follow else "")
    return ("found=$(docker ps --all %s --format '{{.Names}}'); [ -n \"$found\" ] || "
            "{ echo 'no container of this service on this droplet' >&2; exit 3; }; "
            "for c in $found; do %s & done; wait" % (filters, logs))


def ssh_argv(config_dir: str, droplet: str, ip: str, command: str, key_file: Optional[str] = None) -> List[str]:
    """ssh to a droplet as pcloud's own connections do: the fleet key, the pinned host key checked strictly."""
    key = key_file or os.path.join(config_dir, "ssh", "id_ed25519")
    return ["ssh", "-i", key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
            "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=%s" % os.path.join(config_dir, KNOWN_HOSTS),
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "HostKeyAlias=%s" % droplet, "-o", "LogLevel=ERROR",
            "root@%s" % ip, command]
