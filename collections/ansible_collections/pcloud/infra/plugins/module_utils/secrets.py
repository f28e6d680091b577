# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""Secrets of a service: where each one is looked up, the ``.env`` file, and versions that are not values.

A secret NAME of project P, environment E is the first of ``P_E_NAME``, ``P_NAME`` (upper-case, ``-`` as ``_``)
set in the process environment, else in the config dir's ``.env``; a name listed in deployment_config.json's
``shared_secrets`` may also come from ``SHARED_NAME``. Nothing else is read: not the bare ``NAME`` (the
controller's whole environment), not another project's variables, never pcloud's own credentials.
Values never leave this module except to be written as files; errors name variables, never values.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import stat
from typing import Dict, Iterable, List, Mapping, NamedTuple, Optional, Sequence, Tuple

from ansible_collections.pcloud.infra.plugins.module_utils.errors import SpecError, SpecErrors

try:
    from dotenv.parser import parse_stream
except ImportError:  # pragma: no cover - python-dotenv is a dependency of the pcloud package
    parse_stream = None

SHARED_PREFIX = "SHARED_"
# pcloud's own credentials: never a service secret, whatever a project or secret is called.
# The provider tokens: never a service secret, nor a mail/SMS credential variable (those reach every droplet).
PROVIDER_TOKEN_VARIABLES = frozenset((
    "DO_API_TOKEN", "DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN", "DO_OAUTH_TOKEN", "DO_TOKEN",
    "PCLOUD_API_TOKEN", "PCLOUD_AGENT_API_TOKEN",
))
RESERVED_VARIABLES = PROVIDER_TOKEN_VARIABLES
# pcloud's own settings, and well-known credentials and process settings of the control node
RESERVED_PREFIXES = ("PCLOUD_", "ANSIBLE_", "AWS_", "GITHUB_", "GH_", "GITLAB_", "GIT_", "SSH_", "LD_", "PYTHON",
                     "DOCKER_", "KUBE", "VAULT_", "BAO_")


class Secret(NamedTuple):
    name: str
    value: str
    source: str  # the variable it came from, e.g. HOSTOMATIC_PROD_DB_PASSWORD (.env)


def variable_prefix(project: str) -> str:
    return project.upper().replace("-", "_")


def project_variable(project: str, name: str) -> str:
    """``PROJECT_NAME``: the variable that serves a secret to every environment of a project."""
    return "%s_%s" % (variable_prefix(project), name.upper())


def candidates(project: str, environment: str, name: str, shared: Sequence[str] = ()) -> List[str]:
    """The variable names tried for a secret, in order."""
    out = ["%s_%s_%s" % (variable_prefix(project), environment.upper(), name.upper()), project_variable(project, name)]
    if name in shared:
        out.append(SHARED_PREFIX + name.upper())
    return out


def reserved(variable: str, extra: Iterable[str] = ()) -> bool:
    """Is ``variable`` one of pcloud's own credentials (provider tokens, ``PCLOUD_*``, the mail/SMS
    credential variables named in email_config.json/sms_config.json)?"""
    return variable in RESERVED_VARIABLES or variable.startswith(RESERVED_PREFIXES) or variable in set(extra)


def reserved_candidate(project: str, environment: str, name: str, shared: Sequence[str] = (),
                       extra: Iterable[str] = ()) -> Optional[str]:
    """The first variable a secret would be read from that is one of pcloud's own credentials, or None."""
    extra = tuple(extra)
    return next((var for var in candidates(project, environment, name, shared) if reserved(var, extra)), None)


def scope_problems(projects: Mapping[str, Sequence[str]]) -> List[Tuple[str, str]]:
    """``(project, problem)`` for projects whose secret variables would overlap another project's or the shared
    ones: ``hostomatic-prod``'s ``HOSTOMATIC_PROD_*`` are ``hostomatic``'s prod secrets, and a project ``shared``
    would read ``SHARED_*``. ``projects`` maps each project to its environments."""
    out: List[Tuple[str, str]] = []
    prefixes = sorted((variable_prefix(p), p) for p in projects)
    for prefix, project in prefixes:
        if (prefix + "_").startswith(SHARED_PREFIX):
            out.append((project, "its secret variables %s_* are the shared secrets (SHARED_*); rename it" % prefix))
            continue
        for other_prefix, other in prefixes:
            if other != project and prefix.startswith(other_prefix + "_"):
                out.append((project, "its secret variables %s_* would also be variables of project %r (%s_*); "
                                     "rename one of them" % (prefix, other, other_prefix)))
                break
    return out


def read_dotenv(path: str) -> Dict[str, str]:
    """The ``.env`` file of the config dir, parsed as python-dotenv does (``#`` comments, ``export``, single and
    double quotes, escapes in double quotes, multi-line quoted values). Refused when other users may read it,
    and read like every spec file (a plain file under 5 MiB, a symlink only inside the config dir).
    A missing file is empty."""
    from ansible_collections.pcloud.infra.plugins.module_utils.spec import read_text

    if not os.path.lexists(path):
        return {}
    text = read_text(path, os.path.dirname(os.path.abspath(path)))
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        raise SpecError("holds secrets but is readable by others (mode %04o); run: chmod 600 %s" % (mode, path),
                        file=path, line=1, field="(mode)")
    return parse_dotenv(text, path)


def parse_dotenv(text: str, file: str) -> Dict[str, str]:
    """``KEY=value`` lines with python-dotenv's rules (no ``${VAR}`` expansion); a line it cannot parse is an
    error naming the line, a key without a value is left out."""
    if parse_stream is None:
        raise SpecError("python-dotenv is not installed on the control node (pip install python-dotenv)",
                        file=file, field="(parser)")
    out: Dict[str, str] = {}
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raw = binding.original.string
            line = binding.original.line + raw[: len(raw) - len(raw.lstrip())].count("\n")
            raise SpecError("expected KEY=value (python-dotenv syntax)", file=file, line=line, field="(line)")
        if binding.key is not None and binding.value is not None:
            out[binding.key] = binding.value
    return out


def resolve(project: str, environment: str, names: Iterable[str], environ: Mapping[str, str],
            dotenv: Mapping[str, str], where: str = "deployment_config.json", shared: Sequence[str] = (),
            reserved_extra: Iterable[str] = ()) -> Dict[str, Secret]:
    """Every named secret, or one SpecError per missing secret naming the variables tried."""
    found: Dict[str, Secret] = {}
    missing: List[SpecError] = []
    extra = tuple(reserved_extra)
    for name in names:
        tried = candidates(project, environment, name, shared)
        refused = reserved_candidate(project, environment, name, shared, extra)
        if refused:
            missing.append(SpecError(reserved_message(name, project, environment, refused),
                                     file=where, field="projects.%s.secrets" % project))
            continue
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


def reserved_message(name: str, project: str, environment: str, variable: str) -> str:
    return ("secret %r of %s-%s would be read from %s, one of pcloud's own credentials or a control-node "
            "setting; rename the secret" % (name, project, environment, variable))


def lookup_variable(name: str, environ: Mapping[str, str], dotenv: Mapping[str, str]) -> Optional[str]:
    """A credential variable named in pcloud's settings (``password_env``): environment first, then ``.env``."""
    return environ.get(name) or dotenv.get(name)


def version(value: str, key: bytes) -> str:
    """A version id for a secret value: HMAC-SHA256 under a per-fleet key, so it is not a plain hash."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def versions(secrets: Mapping[str, Secret], key: bytes) -> Dict[str, Tuple[str, str]]:
    """``{name: (version, source)}``: what a release records instead of the values."""
    return {name: (version(s.value, key), s.source) for name, s in sorted(secrets.items())}
