# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""Edit the spec: add, remove and scale projects in ``projects.csv`` (or ``infrastructure_spec`` without a CSV).

Every edit is validated by parsing the result with the same loaders, then written atomically;
an invalid edit writes nothing.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import os
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from ansible_collections.pcloud.infra.plugins.module_utils.errors import SpecError
from ansible_collections.pcloud.infra.plugins.module_utils.jsonlines import load_json_text
from ansible_collections.pcloud.infra.plugins.module_utils.names import bigger_size, name_problem, size_problem
from ansible_collections.pcloud.infra.plugins.module_utils.spec import (
    CSV_COLUMNS,
    DEFAULT_ENVIRONMENTS,
    INFRASTRUCTURE_JSON,
    MAX_SERVERS,
    PROJECTS_CSV,
    parse_infrastructure_spec,
    parse_projects_csv,
    read_text,
)
from ansible_collections.pcloud.infra.plugins.module_utils.statefile import write_json_atomic

ARG = "(arguments)"


@contextlib.contextmanager
def undo_on_error(config_dir: str) -> Iterator[None]:
    """Keep the spec files as they were when the block fails (an edit that is refused later - a plan that needs
    confirmation, a validation problem - leaves nothing half-applied)."""
    saved: Dict[str, Optional[bytes]] = {}
    for name in (PROJECTS_CSV, INFRASTRUCTURE_JSON):
        path = os.path.join(config_dir, name)
        try:
            with open(path, "rb") as handle:
                saved[path] = handle.read()
        except FileNotFoundError:
            saved[path] = None
    try:
        yield
    except BaseException:
        for path, content in saved.items():
            if content is None:
                if os.path.exists(path):
                    os.unlink(path)
                continue
            tmp = path + ".restore"
            with open(tmp, "wb") as handle:
                handle.write(content)
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        raise


def _check(name: str, servers: Optional[int] = None, size: Optional[str] = None,
           envs: Optional[Sequence[str]] = None) -> None:
    why = name_problem("project", name)
    if why:
        raise SpecError(why, file=ARG, field="project")
    if servers is not None and not 1 <= servers <= MAX_SERVERS:
        raise SpecError("servers must be from 1 to %d (total servers: 1 = master only), got %d" % (MAX_SERVERS, servers),
                        file=ARG, field="servers")
    if size is not None:
        why = size_problem(size)
        if why:
            raise SpecError(why, file=ARG, field="spec")
    for env in envs or ():
        why = name_problem("environment", env)
        if why:
            raise SpecError(why, file=ARG, field="envs")
    if envs is not None and len(set(envs)) != len(envs):
        raise SpecError("duplicate environment in %s" % ",".join(envs), file=ARG, field="envs")


# --------------------------------------------------------------------------- CSV


def _read_csv(path: str) -> Tuple[List[str], List[List[str]]]:
    text = read_text(path)
    parse_projects_csv(text, path)  # edits start from a valid file
    if text.startswith("\ufeff"):
        text = text[1:]
    rows = [[c.strip() for c in row] for row in csv.reader(io.StringIO(text, newline=""))
            if row and any(c.strip() for c in row) and not row[0].lstrip().startswith("#")]
    return rows[0], rows[1:]


def _write_csv(path: str, header: List[str], rows: List[List[str]]) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    text = out.getvalue()
    parse_projects_csv(text, path)  # never write an invalid spec
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _edit_csv(path: str, name: str, servers: Optional[int], size: Optional[str], envs: Optional[Sequence[str]],
              remove: bool, add: bool) -> None:
    header, rows = _read_csv(path)
    col = {c: i for i, c in enumerate(header)}
    index = next((i for i, row in enumerate(rows) if row[col["Project"]] == name), None)
    if add:
        if index is not None:
            raise SpecError("project %r already exists" % name, file=path, field="Project")
        master = functools.reduce(bigger_size, (r[col["MasterSpec"]] for r in rows))
        row = [""] * len(header)
        row[col["Project"]], row[col["Servers"]] = name, str(servers or 1)
        row[col["MasterSpec"]], row[col["WebSpec"]] = master, size or master
        if envs is not None and tuple(envs) != DEFAULT_ENVIRONMENTS:
            if "Environments" not in col:
                header.append("Environments")
                col["Environments"] = len(header) - 1
                for other in rows:
                    other.append("")
                row.append("")
            row[col["Environments"]] = ";".join(envs)
        rows.append(row)
    elif index is None:
        raise SpecError("no project %r in %s" % (name, os.path.basename(path)), file=path, field="Project")
    elif remove:
        del rows[index]
        if not rows:
            raise SpecError("cannot remove the last project; a fleet needs at least one", file=path, field="Project")
    else:
        rows[index][col["Servers"]] = str(servers)
        if size:
            rows[index][col["WebSpec"]] = size
    _write_csv(path, header, rows)


# --------------------------------------------------------------------------- JSON


def _edit_json(path: str, name: str, servers: Optional[int], size: Optional[str], envs: Optional[Sequence[str]],
               remove: bool, add: bool) -> None:
    doc = load_json_text(read_text(path), path)
    parse_infrastructure_spec(doc)
    data: Dict[str, Any] = doc.data
    projects = data["infrastructure_spec"]["projects"]
    if add:
        if name in projects:
            raise SpecError("project %r already exists" % name, file=path, field="infrastructure_spec.projects")
        entry: Dict[str, Any] = {"environments": list(envs or DEFAULT_ENVIRONMENTS), "web_droplets": (servers or 1) - 1}
        if size:
            entry["web_droplet_spec"] = size
        projects[name] = entry
    elif name not in projects:
        raise SpecError("no project %r in infrastructure_spec" % name, file=path, field="infrastructure_spec.projects")
    elif remove:
        del projects[name]
        if not projects:
            raise SpecError("cannot remove the last project; a fleet needs at least one", file=path,
                            field="infrastructure_spec.projects")
    else:
        projects[name]["web_droplets"] = servers - 1  # type: ignore[operator]
        if size:
            projects[name]["web_droplet_spec"] = size
    parse_infrastructure_spec(load_json_text(json.dumps(data, indent=2), path))
    write_json_atomic(path, data, mode=0o644)


def _edit(config_dir: str, name: str, servers: Optional[int] = None, size: Optional[str] = None,
          envs: Optional[Sequence[str]] = None, remove: bool = False, add: bool = False) -> str:
    csv_path = os.path.join(config_dir, PROJECTS_CSV)
    if os.path.exists(csv_path):
        _edit_csv(csv_path, name, servers, size, envs, remove, add)
        return csv_path
    json_path = os.path.join(config_dir, INFRASTRUCTURE_JSON)
    if os.path.exists(json_path):
        _edit_json(json_path, name, servers, size, envs, remove, add)
        return json_path
    raise SpecError("no spec to edit: create %s (header %s) or run 'pcloud init'" % (PROJECTS_CSV, ",".join(CSV_COLUMNS)),
                    file=csv_path, field="(file)")


def add_project(config_dir: str, name: str, servers: int = 1, size: Optional[str] = None,
                envs: Optional[Sequence[str]] = None) -> str:
    _check(name, servers, size, envs)
    return _edit(config_dir, name, servers=servers, size=size, envs=envs, add=True)


def remove_project(config_dir: str, name: str) -> str:
    _check(name)
    return _edit(config_dir, name, remove=True)


def scale_project(config_dir: str, name: str, servers: int, size: Optional[str] = None) -> str:
    _check(name, servers, size)
    return _edit(config_dir, name, servers=servers, size=size)
