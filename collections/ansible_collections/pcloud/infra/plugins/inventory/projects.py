# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: projects
short_description: pcloud droplets from the spec and the provider's droplet list
version_added: 0.1.0
author: pcloud contributors (@pcloud)
description:
  - Reads the pcloud spec (C(projects.csv) or C(infrastructure_spec), and C(deployment_config.json)) from a
    config directory, computes the desired state, and matches it with the droplets the provider reports
    (DigitalOcean API v2 shape; the pcloud local cloud speaks the same API).
  - A droplet becomes a host when its name is in the plan and it carries the fleet tag; droplets that are
    planned but not created yet are absent (C(pcloud plan) shows them).
  - Groups C(master), C(web), C(project_<project>) and C(env_<env>) (C(-) becomes C(_)); hostvars
    C(pcloud_role), C(pcloud_project), C(pcloud_monitors), C(pcloud_monitored_by), C(pcloud_services)
    (with ports and environments), C(ansible_host) from the public IPv4 address.
  - Hosts are reached over SSH with strict host key checking against C(ssh/known_hosts) in O(config_dir), which
    holds the host keys pcloud generated for its droplets (C(ansible_ssh_common_args) sets C(UserKnownHostsFile),
    C(StrictHostKeyChecking=yes) and the droplet name as C(HostKeyAlias)); a droplet whose key changed is refused.
  - SSH control sockets live in C(ssh/cp) in O(config_dir) (mode 0700). When that path is too long for a unix socket
    (about 79 characters), a private directory made with mkdtemp is used instead, and its name is kept in
    C(ssh/cp.path) for the next runs.
  - The inventory file name must end in C(pcloud.yml) or C(pcloud.yaml).
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: Marks this file as a pcloud inventory source.
    type: str
    required: true
    choices: [pcloud.infra.projects]
  config_dir:
    description:
      - The pcloud config directory (spec files, C(infrastructure.json), C(ssh/)).
      - A relative path is taken from the directory of the inventory file.
    type: str
    default: ../config
    env:
      - name: PCLOUD_CONFIG_DIR
  api_url:
    description:
      - Base URL of the DigitalOcean-shaped API, for example C(https://api.digitalocean.com/v2) or the local
        cloud's URL. When unset, C(PCLOUD_API_URL) is used, else DigitalOcean when a C(DO_API_TOKEN) is set,
        else the local cloud started with C(pcloud local up) for O(config_dir).
    type: str
    env:
      - name: PCLOUD_API_URL
  api_token:
    description:
      - The API token. When unset, the first of C(DO_API_TOKEN), C(DIGITALOCEAN_TOKEN), C(DO_OAUTH_TOKEN) is used for
        DigitalOcean, else the local cloud's token.
    type: str
    env:
      - name: PCLOUD_API_TOKEN
  fleet_tag:
    description: Only droplets with this tag belong to the fleet.
    type: str
    default: pcloud
  timeout:
    description: Seconds to wait for each API response.
    type: int
    default: 30
  private_key_file:
    description:
      - SSH private key for the droplets. Defaults to C(ssh/id_ed25519) in the config directory when that file
        exists.
    type: path
"""

EXAMPLES = r"""
# inventory/pcloud.yml
plugin: pcloud.infra.projects
config_dir: ../config
---
# Against DigitalOcean, with DO_API_TOKEN in the environment, and an extra group per size
plugin: pcloud.infra.projects
config_dir: /srv/pcloud/config
api_url: https://api.digitalocean.com/v2
keyed_groups:
  - key: pcloud_size
    prefix: size
"""

RETURN = r""" # """

import os
from typing import Any, Dict, List, Mapping, Optional

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.pcloud.infra.plugins.module_utils.errors import PcloudError
from ansible_collections.pcloud.infra.plugins.module_utils.hostkeys import control_dir
from ansible_collections.pcloud.infra.plugins.module_utils.inventory import (
    droplet_ips,
    inventory_model,
    match_droplets,
)
from ansible_collections.pcloud.infra.plugins.module_utils.provider import Client, resolve_provider
from ansible_collections.pcloud.infra.plugins.module_utils.spec import load_spec, load_state_file
from ansible_collections.pcloud.infra.plugins.module_utils.topology import apply_ips, build_state


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "pcloud.infra.projects"

    def verify_file(self, path: str) -> bool:
        return super().verify_file(path) and path.endswith(("pcloud.yml", "pcloud.yaml"))

    def _config_dir(self, path: str) -> str:
        config_dir = os.path.expanduser(self.get_option("config_dir"))
        if not os.path.isabs(config_dir):
            config_dir = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(path)), config_dir))
        return config_dir

    def _fetch(self, config_dir: str) -> List[Dict[str, Any]]:
        """The provider's droplets with the fleet tag (the only I/O besides reading the spec)."""
        provider = resolve_provider(os.environ, self.get_option("api_url"), self.get_option("api_token"), config_dir)
        if provider is None:
            self.display.warning("pcloud.infra.projects: no provider configured (start the local cloud with "
                                 "'pcloud local up', or set api_url / PCLOUD_API_URL, or DO_API_TOKEN); "
                                 "the inventory has no hosts")
            return []
        return Client(provider, timeout=self.get_option("timeout")).droplets(tag=self.get_option("fleet_tag"))

    def parse(self, inventory: Any, loader: Any, path: str, cache: bool = True) -> None:
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        config_dir = self._config_dir(path)
        try:
            spec = load_spec(config_dir)
            previous = load_state_file(config_dir)
            cache_key = self.get_cache_key(path)
            use_cache = self.get_option("cache") and cache
            droplets: Optional[List[Dict[str, Any]]] = None
            if use_cache:
                try:
                    droplets = self._cache[cache_key]
                except KeyError:
                    droplets = None
            if droplets is None:
                droplets = self._fetch(config_dir)
                if self.get_option("cache"):
                    self._cache[cache_key] = droplets
            key_file = self.get_option("private_key_file") or os.path.join(config_dir, "ssh", "id_ed25519")
            self._populate(spec, previous.data if previous else None, droplets,
                           key_file if os.path.exists(key_file) else None, config_dir,
                           control_dir(config_dir) if droplets else None)
        except (PcloudError, OSError) as exc:
            raise AnsibleParserError("pcloud.infra.projects: %s" % exc) from exc

    def _populate(self, spec: Any, previous: Optional[Mapping[str, Any]], droplets: List[Dict[str, Any]],
                  private_key_file: Optional[str] = None, config_dir: Optional[str] = None,
                  control_path_dir: Optional[str] = None) -> None:
        """Add hosts and groups; no I/O here."""
        tag = self.get_option("fleet_tag")
        state = build_state(spec, previous)
        matched = match_droplets(state, droplets, tag)
        apply_ips(state, droplet_ips(matched))
        model = inventory_model(state, matched, private_key_file, config_dir, control_path_dir)
        for group in sorted(model["groups"]):
            self.inventory.add_group(group)
        for host, hostvars in model["hosts"].items():
            self.inventory.add_host(host)
            for var, value in hostvars.items():
                self.inventory.set_variable(host, var, value)
        for group, hosts in model["groups"].items():
            for host in hosts:
                self.inventory.add_child(group, host)
        strict = self.get_option("strict")
        for host, hostvars in model["hosts"].items():
            self._set_composite_vars(self.get_option("compose"), hostvars, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, host, strict=strict)
