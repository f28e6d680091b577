# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Thin filter adapters over module_utils; documentation lives in the <filter>.yml files beside this one."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from ansible.errors import AnsibleFilterError

from ansible_collections.pcloud.infra.plugins.module_utils import consensus as _consensus
from ansible_collections.pcloud.infra.plugins.module_utils import deploy, health, releases, snapshots, topology
from ansible_collections.pcloud.infra.plugins.module_utils import domains as _domains
from ansible_collections.pcloud.infra.plugins.module_utils import zipapp as _zipapp
from ansible_collections.pcloud.infra.plugins.module_utils.allocation import resource_hash as _resource_hash
from ansible_collections.pcloud.infra.plugins.module_utils.errors import PcloudError


def _adapt(func: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PcloudError as exc:
            raise AnsibleFilterError("pcloud.infra.%s: %s" % (func.__name__, exc)) from exc
        except (AttributeError, KeyError, TypeError) as exc:
            raise AnsibleFilterError("pcloud.infra.%s: expected the pcloud state (infrastructure.json "
                                     "shape): %s" % (func.__name__, exc)) from exc

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


def resource_hash(project: str, environment: str) -> str:
    return _resource_hash(str(project), str(environment))


def service_name(project: str, environment: str, service: str) -> str:
    return topology.service_name(str(project), str(environment), str(service))


def service_port(state: Dict[str, Any], key: str, service: str) -> int:
    try:
        return int(state["projects"][key][service]["port"])
    except KeyError:
        raise PcloudError("no port for service %r of %r in the state" % (service, key),
                          field="projects.%s.%s.port" % (key, service)) from None


def lb_targets(state: Dict[str, Any], key: Optional[str] = None, service: Optional[str] = None,
               live: Optional[Dict[str, Dict[str, int]]] = None) -> Dict[str, Dict[str, List[str]]]:
    return topology.lb_targets(state, key=key, service=service, live=live)


def lb_upstreams(state: Dict[str, Any], live: Optional[Dict[str, Dict[str, int]]] = None,
                 drained: Optional[List[str]] = None) -> str:
    return topology.lb_upstreams(state, live=live, drained=[str(d) for d in drained or ()])


def live_ports(state: Dict[str, Any], live: Dict[str, Dict[str, int]]) -> Dict[str, Dict[str, int]]:
    return topology.live_ports(state, live or {})


def services_on_droplet(state: Dict[str, Any], droplet: str) -> List[Dict[str, Any]]:
    return topology.services_on_droplet(state, droplet)


def monitored_by(state: Dict[str, Any], droplet: str) -> List[str]:
    return topology.monitored_by(state, droplet)


def service_containers(state: Dict[str, Any], services: Dict[str, Any], key: str, droplet: str,
                       phase: str = "run") -> List[Dict[str, Any]]:
    return deploy.service_containers(state, services, key, droplet, str(phase))


def consensus(views: List[Dict[str, Any]], target: str, monitors: List[str], now: float, k: int = 3,
              max_age: float = 15.0, provider_status: Optional[str] = None) -> Dict[str, Any]:
    parsed = [_consensus.View.from_json(v) for v in views or ()]
    return _consensus.decide(str(target), [str(m) for m in monitors], parsed, float(now), k=int(k), max_age=float(max_age),
                             provider_status=provider_status).to_json()


def agent_config(state: Dict[str, Any], droplet: str, prefix: str, interval: float = 5.0, timeout: float = 2.0, k: int = 3,
                 replace_after: float = 600.0, takeover_after: float = 30.0,
                 droplet_ids: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    try:
        return health.agent_config(state, str(droplet), str(prefix), float(interval), float(timeout), int(k),
                                   float(replace_after), float(takeover_after), droplet_ids)
    except ValueError as exc:
        raise PcloudError(str(exc)) from None


def uat_tag(version: Optional[str], tags: List[str], stamp: str) -> str:
    from datetime import datetime

    try:
        when = datetime.strptime(str(stamp), "%Y%m%d-%H%M")
    except ValueError:
        raise PcloudError("stamp %r is not YYYYMMDD-HHMM" % stamp) from None
    existing = [str(t) for t in tags]
    tag = releases.uat_tag(releases.next_version(version or None, existing), when)
    while tag in existing:  # two UAT deploys within one minute: the patch number goes up
        major, minor, patch = releases.UAT_TAG_RE.match(tag).groups()[:3]
        tag = releases.uat_tag("%s.%s.%d" % (major, minor, int(patch) + 1), when)
    return tag


def latest_uat_tag(tags: List[str]) -> str:
    return releases.latest_uat_tag([str(t) for t in tags]) or ""


def snapshot_name(droplet: str, stamp: str) -> str:
    return snapshots.snapshot_name(str(droplet), str(stamp))


def latest_snapshot(items: List[Dict[str, Any]], droplet: str) -> str:
    found = snapshots.latest(items or (), str(droplet))
    return str(found["id"]) if found else ""


def snapshot_cleanup(items: List[Dict[str, Any]], droplets: List[str], keep: int = snapshots.KEEP) -> Dict[str, Any]:
    return snapshots.cleanup_plan(items or (), [str(d) for d in droplets], int(keep))


def lb_standby(state: Dict[str, Any], down: Optional[List[str]] = None) -> str:
    return topology.lb_standby(state, [str(d) for d in down] if down is not None else (topology.MASTER,)) or ""


def running_slots(state: Dict[str, Any], droplet: str, prefix: str, running: List[str]) -> Dict[str, Dict[str, int]]:
    return deploy.running_slots(state, str(droplet), str(prefix), [str(n) for n in running or ()])


def lb_certificates(state: Dict[str, Any]) -> List[Dict[str, Any]]:
    return _domains.certificates(state)


def lb_certificate_files(certs: List[Dict[str, Any]], acme_issued: List[str]) -> List[Dict[str, str]]:
    return _domains.certificate_files(certs, acme_issued)


def acme_orders(certs: List[Dict[str, Any]], renewals: List[Dict[str, Any]], issued: List[Dict[str, Any]],
                force: bool = False) -> List[Dict[str, Any]]:
    return _domains.acme_orders(certs, renewals, issued, bool(force))


def acme_challenges(orders: List[Dict[str, Any]]) -> Dict[str, List[Dict[str, str]]]:
    return _domains.acme_challenges(orders)


def zipapp(files: Dict[str, str], main: str) -> str:
    try:
        return _zipapp.zipapp_b64({str(k): str(v) for k, v in (files or {}).items()}, str(main))
    except ValueError as exc:
        raise PcloudError(str(exc)) from None


class FilterModule:
    """pcloud.infra filters."""

    def filters(self) -> Dict[str, Callable[..., Any]]:
        funcs = (resource_hash, service_name, service_port, lb_targets, lb_upstreams, services_on_droplet, monitored_by,
                 service_containers, live_ports, consensus, agent_config, uat_tag, latest_uat_tag,
                 snapshot_name, latest_snapshot, snapshot_cleanup, lb_standby, running_slots, zipapp,
                 lb_certificates, lb_certificate_files, acme_orders, acme_challenges)
        return {f.__name__: _adapt(f) for f in funcs}
