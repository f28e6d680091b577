# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""Who may call the health agents' control endpoints: requests signed with the fleet's key.

Every request to an agent's ``/views``, ``/incidents``, ``/drain`` and ``/undrain`` (and every recovery request to
the local cloud's hook) carries three headers::

    X-Pcloud-Timestamp: 1764582000.25         # seconds since the epoch, when it was signed
    X-Pcloud-Nonce:     9f2c...               # 16 random bytes, hex
    X-Pcloud-Signature: v1=<hex>              # HMAC-SHA256 under the fleet key of the canonical request

The canonical request is ``v1``, the method, the path (with its query), the timestamp, the nonce and the hex
SHA-256 of the body, one per line. The receiver recomputes it and compares with ``hmac.compare_digest``; it refuses
a timestamp more than ``max_skew`` seconds away from its clock and a signature it has already accepted (a replay).
``GET /health`` stays open: it is read-only and what the CLI and the firewall's admin IP read.

The fleet key is 32 random bytes, kept as hex in ``secrets/.agent-key`` of the control node's config dir (mode
0600, created when missing) and delivered to each agent as a file.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import threading
import time
from typing import Callable, Dict, Mapping, Optional

# Only the standard library: the agent runs this file inside droplets, beside health.py.

SCHEME = "v1"
HEADER_TIMESTAMP = "X-Pcloud-Timestamp"
HEADER_NONCE = "X-Pcloud-Nonce"
HEADER_SIGNATURE = "X-Pcloud-Signature"
MAX_SKEW = 30.0
KEY_BYTES = 32
KEY_FILE = os.path.join("secrets", ".agent-key")
# the agent endpoints that need a signature; /health is open and read-only
PROTECTED_PATHS = frozenset(("/views", "/incidents", "/drain", "/undrain"))


class AgentAuthError(Exception):
    """A request that does not prove it comes from the fleet; ``reason`` is safe to show (never a key)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def canonical(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """The bytes that are signed: one field per line, the body as its SHA-256."""
    return "\n".join((SCHEME, method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest())).encode()


def signature(key: bytes, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    return hmac.new(key, canonical(method, path, timestamp, nonce, body), hashlib.sha256).hexdigest()


def sign(key: bytes, method: str, path: str, body: bytes = b"", now: Optional[float] = None,
         nonce: Optional[str] = None) -> Dict[str, str]:
    """The headers that authenticate ``method path`` with ``body`` under ``key``."""
    if not key:
        raise AgentAuthError("no fleet key to sign with")
    timestamp = "%.3f" % (time.time() if now is None else now)
    nonce = os.urandom(16).hex() if nonce is None else nonce
    return {HEADER_TIMESTAMP: timestamp, HEADER_NONCE: nonce,
            HEADER_SIGNATURE: "%s=%s" % (SCHEME, signature(key, method, path, timestamp, nonce, body))}


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:  # a plain dict from a test or a client that changed the case
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    return (value or "").strip()


class Verifier:
    """Checks signed requests under one key; remembers the signatures it accepted while they are fresh, so a
    captured request cannot be sent again. Thread-safe."""

    def __init__(self, key: Optional[bytes], max_skew: float = MAX_SKEW,
                 clock: Callable[[], float] = time.time) -> None:
        self.key = key or b""
        self.max_skew = float(max_skew)
        self.clock = clock
        self._seen: Dict[str, float] = {}
        self._lock = threading.Lock()

    def verify(self, method: str, path: str, headers: Mapping[str, str], body: bytes = b"") -> None:
        """Return when the request is signed with the key, fresh and new; raise ``AgentAuthError`` otherwise."""
        if not self.key:
            raise AgentAuthError("this server has no fleet key: signed endpoints are closed")
        timestamp, nonce = _header(headers, HEADER_TIMESTAMP), _header(headers, HEADER_NONCE)
        given = _header(headers, HEADER_SIGNATURE)
        if not (timestamp and nonce and given):
            raise AgentAuthError("unsigned request: %s, %s and %s are required"
                                 % (HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE))
        try:
            stamp = float(timestamp)
        except ValueError:
            stamp = math.nan
        if not math.isfinite(stamp):
            raise AgentAuthError("%s is not a number of seconds" % HEADER_TIMESTAMP)
        now = self.clock()
        if abs(now - stamp) > self.max_skew:
            raise AgentAuthError("stale or future timestamp: %.0f s from this server's clock (at most %.0f s)"
                                 % (now - stamp, self.max_skew))
        expected = "%s=%s" % (SCHEME, signature(self.key, method, path, timestamp, nonce, body))
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise AgentAuthError("bad signature (a different fleet key, or the request was altered)")
        with self._lock:
            for old in [s for s, at in self._seen.items() if now - at > 2 * self.max_skew]:
                del self._seen[old]
            if expected in self._seen:
                raise AgentAuthError("replayed request: this signature was accepted before")
            self._seen[expected] = now


def parse_key(text: str) -> bytes:
    """The key from its file's text (hex); ValueError when it is not a key."""
    key = bytes.fromhex(text.strip())
    if len(key) < KEY_BYTES:
        raise ValueError("the fleet key must be at least %d bytes" % KEY_BYTES)
    return key


def read_key(path: Optional[str]) -> Optional[bytes]:
    """The key in ``path``; None when there is no such file or it holds no key."""
    if not path:
        return None
    try:
        with open(path, encoding="ascii") as handle:
            return parse_key(handle.read())
    except (OSError, ValueError):
        return None


def key_path(config_dir: str) -> str:
    return os.path.join(config_dir, KEY_FILE)


def ensure_key(config_dir: str) -> str:
    """The fleet key of ``config_dir`` as hex, created (mode 0600) when missing. Concurrent callers agree: the key
    is written to a private temporary file first and linked into place, so nobody reads a half-written key."""
    path = key_path(config_dir)
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        tmp = "%s.%d.%s" % (path, os.getpid(), os.urandom(4).hex())
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(os.urandom(KEY_BYTES).hex() + "\n")
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another process won: use its key
        finally:
            os.unlink(tmp)
    with open(path, encoding="ascii") as handle:
        return parse_key(handle.read()).hex()
