# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils.errors import SpecError
from ansible_collections.pcloud.infra.plugins.module_utils.releases import (
    append_release,
    image_ids,
    release_record,
    rollback_target,
)


def record(backend_id, when="t"):
    return release_record("c" + backend_id, None, {"backend": "img:" + backend_id, "worker": "w:1"},
                          {"backend": backend_id, "worker": "w1"}, {"backend": {"type": "web"}}, {"k": "v1"}, "me", when)


def test_append_skips_an_identical_release_and_numbers_the_rest():
    history, changed = append_release([], record("a"))
    assert changed and history[0]["number"] == 1
    history, changed = append_release(history, record("a", when="later"))
    assert not changed and len(history) == 1
    history, changed = append_release(history, record("b"))
    assert changed and [r["number"] for r in history] == [1, 2]


def test_history_is_bounded():
    history = []
    for i in range(30):
        history, _changed = append_release(history, record(str(i)), keep=5)
    assert [r["number"] for r in history] == [26, 27, 28, 29, 30]


def test_rollback_target():
    history = append_release(append_release([], record("a"))[0], record("b"))[0]
    assert rollback_target(history) == {"backend": "img:a", "worker": "w:1"}
    assert rollback_target(history, "backend") == {"backend": "img:a", "worker": "w:1"}
    with pytest.raises(SpecError, match="service 'nope'"):
        rollback_target(history, "nope")
    with pytest.raises(SpecError, match="no earlier release"):
        rollback_target(history[:1])


def test_image_ids():
    info = [{"Id": "sha256:1", "RepoTags": ["img:a", "img:latest"]}, {"Id": "sha256:2", "RepoTags": ["w:1"]}]
    assert image_ids({"backend": "img:a", "worker": "w:1"}, info) == {"backend": "sha256:1", "worker": "sha256:2"}
    with pytest.raises(SpecError, match="image img:z of service 'backend' is not on the engine"):
        image_ids({"backend": "img:z"}, info)
