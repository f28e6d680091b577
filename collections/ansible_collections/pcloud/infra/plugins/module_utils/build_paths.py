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


def resolve_inside(root: str, rel: str) -> Tuple[str, Optional[str]]:
    """``(resolved path, problem)`` of ``rel`` under ``root``: the problem is None when ``root/rel``, with every
    symlink followed, is ``root`` itself or below it (``root`` resolved too, so a checkout reached through a
    symlinked directory is fine). An absolute ``rel`` is checked as it is."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(os.path.join(real_root, rel))
    if _inside(real, real_root):
        return real, None
    return real, ("resolves to %s, outside the checkout %s (a build may only read the repository's files: commit "
                  "them instead of a symlink)" % (real, real_root))


def default_context(containerfile_path: str) -> str:
    """The build context of a service that names none: the Dockerfile's directory (the spec's rule)."""
    return posixpath.dirname(posixpath.normpath(containerfile_path)) or "."


def service_build_paths(root: str, service: str, body: Mapping[str, Any]) -> Tuple[Dict[str, str], List[str]]:
    """``({"path": context, "dockerfile": Dockerfile}, problems)`` of one service, both absolute and resolved."""
    problems: List[str] = []
    cfile = str(body.get("containerfile_path") or "")
    if not cfile:
        return {}, ["service %r: no containerfile_path to build from" % service]
    context = str(body.get("build_context") or default_context(cfile))
    real_context, why = resolve_inside(root, context)
    if why:
        problems.append("service %r: build_context %r %s" % (service, context, why))
    elif not os.path.isdir(real_context):
        problems.append("service %r: build_context %r is not a directory of the checkout %s"
                        % (service, context, os.path.realpath(root)))
    else:
        ignore = os.path.join(real_context, ".dockerignore")
        if os.path.lexists(ignore):
            _real, why = resolve_inside(root, ignore)
            if why:
                problems.append("service %r: %s/.dockerignore %s" % (service, context.rstrip("/"), why))
    real_file, why = resolve_inside(root, cfile)
    if why:
        problems.append("service %r: containerfile_path %r %s" % (service, cfile, why))
    elif not os.path.isfile(real_file):
        problems.append("service %r: containerfile_path %r is not a file of the checkout %s"
                        % (service, cfile, os.path.realpath(root)))
    return {"path": real_context, "dockerfile": real_file}, problems


def build_paths(root: str, services: Mapping[str, Mapping[str, Any]]) -> Dict[str, Dict[str, str]]:
    """``{service: {"path": context, "dockerfile": Dockerfile}}`` for every service of a project, each path absolute
    and resolved inside the checkout ``root``, for the build to use as they are. Raises ``BuildPathError`` naming
    every service whose context or Dockerfile is missing or resolves outside the checkout (and where it resolves)."""
    if not root or not os.path.isdir(root):
        raise BuildPathError("the checkout %r to build from is not a directory" % root)
    out: Dict[str, Dict[str, str]] = {}
    problems: List[str] = []
    for name in sorted(services):
        paths, found = service_build_paths(root, name, services[name] or {})
        out[name] = paths
        problems.extend(found)
    if problems:
        raise BuildPathError("; ".join(problems))
    return out
