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
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.pcloud.infra.plugins.module_utils.errors import SpecError, SpecErrors

Path = Tuple[Any, ...]

MAX_DEPTH = 32  # no pcloud file nests deeper than a few levels
MAX_NUMBER_DIGITS = 18  # ports, counts, minutes: anything longer is a mistake (or an attack)

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
        self.duplicates: List[Tuple[Path, int, int]] = []  # (path, first line, repeated line)
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
                line = self._line(pos)
                if path + (key,) in self.lines:
                    self.duplicates.append((path + (key,), self.lines[path + (key,)], line))
                self.lines[path + (key,)] = line
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
    depth = _max_depth(text)
    if depth[0] > MAX_DEPTH:
        raise SpecError("nested more than %d levels deep" % MAX_DEPTH, file=file, line=text.count("\n", 0, depth[1]) + 1,
                        field="(structure)")
    try:
        data = json.loads(text, parse_constant=_no_constant, parse_int=_bounded_int, parse_float=_bounded_float)
    except json.JSONDecodeError as exc:
        raise SpecError("JSON syntax error at column %d: %s" % (exc.colno, exc.msg),
                        file=file, line=exc.lineno, field="(syntax)") from None
    except _BadNumber as exc:
        raise SpecError(str(exc), file=file, line=_line_of_token(text, exc.token), field="(number)") from None
    walker = _Walker(text)
    walker.value(0, ())
    if walker.duplicates:
        raise SpecErrors(SpecError("duplicate key %r (first on line %d, again on line %d): JSON keeps only one"
                                   % (dup[-1], first, again), file=file, line=again, field=path_str(dup))
                         for dup, first, again in walker.duplicates)
    return LocatedJSON(data, walker.lines, file)


class _BadNumber(ValueError):
    def __init__(self, message: str, token: str) -> None:
        super().__init__(message)
        self.token = token


def _no_constant(token: str) -> Any:
    raise _BadNumber("%s is not a number JSON allows" % token, token)


def _bounded_int(token: str) -> int:
    if len(token.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise _BadNumber("number with %d digits is too large" % len(token.lstrip("-")), token)
    return int(token)


def _bounded_float(token: str) -> float:
    if len(token) > MAX_NUMBER_DIGITS + 8:
        raise _BadNumber("number %s... is too long" % token[:12], token)
    value = float(token)
    if value in (float("inf"), float("-inf")):
        raise _BadNumber("number %s is out of range" % token, token)
    return value


def _line_of_token(text: str, token: str) -> int:
    pos = text.find(token)
    return text.count("\n", 0, pos) + 1 if pos >= 0 else 1


_STRUCTURE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.S)


def _max_depth(text: str) -> Tuple[int, int]:
    """(deepest nesting of objects and lists, the offset where it first passed MAX_DEPTH), strings skipped;
    checked before parsing, so 100 000 nested brackets give an error, not a RecursionError."""
    depth, deepest, where = 0, 0, 0
    for match in _STRUCTURE.finditer(text):
        char = match.group()
        if char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if depth == MAX_DEPTH + 1:
                    where = match.start()
        elif char in "]}":
            depth -= 1
    return deepest, where


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
