# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""The argument spec shared by the pcloud modules (mirrors plugins/doc_fragments/pcloud.py)."""

from __future__ import annotations

from typing import Any, Dict

from ansible.module_utils.basic import env_fallback


def pcloud_argument_spec() -> Dict[str, Any]:
    return {
        "config_dir": {"type": "path", "required": True},
        "api_url": {"type": "str", "fallback": (env_fallback, ["PCLOUD_API_URL"])},
        "api_token": {"type": "str", "no_log": True, "fallback": (env_fallback, ["PCLOUD_API_TOKEN"])},
        "fleet_tag": {"type": "str", "default": "pcloud"},
        "timeout": {"type": "int", "default": 30},
    }
