# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import subprocess

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils import deploy_build
from ansible_collections.pcloud.infra.plugins.module_utils.build_paths import BuildPathError
from ansible_collections.pcloud.infra.plugins.module_utils.gitrefs import read_repo

A = "a" * 40
B = "b" * 40
SERVICES = {"backend": {"type": "web", "secrets": ["api_key", "db_password"], "containerfile_path": "Dockerfile"},
            "jobs": {"type": "worker", "secrets": ["api_key", "mail_token", "redis_password"], "containerfile_path": "Dockerfile"}}
PROJECTS = {"shop": {"services": SERVICES, "repo_url": "https://git.example/shop.git", "branch": "main"}}
ENVS = ["shop-uat", "shop-prod"]


def run(argv):
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def checkout(tmp_path):
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost", "-C", str(tmp_path)]
    subprocess.run(["git", "init", "--quiet", str(tmp_path)], check=True)
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    subprocess.run(git + ["add", "Dockerfile"], check=True)
    subprocess.run(git + ["commit", "--quiet", "-m", "one"], check=True)
    head = subprocess.run(git + ["rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    return tmp_path, git, head


def test_a_uat_deploy_of_the_checkout_builds_its_commit(checkout):
    path, _git, head = checkout
    build = deploy_build.resolve("shop", "uat", PROJECTS, ENVS, str(path), read_repo(run, "git", str(path)),
                                 checkout_commit=head, config_dir="/cfg")
    assert build["kind"] == "deploy" and build["commit"] == head and build["taggable"] and not build["notice"]
    assert build["images"] == {"backend": "registry.pcloud:5000/shop/backend:" + head[:12],
                               "jobs": "registry.pcloud:5000/shop/jobs:" + head[:12]}
    assert build["secrets"] == ["api_key", "mail_token"]  # the platform's own are generated, not asked for
    assert build["build_paths"]["backend"]["dockerfile"] == str((path / "Dockerfile").resolve())
    assert build["build_dir"] == "/var/lib/pcloud/build/shop/" + head[:12]
    assert build["archive"] == "/cfg/.build/shop-%s.tar.gz" % head[:12]


def test_a_local_build_of_uncommitted_edits_is_named_by_content_and_not_tagged(checkout):
    path, _git, head = checkout
    (path / "Dockerfile").write_text("FROM scratch\nLABEL edited=1\n")
    build = deploy_build.resolve("shop", "uat", PROJECTS, ENVS, str(path), read_repo(run, "git", str(path), True),
                                 local=True)
    assert build["commit"] != head and len(build["commit"]) == 64 and not build["taggable"]
    assert "has uncommitted changes" in build["notice"] and "gets no UAT tag" in build["notice"]


def test_a_local_build_of_a_plain_directory(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    build = deploy_build.resolve("shop", "uat", PROJECTS, ENVS, str(tmp_path), read_repo(run, "git", str(tmp_path), True),
                                 local=True)
    assert "is not a Git repository" in build["notice"] and not build["taggable"]


def test_prod_promotes_the_newest_uat_tag_or_the_one_asked_for(checkout):
    path, git, head = checkout
    subprocess.run(git + ["tag", "-a", "v0.1.0-uat-20261201-1000", "-m", "uat"], check=True)
    subprocess.run(git + ["commit", "--quiet", "--allow-empty", "-m", "two"], check=True)
    subprocess.run(git + ["tag", "-a", "v0.1.1-uat-20261202-1000", "-m", "uat"], check=True)
    second = subprocess.run(git + ["rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    repo = read_repo(run, "git", str(path))
    newest = deploy_build.resolve("shop", "prod", PROJECTS, ENVS, str(path), repo, checkout_commit=second)
    assert newest["kind"] == "promote" and newest["promoted"] == "v0.1.1-uat-20261202-1000" and newest["commit"] == second
    assert newest["build_paths"] == {}  # prod never builds
    older = deploy_build.resolve("shop", "prod", PROJECTS, ENVS, str(path), repo, checkout_commit=second,
                                 promote_tag="v0.1.0-uat-20261201-1000")
    assert older["commit"] == head and older["images"]["backend"].endswith(":" + head[:12])
    with pytest.raises(deploy_build.DeployError, match="No UAT tag v9.9.9-uat-20260101-0000 in the repository"):
        deploy_build.resolve("shop", "prod", PROJECTS, ENVS, str(path), repo, checkout_commit=second,
                             promote_tag="v9.9.9-uat-20260101-0000")


def test_prod_without_a_uat_deploy_says_what_to_run(checkout):
    path, _git, head = checkout
    with pytest.raises(deploy_build.DeployError, match=r"No UAT deploy yet: .*'pcloud deploy uat shop' first"):
        deploy_build.resolve("shop", "prod", PROJECTS, ENVS, str(path), read_repo(run, "git", str(path)), checkout_commit=head)


def test_a_rollback_reads_nothing_and_runs_the_images_it_is_given():
    build = deploy_build.resolve("shop", "uat", PROJECTS, ENVS, "/nowhere", None, override_commit=A,
                                 override_images={"backend": "registry.pcloud:5000/shop/backend@sha256:" + "1" * 64})
    assert build["kind"] == "rollback" and build["commit"] == A and build["images"] == {} and not build["taggable"]
    assert build["run_images"]["backend"].endswith("1" * 64)


@pytest.mark.parametrize("project, environment, branch, problem", [
    ("", "uat", "", "pcloud_project: expected a project name"),
    ("shop;rm", "uat", "", "pcloud_project"),
    ("-shop", "uat", "", "pcloud_project"),
    ("shop", "UAT", "", "pcloud_env"),
    ("shop", "uat\n", "", "pcloud_env"),
    ("shop", "u\u0661", "", "pcloud_env"),  # a non-ASCII digit
    ("shop", "uat", "--upload-pack=x", "pcloud_branch: illegal branch name"),
    ("shop", "uat", "a..b", "pcloud_branch"),
])
def test_a_hostile_request_is_refused(project, environment, branch, problem):
    with pytest.raises(deploy_build.DeployError, match=problem):
        deploy_build.check_request(project, environment, branch)


def test_an_unknown_project_env_names_the_projects(checkout):
    path, _git, head = checkout
    with pytest.raises(deploy_build.DeployError, match="No shop-test in the spec: projects are shop."):
        deploy_build.resolve("shop", "test", PROJECTS, ENVS, str(path), None, checkout_commit=head)


def test_a_build_context_outside_the_checkout_is_refused(checkout, tmp_path_factory):
    path, _git, head = checkout
    outside = tmp_path_factory.mktemp("outside")
    (path / "ctx").symlink_to(outside)
    projects = {"shop": {"services": {"backend": {"type": "web", "build_context": "ctx", "containerfile_path": "Dockerfile"}}}}
    with pytest.raises(BuildPathError):
        deploy_build.resolve("shop", "uat", projects, ENVS, str(path), read_repo(run, "git", str(path)), checkout_commit=head)


def test_read_repo_refuses_what_it_cannot_read(tmp_path):
    with pytest.raises(ValueError, match="is not a directory"):
        read_repo(run, "git", str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="is not a Git repository"):
        read_repo(run, "git", str(tmp_path))


C1, C2, C3 = "1" * 40, "2" * 40, "3" * 40
TAGS = {"v0.1.0-uat-20261201-1000": C1, "v0.1.1-uat-20261202-1000": C2}


def test_prod_promotes_what_uat_runs_not_the_newest_tag():
    history = [{"commit": C1, "kind": "deploy", "number": 1}, {"commit": C2, "kind": "deploy", "number": 2},
               {"commit": C1, "kind": "rollback", "number": 3}]
    tag, said = deploy_build.promotion("shop", TAGS, history)
    assert tag == "v0.1.0-uat-20261201-1000" and said == "promoting %s (commit %s), the build uat runs" % (tag, C1[:12])


def test_a_tag_uat_was_rolled_back_from_needs_force():
    history = [{"commit": C1, "kind": "deploy"}, {"commit": C2, "kind": "deploy"}, {"commit": C1, "kind": "rollback"}]
    with pytest.raises(deploy_build.DeployError, match=r"uat was rolled back from v0.1.1-uat-20261202-1000 .*needs --force"):
        deploy_build.promotion("shop", TAGS, history, "v0.1.1-uat-20261202-1000")
    assert deploy_build.promotion("shop", TAGS, history, "v0.1.1-uat-20261202-1000", force=True)[0] == \
        "v0.1.1-uat-20261202-1000"
    # deployed to uat again after the rollback: no longer refused
    again = history + [{"commit": C2, "kind": "deploy"}]
    assert deploy_build.promotion("shop", TAGS, again)[0] == "v0.1.1-uat-20261202-1000"
    assert deploy_build.rolled_back(again) == []


def test_uat_running_an_untagged_build_has_nothing_to_promote():
    with pytest.raises(deploy_build.DeployError, match="uat runs 333333333333 .*which has no UAT tag.*--tag"):
        deploy_build.promotion("shop", TAGS, [{"commit": C3, "kind": "deploy", "number": 4}])


def test_without_a_uat_release_here_the_newest_tag_is_promoted():
    tag, said = deploy_build.promotion("shop", TAGS, [])
    assert tag == "v0.1.1-uat-20261202-1000" and "no uat release is recorded" in said
