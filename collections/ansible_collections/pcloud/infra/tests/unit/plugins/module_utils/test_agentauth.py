# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import hashlib
import hmac
import os
import stat

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils.agentauth import (
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    AgentAuthError,
    Verifier,
    canonical,
    ensure_key,
    key_path,
    parse_key,
    read_key,
    sign,
)

KEY = bytes(range(32))
OTHER = bytes(range(1, 33))
NOW = 1_800_000_000.0
BODY = b'{"droplet": "shop-web1"}'


def signed(key=KEY, method="POST", path="/drain", body=BODY, at=NOW, nonce="n1"):
    return sign(key, method, path, body, now=at, nonce=nonce)


def test_canonical_is_fixed():
    """The signed bytes are pinned: changing them breaks every running agent of an older release."""
    assert canonical("post", "/drain", "1.000", "abc", b"") == (
        b"v1\nPOST\n/drain\n1.000\nabc\n" + hashlib.sha256(b"").hexdigest().encode())


def test_signature_is_hmac_sha256_of_the_canonical_request():
    headers = signed()
    expected = hmac.new(KEY, canonical("POST", "/drain", "%.3f" % NOW, "n1", BODY), hashlib.sha256).hexdigest()
    assert headers == {HEADER_TIMESTAMP: "%.3f" % NOW, HEADER_NONCE: "n1", HEADER_SIGNATURE: "v1=" + expected}


def test_a_fresh_nonce_each_time():
    assert sign(KEY, "GET", "/views")[HEADER_NONCE] != sign(KEY, "GET", "/views")[HEADER_NONCE]


@pytest.mark.parametrize("headers, method, path, body, at, reason", [
    (signed(), "POST", "/drain", BODY, NOW, None),
    (signed(at=NOW - 29), "POST", "/drain", BODY, NOW, None),
    (signed(at=NOW + 29), "POST", "/drain", BODY, NOW, None),
    (signed(method="GET", path="/views", body=b""), "GET", "/views", b"", NOW, None),
    ({}, "POST", "/drain", BODY, NOW, "unsigned"),
    ({HEADER_TIMESTAMP: "%.3f" % NOW, HEADER_NONCE: "n1"}, "POST", "/drain", BODY, NOW, "unsigned"),
    (signed(at=NOW - 31), "POST", "/drain", BODY, NOW, "stale"),
    (signed(at=NOW + 31), "POST", "/drain", BODY, NOW, "stale"),
    (signed(at=NOW - 3600), "POST", "/drain", BODY, NOW, "stale"),
    (dict(signed(), **{HEADER_TIMESTAMP: "nan"}), "POST", "/drain", BODY, NOW, "not a number"),
    (dict(signed(), **{HEADER_TIMESTAMP: "soon"}), "POST", "/drain", BODY, NOW, "not a number"),
    (signed(key=OTHER), "POST", "/drain", BODY, NOW, "bad signature"),
    (signed(), "POST", "/undrain", BODY, NOW, "bad signature"),  # another path
    (signed(), "GET", "/drain", BODY, NOW, "bad signature"),  # another method
    (signed(), "POST", "/drain", b'{"droplet": "pcloud-master"}', NOW, "bad signature"),  # another body
    (dict(signed(), **{HEADER_NONCE: "n2"}), "POST", "/drain", BODY, NOW, "bad signature"),
    (dict(signed(), **{HEADER_TIMESTAMP: "%.3f" % (NOW + 1)}), "POST", "/drain", BODY, NOW, "bad signature"),
    (dict(signed(), **{HEADER_SIGNATURE: "v1=" + "0" * 64}), "POST", "/drain", BODY, NOW, "bad signature"),
    ({k.lower(): v for k, v in signed().items()}, "POST", "/drain", BODY, NOW, None),  # header names are not cased
])
def test_verify(headers, method, path, body, at, reason):
    verifier = Verifier(KEY, clock=lambda: at)
    if reason is None:
        verifier.verify(method, path, headers, body)
    else:
        with pytest.raises(AgentAuthError, match=reason):
            verifier.verify(method, path, headers, body)


def test_a_replay_is_refused_while_fresh_and_stale_after():
    clock = [NOW]
    verifier = Verifier(KEY, clock=lambda: clock[0])
    headers = signed()
    verifier.verify("POST", "/drain", headers, BODY)
    with pytest.raises(AgentAuthError, match="replayed"):
        verifier.verify("POST", "/drain", headers, BODY)
    verifier.verify("POST", "/drain", signed(nonce="n2"), BODY)  # the same request signed again is new
    clock[0] = NOW + 31
    with pytest.raises(AgentAuthError, match="stale"):
        verifier.verify("POST", "/drain", headers, BODY)


@pytest.mark.parametrize("key", [None, b""])
def test_without_a_key_everything_is_refused(key):
    with pytest.raises(AgentAuthError, match="no fleet key"):
        Verifier(key, clock=lambda: NOW).verify("POST", "/drain", signed(), BODY)
    with pytest.raises(AgentAuthError, match="no fleet key"):
        sign(key or b"", "GET", "/views")


@pytest.mark.parametrize("text, key", [
    (KEY.hex(), KEY),
    (KEY.hex() + "\n", KEY),
    ((KEY * 2).hex(), KEY * 2),
    (KEY.hex()[:-2], ValueError),  # 31 bytes
    ("", ValueError),
    ("not hex at all, not hex at all, not hex at all, not hex at all!!", ValueError),
])
def test_parse_key(text, key):
    if key is ValueError:
        with pytest.raises(ValueError):
            parse_key(text)
    else:
        assert parse_key(text) == key


def test_ensure_key_creates_a_private_key_once(tmp_path):
    first = ensure_key(str(tmp_path))
    path = key_path(str(tmp_path))
    assert path == str(tmp_path / "secrets" / ".agent-key")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and len(first) == 64
    assert ensure_key(str(tmp_path)) == first and read_key(path) == bytes.fromhex(first)
    assert os.listdir(tmp_path / "secrets") == [".agent-key"]  # no temporary file left behind


def test_read_key_of_nothing(tmp_path):
    assert read_key(None) is None and read_key(str(tmp_path / "missing")) is None
    (tmp_path / "bad").write_text("xyz")
    assert read_key(str(tmp_path / "bad")) is None
