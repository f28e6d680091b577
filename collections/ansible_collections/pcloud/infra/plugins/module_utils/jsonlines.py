# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""Parse JSON and remember the line of every key, so errors can name ``FILE:LINE``.

``json.loads`` does the parsing and reports syntax errors with line and column; a second,
small walk over the same (already valid) text records the line where each path starts.
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, Optional, Tuple

from ansible_collections.pcloud.infra.plugins.module_utils.errors import SpecError

Path = Tuple[Any, ...]

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_scanstring = json.decoder.scanstring  # type: ignore[attr-defined]


class LocatedJSON:
    """A parsed document plus ``line(path)``: the line of the closest recorded ancestor."""

    def __init__(self, data: Any, lines: Dict[Path, int], file: str) -> None:
        self.data = data
        self.file = file
        self._lines = lines

    def line(self, path: Path) -> int:
        path = tuple(path)
        while path not in self._lines and path:
            path = path[:-1]
        return self._lines.get(path, 1)


class _Walker:
    def __init__(self, text: str) -> None:
        self.text = text
        self.lines: Dict[Path, int] = {}
        # newline offsets for a fast position -> line lookup
        self._nl = [i for i, c in enumerate(text) if c == "\n"]

    def _line(self, pos: int) -> int:
        lo, hi = 0, len(self._nl)
        while lo < hi:
            mid = (lo + hi) // 2
            if self._nl[mid] < pos:
                lo = mid + 1
            else:
                hi = mid
        return lo + 1

    def _ws(self, pos: int) -> int:
        return _WS.match(self.text, pos).end()  # type: ignore[union-attr]

    def value(self, pos: int, path: Path) -> int:
        pos = self._ws(pos)
        self.lines.setdefault(path, self._line(pos))
        ch = self.text[pos]
        if ch == "{":
            pos = self._ws(pos + 1)
            if self.text[pos] == "}":
                return pos + 1
            while True:
                pos = self._ws(pos)
                key, pos = _scanstring(self.text, pos + 1)
                self.lines[path + (key,)] = self._line(pos)
                pos = self._ws(pos)  # at ':'
                pos = self.value(pos + 1, path + (key,))
                pos = self._ws(pos)
                if self.text[pos] == "}":
                    return pos + 1
                pos += 1  # ','
        if ch == "[":
            pos = self._ws(pos + 1)
            if self.text[pos] == "]":
                return pos + 1
            index = 0
            while True:
                pos = self.value(pos, path + (index,))
                pos = self._ws(pos)
                if self.text[pos] == "]":
                    return pos + 1
                pos += 1
                index += 1
        if ch == '"':
            return _scanstring(self.text, pos + 1)[1]
        for literal in ("true", "false", "null"):
            if self.text.startswith(literal, pos):
                return pos + len(literal)
        match = _NUMBER.match(self.text, pos)
        return match.end() if match else pos + 1


def load_json_text(text: str, file: str) -> LocatedJSON:
    """Parse ``text``; raise SpecError naming ``file:line`` on syntax errors or an empty file."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise SpecError("file is empty; expected a JSON object", file=file, line=1, field="(file)")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError("JSON syntax error at column %d: %s" % (exc.colno, exc.msg),
                        file=file, line=exc.lineno, field="(syntax)") from None
    walker = _Walker(text)
    walker.value(0, ())
    return LocatedJSON(data, walker.lines, file)


def path_str(path: Path) -> str:
    """``('projects', 'shop', 'services', 0)`` -> ``projects.shop.services[0]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += "[%d]" % part
        else:
            out += ("." if out else "") + str(part)
    return out or "(root)"


def line_of(doc: Optional[LocatedJSON], path: Path) -> Optional[int]:
    return doc.line(path) if doc is not None else None
