# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""ACME DNS-01 TXT records through the Cloudflare API (v4): which zone a record belongs to, which records to create
or delete, and whether the zone's nameservers answer them yet. Pure: the module pcloud_dns_txt does the requests.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.pcloud.infra.plugins.module_utils.domains import DOMAIN_RE

DEFAULT_API_URL = "https://api.cloudflare.com/client/v4"
# an ACME TXT value: base64url of a SHA-256 digest (43 characters); anything else is refused before a request
_VALUE_RE = re.compile(r"[A-Za-z0-9_-]{1,255}", re.ASCII)
_RECORD_RE = re.compile(r"_acme-challenge\.(.+)", re.ASCII)
_HOST_RE = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?|"
                      r"\d{1,3}(?:\.\d{1,3}){3}", re.ASCII)


def record_problem(record: Mapping[str, Any]) -> Optional[str]:
    """Why ``record`` ({"name", "value"}) is not an ACME challenge TXT record this module writes, or None."""
    name, value = record.get("name"), record.get("value")
    match = _RECORD_RE.fullmatch(name) if isinstance(name, str) else None
    if not match or not DOMAIN_RE.fullmatch(match.group(1)) or match.group(1).startswith("*."):
        return "%r is not an ACME challenge record name (_acme-challenge.DOMAIN)" % (name,)
    if not isinstance(value, str) or not _VALUE_RE.fullmatch(value):
        return "the TXT value of %s is not an ACME key authorization digest" % name
    return None


def zone_for(name: str, zones: Iterable[Mapping[str, Any]]) -> Optional[Mapping[str, Any]]:
    """The zone (``{"id", "name", ...}``) with the longest name that ``name`` lies in, or None."""
    best: Optional[Mapping[str, Any]] = None
    for zone in zones:
        zname = str(zone.get("name", "")).lower().rstrip(".")
        if zname and (name == zname or name.endswith("." + zname)):
            if best is None or len(zname) > len(str(best["name"])):
                best = zone
    return best


def txt_changes(wanted: Sequence[Mapping[str, str]], existing: Sequence[Mapping[str, Any]],
                present: bool) -> Tuple[List[Dict[str, str]], List[str]]:
    """``(records to create, ids of records to delete)``.

    ``existing`` are the zone's TXT records of the wanted names (``{"id", "name", "content"}``; Cloudflare may
    return the content in quotes). present: create what is missing. absent: delete what matches a wanted value.
    """
    have = {(str(r["name"]).lower(), str(r.get("content", "")).strip('"')): str(r["id"]) for r in existing}
    wanted_pairs = [(r["name"], r["value"]) for r in wanted]
    if present:
        create, seen = [], set()
        for pair in wanted_pairs:
            if pair not in have and pair not in seen:
                seen.add(pair)
                create.append({"name": pair[0], "value": pair[1]})
        return create, []
    return [], sorted({have[pair] for pair in wanted_pairs if pair in have})


def nameserver(value: str) -> Tuple[str, int]:
    """``host`` or ``host:port`` of a nameserver to ask (a name or an IPv4 address; port 53 by default)."""
    host, _sep, port = value.partition(":")
    if not _HOST_RE.fullmatch(host) or (port and not (port.isascii() and port.isdigit() and 0 < int(port) < 65536)):
        raise ValueError("%r is not a nameserver (host or host:port)" % value)
    return host, int(port) if port else 53


def missing(wanted: Sequence[Mapping[str, str]], answers: Mapping[str, Iterable[str]]) -> List[str]:
    """The wanted records (``name=value``) a nameserver's answers ({name: TXT strings}) lack, sorted."""
    return sorted("%s=%s" % (r["name"], r["value"]) for r in wanted
                  if r["value"] not in set(answers.get(r["name"], ())))
