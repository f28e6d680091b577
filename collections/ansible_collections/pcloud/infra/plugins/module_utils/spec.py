# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""The spec model: ``projects.csv``, ``infrastructure_spec`` and ``deployment_config.json``.

Loaders never stop at the first problem: they collect every problem with its file, line
and field and raise them together (``SpecErrors``), so ``pcloud validate`` can list them all.
"""

from __future__ import annotations

import csv
import io
import os
import posixpath
import re
import stat
from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ansible_collections.pcloud.infra.plugins.module_utils import domains as domain_rules
from ansible_collections.pcloud.infra.plugins.module_utils import notify as notify_rules
from ansible_collections.pcloud.infra.plugins.module_utils import procfile as procfile_rules
from ansible_collections.pcloud.infra.plugins.module_utils import secrets as secret_rules
from ansible_collections.pcloud.infra.plugins.module_utils.errors import Problems, SpecError
from ansible_collections.pcloud.infra.plugins.module_utils.jsonlines import (
    LocatedJSON,
    load_json_text,
    path_str,
)
from ansible_collections.pcloud.infra.plugins.module_utils.names import (
    DEFAULT_REGION,
    REGIONS,
    SIZES,
    ascii_int,
    bigger_size,
    branch_problem,
    control_problem,
    git_url_problem,
    http_path_problem,
    name_problem,
    region_problem,
    repo_path_problem,
    shown,
    size_problem,
    url_pattern_problem,
)

PROJECTS_CSV = "projects.csv"
EMAIL_JSON = "email_config.json"
SMS_JSON = "sms_config.json"
INFRASTRUCTURE_JSON = "infrastructure.json"
DEPLOYMENT_JSON = "deployment_config.json"

DEFAULT_ENVIRONMENTS: Tuple[str, ...] = ("prod", "uat", "test")
CSV_COLUMNS: Tuple[str, ...] = ("Project", "Servers", "MasterSpec", "WebSpec")
CSV_OPTIONAL_COLUMNS: Tuple[str, ...] = ("Environments",)
MAX_SERVERS = 100

SERVICE_TYPES = ("web", "worker")
QUEUE_RE = re.compile(r"[A-Za-z0-9:._][A-Za-z0-9:._-]{0,199}\Z")  # used with fullmatch; no leading '-' (redis-cli)
QUEUE_PLACEHOLDER_RE = re.compile(r"\{(project|environment)\}")
PLATFORMS = ("docker", "podman", "kubernetes")
DEFAULT_URL_PATTERN = "{base_url}/{project}.git"
# Names pcloud itself uses inside a project-env (databases, cache).
RESERVED_SERVICE_NAMES = frozenset(("database", "redis"))
# Environment variables pcloud generates for every service; a service cannot set them.
GENERATED_ENV_VARS = frozenset((
    "DB_USER", "DB_NAME", "DB_HOST", "DB_PORT", "REDIS_HOST", "REDIS_PORT", "SERVICE_NAME",
    "ENVIRONMENT", "PROJECT", "ASSIGNED_DROPLETS", "RESOURCE_HASH", "SERVICE_PORT",
))
# Services every project-env gets when deployment_config.json does not describe the project.
DEFAULT_WEB_SERVICES = ("backend", "frontend")


@dataclass(frozen=True)
class ProjectSpec:
    name: str
    environments: Tuple[str, ...]
    web_droplets: int
    web_size: str
    master_size: Optional[str] = None
    line: Optional[int] = None

    @property
    def servers(self) -> int:
        return self.web_droplets + 1


@dataclass(frozen=True)
class InfraSpec:
    master_size: str
    region: str
    projects: Tuple[ProjectSpec, ...]
    source: str

    def project(self, name: str) -> Optional[ProjectSpec]:
        for proj in self.projects:
            if proj.name == name:
                return proj
        return None

    def to_json(self) -> Dict[str, Any]:
        """The ``infrastructure_spec`` shape (what a CSV is rewritten into)."""
        return {
            "droplets": {"master": {"size": self.master_size, "region": self.region, "role": "master"}},
            "projects": {
                p.name: {
                    "environments": list(p.environments),
                    "web_droplets": p.web_droplets,
                    "web_droplet_spec": p.web_size,
                }
                for p in sorted(self.projects, key=lambda p: p.name)
            },
        }


def _domains(body: Mapping[str, Any], stype: str, path: Tuple[Any, ...],
             count: Any) -> Tuple[Tuple[str, Tuple[str, ...]], ...]:
    """``domains``: ``{"prod": ["shop.example.com"], "uat": ["uat.shop.example.com"]}``."""
    value = body.get("domains")
    if value is None:
        return ()
    dpath = path + ("domains",)
    if stype != "web":
        count(dpath, "only a web service is served under domains")
        return ()
    if not isinstance(value, dict) or not value:
        count(dpath, 'expected an object of environment -> domains, e.g. {"prod": ["shop.example.com"]}, got %s'
              % _tname(value))
        return ()
    out: List[Tuple[str, Tuple[str, ...]]] = []
    seen: Dict[str, str] = {}
    for env, names in value.items():
        why = name_problem("environment", env)
        if why:
            count(dpath + (env,), why)
            continue
        if not isinstance(names, list) or not names:
            count(dpath + (env,), "expected a non-empty list of domains, got %s" % _tname(names))
            continue
        kept: List[str] = []
        for idx, domain in enumerate(names):
            why = domain_rules.domain_problem(domain)
            if why is None and domain in seen:
                why = "%s is already a domain of %s" % (domain, seen[domain])
            if why:
                count(dpath + (env, idx), why)
                continue
            seen[domain] = env
            kept.append(domain)
        out.append((env, tuple(kept)))
    return tuple(sorted(out))


def _entrypoint(value: Any, path: Tuple[Any, ...], count: Any) -> Tuple[str, ...]:
    """``entrypoint``: a program (``"./boot.sh"``) or an exec-form list (``["python", "-m", "app"]``)."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(v, str) for v in items):
        count(path + ("entrypoint",), "expected a program or a list of strings (exec form), got %s" % _tname(value))
        return ()
    for idx, item in enumerate(items):
        why = control_problem(item)
        if why or not item.strip() or len(item) > 4096:
            count(path + ("entrypoint", idx), "must be a non-empty line of at most 4096 characters%s"
                  % (": it " + why if why else ""))
            return ()
    return tuple(items)


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    type: str
    containerfile_path: Optional[str] = None
    build_context: Optional[str] = None
    command: Optional[str] = None
    # replaces the image's ENTRYPOINT (exec form); a service with a command and no entrypoint runs without one
    entrypoint: Tuple[str, ...] = ()
    # the release phase (migrations): run once per deploy in a one-off container of the new image, before any switch
    release: Optional[str] = None
    secrets: Tuple[str, ...] = ()
    environment: Tuple[Tuple[str, str], ...] = ()
    health_path: str = "/health"
    # a worker's Redis list; "{project}" and "{environment}" are filled in per project-env
    queue: Optional[str] = None
    # a web service's port inside its container; None: the image's single EXPOSE, else DEFAULT_CONTAINER_PORT
    port: Optional[int] = None
    # the Procfile process type whose command this service runs (resolved into ``command`` once the source is read)
    process: Optional[str] = None
    # a web service's own virtual hosts per environment, served at "/" over HTTPS: ((env, (domain, ...)), ...)
    domains: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()
    tls: str = domain_rules.DEFAULT_TLS

    def domains_for(self, environment: str) -> Tuple[str, ...]:
        return dict(self.domains).get(environment, ())

    def queue_for(self, project: str, environment: str) -> Optional[str]:
        return self.queue.replace("{project}", project).replace("{environment}", environment) if self.queue else None

    def to_json(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"type": self.type}
        if self.containerfile_path:
            out["containerfile_path"] = self.containerfile_path
            out["build_context"] = self.build_context
        if self.command:
            out["command"] = self.command
        if self.entrypoint:
            out["entrypoint"] = list(self.entrypoint)
        if self.release:
            out["release"] = self.release
        if self.type == "web":
            out["health_path"] = self.health_path
        if self.queue:
            out["queue"] = self.queue
        if self.port is not None:
            out["port"] = self.port
        if self.process:
            out["process"] = self.process
        if self.domains:
            out["domains"] = {env: list(names) for env, names in self.domains}
            out["tls"] = self.tls
        out["secrets"] = list(self.secrets)
        out["environment"] = dict(self.environment)
        return out


@dataclass(frozen=True)
class ProjectDeploySpec:
    name: str
    services: Tuple[ServiceSpec, ...]
    versioning: Tuple[Tuple[str, str], ...] = ()
    git_url: Optional[str] = None
    branch: Optional[str] = None


@dataclass(frozen=True)
class DeploymentConfig:
    platform: str = "docker"
    git_base_url: Optional[str] = None
    git_url_pattern: str = DEFAULT_URL_PATTERN
    git_branch: str = "main"
    projects: Tuple[ProjectDeploySpec, ...] = ()
    source: Optional[str] = None
    # secrets every project may read from SHARED_{NAME} (deployment_config.json "shared_secrets")
    shared_secrets: Tuple[str, ...] = ()
    # project -> the services its Procfile declares, for projects deployment_config.json lists no services for
    discovered: Tuple[Tuple[str, Tuple[ServiceSpec, ...]], ...] = ()
    # project -> its Procfile's process types and commands, as read (recorded in the state as "procfiles")
    procfiles: Tuple[Tuple[str, Tuple[Tuple[str, str], ...]], ...] = ()

    def project(self, name: str) -> Optional[ProjectDeploySpec]:
        for proj in self.projects:
            if proj.name == name:
                return proj
        return None

    def services_for(self, project: str) -> Tuple[ServiceSpec, ...]:
        proj = self.project(project)
        if proj is None or not proj.services:
            found = dict(self.discovered).get(project)
            if found:
                return found
        if proj is None:
            return tuple(ServiceSpec(name=n, type="web") for n in DEFAULT_WEB_SERVICES)
        return proj.services

    def to_json(self, projects: Tuple[str, ...]) -> Dict[str, Any]:
        """Per project: repository, branch, versioning and services, for the deploy playbook."""
        out: Dict[str, Any] = {"platform": self.platform, "projects": {}}
        for name in projects:
            proj = self.project(name)
            out["projects"][name] = {
                "repo_url": self.repo_url(name),
                "branch": (proj.branch if proj and proj.branch else self.git_branch),
                "version": dict(proj.versioning).get("version") if proj else None,
                "services": {s.name: s.to_json() for s in self.services_for(name)},
                "described": proj is not None,
            }
        return out

    def repo_url(self, project: str) -> Optional[str]:
        proj = self.project(project)
        if proj is not None and proj.git_url:
            return proj.git_url
        if self.git_base_url is None and "{base_url}" in self.git_url_pattern:
            return None
        return self.git_url_pattern.format(base_url=(self.git_base_url or "").rstrip("/"), project=project)


@dataclass(frozen=True)
class Spec:
    infra: InfraSpec
    deploy: DeploymentConfig
    warnings: Tuple[str, ...] = field(default=())


# --------------------------------------------------------------------------- CSV


def parse_projects_csv(text: str, file: str = PROJECTS_CSV, region: str = DEFAULT_REGION) -> InfraSpec:
    """Read ``Project,Servers,MasterSpec,WebSpec[,Environments]``; BOM, CRLF and spaces tolerated."""
    problems = Problems()
    if text.startswith("\ufeff"):
        text = text[1:]
    rows = list(_csv_rows(text, file))
    if not rows:
        problems.add("file is empty; expected the header %s" % ",".join(CSV_COLUMNS), file=file, line=1,
                     field="(header)")
        problems.raise_if_any()
    header_line, header = rows[0]
    header = [h.strip() for h in header]
    known = CSV_COLUMNS + CSV_OPTIONAL_COLUMNS
    for col in CSV_COLUMNS:
        if col not in header:
            near = [h for h in header if h.lower() == col.lower()]
            hint = " (found %r: column names are case-sensitive)" % near[0] if near else ""
            problems.add("missing column %r; the header must be %s%s" % (col, ",".join(CSV_COLUMNS), hint),
                         file=file, line=header_line, field=col)
    for col in header:
        if col not in known:
            problems.add("unknown column %s (expected %s, optional %s)"
                         % (shown(col), ",".join(CSV_COLUMNS), ",".join(CSV_OPTIONAL_COLUMNS)),
                         file=file, line=header_line, field=col or "(empty)")
    seen_cols = set()
    for col in header:
        if col in seen_cols:
            problems.add("column %s appears twice" % shown(col), file=file, line=header_line, field=col)
        seen_cols.add(col)
    problems.raise_if_any()

    projects: List[ProjectSpec] = []
    first_line: Dict[str, int] = {}
    master_size: Optional[str] = None
    for num, raw in rows[1:]:
        cells = [c.strip() for c in raw]
        bad_cell = next(((col, control_problem(c)) for col, c in zip(header, raw) if control_problem(c)), None)
        if bad_cell:
            problems.add(bad_cell[1], file=file, line=num, field=bad_cell[0])
            continue
        if len(cells) < len(header) and all(col in CSV_OPTIONAL_COLUMNS for col in header[len(cells):]):
            cells += [""] * (len(header) - len(cells))  # an optional column may be left out of a row: its default
        if len(cells) != len(header):
            extra = [c for c in CSV_OPTIONAL_COLUMNS if c not in header]
            hint = (" (a row with %s needs the column in the header)" % " and ".join(extra)
                    if len(cells) > len(header) and extra else "")
            problems.add("expected %d fields (%s), found %d%s" % (len(header), ",".join(header), len(cells), hint),
                         file=file, line=num, field="(row)")
            continue
        row = dict(zip(header, cells))
        before = len(problems.errors)
        name = row["Project"]
        why = name_problem("project", name)
        if why:
            problems.add(why, file=file, line=num, field="Project")
        elif name in first_line:
            problems.add("duplicate project %r (first defined on line %d)" % (name, first_line[name]),
                         file=file, line=num, field="Project")
        servers = _positive_int(row["Servers"])
        if servers is None or servers > MAX_SERVERS:
            problems.add("Servers must be a whole number from 1 to %d (total servers: 1 = master only), got %s"
                         % (MAX_SERVERS, shown(row["Servers"])), file=file, line=num, field="Servers")
        for col in ("MasterSpec", "WebSpec"):
            why = size_problem(row[col])
            if why:
                problems.add(why, file=file, line=num, field=col)
        envs = DEFAULT_ENVIRONMENTS
        if row.get("Environments"):
            envs, env_problems = _environments([e.strip() for e in row["Environments"].split(";")])
            for why in env_problems:
                problems.add(why, file=file, line=num, field="Environments")
        if len(problems.errors) != before:
            continue
        first_line[name] = num
        master_size = row["MasterSpec"] if master_size is None else bigger_size(master_size, row["MasterSpec"])
        projects.append(ProjectSpec(name=name, environments=envs, web_droplets=int(servers) - 1,  # type: ignore[arg-type]
                                    web_size=row["WebSpec"], master_size=row["MasterSpec"], line=num))
    problems.raise_if_any()
    if not projects:
        raise SpecError("no projects: add a row under the header", file=file, line=header_line, field="(rows)")
    return InfraSpec(master_size=master_size or "s-1vcpu-1gb", region=region, projects=tuple(projects), source=file)


def _csv_rows(text: str, file: str = PROJECTS_CSV):
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise SpecError("not valid CSV: %s" % exc, file=file, line=start, field="(row)") from None
        line = start
        start = reader.line_num + 1
        if not row or all(not c.strip() for c in row) or row[0].lstrip().startswith("#"):
            continue
        yield line, row


def _positive_int(value: Any) -> Optional[int]:
    number = ascii_int(value)
    return number if number is not None and number >= 1 else None


def _environments(values: List[Any]) -> Tuple[Tuple[str, ...], List[str]]:
    problems: List[str] = []
    envs: List[str] = []
    for env in values:
        why = name_problem("environment", env)
        if why:
            problems.append(why)
        elif env in envs:
            problems.append("duplicate environment %r" % env)
        else:
            envs.append(env)
    if not envs and not problems:
        problems.append("at least one environment is needed")
    return tuple(envs), problems


# --------------------------------------------------------------------------- JSON infrastructure_spec


def _json_reporter(doc: LocatedJSON) -> Tuple[Problems, Any]:
    """A problem list and ``bad(path, message)`` that records FILE:LINE and the field path;
    raises at once when the document is not a JSON object."""
    problems = Problems()

    def bad(path: Tuple[Any, ...], message: str) -> None:
        problems.add(message, file=doc.file, line=doc.line(path), field=path_str(path))

    if not isinstance(doc.data, dict):
        bad((), "expected a JSON object at the top level, got %s" % _tname(doc.data))
        problems.raise_if_any()
    return problems, bad


def parse_infrastructure_spec(doc: LocatedJSON) -> InfraSpec:
    problems, bad = _json_reporter(doc)
    file = doc.file
    root = doc.data
    spec = root.get("infrastructure_spec")
    base: Tuple[Any, ...] = ("infrastructure_spec",)
    if not isinstance(spec, dict):
        bad(base, "missing or not an object: projects.csv is absent, so infrastructure.json must hold "
                  "an 'infrastructure_spec' object")
        problems.raise_if_any()
    _unknown_keys(spec, ("droplets", "projects"), base, bad)
    master = _get(spec, "droplets", dict, base, bad, default={})
    master = _get(master, "master", dict, base + ("droplets",), bad, default={}) if master is not None else None
    mpath = base + ("droplets", "master")
    master_size, region = "s-1vcpu-1gb", DEFAULT_REGION
    if master is not None:
        _unknown_keys(master, ("size", "region", "role"), mpath, bad)
        master_size = master.get("size", master_size)
        why = size_problem(master_size)
        if why:
            bad(mpath + ("size",), why)
        region = master.get("region", DEFAULT_REGION)
        why = region_problem(region)
        if why:
            bad(mpath + ("region",), why)
        if master.get("role", "master") != "master":
            bad(mpath + ("role",), "the master droplet's role must be 'master'")

    projects: List[ProjectSpec] = []
    pmap = _get(spec, "projects", dict, base, bad)
    if "projects" not in spec:
        bad(base, "no 'projects': a spec without projects would destroy every web droplet; add at least one")
    elif pmap is not None and not pmap:
        bad(base + ("projects",), "no projects defined: a spec without projects would destroy every web droplet; "
                                  "add at least one")
    for name, body, ppath in _project_entries(pmap or {}, base, bad):
        before = len(problems.errors)
        _unknown_keys(body, ("environments", "web_droplets", "web_droplet_spec"), ppath, bad)
        envs = DEFAULT_ENVIRONMENTS
        env_list = _get(body, "environments", list, ppath, bad)
        if env_list is not None:
            envs, env_problems = _environments(env_list)
            for why in env_problems:
                bad(ppath + ("environments",), why)
        web = body.get("web_droplets", 0)
        if isinstance(web, bool) or not isinstance(web, int) or web < 0 or web > MAX_SERVERS - 1:
            bad(ppath + ("web_droplets",), "expected a whole number from 0 to %d, got %s"
                % (MAX_SERVERS - 1, json_repr(web)))
            web = 0
        web_size = body.get("web_droplet_spec", master_size)
        why = size_problem(web_size)
        if why:
            bad(ppath + ("web_droplet_spec",), why)
        if len(problems.errors) == before:
            projects.append(ProjectSpec(name=name, environments=envs, web_droplets=web, web_size=web_size,
                                        line=doc.line(ppath)))
    problems.raise_if_any()
    return InfraSpec(master_size=master_size, region=region, projects=tuple(projects), source=file)


# --------------------------------------------------------------------------- deployment_config.json


def parse_deployment_config(doc: LocatedJSON) -> DeploymentConfig:
    problems, bad = _json_reporter(doc)
    file = doc.file
    root = doc.data
    _unknown_keys(root, ("deployment_platform", "git_config", "projects", "versioning", "shared_secrets"), (), bad)
    platform = root.get("deployment_platform", "docker")
    if platform not in PLATFORMS:
        bad(("deployment_platform",), "unknown deployment_platform %s (expected one of %s)"
            % (json_repr(platform), ", ".join(PLATFORMS)))
    git = _get(root, "git_config", dict, (), bad, default={}) or {}
    _unknown_keys(git, ("base_url", "url_pattern", "branch"), ("git_config",), bad)
    base_url = _get(git, "base_url", str, ("git_config",), bad)
    if base_url is not None:
        why = git_url_problem(base_url.rstrip("/") + "/x")
        if why:
            bad(("git_config", "base_url"), why.replace(repr(base_url.rstrip("/") + "/x"), repr(base_url)))
            base_url = None
    pattern = _get(git, "url_pattern", str, ("git_config",), bad, default=DEFAULT_URL_PATTERN) or DEFAULT_URL_PATTERN
    why = url_pattern_problem(pattern)
    if why:
        bad(("git_config", "url_pattern"), why)
        pattern = DEFAULT_URL_PATTERN
    branch = _checked(git, "branch", ("git_config",), bad, branch_problem) or "main"
    default_versioning = _versioning(root, (), bad)
    shared: List[str] = []
    for idx, secret in enumerate(_get(root, "shared_secrets", list, (), bad, default=[]) or []):
        why = name_problem("secret", secret)
        if why:
            bad(("shared_secrets", idx), why)
        elif secret in shared:
            bad(("shared_secrets", idx), "duplicate secret %r" % secret)
        else:
            shared.append(secret)

    projects: List[ProjectDeploySpec] = []
    pmap = _get(root, "projects", dict, (), bad, default={}) or {}
    for pname, body, ppath in _project_entries(pmap, (), bad):
        _unknown_keys(body, ("services", "versioning", "git_url", "branch"), ppath, bad)
        services: List[ServiceSpec] = []
        smap = _get(body, "services", dict, ppath, bad, default={}) or {}
        if not smap and "services" in body:
            bad(ppath + ("services",), "no services defined")
        for sname, sbody in smap.items():
            service = _service(sname, sbody, ppath + ("services", sname), bad)
            if service is not None:
                services.append(service)
        git_url = _checked(body, "git_url", ppath, bad, git_url_problem)
        pbranch = _checked(body, "branch", ppath, bad, branch_problem)
        projects.append(ProjectDeploySpec(
            name=pname,
            services=tuple(services),
            versioning=_versioning(body, ppath, bad) or default_versioning,
            git_url=git_url,
            branch=pbranch,
        ))
    config = DeploymentConfig(platform=platform, git_base_url=base_url, git_url_pattern=pattern,
                              git_branch=branch, projects=tuple(projects), source=file,
                              shared_secrets=tuple(shared))
    if not problems:
        for proj in projects:
            url = config.repo_url(proj.name)
            why = git_url_problem(url) if url is not None and not proj.git_url else None
            if why:
                bad(("git_config", "url_pattern"), "for project %r: %s" % (proj.name, why))
    problems.raise_if_any()
    return config


def _service(name: str, body: Any, path: Tuple[Any, ...], bad) -> Optional[ServiceSpec]:
    why = name_problem("service", name)
    if why:
        bad(path, why)
        return None
    if name in RESERVED_SERVICE_NAMES:
        bad(path, "service name %r is reserved for the project's %s" % (name, name))
        return None
    if not isinstance(body, dict):
        bad(path, "expected an object, got %s" % _tname(body))
        return None
    count = _Counter(bad)
    _unknown_keys(body, ("type", "containerfile_path", "build_context", "command", "entrypoint", "release", "secrets",
                         "environment", "health_check", "queue", "port", "process", "domains", "tls"), path, count)
    stype = body.get("type", "web")
    if stype not in SERVICE_TYPES:
        count(path + ("type",), "unknown service type %s (expected one of %s)"
              % (json_repr(stype), ", ".join(SERVICE_TYPES)))
    cfile = _checked(body, "containerfile_path", path, count, repo_path_problem)
    if "containerfile_path" not in body:
        count(path + ("containerfile_path",), "required: the Dockerfile of this service, relative to the repository")
    context = _checked(body, "build_context", path, count, repo_path_problem)
    if context is None and cfile is not None:
        context = posixpath.dirname(posixpath.normpath(cfile)) or "."
    command = _get(body, "command", str, path, count)
    release = _get(body, "release", str, path, count)
    for key, line in (("command", command), ("release", release)):
        if line is None:
            continue
        why = control_problem(line)
        if why or not line.strip():
            count(path + (key,), "must be a single non-empty line%s" % (": it " + why if why else ""))
        elif len(line) > 4096:
            count(path + (key,), "longer than 4096 characters")
    entrypoint = _entrypoint(body.get("entrypoint"), path, count)
    process = _get(body, "process", str, path, count)
    if process is not None:
        why = name_problem("service", process)
        if why:
            count(path + ("process",), why)
        elif command is not None:
            count(path + ("process",), "give either 'command' or the Procfile 'process' it comes from, not both")
        elif process == procfile_rules.RELEASE:
            count(path + ("process",), "'release' is the release phase, not a process a service runs")
    secrets: List[str] = []
    for idx, secret in enumerate(_get(body, "secrets", list, path, count, default=[]) or []):
        why = name_problem("secret", secret)
        if why:
            count(path + ("secrets", idx), why)
        elif secret in secrets:
            count(path + ("secrets", idx), "duplicate secret %r" % secret)
        else:
            secrets.append(secret)
    env: Dict[str, str] = {}
    for key, value in (_get(body, "environment", dict, path, count, default={}) or {}).items():
        why = name_problem("environment variable", key)
        if why:
            count(path + ("environment", key), why)
        elif key in GENERATED_ENV_VARS or (key == "PORT" and stype == "web"):
            count(path + ("environment", key), "%s is generated by pcloud and cannot be set here%s"
                  % (key, " (set the service's port instead)" if key in ("PORT", "SERVICE_PORT") else ""))
        elif isinstance(value, bool) or not isinstance(value, (str, int, float)):
            count(path + ("environment", key), "expected a string or number, got %s" % _tname(value))
        elif isinstance(value, str) and control_problem(value):
            count(path + ("environment", key), "value %s" % control_problem(value))
        elif isinstance(value, str) and len(value) > 32768:
            count(path + ("environment", key), "value longer than 32768 characters")
        else:
            env[key] = str(value)
    health = body.get("health_check", "/health")
    why = http_path_problem(health)
    if why:
        count(path + ("health_check",), why)
    queue = body.get("queue")
    if queue is not None:
        if stype != "worker":
            count(path + ("queue",), "only a worker has a queue")
        elif not isinstance(queue, str) or not QUEUE_RE.fullmatch(QUEUE_PLACEHOLDER_RE.sub("x", queue)):
            count(path + ("queue",), "expected a Redis list name (letters, digits, ':', '.', '_', '-' but not first, and "
                                     "{project} or {environment}), got %s" % json_repr(queue))
    port = _get(body, "port", int, path, count)
    if port is not None:
        if stype != "web":
            count(path + ("port",), "only a web service listens on a port")
        elif not 0 < port < 65536:
            count(path + ("port",), "expected a port 1-65535 (the one the process listens on in its container), got %d"
                  % port)
    domains = _domains(body, stype, path, count)
    tls = body.get("tls", domain_rules.DEFAULT_TLS)
    if "tls" in body:
        why = domain_rules.tls_problem(tls)
        if why or stype != "web" or not domains:
            count(path + ("tls",), why or "only a web service with domains is served over TLS")
        for _env, names in domains if not why else ():
            for domain in names:
                wild = domain_rules.wildcard_problem(tls, domain)
                if wild:
                    count(path + ("tls",), wild)
    if count.n:
        return None
    return ServiceSpec(name=name, type=stype, port=port, domains=domains, tls=tls, containerfile_path=cfile, build_context=context,
                       command=command, entrypoint=entrypoint, release=release, secrets=tuple(secrets),
                       environment=tuple(sorted(env.items())),
                       health_path=health, queue=queue, process=process)


class _Counter:
    """Wraps a problem reporter and counts how many problems went through it."""

    def __init__(self, bad) -> None:
        self.bad = bad
        self.n = 0

    def __call__(self, path: Tuple[Any, ...], message: str) -> None:
        self.n += 1
        self.bad(path, message)


def _versioning(body: Mapping[str, Any], path: Tuple[Any, ...], bad) -> Tuple[Tuple[str, str], ...]:
    ver = _get(body, "versioning", dict, path, bad)
    if ver is None:
        return ()
    vpath = path + ("versioning",)
    _unknown_keys(ver, ("version",), vpath, bad)
    version = ver.get("version")
    if version is not None:
        parts = version.split(".") if isinstance(version, str) else []
        if len(parts) != 3 or not all(ascii_int(p) is not None for p in parts):
            bad(vpath + ("version",), "expected MAJOR.MINOR.PATCH such as '1.4.0', got %s" % json_repr(version))
            return ()
        return (("version", version),)
    return ()


# --------------------------------------------------------------------------- helpers


def _tname(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def json_repr(value: Any) -> str:
    if isinstance(value, str):
        return shown(value)
    return "%s (%s)" % (value, _tname(value)) if not isinstance(value, (dict, list)) else _tname(value)


_EXPECT = {dict: "an object", list: "a list", str: "a string", int: "a number"}


def _get(body: Any, key: str, kind: type, path: Tuple[Any, ...], bad, default: Any = None) -> Any:
    if not isinstance(body, dict) or key not in body:
        return default
    value = body[key]
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    bad(path + (key,), "expected %s, got %s" % (_EXPECT[kind], _tname(value)))
    return None


def _checked(body: Any, key: str, path: Tuple[Any, ...], bad, problem) -> Optional[str]:
    """The string at ``key`` when ``problem(value)`` finds nothing wrong; else report it and return None."""
    value = _get(body, key, str, path, bad)
    if value is None:
        return None
    why = problem(value)
    if why:
        bad(path + (key,), why)
        return None
    return value


def _project_entries(pmap: Mapping[str, Any], base: Tuple[Any, ...], bad):
    """``(name, body, path)`` for each project entry with a legal name and an object body; reports the others."""
    for name, body in pmap.items():
        path = base + ("projects", name)
        why = name_problem("project", name)
        if why:
            bad(path, why)
        elif not isinstance(body, dict):
            bad(path, "expected an object, got %s" % _tname(body))
        else:
            yield name, body, path


def _unknown_keys(body: Any, allowed: Tuple[str, ...], path: Tuple[Any, ...], bad) -> None:
    if not isinstance(body, dict):
        return
    for key in body:
        if key not in allowed:
            bad(path + (key,), "unknown key %s (allowed: %s)" % (shown(key), ", ".join(allowed)))


# --------------------------------------------------------------------------- the config dir


MAX_FILE_BYTES = 5 * 1024 * 1024  # no spec or settings file is anywhere near this


def read_text(path: str, root: Optional[str] = None, limit: int = MAX_FILE_BYTES) -> str:
    """A config file's text, refusing what is not a plain file of at most ``limit`` bytes (a FIFO would hang,
    ``/dev/zero`` would fill memory) and, when ``root`` is given, a symlink that leads outside ``root``."""

    def refuse(problem: str) -> SpecError:
        return SpecError(problem, file=path, line=1, field="(file)")

    if root is not None and os.path.islink(path):
        real, top = os.path.realpath(path), os.path.realpath(root)
        if os.path.commonpath([real, top]) != top:
            raise refuse("is a symlink to %s, outside the config dir %s; copy the file in instead" % (real, top))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except IsADirectoryError:
        raise refuse("is a directory, expected a file") from None
    except OSError as exc:
        raise refuse("cannot be read: %s" % exc.strerror) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise refuse("is a directory, expected a file")
        if not stat.S_ISREG(info.st_mode):
            raise refuse("is not a regular file (a FIFO, socket or device); pcloud reads plain files only")
        if info.st_size > limit:
            raise refuse("is %d bytes; the limit is %d" % (info.st_size, limit))
        chunks = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        raw = b"".join(chunks)
    finally:
        os.close(fd)
    if len(raw) > limit:
        raise refuse("is larger than the limit of %d bytes" % limit)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError("not valid UTF-8 (byte %d)" % exc.start, file=path, line=raw.count(b"\n", 0, exc.start) + 1,
                        field="(encoding)") from None


def load_state_file(config_dir: str) -> Optional[LocatedJSON]:
    path = os.path.join(config_dir, INFRASTRUCTURE_JSON)
    if not os.path.exists(path):
        return None
    return load_json_text(read_text(path, config_dir), path)


def load_deployment_config(config_dir: str) -> DeploymentConfig:
    """``deployment_config.json`` of ``config_dir`` (absent: the defaults)."""
    path = os.path.join(config_dir, DEPLOYMENT_JSON)
    if not os.path.lexists(path):
        return DeploymentConfig()
    return parse_deployment_config(load_json_text(read_text(path, config_dir), path))


PROCFILE = "Procfile"
BUILD_DIR = ".build"  # <config dir>/.build/<project>: the checkout a deploy fetches the repository into


def _recorded_procfiles(state: Optional[LocatedJSON]) -> Dict[str, Dict[str, str]]:
    data = state.data.get("procfiles") if state is not None and isinstance(state.data, dict) else None
    out: Dict[str, Dict[str, str]] = {}
    for project, processes in (data.items() if isinstance(data, dict) else ()):
        if isinstance(processes, dict) and all(isinstance(v, str) and "\n" not in v for v in processes.values()):
            # checked again as a Procfile: the state file is no more trusted than the repository it came from
            text = "".join("%s: %s\n" % (kind, command) for kind, command in processes.items())
            out[project] = procfile_rules.parse(text, "%s (procfiles.%s)" % (state.file, project))
    return out


def apply_procfiles(deploy: DeploymentConfig, infra: InfraSpec, config_dir: str,
                    sources: Optional[Mapping[str, str]], state: Optional[LocatedJSON],
                    problems: Problems) -> DeploymentConfig:
    """Services from each project's ``Procfile``, for projects deployment_config.json lists no services for, and the
    commands of services that name a Procfile ``process``. The Procfile is read from the project's source (the
    directory a deploy builds: ``sources[project]``, else the last checkout ``.build/<project>``); a project with no
    source on this machine keeps the processes the state recorded when it was last read."""
    recorded = _recorded_procfiles(state)
    discovered: List[Tuple[str, Tuple[ServiceSpec, ...]]] = []
    procfiles: List[Tuple[str, Tuple[Tuple[str, str], ...]]] = []
    projects = list(deploy.projects)
    for proj in infra.projects:
        listed = deploy.project(proj.name)
        source = (sources or {}).get(proj.name) or os.path.join(config_dir, BUILD_DIR, proj.name)
        path = os.path.join(source, PROCFILE)
        processes: Optional[Dict[str, str]] = None
        if os.path.lexists(path):
            try:
                processes = procfile_rules.parse(read_text(path, source, limit=procfile_rules.MAX_BYTES), path)
            except SpecError as exc:
                problems.extend(getattr(exc, "errors", [exc]))
                continue
        elif not os.path.isdir(source):
            processes = recorded.get(proj.name)
        referenced = [s for s in (listed.services if listed else ()) if s.process]
        if processes is None:
            if referenced and (sources or {}).get(proj.name):
                problems.add("names Procfile process %r, but %s has no Procfile" % (referenced[0].process, source),
                             file=deploy.source or DEPLOYMENT_JSON,
                             field="projects.%s.services.%s.process" % (proj.name, referenced[0].name))
            continue
        procfiles.append((proj.name, tuple(processes.items())))
        if listed is not None and listed.services:
            resolved = []
            for service in listed.services:
                if service.process and service.process not in processes:
                    problems.add("no process %r in %s (it has: %s)" % (service.process, path, ", ".join(processes)),
                                 file=deploy.source or DEPLOYMENT_JSON,
                                 field="projects.%s.services.%s.process" % (proj.name, service.name))
                resolved.append(replace(service, command=processes[service.process]) if service.process in processes
                                else service)
            # the Procfile's release phase goes with the service that runs its web process, unless one is set
            release = processes.get(procfile_rules.RELEASE)
            if release is not None and not any(s.release for s in resolved):
                holder = next((i for i, s in enumerate(resolved) if s.process == procfile_rules.WEB), None)
                if holder is not None:
                    resolved[holder] = replace(resolved[holder], release=release)
            projects[projects.index(listed)] = replace(listed, services=tuple(resolved))
            continue

        def bad(where: Tuple[Any, ...], message: str, _path: str = path) -> None:
            problems.add(message, file=_path, field=".".join(str(p) for p in where[1:]) or "(file)")

        made = [_service(str(body["name"]), {k: v for k, v in body.items() if k != "name"}, ("Procfile", body["name"]),
                         bad) for body in procfile_rules.services(processes)]
        discovered.append((proj.name, tuple(s for s in made if s is not None)))
    return replace(deploy, projects=tuple(projects), discovered=tuple(discovered), procfiles=tuple(procfiles))


def load_spec(config_dir: str, sources: Optional[Mapping[str, str]] = None) -> Spec:
    """Read the spec from ``config_dir``: projects.csv wins over infrastructure_spec. ``sources``: project -> the
    source directory a deploy builds from (its Procfile is read there)."""
    if not os.path.isdir(config_dir):
        raise SpecError("config directory does not exist; run 'pcloud init' or pass --config-dir",
                        file=config_dir, field="(config dir)")
    problems = Problems()
    warnings: List[str] = []
    csv_path = os.path.join(config_dir, PROJECTS_CSV)
    state: Optional[LocatedJSON] = None
    infra: Optional[InfraSpec] = None
    try:
        state = load_state_file(config_dir)
    except SpecError as exc:
        problems.extend(getattr(exc, "errors", [exc]))
    if os.path.exists(csv_path):
        region = DEFAULT_REGION
        if state is not None and isinstance(state.data, dict):
            master = ((state.data.get("infrastructure_spec") or {}).get("droplets") or {}).get("master") or {}
            if isinstance(master, dict) and master.get("region") in REGIONS:
                region = master["region"]
        try:
            infra = parse_projects_csv(read_text(csv_path, config_dir), csv_path, region=region)
        except SpecError as exc:
            problems.extend(getattr(exc, "errors", [exc]))
    elif state is not None:
        try:
            infra = parse_infrastructure_spec(state)
        except SpecError as exc:
            problems.extend(getattr(exc, "errors", [exc]))
    elif not problems:
        problems.add("no spec found: create projects.csv (Project,Servers,MasterSpec,WebSpec) or an "
                     "infrastructure.json with 'infrastructure_spec'; 'pcloud init' writes an example",
                     file=csv_path, field="(file)")
    deploy = DeploymentConfig()
    deploy_path = os.path.join(config_dir, DEPLOYMENT_JSON)
    try:
        deploy = load_deployment_config(config_dir)
    except SpecError as exc:
        problems.extend(getattr(exc, "errors", [exc]))
    credentials: List[str] = []
    try:
        email, sms = load_notifications(config_dir)
        credentials = notify_rules.credential_variables(email, sms)
    except SpecError as exc:
        problems.extend(getattr(exc, "errors", [exc]))
    problems.raise_if_any()
    if infra is None:  # unreachable: a missing spec is a problem above
        raise SpecError("no spec loaded", file=config_dir)
    deploy = apply_procfiles(deploy, infra, config_dir, sources, state, problems)
    problems.raise_if_any()
    _secret_scope(infra, deploy, credentials, problems)
    problems.raise_if_any()
    _domain_scope(infra, deploy, problems, warnings)
    problems.raise_if_any()
    known = {p.name for p in infra.projects}
    for proj in deploy.projects:
        if proj.name not in known:
            warnings.append("%s: projects.%s: not in %s; its services are ignored"
                            % (deploy_path, proj.name, os.path.basename(infra.source)))
    return Spec(infra=infra, deploy=deploy, warnings=tuple(warnings))


def _secret_scope(infra: InfraSpec, deploy: DeploymentConfig, credentials: List[str], problems: Problems) -> None:
    """A project's secrets must come from its own variables: no two projects' variable prefixes may overlap,
    and no secret may resolve to one of pcloud's own credentials."""
    for name, why in secret_rules.scope_problems({p.name: p.environments for p in infra.projects}):
        proj = infra.project(name)
        problems.add(why, file=infra.source, line=proj.line if proj else None,
                     field="Project" if infra.source.endswith(".csv") else "projects.%s" % name)
    for proj in infra.projects:
        for service in deploy.services_for(proj.name):
            for secret in service.secrets:
                for env in proj.environments:
                    bad = secret_rules.reserved_candidate(proj.name, env, secret, deploy.shared_secrets, credentials)
                    if bad:
                        problems.add(secret_rules.reserved_message(secret, proj.name, env, bad),
                                     file=deploy.source or DEPLOYMENT_JSON,
                                     field="projects.%s.services.%s.secrets" % (proj.name, service.name))
                        break


def _domain_scope(infra: InfraSpec, deploy: DeploymentConfig, problems: Problems, warnings: List[str]) -> None:
    """No domain belongs to two services; domains of an environment the project does not have are ignored, with a
    warning (the same deployment_config.json may serve a fleet that runs fewer environments)."""
    claims: List[Tuple[str, str]] = []
    fields: Dict[str, str] = {}
    source = deploy.source or DEPLOYMENT_JSON
    for proj in infra.projects:
        for service in deploy.services_for(proj.name):
            for env, names in service.domains:
                where = "projects.%s.services.%s.domains.%s" % (proj.name, service.name, env)
                if env not in proj.environments:
                    warnings.append("%s: %s: %s has no environment %s (it has %s); these domains are ignored"
                                    % (source, where, proj.name, env, ", ".join(proj.environments)))
                    continue
                for name in names:
                    claims.append((name, "%s-%s %s" % (proj.name, env, service.name)))
                    fields.setdefault(name + "\0" + claims[-1][1], where)
    for domain, first, second in domain_rules.duplicate_domains(claims):
        problems.add("%s is already a domain of %s" % (domain, first), file=source,
                     field=fields[domain + "\0" + second])


def load_notifications(config_dir: str) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """Validated email_config.json and sms_config.json (absent: disabled), each problem as FILE:LINE: field."""
    out: List[Dict[str, Any]] = []
    problems = Problems()
    for name, validate in ((EMAIL_JSON, notify_rules.email_settings), (SMS_JSON, notify_rules.sms_settings)):
        path = os.path.join(config_dir, name)
        if not os.path.lexists(path):
            out.append(validate({"enabled": False}))
            continue
        try:
            doc = load_json_text(read_text(path, config_dir), path)
            problem = notify_rules.email_file_problem(doc.data) if name == EMAIL_JSON else None
            if problem is not None:
                raise problem
            settings = validate(doc.data)
            for key in ("username_env", "password_env", "token_env"):
                if settings.get(key) in secret_rules.PROVIDER_TOKEN_VARIABLES:
                    raise notify_rules.ConfigProblem(key, "%s is a provider token: it must never become a mail or "
                                                          "SMS credential (it would reach every droplet)" % settings[key])
            out.append(settings)
        except notify_rules.ConfigProblem as exc:
            problems.add(str(exc).split(": ", 1)[-1], file=path, line=doc.line((exc.field,)), field=exc.field)
        except SpecError as exc:
            problems.extend(getattr(exc, "errors", [exc]))
    problems.raise_if_any()
    return out[0], out[1]


__all__ = [
    "CSV_COLUMNS", "DEFAULT_ENVIRONMENTS", "DeploymentConfig", "InfraSpec", "ProjectDeploySpec", "ProjectSpec",
    "ServiceSpec", "Spec", "SIZES", "load_spec", "load_state_file", "parse_deployment_config",
    "parse_infrastructure_spec", "parse_projects_csv",
]
