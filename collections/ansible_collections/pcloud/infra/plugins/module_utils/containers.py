# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""What a droplet's engine must run, and what to do to get there (pure logic of pcloud.infra.pcloud_containers).

A *container spec* describes one container completely: name, image, command/entrypoint, environment, volumes,
labels, limits, restart policy, secret files (names and contents), health check. Its **config hash** (a label on
the container) covers everything but the image, which is compared by id on the engine; secret contents count
only through a digest. A web service's slots share a **release hash** (the spec without what makes a slot: its
name and port), so a serving slot already on this release means nothing has to start.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.pcloud.infra.plugins.module_utils.allocation import alternate_port
from ansible_collections.pcloud.infra.plugins.module_utils.deploy import ALTERNATE_SUFFIX
from ansible_collections.pcloud.infra.plugins.module_utils.errors import PcloudError
from ansible_collections.pcloud.infra.plugins.module_utils.names import control_problem

LABEL_CONFIG = "pcloud.config"
LABEL_RELEASE = "pcloud.release"
SECRETS_DIR = "/run/secrets"
ENV_FILE_PREFIX = "env."
RELEASE_SUFFIX = "-release"
# Exports each /run/secrets/env.<VAR> as VAR, then execs the container's own command (needs /bin/sh in the image).
ENV_WRAPPER = ('for f in %s/%s*; do [ -f "$f" ] || continue; n="${f##*/%s}"; v="$(cat "$f")"; export "$n=$v"; done; '
               'exec "$@"' % (SECRETS_DIR, ENV_FILE_PREFIX, ENV_FILE_PREFIX))
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_SECRET = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_ENV = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_VOLUME = re.compile(r"(?:/[^:\s]*|[A-Za-z0-9][A-Za-z0-9_.-]*):/[^:\s]*(?::(?:ro|rw))?")
RESTART_POLICIES = ("no", "always", "unless-stopped", "on-failure")
# What makes one slot of a web service differ from the other: excluded from the release hash.
SLOT_FIELDS = ("name", "slot_env", "health", "serving", "publish")
# The port a web service listens on inside its container when neither the spec nor the image's EXPOSE says.
DEFAULT_CONTAINER_PORT = 8000
# Network modes of the engine itself; any other network_mode is a bridge network pcloud_containers creates.
ENGINE_NETWORKS = ("host", "none", "bridge", "default")
# Keys of a web service's spec that pcloud_containers resolves (choose_slot) before normalizing it.
SLOT_CHOICE = ("alternate", "routed_port")


class ContainerSpecError(PcloudError):
    """A container spec that cannot be run as given."""


def normalize(spec: Mapping[str, Any]) -> Dict[str, Any]:
    """A checked, complete spec with defaults; ContainerSpecError names the container and the field."""
    name = spec.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ContainerSpecError("container name %r: letters, digits, '_', '.', '-' (at most 128)" % (name,))

    def bad(field: str, problem: str) -> ContainerSpecError:
        return ContainerSpecError("container %s: %s: %s" % (name, field, problem))

    image = spec.get("image")
    if not isinstance(image, str) or not image or control_problem(image) or image.startswith("-") or " " in image:
        raise bad("image", "a Docker image reference is required")
    out: Dict[str, Any] = {"name": name, "image": image, "state": spec.get("state") or "started"}
    if out["state"] not in ("started", "absent"):
        raise bad("state", "started or absent")
    for field in ("command", "entrypoint"):
        value = spec.get(field)
        if value in (None, "", []):
            out[field] = None
        elif isinstance(value, str):
            out[field] = ["/bin/sh", "-c", value] if field == "command" else [value]
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            out[field] = list(value)
        else:
            raise bad(field, "a string or a list of strings")
        for item in out[field] or ():
            if control_problem(item):
                raise bad(field, control_problem(item))
    out["env"] = _string_map(spec.get("env"), "env", bad, _ENV)
    out["slot_env"] = _string_map(spec.get("slot_env"), "slot_env", bad, _ENV)
    out["labels"] = _string_map(spec.get("labels"), "labels", bad, None)
    volumes = spec.get("volumes") or []
    if not isinstance(volumes, list) or not all(isinstance(v, str) and _VOLUME.fullmatch(v) for v in volumes):
        raise bad("volumes", "a list of 'volume-or-/path:/path[:ro|rw]'")
    out["volumes"] = list(volumes)
    out["network_mode"] = str(spec.get("network_mode") or "host")
    if not (out["network_mode"] in ENGINE_NETWORKS or _NAME.fullmatch(out["network_mode"])):
        raise bad("network_mode", "host, none, bridge or the name of a bridge network")
    out["publish"] = _publish(spec.get("publish"), out["network_mode"], bad)
    hostname = spec.get("hostname")
    if hostname is not None and (not isinstance(hostname, str) or not _HOSTNAME.fullmatch(hostname)):
        raise bad("hostname", "a host name label (letters, digits, '-', at most 63)")
    if hostname is not None and out["network_mode"] in ("host", "none"):
        raise bad("hostname", "a container with network_mode %s has the droplet's own" % out["network_mode"])
    out["hostname"] = hostname
    out["init"] = bool(spec.get("init", True))
    out["restart_policy"] = str(spec.get("restart_policy") or "unless-stopped")
    if out["restart_policy"] not in RESTART_POLICIES:
        raise bad("restart_policy", "one of %s" % ", ".join(RESTART_POLICIES))
    out["stop_timeout"] = _int(spec.get("stop_timeout"), 10, "stop_timeout", bad)
    out["mem_limit"] = _int(spec.get("mem_limit"), 0, "mem_limit", bad)
    out["cpu_shares"] = _int(spec.get("cpu_shares"), 0, "cpu_shares", bad)
    secrets = spec.get("secrets") or {}
    if not isinstance(secrets, dict):
        raise bad("secrets", "a mapping of file name to content")
    for key, value in secrets.items():
        if not isinstance(key, str) or not _SECRET.fullmatch(key):
            raise bad("secrets", "file name %r" % (key,))
        if not isinstance(value, str):
            raise bad("secrets", "the content of %s must be a string" % key)
    out["secrets"] = dict(secrets)
    out["secret_env"] = _secret_env(spec.get("secret_env"), bad)
    out["secret_mode"] = _int(spec.get("secret_mode"), 0o400, "secret_mode", bad)
    if out["secret_mode"] not in (0o400, 0o440, 0o444):
        raise bad("secret_mode", "0400, 0440 or 0444")
    health = spec.get("health")
    if health:
        if not isinstance(health, dict) or not isinstance(health.get("port"), int) or not 0 < health["port"] < 65536:
            raise bad("health", "{port, path, timeout} with a port 1-65535")
        path = health.get("path") or "/"
        if not isinstance(path, str) or not path.startswith("/") or control_problem(path):
            raise bad("health", "path must be an absolute path")
        out["health"] = {"port": health["port"], "path": path, "timeout": _int(health.get("timeout"), 60, "health", bad),
                         "kind": "http" if health.get("kind", "http") == "http" else "tcp"}
    else:
        out["health"] = None
    oneoff = spec.get("oneoff")
    if oneoff:
        if not isinstance(oneoff, dict):
            raise bad("oneoff", "{timeout}: run to its end within timeout seconds")
        out["oneoff"] = {"timeout": _int(oneoff.get("timeout"), 600, "oneoff", bad) or 600}
        if out["health"] or out["restart_policy"] != "no":
            raise bad("oneoff", "a one-off container has no health check and restart_policy 'no'")
    else:
        out["oneoff"] = None
    serving = spec.get("serving")
    if serving is not None and (not isinstance(serving, str) or not _NAME.fullmatch(serving)):
        raise bad("serving", "the name of the serving slot's container")
    out["serving"] = serving
    return out


def _publish(value: Any, network_mode: str, bad: Any) -> Optional[Dict[str, Any]]:
    """``{"container": port or "auto", "host": port}``: the container's port published on the droplet's port."""
    if value in (None, {}):
        return None
    if not isinstance(value, dict) or set(value) != {"container", "host"}:
        raise bad("publish", "{container, host}")
    ports = [value["container"], value["host"]] if value["container"] != "auto" else [value["host"]]
    if not all(isinstance(p, int) and not isinstance(p, bool) and 0 < p < 65536 for p in ports):
        raise bad("publish", "ports 1-65535 (the container's may be 'auto': the image's EXPOSE)")
    if network_mode in ("host", "none"):
        raise bad("publish", "a container with network_mode %s publishes no port" % network_mode)
    return {"container": value["container"], "host": value["host"]}


def container_port(image_config: Mapping[str, Any]) -> int:
    """The port an image says it listens on: its single EXPOSEd TCP port, else DEFAULT_CONTAINER_PORT."""
    exposed = [str(p) for p in (image_config.get("ExposedPorts") or {})]
    tcp = [int(p.split("/")[0]) for p in exposed if p.endswith("/tcp") and p.split("/")[0].isdigit()
           and p.split("/")[0].isascii()]
    return tcp[0] if len(tcp) == 1 and 0 < tcp[0] < 65536 else DEFAULT_CONTAINER_PORT


def resolve_port(spec: Mapping[str, Any], image_config: Mapping[str, Any]) -> Dict[str, Any]:
    """A normalized spec with its published container port settled (``auto``: the image's, container_port) and
    ``PORT``/``SERVICE_PORT`` in its environment set to it: what the process binds, whatever slot it serves."""
    publish = spec.get("publish")
    if not publish:
        return dict(spec)
    port = container_port(image_config) if publish["container"] == "auto" else int(publish["container"])
    return dict(spec, publish=dict(publish, container=port), env=dict(spec["env"], PORT=str(port), SERVICE_PORT=str(port)))


def _secret_env(value: Any, bad: Any) -> Dict[str, Dict[str, str]]:
    """``{VAR: {"template": "...{password}...", "secret": name, "mode": "auto"|"file"}}``: a variable whose value
    holds a secret (a connection URL), made from a template and one of the container's secret files."""
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise bad("secret_env", "a mapping of variable to {template, secret, mode}")
    out = {}
    for var, item in value.items():
        if not isinstance(var, str) or not _ENV.fullmatch(var) or not isinstance(item, dict):
            raise bad("secret_env", "variable %r" % (var,))
        template, secret, mode = item.get("template"), item.get("secret"), item.get("mode", "auto")
        if not isinstance(template, str) or template.count("{password}") != 1 or control_problem(template):
            raise bad("secret_env", "%s: a one-line template with one {password}" % var)
        if not isinstance(secret, str) or not _SECRET.fullmatch(secret) or mode not in ("auto", "file"):
            raise bad("secret_env", "%s: a secret file name and a mode (auto or file)" % var)
        out[var] = {"template": template, "secret": secret, "mode": mode}
    return out


def _string_map(value: Any, field: str, bad: Any, key_re: Optional[re.Pattern[str]]) -> Dict[str, str]:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise bad(field, "a mapping of strings")
    out = {}
    for key, item in value.items():
        if not isinstance(key, str) or (key_re is not None and not key_re.fullmatch(key)) or control_problem(key):
            raise bad(field, "name %r" % (key,))
        text = item if isinstance(item, str) else json.dumps(item) if isinstance(item, (bool, type(None))) else str(item)
        if control_problem(text):
            raise bad(field, "%s: %s" % (key, control_problem(text)))
        out[key] = text
    return out


def _int(value: Any, default: int, field: str, bad: Any) -> int:
    if value in (None, ""):
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise bad(field, "a whole number >= 0")
    return value


def _digest(doc: Any) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:24]


# Keys added to the spec after containers were first created: left out of the hashes while at their default, so
# upgrading pcloud does not recreate (restart) a container whose configuration did not change.
LATER_DEFAULTS = {"secret_env": {}, "secret_mode": 0o400, "oneoff": None, "publish": None, "hostname": None}


def release_hash(spec: Mapping[str, Any]) -> str:
    """The same for both slots of a web service on the same release and configuration."""
    doc = {k: v for k, v in spec.items() if k not in SLOT_FIELDS and k not in ("secrets", "state")
           and not (k in LATER_DEFAULTS and v == LATER_DEFAULTS[k])}
    doc["secrets"] = {k: hashlib.sha256(v.encode()).hexdigest() for k, v in sorted(spec["secrets"].items())}
    return _digest(doc)


def config_hash(spec: Mapping[str, Any]) -> str:
    """Everything that makes this container what it is (secret contents only through a digest)."""
    doc = {"release": release_hash(spec), "name": spec["name"], "slot_env": spec["slot_env"], "health": spec["health"]}
    if spec.get("publish"):
        doc["publish"] = spec["publish"]
    return _digest(doc)


def environment(spec: Mapping[str, Any]) -> Dict[str, str]:
    return dict(spec["env"], **spec["slot_env"])


def labels(spec: Mapping[str, Any]) -> Dict[str, str]:
    return dict(spec["labels"], **{LABEL_CONFIG: config_hash(spec), LABEL_RELEASE: release_hash(spec)})


def decide(spec: Mapping[str, Any], image_id: Optional[str], existing: Optional[Mapping[str, Any]],
           serving: Optional[Mapping[str, Any]] = None) -> str:
    """What to do for one container: ``unchanged``, ``start``, ``create``, ``recreate``, ``serving`` (its serving
    slot already runs this release: nothing starts), ``remove`` or ``absent``. ``existing``/``serving`` are docker
    inspect results (or None); ``image_id`` the id the spec's image has on the engine (None when not there yet)."""
    if spec["state"] == "absent":
        return "remove" if existing else "absent"
    if serving and _runs(serving, image_id, LABEL_RELEASE, release_hash(spec)):
        return "serving"
    if not existing:
        return "create"
    if spec.get("oneoff"):  # done once per release: kept, exited 0, as the record that it ran
        state = existing.get("State") or {}
        done = not state.get("Running") and state.get("ExitCode") == 0 and not str(state.get("FinishedAt") or "0001-").startswith("0001-")
        return "unchanged" if done and _same(existing, image_id, LABEL_CONFIG, config_hash(spec)) else "recreate"
    if _same(existing, image_id, LABEL_CONFIG, config_hash(spec)):
        return "unchanged" if _running(existing) else "start"
    return "recreate"


def _same(info: Mapping[str, Any], image_id: Optional[str], label: str, value: str) -> bool:
    found = ((info.get("Config") or {}).get("Labels") or {}).get(label)
    return found == value and image_id is not None and info.get("Image") == image_id


def _runs(info: Mapping[str, Any], image_id: Optional[str], label: str, value: str) -> bool:
    return _same(info, image_id, label, value) and _running(info)


def _running(info: Mapping[str, Any]) -> bool:
    return bool((info.get("State") or {}).get("Running"))


def secret_files(spec: Mapping[str, Any]) -> List[Tuple[str, bytes, int]]:
    """(path inside the container, content, mode) of each secret file: ``/run/secrets/<name>`` (root, ``secret_mode``),
    and for each ``secret_env`` variable ``/run/secrets/env.<VAR>`` holding its value (the template filled in)."""
    mode = spec.get("secret_mode", 0o400)
    files = [("%s/%s" % (SECRETS_DIR, name), content.encode(), mode) for name, content in sorted(spec["secrets"].items())]
    for var, item in sorted(spec.get("secret_env", {}).items()):
        if item["secret"] not in spec["secrets"]:
            raise ContainerSpecError("container %s: secret_env: %s needs the secret %s, which it does not get"
                                     % (spec["name"], var, item["secret"]))
        value = item["template"].replace("{password}", spec["secrets"][item["secret"]])
        files.append(("%s/%s%s" % (SECRETS_DIR, ENV_FILE_PREFIX, var), value.encode(), mode))
    return files


def run_argv(spec: Mapping[str, Any], image_config: Mapping[str, Any]) -> Tuple[Optional[List[str]], Optional[List[str]]]:
    """(entrypoint, command) to create the container with. A spec with ``auto`` secret_env variables starts through
    a small ``/bin/sh`` wrapper that exports each from its file and execs what would have run otherwise - the
    image's ENTRYPOINT and CMD, or the spec's - so the values never appear in ``docker inspect``."""
    if not any(item["mode"] == "auto" for item in spec.get("secret_env", {}).values()):
        return spec["entrypoint"], spec["command"]
    if spec["entrypoint"] is not None:  # an entrypoint of the spec resets the image's CMD too (Docker's rule)
        entry = [] if spec["entrypoint"] == [""] else list(spec["entrypoint"])
        cmd = list(spec["command"] or [])
    else:
        entry = list(image_config.get("Entrypoint") or [])
        cmd = list(spec["command"] or image_config.get("Cmd") or [])
    return ["/bin/sh", "-c", ENV_WRAPPER, "pcloud-env"] + entry + cmd, None


def summary(actions: Mapping[str, str]) -> Dict[str, List[str]]:
    """``{action: [container, ...]}`` of what a run did, for its report."""
    out: Dict[str, List[str]] = {}
    for name, action in sorted(actions.items()):
        out.setdefault(action, []).append(name)
    return out


def check_unique(specs: Sequence[Mapping[str, Any]]) -> None:
    seen = set()
    for spec in specs:
        if spec["name"] in seen:
            raise ContainerSpecError("container %s is listed twice" % spec["name"])
        seen.add(spec["name"])


# --------------------------------------------------------------------------- specs of the platform's services

DATA_SERVICES = {
    # kind: (container suffix, secret file, data path, service label)
    "postgres": ("database", "db_password", "/var/lib/postgresql/data", "database"),
    "redis": ("redis", "redis_password", "/data", "redis"),
}


def data_containers(instances: Sequence[Mapping[str, Any]], kind: str, prefix: str, droplet: str, image: str,
                    require_password: bool = True, timeout: int = 60) -> List[Dict[str, Any]]:
    """Container specs of the Postgres or Redis instances on a droplet (one per project-env): the allocated port,
    data on the volume ``<prefix>-<project-env>-<pgdata|redis>``, the generated password as a secret file."""
    if kind not in DATA_SERVICES:
        raise ContainerSpecError("unknown data service %r (known: %s)" % (kind, ", ".join(DATA_SERVICES)))
    suffix, secret, data_path, service = DATA_SERVICES[kind]
    out = []
    for item in instances:
        port = str(item["port"])
        secret_path = "%s/%s" % (SECRETS_DIR, secret)
        if kind == "postgres":
            env = {"PGPORT": port, "POSTGRES_DB": str(item["db_name"]), "POSTGRES_USER": str(item["db_user"]),
                   "POSTGRES_PASSWORD_FILE": secret_path}
            volume = "%s-%s-pgdata" % (prefix, item["key"])
        else:
            env = {"REDIS_PORT": port}
            if require_password:
                env["REDIS_PASSWORD_FILE"] = secret_path
            volume = "%s-%s-redis" % (prefix, item["key"])
        out.append({
            "name": "%s-%s-%s" % (prefix, item["key"], suffix), "image": image, "env": env,
            "volumes": ["%s:%s" % (volume, data_path)],
            "labels": {"pcloud.droplet": droplet, "pcloud.project": str(item["project"]),
                       "pcloud.environment": str(item["environment"]), "pcloud.service": service},
            "health": {"port": int(item["port"]), "kind": "tcp", "timeout": timeout},
        })
    return out


# --------------------------------------------------------------------------- web services and workers

def app_containers(items: Sequence[Mapping[str, Any]], images: Mapping[str, str], prefix: str, key: str, droplet: str,
                   live_ports: Optional[Mapping[str, Any]] = None, stop_timeout: int = 10, health_timeout: int = 60,
                   kinds: Sequence[str] = ("web", "worker"), release_timeout: int = 600) -> List[Dict[str, Any]]:
    """Specs of a project-env's web services and workers on a droplet (``items`` from deploy.service_containers).
    They run on the project-env's own bridge network ``{prefix}-{key}``. A web service publishes its container port
    (``container_port``; ``auto``: the image's EXPOSE) on its slot port, names its second slot (``alternate``: port
    + 10000) and the port the load balancer routes to (``routed_port``); pcloud_containers starts the new release
    in the idle slot (choose_slot). A ``release`` item (``kinds=("release",)``) is a one-off container
    ``...-release`` that runs the release command to its end."""
    out = []
    for item in items:
        if item["type"] not in kinds:
            continue
        service = item["service"]
        if service not in images:
            raise ContainerSpecError("no image for service %s" % service)
        name = "%s-%s-%s" % (prefix, key, service)
        env = {k: str(v) for k, v in item["environment"].items()}
        urls = dict(item.get("connection_urls") or {})
        env.update({var + "_FILE": "%s/%s%s" % (SECRETS_DIR, ENV_FILE_PREFIX, var) for var in urls})
        spec: Dict[str, Any] = {
            "name": name, "image": images[service], "command": item.get("command") or None, "env": env,
            # Procfile semantics: a command replaces the image's ENTRYPOINT and CMD (run by /bin/sh -c) unless the
            # service names its own entrypoint; [""] is Docker's "no entrypoint"
            "entrypoint": list(item.get("entrypoint") or ()) or ([""] if item.get("command") else None),
            "stop_timeout": stop_timeout, "secret_env": urls, "network_mode": network_name(prefix, key),
            # what host networking gave: the droplet's name (an app that logs or reports its host name keeps it)
            "hostname": droplet,
            # readable by the image's own user (many run as a non-root USER), as Docker's own secrets are
            "secret_mode": 0o444,
            "labels": {"pcloud.droplet": droplet, "pcloud.project": env.get("PROJECT", ""),
                       "pcloud.environment": env.get("ENVIRONMENT", ""), "pcloud.service": service},
        }
        if item["type"] == "release":
            spec.update(name=name + RELEASE_SUFFIX, restart_policy="no", oneoff={"timeout": release_timeout},
                        labels=dict(spec["labels"], **{"pcloud.service": "%s%s" % (service, RELEASE_SUFFIX),
                                                       "pcloud.phase": "release"}))
        if item["type"] == "web":
            port = int(item["port"])
            spare = alternate_port(port)
            spec["publish"] = {"container": item.get("container_port") or "auto", "host": port}
            spec["health"] = {"port": port, "path": item.get("health_path") or "/health", "timeout": health_timeout}
            spec["alternate"] = {"name": name + ALTERNATE_SUFFIX, "port": spare}
            routed = ((live_ports or {}).get("%s-%s" % (key, service)) or {}).get(droplet)
            spec["routed_port"] = int(routed) if routed is not None else None
        out.append(spec)
    return out


def network_name(prefix: str, key: str) -> str:
    """The bridge network a project-env's app containers share on a droplet."""
    return "%s-%s" % (prefix, key)


def choose_slot(spec: Mapping[str, Any], running: Sequence[str]) -> Tuple[Dict[str, Any], Optional[str], List[str]]:
    """For a web service with two slots: (the spec to run - in the idle slot, with ``serving`` naming the live one -,
    the live slot's name or None, both slot names). The live slot is the running one the load balancer routes to,
    else a running one (main first), else none: then the main slot is used."""
    alternate = spec.get("alternate")
    if not alternate:
        return dict(spec), None, [spec["name"]]
    main_port = spec["health"]["port"] if spec.get("health") else int(spec["publish"]["host"])
    slots = [(spec["name"], main_port), (alternate["name"], int(alternate["port"]))]
    up = [slot for slot in slots if slot[0] in set(running)]
    routed = [slot for slot in up if spec.get("routed_port") is not None and slot[1] == int(spec["routed_port"])]
    live = (routed or up or [None])[0]
    idle = slots[1] if live == slots[0] else slots[0]
    chosen = dict(spec, name=idle[0], serving=live[0] if live else None)
    if chosen.get("publish"):
        chosen["publish"] = dict(chosen["publish"], host=idle[1])
    if chosen.get("health"):
        chosen["health"] = dict(chosen["health"], port=idle[1])
    chosen.pop("alternate", None)
    chosen.pop("routed_port", None)
    return chosen, live[0] if live else None, [slot[0] for slot in slots]


def slot_port(name: str, spec: Mapping[str, Any]) -> int:
    """The port of one of a web service's slots (by container name)."""
    if spec.get("alternate") and name == spec["alternate"]["name"]:
        return int(spec["alternate"]["port"])
    return int(spec["health"]["port"])
