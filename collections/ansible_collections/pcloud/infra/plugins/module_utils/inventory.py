# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""Hosts, groups and hostvars from the desired state and the provider's droplets (pure)."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional

from ansible_collections.pcloud.infra.plugins.module_utils.hostkeys import CONTROL_DIR, ssh_hostvars
from ansible_collections.pcloud.infra.plugins.module_utils.topology import (
    FLEET_TAG,
    public_ipv4,
    services_on_droplet,
)


def group_name(prefix: str, value: str) -> str:
    """``project_my_app`` for ``my-app``: group names keep to letters, digits and '_'."""
    return "%s_%s" % (prefix, value.replace("-", "_"))


def match_droplets(state: Mapping[str, Any], droplets: Iterable[Mapping[str, Any]],
                   tag: str = FLEET_TAG) -> Dict[str, Mapping[str, Any]]:
    """Planned droplet name -> the provider's droplet with that name and our fleet tag."""
    planned = state.get("droplets") or {}
    found: Dict[str, Mapping[str, Any]] = {}
    for droplet in droplets:
        name = droplet.get("name")
        if name in planned and tag in (droplet.get("tags") or ()):
            found.setdefault(name, droplet)
    return found


def droplet_ips(matched: Mapping[str, Mapping[str, Any]]) -> Dict[str, str]:
    return {name: ip for name, ip in ((n, public_ipv4(d)) for n, d in matched.items()) if ip}


def inventory_model(state: Mapping[str, Any], matched: Mapping[str, Mapping[str, Any]],
                    private_key_file: Optional[str] = None, config_dir: Optional[str] = None,
                    control_dir: Optional[str] = None) -> Dict[str, Any]:
    """``{"hosts": {name: hostvars}, "groups": {group: [hosts]}}`` for the droplets that exist.

    With ``config_dir``, each host is reached with strict host key checking against ``<config>/ssh/known_hosts``
    and keeps its SSH control socket in ``control_dir`` (default ``<config>/ssh/cp``)."""
    hosts: Dict[str, Dict[str, Any]] = {}
    groups: Dict[str, List[str]] = {"master": [], "web": []}
    for name in sorted(matched):
        body = state["droplets"][name]
        droplet = matched[name]
        services = services_on_droplet(state, name)
        hostvars: Dict[str, Any] = {
            "ansible_host": public_ipv4(droplet),
            "ansible_user": "root",
            "pcloud_role": body["role"],
            "pcloud_project": body.get("project"),
            "pcloud_size": body["size"],
            "pcloud_region": body["region"],
            "pcloud_tags": list(body.get("tags", ())),
            "pcloud_monitors": list(body.get("monitors", ())),
            "pcloud_monitored_by": list(body.get("monitored_by", ())),
            "pcloud_services": services,
            "pcloud_droplet_id": droplet.get("id"),
        }
        if private_key_file:
            hostvars["ansible_ssh_private_key_file"] = private_key_file
        if config_dir:
            hostvars["pcloud_config_dir"] = config_dir
            hostvars.update(ssh_hostvars(name, config_dir, control_dir or "%s/%s" % (config_dir, CONTROL_DIR)))
        hosts[name] = hostvars
        groups.setdefault(body["role"], []).append(name)
        projects = {s["project"] for s in services}
        if body.get("project"):
            projects.add(body["project"])
        for project in sorted(projects):
            groups.setdefault(group_name("project", project), []).append(name)
        for env in sorted({s["environment"] for s in services}):
            groups.setdefault(group_name("env", env), []).append(name)
    return {"hosts": hosts, "groups": groups}
