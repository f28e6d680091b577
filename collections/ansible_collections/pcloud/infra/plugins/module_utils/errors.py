# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""The one error family of pcloud.

Every error carries where it came from (file, line, field) so that each adapter can
report it once: the CLI as ``FILE:LINE: field: problem`` with exit code 2, plugins as
``AnsibleError``, modules through ``fail_json``.
"""

from __future__ import annotations

from typing import Any, Iterable, List, Optional

MAX_REPORTED = 50  # problems listed before "... and N more"


def one_line(text: str, limit: int = 2000) -> str:
    """``text`` as one printable line: control characters and line separators escaped (a hostile field name
    must not forge a second error line), cut at ``limit`` characters."""
    if not text.isprintable():
        text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class PcloudError(Exception):
    """Base class: a message plus the place it refers to."""

    def __init__(
        self,
        message: str,
        *,
        file: Optional[str] = None,
        line: Optional[int] = None,
        field: Optional[str] = None,
        **context: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        self.context = context

    def location(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file if self.line is None else "%s:%d" % (self.file, self.line))
        if self.field:
            parts.append(one_line(self.field, 200))
        return ": ".join(parts)

    def __str__(self) -> str:
        where = self.location()
        return one_line("%s: %s" % (where, self.message) if where else self.message)


class SpecError(PcloudError):
    """The user's input (CSV, JSON, names, CLI arguments) is invalid."""


class AllocationError(SpecError):
    """A port range or name space cannot hold what the spec asks for."""


class StateError(PcloudError):
    """The rendered state is inconsistent (port conflicts, dangling droplets, missing IPs)."""


class ProviderError(PcloudError):
    """The provider API answered with an error or could not be reached."""

    def __init__(self, message: str, *, status: Optional[int] = None, response: Any = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.status = status
        self.response = response


class SpecErrors(SpecError):
    """Several problems found in one pass; ``errors`` keeps them in file order."""

    def __init__(self, errors: Iterable[PcloudError]) -> None:
        self.errors: List[PcloudError] = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors) or "invalid input")

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def lines(self, limit: int = MAX_REPORTED) -> List[str]:
        """One line per problem, the first ``limit`` of them, then how many more there are."""
        out = [str(e) for e in self.errors[:limit]]
        if len(self.errors) > limit:
            out.append("... and %d more problems" % (len(self.errors) - limit))
        return out


class Problems:
    """Collects problems while a loader keeps going, then raises them together."""

    def __init__(self) -> None:
        self.errors: List[PcloudError] = []

    def add(self, message: str, *, file: Optional[str] = None, line: Optional[int] = None,
            field: Optional[str] = None) -> None:
        self.errors.append(SpecError(message, file=file, line=line, field=field))

    def extend(self, errors: Iterable[PcloudError]) -> None:
        self.errors.extend(errors)

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise SpecErrors(self.errors)
