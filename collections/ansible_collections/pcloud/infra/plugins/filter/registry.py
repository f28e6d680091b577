# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Thin filter adapters over module_utils.registry and module_utils.containers; documentation lives in the .yml files beside this file."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Sequence

from ansible.errors import AnsibleFilterError

from ansible_collections.pcloud.infra.plugins.module_utils import containers as _containers
from ansible_collections.pcloud.infra.plugins.module_utils import registry as _registry
from ansible_collections.pcloud.infra.plugins.module_utils.errors import PcloudError


def _wrap(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PcloudError as exc:
            raise AnsibleFilterError("pcloud.infra.%s: %s" % (name, exc)) from exc
    return call


def registry_images(services: Sequence[str], project: str, commit: str) -> Dict[str, str]:
    return _registry.images(project, list(services), commit)


def reproduce_images(services: Sequence[str], project: str, tag: str) -> Dict[str, str]:
    return _registry.reproduce_images(project, list(services), tag)


def registry_pinned(image_info: Sequence[Mapping[str, Any]], wanted: Mapping[str, str]) -> Dict[str, str]:
    return _registry.pinned(image_info, wanted)


def registry_builds(paths: Mapping[str, Mapping[str, str]], root: str, only: Any = None) -> Dict[str, Dict[str, Any]]:
    builds = _registry.distinct_builds(paths, root)
    if only is None:
        return builds
    wanted = set(only)
    return {key: build for key, build in builds.items() if wanted.intersection(build["services"])}


def htpasswd(password: str, user: str = _registry.REGISTRY_USER) -> str:
    return _registry.htpasswd_line(user, password)


def registry_pulls(pinned: Mapping[str, str], services: Any = None) -> List[str]:
    return _registry.pull_list(pinned, list(services) if services is not None else None)


def data_containers(instances: Sequence[Mapping[str, Any]], kind: str, prefix: str, droplet: str, image: str,
                    require_password: bool = True, timeout: int = 60) -> List[Dict[str, Any]]:
    return _containers.data_containers(list(instances), kind, prefix, droplet, image, require_password, int(timeout))


def app_containers(items: Sequence[Mapping[str, Any]], images: Mapping[str, str], prefix: str, key: str, droplet: str,
                   live_ports: Any = None, stop_timeout: int = 10, health_timeout: int = 60,
                   kinds: Any = ("web", "worker"), release_timeout: int = 600) -> List[Dict[str, Any]]:
    return _containers.app_containers(list(items), images, prefix, key, droplet, live_ports or {}, int(stop_timeout),
                                      int(health_timeout), tuple(kinds), int(release_timeout))


class FilterModule:
    """pcloud.infra registry filters."""

    def filters(self) -> Dict[str, Callable[..., Any]]:
        return {name: _wrap(name, func) for name, func in (
            ("registry_images", registry_images), ("registry_pinned", registry_pinned),
            ("registry_builds", registry_builds), ("htpasswd", htpasswd), ("registry_pulls", registry_pulls),
            ("data_containers", data_containers), ("reproduce_images", reproduce_images),
            ("app_containers", app_containers))}
