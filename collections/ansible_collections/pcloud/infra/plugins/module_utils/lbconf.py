# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""The load balancer's dynamic part, without I/O: one nginx include with an upstream per project-env and web
service (members on a drained address marked ``down``) and the JSON that ``GET /lb-status`` answers.

``pcloud.infra.nginx_lb`` writes the static part (``conf.d/pcloud.conf``: routing, ``/health``, ``/lb-status``,
which returns the include's ``$pcloud_lb_status``) and this include; master's health agent rewrites only the
include when it drains or puts back a droplet. Both render it here, from the members and the drained addresses
that the include's first line records, so a drain is always a re-render, never an edit of nginx text, and
``/lb-status`` always shows what nginx runs.
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, Iterable, List, Mapping, Sequence, Tuple

# Only the standard library: the agent runs this file inside droplets, beside consensus.py.

# where the include lives in the nginx container (conf.d/*.conf is loaded by nginx.conf), and its record line
INCLUDE_PATH = "/etc/nginx/conf.d/pcloud-upstreams.conf"
RECORD_PREFIX = "# pcloud-lb "
STATUS_VARIABLE = "$pcloud_lb_status"
# the /lb-status key that lists the members marked down; upstream names always contain '-', so it never collides
DRAINED_KEY = "drained"
MEMBER_PARAMETERS = "max_fails=1 fail_timeout=5s"
KEEPALIVE = 16
_UPSTREAM_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,200}\Z")
_MEMBER_RE = re.compile(r"^([0-9]{1,3}(?:\.[0-9]{1,3}){3}):([0-9]{1,5})\Z")


def _checked(members: Mapping[str, Sequence[str]], drained: Iterable[str]) -> Tuple[Dict[str, List[str]], List[str]]:
    """Members and drained addresses, sorted, or ValueError naming what cannot go into nginx's configuration."""
    out: Dict[str, List[str]] = {}
    for name in sorted(members):
        if not isinstance(name, str) or not _UPSTREAM_RE.match(name) or "-" not in name:
            raise ValueError("upstream name %r is not a '{project-env}-{service}' name" % (name,))
        items = [str(m) for m in members[name]]
        for member in items:
            if not _MEMBER_RE.match(member):
                raise ValueError("member %r of upstream %r is not an IPv4 'address:port'" % (member, name))
        out[name] = items
    ips = sorted({str(ip) for ip in drained})
    for ip in ips:
        if not _MEMBER_RE.match(ip + ":1"):
            raise ValueError("drained address %r is not an IPv4 address" % ip)
    return out, ips


def status(members: Mapping[str, Sequence[str]], drained: Iterable[str] = ()) -> Dict[str, Any]:
    """What ``/lb-status`` answers: ``{upstream: [members nginx routes to], "drained": {upstream: [members down]}}``."""
    checked, ips = _checked(members, drained)
    out: Dict[str, Any] = {}
    down: Dict[str, List[str]] = {}
    for name, items in checked.items():
        out[name] = [m for m in items if m.rsplit(":", 1)[0] not in ips]
        off = [m for m in items if m.rsplit(":", 1)[0] in ips]
        if off:
            down[name] = off
    out[DRAINED_KEY] = down
    return out


def render(members: Mapping[str, Sequence[str]], drained: Iterable[str] = ()) -> str:
    """The include: its record line (members and drained addresses, JSON), one upstream per entry of ``members``
    (``{upstream: ["ip:port", ...]}``) whose members on a ``drained`` address are ``down``, and the map that holds
    the ``/lb-status`` JSON."""
    checked, ips = _checked(members, drained)
    lines = [RECORD_PREFIX + json.dumps({"members": checked, "drained": ips}, sort_keys=True, separators=(",", ":")),
             "# written by pcloud.infra.nginx_lb and by master's health agent (drains); do not edit"]
    for name, items in checked.items():
        lines.append("upstream %s {" % name)
        for member in items:
            lines.append("    server %s %s;" % (member, "down" if member.rsplit(":", 1)[0] in ips else MEMBER_PARAMETERS))
        lines.extend(["    keepalive %d;" % KEEPALIVE, "}"])
    # the names and addresses checked above hold no quote, '$' or backslash: the JSON is safe in nginx's quotes
    lines.extend(['map "" %s {' % STATUS_VARIABLE,
                  "    default '%s';" % json.dumps(status(checked, ips), sort_keys=True, separators=(",", ":")), "}"])
    return "\n".join(lines) + "\n"


def parse(text: str) -> Tuple[Dict[str, List[str]], List[str]]:
    """(members, drained addresses) from an include ``render`` wrote; ValueError for anything else."""
    first = text.split("\n", 1)[0]
    if not first.startswith(RECORD_PREFIX):
        raise ValueError("not a pcloud load balancer include (no '%s' line)" % RECORD_PREFIX.strip())
    try:
        record = json.loads(first[len(RECORD_PREFIX):])
        members, drained = record["members"], record["drained"]
    except (ValueError, KeyError, TypeError):
        raise ValueError("the include's record line is not pcloud's JSON") from None
    if not isinstance(members, dict) or not isinstance(drained, list) or \
            not all(isinstance(v, list) for v in members.values()):
        raise ValueError("the include's record line is not pcloud's JSON")
    return _checked(members, drained)


def redrain(text: str, ip: str, drained: bool = True) -> Tuple[str, bool]:
    """The include with ``ip`` drained (or put back), and whether that changed anything."""
    members, ips = parse(text)
    wanted = set(ips) | {ip} if drained else set(ips) - {ip}
    return render(members, wanted), wanted != set(ips)
