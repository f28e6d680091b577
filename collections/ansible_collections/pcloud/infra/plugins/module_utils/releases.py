# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""Release naming: UAT tags ``v{version}-uat-{YYYYMMDD-HHMM}``, the next version, the latest UAT tag."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Iterable, List, Optional, Tuple

from ansible_collections.pcloud.infra.plugins.module_utils.errors import SpecError

UAT_TAG_RE = re.compile(r"^v(\d+)\.(\d+)\.(\d+)-uat-(\d{8})-(\d{4})$")
VERSION_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
FIRST_VERSION = "0.1.0"


def uat_tag(version: str, when: datetime) -> str:
    if not VERSION_RE.match(version):
        raise SpecError("version %r is not MAJOR.MINOR.PATCH" % version, field="versioning.version")
    return "v%s-uat-%s" % (version, when.strftime("%Y%m%d-%H%M"))


def _key(tag: str) -> Optional[Tuple[int, int, int, str, str]]:
    match = UAT_TAG_RE.match(tag)
    if not match:
        return None
    major, minor, patch, day, minute = match.groups()
    return int(major), int(minor), int(patch), day, minute


def uat_tags(tags: Iterable[str]) -> List[str]:
    """The UAT tags among ``tags``, oldest first (by date and time, then version)."""
    found = [(k, t) for t, k in ((t, _key(t)) for t in tags) if k is not None]
    return [t for k, t in sorted(found, key=lambda kt: (kt[0][3], kt[0][4], kt[0][:3]))]


def latest_uat_tag(tags: Iterable[str]) -> Optional[str]:
    ordered = uat_tags(tags)
    return ordered[-1] if ordered else None


def next_version(configured: Optional[str], tags: Iterable[str]) -> str:
    """``versioning.version`` when set; else the highest tagged version with patch + 1; else 0.1.0."""
    if configured:
        return configured
    versions = [k[:3] for k in (_key(t) for t in tags) if k is not None]
    if not versions:
        return FIRST_VERSION
    major, minor, patch = max(versions)
    return "%d.%d.%d" % (major, minor, patch + 1)
