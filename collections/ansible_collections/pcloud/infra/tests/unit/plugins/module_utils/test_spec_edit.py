# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils.errors import SpecError
from ansible_collections.pcloud.infra.plugins.module_utils.spec import load_spec
from ansible_collections.pcloud.infra.plugins.module_utils.spec_edit import add_project, remove_project, scale_project
from ansible_collections.pcloud.infra.tests.unit.seed import fixture_text


def projects(config_dir):
    return {p.name: (p.servers, p.web_size, p.environments) for p in load_spec(str(config_dir)).infra.projects}


def test_csv_add_scale_remove(seed_dir):
    add_project(str(seed_dir), "blog", servers=2, size="s-1vcpu-1gb", envs=["prod"])
    assert projects(seed_dir)["blog"] == (2, "s-1vcpu-1gb", ("prod",))
    # the others keep their environments even though a column was added
    assert projects(seed_dir)["hostomatic"][2] == ("prod", "uat", "test")
    scale_project(str(seed_dir), "hostomatic", 1)
    assert projects(seed_dir)["hostomatic"][0] == 1
    remove_project(str(seed_dir), "digitalpixo")
    assert sorted(projects(seed_dir)) == ["blog", "hostomatic", "mynewproject"]
    # the master size of a new row is the fleet's (largest) master size
    assert "blog,2,s-2vcpu-4gb,s-1vcpu-1gb,prod" in (seed_dir / "projects.csv").read_text()


def test_json_spec_edits(tmp_path):
    (tmp_path / "infrastructure.json").write_text(fixture_text("infrastructure.json"))
    add_project(str(tmp_path), "blog", servers=3, envs=["prod", "uat"])
    scale_project(str(tmp_path), "hostomatic", 1, size="s-1vcpu-2gb")
    remove_project(str(tmp_path), "digitalpixo")
    spec = json.loads((tmp_path / "infrastructure.json").read_text())["infrastructure_spec"]["projects"]
    assert spec == {"hostomatic": {"environments": ["prod", "uat"], "web_droplets": 0, "web_droplet_spec": "s-1vcpu-2gb"},
                    "blog": {"environments": ["prod", "uat"], "web_droplets": 2}}


@pytest.mark.parametrize("call, message", [
    (lambda d: add_project(d, "hostomatic"), "project 'hostomatic' already exists"),
    (lambda d: add_project(d, "Bad"), "illegal project name 'Bad'"),
    (lambda d: add_project(d, "ok", servers=0), "servers must be from 1"),
    (lambda d: add_project(d, "ok", size="huge"), "unknown size slug 'huge'"),
    (lambda d: add_project(d, "ok", envs=["prod", "prod"]), "duplicate environment"),
    (lambda d: scale_project(d, "nosuch", 2), "no project 'nosuch'"),
    (lambda d: remove_project(d, "nosuch"), "no project 'nosuch'"),
])
def test_bad_edits_write_nothing(seed_dir, call, message):
    before = (seed_dir / "projects.csv").read_text()
    with pytest.raises(SpecError, match=message):
        call(str(seed_dir))
    assert (seed_dir / "projects.csv").read_text() == before


def test_cannot_remove_the_last_project(tmp_path):
    (tmp_path / "projects.csv").write_text("Project,Servers,MasterSpec,WebSpec\nonly,1,s-1vcpu-1gb,s-1vcpu-1gb\n")
    with pytest.raises(SpecError, match="cannot remove the last project"):
        remove_project(str(tmp_path), "only")
