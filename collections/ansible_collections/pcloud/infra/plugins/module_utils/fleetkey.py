# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""The fleet's SSH key pair on the control node: ``<config>/ssh/id_ed25519`` (0600) and ``.pub``.

``pcloud init`` writes it, and orchestration (``pcloud orchestrate``, ``playbooks/orchestrate.yml``) creates it
when a config dir has only a spec, so both agree on one key and on its place.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from ansible_collections.pcloud.infra.plugins.module_utils.errors import PcloudError
from ansible_collections.pcloud.infra.plugins.module_utils.hostkeys import HostKeyError, ensure_private_dir

KEY_FILE = os.path.join("ssh", "id_ed25519")
KEY_COMMENT = "pcloud-fleet"


class FleetKeyError(PcloudError):
    """The fleet key pair cannot be read or made."""


@dataclass
class FleetKey:
    path: str  # the private key
    public_key: str  # ``ssh-ed25519 AAAA... pcloud-fleet``, without a line ending
    created: List[str] = field(default_factory=list)  # files written (or, in check mode, that would be)


def key_path(config_dir: str) -> str:
    return os.path.join(config_dir, KEY_FILE)


def new_ed25519_pair(comment: str = KEY_COMMENT) -> Tuple[str, str]:
    """A fresh ed25519 pair: (OpenSSH private key, ``ssh-ed25519 <blob> <comment>``)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode("ascii")
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode("ascii")
    return private, ("%s %s" % (public, comment)).strip()


def provider_fingerprint(public_key: str) -> str:
    """The id DigitalOcean (and the local cloud) give an SSH key: the MD5 of its blob as colon-separated hex. Known
    before the key is uploaded, so a check-mode run can name the key a droplet would get."""
    parts = public_key.split()
    try:
        blob = base64.b64decode(parts[1], validate=True) if len(parts) > 1 else b""
    except (binascii.Error, ValueError):
        blob = b""
    if not blob:
        raise FleetKeyError("not an OpenSSH public key line: expected 'TYPE BASE64 [COMMENT]'")
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def public_from_private(private: bytes, comment: str = KEY_COMMENT) -> str:
    """The ``.pub`` line of an unencrypted OpenSSH private key; FleetKeyError when it cannot be read."""
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_ssh_private_key(private, password=None)
        public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    except (ValueError, TypeError, AttributeError) as exc:
        raise FleetKeyError("not an unencrypted OpenSSH private key (%s)" % type(exc).__name__) from None
    return ("%s %s" % (public.decode("ascii"), comment)).strip()


def _read(path: str) -> Optional[bytes]:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _write_new(path: str, content: str, mode: int) -> bool:
    """Create ``path`` with ``mode``; False when it appeared meanwhile (a concurrent run made it)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(content)
    return True


def _replace(path: str, content: str, mode: int) -> None:
    tmp = "%s.tmp-%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(content)
    os.replace(tmp, path)


def ensure_fleet_key(config_dir: str, path: Optional[str] = None, check: bool = False) -> FleetKey:
    """The fleet key pair at ``path`` (default ``<config>/ssh/id_ed25519``), created when missing.

    - both halves exist: kept as they are (nothing is read but the public half);
    - only the private half: its ``.pub`` is derived from it;
    - no private half: a new pair (a ``.pub`` left without its private half is replaced: it opens nothing).
    Its directory is made 0700. In check mode nothing is written, and ``created`` lists what would be; a key that
    would be new is generated in memory only, so the returned public key is never uploaded anywhere for real.
    Idempotent, and safe when two runs race: the private half is created exclusively, and the loser uses it.
    """
    path = path or key_path(config_dir)
    pub_path = path + ".pub"
    private = _read(path)
    public = _read(pub_path)
    if private is not None and public is not None:
        line = public.decode("ascii", "replace").strip()
        if not line:
            raise FleetKeyError("%s is empty; delete it to derive it again from %s" % (pub_path, path))
        return FleetKey(path=path, public_key=line)
    created: List[str] = []
    directory = os.path.dirname(os.path.abspath(path))
    if private is not None:  # the public half is missing: derive it
        try:
            line = public_from_private(private)
        except FleetKeyError as exc:
            raise FleetKeyError("%s has no %s and %s; write the public key next to it, or move both away to let "
                                "pcloud create a new fleet key" % (path, os.path.basename(pub_path), exc)) from None
        if not check:
            _replace(pub_path, line + "\n", 0o644)
        return FleetKey(path=path, public_key=line, created=[pub_path])
    private_text, line = new_ed25519_pair()
    if check:
        return FleetKey(path=path, public_key=line, created=[path, pub_path])
    if not os.path.isdir(directory):
        created.append(directory)
    try:
        ensure_private_dir(directory)
    except (HostKeyError, OSError) as exc:
        raise FleetKeyError("cannot make the directory of the fleet key %s: %s" % (directory, exc)) from None
    if not _write_new(path, private_text, 0o600):  # another run made it first: use that one
        return ensure_fleet_key(config_dir, path, check)
    _replace(pub_path, line + "\n", 0o644)
    return FleetKey(path=path, public_key=line, created=created + [path, pub_path])
