"""The few Docker Engine API calls the health agent makes, over the engine's unix socket, standard library only.

The agent lists its droplet's containers, reads their restart counts, starts a stopped worker, runs a command in a
container (a worker queue's depth in Redis, ``nginx -t`` and reload on master) and reads and writes one file in the
load balancer's container. The docker SDK would do the same at about 8 MB more memory per droplet (it pulls in
requests and urllib3); this keeps the agent within its budget (30 MB RSS).

Inside a droplet it talks to the droplet's own engine (the agent's container mounts the droplet's
``/var/run/docker.sock``) and travels as ``docker_api.py`` in the agent's zip application, ``/opt/pcloud/agent.pyz``.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import socket
import struct
import time
import urllib.parse
from typing import Any, Dict, List, Optional, Sequence, Tuple

DEFAULT_SOCKET = "/var/run/docker.sock"


class DockerError(Exception):
    """The engine refused a call (``status``) or could not be reached (``status`` None)."""

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.status = status


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def socket_from_env(environ: Optional[Dict[str, str]] = None) -> str:
    """The engine's socket: ``DOCKER_HOST`` when it is a ``unix://`` address, else the default."""
    host = (environ if environ is not None else os.environ).get("DOCKER_HOST", "")
    return host[len("unix://"):] if host.startswith("unix://") else DEFAULT_SOCKET


class Engine:
    """A Docker engine on a unix socket. Every call opens its own connection: the agent's threads share one."""

    def __init__(self, socket_path: Optional[str] = None, timeout: float = 10.0) -> None:
        self.socket_path = socket_path or socket_from_env()
        self.timeout = timeout

    def _call(self, method: str, path: str, query: Optional[Dict[str, Any]] = None, body: Any = None,
              data: Optional[bytes] = None, content_type: str = "application/json") -> bytes:
        url = path + ("?" + urllib.parse.urlencode(query) if query else "")
        headers = {"Host": "docker"}
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = content_type
        conn = _UnixConnection(self.socket_path, self.timeout)
        try:
            conn.request(method, url, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            raise DockerError("Docker engine at %s: %s" % (self.socket_path, exc)) from None
        finally:
            conn.close()
        if resp.status >= 400:
            try:
                message = json.loads(raw).get("message") or raw.decode(errors="replace")
            except ValueError:
                message = raw.decode(errors="replace")
            raise DockerError("%s %s: %s" % (method, path, message.strip()[:300]), status=resp.status)
        return raw

    def _json(self, method: str, path: str, **kw: Any) -> Any:
        raw = self._call(method, path, **kw)
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            raise DockerError("%s %s: the engine's answer is not JSON" % (method, path)) from None

    @staticmethod
    def _ref(name: str) -> str:
        return urllib.parse.quote(name, safe="")

    def containers(self) -> List[Dict[str, Any]]:
        """Every container, running or not: ``[{"id", "name", "state"}]`` (one call, no inspect)."""
        out = []
        for item in self._json("GET", "/containers/json", query={"all": "1"}) or ():
            names = item.get("Names") or ["/"]
            out.append({"id": item.get("Id"), "name": names[0].lstrip("/"), "state": item.get("State")})
        return out

    def restart_count(self, ref: str) -> int:
        return int((self._json("GET", "/containers/%s/json" % self._ref(ref)) or {}).get("RestartCount") or 0)

    def start(self, ref: str) -> None:
        self._call("POST", "/containers/%s/start" % self._ref(ref))

    def exec(self, ref: str, argv: Sequence[str], timeout: Optional[float] = None) -> Tuple[int, bytes]:
        """Run ``argv`` in the container; (exit code, stdout and stderr)."""
        created = self._json("POST", "/containers/%s/exec" % self._ref(ref),
                             body={"Cmd": list(argv), "AttachStdout": True, "AttachStderr": True, "Tty": False})
        if not isinstance(created, dict) or not isinstance(created.get("Id"), str):
            raise DockerError("exec in %s: the engine returned no exec id" % ref)
        exec_id = self._ref(created["Id"])
        started = Engine(self.socket_path, timeout or self.timeout)
        raw = started._call("POST", "/exec/%s/start" % exec_id, body={"Detach": False, "Tty": False})
        output = _demultiplex(raw)
        for _ in range(50):  # the stream ends when the process does; its exit code follows a moment later
            info = self._json("GET", "/exec/%s/json" % exec_id) or {}
            if not info.get("Running"):
                return int(info.get("ExitCode") if info.get("ExitCode") is not None else -1), output
            time.sleep(0.02)
        return -1, output

    def read_file(self, ref: str, path: str) -> bytes:
        """One regular file from the container (through its archive endpoint: no process started in it)."""
        import tarfile  # only master's agent drains: the others never load it

        raw = self._call("GET", "/containers/%s/archive" % self._ref(ref), query={"path": path})
        try:
            with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
                member = tar.next()
                handle = tar.extractfile(member) if member is not None and member.isfile() else None
                if handle is None:
                    raise DockerError("%s in %s is not a regular file" % (path, ref))
                return handle.read()
        except tarfile.TarError as exc:
            raise DockerError("%s in %s: %s" % (path, ref, exc)) from None

    def write_file(self, ref: str, path: str, data: bytes, mode: int = 0o644) -> None:
        """Replace one file in the container (owner root)."""
        import tarfile

        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo(os.path.basename(path))
            info.size, info.mode, info.mtime = len(data), mode, int(time.time())
            tar.addfile(info, io.BytesIO(data))
        self._call("PUT", "/containers/%s/archive" % self._ref(ref), query={"path": os.path.dirname(path)},
                   data=buf.getvalue(), content_type="application/x-tar")


def _demultiplex(raw: bytes) -> bytes:
    """stdout and stderr of a non-TTY exec, in order, without the engine's 8-byte frame headers."""
    out, pos = [], 0
    while pos + 8 <= len(raw):
        stream, size = raw[pos], struct.unpack(">I", raw[pos + 4:pos + 8])[0]
        if stream not in (0, 1, 2):  # not a multiplexed stream after all
            return raw
        out.append(raw[pos + 8:pos + 8 + size])
        pos += 8 + size
    return b"".join(out) if pos == len(raw) else raw
