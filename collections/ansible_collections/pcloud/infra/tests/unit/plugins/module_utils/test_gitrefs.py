# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import subprocess

from ansible_collections.pcloud.infra.plugins.module_utils.gitrefs import list_tags_argv, parse_tags, tags_at

A = "a" * 40
B = "b" * 40
T = "c" * 40


def test_parse_peels_annotated_tags():
    out = "v1.0.0-uat-20261122-0610\0%s\0%s\nlight\0%s\0\n\ngarbage line\n" % (T, A, B)
    assert parse_tags(out) == {"v1.0.0-uat-20261122-0610": A, "light": B}
    assert tags_at(parse_tags(out), A) == ["v1.0.0-uat-20261122-0610"] and tags_at({}, A) == []


def test_against_a_real_repository(tmp_path):
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost", "-C", str(tmp_path)]
    subprocess.run(["git", "init", "--quiet", str(tmp_path)], check=True)
    subprocess.run(git + ["commit", "--quiet", "--allow-empty", "-m", "one"], check=True)
    subprocess.run(git + ["tag", "-a", "v1.0.0-uat-20261122-0610", "-m", "uat"], check=True)
    subprocess.run(git + ["tag", "plain"], check=True)
    head = subprocess.run(git + ["rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    out = subprocess.run(list_tags_argv(str(tmp_path)), capture_output=True, text=True, check=True).stdout
    assert parse_tags(out) == {"v1.0.0-uat-20261122-0610": head, "plain": head}
