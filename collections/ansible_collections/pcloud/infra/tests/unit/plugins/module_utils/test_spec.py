# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils.errors import SpecError, SpecErrors
from ansible_collections.pcloud.infra.plugins.module_utils.jsonlines import load_json_text
from ansible_collections.pcloud.infra.plugins.module_utils.spec import (
    DEFAULT_ENVIRONMENTS,
    load_spec,
    parse_deployment_config,
    parse_infrastructure_spec,
    parse_projects_csv,
)
from ansible_collections.pcloud.infra.tests.unit.seed import fixture_text

HEADER = "Project,Servers,MasterSpec,WebSpec\n"


def errors_of(exc_info) -> list[str]:
    exc = exc_info.value
    return [str(e) for e in getattr(exc, "errors", [exc])]


# --------------------------------------------------------------------------- CSV


def test_seed_csv_loads():
    infra = parse_projects_csv(fixture_text("projects.csv"), "projects.csv")
    assert [(p.name, p.servers, p.web_droplets, p.web_size) for p in infra.projects] == [
        ("hostomatic", 3, 2, "s-2vcpu-4gb"),
        ("digitalpixo", 1, 0, "s-1vcpu-1gb"),
        ("mynewproject", 2, 1, "s-1vcpu-2gb"),
    ]
    assert all(p.environments == DEFAULT_ENVIRONMENTS for p in infra.projects)
    # the shared master takes the largest MasterSpec
    assert infra.master_size == "s-2vcpu-4gb"


def test_csv_tolerates_bom_crlf_spaces_blank_lines_and_comments():
    text = "\ufeff Project , Servers ,MasterSpec, WebSpec \r\n# a comment\r\n\r\n shop , 2 , s-1vcpu-1gb ,s-1vcpu-2gb\r\n"
    infra = parse_projects_csv(text, "p.csv")
    assert [(p.name, p.servers, p.web_size, p.line) for p in infra.projects] == [("shop", 2, "s-1vcpu-2gb", 4)]


def test_csv_environments_column_narrows():
    infra = parse_projects_csv(HEADER.strip() + ",Environments\nshop,1,s-1vcpu-1gb,s-1vcpu-1gb,prod; uat\n"
                               "blog,1,s-1vcpu-1gb,s-1vcpu-1gb,\n", "p.csv")
    assert infra.project("shop").environments == ("prod", "uat")
    assert infra.project("blog").environments == DEFAULT_ENVIRONMENTS


def test_csv_environments_column_is_per_row():
    """Issue 12 item 11: a row may leave the optional column out; it gets the default environments."""
    infra = parse_projects_csv(HEADER.strip() + ",Environments\nshop,2,s-1vcpu-1gb,s-1vcpu-1gb,prod;uat\n"
                               "blog,1,s-1vcpu-1gb,s-1vcpu-1gb\n", "p.csv")
    assert infra.project("shop").environments == ("prod", "uat")
    assert infra.project("blog").environments == DEFAULT_ENVIRONMENTS
    with pytest.raises(SpecError) as exc_info:
        parse_projects_csv(HEADER + "shop,2,s-1vcpu-1gb,s-1vcpu-1gb,prod;uat\n", "p.csv")
    assert any("needs the column in the header" in e for e in errors_of(exc_info)), errors_of(exc_info)


def test_csv_rewrites_to_infrastructure_spec():
    infra = parse_projects_csv(HEADER + "shop,3,s-1vcpu-1gb,s-2vcpu-4gb\n", "p.csv", region="fra1")
    assert infra.to_json() == {
        "droplets": {"master": {"size": "s-1vcpu-1gb", "region": "fra1", "role": "master"}},
        "projects": {"shop": {"environments": ["prod", "uat", "test"], "web_droplets": 2,
                              "web_droplet_spec": "s-2vcpu-4gb"}},
    }


@pytest.mark.parametrize("text, expected", [
    ("", "p.csv:1: (header): file is empty"),
    ("   \n\n", "p.csv:1: (header): file is empty"),
    ("Project,Servers,MasterSpec\nshop,1,s-1vcpu-1gb\n", "p.csv:1: WebSpec: missing column 'WebSpec'"),
    ("project,Servers,MasterSpec,WebSpec\n", "p.csv:1: Project: missing column 'Project'"),
    ("Project,Servers,MasterSpec,WebSpec,Colour\n", "p.csv:1: Colour: unknown column 'Colour'"),
    (HEADER, "p.csv:1: (rows): no projects"),
    (HEADER + "shop,abc,s-1vcpu-1gb,s-1vcpu-1gb\n", "p.csv:2: Servers: Servers must be a whole number"),
    (HEADER + "shop,0,s-1vcpu-1gb,s-1vcpu-1gb\n", "p.csv:2: Servers: Servers must be a whole number"),
    (HEADER + "shop,-1,s-1vcpu-1gb,s-1vcpu-1gb\n", "p.csv:2: Servers: Servers must be a whole number"),
    (HEADER + "shop,1.5,s-1vcpu-1gb,s-1vcpu-1gb\n", "p.csv:2: Servers: Servers must be a whole number"),
    (HEADER + "shop,1,s-1vcpu-1gb,s-1vcpu-1gb\nshop,2,s-1vcpu-1gb,s-1vcpu-1gb\n",
     "p.csv:3: Project: duplicate project 'shop' (first defined on line 2)"),
    (HEADER + "Shop,1,s-1vcpu-1gb,s-1vcpu-1gb\n", "p.csv:2: Project: illegal project name 'Shop'"),
    (HEADER + "my shop,1,s-1vcpu-1gb,s-1vcpu-1gb\n", "p.csv:2: Project: illegal project name 'my shop'"),
    (HEADER + "a;b,1,s-1vcpu-1gb,s-1vcpu-1gb\n", "p.csv:2: Project: illegal project name 'a;b'"),
    (HEADER + "a{b},1,s-1vcpu-1gb,s-1vcpu-1gb\n", "p.csv:2: Project: illegal project name 'a{b}'"),
    (HEADER + "a/b,1,s-1vcpu-1gb,s-1vcpu-1gb\n", "p.csv:2: Project: illegal project name 'a/b'"),
    (HEADER + "a..b,1,s-1vcpu-1gb,s-1vcpu-1gb\n", "p.csv:2: Project: illegal project name 'a..b'"),
    (HEADER + "shop-,1,s-1vcpu-1gb,s-1vcpu-1gb\n", "p.csv:2: Project: illegal project name 'shop-'"),
    (HEADER + "%s,1,s-1vcpu-1gb,s-1vcpu-1gb\n" % ("a" * 42), "p.csv:2: Project: illegal project name"),
    (HEADER + "shop,1,s-99vcpu-1tb,s-1vcpu-1gb\n", "p.csv:2: MasterSpec: unknown size slug 's-99vcpu-1tb'"),
    (HEADER + "shop,1,s-1vcpu-1gb,huge\n", "p.csv:2: WebSpec: unknown size slug 'huge'"),
    (HEADER + "shop,1,s-1vcpu-1gb\n", "p.csv:2: (row): expected 4 fields"),
    (HEADER.strip() + ",Environments\nshop,1,s-1vcpu-1gb,s-1vcpu-1gb,prod;prod\n",
     "p.csv:2: Environments: duplicate environment 'prod'"),
    (HEADER.strip() + ",Environments\nshop,1,s-1vcpu-1gb,s-1vcpu-1gb,Prod\n",
     "p.csv:2: Environments: illegal environment name 'Prod'"),
])
def test_csv_bad_input(text, expected):
    with pytest.raises(SpecError) as exc_info:
        parse_projects_csv(text, "p.csv")
    assert any(e.startswith(expected) for e in errors_of(exc_info)), errors_of(exc_info)


def test_csv_reports_every_bad_row():
    text = HEADER + "Bad,1,s-1vcpu-1gb,s-1vcpu-1gb\nok,1,s-1vcpu-1gb,s-1vcpu-1gb\nworse,0,x,s-1vcpu-1gb\n"
    with pytest.raises(SpecErrors) as exc_info:
        parse_projects_csv(text, "p.csv")
    assert [e.split(": ")[0:2] for e in errors_of(exc_info)] == [
        ["p.csv:2", "Project"], ["p.csv:4", "Servers"], ["p.csv:4", "MasterSpec"]]


# --------------------------------------------------------------------------- JSON infrastructure_spec


def test_seed_infrastructure_spec_loads():
    infra = parse_infrastructure_spec(load_json_text(fixture_text("infrastructure.json"), "infrastructure.json"))
    assert infra.master_size == "s-2vcpu-4gb" and infra.region == "lon1"
    assert [(p.name, p.environments, p.web_droplets, p.web_size) for p in infra.projects] == [
        ("hostomatic", ("prod", "uat"), 2, "s-2vcpu-4gb"),
        ("digitalpixo", ("prod", "uat"), 1, "s-1vcpu-1gb"),
    ]


def _infra(projects, master=None):
    master = master or {"size": "s-1vcpu-1gb", "region": "lon1"}
    return json.dumps({"infrastructure_spec": {"droplets": {"master": master}, "projects": projects}}, indent=1)


@pytest.mark.parametrize("text, expected", [
    ("", "i.json:1: (file): file is empty"),
    ('{"infrastructure_spec": {\n "droplets": }', "i.json:2: (syntax): JSON syntax error at column"),
    ("[]", "i.json:1: (root): expected a JSON object"),
    ('{"droplets": {}}', "i.json:1: infrastructure_spec: missing or not an object"),
    (_infra({"shop": {"web_droplets": "2"}}), "i.json:11: infrastructure_spec.projects.shop.web_droplets: expected a "
                                              "whole number"),
    (_infra({"shop": {"web_droplets": -1}}), "infrastructure_spec.projects.shop.web_droplets: expected a whole number"),
    (_infra({"shop": {"environments": "prod"}}), "infrastructure_spec.projects.shop.environments: expected a list, "
                                                 "got a string"),
    (_infra({"shop": {"environments": ["prod", "prod"]}}), "infrastructure_spec.projects.shop.environments: "
                                                           "duplicate environment 'prod'"),
    (_infra({"shop": {"environments": ["pr od"]}}), "infrastructure_spec.projects.shop.environments: illegal "
                                                    "environment name"),
    (_infra({"Shop": {}}), "infrastructure_spec.projects.Shop: illegal project name 'Shop'"),
    (_infra({"shop": {"web_droplet_spec": "xl"}}), "infrastructure_spec.projects.shop.web_droplet_spec: unknown size"),
    (_infra({"shop": {"webdroplets": 2}}), "infrastructure_spec.projects.shop.webdroplets: unknown key"),
    (_infra({"shop": {}}, {"size": "s-1vcpu-1gb", "region": "mars1"}),
     "infrastructure_spec.droplets.master.region: unknown region 'mars1'"),
    (_infra({}), "infrastructure_spec.projects: no projects defined"),
])
def test_infrastructure_spec_bad_input(text, expected):
    with pytest.raises(SpecError) as exc_info:
        parse_infrastructure_spec(load_json_text(text, "i.json"))
    assert any(expected in e for e in errors_of(exc_info)), errors_of(exc_info)


# --------------------------------------------------------------------------- deployment_config.json


def test_seed_deployment_config_loads(seed_deploy):
    assert seed_deploy.platform == "docker"
    assert seed_deploy.repo_url("hostomatic") == "https://github.com/yourorg/hostomatic.git"
    services = {s.name: s for s in seed_deploy.services_for("hostomatic")}
    assert sorted(services) == ["backend", "frontend", "scheduler", "worker_email"]
    assert services["backend"].type == "web" and services["backend"].build_context == "backend/"
    assert services["worker_email"].type == "worker"
    assert services["worker_email"].command == "python email_processor.py"
    # build_context defaults to the Dockerfile's directory
    assert services["worker_email"].build_context == "workers"
    assert services["scheduler"].secrets == ("db_password", "redis_password")


def test_projects_without_deployment_config_get_backend_and_frontend(seed_deploy):
    assert [(s.name, s.type) for s in seed_deploy.services_for("digitalpixo")] == [("backend", "web"),
                                                                                   ("frontend", "web")]


def _deploy(service: dict, **top) -> str:
    doc = {"projects": {"shop": {"services": {"api": service}}}}
    doc.update(top)
    return json.dumps(doc, indent=1)


GOOD = {"containerfile_path": "api/Dockerfile"}


def test_worker_queue_is_filled_in_per_project_env():
    from ansible_collections.pcloud.infra.plugins.module_utils.spec import ServiceSpec

    config = parse_deployment_config(load_json_text(_deploy(dict(GOOD, type="worker", queue="{project}:{environment}-jobs")),
                                                    "d.json"))
    worker = config.projects[0].services[0]
    assert worker.queue_for("shop", "uat") == "shop:uat-jobs" and worker.to_json()["queue"] == "{project}:{environment}-jobs"
    assert ServiceSpec(name="w", type="worker").queue_for("shop", "uat") is None


def test_a_web_service_may_name_the_port_it_listens_on():
    config = parse_deployment_config(load_json_text(_deploy(dict(GOOD, port=5000)), "d.json"))
    assert config.projects[0].services[0].to_json()["port"] == 5000
    plain = parse_deployment_config(load_json_text(_deploy(GOOD), "d.json"))
    assert "port" not in plain.projects[0].services[0].to_json()  # the image's EXPOSE decides, on the droplet


def test_an_entrypoint_is_a_program_or_an_exec_form_list():
    for given, kept in (("./boot.sh", ["./boot.sh"]), (["python", "-m", "app"], ["python", "-m", "app"])):
        config = parse_deployment_config(load_json_text(_deploy(dict(GOOD, entrypoint=given)), "d.json"))
        assert config.projects[0].services[0].to_json()["entrypoint"] == kept
    plain = parse_deployment_config(load_json_text(_deploy(GOOD), "d.json"))
    assert "entrypoint" not in plain.projects[0].services[0].to_json()


@pytest.mark.parametrize("text, expected", [
    ("", "d.json:1: (file): file is empty"),
    ('{\n "projects": {\n  "shop": [}\n}', "d.json:3: (syntax): JSON syntax error"),
    (_deploy(dict(GOOD, secrets="db_password")), "d.json:7: projects.shop.services.api.secrets: expected a list, got a "
                                                 "string"),
    (_deploy(dict(GOOD, type="cron")), "projects.shop.services.api.type: unknown service type 'cron'"),
    (_deploy(GOOD, deployment_platform="nomad"), "deployment_platform: unknown deployment_platform 'nomad'"),
    (_deploy({"containerfile_path": "../other/Dockerfile"}), "containerfile_path: path '../other/Dockerfile' escapes"),
    (_deploy({"containerfile_path": "/etc/Dockerfile"}), "containerfile_path: path '/etc/Dockerfile' must be relative"),
    (_deploy(dict(GOOD, build_context="a/../../b")), "build_context: path 'a/../../b' escapes the repository"),
    (_deploy({"type": "worker"}), "projects.shop.services.api.containerfile_path: required"),
    (_deploy(dict(GOOD, secrets=["DB_PASSWORD"])), "projects.shop.services.api.secrets[0]: illegal secret name"),
    (_deploy(dict(GOOD, secrets=["db-password"])), "projects.shop.services.api.secrets[0]: illegal secret name"),
    (_deploy(dict(GOOD, secrets=["a", "a"])), "projects.shop.services.api.secrets[1]: duplicate secret 'a'"),
    (_deploy(dict(GOOD, environment={"DB_PORT": "1"})), "environment.DB_PORT: DB_PORT is generated by pcloud"),
    (_deploy(dict(GOOD, environment={"lower": "1"})), "environment.lower: illegal environment variable name"),
    (_deploy(dict(GOOD, environment={"X": [1]})), "environment.X: expected a string or number, got a list"),
    (_deploy(dict(GOOD, port=0)), "projects.shop.services.api.port: expected a port 1-65535"),
    (_deploy(dict(GOOD, port=65536)), "projects.shop.services.api.port: expected a port 1-65535"),
    (_deploy(dict(GOOD, port="5000")), "projects.shop.services.api.port: expected a number, got a string"),
    (_deploy(dict(GOOD, port=True)), "projects.shop.services.api.port: expected a number"),
    (_deploy(dict(GOOD, port=5000.0)), "projects.shop.services.api.port: expected a number"),
    (_deploy(dict(GOOD, type="worker", port=5000)), "services.api.port: only a web service listens on a port"),
    (_deploy(dict(GOOD, health_check="health")), "health_check: expected a plain absolute path"),
    (_deploy(dict(GOOD, entrypoint=7)), "services.api.entrypoint: expected a program or a list of strings"),
    (_deploy(dict(GOOD, entrypoint=[])), "services.api.entrypoint: expected a program or a list of strings"),
    (_deploy(dict(GOOD, entrypoint=["./boot.sh", "a\nb"])), "services.api.entrypoint[1]: must be a non-empty line"),
    (_deploy(GOOD, git_config={"base_url": "x", "url_pattern": "{base_url}/{repo}.git"}),
     "git_config.url_pattern: only {base_url} and {project} may appear, with no format spec or conversion; found {repo}"),
    (_deploy(GOOD, git_config={"base_url": 5}), "git_config.base_url: expected a string, got a number"),
    (_deploy(GOOD, versioning={"version": "1.2"}), "versioning.version: expected MAJOR.MINOR.PATCH"),
    (_deploy(dict(GOOD, queue="jobs")), "projects.shop.services.api.queue: only a worker has a queue"),
    (_deploy(dict(GOOD, type="worker", queue="jobs; FLUSHALL")), "services.api.queue: expected a Redis list name"),
    (_deploy(dict(GOOD, type="worker", queue="{repo}-jobs")), "services.api.queue: expected a Redis list name"),
    (_deploy(dict(GOOD, type="worker", queue=7)), "services.api.queue: expected a Redis list name"),
    (json.dumps({"projects": {"shop": {"services": {"Api": GOOD}}}}), "projects.shop.services.Api: illegal service"),
    (json.dumps({"projects": {"shop": {"services": {"database": GOOD}}}}),
     "services.database: service name 'database' is reserved"),
    (json.dumps({"projects": {"shop": {"services": {"a;b": GOOD}}}}), "projects.shop.services.a;b: illegal service"),
])
def test_deployment_config_bad_input(text, expected):
    with pytest.raises(SpecError) as exc_info:
        parse_deployment_config(load_json_text(text, "d.json"))
    assert any(expected in e for e in errors_of(exc_info)), errors_of(exc_info)


# --------------------------------------------------------------------------- the config dir


def test_csv_wins_over_infrastructure_spec(seed_dir):
    (seed_dir / "infrastructure.json").write_text(fixture_text("infrastructure.json"))
    spec = load_spec(str(seed_dir))
    assert spec.infra.source.endswith("projects.csv")
    assert [p.name for p in spec.infra.projects] == ["hostomatic", "digitalpixo", "mynewproject"]


def test_json_spec_used_without_csv(tmp_path):
    (tmp_path / "infrastructure.json").write_text(fixture_text("infrastructure.json"))
    spec = load_spec(str(tmp_path))
    assert spec.infra.source.endswith("infrastructure.json")
    assert spec.deploy.projects == ()


def test_no_spec_at_all(tmp_path):
    with pytest.raises(SpecError) as exc_info:
        load_spec(str(tmp_path))
    assert "no spec found" in errors_of(exc_info)[0]


def test_unknown_deployment_project_is_a_warning(seed_dir):
    (seed_dir / "deployment_config.json").write_text(json.dumps({"projects": {"ghost": {"services": {
        "api": GOOD}}}}))
    spec = load_spec(str(seed_dir))
    assert len(spec.warnings) == 1 and "projects.ghost: not in projects.csv" in spec.warnings[0]


def test_problems_from_several_files_are_reported_together(seed_dir):
    (seed_dir / "projects.csv").write_text(HEADER + "Bad,1,s-1vcpu-1gb,s-1vcpu-1gb\n")
    (seed_dir / "deployment_config.json").write_text("{")
    with pytest.raises(SpecErrors) as exc_info:
        load_spec(str(seed_dir))
    files = [e.split(":")[0].rsplit("/", 1)[-1] for e in errors_of(exc_info)]
    assert files == ["projects.csv", "deployment_config.json"]


def test_invalid_utf8_is_reported(seed_dir):
    (seed_dir / "projects.csv").write_bytes(HEADER.encode() + b"sh\xffop,1,s-1vcpu-1gb,s-1vcpu-1gb\n")
    with pytest.raises(SpecError) as exc_info:
        load_spec(str(seed_dir))
    assert ":2: (encoding): not valid UTF-8" in errors_of(exc_info)[0]
