"""Headless Chromium (Debian package ``chromium``) driven over the DevTools protocol on a pipe.

``--remote-debugging-pipe`` makes Chromium read commands from fd 3 and write replies and events to fd 4, each a JSON
message ended by a NUL byte: no WebSocket client is needed. One page target, attached in flat mode, is enough for a
test that looks at what a person would: where a link or a form leads, what a stylesheet did, which cookies are set.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

from cryptography import x509
from cryptography.hazmat.primitives import serialization


def ensure_installed() -> str:
    exe = shutil.which("chromium")
    if exe:
        return exe
    if os.geteuid() != 0:
        raise RuntimeError("chromium is missing: apt-get install chromium (Debian 12)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    return shutil.which("chromium") or "chromium"


def spki_hash(cert_pem: bytes) -> str:
    """What ``--ignore-certificate-errors-spki-list`` pins: base64 of the SHA-256 of the public key info."""
    key = x509.load_pem_x509_certificate(cert_pem).public_key()
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def _high(fd: int) -> int:
    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 100)
    os.close(fd)
    return high


class Chromium:
    """``with Chromium(tmp, resolve={"shop.example": ip}, pinned=[cert_pem]) as page: page.goto(url)``."""

    def __init__(self, directory: Path, resolve: Optional[Mapping[str, str]] = None,
                 pinned: Optional[List[bytes]] = None, timeout: float = 30.0) -> None:
        self.dir = Path(directory)
        self.resolve = dict(resolve or {})
        self.pinned = list(pinned or [])
        self.timeout = timeout
        self.next_id = 0
        self.buffer = b""
        self.events: List[Dict[str, Any]] = []
        self.session: Optional[str] = None

    def __enter__(self) -> Chromium:
        exe = ensure_installed()
        self.dir.mkdir(parents=True, exist_ok=True)
        to_chrome_r, to_chrome_w = (_high(fd) for fd in os.pipe())
        from_chrome_r, from_chrome_w = (_high(fd) for fd in os.pipe())

        def wire() -> None:  # in the child: its fd 3 reads our commands, its fd 4 carries its answers
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                "--no-proxy-server", "--remote-debugging-pipe", "--user-data-dir=%s" % (self.dir / "profile")]
        if self.resolve:
            args.append("--host-resolver-rules=" + ", ".join("MAP %s %s" % kv for kv in sorted(self.resolve.items())))
        if self.pinned:
            args.append("--ignore-certificate-errors-spki-list=" + ",".join(spki_hash(p) for p in self.pinned))
        log = open(self.dir / "chromium.log", "ab")
        # close_fds=False: the pipes are close-on-exec, only the dup2'ed 3 and 4 reach Chromium
        self.proc = subprocess.Popen(args + ["about:blank"], preexec_fn=wire,  # noqa: PLW1509 - only dup2
                                     close_fds=False, stdout=log, stderr=subprocess.STDOUT)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.write, self.read = to_chrome_w, from_chrome_r
        target = self.call("Target.createTarget", {"url": "about:blank"}, browser=True)["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 browser=True)["sessionId"]
        self.call("Page.enable")
        self.call("Network.enable")
        return self

    # -- protocol -------------------------------------------------------------------------------------------------
    def _message(self, deadline: float) -> Dict[str, Any]:
        while b"\0" not in self.buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not answer in %.0f s" % self.timeout)
            chunk = os.read(self.read, 65536)
            if not chunk:
                raise RuntimeError("chromium exited: %s" % (self.dir / "chromium.log").read_text()[-2000:])
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, params: Optional[Dict[str, Any]] = None, browser: bool = False) -> Dict[str, Any]:
        self.next_id += 1
        message: Dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if not browser and self.session:
            message["sessionId"] = self.session
        os.write(self.write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError("%s: %s" % (method, reply["error"]))
                return reply.get("result") or {}
            self.events.append(reply)

    def wait_for(self, method: str) -> Dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == method:
                    return self.events.pop(i)
            self.events.append(self._message(deadline))

    # -- what a test does -----------------------------------------------------------------------------------------
    def goto(self, url: str) -> None:
        self.events.clear()
        self.call("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired")

    def js(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError("%s: %s" % (expression, result["exceptionDetails"]))
        return result["result"].get("value")

    def submit(self, form_selector: str, fields: Mapping[str, str]) -> None:
        """Fill the form's fields and submit it as a person pressing its button would; wait for the next page."""
        self.events.clear()
        self.js("(() => { const f = document.querySelector(%s); %s f.requestSubmit(); })()"
                % (json.dumps(form_selector), "".join("f.elements[%s].value = %s;" % (json.dumps(k), json.dumps(v))
                                                      for k, v in fields.items())))
        self.wait_for("Page.loadEventFired")

    def cookies(self) -> List[Dict[str, Any]]:
        return self.call("Storage.getCookies", browser=True)["cookies"]

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        for fd in (self.write, self.read):
            try:
                os.close(fd)
            except OSError:
                pass
