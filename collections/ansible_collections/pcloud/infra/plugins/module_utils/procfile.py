# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""A repository's ``Procfile`` (Heroku's format) as pcloud services.

One process type per line, ``<type>: <command>``; blank lines and ``#`` comments are ignored. ``web`` is the
web service, ``release`` the release phase (run once per deploy before any switch), every other type a worker.
A Procfile comes from the repository being deployed, which is not trusted: every name and command is checked
before it reaches a container name or a shell.
"""

from __future__ import annotations

import re
from typing import Dict, List, Mapping, Optional, Tuple

from ansible_collections.pcloud.infra.plugins.module_utils.errors import Problems
from ansible_collections.pcloud.infra.plugins.module_utils.names import control_problem, name_problem

MAX_BYTES = 64 * 1024
MAX_COMMAND = 4096
_LINE = re.compile(r"([^:\s]+)[ \t]*:[ \t]*(.*)")
WEB, RELEASE = "web", "release"


def parse(text: str, source: str = "Procfile") -> Dict[str, str]:
    """``{process type: command}`` in file order; SpecError names ``FILE:LINE`` of every problem."""
    problems = Problems()
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        problems.add(file=source, line=1, field="(file)", message="larger than %d bytes" % MAX_BYTES)
        problems.raise_if_any()
    out: Dict[str, str] = {}
    lines = text.split("\n")
    for number, raw in enumerate(lines, 1):
        line = raw[:-1] if raw.endswith("\r") else raw
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        why = control_problem(line)
        if why:
            problems.add(file=source, line=number, field="(line)", message=why)
            continue
        match = _LINE.fullmatch(line.strip())
        if not match:
            problems.add(file=source, line=number, field="(line)", message="expected 'TYPE: COMMAND'")
            continue
        kind, command = match.group(1), match.group(2).strip()
        why = name_problem("service", kind)
        if why:
            problems.add(file=source, line=number, field="(process type)", message=why)
        elif kind in out:
            problems.add(file=source, line=number, field=kind, message="process type listed twice")
        elif not command:
            problems.add(file=source, line=number, field=kind, message="the command is empty")
        elif len(command) > MAX_COMMAND:
            problems.add(file=source, line=number, field=kind, message="command longer than %d characters" % MAX_COMMAND)
        else:
            out[kind] = command
    if not problems and WEB not in out and not [k for k in out if k != RELEASE]:
        problems.add(file=source, line=1, field="(file)", message="no process type to run (expected 'web: COMMAND' or a worker)")
    problems.raise_if_any()
    return out


def services(processes: Mapping[str, str], containerfile: str = "Dockerfile") -> List[Dict[str, object]]:
    """deployment_config.json service bodies (ServiceSpec.to_json shape) by name: ``web`` a web service that also
    carries the release phase, every other type a worker; all built from ``containerfile`` at the repository root."""
    release: Optional[str] = processes.get(RELEASE)
    out: List[Tuple[str, Dict[str, object]]] = []
    for kind, command in processes.items():
        if kind == RELEASE:
            continue
        body: Dict[str, object] = {"type": "web" if kind == WEB else "worker", "containerfile_path": containerfile,
                                   "build_context": ".", "command": command}
        out.append((kind, body))
    if release is not None:
        holder = next((body for kind, body in out if kind == WEB), out[0][1] if out else None)
        if holder is not None:
            holder["release"] = release
    return [dict(body, name=kind) for kind, body in out]
