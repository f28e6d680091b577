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

import ipaddress
import posixpath
import re
import string
import unicodedata
from typing import Dict, NamedTuple, Optional, Tuple

PROJECT_RE = re.compile(r"^[a-z](?:[a-z0-9-]{0,39}[a-z0-9])?\Z")
ENV_RE = re.compile(r"^[a-z][a-z0-9]{0,15}\Z")
SERVICE_RE = re.compile(r"^[a-z][a-z0-9_]{0,40}\Z")
SECRET_RE = SERVICE_RE
ENV_VAR_RE = re.compile(r"^[A-Z_][A-Z0-9_]{0,63}\Z")

DROPLET_RE = re.compile(r"^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")

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


def shown(value: object, limit: int = 60) -> str:
    """``repr`` of a value for a message: control characters escaped, long values cut (a 10 MB name must not
    become a 10 MB error)."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return "%s...%s (%d characters)" % (text[: limit - 10], text[-4:], len(value) if isinstance(value, str) else len(text))


def name_problem(kind: str, value: object) -> Optional[str]:
    """Return why ``value`` is not a legal ``kind`` name, or None when it is."""
    pattern, rule = _RULES[kind]
    if not isinstance(value, str):
        return "%s name must be a string, got %s" % (kind, type(value).__name__)
    if not pattern.fullmatch(value):
        return "illegal %s name %s: use %s" % (kind, shown(value), rule)
    return None


# Every pattern here is applied with ``fullmatch``: ``$`` alone would accept a trailing newline.
DIGITS_RE = re.compile(r"[0-9]{1,9}\Z")
_LINE_SEPARATORS = frozenset(("\u2028", "\u2029", "\u0085"))


def control_problem(value: str) -> Optional[str]:
    """Why ``value`` cannot go into a command line, an environment value or a config file: a C0/C1 control
    character (CR, LF, NUL, TAB, ESC ...), a Unicode line/paragraph separator or an invisible format character
    (bidi overrides, zero-width). None when it is clean."""
    for index, char in enumerate(value):
        if char in _LINE_SEPARATORS or unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            return "contains the control character U+%04X at position %d" % (ord(char), index + 1)
    return None


def ascii_int(value: object) -> Optional[int]:
    """A whole number written with ASCII digits only (``str.isdigit`` also accepts '²', '٣', '２')."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and DIGITS_RE.fullmatch(value):
        return int(value)
    return None


# A path of an HTTP health check: '/' then RFC 3986 path characters, with no query, fragment, quote or ';'
# (it reaches nginx config and the agents' probes).
HTTP_PATH_RE = re.compile(r"/(?:[A-Za-z0-9\-._~!$&()*+,=:@/]|%[0-9A-Fa-f]{2}){0,200}\Z")


def _dot_segments(path: str) -> bool:
    """A '.' or '..' segment, also percent-encoded ('%2e%2e'), or an empty one ('//')."""
    parts = path.lower().replace("%2e", ".").split("/")
    return any(part in (".", "..") for part in parts) or "" in parts[1:-1]


def http_path_problem(value: object) -> Optional[str]:
    if not isinstance(value, str) or not HTTP_PATH_RE.fullmatch(value) or _dot_segments(value):
        return ("expected a plain absolute path such as '/health' (letters, digits and -._~!$&()*+,=:@/ or "
                "%%XX escapes; no query, spaces, quotes, '//' or '.'/'..' segments), got %s" % shown(value))
    return None


# --------------------------------------------------------------------------- Git

_HOST_NAME_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?\Z")
_GIT_PATH_RE = re.compile(r"[A-Za-z0-9._~/+@%:=-]{1,1000}\Z")
_GIT_USER_RE = re.compile(r"[A-Za-z0-9._][A-Za-z0-9._-]{0,63}\Z")
# [user@]host:path - the scp-like form git and ssh accept; the path may not start with '-'
_SCP_RE = re.compile(r"(?:(?P<user>[A-Za-z0-9._][A-Za-z0-9._-]{0,63})@)?(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}"
                     r"[A-Za-z0-9])?):(?P<path>[A-Za-z0-9._~+@%=][A-Za-z0-9._~/+@%:=-]{0,999})\Z")
GIT_SCHEMES = ("https", "ssh", "file")


def host_problem(host: str) -> Optional[str]:
    """A DNS host name or an IP address (IPv6 without brackets); never something that starts with '-'."""
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    if not _HOST_NAME_RE.fullmatch(host) or ".." in host:
        return "illegal host %s" % shown(host)
    return None


def _netloc(netloc: str) -> Tuple[Optional[str], Optional[str], str, Optional[str]]:
    """(user, password, host, port) of a URL's authority, parsed without urllib's lenient guesses."""
    user = password = None
    if "@" in netloc:
        userinfo, netloc = netloc.rsplit("@", 1)
        user, colon, pw = userinfo.partition(":")
        password = pw if colon else None
    port = None
    if netloc.startswith("["):
        if "]" not in netloc:
            raise ValueError("an IPv6 address without its closing ']'")
        host, _sep, rest = netloc[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValueError("text after the IPv6 address")
            port = rest[1:]
        if ":" not in host:
            raise ValueError("not an IPv6 address in brackets")
    else:
        host, sep, port_text = netloc.partition(":")
        port = port_text if sep else None
    return user, password, host, port


def git_url_problem(url: object) -> Optional[str]:
    """Why ``url`` is not an acceptable repository address, or None.

    Accepted: ``https://host/path``, ``ssh://[user@]host[:port]/path``, ``[user@]host:path`` and ``file:///path``.
    Refused: a leading '-' (read by git as an option), whitespace and control characters, the ``ext::``/``fd::``
    transports and any other scheme, ssh options smuggled into the host part, credentials in the URL, '.'/'..'
    path segments.
    """
    if not isinstance(url, str) or not url:
        return "expected a Git URL (https://, ssh://, user@host:path or file://)"
    why = control_problem(url)
    if why:
        return "Git URL %s" % why
    if url.startswith("-"):
        return "Git URL %s starts with '-' (git would read it as an option)" % shown(url)
    if any(ch.isspace() for ch in url) or not url.isascii():
        return "Git URL %s contains whitespace or non-ASCII characters" % shown(url)
    if len(url) > 1000:
        return "Git URL %s is longer than 1000 characters" % shown(url)
    if "::" in url.split("/", 1)[0]:
        return "Git URL %s uses a remote helper transport ('ext::', 'fd::'); use https://, ssh:// or file://" % shown(url)
    if "://" not in url:
        scp = _SCP_RE.fullmatch(url)
        if not scp:
            return ("Git URL %s: expected https://host/path, ssh://host/path, user@host:path or file:///path"
                    % shown(url))
        if _dot_segments(scp.group("path")):
            return "Git URL %s has a '.', '..' or empty path segment" % shown(url)
        return None
    scheme, _sep, rest = url.partition("://")
    if scheme not in GIT_SCHEMES:
        return "Git URL %s: scheme %s is not allowed (use %s)" % (shown(url), shown(scheme[:20]), ", ".join(GIT_SCHEMES))
    netloc, slash, path = rest.partition("/")
    path = slash + path
    if "?" in url or "#" in url:
        return "Git URL %s must not have a query or fragment" % shown(url)
    if not path.startswith("/") or not _GIT_PATH_RE.fullmatch(path) or _dot_segments(path):
        return "Git URL %s: expected a repository path after the host, without '.', '..' or '//'" % shown(url)
    if scheme == "file":
        return None if not netloc else "Git URL %s: a file URL is file:///absolute/path" % shown(url)
    try:
        user, password, host, port = _netloc(netloc)
    except ValueError as exc:
        return "Git URL %s: illegal host part (%s)" % (shown(url), exc)
    if password is not None or (user is not None and scheme == "https"):
        return ("Git URL %s embeds credentials: use a deploy key (ssh) or a credential helper, never a password "
                "in the URL" % shown(_redact(url)))
    why = host_problem(host)
    if why:
        return "Git URL %s: %s" % (shown(url), why)
    if user is not None and not _GIT_USER_RE.fullmatch(user):
        return "Git URL %s: illegal user name" % shown(url)
    if port is not None and (not DIGITS_RE.fullmatch(port) or not 1 <= int(port) <= 65535):
        return "Git URL %s: the port must be from 1 to 65535" % shown(url)
    return None


def _redact(url: str) -> str:
    rest = url.partition("://")[2]
    netloc = rest.split("/", 1)[0]
    return url.replace(netloc, "***@" + netloc.rsplit("@", 1)[-1], 1) if "@" in netloc else url


_REF_BAD_RE = re.compile(r"(?:^|/)\.|\.\.|@\{|//|\.lock(?:/|$)|[~^:?*\[\\]")


def branch_problem(name: object) -> Optional[str]:
    """The rules of ``git check-ref-format --branch``, plus no leading '-'."""
    if not isinstance(name, str) or not name:
        return "expected a branch name"
    why = control_problem(name)
    if why:
        return "branch name %s" % why
    if (name.startswith("-") or name.startswith("/") or name.endswith("/") or name.endswith(".") or name == "@"
            or any(ch.isspace() for ch in name) or not name.isascii() or len(name) > 200 or _REF_BAD_RE.search(name)):
        return ("illegal branch name %s: git ref rules (no '..', spaces, '~^:?*[\\', '@{', leading '-', '/' or '.', "
                "trailing '/', '.' or '.lock')" % shown(name))
    return None


def url_pattern_problem(pattern: object) -> Optional[str]:
    """``git_config.url_pattern``: literal text plus ``{base_url}`` and ``{project}``, no format spec or conversion."""
    if not isinstance(pattern, str):
        return "expected a string"
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        return "invalid url_pattern: %s" % exc
    fields = []
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in ("base_url", "project") or spec or conversion:
            return ("only {base_url} and {project} may appear, with no format spec or conversion; found {%s%s%s}"
                    % (name, "!" + conversion if conversion else "", ":" + spec if spec else ""))
        fields.append(name)
    if "project" not in fields:
        return "url_pattern must contain {project}"
    why = git_url_problem(pattern.format(base_url="https://git.example.org/team", project="shop"))
    if why:
        return "does not make a valid Git URL: %s" % why
    return None


def size_problem(slug: object) -> Optional[str]:
    if not isinstance(slug, str):
        return "size must be a string slug, got %s" % type(slug).__name__
    if slug not in SIZES:
        return "unknown size slug %s (known: %s)" % (shown(slug), ", ".join(sorted(SIZES)[:6]) + ", ...")
    return None


def region_problem(region: object) -> Optional[str]:
    if not isinstance(region, str):
        return "region must be a string slug, got %s" % type(region).__name__
    if region not in REGIONS:
        return "unknown region %s (known: %s)" % (shown(region), ", ".join(sorted(REGIONS)))
    return None


def repo_path_problem(path: object) -> Optional[str]:
    """A path inside the project's repository: relative, normalised, never escaping it."""
    if not isinstance(path, str) or not path.strip():
        return "must be a non-empty relative path"
    if "\\" in path or control_problem(path):
        return "path %s contains a backslash or control character" % shown(path)
    if len(path) > 1024:
        return "path %s is longer than 1024 characters" % shown(path)
    if path.startswith("/") or path.startswith("~"):
        return "path %s must be relative to the repository" % shown(path)
    norm = posixpath.normpath(path)
    if norm == ".." or norm.startswith("../") or "/../" in "/%s/" % path:
        return "path %s escapes the repository" % shown(path)
    return None


def bigger_size(a: str, b: str) -> str:
    """The larger of two known slugs (memory, then vCPUs, then name), for a shared master."""
    return max(a, b, key=lambda s: (SIZES[s].memory_mb, SIZES[s].vcpus, s))
