# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""What one deploy runs: the request checked, the build named (commit, content hash or promoted UAT tag), the
images it pushes to the fleet's registry and where its sources go. Computed once on the control node
(``pcloud_deploy_info``); the droplets receive the result as host variables."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ansible_collections.pcloud.infra.plugins.module_utils import registry, releases
from ansible_collections.pcloud.infra.plugins.module_utils.build_paths import build_paths
from ansible_collections.pcloud.infra.plugins.module_utils.deploy import PLATFORM_SECRETS
from ansible_collections.pcloud.infra.plugins.module_utils.errors import PcloudError
from ansible_collections.pcloud.infra.plugins.module_utils.names import ENV_RE, PROJECT_RE, branch_problem, control_problem

BUILD_ROOT = "/var/lib/pcloud/build"  # on the builder (master)
_COMMIT_RE = re.compile(r"[0-9a-f]{7,64}\Z")


class DeployError(PcloudError):
    pass


def check_request(project: object, environment: object, branch: object = "") -> None:
    """The names a deploy was asked for (they reach paths, git and container names): refused before any use."""
    if not isinstance(project, str) or not PROJECT_RE.fullmatch(project):
        raise DeployError("pcloud_project: expected a project name (e.g. -e pcloud_project=hostomatic), got %r" % (project,))
    if not isinstance(environment, str) or not ENV_RE.fullmatch(environment):
        raise DeployError("pcloud_env: expected an environment name (e.g. -e pcloud_env=uat), got %r" % (environment,))
    if branch:
        why = branch_problem(branch)
        if why:
            raise DeployError("pcloud_branch: %s" % why)


def user_secrets(services: Mapping[str, Mapping[str, Any]]) -> List[str]:
    """The secrets the project's services read that the user provides (the platform generates the others)."""
    seen: List[str] = []
    for body in services.values():
        for name in body.get("secrets", ()):
            if name not in PLATFORM_SECRETS and name not in seen:
                seen.append(name)
    return seen


def resolve(project: str, environment: str, projects: Mapping[str, Mapping[str, Any]], project_envs: List[str],
            source: str, repo: Optional[Mapping[str, Any]], *, local: bool = False, checkout_commit: str = "",
            promote_tag: str = "", override_images: Optional[Mapping[str, str]] = None,
            override_commit: str = "", config_dir: str = "",
            uat_history: Optional[List[Mapping[str, Any]]] = None, force: bool = False) -> Dict[str, Any]:
    """The build of one deploy.

    ``repo`` is what ``gitrefs.read_repo`` found at ``source`` (None for a rollback, which reads nothing);
    ``local`` means ``source`` is the user's working copy (``--local``), else the fetched checkout at
    ``checkout_commit``. prod never builds: it promotes the commit of ``promote_tag`` or of the newest UAT tag."""
    check_request(project, environment)
    key = "%s-%s" % (project, environment)
    if project not in projects or key not in project_envs:
        raise DeployError("No %s in the spec: projects are %s." % (key, ", ".join(sorted(projects)) or "none"))
    services = projects[project].get("services", {})
    out: Dict[str, Any] = {"project": project, "environment": environment, "key": key, "source": source,
                           "secrets": user_secrets(services), "promoted": "", "notice": "", "taggable": False,
                           "tags": {}, "images": {}, "build_paths": {}, "kind": "deploy"}
    if override_images:
        if override_commit and not _COMMIT_RE.fullmatch(override_commit):
            raise DeployError("pcloud_override_commit: expected a commit id, got %r" % (override_commit,))
        out.update(commit=override_commit, kind="rollback", run_images=dict(override_images))
        return _paths(out, config_dir)
    if repo is None:
        raise DeployError("%s: nothing was read from the source" % source)
    out["tags"] = dict(repo.get("tags", {}))
    if local:
        out.update(commit=repo["build"], taggable=bool(repo["taggable"]))
        if not repo["taggable"]:
            why = "has uncommitted changes" if repo.get("is_repo") else "is not a Git repository"
            out["notice"] = ("%s %s: the build is named by the hash of its files (%s) and gets no UAT tag "
                             "(prod promotes only tagged commits)." % (source, why, str(repo["content"])[:12]))
    else:
        if not _COMMIT_RE.fullmatch(checkout_commit or ""):
            raise DeployError("%s: the checkout has no commit" % source)
        out.update(commit=checkout_commit, taggable=True)
    if environment == "prod":
        chosen, out["notice"] = promotion(project, out["tags"], uat_history or [], promote_tag, force)
        out.update(commit=out["tags"][chosen], promoted=chosen, kind="promote")
    else:
        # a symlink must not send control-node files (.env, the fleet's SSH key) into a build
        out["build_paths"] = build_paths(source, services)
    out["images"] = registry.images(project, list(services), out["commit"])
    return _paths(out, config_dir)


def rolled_back(history: List[Mapping[str, Any]]) -> List[str]:
    """The commits a rollback moved an environment away from, and that it has not deployed again since."""
    gone: List[str] = []
    for index, record in enumerate(history):
        if record.get("kind") == "rollback" and index > 0:
            gone.append(str(history[index - 1].get("commit")))
        elif record.get("commit") in gone:
            gone.remove(str(record.get("commit")))
    return gone


def promotion(project: str, tags: Mapping[str, str], uat_history: List[Mapping[str, Any]], promote_tag: str = "",
              force: bool = False) -> Tuple[str, str]:
    """(the UAT tag prod promotes, a line saying what is promoted). By default the build uat runs now (its
    newest release); ``promote_tag`` names another. A tag whose uat release was rolled back needs ``force``;
    a uat running an untagged build (``--local``) has nothing to promote. With no uat release recorded here
    (another control node deployed it), the newest UAT tag."""
    if promote_tag:
        if control_problem(promote_tag) or promote_tag.startswith("-"):
            raise DeployError("pcloud_tag: %s" % (control_problem(promote_tag) or "a tag does not start with '-'"))
        if promote_tag not in tags:
            raise DeployError("No UAT tag %s in the repository: prod only promotes what UAT tested; run 'pcloud "
                              "deploy uat %s' first." % (promote_tag, project))
        chosen, why = promote_tag, "as asked"
    elif uat_history:
        current = uat_history[-1]
        commit = str(current.get("commit") or "")
        at = [t for t, c in tags.items() if c == commit]
        chosen = releases.latest_uat_tag(at) or ""
        if not chosen:
            raise DeployError("uat runs %s (release %s), which has no UAT tag - a --local build of uncommitted files "
                              "or of a plain directory: prod only promotes tagged commits; deploy a commit to uat, or "
                              "name a tag with --tag" % (commit[:12], current.get("number", "?")))
        why = "the build uat runs"
    else:
        chosen = releases.latest_uat_tag(list(tags)) or ""
        if not chosen:
            raise DeployError("No UAT deploy yet: prod only promotes what UAT tested; run 'pcloud deploy uat %s' first."
                              % project)
        why = "the newest UAT tag (no uat release is recorded in this config dir)"
    if tags[chosen] in rolled_back(uat_history) and not force:
        raise DeployError("uat was rolled back from %s (commit %s): promoting it to prod needs --force "
                          "(-e pcloud_force_promote=true)" % (chosen, tags[chosen][:12]))
    return chosen, "promoting %s (commit %s), %s" % (chosen, tags[chosen][:12], why)


def _paths(out: Dict[str, Any], config_dir: str) -> Dict[str, Any]:
    short = str(out.get("commit") or "none")[:12]
    out["tags_at_commit"] = sorted(t for t, c in out["tags"].items() if c == out.get("commit"))
    out["build_dir"] = "%s/%s/%s" % (BUILD_ROOT, out["project"], short)
    out["archive"] = "%s/.build/%s-%s.tar.gz" % (config_dir, out["project"], short)
    return out
