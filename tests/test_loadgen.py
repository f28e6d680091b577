"""The load generator counts what it must: 2xx, non-2xx, connection errors, and the keep-alive retries
RFC 9112 allows - against a real HTTP server on loopback."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pcloud.loadgen import Load


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    calls = 0

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):  # noqa: N802
        type(self).calls += 1
        if self.path == "/close-every-3rd" and type(self).calls % 3 == 0:
            self.close_connection = True  # close a kept-alive connection without an answer
            return
        status = 503 if self.path == "/fail" else 200
        body = b'{"version": "1.2.3"}'
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def test_all_answered(server):
    result = Load([server + "/ok"], workers=2, classify=lambda body: json.loads(body)["version"]).run_for(0.5)
    assert result.requests > 10 and result.ok == result.requests and result.failed == 0
    assert result.seen == {"1.2.3": result.ok}
    assert result.rps > 0 and result.to_json()["failed"] == 0


def test_non_2xx_are_failures(server):
    result = Load([server + "/ok", server + "/fail"], workers=2).run_for(0.5)
    assert result.non_2xx > 0 and result.ok > 0 and result.failed == result.non_2xx
    assert result.statuses[503] == result.non_2xx and result.samples[0].startswith("HTTP 503")


def test_a_closed_keepalive_connection_is_retried_once(server):
    result = Load([server + "/close-every-3rd"], workers=1).run_for(0.5)
    assert result.retried > 0 and result.errors == 0 and result.failed == 0


def test_refused_connections_are_errors():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = Load(["http://127.0.0.1:%d/" % port], workers=1, timeout=1).run_for(0.3)
    assert result.errors > 0 and result.ok == 0 and "ConnectionRefusedError" in result.samples[0]
