# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Thin filter adapter over module_utils.build_paths; documentation lives in build_paths.yml beside this file."""

from __future__ import annotations

from typing import Any, Callable, Dict

from ansible.errors import AnsibleFilterError

from ansible_collections.pcloud.infra.plugins.module_utils import build_paths as _build_paths
from ansible_collections.pcloud.infra.plugins.module_utils.errors import PcloudError


def build_paths(services: Dict[str, Any], root: str) -> Dict[str, Dict[str, str]]:
    if not isinstance(services, dict):
        raise AnsibleFilterError("pcloud.infra.build_paths: expected the project's services (a dict), got %s"
                                 % type(services).__name__)
    try:
        return _build_paths.build_paths(str(root), services)
    except PcloudError as exc:
        raise AnsibleFilterError("pcloud.infra.build_paths: %s" % exc) from exc


class FilterModule:
    """pcloud.infra build path filter."""

    def filters(self) -> Dict[str, Callable[..., Any]]:
        return {"build_paths": build_paths}
