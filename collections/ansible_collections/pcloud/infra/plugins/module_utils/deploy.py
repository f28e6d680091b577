# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""What a deploy runs on a droplet: one container description per service of a project-env."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Tuple

from ansible_collections.pcloud.infra.plugins.module_utils.allocation import alternate_port
from ansible_collections.pcloud.infra.plugins.module_utils.environment import service_environment
from ansible_collections.pcloud.infra.plugins.module_utils.errors import StateError
from ansible_collections.pcloud.infra.plugins.module_utils.topology import droplet_ip

ALTERNATE_SUFFIX = "-alt"

# Generated per project-env by the postgres and redis roles; every service of the project-env gets them.
PLATFORM_SECRETS = ("db_password", "redis_password")
APP_TYPES = ("web", "worker")


def service_containers(state: Mapping[str, Any], services: Mapping[str, Mapping[str, Any]], key: str,
                       droplet: str, phase: str = "run") -> List[Dict[str, Any]]:
    """The containers of project-env ``key`` on ``droplet``: name, type, port, environment, command, secrets.

    ``services`` is the project's ``services`` from deployment_config.json (``ServiceSpec.to_json`` shape).
    With ``phase="release"``: one item (type ``release``, its ``release`` as the command) per service that has a
    release phase, wherever the service runs - the deploy runs them once, on ``droplet``.
    """
    if phase not in ("run", "release"):
        raise StateError("phase %r: run or release" % phase, field="phase")
    try:
        rendered = state["projects"][key]
    except KeyError:
        raise StateError("no project-env %r in the state" % key, field="projects") from None
    out = []
    for name in sorted(rendered):
        body = rendered[name]
        config = services.get(name) or {}
        if body.get("type") not in APP_TYPES:
            continue
        if phase == "release" and not config.get("release"):
            continue
        if phase == "run" and droplet not in body.get("assigned_droplets", ()):
            continue
        own = {k: placeholders(str(v), body.get("project", ""), body.get("environment", ""), name)
               for k, v in (config.get("environment") or {}).items()}
        own, urls = connection_urls(state, key, own)
        secrets = sorted(set(config.get("secrets") or ()) | set(PLATFORM_SECRETS))
        out.append({
            "service": name,
            "type": "release" if phase == "release" else body["type"],
            "service_name": body["service_name"],
            "port": body.get("port"),
            # the port the process listens on in its container ("auto": the image's EXPOSE); "port" is its slot
            "container_port": (config.get("port") or "auto") if body["type"] == "web" else None,
            "health_path": body.get("health_path", "/health"),
            "environment": service_environment(state, key, name, own),
            "command": config.get("release") if phase == "release" else config.get("command"),
            "entrypoint": [] if phase == "release" else list(config.get("entrypoint") or ()),
            "secrets": secrets,
            "platform_secrets": [s for s in secrets if s in PLATFORM_SECRETS],
            "connection_urls": urls,
        })
    return out


# The connection URLs every service gets (12-factor): variable -> which data service it points at.
URL_DEFAULTS = {"DATABASE_URL": "database", "REDIS_URL": "redis"}
URL_MODES = ("auto", "file")


def connection_urls(state: Mapping[str, Any], key: str, own: Mapping[str, str]) -> Tuple[Dict[str, str], Dict[str, Any]]:
    """(the service's plain environment, its connection URLs ``{VAR: {"template", "secret", "mode"}}``).

    ``DATABASE_URL`` (``postgresql://user:PASSWORD@host:port/db``) and ``REDIS_URL`` (``redis://:PASSWORD@host:port/0``)
    by default; an ``environment`` value ``"auto"`` (or ``"auto:database"``/``"auto:redis"`` for another name) asks
    for one, ``"file"`` (``"file:database"``) delivers it only as the file ``/run/secrets/env.VAR`` named by
    ``VAR_FILE`` (for images without ``/bin/sh``), and any other value is the user's own URL, passed as it is.
    The password stays a placeholder here: the URL is a secret file, filled in on the droplet."""
    services = state["projects"][key]
    plain: Dict[str, str] = {}
    wanted: Dict[str, Tuple[str, str]] = {var: (kind, "auto") for var, kind in URL_DEFAULTS.items() if var not in own}
    for var, value in own.items():
        mode, _sep, kind = value.partition(":")
        if mode in URL_MODES and (kind in ("database", "redis") or (not kind and var in URL_DEFAULTS)):
            wanted[var] = (kind or URL_DEFAULTS[var], mode)
        else:
            plain[var] = value
    urls: Dict[str, Any] = {}
    for var, (kind, mode) in sorted(wanted.items()):
        body = services.get(kind)
        host = droplet_ip(state, body["assigned_droplets"][0]) if body and body.get("assigned_droplets") else None
        if not host:
            raise StateError("%s of %s: no %s with an address yet; run 'pcloud orchestrate' first" % (var, key, kind),
                             field="projects.%s.%s" % (key, kind))
        if kind == "database":
            template = "postgresql://%s:{password}@%s:%s/%s" % (body["db_user"], host, body["port"], body["db_name"])
            urls[var] = {"template": template, "secret": "db_password", "mode": mode}
        else:
            urls[var] = {"template": "redis://:{password}@%s:%s/0" % (host, body["port"]), "secret": "redis_password",
                         "mode": mode}
    return plain, urls


def placeholders(value: str, project: str, environment: str, service: str) -> str:
    """``{project}``, ``{environment}`` and ``{service}`` in a service's environment value, filled in (only these
    three; any other brace stays as it is)."""
    return value.replace("{project}", project).replace("{environment}", environment).replace("{service}", service)


def running_slots(state: Mapping[str, Any], droplet: str, prefix: str, running: Iterable[str]) -> Dict[str, Dict[str, int]]:
    """Which slot each web service on ``droplet`` serves from, read from the names of its running containers:
    ``{"{project-env}-{service}": {droplet: port}}`` (the load balancer's live record shape) - the main slot when
    it runs, else the alternate; a service with neither running is left out. For a load balancer rebuilt
    without its record (master replaced by a fresh droplet, or a web droplet taking over)."""
    names = {str(n).lstrip("/") for n in running}
    out: Dict[str, Dict[str, int]] = {}
    for key, services in sorted((state.get("projects") or {}).items()):
        for service, body in sorted(services.items()):
            if body.get("type") != "web" or droplet not in body.get("assigned_droplets", ()):
                continue
            main = "%s-%s-%s" % (prefix, key, service)
            if main in names:
                out["%s-%s" % (key, service)] = {droplet: int(body["port"])}
            elif main + ALTERNATE_SUFFIX in names:
                out["%s-%s" % (key, service)] = {droplet: alternate_port(int(body["port"]))}
    return out
