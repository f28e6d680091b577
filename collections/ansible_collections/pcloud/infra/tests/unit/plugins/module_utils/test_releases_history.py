# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils.errors import SpecError
from ansible_collections.pcloud.infra.plugins.module_utils.release_store import history_path, load_histories
from ansible_collections.pcloud.infra.plugins.module_utils.releases import (
    append_release,
    image_ids,
    release_record,
    releases_with_tag,
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


def test_releases_with_tag_across_project_envs(tmp_path):
    uat = dict(record("1"), tag="v1.0.0-uat-20261122-0610", repo="file:///r.git")
    prod = dict(record("1"), tag="v1.0.0-uat-20261122-0610", kind="promote")
    other = dict(record("2"), tag="v1.0.1-uat-20261122-0700")
    (tmp_path / "releases").mkdir()
    for key, history in (("shop-uat", [uat, other]), ("shop-prod", [prod])):
        with open(history_path(str(tmp_path), key), "w") as handle:
            json.dump(history, handle)
    histories = load_histories(str(tmp_path))
    assert set(histories) == {"shop-uat", "shop-prod"}
    found = releases_with_tag(histories, tag="v1.0.0-uat-20261122-0610")
    assert [(r["project_env"], r["kind"]) for r in found] == [("shop-prod", "promote"), ("shop-uat", "deploy")]
    assert found[1]["repo"] == "file:///r.git"
    assert [r["tag"] for r in releases_with_tag(histories, key="shop-uat")] == [uat["tag"], other["tag"]]
    assert releases_with_tag(histories, tag="v9.9.9-uat-20200101-0000") == []
    assert load_histories(str(tmp_path / "nothing-here")) == {}
