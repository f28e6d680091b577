# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""Pinned SSH host keys and private control sockets (pure, except the small file helpers at the end).

The control node generates each droplet's host key and hands it over at creation as cloud-init
``user_data`` (``ssh_keys``); DigitalOcean's cloud-init and the local cloud install it in place of
the image's (or the snapshot's) keys. ``<config>/ssh/known_hosts`` is rendered from the pinned public
keys, and every SSH connection checks it strictly, with the droplet name as ``HostKeyAlias``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import shlex
import stat
import tempfile
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.pcloud.infra.plugins.module_utils.errors import PcloudError

CLOUD_CONFIG_HEADER = "#cloud-config"
USER_DATA_MAX_BYTES = 64 * 1024  # DigitalOcean's limit on user_data
HOSTS_DIR = os.path.join("ssh", "hosts")  # <config>/ssh/hosts/<droplet> (0600) and <droplet>.pub
KNOWN_HOSTS = os.path.join("ssh", "known_hosts")
CONTROL_DIR = os.path.join("ssh", "cp")
SOCKET_PATH_MAX = 107  # sun_path is 108 bytes with the terminating NUL
# ansible's control path is "<dir>/<10 hex digits>", and a ControlMaster first binds "<path>.<16 random characters>"
CONTROL_SOCKET_SUFFIX = 1 + 10 + 1 + 16
PRIVATE_KEY_BEGIN = "-----BEGIN OPENSSH PRIVATE KEY-----"
PRIVATE_KEY_END = "-----END OPENSSH PRIVATE KEY-----"
# cloud-init ssh_keys entries -> (host key file in /etc/ssh, OpenSSH key type of the public half)
KEY_FILES: Dict[str, Tuple[str, str]] = {
    "ed25519": ("ssh_host_ed25519_key", "ssh-ed25519"),
    "ecdsa": ("ssh_host_ecdsa_key", "ecdsa-sha2-nistp256"),
    "rsa": ("ssh_host_rsa_key", "ssh-rsa"),
}


DROPLET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,252}\Z")  # DigitalOcean's droplet names


class HostKeyError(PcloudError):
    """A host key or a user_data document that cannot be used; ``droplet`` names the droplet when known."""


def check_droplet_name(name: Any) -> str:
    """``name`` when it is a droplet name, usable as a file name under ssh/hosts and in known_hosts."""
    if not isinstance(name, str) or not DROPLET_NAME.match(name):
        raise HostKeyError("%r is not a droplet name (letters, digits, '.' and '-')" % (name,), droplet=name)
    return name


# --------------------------------------------------------------------------- keys


def parse_public_key(line: str) -> Tuple[str, str]:
    """``(type, base64 blob)`` of an OpenSSH public key line (``type blob [comment]``)."""
    parts = str(line).strip().split()
    if len(parts) < 2:
        raise HostKeyError("not an OpenSSH public key: expected 'TYPE BASE64 [COMMENT]'")
    kind, blob = parts[0], parts[1]
    try:
        raw = base64.b64decode(blob.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise HostKeyError("not an OpenSSH public key: the key data is not base64") from None
    # the blob starts with the key type as an SSH string: uint32 length, then the name
    if len(raw) < 4 or raw[4:4 + int.from_bytes(raw[:4], "big")] != kind.encode("ascii", "replace"):
        raise HostKeyError("not an OpenSSH public key: the key data is not a %s key" % kind)
    return kind, blob


def fingerprint(public_key: str) -> str:
    """``SHA256:...`` as ssh-keygen -l prints it."""
    _kind, blob = parse_public_key(public_key)
    digest = hashlib.sha256(base64.b64decode(blob)).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def _check_private_key(text: str) -> str:
    lines = str(text).strip().splitlines()
    if len(lines) < 3 or lines[0] != PRIVATE_KEY_BEGIN or lines[-1] != PRIVATE_KEY_END:
        raise HostKeyError("not an OpenSSH private key: expected the %s ... %s armour"
                           % (PRIVATE_KEY_BEGIN, PRIVATE_KEY_END))
    for line in lines[1:-1]:
        if not line.strip() or any(c not in _B64 for c in line.strip()):
            raise HostKeyError("not an OpenSSH private key: the key data is not base64")
    return "\n".join(line.strip() for line in lines) + "\n"


_B64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")


# --------------------------------------------------------------------------- cloud-config


def render_cloud_config(private_key: str, public_key: str) -> str:
    """The ``#cloud-config`` user_data that makes cloud-init install this ed25519 host key (and only it)."""
    private = _check_private_key(private_key)
    kind, blob = parse_public_key(public_key)
    if kind != KEY_FILES["ed25519"][1]:
        raise HostKeyError("the host key must be ed25519, not %s" % kind)
    body = "".join("    %s\n" % line for line in private.splitlines())
    return ("%s\n# pcloud: the droplet's SSH host key, pinned in the control node's known_hosts\n"
            "ssh_deletekeys: true\n"
            "ssh_keys:\n"
            "  ed25519_private: |\n%s"
            "  ed25519_public: %s\n") % (CLOUD_CONFIG_HEADER, body, json.dumps("%s %s" % (kind, blob)))


def host_keys_from_user_data(user_data: Any) -> Dict[str, str]:
    """The host key files (``{"ssh_host_ed25519_key": ..., "ssh_host_ed25519_key.pub": ...}``) a cloud-config
    ``ssh_keys`` section asks for; ``{}`` when there is no user_data or it has no ``ssh_keys``.

    Only ``#cloud-config`` documents are understood (other user_data kinds raise HostKeyError); of those,
    only ``ssh_keys`` is read. Each key type needs both halves, and they must be well-formed."""
    if user_data is None:
        return {}
    if not isinstance(user_data, str):
        raise HostKeyError("user_data must be a string")
    if len(user_data.encode("utf-8")) > USER_DATA_MAX_BYTES:
        raise HostKeyError("user_data may not exceed 64 KiB")
    if not user_data.strip():
        return {}
    if user_data.splitlines()[0].strip() != CLOUD_CONFIG_HEADER:
        raise HostKeyError("only '#cloud-config' user_data is supported (the first line must be #cloud-config)")
    try:
        import yaml  # the control node's and the local cloud's dependency; imported here to keep the file light
    except ImportError:  # pragma: no cover
        raise HostKeyError("reading cloud-config needs PyYAML") from None
    try:
        document = yaml.safe_load(user_data)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = " (line %d)" % (mark.line + 1) if mark is not None else ""
        raise HostKeyError("user_data is not valid cloud-config YAML%s" % where) from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise HostKeyError("cloud-config user_data must be a mapping")
    ssh_keys = document.get("ssh_keys")
    if ssh_keys is None:
        return {}
    if not isinstance(ssh_keys, dict):
        raise HostKeyError("cloud-config ssh_keys must be a mapping")
    files: Dict[str, str] = {}
    for entry in sorted(ssh_keys):
        kind, _sep, half = str(entry).rpartition("_")
        if kind not in KEY_FILES or half not in ("private", "public"):
            raise HostKeyError("cloud-config ssh_keys: unsupported entry %r (use %s)" % (
                entry, ", ".join("%s_private/%s_public" % (k, k) for k in sorted(KEY_FILES))))
        value = ssh_keys[entry]
        if not isinstance(value, str):
            raise HostKeyError("cloud-config ssh_keys.%s must be a string" % entry)
        other = "%s_%s" % (kind, "public" if half == "private" else "private")
        if other not in ssh_keys:
            raise HostKeyError("cloud-config ssh_keys.%s needs ssh_keys.%s too" % (entry, other))
        path, key_type = KEY_FILES[kind]
        if half == "private":
            files[path] = _check_private_key(value)
        else:
            got, blob = parse_public_key(value)
            if got != key_type:
                raise HostKeyError("cloud-config ssh_keys.%s is a %s key, not %s" % (entry, got, key_type))
            files[path + ".pub"] = "%s %s\n" % (got, blob)
    return files


# --------------------------------------------------------------------------- known_hosts


def known_hosts_line(name: str, ip: Optional[str], public_key: str) -> str:
    """``name,ip type blob``: the droplet name (the HostKeyAlias pcloud connects with) and its address."""
    check_droplet_name(name)
    kind, blob = parse_public_key(public_key)
    hosts = [name] + ([ip] if ip else [])
    return "%s %s %s\n" % (",".join(hosts), kind, blob)


def render_known_hosts(pins: Iterable[Tuple[str, Optional[str], str]]) -> str:
    """The whole known_hosts file, one line per pinned droplet sorted by name. Written from scratch each
    time so an address a replaced droplet gave up never keeps a stale key."""
    seen = set()
    lines = []
    for name, ip, public_key in sorted(pins, key=lambda p: p[0]):
        if name in seen:
            raise HostKeyError("droplet %s is pinned twice" % name, droplet=name)
        seen.add(name)
        lines.append(known_hosts_line(name, ip, public_key))
    return "# pcloud: pinned SSH host keys of the fleet (rewritten by each orchestrate run; do not edit)\n" + \
        "".join(lines)


def presented_keys(keyscan_output: str) -> Dict[str, List[str]]:
    """Host -> ``type blob`` of each key it presented, from ssh-keyscan output (``host type blob`` lines;
    comments and unreadable lines skipped). One ssh-keyscan run scans many hosts at once."""
    keys: Dict[str, List[str]] = {}
    for line in keyscan_output.splitlines():
        parts = line.split()
        if len(parts) >= 3 and not line.startswith("#"):
            try:
                key = "%s %s" % parse_public_key(" ".join(parts[1:3]))
            except HostKeyError:
                continue
            keys.setdefault(parts[0], []).append(key)
    return keys


def key_to_adopt(presented: Sequence[str]) -> Optional[str]:
    """The key to pin on first use for a droplet made before pcloud pinned host keys: its ed25519 key, else its
    first key; None when it presented none."""
    ed25519 = [k for k in presented if k.split()[0] == KEY_FILES["ed25519"][1]]
    return (ed25519 or list(presented) or [None])[0]


def host_key_problem(name: str, ip: Optional[str], pinned: Optional[str], presented: Sequence[str]) -> Optional[str]:
    """None when the droplet presents its pinned key (or presents none: it cannot be compared), else the message
    that names the droplet."""
    where = "droplet %s (%s)" % (name, ip or "no address")
    if not pinned:
        return ("%s has no pinned SSH host key (no ssh/hosts/%s.pub in the config dir): it was created before "
                "pcloud pinned host keys, or outside pcloud; recreate it with 'pcloud recover %s', or pin the key it "
                "presents now with 'ansible-playbook playbooks/orchestrate.yml -e pcloud_adopt_host_keys=true' "
                "(trust on first use: only over a network path you trust)" % (where, name, name))
    if not presented:
        return None  # not reachable from here (down, or the firewall admits another admin IP): nothing to compare
    kind, blob = parse_public_key(pinned)
    same_type = [k for k in presented if k.split()[0] == kind]
    if any(k.split()[1] == blob for k in same_type):
        return None
    got = ", ".join(fingerprint(k) for k in (same_type or presented))
    return ("SSH host key of %s has changed: pinned %s, presented %s. Someone may be intercepting the connection, "
            "or the droplet was rebuilt outside pcloud; nothing was changed. If you replaced it on purpose, "
            "recreate it through pcloud ('pcloud recover %s') to pin a new key" % (where, fingerprint(pinned), got, name))


# --------------------------------------------------------------------------- which droplets get a new key


def droplets_to_pin(changes: Mapping[str, Any], force: bool = False, replace: Iterable[str] = ()) -> List[str]:
    """Names of the droplets an orchestrate run creates, each of which gets a fresh host key: the new ones,
    and those it destroys first (every kept droplet with ``force``, the ``replace`` ones otherwise)."""
    wanted = set(replace)
    names = {c["name"] for c in changes.get("create") or ()}
    for kept in changes.get("keep") or ():
        if (force or kept["name"] in wanted) and kept.get("id") is not None:
            names.add(kept["name"])
    return sorted(names)


# --------------------------------------------------------------------------- ssh options


def control_dir_fits(directory: str) -> bool:
    """Whether ansible's ``<directory>/<hash>`` (and ssh's temporary ``.XXXXXXXXXXXXXXXX`` variant) fits a unix
    socket path."""
    return len(os.fsencode(directory)) + CONTROL_SOCKET_SUFFIX <= SOCKET_PATH_MAX


def ssh_hostvars(name: str, config_dir: str, control_dir: str) -> Dict[str, Any]:
    """Connection variables of one droplet: strict checking against the pinned known_hosts, the droplet name
    as HostKeyAlias (so ssh's own errors name the droplet), control sockets in a private directory."""
    known = os.path.join(config_dir, KNOWN_HOSTS)
    return {
        "ansible_host_key_checking": True,
        "ansible_ssh_common_args": " ".join([
            "-o", shlex.quote("UserKnownHostsFile=%s" % known),
            "-o", "StrictHostKeyChecking=yes",
            "-o", shlex.quote("HostKeyAlias=%s" % name),
            "-o", "GlobalKnownHostsFile=/dev/null",
        ]),
        "ansible_control_path_dir": control_dir,
    }


# --------------------------------------------------------------------------- files (small I/O helpers)


def ensure_private_dir(path: str) -> str:
    """Create ``path`` (0700) or check it: a directory of ours, not a symlink, no access for others."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise HostKeyError("%s must be a directory owned by this user" % path)
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, 0o700)
    return path


def control_dir(config_dir: str) -> str:
    """``<config>/ssh/cp`` (0700); when that path is too long for a unix socket, a private mkdtemp directory
    whose name is kept in ``<config>/ssh/cp.path`` and reused while it stays ours and 0700."""
    preferred = os.path.join(config_dir, CONTROL_DIR)
    ensure_private_dir(os.path.dirname(preferred))
    if control_dir_fits(preferred):
        return ensure_private_dir(preferred)
    record = preferred + ".path"
    try:
        with open(record, encoding="utf-8") as handle:
            previous = handle.read().strip()
        info = os.lstat(previous)
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not stat.S_IMODE(info.st_mode) & 0o077 \
                and control_dir_fits(previous):
            return previous
    except OSError:
        pass
    fresh = tempfile.mkdtemp(prefix="pcloud-cp-")  # 0700, unpredictable name
    if not control_dir_fits(fresh):
        raise HostKeyError("no directory short enough for SSH control sockets (%s is too long); set TMPDIR to a "
                           "short private directory" % fresh)
    write_private_file(record, fresh + "\n")
    return fresh


def write_private_file(path: str, content: str, mode: int = 0o600) -> bool:
    """Write ``content`` atomically with ``mode``; False (and nothing written) when the file already holds it."""
    try:
        with open(path, encoding="utf-8") as handle:
            if handle.read() == content and stat.S_IMODE(os.stat(path).st_mode) == mode:
                return False
    except OSError:
        pass
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True
