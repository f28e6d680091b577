# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils.statefile import (
    ConfigLock,
    FileLock,
    LockedError,
    write_json_atomic,
)


def test_write_is_atomic_when_interrupted(tmp_path, monkeypatch):
    path = tmp_path / "infrastructure.json"
    write_json_atomic(str(path), {"v": 1})

    def boom(src, dst):
        raise KeyboardInterrupt  # the run is killed between write and rename

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        write_json_atomic(str(path), {"v": 2})
    assert json.loads(path.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["infrastructure.json"]  # no temp file left


def test_config_lock_refuses_a_second_holder(tmp_path):
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from ansible_collections.pcloud.infra.plugins.module_utils.statefile import ConfigLock\n"
            "import time\n"
            "with ConfigLock(%r, 'orchestrate'):\n"
            "    print('held', flush=True); time.sleep(30)\n") % (sys.path[0], str(tmp_path))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockedError, match="locked by pcloud orchestrate \\(pid %d\\)" % holder.pid):
            with ConfigLock(str(tmp_path), "scale"):
                pass
    finally:
        holder.kill()
        holder.wait()
    with ConfigLock(str(tmp_path), "scale"):  # free again once the holder is gone
        pass


def test_file_lock_times_out(tmp_path):
    path = str(tmp_path / "x.lock")
    with FileLock(path):
        with pytest.raises(LockedError, match="timed out"):
            with FileLock(path, timeout=0.2):
                pass
