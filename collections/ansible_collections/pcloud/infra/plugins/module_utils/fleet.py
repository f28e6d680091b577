# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""What orchestration applies: the droplets to create, the fleet firewall, the admin IP, the rendered state."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.pcloud.infra.plugins.module_utils.allocation import HEALTH_AGENT_PORT
from ansible_collections.pcloud.infra.plugins.module_utils.errors import ProviderError, SpecError, SpecErrors
from ansible_collections.pcloud.infra.plugins.module_utils.inventory import droplet_ips, match_droplets
from ansible_collections.pcloud.infra.plugins.module_utils.provider import Client, Provider, local_gateway, resolve_provider
from ansible_collections.pcloud.infra.plugins.module_utils.spec import Spec, load_spec, load_state_file
from ansible_collections.pcloud.infra.plugins.module_utils.topology import FLEET_TAG, apply_ips, build_state, validate_state

FIREWALL_NAME = "pcloud-fleet"
SSH_KEY_NAME = "pcloud-fleet"
DROPLET_IMAGE = "debian-12-x64"
# Ports of project services and the health agent: reachable from fleet droplets only.
SERVICE_PORT_RANGE = "5000-9999"
# Second slots of the web services during a zero-downtime switch (allocation.alternate_port).
ALTERNATE_PORT_RANGE = "17000-19999"
ANYWHERE = ["0.0.0.0/0", "::/0"]


def admin_ip_problem(value: Any) -> Optional[str]:
    try:
        ip = ipaddress.ip_address(str(value).split("/", maxsplit=1)[0])
    except ValueError:
        return "not an IP address: %r" % (value,)
    if ip.is_unspecified or ip.is_multicast:
        return "not a usable admin IP: %s" % ip
    return None


def resolve_admin_ip(explicit: Optional[str], previous: Optional[Mapping[str, Any]], provider_name: str,
                     gateway: Optional[str]) -> str:
    """Explicit value, else the one recorded in infrastructure.json, else (local cloud) the droplet network's
    gateway, which is where this machine's traffic to the droplets comes from."""
    candidates = [explicit]
    if isinstance(previous, Mapping):
        candidates.append(previous.get("admin_ip"))
    for value in candidates:
        if value:
            why = admin_ip_problem(value)
            if why:
                raise SpecError(why, field="admin_ip")
            return str(value)
    if provider_name == "local":
        if gateway:
            return gateway
        raise SpecError("the local cloud's droplet gateway is unknown (is it running for this config dir?); "
                        "pass admin_ip", field="admin_ip")
    raise SpecError("no admin IP recorded: run 'pcloud update-ip YOUR.PUBLIC.IP' first (SSH to the droplets is only "
                    "allowed from it)", field="admin_ip")


def firewall_spec(admin_ip: str, tag: str = FLEET_TAG) -> Dict[str, Any]:
    """One firewall for the fleet: SSH from the admin IP and the droplets, 80/443 from anywhere,
    service ports (and the health agent) from the droplets, the health agent also from the admin IP. Outbound is open (ports "0" = all,
    which is also what the DigitalOcean API returns, so re-runs compare equal)."""
    return {
        "name": FIREWALL_NAME,
        "tags": [tag],
        "inbound_rules": [
            {"protocol": "tcp", "ports": "22", "sources": {"addresses": [admin_ip], "tags": [tag]}},
            {"protocol": "tcp", "ports": "80", "sources": {"addresses": list(ANYWHERE)}},
            {"protocol": "tcp", "ports": "443", "sources": {"addresses": list(ANYWHERE)}},
            {"protocol": "tcp", "ports": SERVICE_PORT_RANGE, "sources": {"tags": [tag]}},
            {"protocol": "tcp", "ports": ALTERNATE_PORT_RANGE, "sources": {"tags": [tag]}},
            # the health agents' reports, for 'pcloud status' from the admin's machine (the droplets reach it
            # through the service range above)
            {"protocol": "tcp", "ports": str(HEALTH_AGENT_PORT), "sources": {"addresses": [admin_ip]}},
            {"protocol": "icmp", "ports": "0", "sources": {"addresses": [admin_ip], "tags": [tag]}},
        ],
        "outbound_rules": [
            {"protocol": "tcp", "ports": "0", "destinations": {"addresses": list(ANYWHERE)}},
            {"protocol": "udp", "ports": "0", "destinations": {"addresses": list(ANYWHERE)}},
            {"protocol": "icmp", "ports": "0", "destinations": {"addresses": list(ANYWHERE)}},
        ],
    }


def droplet_requests(state: Mapping[str, Any], image: str = DROPLET_IMAGE) -> List[Dict[str, Any]]:
    """One create request per planned droplet (for a loop over community.digitalocean.digital_ocean_droplet)."""
    return [{"name": name, "size": body["size"], "region": body["region"], "image": image, "tags": list(body["tags"]),
             "role": body["role"], "project": body.get("project")}
            for name, body in sorted(state["droplets"].items())]


def rendered_state(state: Dict[str, Any], admin_ip: str, provider: Mapping[str, str]) -> Dict[str, Any]:
    """The document written to infrastructure.json: the desired state plus what the run resolved."""
    out = dict(state)
    out["admin_ip"] = admin_ip
    out["provider"] = provider["name"]  # not the URL: a local cloud may come back on another port
    return out


@dataclass
class LoadedPlan:
    spec: Spec
    previous: Optional[Dict[str, Any]]  # infrastructure.json as the last run wrote it, when it is an object
    state: Dict[str, Any]


def load_plan(config_dir: str, sources: Optional[Mapping[str, str]] = None) -> LoadedPlan:
    """Spec + previous state + desired state (earlier allocations kept), validated; every problem as SpecError(s).

    The one validation of a config dir: ``pcloud validate`` and every CLI command, and the modules
    (``pcloud_state_info``, ``pcloud_state``) for ansible-playbook and AWX, all run this. ``sources``: project ->
    the source directory a deploy builds from, whose ``Procfile`` may declare the project's services."""
    spec = load_spec(config_dir, sources)
    loaded = load_state_file(config_dir)
    previous = loaded.data if loaded is not None and isinstance(loaded.data, dict) else None
    try:
        state = build_state(spec, previous)
    except SpecError as exc:
        if exc.file is None:
            exc.file = spec.infra.source
        raise
    problems = validate_state(state)
    if problems:
        raise SpecErrors(SpecError(p, file=spec.infra.source) for p in problems)
    return LoadedPlan(spec=spec, previous=previous, state=state)


@dataclass
class ProviderPlan:
    provider: Provider
    spec: Spec
    previous: Optional[Dict[str, Any]]
    state: Dict[str, Any]
    droplets: List[Dict[str, Any]]
    admin_ip: str


def plan_against_provider(config_dir: str, api_url: Optional[str], api_token: Optional[str], fleet_tag: str,
                          timeout: float, admin_ip: Optional[str],
                          sources: Optional[Mapping[str, str]] = None) -> ProviderPlan:
    """Spec + previous state + the provider's droplets (their IPs) + the admin IP, for the modules."""
    provider = resolve_provider(os.environ, api_url, api_token, config_dir)
    if provider is None:
        raise ProviderError("no provider: start the local cloud ('pcloud local up'), or set PCLOUD_API_URL, "
                            "or DO_API_TOKEN (or DIGITALOCEAN_TOKEN) for DigitalOcean")
    loaded = load_plan(config_dir, sources)
    spec, previous, state = loaded.spec, loaded.previous, loaded.state
    droplets = Client(provider, timeout=timeout).droplets(tag=fleet_tag)
    apply_ips(state, droplet_ips(match_droplets(state, droplets, fleet_tag)))
    return ProviderPlan(provider=provider, spec=spec, previous=previous, state=state, droplets=droplets,
                        admin_ip=resolve_admin_ip(admin_ip, previous, provider.name, local_gateway(config_dir)))
