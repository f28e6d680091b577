# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""The fleet's image registry on master: its name, image references, credentials and what to build.

Application images are built on master's engine, pushed to ``registry.pcloud:5000/<project>/<service>:<commit>``
and every droplet pulls them **by digest** (``…@sha256:…``): a digest names the exact bytes, so prod promotion and
rollback run what UAT ran without rebuilding or re-tagging. ``registry.pcloud`` is a name each droplet maps to
master's current address (/etc/hosts), so recorded references survive a master rebuilt at a new address.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ansible_collections.pcloud.infra.plugins.module_utils.allocation import REGISTRY_PORT
from ansible_collections.pcloud.infra.plugins.module_utils.errors import PcloudError

REGISTRY_HOST = "registry.pcloud"
REGISTRY_ADDRESS = "%s:%d" % (REGISTRY_HOST, REGISTRY_PORT)
REGISTRY_USER = "pcloud"
_NAME = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")
_COMMIT = re.compile(r"[0-9a-f]{12,64}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# bcrypt's own alphabet for its 22-character salt
_BCRYPT_B64 = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


class RegistryError(PcloudError):
    """A name that cannot make an image reference, or an image the registry does not hold."""


def repository(project: str, service: str) -> str:
    """``registry.pcloud:5000/<project>/<service>`` (``_`` in service names becomes ``-``)."""
    parts = [project, service.replace("_", "-")]
    for part in parts:
        if not isinstance(part, str) or not _NAME.fullmatch(part):
            raise RegistryError("%r cannot name an image repository (lower-case letters, digits, '.', '_', '-')"
                                % (part,))
    return "%s/%s/%s" % (REGISTRY_ADDRESS, parts[0], parts[1])


def tagged(project: str, service: str, commit: str) -> str:
    """The tag a build of ``commit`` is pushed under: ``<repository>:<commit[:12]>``. ``commit`` may also be a
    content hash (a ``--local`` build of uncommitted files)."""
    if not isinstance(commit, str) or not _COMMIT.fullmatch(commit):
        raise RegistryError("%r is not a commit or content hash (12 to 64 hex digits)" % (commit,))
    return "%s:%s" % (repository(project, service), commit[:12])


def images(project: str, services: Sequence[str], commit: str) -> Dict[str, str]:
    """``{service: tagged reference}`` for a project's services at ``commit``."""
    return {service: tagged(project, service, commit) for service in services}


def pinned(image_info: Sequence[Mapping[str, Any]], wanted: Mapping[str, str]) -> Dict[str, str]:
    """``{service: repository@sha256:…}`` from docker_image_info results for the tagged references in ``wanted``
    (``{service: repository:tag}``): the digest the registry gave each image when it was pushed."""
    by_tag: Dict[str, Mapping[str, Any]] = {}
    for image in image_info:
        for tag in image.get("RepoTags") or ():
            by_tag[tag] = image
    out: Dict[str, str] = {}
    for service, ref in wanted.items():
        repo = ref.rsplit(":", 1)[0]
        image = by_tag.get(ref)
        if image is None:
            raise RegistryError("the image %s of service %s is not on master" % (ref, service))
        digests = [d for d in image.get("RepoDigests") or () if d.startswith(repo + "@")]
        if not digests or not _DIGEST.fullmatch(digests[0].split("@", 1)[1]):
            raise RegistryError("the image %s of service %s was never pushed to the registry" % (ref, service))
        out[service] = digests[0]
    return out


def distinct_builds(paths: Mapping[str, Mapping[str, str]], root: str) -> Dict[str, Dict[str, Any]]:
    """Services that build from the same context and Dockerfile are built once. ``paths`` is build_paths' answer
    (absolute, resolved); the result maps a build key to ``{"context", "dockerfile"}`` relative to ``root`` and the
    ``services`` it serves, in service order."""
    root = root.rstrip("/")
    out: Dict[str, Dict[str, Any]] = {}
    for service in sorted(paths):
        item = paths[service]
        context = _relative(item["path"], root)
        dockerfile = _relative(item["dockerfile"], item["path"].rstrip("/"))
        key = hashlib.sha256(("%s\0%s" % (context, dockerfile)).encode()).hexdigest()[:12]
        entry = out.setdefault(key, {"context": context, "dockerfile": dockerfile, "services": []})
        entry["services"].append(service)
    return out


def _relative(path: str, root: str) -> str:
    if path == root:
        return "."
    if not path.startswith(root + "/"):
        raise RegistryError("%s is not inside %s" % (path, root))
    return path[len(root) + 1:]


def htpasswd_line(user: str, password: str, rounds: int = 10) -> str:
    """``user:$2b$…`` for the registry's htpasswd file. The salt is derived from the password (a generated random
    one), so the line is the same on every run and a re-run changes nothing."""
    import bcrypt  # control-node dependency, imported where it is used

    if not _NAME.fullmatch(user) or not password or any(ord(ch) < 33 for ch in password):
        raise RegistryError("a registry user needs a plain name and a password without blanks")
    raw = hmac.new(b"pcloud-registry-salt", password.encode(), hashlib.sha256).digest()
    # 22 characters of bcrypt's base64; the last one carries only 2 bits (of the 128-bit salt)
    salt = "".join(_BCRYPT_B64[b % 64] for b in raw[:21]) + _BCRYPT_B64[(raw[21] % 4) * 16]
    hashed = bcrypt.hashpw(password.encode(), ("$2b$%02d$%s" % (rounds, salt)).encode()).decode()
    return "%s:%s" % (user, hashed)


def docker_auth(user: str, password: str) -> str:
    """The ``auth`` value of a Docker config.json entry."""
    return base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def pull_list(pinned_images: Mapping[str, str], services: Optional[List[str]] = None) -> List[str]:
    """The distinct digest references a droplet must have (all of the project-env's, or those of ``services``)."""
    wanted = services if services is not None else sorted(pinned_images)
    return sorted({pinned_images[s] for s in wanted if s in pinned_images})


def kept_images(histories: Mapping[str, Sequence[Mapping[str, Any]]], project: str, keep: int = 3) -> List[str]:
    """The digest references of the newest ``keep`` releases of every environment of ``project`` (prod promotes what
    uat built, so they share repositories), and of each environment's newest tagged release (what prod promotes next,
    however many untagged ``--local`` builds came after it): what pruning on droplets and registry GC keep."""
    prefix = "%s/%s/" % (REGISTRY_ADDRESS, project)
    out = set()
    for key, history in histories.items():
        if key.rsplit("-", 1)[0] != project:
            continue
        tagged = [record for record in history if record.get("tag")][-1:]
        for record in list(history)[-keep:] + tagged:
            for ref in (record.get("images") or {}).values():
                if isinstance(ref, str) and ref.startswith(prefix) and "@sha256:" in ref:
                    out.add(ref)
    return sorted(out)


def prune_candidates(images: Sequence[Mapping[str, Any]], used_ids: Sequence[str], prefix: str,
                     keep: Sequence[str]) -> List[Dict[str, Any]]:
    """Images on an engine that pruning removes: pulled from ``prefix`` (a project's repositories), none of their
    digests kept, and no container (running or not) made from them. ``images`` as the engine lists them."""
    keep_set, used = set(keep), set(used_ids)
    out = []
    for image in images:
        digests = [d for d in image.get("RepoDigests") or () if d.startswith(prefix)]
        tags = [t for t in image.get("RepoTags") or () if t.startswith(prefix)]
        if not (digests or tags) or image.get("Id") in used or keep_set.intersection(digests):
            continue
        out.append({"id": image.get("Id"), "refs": digests or tags, "size": int(image.get("Size") or 0)})
    return out


def manifests_to_delete(tag_digests: Mapping[str, str], keep: Sequence[str], repository_path: str) -> List[str]:
    """Digests of a registry repository's manifests that no kept release uses (``keep`` as full references)."""
    kept = {ref.split("@", 1)[1] for ref in keep if ref.split("@", 1)[0].endswith("/" + repository_path)}
    return sorted({digest for digest in tag_digests.values() if digest not in kept})


def reproduce_images(project: str, services: Sequence[str], tag: str) -> Dict[str, str]:
    """``{service: <repository>:reproduce-<tag>}``: where ``pcloud reproduce`` rebuilds a released tag on master
    (never pushed), to compare with the image ids the release recorded."""
    name = "reproduce-%s" % tag
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", name):
        raise RegistryError("%r cannot be an image tag" % (tag,))
    return {service: "%s:%s" % (repository(project, service), name) for service in services}
