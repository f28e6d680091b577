"""Every field of every spec file, fed hostile values: exit 2, one ``FILE:LINE: field: problem`` line per problem,
no traceback, nothing written - and, for the big inputs, in a separate process within 10 s and 512 MiB."""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import re
import resource
import subprocess
import time
from pathlib import Path

import pytest

from pcloud import cli

from .conftest import VENV_BIN

LINE_RE = re.compile(r"^(?P<file>/[^:]+):(?P<line>[0-9]+): (?P<rest>.+)$")

CSV_HEADER = ["Project", "Servers", "MasterSpec", "WebSpec", "Environments"]
CSV_ROW = {"Project": "shop", "Servers": "2", "MasterSpec": "s-1vcpu-1gb", "WebSpec": "s-1vcpu-1gb",
           "Environments": "prod;uat"}
DEPLOY = {
    "deployment_platform": "docker",
    "git_config": {"base_url": "https://git.example.org/team", "url_pattern": "{base_url}/{project}.git",
                   "branch": "main"},
    "versioning": {"version": "1.0.0"},
    "shared_secrets": ["sentry_dsn"],
    "projects": {"shop": {
        "git_url": "https://git.example.org/team/shop.git", "branch": "main", "versioning": {"version": "1.2.3"},
        "services": {
            "api": {"type": "web", "containerfile_path": "api/Dockerfile", "build_context": "api",
                    "command": "gunicorn app:app", "secrets": ["stripe_key"], "environment": {"LOG_LEVEL": "info"},
                    "health_check": "/health"},
            "jobs": {"type": "worker", "containerfile_path": "Dockerfile", "command": "python worker.py",
                     "queue": "{project}-{environment}-jobs"},
        }}},
}
INFRA = {"infrastructure_spec": {
    "droplets": {"master": {"size": "s-1vcpu-1gb", "region": "lon1", "role": "master"}},
    "projects": {"shop": {"environments": ["prod", "uat"], "web_droplets": 1, "web_droplet_spec": "s-1vcpu-1gb"}},
}}
EMAIL = {"enabled": True, "smtp_host": "mail.example.org", "smtp_port": 587, "tls": "starttls",
         "username_env": "PCLOUD_SMTP_USER", "password_env": "PCLOUD_SMTP_PASSWORD", "from": "pcloud@example.org",
         "to": ["owner@example.org"], "heartbeat_minutes": 15, "backup_after_minutes": 20}
SMS = {"enabled": True, "base_url": "https://api.twilio.com", "account_sid": "AC123", "token_env": "PCLOUD_SMS_TOKEN",
       "from": "+441111111111", "to": ["+442222222222"]}

MB = 1024 * 1024
# name: how a hostile value is made from a good one
HOSTILE = {
    "newline": lambda v: v + "\n",
    "cr": lambda v: v + "\r",
    "nul": lambda v: v[:1] + "\x00" + v[1:],
    "u2028": lambda v: v + "\u2028",
    "dash": lambda v: "-" + v,
    "space": lambda v: v + " " + v,
    "dotdot": lambda v: v + "/..",
    "digits": lambda v: v + "\u0663",  # ARABIC-INDIC DIGIT THREE
    "1mb": lambda v: v + "a" * MB,
}
NAMES = tuple(HOSTILE)
CONTROLS = ("newline", "cr", "nul", "u2028", "1mb")  # what free text (a command, a value) must refuse

# (file, field path, the hostile kinds that field must refuse). A path element "*key" means the key itself.
FIELDS = [
    ("projects.csv", ("Project",), NAMES),
    ("projects.csv", ("Servers",), NAMES),
    ("projects.csv", ("MasterSpec",), NAMES),
    ("projects.csv", ("WebSpec",), NAMES),
    ("projects.csv", ("Environments",), NAMES),
    ("deployment_config.json", ("deployment_platform",), NAMES),
    ("deployment_config.json", ("git_config", "base_url"), NAMES),
    ("deployment_config.json", ("git_config", "url_pattern"), ("newline", "cr", "nul", "u2028", "dash", "space",
                                                                "digits", "1mb")),
    ("deployment_config.json", ("git_config", "branch"), ("newline", "cr", "nul", "u2028", "dash", "space", "dotdot",
                                                          "digits", "1mb")),
    ("deployment_config.json", ("versioning", "version"), NAMES),
    ("deployment_config.json", ("shared_secrets", 0), NAMES),
    ("deployment_config.json", ("projects", "*shop"), NAMES),
    ("deployment_config.json", ("projects", "shop", "git_url"), NAMES),
    ("deployment_config.json", ("projects", "shop", "branch"), ("newline", "cr", "nul", "u2028", "dash", "space",
                                                                 "dotdot", "digits", "1mb")),
    ("deployment_config.json", ("projects", "shop", "versioning", "version"), NAMES),
    ("deployment_config.json", ("projects", "shop", "services", "*api"), NAMES),
    ("deployment_config.json", ("projects", "shop", "services", "api", "type"), NAMES),
    ("deployment_config.json", ("projects", "shop", "services", "api", "containerfile_path"),
     ("newline", "cr", "nul", "u2028", "dotdot", "1mb")),
    ("deployment_config.json", ("projects", "shop", "services", "api", "build_context"),
     ("newline", "cr", "nul", "u2028", "dotdot", "1mb")),
    ("deployment_config.json", ("projects", "shop", "services", "api", "command"), CONTROLS),
    ("deployment_config.json", ("projects", "shop", "services", "api", "secrets", 0), NAMES),
    ("deployment_config.json", ("projects", "shop", "services", "api", "environment", "*LOG_LEVEL"), NAMES),
    ("deployment_config.json", ("projects", "shop", "services", "api", "environment", "LOG_LEVEL"), CONTROLS),
    ("deployment_config.json", ("projects", "shop", "services", "api", "health_check"), NAMES),
    ("deployment_config.json", ("projects", "shop", "services", "jobs", "queue"), NAMES),
    ("infrastructure.json", ("infrastructure_spec", "droplets", "master", "size"), NAMES),
    ("infrastructure.json", ("infrastructure_spec", "droplets", "master", "region"), NAMES),
    ("infrastructure.json", ("infrastructure_spec", "droplets", "master", "role"), NAMES),
    ("infrastructure.json", ("infrastructure_spec", "projects", "*shop"), NAMES),
    ("infrastructure.json", ("infrastructure_spec", "projects", "shop", "environments", 0), NAMES),
    ("infrastructure.json", ("infrastructure_spec", "projects", "shop", "web_droplet_spec"), NAMES),
    ("email_config.json", ("smtp_host",), NAMES),
    ("email_config.json", ("from",), NAMES),
    ("email_config.json", ("to", 0), NAMES),
    ("email_config.json", ("username_env",), NAMES),
    ("email_config.json", ("password_env",), NAMES),
    ("email_config.json", ("tls",), NAMES),
    ("sms_config.json", ("base_url",), NAMES),
    ("sms_config.json", ("account_sid",), NAMES),
    ("sms_config.json", ("token_env",), NAMES),
    ("sms_config.json", ("from",), NAMES),
    ("sms_config.json", ("to", 0), NAMES),
]
CASES = [(f, path, kind) for f, path, kinds in FIELDS for kind in kinds]


def _csv(row):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)  # a CR stays inside its cell
    writer.writerow(CSV_HEADER)
    writer.writerow([row[c] for c in CSV_HEADER])
    return out.getvalue()


def write_config(config: Path, infra_json: bool = False, **override) -> None:
    """A valid config dir (projects.csv, or infrastructure_spec when ``infra_json``), with files replaced."""
    config.mkdir(parents=True, exist_ok=True)
    files = {"deployment_config.json": json.dumps(DEPLOY, indent=2), "email_config.json": json.dumps(EMAIL, indent=2),
             "sms_config.json": json.dumps(SMS, indent=2)}
    if infra_json:
        files["infrastructure.json"] = json.dumps(INFRA, indent=2)
    else:
        files["projects.csv"] = _csv(CSV_ROW)
    files.update(override)
    for name, text in files.items():
        (config / name).write_text(text, encoding="utf-8")


def mutate(file: str, path, kind: str) -> str:
    """The text of ``file`` with the field at ``path`` made hostile."""
    make = HOSTILE[kind]
    if file == "projects.csv":
        row = dict(CSV_ROW)
        row[path[0]] = make(row[path[0]])
        return _csv(row)
    doc = copy.deepcopy({"deployment_config.json": DEPLOY, "infrastructure.json": INFRA,
                         "email_config.json": EMAIL, "sms_config.json": SMS}[file])
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if isinstance(last, str) and last.startswith("*"):
        key = last[1:]
        items = list(parent.items())
        parent.clear()
        for k, v in items:
            parent[make(k) if k == key else k] = v
    else:
        parent[last] = make(str(parent[last]))
    return json.dumps(doc, indent=2)


def snapshot(path: Path):
    return sorted((str(p.relative_to(path)), p.stat().st_mtime_ns, p.stat().st_size) for p in path.rglob("*"))


def check_refusal(config: Path, err: str, file: str, path) -> None:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines, "no message"
    for line in lines:
        if line.startswith("... and "):
            continue
        match = LINE_RE.match(line)
        assert match, "not FILE:LINE: field: problem: %r" % line
        assert match.group("file").startswith(str(config)), line
    assert any(LINE_RE.match(line).group("file") == str(config / file) for line in lines if LINE_RE.match(line)), err
    assert len(lines) <= 51


@pytest.fixture(autouse=True)
def no_provider(monkeypatch):
    for var in ("DO_API_TOKEN", "DIGITALOCEAN_TOKEN", "DO_OAUTH_TOKEN", "PCLOUD_API_URL", "PCLOUD_API_TOKEN",
                "PCLOUD_CONFIG_DIR"):
        monkeypatch.delenv(var, raising=False)


def test_the_valid_configs_validate(capsys, tmp_path):
    for infra_json in (False, True):
        config = tmp_path / ("json" if infra_json else "csv")
        write_config(config, infra_json=infra_json)
        code = cli.main(["--config-dir", str(config), "validate"])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert "valid: 1 projects" in out


@pytest.mark.parametrize("file, path, kind", CASES,
                         ids=["%s:%s:%s" % (f, ".".join(map(str, p)), k) for f, p, k in CASES])
def test_hostile_value_is_refused(capsys, tmp_path, file, path, kind):
    config = tmp_path / "config"
    write_config(config, infra_json=file == "infrastructure.json", **{file: mutate(file, path, kind)})
    before = snapshot(config)
    started = time.monotonic()
    code = cli.main(["--config-dir", str(config), "validate"])
    _out, err = capsys.readouterr()
    assert code == 2, err
    check_refusal(config, err, file, path)
    assert time.monotonic() - started < 10
    assert snapshot(config) == before


@pytest.mark.parametrize("mutation, expected", [
    (lambda t: t.replace('"smtp_port": 587', '"smtp_port": 0'), "smtp_port: must be a port number"),
    (lambda t: t.replace('"smtp_port": 587', '"smtp_port": 65536'), "smtp_port: must be a port number"),
    (lambda t: t.replace('"smtp_port": 587', '"smtp_port": "587"'), "smtp_port: must be a port number"),
    (lambda t: t.replace('"tls": "starttls",', ''), "tls: required for the non-loopback SMTP host"),
    (lambda t: t.replace('"enabled": true', '"enabled": "yes"'), "enabled: must be true or false"),
])
def test_email_settings_are_validated(capsys, tmp_path, mutation, expected):
    config = tmp_path / "config"
    write_config(config, **{"email_config.json": mutation(json.dumps(EMAIL, indent=2))})
    code = cli.main(["--config-dir", str(config), "validate"])
    _out, err = capsys.readouterr()
    assert code == 2 and expected in err, err
    assert re.match(r"^%s:[0-9]+: " % re.escape(str(config / "email_config.json")), err)


def test_loopback_smtp_needs_no_tls_mode(capsys, tmp_path):
    config = tmp_path / "config"
    email = {k: v for k, v in EMAIL.items() if k != "tls"}
    email["smtp_host"] = "127.0.0.1"
    write_config(config, **{"email_config.json": json.dumps(email)})
    assert cli.main(["--config-dir", str(config), "validate"]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("text, expected", [
    ('{"a": NaN}', "NaN is not a number JSON allows"),
    ('{"a": Infinity}', "Infinity is not a number JSON allows"),
    ('{"a": %s}' % ("9" * 5000), "number with 5000 digits is too large"),
    ("[" * 100000 + "]" * 100000, "nested more than 32 levels deep"),
    ('{"projects": {},\n "projects": {}}', "duplicate key 'projects' (first on line 1, again on line 2)"),
])
def test_hostile_json_structure(capsys, tmp_path, text, expected):
    config = tmp_path / "config"
    write_config(config, **{"deployment_config.json": text})
    code = cli.main(["--config-dir", str(config), "validate"])
    _out, err = capsys.readouterr()
    assert code == 2 and expected in err and "Traceback" not in err, err


def test_duplicate_keys_name_both_lines(capsys, tmp_path):
    config = tmp_path / "config"
    text = json.dumps(DEPLOY, indent=2).replace('"LOG_LEVEL": "info"', '"LOG_LEVEL": "info",\n"LOG_LEVEL": "debug"')
    write_config(config, **{"deployment_config.json": text})
    assert cli.main(["--config-dir", str(config), "validate"]) == 2
    err = capsys.readouterr().err
    assert re.search(r"deployment_config.json:(\d+): projects.shop.services.api.environment.LOG_LEVEL: duplicate key "
                     r"'LOG_LEVEL' \(first on line (\d+), again on line \1\)", err), err


@pytest.mark.parametrize("spec", [
    {"infrastructure_spec": {"droplets": {"master": {"size": "s-1vcpu-1gb"}}}},
    {"infrastructure_spec": {"droplets": {"master": {"size": "s-1vcpu-1gb"}}, "projects": {}}},
])
def test_a_spec_without_projects_is_refused(capsys, tmp_path, spec):
    config = tmp_path / "config"
    write_config(config, infra_json=True, **{"infrastructure.json": json.dumps(spec, indent=1)})
    assert cli.main(["--config-dir", str(config), "validate"]) == 2
    assert "would destroy every web droplet" in capsys.readouterr().err


def test_problem_list_is_capped(capsys, tmp_path):
    config = tmp_path / "config"
    rows = "".join("Bad_%d,x,y,z,\n" % i for i in range(200))
    write_config(config, **{"projects.csv": ",".join(CSV_HEADER) + "\n" + rows})
    assert cli.main(["--config-dir", str(config), "validate"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 51 and re.fullmatch(r"\.\.\. and [0-9]+ more problems", lines[-1])


@pytest.mark.parametrize("project, secret, variable", [
    ("do", "api_token", "DO_API_TOKEN"),
    ("pcloud", "api_token", "PCLOUD_PROD_API_TOKEN"),
])
def test_a_secret_named_like_a_pcloud_credential_is_refused(capsys, tmp_path, project, secret, variable):
    config = tmp_path / "config"
    deploy = copy.deepcopy(DEPLOY)
    deploy["projects"] = {project: deploy["projects"]["shop"]}
    deploy["projects"][project]["services"]["api"]["secrets"] = [secret]
    write_config(config, **{"projects.csv": _csv(dict(CSV_ROW, Project=project)),
                            "deployment_config.json": json.dumps(deploy, indent=2)})
    assert cli.main(["--config-dir", str(config), "validate"]) == 2
    assert "would be read from %s, one of pcloud's own credentials" % variable in capsys.readouterr().err


def test_a_project_named_like_another_projects_prefix_is_refused(capsys, tmp_path):
    config = tmp_path / "config"
    write_config(config, **{"projects.csv": ",".join(CSV_HEADER) + "\nhostomatic,1,s-1vcpu-1gb,s-1vcpu-1gb,prod\n"
                                            "hostomatic-prod,1,s-1vcpu-1gb,s-1vcpu-1gb,prod\n",
                            "deployment_config.json": "{}"})
    assert cli.main(["--config-dir", str(config), "validate"]) == 2
    err = capsys.readouterr().err
    assert re.search(r"projects.csv:3: Project: its secret variables HOSTOMATIC_PROD_\* would also be variables of "
                     r"project 'hostomatic'", err), err


# --------------------------------------------------------------------------- files, in a separate process


def run_limited(config: Path, *args: str):
    """``pcloud --config-dir CONFIG ARGS`` in its own process: (result, seconds, peak RSS in MiB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.monotonic()
    env = {k: v for k, v in os.environ.items() if k not in ("PCLOUD_API_URL", "PCLOUD_API_TOKEN", "DO_API_TOKEN")}
    result = subprocess.run([str(VENV_BIN / "pcloud"), "--config-dir", str(config), *args], capture_output=True,
                            text=True, timeout=30, check=False, stdin=subprocess.DEVNULL, env=env)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return result, time.monotonic() - started, max(peak, before) / 1024


@pytest.mark.parametrize("setup, expected", [
    (lambda c: (c / "projects.csv").unlink() or os.mkfifo(c / "projects.csv"), "is not a regular file"),
    (lambda c: (c / "projects.csv").unlink() or (c / "projects.csv").mkdir(), "is a directory"),
    (lambda c: (c / "deployment_config.json").unlink() or (c / "deployment_config.json").symlink_to("/dev/zero"),
     "outside the config dir"),
    (lambda c: (c / "email_config.json").write_text('{"to": ["%s"]}' % ("a" * 10 * 1024 * 1024)),
     "the limit is 5242880"),
    (lambda c: (c / "deployment_config.json").write_text(mutate("deployment_config.json",
                                                                ("projects", "shop", "services", "api", "command"),
                                                                "1mb")), "command: longer than 4096 characters"),
    (lambda c: (c / "deployment_config.json").write_text("[" * 100000 + "]" * 100000), "nested more than 32"),
])
def test_hostile_files_fail_fast_in_bounded_memory(tmp_path, setup, expected):
    config = tmp_path / "config"
    write_config(config)
    setup(config)
    before = snapshot(config) if not (config / "projects.csv").is_fifo() else None
    for command in ("validate", "orchestrate"):
        result, seconds, rss_mib = run_limited(config, command)
        assert result.returncode == 2, result.stderr
        assert expected in result.stderr and "Traceback" not in result.stderr, result.stderr
        assert all(LINE_RE.match(line) for line in result.stderr.strip().splitlines()), result.stderr
        assert seconds < 10, seconds
        assert rss_mib < 512, rss_mib
    if before is not None:
        assert snapshot(config) == before  # orchestrate applied nothing either: no state, no runner dir


def test_a_symlinked_spec_inside_the_config_dir_is_read(capsys, tmp_path):
    config = tmp_path / "config"
    write_config(config)
    (config / "specs").mkdir()
    (config / "projects.csv").rename(config / "specs" / "projects.csv")
    (config / "projects.csv").symlink_to(config / "specs" / "projects.csv")
    assert cli.main(["--config-dir", str(config), "validate"]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("file, mutation, expected", [
    ("email_config.json", lambda d: dict(d, password_env="DO_API_TOKEN"), "password_env: DO_API_TOKEN is a provider token"),
    ("sms_config.json", lambda d: dict(d, token_env="PCLOUD_API_TOKEN"), "token_env: PCLOUD_API_TOKEN is a provider token"),
    ("sms_config.json", lambda d: dict(d, base_url="http://sms.example.com"), "base_url: must use https"),
    ("sms_config.json", lambda d: dict(d, base_url="https://api.twilio.com:99999"), "base_url: must be an https URL"),
    ("sms_config.json", lambda d: dict(d, base_url="https://-/x"), "base_url: must be an https URL"),
    ("email_config.json", lambda d: dict(d, smtp_host="999.1.1.1"), "smtp_host: must be a host name or an IP"),
    ("email_config.json", lambda d: dict(d, timeout=1e300), "timeout: must be a positive number of at most 300"),
    ("deployment_config.json", lambda d: {**d, "projects": {"shop": {**d["projects"]["shop"],
                                                                     "git_url": "ssh://[-oProxyCommand=x]/r"}}},
     "illegal host part"),
])
def test_credentials_and_endpoints_in_settings(capsys, tmp_path, file, mutation, expected):
    config = tmp_path / "config"
    base = {"email_config.json": EMAIL, "sms_config.json": SMS, "deployment_config.json": DEPLOY}[file]
    write_config(config, **{file: json.dumps(mutation(copy.deepcopy(base)), indent=2)})
    assert cli.main(["--config-dir", str(config), "validate"]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err, err


def test_deploy_branch_argument_is_a_ref_name(capsys, tmp_path):
    config = tmp_path / "config"
    write_config(config)
    assert cli.main(["--config-dir", str(config), "deploy", "uat", "shop", "--branch=--upload-pack=x"]) == 2
    assert "(arguments): --branch: illegal branch name" in capsys.readouterr().err
