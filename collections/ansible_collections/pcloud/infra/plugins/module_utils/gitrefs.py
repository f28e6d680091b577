# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""Reading Git tags: the argv pcloud runs and the parsing of its output (no shell, no I/O here)."""

from __future__ import annotations

import re
from typing import Dict, List

# name NUL object NUL peeled object (an annotated tag peels to its commit; a lightweight one has none)
TAG_FORMAT = "%(refname:strip=2)%00%(objectname)%00%(*objectname)"
COMMIT_RE = re.compile(r"^[0-9a-f]{40}\Z")
TAG_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}\Z")


def list_tags_argv(path: str) -> List[str]:
    return ["git", "-C", path, "for-each-ref", "refs/tags", "--format=" + TAG_FORMAT]


def parse_tags(output: str) -> Dict[str, str]:
    """``{tag: commit}`` from ``for-each-ref`` output in TAG_FORMAT."""
    tags: Dict[str, str] = {}
    for line in output.splitlines():
        parts = line.split("\0")
        if len(parts) != 3 or not parts[0]:
            continue
        name, obj, peeled = parts
        tags[name] = peeled or obj
    return tags


def tags_at(tags: Dict[str, str], commit: str) -> List[str]:
    """The tags that point at ``commit``, sorted."""
    return sorted(name for name, target in tags.items() if target == commit)
