# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""Release naming: UAT tags ``v{version}-uat-{YYYYMMDD-HHMM}``, the next version, the latest UAT tag."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from ansible_collections.pcloud.infra.plugins.module_utils.errors import SpecError

UAT_TAG_RE = re.compile(r"^v([0-9]+)\.([0-9]+)\.([0-9]+)-uat-([0-9]{8})-([0-9]{4})\Z")
VERSION_RE = re.compile(r"^([0-9]+)\.([0-9]+)\.([0-9]+)\Z")
FIRST_VERSION = "0.1.0"


def uat_tag(version: str, when: datetime) -> str:
    if not VERSION_RE.match(version):
        raise SpecError("version %r is not MAJOR.MINOR.PATCH" % version, field="versioning.version")
    return "v%s-uat-%s" % (version, when.strftime("%Y%m%d-%H%M"))


def _key(tag: str) -> Optional[Tuple[int, int, int, str, str]]:
    match = UAT_TAG_RE.match(tag)
    if not match:
        return None
    major, minor, patch, day, minute = match.groups()
    return int(major), int(minor), int(patch), day, minute


def uat_tags(tags: Iterable[str]) -> List[str]:
    """The UAT tags among ``tags``, oldest first (by date and time, then version)."""
    found = [(k, t) for t, k in ((t, _key(t)) for t in tags) if k is not None]
    return [t for k, t in sorted(found, key=lambda kt: (kt[0][3], kt[0][4], kt[0][:3]))]


def latest_uat_tag(tags: Iterable[str]) -> Optional[str]:
    ordered = uat_tags(tags)
    return ordered[-1] if ordered else None


def next_version(configured: Optional[str], tags: Iterable[str]) -> str:
    """``versioning.version`` when set; else the highest tagged version with patch + 1; else 0.1.0."""
    if configured:
        return configured
    versions = [k[:3] for k in (_key(t) for t in tags) if k is not None]
    if not versions:
        return FIRST_VERSION
    major, minor, patch = max(versions)
    return "%d.%d.%d" % (major, minor, patch + 1)


KEEP_RELEASES = 20


def release_record(commit: str, tag: Optional[str], images: Mapping[str, str], image_ids: Mapping[str, str],
                   services: Mapping[str, Any], secret_versions: Mapping[str, Any], who: str, when: str,
                   kind: str = "deploy", repo: Optional[str] = None) -> Dict[str, Any]:
    """One release: what ran (images and their ids), with which non-secret config and which secret versions."""
    return {"commit": commit, "tag": tag or None, "repo": repo or None, "images": dict(sorted(images.items())),
            "image_ids": dict(sorted(image_ids.items())), "services": dict(services),
            "secret_versions": dict(secret_versions), "who": who, "when": when, "kind": kind}


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    keys = ("image_ids", "services", "secret_versions")
    return all(a.get(k) == b.get(k) for k in keys)


def append_release(history: List[Dict[str, Any]], record: Dict[str, Any], keep: int = KEEP_RELEASES) -> Tuple[List[Dict[str, Any]], bool]:
    """The history with ``record`` appended (numbered), unless it runs exactly what the newest release runs."""
    if history and _same(history[-1], record):
        return history, False
    numbered = dict(record, number=(history[-1].get("number", len(history)) + 1) if history else 1)
    return (list(history) + [numbered])[-keep:], True


def rollback_target(history: List[Dict[str, Any]], service: Optional[str] = None) -> Dict[str, str]:
    """The images to run for a rollback: the release before the newest (for one service, or all)."""
    if len(history) < 2:
        raise SpecError("no earlier release to roll back to (%d recorded)" % len(history), field="releases")
    current, previous = history[-1], history[-2]
    if service is None:
        return dict(previous["images"])
    if service not in previous["images"]:
        raise SpecError("service %r is not in release %s" % (service, previous.get("number")), field="service")
    images = dict(current["images"])
    images[service] = previous["images"][service]
    return images


def image_ids(images: Mapping[str, str], info: Iterable[Mapping[str, Any]]) -> Dict[str, str]:
    """``{service: image id}`` from docker image info (``Id``, ``RepoTags``, ``RepoDigests``: a reference may be a tag
    or a digest); fails for an image not found."""
    by_tag = {tag: item.get("Id") for item in info
              for tag in list(item.get("RepoTags") or ()) + list(item.get("RepoDigests") or ())}
    out = {}
    for service, ref in sorted(images.items()):
        if ref not in by_tag:
            raise SpecError("image %s of service %r is not on the engine" % (ref, service), field="images")
        out[service] = by_tag[ref]
    return out


def releases_with_tag(histories: Mapping[str, List[Dict[str, Any]]], tag: Optional[str] = None,
                      key: Optional[str] = None) -> List[Dict[str, Any]]:
    """The releases of every project-env (or ``key``), oldest first per project-env, each with its
    ``project_env``; only those of ``tag`` when given."""
    out = []
    for name in sorted(histories):
        if key and name != key:
            continue
        for record in histories[name]:
            if tag is None or record.get("tag") == tag:
                out.append(dict(record, project_env=name))
    return out


def deployer(*candidates: Optional[str]) -> str:
    """Who made a release: the first usable of ``candidates`` (the playbook passes the AWX/Semaphore user,
    then ``git config user.email`` of the source, then ``$USER``), else "unknown". Control characters and
    surrounding blanks never reach the record; at most 200 characters."""
    for value in candidates:
        text = str(value or "").strip()
        if text and not any(ord(c) < 32 or ord(c) == 127 for c in text):
            return text[:200]
    return "unknown"
