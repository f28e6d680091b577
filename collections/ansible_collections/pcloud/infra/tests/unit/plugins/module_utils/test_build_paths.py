# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import io
import os
import tarfile

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.community.docker.plugins.module_utils._api.utils.build import tar

from ansible_collections.pcloud.infra.plugins.filter.build_paths import FilterModule
from ansible_collections.pcloud.infra.plugins.module_utils.build_paths import BuildPathError, build_paths, resolve_inside

SECRET = "PCLOUD_API_TOKEN=not-for-a-build"


@pytest.fixture
def tree(tmp_path):
    """A checkout with backend/ (Dockerfile inside) and an outside directory holding a control-node secret."""
    repo = tmp_path / "repo"
    (repo / "backend").mkdir(parents=True)
    (repo / "backend" / "Dockerfile").write_text("FROM scratch\n")
    (repo / "docker").mkdir()
    (repo / "docker" / "worker.Dockerfile").write_text("FROM scratch\n")
    outside = tmp_path / "control"
    outside.mkdir()
    (outside / ".env").write_text(SECRET + "\n")
    (outside / "Dockerfile").write_text("FROM scratch\n")
    return repo, outside


def link(path, target):
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, path)


# (what the repository holds, the service's spec, the problem expected or None)
CASES = [
    ("plain", lambda repo, out: None,
     {"containerfile_path": "backend/Dockerfile", "build_context": "backend/"}, None),
    ("context defaults to the Dockerfile's directory", lambda repo, out: None,
     {"containerfile_path": "backend/Dockerfile"}, None),
    ("Dockerfile outside the context, inside the checkout", lambda repo, out: None,
     {"containerfile_path": "docker/worker.Dockerfile", "build_context": "."}, None),
    ("symlink inside the checkout", lambda repo, out: link(repo / "api", "backend"),
     {"containerfile_path": "api/Dockerfile", "build_context": "api"}, None),
    ("context is a symlink to a directory outside",
     lambda repo, out: link(repo / "app", str(out)),
     {"containerfile_path": "backend/Dockerfile", "build_context": "app"}, "build_context 'app' resolves to {out}"),
    ("context is a relative symlink climbing out",
     lambda repo, out: link(repo / "app", "../control"),
     {"containerfile_path": "backend/Dockerfile", "build_context": "app/"}, "build_context 'app/' resolves to {out}"),
    ("a parent of the context is a symlink outside",
     lambda repo, out: (link(repo / "src", str(out.parent)), None),
     {"containerfile_path": "backend/Dockerfile", "build_context": "src/control"},
     "build_context 'src/control' resolves to {out}"),
    ("Dockerfile is a symlink to a file outside",
     lambda repo, out: link(repo / "backend" / "Dockerfile.prod", str(out / "Dockerfile")),
     {"containerfile_path": "backend/Dockerfile.prod", "build_context": "backend"},
     "containerfile_path 'backend/Dockerfile.prod' resolves to {out}/Dockerfile"),
    ("Dockerfile is a symlink to the control node's .env",
     lambda repo, out: link(repo / "backend" / "Dockerfile.env", str(out / ".env")),
     {"containerfile_path": "backend/Dockerfile.env", "build_context": "backend"},
     "containerfile_path 'backend/Dockerfile.env' resolves to {out}/.env"),
    (".dockerignore is a symlink outside",
     lambda repo, out: link(repo / "backend" / ".dockerignore", str(out / ".env")),
     {"containerfile_path": "backend/Dockerfile", "build_context": "backend"},
     "backend/.dockerignore resolves to {out}/.env"),
    ("a dangling context symlink outside",
     lambda repo, out: link(repo / "app", "/nonexistent/pcloud-build"),
     {"containerfile_path": "backend/Dockerfile", "build_context": "app"},
     "build_context 'app' resolves to /nonexistent/pcloud-build, outside the checkout"),
    ("a missing context", lambda repo, out: None,
     {"containerfile_path": "backend/Dockerfile", "build_context": "nosuch"},
     "build_context 'nosuch' is not a directory of the checkout"),
    ("a missing Dockerfile", lambda repo, out: None,
     {"containerfile_path": "backend/Containerfile", "build_context": "backend"},
     "containerfile_path 'backend/Containerfile' is not a file of the checkout"),
]


@pytest.mark.parametrize("make, body, problem", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_build_paths_table(tree, make, body, problem):
    repo, outside = tree
    make(repo, outside)
    if problem is None:
        paths = build_paths(str(repo), {"svc": body})["svc"]
        assert paths["path"].startswith(os.path.realpath(repo)) and os.path.isdir(paths["path"])
        assert paths["dockerfile"].startswith(os.path.realpath(repo)) and os.path.isfile(paths["dockerfile"])
        return
    with pytest.raises(BuildPathError) as err:
        build_paths(str(repo), {"svc": body})
    message = str(err.value)
    assert message.startswith("service 'svc': ")
    assert problem.format(out=os.path.realpath(outside)) in message, message
    assert SECRET not in message


def test_returns_resolved_paths_for_the_build(tree):
    repo, _outside = tree
    link(repo / "api", "backend")
    got = build_paths(str(repo), {"api": {"containerfile_path": "api/Dockerfile", "build_context": "api"},
                                  "worker": {"containerfile_path": "docker/worker.Dockerfile"}})
    real = os.path.realpath(repo)
    assert got == {"api": {"path": real + "/backend", "dockerfile": real + "/backend/Dockerfile"},
                   "worker": {"path": real + "/docker", "dockerfile": real + "/docker/worker.Dockerfile"}}


def test_a_checkout_reached_through_a_symlink_is_fine(tree, tmp_path):
    repo, _outside = tree
    link(tmp_path / "work", str(repo))
    assert build_paths(str(tmp_path / "work"), {"b": {"containerfile_path": "backend/Dockerfile"}})["b"]["path"] == \
        os.path.realpath(repo / "backend")


def test_a_sibling_with_the_checkout_as_prefix_is_outside(tmp_path):
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo-secrets").mkdir()
    real, inside = resolve_inside(str(tmp_path / "repo"), "../repo-secrets")
    assert real == os.path.realpath(tmp_path / "repo-secrets") and not inside


def test_one_line_per_service_names_each_path_and_the_fix(tree):
    repo, outside = tree
    link(repo / "app", str(outside))
    with pytest.raises(BuildPathError) as err:
        build_paths(str(repo), {"api": {"containerfile_path": "app/Dockerfile", "build_context": "app/"}})
    real, checkout = os.path.realpath(outside), os.path.realpath(repo)
    assert str(err.value) == ("service 'api': build_context 'app/' resolves to %s and containerfile_path 'app/Dockerfile' "
                              "resolves to %s/Dockerfile, outside the checkout %s (commit the files, not a symlink to "
                              "them)" % (real, real, checkout))


def test_every_bad_service_is_named_in_one_error(tree):
    repo, outside = tree
    link(repo / "app", str(outside))
    with pytest.raises(BuildPathError) as err:
        build_paths(str(repo), {"web": {"containerfile_path": "app/Dockerfile"},
                                "ok": {"containerfile_path": "backend/Dockerfile"},
                                "api": {"containerfile_path": "backend/Dockerfile", "build_context": "app"}})
    message = str(err.value)
    assert "service 'api'" in message and "service 'web'" in message and "service 'ok'" not in message


def test_a_missing_checkout_is_refused(tmp_path):
    with pytest.raises(BuildPathError, match="is not a directory"):
        build_paths(str(tmp_path / "nosuch"), {"b": {"containerfile_path": "Dockerfile"}})


def test_filter_adapts_the_error(tree):
    repo, outside = tree
    link(repo / "app", str(outside))
    flt = FilterModule().filters()["build_paths"]
    with pytest.raises(AnsibleFilterError, match=r"^pcloud.infra.build_paths: service 'b': build_context 'app'"):
        flt({"b": {"containerfile_path": "backend/Dockerfile", "build_context": "app"}}, str(repo))
    assert flt({"b": {"containerfile_path": "backend/Dockerfile"}}, str(repo))["b"]["path"].endswith("/backend")


def test_the_build_client_sends_inner_symlinks_as_links(tree):
    """Why symlinks inside a context are not walked: community.docker's build client puts them in the context
    as links (the engine then resolves COPY sources inside the context), never the files they point to."""
    repo, outside = tree
    link(repo / "backend" / "leak.env", str(outside / ".env"))
    link(repo / "backend" / "leakdir", str(outside))
    archive = tar(str(repo / "backend"))
    data = archive.read()
    assert SECRET.encode() not in data
    with tarfile.open(fileobj=io.BytesIO(data)) as members:
        kinds = {m.name: m.issym() for m in members.getmembers()}
    assert kinds["leak.env"] and kinds["leakdir"] and not any(n.startswith("leakdir/") for n in kinds)
