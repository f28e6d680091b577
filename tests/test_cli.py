"""The pcloud CLI: exit codes, messages on bad input, nothing written, init, plan and status."""

from __future__ import annotations

import json
import re
import stat
import subprocess

import pytest

from pcloud import cli

from .conftest import FIXTURES, VENV_BIN, droplet

LINE_RE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<field>[^:]+): (?P<problem>.+)$")
HEADER = "Project,Servers,MasterSpec,WebSpec\n"


@pytest.fixture(autouse=True)
def no_provider(monkeypatch):
    for var in ("DO_API_TOKEN", "DIGITALOCEAN_TOKEN", "DO_OAUTH_TOKEN", "PCLOUD_API_URL", "PCLOUD_API_TOKEN",
                "PCLOUD_CONFIG_DIR"):
        monkeypatch.delenv(var, raising=False)


def snapshot(path):
    return sorted((str(p.relative_to(path)), p.stat().st_mtime_ns, p.stat().st_size)
                  for p in path.rglob("*"))


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


BAD_INPUTS = [
    # (file, content, expected "file:line: field" prefix)
    ("projects.csv", "", "projects.csv:1: (header)"),
    ("projects.csv", "Project,Servers,MasterSpec\nshop,1,s-1vcpu-1gb\n", "projects.csv:1: WebSpec"),
    ("projects.csv", "Project,Server,MasterSpec,WebSpec\nshop,1,s-1vcpu-1gb,s-1vcpu-1gb\n", "projects.csv:1: Servers"),
    ("projects.csv", HEADER + "shop,two,s-1vcpu-1gb,s-1vcpu-1gb\n", "projects.csv:2: Servers"),
    ("projects.csv", HEADER + "shop,0,s-1vcpu-1gb,s-1vcpu-1gb\n", "projects.csv:2: Servers"),
    ("projects.csv", HEADER + "shop,-2,s-1vcpu-1gb,s-1vcpu-1gb\n", "projects.csv:2: Servers"),
    ("projects.csv", HEADER + "shop,1,s-1vcpu-1gb,s-1vcpu-1gb\r\nshop,1,s-1vcpu-1gb,s-1vcpu-1gb\r\n",
     "projects.csv:3: Project"),
    ("projects.csv", HEADER + "My Shop,1,s-1vcpu-1gb,s-1vcpu-1gb\n", "projects.csv:2: Project"),
    ("projects.csv", HEADER + "shop;rm -rf,1,s-1vcpu-1gb,s-1vcpu-1gb\n", "projects.csv:2: Project"),
    ("projects.csv", HEADER + "../shop,1,s-1vcpu-1gb,s-1vcpu-1gb\n", "projects.csv:2: Project"),
    ("projects.csv", HEADER + "shop,1,s-1vcpu-1gb,s-64vcpu-1tb\n", "projects.csv:2: WebSpec"),
    ("projects.csv", HEADER.strip() + ",Environments\nshop,1,s-1vcpu-1gb,s-1vcpu-1gb,prod;{x}\n",
     "projects.csv:2: Environments"),
    ("deployment_config.json", '{\n  "projects": {\n    "hostomatic": {,}\n  }\n}', "deployment_config.json:3: (syntax)"),
    ("deployment_config.json", "", "deployment_config.json:1: (file)"),
    ("deployment_config.json", '{"deployment_platform": "swarm"}', "deployment_config.json:1: deployment_platform"),
    ("deployment_config.json",
     '{"projects": {"hostomatic": {"services": {\n"api": {"containerfile_path": "api/Dockerfile",\n'
     '"secrets": "db_password"}}}}}', "deployment_config.json:3: projects.hostomatic.services.api.secrets"),
    ("deployment_config.json",
     '{"projects": {"hostomatic": {"services": {\n"api": {"type": "cron", "containerfile_path": "a/Dockerfile"}}}}}',
     "deployment_config.json:2: projects.hostomatic.services.api.type"),
    ("deployment_config.json",
     '{"projects": {"hostomatic": {"services": {\n"api": {\n"containerfile_path": "../../etc/Dockerfile"}}}}}',
     "deployment_config.json:3: projects.hostomatic.services.api.containerfile_path"),
    ("deployment_config.json",
     '{"projects": {"hostomatic": {"services": {\n"api": {"containerfile_path": "a/Dockerfile",\n'
     '"secrets": ["db password"]}}}}}', "deployment_config.json:3: projects.hostomatic.services.api.secrets[0]"),
]


@pytest.mark.parametrize("name, content, expected", BAD_INPUTS)
def test_bad_input_exit_2_with_file_line_field(capsys, seed_config, name, content, expected):
    (seed_config / name).write_text(content, encoding="utf-8")
    before = snapshot(seed_config)
    for command in ("validate", "plan", "status"):
        code, out, err = run(capsys, "--config-dir", str(seed_config), command)
        assert code == 2, (command, out, err)
        lines = err.strip().splitlines()
        assert lines and all(LINE_RE.match(line) for line in lines), err
        assert any(line.startswith(str(seed_config / expected.split(":")[0]) + ":" + expected.split(":", 1)[1])
                   for line in lines), err
        assert "Traceback" not in err
    assert snapshot(seed_config) == before  # nothing written


def test_bad_json_spec_without_csv(capsys, seed_config):
    (seed_config / "projects.csv").unlink()
    (seed_config / "infrastructure.json").write_text(
        '{"infrastructure_spec": {"droplets": {"master": {"size": "s-1vcpu-1gb", "region": "lon1"}},\n'
        ' "projects": {"shop": {"web_droplets": "2",\n "environments": ["prod", "prod"]}}}}\n')
    code, _, err = run(capsys, "--config-dir", str(seed_config), "validate")
    assert code == 2
    lines = err.strip().splitlines()
    assert [LINE_RE.match(line).group("line", "field") for line in lines] == [
        ("3", "infrastructure_spec.projects.shop.environments"), ("2", "infrastructure_spec.projects.shop.web_droplets")
    ] or [LINE_RE.match(line).group("line", "field") for line in lines] == [
        ("2", "infrastructure_spec.projects.shop.web_droplets"), ("3", "infrastructure_spec.projects.shop.environments")
    ]


def test_too_many_ports_on_one_droplet(capsys, seed_config):
    (seed_config / "projects.csv").write_text(HEADER + "".join(
        "p%04d,1,s-1vcpu-1gb,s-1vcpu-1gb\n" % i for i in range(1001)))
    code, _, err = run(capsys, "--config-dir", str(seed_config), "validate")
    assert code == 2
    assert "droplet 'pcloud-master' needs 3003 backend ports but range 8000-8999 holds 998" in err


def test_validate_and_plan_on_seed(capsys, seed_config):
    code, out, err = run(capsys, "--config-dir", str(seed_config), "validate")
    assert code == 0 and "valid: 3 projects, 9 environments, 4 droplets" in out and err == ""
    code, out, _ = run(capsys, "--config-dir", str(seed_config), "plan")
    assert code == 0
    assert re.search(r"^hostomatic-web1\s+web\s+hostomatic\s+s-2vcpu-4gb\s+lon1", out, re.M)
    assert re.search(r"^hostomatic-prod\s+backend\s+web\s+8\d{3}\s+hostomatic-web1, hostomatic-web2", out, re.M)
    code, out, _ = run(capsys, "--config-dir", str(seed_config), "plan", "--json")
    plan = json.loads(out)
    assert sorted(plan["droplets"]) == ["hostomatic-web1", "hostomatic-web2", "mynewproject-web1", "pcloud-master"]
    assert plan["projects"]["hostomatic-prod"]["worker_email"]["type"] == "worker"
    assert plan["summary"]["databases"] == 9 and "changes" not in plan


def test_json_spec_variant_plans(capsys, seed_config):
    (seed_config / "projects.csv").unlink()
    (seed_config / "infrastructure.json").write_text((FIXTURES / "seed" / "infrastructure.json").read_text())
    code, out, _ = run(capsys, "--config-dir", str(seed_config), "--plan", "--json")
    assert code == 0
    plan = json.loads(out)
    assert sorted(plan["projects"]) == ["digitalpixo-prod", "digitalpixo-uat", "hostomatic-prod", "hostomatic-uat"]
    assert plan["droplets"]["digitalpixo-web1"]["size"] == "s-1vcpu-1gb"


def test_plan_with_provider_shows_changes(capsys, seed_config, recorded_api, monkeypatch):
    api = recorded_api([droplet(1, "pcloud-master", "10.9.0.2"), droplet(2, "gone-web1", "10.9.0.3"),
                        droplet(3, "not-ours", "10.9.0.4", tags=("other",))])
    monkeypatch.setenv("PCLOUD_API_URL", api.url)
    monkeypatch.setenv("PCLOUD_API_TOKEN", "test-token")
    code, out, _ = run(capsys, "--config-dir", str(seed_config), "plan", "--json")
    assert code == 0
    changes = json.loads(out)["changes"]
    assert [c["name"] for c in changes["create"]] == ["hostomatic-web1", "hostomatic-web2", "mynewproject-web1"]
    assert [c["name"] for c in changes["destroy"]] == ["gone-web1"]
    code, out, _ = run(capsys, "--config-dir", str(seed_config), "plan")
    assert "+ create   hostomatic-web1" in out and "- destroy  gone-web1" in out


def test_provider_errors_exit_1(capsys, seed_config, recorded_api, monkeypatch):
    api = recorded_api([], token="right")
    monkeypatch.setenv("PCLOUD_API_URL", api.url)
    monkeypatch.setenv("PCLOUD_API_TOKEN", "wrong")
    code, _, err = run(capsys, "--config-dir", str(seed_config), "status")
    assert code == 1 and "HTTP 401" in err and "wrong" not in err


def test_status_from_provider(capsys, seed_config, recorded_api, monkeypatch):
    api = recorded_api([droplet(1, "pcloud-master", "10.9.0.2")])
    monkeypatch.setenv("PCLOUD_API_URL", api.url)
    monkeypatch.setenv("PCLOUD_API_TOKEN", "test-token")
    code, out, _ = run(capsys, "--config-dir", str(seed_config), "--status", "--json")
    rows = {r["name"]: r for r in json.loads(out)["droplets"]}
    assert code == 0
    assert rows["pcloud-master"]["ip"] == "10.9.0.2" and rows["pcloud-master"]["status"] == "active"
    assert rows["hostomatic-web1"]["status"] == "absent"


def test_init_writes_examples_and_key_and_never_overwrites(capsys, tmp_path):
    config = tmp_path / "cfg"
    code, out, _ = run(capsys, "--config-dir", str(config), "init")
    assert code == 0
    for name in ("projects.csv", "deployment_config.json", "email_config.json", "sms_config.json", ".env.example",
                 "ssh/id_ed25519", "ssh/id_ed25519.pub"):
        assert (config / name).is_file(), name
    assert stat.S_IMODE((config / "ssh" / "id_ed25519").stat().st_mode) == 0o600
    assert (config / "ssh" / "id_ed25519.pub").read_text().startswith("ssh-ed25519 ")
    # the key is a real OpenSSH key: ssh-keygen derives the same public key from it
    derived = subprocess.run(["ssh-keygen", "-y", "-f", str(config / "ssh" / "id_ed25519")], check=True,
                             capture_output=True, text=True).stdout.split()[:2]
    assert derived == (config / "ssh" / "id_ed25519.pub").read_text().split()[:2]
    (config / "projects.csv").write_text(HEADER + "mine,1,s-1vcpu-1gb,s-1vcpu-1gb\n")
    before = snapshot(config)
    code, out, _ = run(capsys, "--config-dir", str(config), "--init")
    assert code == 0 and "kept" in out and snapshot(config) == before
    code, out, _ = run(capsys, "--config-dir", str(config), "validate")
    assert code == 0


def test_usage_errors_exit_2(capsys, seed_config):
    code, _, err = run(capsys, "--config-dir", str(seed_config), "frobnicate")
    assert code == 2 and "invalid choice" in err
    code, _, err = run(capsys, "--config-dir", str(seed_config / "missing"), "validate")
    assert code == 2 and "config directory does not exist" in err


def test_config_dir_from_environment(capsys, seed_config, monkeypatch):
    monkeypatch.setenv("PCLOUD_CONFIG_DIR", str(seed_config))
    code, out, _ = run(capsys, "validate")
    assert code == 0 and str(seed_config) in out


def test_console_script_exit_codes(seed_config):
    """The installed entry point, as a user runs it."""
    ok = subprocess.run([str(VENV_BIN / "pcloud"), "--config-dir", str(seed_config), "--validate"],
                        capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    (seed_config / "projects.csv").write_text(HEADER + "Bad Name,1,s-1vcpu-1gb,s-1vcpu-1gb\n")
    bad = subprocess.run([str(VENV_BIN / "pcloud"), "--config-dir", str(seed_config), "validate"],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 2
    assert bad.stderr.strip() == "%s:2: Project: illegal project name 'Bad Name': use lower-case letters, digits " \
                                 "and '-', starting with a letter, not ending with '-', at most 41 characters" % (
                                     seed_config / "projects.csv")


def test_init_example_makes_a_git_repository_and_secrets(capsys, tmp_path):
    from ansible_collections.pcloud.infra.plugins.module_utils import secrets
    from ansible_collections.pcloud.infra.plugins.module_utils.spec import load_spec

    config = tmp_path / "cfg"
    code, out, _ = run(capsys, "--config-dir", str(config), "init", "--example")
    assert code == 0
    spec = load_spec(str(config))
    assert [s.name for s in spec.deploy.services_for("hostomatic")] == ["backend", "frontend", "worker_email",
                                                                         "scheduler"]
    url = spec.deploy.repo_url("hostomatic")
    assert url == "file://%s/git/hostomatic.git" % config
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", url, str(clone)], check=True)
    assert (clone / "backend" / "Dockerfile").read_text().startswith("ARG BASE_IMAGE=")
    assert stat.S_IMODE((config / ".env").stat().st_mode) == 0o600
    dotenv = secrets.parse_dotenv((config / ".env").read_text(), ".env")
    for service in spec.deploy.services_for("hostomatic"):
        assert secrets.resolve("hostomatic", "uat", service.secrets, {}, dotenv)  # every secret is served
    code, out, _ = run(capsys, "--config-dir", str(config), "init", "--example")
    assert code == 0 and "wrote" not in out  # never overwrites


def test_cleanup_refuses_to_keep_nothing(capsys, seed_config):
    before = snapshot(seed_config)
    code, _out, err = run(capsys, "--config-dir", str(seed_config), "--cleanup", "--keep", "0")
    assert code == 2 and "(arguments): --keep: --keep must be at least 1" in err, err
    assert snapshot(seed_config) == before


def test_certificates_refuses_an_empty_renewal_window(capsys, seed_config):
    before = snapshot(seed_config)
    code, _out, err = run(capsys, "--config-dir", str(seed_config), "certificates", "--renew-before", "0")
    assert code == 2 and "(arguments): --renew-before: --renew-before must be at least 1" in err, err
    assert snapshot(seed_config) == before


def test_orchestrate_that_destroys_most_of_the_fleet_needs_yes(capsys, seed_config, recorded_api, monkeypatch):
    # the provider has six fleet droplets the spec no longer has, beside master: a spec that lost its projects
    gone = [droplet(i, "old%d-web1" % i, "10.9.0.%d" % (10 + i)) for i in range(1, 7)]
    api = recorded_api([droplet(100, "pcloud-master", "10.9.0.2", size="s-1vcpu-1gb"), *gone])
    monkeypatch.setenv("PCLOUD_API_URL", api.url)
    monkeypatch.setenv("PCLOUD_API_TOKEN", "test-token")
    before = snapshot(seed_config)
    code, _, err = run(capsys, "--config-dir", str(seed_config), "orchestrate")
    assert code == 2, err
    assert err.startswith("(arguments): --yes: this run would destroy 6 of the fleet's 7 droplets (old1-web1, ")
    assert "nothing was changed. Pass --yes to confirm" in err
    assert snapshot(seed_config) == before
    # a spec edit that is refused this way is undone: the spec is as it was
    spec = (seed_config / "projects.csv").read_text()
    code, _, err = run(capsys, "--config-dir", str(seed_config), "project", "add", "extra")
    assert code == 2 and "--yes" in err
    assert (seed_config / "projects.csv").read_text() == spec and "extra" not in spec
    assert sorted(p.name for p in seed_config.iterdir()) == sorted([e[0] for e in before] + [".pcloud.lock"])
