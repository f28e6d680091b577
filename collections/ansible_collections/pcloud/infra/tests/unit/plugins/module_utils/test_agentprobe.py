# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils import agentprobe

DROPLETS = ["pcloud-master", "shop-web1", "shop-web2"]
ANSWERING = {"pcloud-master": {"droplet": "pcloud-master"}, "shop-web1": None,
             "shop-web2": {"droplet": "shop-web1"}}  # web2's address answers as someone else: not its agent


@pytest.mark.parametrize("changes, force, replace, changed", [
    ({}, False, [], False),
    ({"create": [], "destroy": [], "resize": [{"name": "shop-web1"}], "keep": [{"name": "x"}]}, False, [], False),
    ({"create": [{"name": "shop-web3"}]}, False, [], True),
    ({"destroy": [{"name": "shop-web2"}]}, False, [], True),
    ({}, True, [], True),
    ({}, False, ["shop-web1"], True),
])
def test_ring_changes(changes, force, replace, changed):
    assert agentprobe.ring_changes(changes, force, replace) is changed


@pytest.mark.parametrize("mode, ring_changed, expected", [
    ("auto", False, ["shop-web1", "shop-web2"]),  # only the droplets without their own agent answering
    ("auto", True, DROPLETS),  # every agent learns the new ring
    ("always", False, DROPLETS),
    ("never", True, []),
])
def test_agents_to_configure(mode, ring_changed, expected):
    assert agentprobe.agents_to_configure(reversed(DROPLETS), mode, ring_changed, ANSWERING) == expected


def test_agents_to_configure_refuses_an_unknown_mode():
    with pytest.raises(ValueError, match="agents must be one of auto, always, never, not 'sometimes'"):
        agentprobe.agents_to_configure(DROPLETS, "sometimes", False, {})


class Agent(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_GET(self):  # noqa: N802
        body = json.dumps({"droplet": "pcloud-master"} if self.path == "/health" else {}).encode()
        self.send_response(200 if self.path == "/health" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_agent_reports_over_http(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.3", 0), Agent)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(agentprobe, "AGENT_PORT", server.server_address[1])
    try:
        reports = agentprobe.agent_reports({"pcloud-master": "127.0.0.3", "shop-web1": "127.0.0.4"}, timeout=2)
    finally:
        server.shutdown()
        server.server_close()
    assert reports == {"pcloud-master": {"droplet": "pcloud-master"}, "shop-web1": None}
    assert agentprobe.agent_reports({}) == {}
