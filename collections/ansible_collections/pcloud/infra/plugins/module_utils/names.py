# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""Name rules and the known DigitalOcean catalogue (sizes, regions).

Names reach container names, hostnames, nginx config, environment variables and shell
commands, so they are checked strictly here and nowhere else.
"""

from __future__ import annotations

import posixpath
import re
from typing import Dict, NamedTuple, Optional

PROJECT_RE = re.compile(r"^[a-z](?:[a-z0-9-]{0,39}[a-z0-9])?$")
ENV_RE = re.compile(r"^[a-z][a-z0-9]{0,15}$")
SERVICE_RE = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
SECRET_RE = SERVICE_RE
ENV_VAR_RE = re.compile(r"^[A-Z_][A-Z0-9_]{0,63}$")

DROPLET_RE = re.compile(r"^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$")

_RULES = {
    "droplet": (DROPLET_RE, "lower-case letters, digits and '-', starting with a letter, not ending with '-', "
                            "at most 63 characters"),
    "project": (PROJECT_RE, "lower-case letters, digits and '-', starting with a letter, "
                            "not ending with '-', at most 41 characters"),
    "environment": (ENV_RE, "lower-case letters and digits, starting with a letter, at most 16 characters"),
    "service": (SERVICE_RE, "lower-case letters, digits and '_', starting with a letter, at most 41 characters"),
    "secret": (SECRET_RE, "lower-case letters, digits and '_', starting with a letter, at most 41 characters"),
    "environment variable": (ENV_VAR_RE, "upper-case letters, digits and '_', not starting with a digit"),
}


class Size(NamedTuple):
    vcpus: int
    memory_mb: int
    disk_gb: int


# Droplet size slugs DigitalOcean offers (the local cloud maps them to CPU/memory limits).
SIZES: Dict[str, Size] = {
    "s-1vcpu-512mb-10gb": Size(1, 512, 10),
    "s-1vcpu-1gb": Size(1, 1024, 25),
    "s-1vcpu-1gb-amd": Size(1, 1024, 25),
    "s-1vcpu-1gb-intel": Size(1, 1024, 25),
    "s-1vcpu-2gb": Size(1, 2048, 50),
    "s-1vcpu-2gb-amd": Size(1, 2048, 50),
    "s-1vcpu-2gb-intel": Size(1, 2048, 50),
    "s-2vcpu-2gb": Size(2, 2048, 60),
    "s-2vcpu-2gb-amd": Size(2, 2048, 60),
    "s-2vcpu-2gb-intel": Size(2, 2048, 60),
    "s-2vcpu-4gb": Size(2, 4096, 80),
    "s-2vcpu-4gb-amd": Size(2, 4096, 80),
    "s-2vcpu-4gb-intel": Size(2, 4096, 80),
    "s-2vcpu-8gb-amd": Size(2, 8192, 100),
    "s-2vcpu-8gb-intel": Size(2, 8192, 100),
    "s-4vcpu-8gb": Size(4, 8192, 160),
    "s-4vcpu-8gb-amd": Size(4, 8192, 160),
    "s-4vcpu-8gb-intel": Size(4, 8192, 160),
    "s-4vcpu-16gb-amd": Size(4, 16384, 200),
    "s-4vcpu-16gb-intel": Size(4, 16384, 200),
    "s-8vcpu-16gb": Size(8, 16384, 320),
    "s-8vcpu-16gb-amd": Size(8, 16384, 320),
    "s-8vcpu-16gb-intel": Size(8, 16384, 320),
    "s-8vcpu-32gb-amd": Size(8, 32768, 400),
    "s-8vcpu-32gb-intel": Size(8, 32768, 400),
    "c-2": Size(2, 4096, 25),
    "c-4": Size(4, 8192, 50),
    "c-8": Size(8, 16384, 100),
    "c-16": Size(16, 32768, 200),
    "g-2vcpu-8gb": Size(2, 8192, 25),
    "g-4vcpu-16gb": Size(4, 16384, 50),
    "g-8vcpu-32gb": Size(8, 32768, 100),
    "m-2vcpu-16gb": Size(2, 16384, 50),
    "m-4vcpu-32gb": Size(4, 32768, 100),
    "m-8vcpu-64gb": Size(8, 65536, 200),
}

# The region slugs of the DigitalOcean API contract (schema region_slug).
REGIONS = frozenset((
    "ams1", "ams2", "ams3", "blr1", "fra1", "lon1", "nyc1", "nyc2", "nyc3",
    "sfo1", "sfo2", "sfo3", "sgp1", "syd1", "tor1",
))

DEFAULT_REGION = "lon1"


def name_problem(kind: str, value: object) -> Optional[str]:
    """Return why ``value`` is not a legal ``kind`` name, or None when it is."""
    pattern, rule = _RULES[kind]
    if not isinstance(value, str):
        return "%s name must be a string, got %s" % (kind, type(value).__name__)
    if not pattern.match(value):
        return "illegal %s name %r: use %s" % (kind, value, rule)
    return None


def size_problem(slug: object) -> Optional[str]:
    if not isinstance(slug, str):
        return "size must be a string slug, got %s" % type(slug).__name__
    if slug not in SIZES:
        return "unknown size slug %r (known: %s)" % (slug, ", ".join(sorted(SIZES)[:6]) + ", ...")
    return None


def region_problem(region: object) -> Optional[str]:
    if not isinstance(region, str):
        return "region must be a string slug, got %s" % type(region).__name__
    if region not in REGIONS:
        return "unknown region %r (known: %s)" % (region, ", ".join(sorted(REGIONS)))
    return None


def repo_path_problem(path: object) -> Optional[str]:
    """A path inside the project's repository: relative, normalised, never escaping it."""
    if not isinstance(path, str) or not path.strip():
        return "must be a non-empty relative path"
    if "\\" in path or "\x00" in path or any(ord(c) < 32 for c in path):
        return "path %r contains a backslash or control character" % path
    if path.startswith("/") or path.startswith("~"):
        return "path %r must be relative to the repository" % path
    norm = posixpath.normpath(path)
    if norm == ".." or norm.startswith("../") or "/../" in "/%s/" % path:
        return "path %r escapes the repository" % path
    return None


def bigger_size(a: str, b: str) -> str:
    """The larger of two known slugs (memory, then vCPUs, then name), for a shared master."""
    return max(a, b, key=lambda s: (SIZES[s].memory_mb, SIZES[s].vcpus, s))
