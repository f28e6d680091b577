# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""Where releases are kept: ``releases/{project}-{env}.json`` in the config dir, newest last."""

from __future__ import annotations

import os
from typing import Any, Dict, List

from ansible_collections.pcloud.infra.plugins.module_utils.statefile import read_json_list

RELEASES_DIR = "releases"


def history_path(config_dir: str, key: str) -> str:
    return os.path.join(config_dir, RELEASES_DIR, "%s.json" % key)


def load_histories(config_dir: str) -> Dict[str, List[Dict[str, Any]]]:
    """Every project-env's history, ``{project-env: [release, ...]}``."""
    folder = os.path.join(config_dir, RELEASES_DIR)
    names = sorted(n[:-5] for n in os.listdir(folder) if n.endswith(".json")) if os.path.isdir(folder) else []
    return {name: load_history(config_dir, name) for name in names}


def load_history(config_dir: str, key: str) -> List[Dict[str, Any]]:
    return read_json_list(history_path(config_dir, key), "release history")
