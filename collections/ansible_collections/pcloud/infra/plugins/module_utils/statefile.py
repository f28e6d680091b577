# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""Atomic writes and the config dir lock.

``infrastructure.json`` is written to a temporary file in the same directory, fsynced and renamed
over the old one, so a reader (or a killed run) sees the old or the new file, never a torn one.
Runs that change the fleet hold an exclusive ``flock`` on ``.pcloud.lock`` in the config dir.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import time
from typing import Any, List, Optional

from ansible_collections.pcloud.infra.plugins.module_utils.errors import PcloudError, SpecError

LOCK_FILE = ".pcloud.lock"


class LockedError(PcloudError):
    """Another pcloud run holds the config dir."""


def write_json_atomic(path: str, data: Any, mode: int = 0o600) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class ConfigLock:
    """``with ConfigLock(config_dir, "orchestrate"):`` - fails at once if another run holds it."""

    def __init__(self, config_dir: str, purpose: str, wait: float = 0.0) -> None:
        self.path = os.path.join(config_dir, LOCK_FILE)
        self.purpose = purpose
        self.wait = wait  # seconds to wait for a running run to finish (a recovery waits for a deploy)
        self._fd: Optional[int] = None

    def __enter__(self) -> ConfigLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:
                    time.sleep(0.5)
                    continue
                holder = os.read(fd, 200).decode("utf-8", "replace").strip() or "another run"
                os.close(fd)
                raise LockedError("the config dir is locked by %s; wait for it to finish (lock file %s)"
                                  % (holder, self.path), file=self.path) from None
        os.ftruncate(fd, 0)
        os.write(fd, ("pcloud %s (pid %d)" % (self.purpose, os.getpid())).encode())
        self._fd = fd
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class FileLock:
    """A blocking exclusive ``flock`` (with a timeout) around a short critical section, such as one write."""

    def __init__(self, path: str, timeout: float = 30.0) -> None:
        self.path = path
        self.timeout = timeout
        self._fd: Optional[int] = None

    def __enter__(self) -> FileLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise LockedError("timed out after %d s waiting for %s" % (self.timeout, self.path),
                                      file=self.path) from None
                time.sleep(0.05)
        self._fd = fd
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def read_json_list(path: str, what: str) -> List[Any]:
    """The JSON list in ``path`` (absent: empty); a broken file is a SpecError naming it."""
    if not os.path.exists(path):
        return []
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except ValueError as exc:
        raise SpecError("%s is not valid JSON: %s" % (what, exc), file=path, field="(file)") from None
    if not isinstance(data, list):
        raise SpecError("%s must be a list" % what, file=path, field="(file)")
    return data
