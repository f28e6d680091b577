"""The agent's Engine API client against an engine that speaks HTTP on a unix socket (recorded shapes of Docker's
answers): listing, restart counts, start, exec with its multiplexed output and exit code, reading and writing a file
through the archive endpoint, and errors mapped to DockerError."""

from __future__ import annotations

import io
import json
import socketserver
import struct
import tarfile
import threading
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

import pytest

from pcloud.agent import docker_api


def frame(stream: int, data: bytes) -> bytes:
    return struct.pack(">BxxxI", stream, len(data)) + data


class Engine(BaseHTTPRequestHandler):
    files: dict = {}
    calls: list = []

    def log_message(self, fmt, *args):
        pass

    def address_string(self):  # a unix socket has no client address
        return "unix"

    def answer(self, code, body=b"", content_type="application/json"):
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        type(self).calls.append(("GET", url.path, url.query))
        if url.path == "/containers/json":
            return self.answer(200, [{"Id": "a1", "Names": ["/pc-web"], "State": "running"},
                                     {"Id": "b2", "Names": ["/pc-jobs"], "State": "exited"}])
        if url.path == "/containers/b2/json":
            return self.answer(200, {"Id": "b2", "RestartCount": 3})
        if url.path == "/exec/e1/json":
            return self.answer(200, {"Running": False, "ExitCode": 3})
        if url.path == "/containers/pc-lb/archive":
            path = query["path"][0]
            if path not in type(self).files:
                return self.answer(404, {"message": "Could not find the file %s in container pc-lb" % path})
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w") as tar:
                data = type(self).files[path]
                info = tarfile.TarInfo(path.rsplit("/", 1)[1])
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            return self.answer(200, buf.getvalue(), "application/x-tar")
        return self.answer(404, {"message": "page not found"})

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).calls.append(("POST", self.path, json.loads(body) if body else None))
        if self.path == "/containers/pc-jobs/start":
            return self.answer(204)
        if self.path == "/containers/nope/start":
            return self.answer(404, {"message": "No such container: nope"})
        if self.path == "/containers/pc-redis/exec":
            return self.answer(201, {"Id": "e1"})
        if self.path == "/exec/e1/start":  # the raw stream, then the engine closes the connection
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.docker.raw-stream")
            self.end_headers()
            self.wfile.write(frame(1, b"hello ") + frame(2, b"world\n"))
            self.close_connection = True
            return None
        return self.answer(404, {"message": "page not found"})

    def do_PUT(self):  # noqa: N802
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).calls.append(("PUT", url.path, self.headers["Content-Type"]))
        with tarfile.open(fileobj=io.BytesIO(body)) as tar:
            for member in tar.getmembers():
                type(self).files[parse_qs(url.query)["path"][0] + "/" + member.name] = tar.extractfile(member).read()
        return self.answer(200)


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@pytest.fixture
def engine(tmp_path):
    Engine.files, Engine.calls = {"/etc/nginx/conf.d/x.conf": b"# old\n"}, []
    path = str(tmp_path / "docker.sock")
    server = UnixServer(path, Engine)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield docker_api.Engine(path, timeout=5)
    server.shutdown()
    server.server_close()


def test_list_inspect_start(engine):
    assert engine.containers() == [{"id": "a1", "name": "pc-web", "state": "running"},
                                   {"id": "b2", "name": "pc-jobs", "state": "exited"}]
    assert Engine.calls[-1] == ("GET", "/containers/json", "all=1")
    assert engine.restart_count("b2") == 3
    engine.start("pc-jobs")
    with pytest.raises(docker_api.DockerError, match="No such container: nope") as err:
        engine.start("nope")
    assert err.value.status == 404


def test_exec_returns_the_exit_code_and_both_streams(engine):
    assert engine.exec("pc-redis", ["sh", "-c", "echo"]) == (3, b"hello world\n")
    assert ("POST", "/containers/pc-redis/exec", {"Cmd": ["sh", "-c", "echo"], "AttachStdout": True,
                                                  "AttachStderr": True, "Tty": False}) in Engine.calls


def test_files_through_the_archive_endpoint(engine):
    assert engine.read_file("pc-lb", "/etc/nginx/conf.d/x.conf") == b"# old\n"
    engine.write_file("pc-lb", "/etc/nginx/conf.d/x.conf", b"# new\n")
    assert Engine.calls[-1] == ("PUT", "/containers/pc-lb/archive", "application/x-tar")
    assert engine.read_file("pc-lb", "/etc/nginx/conf.d/x.conf") == b"# new\n"
    with pytest.raises(docker_api.DockerError, match="Could not find the file /nope"):
        engine.read_file("pc-lb", "/nope")


def test_an_engine_that_does_not_answer(tmp_path):
    with pytest.raises(docker_api.DockerError, match="Docker engine at .*missing.sock"):
        docker_api.Engine(str(tmp_path / "missing.sock")).containers()


@pytest.mark.parametrize("raw, out", [
    (frame(1, b"a") + frame(2, b"b"), b"ab"),
    (b"", b""),
    (b"plain text, not multiplexed", b"plain text, not multiplexed"),
    (frame(1, b"abc")[:-1], frame(1, b"abc")[:-1]),  # truncated: returned as it came
])
def test_demultiplex(raw, out):
    assert docker_api._demultiplex(raw) == out


@pytest.mark.parametrize("environ, path", [({}, "/var/run/docker.sock"), ({"DOCKER_HOST": "unix:///run/d.sock"}, "/run/d.sock"),
                                           ({"DOCKER_HOST": "tcp://10.0.0.1:2375"}, "/var/run/docker.sock")])
def test_socket_from_env(environ, path):
    assert docker_api.socket_from_env(environ) == path
