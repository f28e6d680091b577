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


def test_tree_hash_follows_every_edit_and_ignores_git(tmp_path):
    from ansible_collections.pcloud.infra.plugins.module_utils.gitrefs import tree_hash

    (tmp_path / "app.py").write_text("print(1)\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "run.sh").write_text("#!/bin/sh\n")
    first = tree_hash(str(tmp_path))
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    assert tree_hash(str(tmp_path)) == first                 # .git is not part of the build
    (tmp_path / "app.py").write_text("print(2)\n")
    edited = tree_hash(str(tmp_path))
    assert edited != first                                   # an uncommitted edit makes a new build
    (tmp_path / "sub" / "run.sh").chmod(0o755)
    assert tree_hash(str(tmp_path)) != edited                # so does the executable bit
    (tmp_path / "new.txt").write_text("")
    assert len(tree_hash(str(tmp_path))) == 64


def test_build_name():
    from ansible_collections.pcloud.infra.plugins.module_utils.gitrefs import build_name

    assert build_name("a" * 40, False, "b" * 64) == ("a" * 40, True)
    assert build_name("a" * 40, True, "b" * 64) == ("b" * 64, False)   # uncommitted edits: no tag
    assert build_name("", False, "b" * 64) == ("b" * 64, False)        # not a repository
