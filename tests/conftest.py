"""Top-level test fixtures: the repository, the seed config, a recorded DigitalOcean-shaped API."""

from __future__ import annotations

import json
import os
import shutil
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
VENV_BIN = REPO / ".venv" / "bin"


@pytest.fixture
def seed_config(tmp_path) -> Path:
    config = tmp_path / "config"
    shutil.copytree(FIXTURES / "seed", config)
    (config / "infrastructure.json").unlink()
    return config


class RecordedAPI(ThreadingHTTPServer):
    """Serves a droplet list the way the DigitalOcean API does (pagination with absolute next links)."""

    daemon_threads = True

    def __init__(self, droplets, token="test-token"):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.droplets = droplets
        self.token = token
        self.requests = []
        self.max_per_page = 200

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d/v2" % self.server_address[1]


class _Handler(BaseHTTPRequestHandler):
    server: RecordedAPI

    def log_message(self, *args):  # keep test output clean
        pass

    def _send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 - http.server API
        parts = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        self.server.requests.append(self.path)
        if self.headers.get("Authorization") != "Bearer %s" % self.server.token:
            return self._send(401, {"id": "unauthorized", "message": "Unable to authenticate you."})
        if parts.path != "/v2/droplets":
            return self._send(404, {"id": "not_found", "message": "The resource you requested could not be found."})
        items = [d for d in self.server.droplets if "tag_name" not in query or query["tag_name"] in d["tags"]]
        per_page = min(int(query.get("per_page", 20)), self.server.max_per_page)
        page = int(query.get("page", 1))
        chunk = items[(page - 1) * per_page: page * per_page]
        links = {}
        if page * per_page < len(items):
            nxt = dict(query, page=str(page + 1), per_page=str(per_page))
            links = {"pages": {"next": "%s/droplets?%s" % (self.server.url, urllib.parse.urlencode(nxt))}}
        return self._send(200, {"droplets": chunk, "links": links, "meta": {"total": len(items)}})


def droplet(did, name, ip, tags=("pcloud",), size="s-2vcpu-4gb"):
    return {"id": did, "name": name, "size_slug": size, "status": "active", "tags": list(tags),
            "networks": {"v4": [{"ip_address": ip, "type": "public", "netmask": "255.255.0.0",
                                 "gateway": "10.9.0.1"}], "v6": []}}


@pytest.fixture
def recorded_api():
    servers = []

    def start(droplets, token="test-token"):
        server = RecordedAPI(droplets, token)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def ansible_env(**extra) -> dict:
    env = dict(os.environ)
    env.update(ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), NO_PROXY="127.0.0.1,localhost",
               no_proxy="127.0.0.1,localhost", ANSIBLE_HOME=str(REPO / ".ansible"))
    for var in ("DO_API_TOKEN", "DIGITALOCEAN_TOKEN", "DO_OAUTH_TOKEN", "PCLOUD_API_URL", "PCLOUD_API_TOKEN"):
        env.pop(var, None)
    env.update(extra)
    return env
