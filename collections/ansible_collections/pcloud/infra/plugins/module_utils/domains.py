# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""Domains a web service is served under (its own virtual host at ``/``) and their TLS certificates.

A domain reaches nginx's ``server_name``, a certificate's subject and a file name on master, so it is checked
here in full: lower-case ASCII labels, an optional leading ``*.`` wildcard, at most 253 characters.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

# a label: letters, digits and '-' inside; the last label (the TLD) starts with a letter
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
DOMAIN_RE = re.compile(r"(?:\*\.)?(?:%s\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?" % _LABEL, re.ASCII)

SELF_SIGNED = "self-signed"
ACME_HTTP = "acme-http"
ACME_DNS = "acme-dns"
TLS_MODES: Tuple[str, ...] = (SELF_SIGNED, ACME_HTTP, ACME_DNS)
# the modes this version issues; the ACME ones are refused with a clear message until they are built
TLS_AVAILABLE: Tuple[str, ...] = (SELF_SIGNED, ACME_HTTP)
DEFAULT_TLS = SELF_SIGNED


def domain_problem(value: object) -> Optional[str]:
    """Why ``value`` is not a domain pcloud serves, or None."""
    if not isinstance(value, str):
        return "expected a domain name (a string), got %s" % type(value).__name__
    if len(value) > 253:
        return "domain longer than 253 characters"
    if value.isascii() and value != value.lower() and DOMAIN_RE.fullmatch(value.lower()):
        return "domain %r must be lower-case" % value
    if not DOMAIN_RE.fullmatch(value):
        return ("%r is not a domain name (lower-case ASCII labels of letters, digits and '-' joined by '.', "
                "optionally starting with '*.'; use the punycode form for international names)" % value[:80])
    return None


def tls_problem(mode: object) -> Optional[str]:
    """Why ``mode`` is not a TLS mode this version issues, or None."""
    if mode not in TLS_MODES:
        return "unknown TLS mode %r (expected one of %s)" % (mode, ", ".join(TLS_MODES))
    if mode not in TLS_AVAILABLE:
        return ("TLS mode %r is not available in this version of pcloud (it issues %s certificates)"
                % (mode, " and ".join(TLS_AVAILABLE)))
    return None


def wildcard_problem(mode: str, domain: str) -> Optional[str]:
    """Why ``domain`` cannot get a certificate in ``mode``, or None (HTTP-01 cannot validate a wildcard)."""
    if mode == ACME_HTTP and domain.startswith("*."):
        return "%s: an ACME HTTP-01 challenge cannot validate a wildcard; use tls acme-dns or self-signed" % domain
    return None


def certificate_name(key: str, service: str) -> str:
    """The file name (without suffix) of the certificate a project-env's web service is served with."""
    return "%s-%s" % (key, service)


def certificates(state: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """One certificate per web service with domains: ``{"name", "key", "service", "domains", "tls"}``, sorted."""
    out: List[Dict[str, Any]] = []
    for key in sorted(state.get("projects") or {}):
        services = state["projects"][key]
        for service in sorted(services):
            body = services[service]
            if body.get("type") == "web" and body.get("domains"):
                out.append({"name": certificate_name(key, service), "key": key, "service": service,
                            "domains": list(body["domains"]), "tls": body.get("tls", DEFAULT_TLS)})
    return out


def duplicate_domains(claims: Iterable[Tuple[str, str]]) -> List[Tuple[str, str, str]]:
    """``(domain, first owner, second owner)`` for every domain claimed twice; ``claims`` is (domain, owner)."""
    seen: Dict[str, str] = {}
    out: List[Tuple[str, str, str]] = []
    for domain, owner in claims:
        if domain in seen and seen[domain] != owner:
            out.append((domain, seen[domain], owner))
        else:
            seen.setdefault(domain, owner)
    return out
