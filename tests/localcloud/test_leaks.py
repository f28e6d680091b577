"""Where secrets may end up on the control node: orchestrate and deploy run with known fake secrets exported (the
provider token, service secrets, SMTP/SMS credentials, a random marker) and every file of the config dir (runner
artifacts, state, releases, checkouts, the local cloud's own files) is searched for them. Also: the local cloud
never prints its token, and a build context symlinked outside the checkout is refused before anything is built."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess

import docker
import pytest

from ..conftest import REPO, VENV_BIN
from .conftest import cloud_id, droplet_engine, fleet_containers, pcloud

# Exported in the environment of the runs only (never written by the test): no file may hold them.
ENV_ONLY = ("HOSTOMATIC_UAT_STRIPE_KEY", "PCLOUD_SMTP_USER", "PCLOUD_SMTP_PASSWORD", "PCLOUD_SMS_TOKEN",
            "PCLOUD_LEAK_MARKER")
# Written by the test to the config dir's .env: that file is their only holder.
DOTENV = ("HOSTOMATIC_STRIPE_PUBLISHABLE_KEY", "HOSTOMATIC_SENDGRID_API_KEY")


def fake(var):
    return "%s-%s" % (var.lower().replace("_", ""), secrets.token_hex(12))


def files_holding(root, values):
    """{name: {file relative to root}} for every value found in a file under root."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            text = path.read_bytes().decode("utf-8", "replace")
            for name, value in values.items():
                if value in text:
                    found.setdefault(name, set()).add(str(path.relative_to(root)))
    return found


@pytest.fixture(scope="module")
def leaked(cloud):
    config = cloud.config_dir
    for stale in ("deployment_config.json", ".env"):
        (config / stale).unlink(missing_ok=True)
    shutil.rmtree(config / "git", ignore_errors=True)
    pcloud("--config-dir", str(config), "init", "--example", env=cloud.env())
    (config / "projects.csv").write_text("Project,Servers,MasterSpec,WebSpec,Environments\n"
                                         "hostomatic,3,s-1vcpu-1gb,s-1vcpu-1gb,uat;prod\n")
    values = {var: fake(var) for var in ENV_ONLY + DOTENV}
    (config / ".env").write_text("# written by tests/localcloud/test_leaks.py\n" + "".join(
        "%s=%s\n" % (var, values[var]) for var in DOTENV))
    values["PCLOUD_API_TOKEN"] = cloud.token
    env = cloud.env(PCLOUD_API_URL=cloud.url, **{var: values[var] for var in ("PCLOUD_API_TOKEN",) + ENV_ONLY})
    runs = [pcloud("--config-dir", str(config), "orchestrate", env=env),
            pcloud("--config-dir", str(config), "deploy", "uat", "hostomatic", env=env)]
    return cloud, values, runs, env


def test_secrets_stay_in_the_files_meant_to_hold_them(leaked):
    cloud, values, _runs, _env = leaked
    holders = files_holding(cloud.config_dir, values)
    # the local cloud keeps its token in a 0600 file (the provider token of these runs); the .env the test wrote
    # holds its own values; nothing else under the config dir (runner artifacts, state, releases, snapshots log,
    # the build checkout, the local cloud's state and log) holds any value
    assert holders == {"PCLOUD_API_TOKEN": {"localcloud/token"},
                       **{var: {".env"} for var in DOTENV}}, holders
    for name in ("localcloud/token", ".env"):
        assert oct((cloud.config_dir / name).stat().st_mode & 0o777) == "0o600", name
    assert not list((cloud.config_dir / ".runner").iterdir())  # no artifacts kept at all
    scratch = REPO / ".ansible" / "tmp"  # ansible's own temporary files (ANSIBLE_HOME is the repository's)
    if scratch.is_dir():
        assert files_holding(scratch, values) == {}


def test_no_secret_in_the_runs_output(leaked):
    _cloud, values, runs, _env = leaked
    for run in runs:
        for name, value in values.items():
            assert value not in run.stdout + run.stderr, (name, run.args)


def test_no_exported_secret_in_any_container_of_the_cloud(leaked):
    """Droplets (on the host's engine) and the services in each droplet's own engine: inspect (environment, labels,
    command) never holds an exported value (service secrets are files, /run/secrets/<name>)."""
    cloud, values, _runs, _env = leaked
    client = docker.from_env()
    droplets = client.containers.list(all=True, filters={"label": "pcloud.cloud=" + cloud_id(cloud)})
    services = fleet_containers(cloud, all=True)
    assert droplets and services
    assert {e.name for e, _i in services} == {c.labels["pcloud.droplet.name"] for c in droplets}
    exported = {var: values[var] for var in ("PCLOUD_API_TOKEN",) + ENV_ONLY}
    inspected = [(c.name, json.dumps(client.api.inspect_container(c.id))) for c in droplets]
    inspected += [("%s: %s" % (e.name, i["Name"]), json.dumps(i)) for e, i in services]
    for name, text in inspected:
        assert not [var for var, value in exported.items() if value in text], name


def test_local_up_and_env_never_print_the_token(cloud, tmp_path):
    env = cloud.env()
    up = pcloud("--config-dir", str(cloud.config_dir), "local", "up", "--port", "0", env=env)
    printed = pcloud("--config-dir", str(cloud.config_dir), "local", "env", env=env)
    for result in (up, printed):
        assert cloud.token not in result.stdout + result.stderr
    assert str(cloud.config_dir / "localcloud" / "token") in up.stdout
    assert 'export PCLOUD_API_TOKEN="$(cat %s)"' % (cloud.config_dir / "localcloud" / "token") in printed.stdout
    # what the Makefile's molecule target does: eval the lines, then the variables hold the values
    shell = subprocess.run(["bash", "-c", 'eval "$("$0" --config-dir "$1" local env)"; '
                                          'printf "%s\\n%s\\n%s" "$PCLOUD_API_URL" "$PCLOUD_API_TOKEN" "$PCLOUD_CONFIG_DIR"',
                            str(VENV_BIN / "pcloud"), str(cloud.config_dir)],
                           capture_output=True, text=True, env=env, check=True, timeout=60)
    assert shell.stdout.split("\n") == [cloud.url, cloud.token, str(cloud.config_dir)]


def test_a_build_context_symlinked_outside_the_checkout_is_refused(leaked, tmp_path):
    """pcloud deploy --local of a working tree whose backend/ is a symlink to a control-node directory: refused
    before any build, naming the service, the path and where it resolves; no image is built, no container moves."""
    cloud, _values, _runs, env = leaked
    work = tmp_path / "hostomatic"
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@localhost", "-C", str(work)]
    subprocess.run(["git", "clone", "--quiet", str(cloud.config_dir / "git" / "hostomatic.git"), str(work)], check=True)
    outside = tmp_path / "control-node"
    outside.mkdir()
    shutil.copy(work / "backend" / "Dockerfile", outside / "Dockerfile")
    (outside / ".env").write_text("HOSTOMATIC_STRIPE_KEY=%s\n" % fake("outside"))
    shutil.rmtree(work / "backend")
    os.symlink(str(outside), str(work / "backend"))
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "--quiet", "-m", "backend/ is a symlink out of the repository"], check=True)
    commit = subprocess.run(git + ["rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    master = droplet_engine(cloud, "pcloud-master")  # where deploys build

    def images():
        return sorted((i["Id"], tuple(sorted(i["RepoTags"]))) for i in master.images())

    def containers():
        return {(e.name, i["Name"]): i["Id"] for e, i in fleet_containers(cloud, "pcloud.project=hostomatic", all=True)}

    images_before, containers_before = images(), containers()
    assert containers_before
    result = pcloud("--config-dir", str(cloud.config_dir), "deploy", "uat", "hostomatic", "--local", "--project-path",
                    str(work), env=env, check=False)
    assert result.returncode != 0
    real = os.path.realpath(outside)
    assert ("service 'backend': build_context 'backend/' resolves to %s and containerfile_path 'backend/Dockerfile' "
            "resolves to %s/Dockerfile, outside the checkout %s" % (real, real, os.path.realpath(work))
            in result.stderr), result.stderr
    after = images()
    assert not [t for _i, tags in after for t in tags if t.endswith(":" + commit[:12])]
    assert after == images_before
    assert containers() == containers_before
