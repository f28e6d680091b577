# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""Secrets of a service: where each one is looked up, the ``.env`` file, and versions that are not values.

A secret NAME of project P, environment E is the first of ``P_E_NAME``, ``P_NAME``, ``E_NAME``,
``NAME`` (upper-case, ``-`` as ``_``) set in the process environment, else in the config dir's ``.env``.
Values never leave this module except to be written as files; errors name variables, never values.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Dict, Iterable, List, Mapping, NamedTuple, Tuple

from ansible_collections.pcloud.infra.plugins.module_utils.errors import SpecError, SpecErrors

_DOTENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


class Secret(NamedTuple):
    name: str
    value: str
    source: str  # the variable it came from, e.g. HOSTOMATIC_PROD_DB_PASSWORD (.env)


def project_variable(project: str, name: str) -> str:
    """``PROJECT_NAME``: the variable that serves a secret to every environment of a project."""
    return "%s_%s" % (project.upper().replace("-", "_"), name.upper())


def candidates(project: str, environment: str, name: str) -> List[str]:
    """The variable names tried for a secret, in order."""
    p, e, n = project.upper().replace("-", "_"), environment.upper(), name.upper()
    return ["%s_%s_%s" % (p, e, n), project_variable(project, name), "%s_%s" % (e, n), n]


def parse_dotenv(text: str, file: str) -> Dict[str, str]:
    """``KEY=value`` lines; ``#`` comments, ``export`` and matching quotes are allowed."""
    out: Dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _DOTENV_LINE.match(line)
        if not match:
            raise SpecError("expected KEY=value", file=file, line=number, field="(line)")
        key, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key] = value
    return out


def resolve(project: str, environment: str, names: Iterable[str], environ: Mapping[str, str],
            dotenv: Mapping[str, str], where: str = "deployment_config.json") -> Dict[str, Secret]:
    """Every named secret, or one SpecError per missing secret naming the variables tried."""
    found: Dict[str, Secret] = {}
    missing: List[SpecError] = []
    for name in names:
        tried = candidates(project, environment, name)
        for var in tried:
            if environ.get(var):
                found[name] = Secret(name, environ[var], var)
                break
            if dotenv.get(var):
                found[name] = Secret(name, dotenv[var], "%s (.env)" % var)
                break
        else:
            missing.append(SpecError("secret %r of %s-%s is not set; set one of %s in the environment or in .env"
                                     % (name, project, environment, ", ".join(tried)), file=where,
                                     field="projects.%s.secrets" % project))
    if missing:
        raise SpecErrors(missing)
    return found


def version(value: str, key: bytes) -> str:
    """A version id for a secret value: HMAC-SHA256 under a per-fleet key, so it is not a plain hash."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def versions(secrets: Mapping[str, Secret], key: bytes) -> Dict[str, Tuple[str, str]]:
    """``{name: (version, source)}``: what a release records instead of the values."""
    return {name: (version(s.value, key), s.source) for name, s in sorted(secrets.items())}
