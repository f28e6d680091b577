"""Make the pcloud.infra collection importable for the CLI (module_utils holds all logic)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def collections_path() -> Path:
    """``PCLOUD_COLLECTIONS_PATH``, else ``collections/`` of the checkout this package runs from."""
    env = os.environ.get("PCLOUD_COLLECTIONS_PATH")
    return Path(env) if env else REPO_ROOT / "collections"


def ensure_importable() -> Path:
    path = collections_path()
    if not (path / "ansible_collections" / "pcloud" / "infra" / "galaxy.yml").is_file():
        raise SystemExit("pcloud: cannot find the pcloud.infra collection under %s; "
                         "set PCLOUD_COLLECTIONS_PATH to the directory that holds ansible_collections/" % path)
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
    return path


ensure_importable()
