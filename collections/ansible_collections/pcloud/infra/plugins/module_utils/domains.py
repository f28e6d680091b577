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
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.pcloud.infra.plugins.module_utils.errors import PcloudError

# a label: letters, digits and '-' inside; the last label (the TLD) starts with a letter
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
DOMAIN_RE = re.compile(r"(?:\*\.)?(?:%s\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?" % _LABEL, re.ASCII)

SELF_SIGNED = "self-signed"
ACME_HTTP = "acme-http"
ACME_DNS = "acme-dns"
TLS_MODES: Tuple[str, ...] = (SELF_SIGNED, ACME_HTTP, ACME_DNS)
# the modes this version issues (a mode listed in TLS_MODES but not here is refused with a clear message)
TLS_AVAILABLE: Tuple[str, ...] = (SELF_SIGNED, ACME_HTTP, ACME_DNS)
DEFAULT_TLS = SELF_SIGNED
# the ACME challenge each ACME mode answers
ACME_CHALLENGES: Dict[str, str] = {ACME_HTTP: "http-01", ACME_DNS: "dns-01"}


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


def _san(info: Mapping[str, Any]) -> List[str]:
    return sorted(str(n)[4:] for n in info.get("subject_alt_name") or [] if str(n).startswith("DNS:"))


def acme_due(cert: Mapping[str, Any], renewal: Mapping[str, Any], issued: Mapping[str, Any],
             force: bool = False) -> Optional[str]:
    """Why the ACME certificate ``cert`` must be ordered now, or None.

    ``renewal`` is community.crypto.acme_certificate_renewal_info's result for the issued certificate (the CA's
    renewal information where it offers it, else its remaining days), ``issued`` x509_certificate_info's (failed
    when none was issued).
    """
    if issued.get("failed") or not issued.get("subject_alt_name") or not renewal.get("exists", True):
        return "none issued yet"
    if _san(issued) != sorted(cert["domains"]):
        return "its domains changed (%s)" % ", ".join(cert["domains"])
    if renewal.get("should_renew"):
        return "due for renewal (%s)" % (renewal.get("msg") or "the CA says so")
    if force:
        return "renewal requested"
    return None


def acme_orders(certs: Sequence[Mapping[str, Any]], renewals: Sequence[Mapping[str, Any]],
                issued: Sequence[Mapping[str, Any]], force: bool = False) -> List[Dict[str, Any]]:
    """The ACME certificates of ``certs`` to order now, each with ``challenge`` and ``reason``.

    ``renewals`` and ``issued`` are the registered loop results over the ACME certificates, in their order.
    """
    acme = [c for c in certs if c.get("tls") in ACME_CHALLENGES]
    if len(renewals) != len(acme) or len(issued) != len(acme):
        raise PcloudError("%d ACME certificates, %d renewal and %d certificate results"
                          % (len(acme), len(renewals), len(issued)))
    out: List[Dict[str, Any]] = []
    for cert, renewal, info in zip(acme, renewals, issued):
        reason = acme_due(cert, renewal, info, force)
        if reason:
            out.append(dict(cert, challenge=ACME_CHALLENGES[cert["tls"]], reason=reason))
    return out


def acme_challenges(orders: Sequence[Mapping[str, Any]]) -> Dict[str, List[Dict[str, str]]]:
    """The challenges step one of the orders asks for: ``{"http": [{"path", "value"}], "dns": [{"name", "value"}]}``.

    ``orders`` are community.crypto.acme_certificate's results looped over acme_orders (``item`` the order); each
    identifier's data of the order's own challenge type is taken, so an apex and its wildcard give two TXT values
    under one name.
    """
    out: Dict[str, List[Dict[str, str]]] = {"http": [], "dns": []}
    for result in orders:
        challenge = result["item"]["challenge"]
        for identifier in sorted(result.get("challenge_data") or {}):
            data = (result["challenge_data"][identifier] or {}).get(challenge)
            if not data:
                continue
            if challenge == "http-01":
                out["http"].append({"path": str(data["resource"]), "value": str(data["resource_value"])})
            else:
                out["dns"].append({"name": str(data["record"]), "value": str(data["resource_value"])})
    return out


def certificate_files(certs: Sequence[Mapping[str, Any]], acme_issued: Iterable[str]) -> List[Dict[str, str]]:
    """What master serves for each certificate: ``{"src", "dest"}`` file names in the control node's TLS directory
    and master's. An ACME certificate the CA has issued (its name in ``acme_issued``) replaces the self-signed one
    that serves until then."""
    issued = set(acme_issued)
    out: List[Dict[str, str]] = []
    for cert in certs:
        acme = cert.get("tls") in ACME_CHALLENGES and cert["name"] in issued
        out.append({"src": cert["name"] + (".acme.crt" if acme else ".crt"), "dest": cert["name"] + ".crt"})
        out.append({"src": cert["name"] + ".key", "dest": cert["name"] + ".key"})
    return out
