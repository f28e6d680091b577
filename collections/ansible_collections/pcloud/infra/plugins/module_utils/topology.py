# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""From the spec to the desired state (the seeds' normalized shape), and what follows from it.

``build_state`` is pure: same spec and same previous state give the same output on any
machine. The relationship helpers (``services_on_droplet``, ``lb_targets``,
``monitored_by``, ``validate_state``, ``summary``, ``diff_droplets``) read that shape, so
the CLI, the filters and the inventory plugin all answer from one place.
"""

from __future__ import annotations

import hashlib
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from ansible_collections.pcloud.infra.plugins.module_utils import lbconf
from ansible_collections.pcloud.infra.plugins.module_utils.allocation import (
    HEALTH_AGENT_PORT,
    REGISTRY_PORT,
    PortRequest,
    allocate_ports,
    alternate_port,
    db_name,
    db_user,
    port_kind,
    reserved_ports,
    resource_hash,
)
from ansible_collections.pcloud.infra.plugins.module_utils.errors import StateError
from ansible_collections.pcloud.infra.plugins.module_utils.spec import ProjectSpec, Spec

SCHEMA_VERSION = 1
MASTER = "pcloud-master"
FLEET_TAG = "pcloud"
# Infrastructure services, all on master, with their fixed ports: what master really serves (the load balancer and
# the image registry). The ports of later services (OpenBao, OpenSearch) are only reserved (allocation.py).
INFRASTRUCTURE_SERVICES: Dict[str, Tuple[int, ...]] = {
    "nginx": (80, 443),
    "registry": (REGISTRY_PORT,),
}
HEARTBEAT_INTERVAL_MINUTES = 15
HEARTBEAT_BACKUP_AFTER_MINUTES = 20
WEB_TYPES = ("web",)
DATA_TYPES = ("postgres", "redis")


def web_droplet_names(project: ProjectSpec) -> List[str]:
    return ["%s-web%d" % (project.name, i) for i in range(1, project.web_droplets + 1)]


def service_name(project: str, environment: str, service: str) -> str:
    return "%s-%s-%s" % (project, environment, service)


def droplet_tags(role: str, project: Optional[str]) -> List[str]:
    tags = [FLEET_TAG, "%s-%s" % (FLEET_TAG, role)]
    if project:
        tags.append("%s-project-%s" % (FLEET_TAG, project))
    return tags


def monitoring_ring(web_droplets: List[str]) -> Dict[str, List[str]]:
    """Master watches every web droplet; each web droplet watches master and the next one."""
    ring: Dict[str, List[str]] = {MASTER: list(web_droplets)}
    count = len(web_droplets)
    for idx, name in enumerate(web_droplets):
        watched = [MASTER]
        nxt = web_droplets[(idx + 1) % count]
        if nxt != name:
            watched.append(nxt)
        ring[name] = watched
    return ring


def _pick(hosts: List[str], *parts: str) -> str:
    digest = hashlib.md5("-".join(parts).encode("utf-8")).hexdigest()
    return hosts[int(digest, 16) % len(hosts)]


def previous_ports(previous: Optional[Mapping[str, Any]]) -> Dict[Tuple[str, str], int]:
    """Ports recorded in an earlier ``infrastructure.json`` (ignores anything malformed)."""
    out: Dict[Tuple[str, str], int] = {}
    projects = previous.get("projects") if isinstance(previous, Mapping) else None
    if not isinstance(projects, Mapping):
        return out
    for key, services in projects.items():
        if not isinstance(services, Mapping):
            continue
        for svc, body in services.items():
            port = body.get("port") if isinstance(body, Mapping) else None
            if isinstance(port, int) and not isinstance(port, bool):
                out[(str(key), str(svc))] = port
    return out


def build_state(spec: Spec, previous: Optional[Mapping[str, Any]] = None,
                ips: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    """The desired state: droplets, projects (``{project}-{env}`` -> service -> details), monitoring."""
    infra = spec.infra
    projects = sorted(infra.projects, key=lambda p: p.name)
    webs = {p.name: web_droplet_names(p) for p in projects}
    all_webs = sorted(name for names in webs.values() for name in names)
    ring = monitoring_ring(all_webs)

    droplets: Dict[str, Dict[str, Any]] = {
        MASTER: {"role": "master", "size": infra.master_size, "region": infra.region, "project": None},
    }
    for proj in projects:
        for name in webs[proj.name]:
            droplets[name] = {"role": "web", "size": proj.web_size, "region": infra.region, "project": proj.name}
    for name, body in droplets.items():
        body["tags"] = droplet_tags(body["role"], body["project"])
        body["monitors"] = ring.get(name, [])
    for name, body in droplets.items():
        body["monitored_by"] = sorted(d for d, watched in ring.items() if name in watched)

    rendered: Dict[str, Dict[str, Dict[str, Any]]] = {}
    requests: List[PortRequest] = []
    for proj in projects:
        hosts = webs[proj.name] or [MASTER]
        for env in proj.environments:
            key = "%s-%s" % (proj.name, env)
            rhash = resource_hash(proj.name, env)
            services: Dict[str, Dict[str, Any]] = {}
            for svc in sorted(spec.deploy.services_for(proj.name), key=lambda s: s.name):
                assigned = list(hosts) if svc.type == "web" else [_pick(hosts, proj.name, env, svc.name)]
                body: Dict[str, Any] = {"type": svc.type, "assigned_droplets": assigned}
                if svc.type == "web":
                    body["health_path"] = svc.health_path
                    if svc.domains_for(env):
                        body["domains"] = list(svc.domains_for(env))
                        body["tls"] = svc.tls
                if svc.queue:
                    body["queue"] = svc.queue_for(proj.name, env)
                services[svc.name] = body
            services["database"] = {"type": "postgres", "assigned_droplets": [MASTER],
                                    "db_name": db_name(proj.name, env), "db_user": db_user(proj.name, env)}
            services["redis"] = {"type": "redis", "assigned_droplets": [MASTER]}
            for svc_name, body in services.items():
                body.update(project=proj.name, environment=env, resource_hash=rhash,
                            service_name=service_name(proj.name, env, svc_name))
                if body["type"] != "worker":
                    requests.append(PortRequest(
                        key=(key, svc_name), project=proj.name, environment=env, service=svc_name,
                        kind=port_kind(svc_name, body["type"]), droplets=tuple(body["assigned_droplets"])))
            rendered[key] = services

    reserved = {name: reserved_ports(body["role"]) for name, body in droplets.items()}
    ports = allocate_ports(requests, reserved, previous_ports(previous))
    for (key, svc_name), port in ports.items():
        rendered[key][svc_name]["port"] = port

    state: Dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "infrastructure_spec": infra.to_json(),
        "droplets": droplets,
        "projects": rendered,
        "infrastructure_services": {
            name: {"assigned_droplets": [MASTER], "ports": list(ports_)}
            for name, ports_ in INFRASTRUCTURE_SERVICES.items()
        },
        "health_monitoring": {
            "agent_port": HEALTH_AGENT_PORT,
            "monitors": {name: body["monitors"] for name, body in droplets.items()},
            "heartbeat": {
                "primary": MASTER,
                "backups": all_webs,
                "interval_minutes": HEARTBEAT_INTERVAL_MINUTES,
                "backup_after_minutes": HEARTBEAT_BACKUP_AFTER_MINUTES,
            },
        },
    }
    if spec.deploy.procfiles:  # what each project's Procfile said when last read (a client without the source)
        state["procfiles"] = {project: dict(processes) for project, processes in spec.deploy.procfiles}
    apply_ips(state, ips or {})
    state["summary"] = summary(state)
    return state


def apply_ips(state: Dict[str, Any], ips: Mapping[str, str]) -> Dict[str, Any]:
    """Record the provider's addresses in ``state`` (the provider always wins on IPs)."""
    for name, body in state["droplets"].items():
        body["ip"] = ips.get(name)
    return state


# --------------------------------------------------------------------------- relationships


def _projects(state: Mapping[str, Any]) -> Mapping[str, Mapping[str, Any]]:
    projects = state.get("projects")
    if not isinstance(projects, Mapping):
        raise StateError("state has no 'projects' mapping", field="projects")
    return projects


def _droplets(state: Mapping[str, Any]) -> Mapping[str, Mapping[str, Any]]:
    droplets = state.get("droplets")
    if not isinstance(droplets, Mapping):
        raise StateError("state has no 'droplets' mapping", field="droplets")
    return droplets


def iter_services(state: Mapping[str, Any]) -> Iterable[Tuple[str, str, Mapping[str, Any]]]:
    for key in sorted(_projects(state)):
        services = _projects(state)[key]
        for svc in sorted(services):
            yield key, svc, services[svc]


def services_on_droplet(state: Mapping[str, Any], droplet: str) -> List[Dict[str, Any]]:
    """Every project service assigned to ``droplet``, sorted by project-env and service."""
    out = []
    for key, svc, body in iter_services(state):
        if droplet in body.get("assigned_droplets", ()):
            item = {"key": key, "service": svc}
            for attr in ("project", "environment", "type", "port", "service_name", "db_name", "db_user",
                         "health_path"):
                if attr in body:
                    item[attr] = body[attr]
            out.append(item)
    return out


def droplet_ip(state: Mapping[str, Any], droplet: str) -> Optional[str]:
    body = _droplets(state).get(droplet)
    return body.get("ip") if isinstance(body, Mapping) else None


def lb_targets(state: Mapping[str, Any], key: Optional[str] = None, service: Optional[str] = None,
               live: Optional[Mapping[str, Mapping[str, int]]] = None) -> Dict[str, Dict[str, List[str]]]:
    """``{project-env: {service: ["ip:port", ...]}}`` for web services; workers and data stores excluded.

    ``live`` is the load balancer's record of which slot each member serves from,
    ``{"{project-env}-{service}": {droplet: port}}``: a member whose live port is its allocated port or
    that port's alternate (``allocation.alternate_port``) is routed there; anything else falls back to
    the allocated port. Raises StateError when an assigned droplet has no IP yet.
    """
    out: Dict[str, Dict[str, List[str]]] = {}
    for pe, svc, body in iter_services(state):
        if body.get("type") not in WEB_TYPES or (key and pe != key) or (service and svc != service):
            continue
        targets = []
        slots = (live or {}).get("%s-%s" % (pe, svc)) or {}
        for droplet in body.get("assigned_droplets", ()):
            ip = droplet_ip(state, droplet)
            if not ip:
                raise StateError("droplet %r has no IP address yet; run 'pcloud orchestrate' first" % droplet,
                                 field="droplets.%s.ip" % droplet)
            port = int(slots[droplet]) if slots.get(droplet) is not None else None
            if port not in (body["port"], alternate_port(body["port"])):
                port = body["port"]
            targets.append("%s:%s" % (ip, port))
        out.setdefault(pe, {})[svc] = targets
    return out


def live_ports(state: Mapping[str, Any], live: Mapping[str, Mapping[str, int]]) -> Dict[str, Dict[str, int]]:
    """``live`` without the members the state no longer has (removed projects, droplets, services)."""
    out: Dict[str, Dict[str, int]] = {}
    for pe, svc, body in iter_services(state):
        slots = live.get("%s-%s" % (pe, svc)) or {}
        kept = {d: int(slots[d]) for d in body.get("assigned_droplets", ()) if d in slots
                and int(slots[d]) in (body["port"], alternate_port(body["port"]))}
        if body.get("type") in WEB_TYPES and kept:
            out["%s-%s" % (pe, svc)] = kept
    return out


def lb_upstreams(state: Mapping[str, Any], live: Optional[Mapping[str, Mapping[str, int]]] = None,
                 drained: Iterable[str] = ()) -> str:
    """The load balancer's include (``lbconf.render``): an upstream ``{project-env}-{service}`` per web service with
    its ``lb_targets`` members, those of the ``drained`` droplets (names; droplets not in the state or without an
    address are ignored) marked down, and the ``/lb-status`` JSON."""
    members = {"%s-%s" % (key, svc): targets for key, services in lb_targets(state, live=live).items()
               for svc, targets in services.items()}
    ips = [droplet_ip(state, name) for name in drained if name in _droplets(state)]
    try:
        return lbconf.render(members, [ip for ip in ips if ip])
    except ValueError as exc:
        raise StateError("cannot configure the load balancer: %s" % exc) from None


def lb_standby(state: Mapping[str, Any], down: Iterable[str] = (MASTER,)) -> Optional[str]:
    """The web droplet that runs the load balancer while master is down: the lowest IP address among the web
    droplets not ``down`` - the rule that also makes it the leader among master's monitors. None without one."""
    import ipaddress

    out = set(down)
    candidates = [(ipaddress.ip_address(body["ip"]), name) for name, body in _droplets(state).items()
                  if body.get("role") != "master" and name not in out and body.get("ip")]
    return min(candidates)[1] if candidates else None


def keys_on_droplet(state: Mapping[str, Any], droplet: str) -> List[str]:
    """The project-envs with any service (web, worker, data store) on ``droplet``, sorted."""
    return sorted({pe for pe, _svc, body in iter_services(state) if droplet in body.get("assigned_droplets", ())})


def monitored_by(state: Mapping[str, Any], droplet: str) -> List[str]:
    """The droplets that watch ``droplet`` (sorted)."""
    return sorted(name for name, body in _droplets(state).items() if droplet in body.get("monitors", ()))


def validate_state(state: Mapping[str, Any], require_ips: bool = False) -> List[str]:
    """Problems of a rendered state: port conflicts, dangling droplets, missing IPs."""
    problems: List[str] = []
    droplets = _droplets(state)
    taken: Dict[Tuple[str, int], str] = {}
    for name, ports in (state.get("infrastructure_services") or {}).items():
        for droplet in ports.get("assigned_droplets", ()):
            for port in ports.get("ports", ()):
                taken[(droplet, port)] = name
    for key, svc, body in iter_services(state):
        label = "%s/%s" % (key, svc)
        for droplet in body.get("assigned_droplets", ()):
            if droplet not in droplets:
                problems.append("projects.%s.%s: assigned to unknown droplet %r" % (key, svc, droplet))
            port = body.get("port")
            if port is None:
                continue
            other = taken.get((droplet, port))
            if other is not None:
                problems.append("droplet %r: port %d used by both %s and %s" % (droplet, port, other, label))
            else:
                taken[(droplet, port)] = label
        if body.get("type") != "worker" and "port" not in body:
            problems.append("projects.%s.%s: no port allocated" % (key, svc))
    for name, body in sorted(droplets.items()):
        for watched in body.get("monitors", ()):
            if watched not in droplets:
                problems.append("droplets.%s.monitors: unknown droplet %r" % (name, watched))
        if require_ips and not body.get("ip"):
            problems.append("droplets.%s.ip: missing (droplet not created or not reported by the provider)" % name)
    return problems


def summary(state: Mapping[str, Any]) -> Dict[str, int]:
    counts = {"droplets": len(_droplets(state)), "projects": 0, "environments": len(_projects(state)),
              "web_services": 0, "workers": 0, "databases": 0, "redis": 0}
    counts["projects"] = len({body.get("project") for _key, _svc, body in iter_services(state)})
    kinds = {"web": "web_services", "worker": "workers", "postgres": "databases", "redis": "redis"}
    for _key, _svc, body in iter_services(state):
        field = kinds.get(body.get("type", ""))
        if field:
            counts[field] += 1
    return counts


def diff_droplets(state: Mapping[str, Any], actual: Iterable[Mapping[str, Any]],
                  tag: str = FLEET_TAG) -> Dict[str, List[Dict[str, Any]]]:
    """Compare planned droplets with the provider's (DigitalOcean droplet objects).

    Only droplets carrying ``tag`` are ours: those not in the plan are to be destroyed; others
    are never touched.
    """
    wanted = _droplets(state)
    ours = {d.get("name"): d for d in actual if tag in (d.get("tags") or ())}
    out: Dict[str, List[Dict[str, Any]]] = {"create": [], "destroy": [], "resize": [], "keep": []}
    for name in sorted(wanted):
        body = wanted[name]
        have = ours.get(name)
        if have is None:
            out["create"].append({"name": name, "size": body["size"], "region": body["region"]})
        elif have.get("size_slug") != body["size"]:
            out["resize"].append({"name": name, "from": have.get("size_slug"), "to": body["size"]})
        else:
            out["keep"].append({"name": name, "id": have.get("id")})
    for name in sorted(n for n in ours if n not in wanted):
        out["destroy"].append({"name": name, "id": ours[name].get("id")})
    return out


def destruction_problem(changes: Mapping[str, List[Mapping[str, Any]]], force: bool = False) -> Optional[str]:
    """Why a run needs confirmation before it destroys droplets: it would destroy master, or more than half of the
    fleet's droplets (those the spec no longer has, plus every droplet ``force`` recreates). None when it is safe.
    A targeted replacement (``pcloud_replace``, what recovery does) is not counted: it names its droplet."""
    fleet = sum(len(changes.get(key) or ()) for key in ("keep", "resize", "destroy"))
    doomed = [c["name"] for c in changes.get("destroy") or ()]
    if force:
        doomed += [c["name"] for c in list(changes.get("keep") or ()) + list(changes.get("resize") or ())]
    if not doomed or not fleet:
        return None
    if MASTER in doomed or 2 * len(doomed) > fleet:
        what = "master and " if MASTER in doomed else ""
        return ("this run would destroy %s%d of the fleet's %d droplets (%s)"
                % (what, len(doomed), fleet, ", ".join(sorted(doomed)[:10]) + (", ..." if len(doomed) > 10 else "")))
    return None


def public_ipv4(droplet: Mapping[str, Any]) -> Optional[str]:
    """The public v4 address of a DigitalOcean droplet object, if it has one."""
    for net in ((droplet.get("networks") or {}).get("v4") or ()):
        if net.get("type") == "public" and net.get("ip_address"):
            return net["ip_address"]
    return None
