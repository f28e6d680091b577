# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""Where a service's image is built from, checked against the checkout it must stay inside.

``names.repo_path_problem`` refuses a path that escapes the repository as written (``../x``). A repository can
still point outside through a symlink (``backend -> /home/me/config``), and a build would then send control-node
files (the config dir's ``.env``, the fleet's SSH key) to the Docker engine. So before any build, the build
context, the Dockerfile and the context's ``.dockerignore`` are resolved (every symlink followed) and must land
inside the resolved checkout. Symlinks *inside* a context are not followed by the build client (community.docker
sends them as links, and the engine resolves ``COPY`` sources within the context), so they are not walked here.
"""

from __future__ import annotations

import os
import posixpath
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ansible_collections.pcloud.infra.plugins.module_utils.errors import SpecError


class BuildPathError(SpecError):
    """A build context or Dockerfile that is missing or resolves outside the checkout."""


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def resolve_inside(root: str, rel: str) -> Tuple[str, bool]:
    """``(resolved path, inside)`` of ``rel`` under ``root``: inside when ``root/rel``, with every symlink followed,
    is ``root`` itself or below it (``root`` resolved too, so a checkout reached through a symlinked directory is
    fine). An absolute ``rel`` is checked as it is."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(os.path.join(real_root, rel))
    return real, _inside(real, real_root)


def default_context(containerfile_path: str) -> str:
    """The build context of a service that names none: the Dockerfile's directory (the spec's rule)."""
    return posixpath.dirname(posixpath.normpath(containerfile_path)) or "."


def service_build_paths(root: str, service: str, body: Mapping[str, Any]) -> Tuple[Dict[str, str], Optional[str]]:
    """``({"path": context, "dockerfile": Dockerfile}, problem)`` of one service, both paths absolute and resolved;
    the problem (None when there is none) names the service, each bad path and where it resolves."""
    cfile = str(body.get("containerfile_path") or "")
    if not cfile:
        return {}, "service %r: no containerfile_path to build from" % service
    real_root = os.path.realpath(root)
    context = str(body.get("build_context") or default_context(cfile))
    real_context, context_inside = resolve_inside(root, context)
    real_file, file_inside = resolve_inside(root, cfile)
    outside = []
    missing = []
    if not context_inside:
        outside.append("build_context %r resolves to %s" % (context, real_context))
    elif not os.path.isdir(real_context):
        missing.append("build_context %r is not a directory" % context)
    else:
        ignore = os.path.join(real_context, ".dockerignore")
        real_ignore, ignore_inside = resolve_inside(root, ignore)
        if os.path.lexists(ignore) and not ignore_inside:
            outside.append("%s/.dockerignore resolves to %s" % (context.rstrip("/"), real_ignore))
    if not file_inside:
        outside.append("containerfile_path %r resolves to %s" % (cfile, real_file))
    elif not os.path.isfile(real_file):
        missing.append("containerfile_path %r is not a file" % cfile)
    problems = []
    if outside:
        problems.append("%s, outside the checkout %s (commit the files, not a symlink to them)"
                        % (" and ".join(outside), real_root))
    if missing:
        problems.append("%s of the checkout %s" % (" and ".join(missing), real_root))
    paths = {"path": real_context, "dockerfile": real_file}
    return paths, ("service %r: %s" % (service, "; ".join(problems))) if problems else None


def build_paths(root: str, services: Mapping[str, Mapping[str, Any]]) -> Dict[str, Dict[str, str]]:
    """``{service: {"path": context, "dockerfile": Dockerfile}}`` for every service of a project, each path absolute
    and resolved inside the checkout ``root``, for the build to use as they are. Raises ``BuildPathError`` naming
    every service whose context or Dockerfile is missing or resolves outside the checkout (and where it resolves)."""
    if not root or not os.path.isdir(root):
        raise BuildPathError("the checkout %r to build from is not a directory" % root)
    out: Dict[str, Dict[str, str]] = {}
    problems: List[str] = []
    for name in sorted(services):
        paths, problem = service_build_paths(root, name, services[name] or {})
        out[name] = paths
        if problem:
            problems.append(problem)
    if problems:
        raise BuildPathError("; ".join(problems))
    return out
