# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A project's Procfile as its services, through load_spec and build_state."""

from __future__ import annotations

import json

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils.errors import SpecError
from ansible_collections.pcloud.infra.plugins.module_utils.spec import load_spec
from ansible_collections.pcloud.infra.plugins.module_utils.topology import build_state

DF = {"containerfile_path": "Dockerfile"}
PROCFILE = "web: gunicorn -b 0.0.0.0:$PORT app:app\nworker: rq worker jobs\nrelease: flask db upgrade\n"


def errors_of(exc_info) -> list[str]:
    exc = exc_info.value
    return [str(e) for e in getattr(exc, "errors", [exc])]


def checkout(config_dir, project, text):
    path = config_dir / ".build" / project
    path.mkdir(parents=True)
    (path / "Procfile").write_text(text)
    return path


def test_an_unlisted_project_takes_its_services_from_the_checkouts_procfile(seed_dir):
    checkout(seed_dir, "digitalpixo", PROCFILE)
    services = {s.name: s for s in load_spec(str(seed_dir)).deploy.services_for("digitalpixo")}
    assert sorted(services) == ["web", "worker"]
    assert services["web"].type == "web" and services["web"].command == "gunicorn -b 0.0.0.0:$PORT app:app"
    assert services["web"].release == "flask db upgrade" and services["worker"].release is None
    assert services["worker"].type == "worker" and services["worker"].command == "rq worker jobs"


def test_the_state_lists_them_and_records_the_procfile(seed_dir):
    checkout(seed_dir, "digitalpixo", PROCFILE)
    state = build_state(load_spec(str(seed_dir)))
    assert sorted(state["projects"]["digitalpixo-uat"]) == ["database", "redis", "web", "worker"]
    assert state["procfiles"] == {"digitalpixo": {"web": "gunicorn -b 0.0.0.0:$PORT app:app",
                                                  "worker": "rq worker jobs", "release": "flask db upgrade"}}


def test_a_deploys_source_wins_over_the_last_checkout(seed_dir, tmp_path_factory):
    checkout(seed_dir, "digitalpixo", "web: old\n")
    local = tmp_path_factory.mktemp("working-tree")
    (local / "Procfile").write_text("web: new\nclock: python clock.py\n")
    spec = load_spec(str(seed_dir), {"digitalpixo": str(local)})
    commands = {s.name: s.command for s in spec.deploy.services_for("digitalpixo")}
    assert commands == {"web": "new", "clock": "python clock.py"}


def test_without_a_source_the_recorded_procfile_is_used(seed_dir):
    checkout(seed_dir, "digitalpixo", PROCFILE)
    state = build_state(load_spec(str(seed_dir)))
    (seed_dir / "infrastructure.json").write_text(json.dumps(state))
    for path in sorted((seed_dir / ".build").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    assert sorted(s.name for s in load_spec(str(seed_dir)).deploy.services_for("digitalpixo")) == ["web", "worker"]


def test_a_checkout_without_a_procfile_keeps_the_default_services(seed_dir):
    (seed_dir / ".build" / "digitalpixo").mkdir(parents=True)
    assert [s.name for s in load_spec(str(seed_dir)).deploy.services_for("digitalpixo")] == ["backend", "frontend"]


def test_listed_services_win_and_may_name_a_process(seed_dir):
    config = json.loads((seed_dir / "deployment_config.json").read_text())
    config["projects"]["digitalpixo"] = {"services": {"api": dict(DF, process="web"),
                                                      "jobs": dict(DF, type="worker", process="worker")}}
    (seed_dir / "deployment_config.json").write_text(json.dumps(config))
    checkout(seed_dir, "digitalpixo", PROCFILE)
    services = {s.name: s for s in load_spec(str(seed_dir)).deploy.services_for("digitalpixo")}
    assert sorted(services) == ["api", "jobs"]
    assert services["api"].command == "gunicorn -b 0.0.0.0:$PORT app:app"
    assert services["jobs"].command == "rq worker jobs" and services["jobs"].process == "worker"
    assert services["api"].release == "flask db upgrade" and services["jobs"].release is None


def test_a_listed_release_wins_over_the_procfiles(seed_dir):
    config = json.loads((seed_dir / "deployment_config.json").read_text())
    config["projects"]["digitalpixo"] = {"services": {"api": dict(DF, process="web"),
                                                      "jobs": dict(DF, type="worker", process="worker",
                                                                   release="python migrate.py")}}
    (seed_dir / "deployment_config.json").write_text(json.dumps(config))
    checkout(seed_dir, "digitalpixo", PROCFILE)
    services = {s.name: s for s in load_spec(str(seed_dir)).deploy.services_for("digitalpixo")}
    assert services["api"].release is None and services["jobs"].release == "python migrate.py"


@pytest.mark.parametrize("body, message", [
    ({"process": "clock"}, "no process 'clock' in"),
    ({"process": "web", "command": "x"}, "give either 'command' or the Procfile 'process'"),
    ({"process": "release"}, "'release' is the release phase"),
    ({"process": "-x"}, "illegal service name '-x'"),
])
def test_a_process_reference_is_checked(seed_dir, body, message):
    config = json.loads((seed_dir / "deployment_config.json").read_text())
    config["projects"]["digitalpixo"] = {"services": {"api": dict(DF, **body)}}
    (seed_dir / "deployment_config.json").write_text(json.dumps(config))
    checkout(seed_dir, "digitalpixo", PROCFILE)
    with pytest.raises(SpecError) as exc_info:
        load_spec(str(seed_dir))
    assert any("projects.digitalpixo.services.api.process" in e and message in e for e in errors_of(exc_info))


def test_a_process_reference_needs_a_procfile_in_the_deploys_source(seed_dir, tmp_path_factory):
    config = json.loads((seed_dir / "deployment_config.json").read_text())
    config["projects"]["digitalpixo"] = {"services": {"api": dict(DF, process="web")}}
    (seed_dir / "deployment_config.json").write_text(json.dumps(config))
    local = tmp_path_factory.mktemp("no-procfile")
    with pytest.raises(SpecError) as exc_info:
        load_spec(str(seed_dir), {"digitalpixo": str(local)})
    assert "has no Procfile" in errors_of(exc_info)[0]


@pytest.mark.parametrize("text, where", [
    ("web: ok\n-rm: rm -rf /\n", "Procfile:2: (process type)"),
    ("web: ok\nworker: a\x1bb\n", "Procfile:2: (line)"),
    ("database: postgres\n", "Procfile: database"),
])
def test_a_hostile_procfile_is_refused_with_its_line(seed_dir, text, where):
    checkout(seed_dir, "digitalpixo", text)
    with pytest.raises(SpecError) as exc_info:
        load_spec(str(seed_dir))
    assert any(where in e for e in errors_of(exc_info)), errors_of(exc_info)


def test_a_recorded_procfile_is_checked_again(seed_dir):
    checkout(seed_dir, "digitalpixo", PROCFILE)
    state = build_state(load_spec(str(seed_dir)))
    state["procfiles"]["digitalpixo"]["-evil"] = "rm -rf /"
    (seed_dir / "infrastructure.json").write_text(json.dumps(state))
    for path in sorted((seed_dir / ".build").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    with pytest.raises(SpecError) as exc_info:
        load_spec(str(seed_dir))
    assert "(procfiles.digitalpixo)" in errors_of(exc_info)[0] and "'-evil'" in errors_of(exc_info)[0]
