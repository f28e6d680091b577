# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import bcrypt
import pytest

from ansible_collections.pcloud.infra.plugins.module_utils import registry as r

DIGEST = "sha256:" + "b" * 64


def test_references():
    assert r.tagged("shop", "worker_email", "0123456789abcdef") == "registry.pcloud:5000/shop/worker-email:0123456789ab"
    assert r.images("shop", ["api"], "0123456789ab") == {"api": "registry.pcloud:5000/shop/api:0123456789ab"}


@pytest.mark.parametrize("project, service, commit", [
    ("Shop", "api", "0123456789ab"), ("shop", "-api", "0123456789ab"), ("shop", "api\n", "0123456789ab"),
    ("shop", "api", "0123"), ("shop", "api", "HEAD"), ("shop", "api", "0123456789ab\n"), ("sh op", "api", "0123456789ab"),
])
def test_bad_names_are_refused(project, service, commit):
    with pytest.raises(r.RegistryError):
        r.tagged(project, service, commit)


def test_pinned_takes_the_digest_of_our_repository():
    wanted = {"api": "registry.pcloud:5000/shop/api:0123456789ab"}
    info = [{"Id": "sha256:1", "RepoTags": [wanted["api"]],
             "RepoDigests": ["elsewhere/api@" + DIGEST, "registry.pcloud:5000/shop/api@" + DIGEST]}]
    assert r.pinned(info, wanted) == {"api": "registry.pcloud:5000/shop/api@" + DIGEST}
    with pytest.raises(r.RegistryError, match="never pushed"):
        r.pinned([{"RepoTags": [wanted["api"]], "RepoDigests": []}], wanted)
    with pytest.raises(r.RegistryError, match="not on master"):
        r.pinned([], wanted)


def test_services_sharing_a_context_and_dockerfile_build_once():
    paths = {"web": {"path": "/src/app", "dockerfile": "/src/app/Dockerfile"},
             "worker": {"path": "/src/app", "dockerfile": "/src/app/Dockerfile"},
             "front": {"path": "/src", "dockerfile": "/src/front/Dockerfile"}}
    builds = r.distinct_builds(paths, "/src")
    assert sorted(b["services"] for b in builds.values()) == [["front"], ["web", "worker"]]
    assert {(b["context"], b["dockerfile"]) for b in builds.values()} == {(".", "front/Dockerfile"), ("app", "Dockerfile")}
    with pytest.raises(r.RegistryError):
        r.distinct_builds({"x": {"path": "/elsewhere", "dockerfile": "/elsewhere/Dockerfile"}}, "/src")


def test_htpasswd_is_bcrypt_and_stable():
    line = r.htpasswd_line("pcloud", "Zx8kQ2mVn4")
    assert line == r.htpasswd_line("pcloud", "Zx8kQ2mVn4")
    user, hashed = line.split(":", 1)
    assert user == "pcloud" and hashed.startswith("$2b$10$")
    assert bcrypt.checkpw(b"Zx8kQ2mVn4", hashed.encode())
    assert r.htpasswd_line("pcloud", "other") != line
    with pytest.raises(r.RegistryError):
        r.htpasswd_line("pcloud", "with space")


def test_pull_list():
    pinned = {"a": "x@" + DIGEST, "b": "x@" + DIGEST, "c": "y@" + DIGEST}
    assert r.pull_list(pinned) == ["x@" + DIGEST, "y@" + DIGEST]
    assert r.pull_list(pinned, ["c"]) == ["y@" + DIGEST]


def test_kept_images_are_the_newest_releases_of_every_environment():
    ref = "registry.pcloud:5000/shop/api@sha256:%s"
    histories = {"shop-uat": [{"images": {"api": ref % (c * 64)}} for c in "abcd"],
                 "shop-prod": [{"images": {"api": ref % ("e" * 64)}}, {"images": {"api": "pcloud/shop-api:old"}}],
                 "other-uat": [{"images": {"api": "registry.pcloud:5000/other/api@sha256:" + "f" * 64}}]}
    kept = r.kept_images(histories, "shop")
    assert kept == sorted(ref % (c * 64) for c in "bcde")   # the oldest uat release and other projects are not kept
    histories["shop-uat"][0]["tag"] = "v1.0.0-uat-20261201-1200"  # the newest tagged one: prod may promote it next
    assert r.kept_images(histories, "shop") == sorted(ref % (c * 64) for c in "abcde")


def test_prune_candidates():
    prefix = "registry.pcloud:5000/shop/"
    images = [
        {"Id": "old", "RepoDigests": [prefix + "api@sha256:1"], "Size": 10},
        {"Id": "kept", "RepoDigests": [prefix + "api@sha256:2"], "Size": 10},
        {"Id": "used", "RepoDigests": [prefix + "api@sha256:3"], "Size": 10},
        {"Id": "base", "RepoTags": ["pcloud/python:bookworm"], "Size": 10},
        {"Id": "built", "RepoTags": [prefix + "api:0123456789ab"], "RepoDigests": [], "Size": 5},
    ]
    out = r.prune_candidates(images, ["used"], prefix, [prefix + "api@sha256:2"])
    assert [item["id"] for item in out] == ["old", "built"]


def test_manifests_to_delete():
    keep = ["registry.pcloud:5000/shop/api@sha256:2", "registry.pcloud:5000/shop/web@sha256:1"]
    assert r.manifests_to_delete({"a": "sha256:1", "b": "sha256:2", "c": "sha256:2"}, keep, "shop/api") == ["sha256:1"]
