#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pcloud_dns_txt
short_description: Publish or remove ACME DNS-01 challenge TXT records through the Cloudflare API
version_added: 0.4.0
author: pcloud contributors (@pcloud)
description:
  - Creates (O(state=present)) or deletes (O(state=absent)) C(_acme-challenge) TXT records in the Cloudflare zones
    the token can read; each record goes to the zone with the longest name it lies in. Existing records with the
    same value are kept, so a second run changes nothing.
  - With O(state=present), waits until every nameserver of each zone (the zone's C(name_servers), or
    O(nameservers)) answers all the records, asking every 0.5 s, instead of a fixed wait; fails after O(timeout)
    seconds naming the records still missing. All records are published before the wait, so an apex and its
    wildcard (two values under one name) cost one wait.
requirements:
  - dnspython
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  api_url:
    description: The Cloudflare API (v4) base URL.
    type: str
    default: https://api.cloudflare.com/client/v4
  api_token:
    description: A Cloudflare API token with C(Zone:Read) and C(DNS:Edit) on the zones.
    type: str
    required: true
  records:
    description: The records, each C(name) (C(_acme-challenge.DOMAIN)) and C(value) (the key authorization digest).
    type: list
    elements: dict
    required: true
  state:
    description: Whether the records should exist.
    type: str
    choices: [present, absent]
    default: present
  nameservers:
    description:
      - Nameservers (C(host) or C(host:port)) to ask instead of each zone's own, e.g. a test DNS server.
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds to wait for the nameservers to answer the records.
    type: int
    default: 120
"""

EXAMPLES = r"""
- name: Publish the DNS-01 challenges
  pcloud.infra.pcloud_dns_txt:
    api_token: "{{ lookup('ansible.builtin.env', 'CLOUDFLARE_API_TOKEN') }}"
    records:
      - name: _acme-challenge.example.com
        value: LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0
  no_log: true
"""

RETURN = r"""
created:
  description: How many records were created.
  returned: always
  type: int
deleted:
  description: How many records were deleted.
  returned: always
  type: int
waited:
  description: Seconds until every nameserver answered the records (O(state=present)).
  returned: always
  type: float
"""

import json
import socket
import time
import traceback
from typing import Any, Dict, List, Mapping, Optional
from urllib.parse import urlencode

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.urls import open_url

from ansible_collections.pcloud.infra.plugins.module_utils import dns01

try:
    import dns.exception
    import dns.message
    import dns.query
    import dns.rdatatype
except ImportError:  # reported by main()
    DNS_IMPORT_ERROR: Optional[str] = traceback.format_exc()
else:
    DNS_IMPORT_ERROR = None


class CloudflareError(Exception):
    pass


class Cloudflare:
    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.token = token

    def call(self, method: str, path: str, query: Optional[Mapping[str, Any]] = None,
             body: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
        url = self.url + path + ("?" + urlencode(query) if query else "")
        try:
            response = open_url(url, method=method, data=json.dumps(body) if body is not None else None,
                                headers={"Authorization": "Bearer " + self.token,
                                         "Content-Type": "application/json"}, timeout=30)
            data = json.loads(response.read() or b"{}")
        except Exception as exc:  # urllib's HTTPError carries Cloudflare's error body
            detail = ""
            read = getattr(exc, "read", None)
            if read is not None:
                try:
                    errors = json.loads(read()).get("errors") or []
                    detail = "; ".join("%s %s" % (e.get("code", ""), e.get("message", "")) for e in errors)
                except ValueError:
                    pass
            raise CloudflareError("Cloudflare API %s %s: %s%s"
                                  % (method, path, exc, (" (%s)" % detail) if detail else "")) from exc
        if not data.get("success", False):
            raise CloudflareError("Cloudflare API %s %s: %s" % (method, path, data.get("errors")))
        return data

    def zones(self) -> List[Dict[str, Any]]:
        out: List[Dict[str, Any]] = []
        page = 1
        while True:
            data = self.call("GET", "/zones", {"per_page": 50, "page": page})
            out.extend(data.get("result") or [])
            if page >= int((data.get("result_info") or {}).get("total_pages", 1)):
                return out
            page += 1

    def txt(self, zone: str, name: str) -> List[Dict[str, Any]]:
        return self.call("GET", "/zones/%s/dns_records" % zone, {"type": "TXT", "name": name, "per_page": 100})["result"]


def _ask(server: str, names: List[str]) -> Dict[str, List[str]]:
    host, port = dns01.nameserver(server)
    address = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_DGRAM)[0][4][0]
    answers: Dict[str, List[str]] = {}
    for name in names:
        response = dns.query.udp(dns.message.make_query(name, dns.rdatatype.TXT), address, port=port, timeout=2)
        answers[name] = [b"".join(rdata.strings).decode("ascii", "replace")
                         for rrset in response.answer for rdata in rrset if rrset.rdtype == dns.rdatatype.TXT]
    return answers


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            api_url=dict(type="str", default=dns01.DEFAULT_API_URL),
            api_token=dict(type="str", required=True, no_log=True),
            records=dict(type="list", elements="dict", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            nameservers=dict(type="list", elements="str", default=[]),
            timeout=dict(type="int", default=120),
        ),
        supports_check_mode=True,
    )
    if DNS_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("dnspython"), exception=DNS_IMPORT_ERROR)
    p = module.params
    records = [{"name": str(r.get("name", "")).lower(), "value": r.get("value")} for r in p["records"]]
    for record in records:
        problem = dns01.record_problem(record)
        if problem:
            module.fail_json(msg=problem)
    servers: List[str] = p["nameservers"]
    for server in servers:
        try:
            dns01.nameserver(server)
        except ValueError as exc:
            module.fail_json(msg=str(exc))
    api = Cloudflare(p["api_url"], p["api_token"])
    present = p["state"] == "present"
    created = deleted = 0
    waited = 0.0
    try:
        zones = api.zones()
        by_zone: Dict[str, List[Dict[str, str]]] = {}
        zone_of: Dict[str, Mapping[str, Any]] = {}
        for record in records:
            zone = dns01.zone_for(record["name"], zones)
            if zone is None:
                module.fail_json(msg="no Cloudflare zone the token can read holds %s (zones: %s)"
                                 % (record["name"], ", ".join(sorted(str(z.get("name")) for z in zones)) or "none"))
            by_zone.setdefault(str(zone["id"]), []).append(record)
            zone_of[str(zone["id"])] = zone
        for zone_id, wanted in sorted(by_zone.items()):
            existing = [r for name in sorted({w["name"] for w in wanted}) for r in api.txt(zone_id, name)]
            create, delete = dns01.txt_changes(wanted, existing, present)
            created += len(create)
            deleted += len(delete)
            if module.check_mode:
                continue
            for record in create:
                api.call("POST", "/zones/%s/dns_records" % zone_id,
                         body={"type": "TXT", "name": record["name"], "content": record["value"], "ttl": 60})
            for record_id in delete:
                api.call("DELETE", "/zones/%s/dns_records/%s" % (zone_id, record_id))
        if present and not module.check_mode:
            started = time.monotonic()
            pending = []
            while True:
                pending = []
                for zone_id, wanted in sorted(by_zone.items()):
                    names = sorted({w["name"] for w in wanted})
                    for server in servers or [str(s) for s in zone_of[zone_id].get("name_servers") or []]:
                        try:
                            lacking = dns01.missing(wanted, _ask(server, names))
                        except (OSError, dns.exception.DNSException) as exc:
                            lacking = ["%s (%s)" % (name, exc) for name in names]
                        pending.extend("%s at %s" % (m, server) for m in lacking)
                waited = round(time.monotonic() - started, 2)
                if not pending or waited > p["timeout"]:
                    break
                time.sleep(0.5)
            if pending:
                module.fail_json(msg="after %d s the nameservers still do not answer: %s"
                                 % (p["timeout"], "; ".join(pending[:10])), created=created, deleted=deleted)
    except (CloudflareError, ValueError) as exc:
        module.fail_json(msg=str(exc), created=created, deleted=deleted)
    module.exit_json(changed=bool(created or deleted), created=created, deleted=deleted, waited=waited)


if __name__ == "__main__":
    main()
