"""A Cloudflare API (v4) subset for tests, whose zones are served by pebble-challtestsrv's real DNS server.

The DigitalOcean fake's counterpart for DNS: the product talks to it exactly as to api.cloudflare.com (bearer
token, /zones, /zones/{id}/dns_records), and each TXT record it holds is published through challtestsrv's
management API, so pebble validates DNS-01 against real DNS answers. Only what pcloud_dns_txt uses is served.
"""

from __future__ import annotations

import json
import ssl
import threading
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple


class FakeCloudflare:
    """``with FakeCloudflare(token, ["example.com"], cert, key) as cf:`` serves https://127.0.0.1:{cf.port}."""

    def __init__(self, token: str, zones: List[str], certfile: str, keyfile: str,
                 challtestsrv: str = "http://127.0.0.1:18055") -> None:
        self.token = token
        self.zones = {uuid.uuid4().hex: name for name in zones}
        self.records: Dict[str, Dict[str, Any]] = {}  # id -> {"zone", "name", "content", "type", "ttl"}
        self.calls: List[Tuple[str, str]] = []
        self.challtestsrv = challtestsrv
        self.lock = threading.Lock()
        self.certfile, self.keyfile = certfile, keyfile
        self.server: Optional[ThreadingHTTPServer] = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return "https://127.0.0.1:%d/client/v4" % self.server.server_address[1]

    def _publish(self, name: str) -> None:
        """challtestsrv answers exactly the TXT values this API holds for ``name``."""
        host = name + "."
        self._challtestsrv("/clear-txt", {"host": host})
        for record in self.records.values():
            if record["name"] == name:
                self._challtestsrv("/set-txt", {"host": host, "value": record["content"]})

    def _challtestsrv(self, path: str, body: Dict[str, str]) -> None:
        request = urllib.request.Request(self.challtestsrv + path, data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()

    def handle(self, method: str, path: str, query: Dict[str, str], body: Any) -> Tuple[int, Dict[str, Any]]:
        parts = [p for p in path.split("/") if p]
        if parts[:2] != ["client", "v4"]:
            return 404, {"success": False, "errors": [{"code": 7000, "message": "No route for that URI"}]}
        parts = parts[2:]
        if parts == ["zones"] and method == "GET":
            result = [{"id": zid, "name": name, "status": "active",
                       "name_servers": ["ns1.pcloud-test.invalid", "ns2.pcloud-test.invalid"]}
                      for zid, name in sorted(self.zones.items(), key=lambda z: z[1])]
            return 200, {"success": True, "errors": [], "result": result,
                         "result_info": {"page": 1, "total_pages": 1, "count": len(result)}}
        if len(parts) >= 3 and parts[0] == "zones" and parts[1] in self.zones and parts[2] == "dns_records":
            zone = parts[1]
            with self.lock:
                if len(parts) == 3 and method == "GET":
                    found = [dict(r, id=rid) for rid, r in self.records.items() if r["zone"] == zone
                             and r["type"] == query.get("type", r["type"]) and r["name"] == query.get("name", r["name"])]
                    return 200, {"success": True, "errors": [], "result": found,
                                 "result_info": {"page": 1, "total_pages": 1, "count": len(found)}}
                if len(parts) == 3 and method == "POST":
                    name = str(body.get("name", "")).lower()
                    zname = self.zones[zone]
                    if body.get("type") != "TXT" or not (name == zname or name.endswith("." + zname)):
                        return 400, {"success": False, "errors": [{"code": 9000, "message": "bad record"}]}
                    rid = uuid.uuid4().hex
                    self.records[rid] = {"zone": zone, "name": name, "type": "TXT", "content": body["content"],
                                         "ttl": body.get("ttl", 1)}
                    self._publish(name)
                    return 200, {"success": True, "errors": [], "result": dict(self.records[rid], id=rid)}
                if len(parts) == 4 and method == "DELETE" and parts[3] in self.records:
                    record = self.records.pop(parts[3])
                    self._publish(record["name"])
                    return 200, {"success": True, "errors": [], "result": {"id": parts[3]}}
        return 404, {"success": False, "errors": [{"code": 7003, "message": "Could not route to %s" % path}]}

    def __enter__(self) -> FakeCloudflare:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                fake.calls.append((self.command, url.path))
                if self.headers.get("Authorization") != "Bearer " + fake.token:
                    status, data = 403, {"success": False, "errors": [{"code": 10000, "message": "Authentication error"}]}
                else:
                    length = int(self.headers.get("Content-Length") or 0)
                    body = json.loads(self.rfile.read(length) or b"{}") if length else {}
                    query = dict(urllib.parse.parse_qsl(url.query))
                    status, data = fake.handle(self.command, url.path, query, body)
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_DELETE = _serve

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certfile, self.keyfile)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
