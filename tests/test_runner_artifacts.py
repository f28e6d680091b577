"""What a run leaves on disk: ansible-runner writes the whole process environment (every exported token) into
its artifacts, task results into job_events and the output into stdout. pcloud.runner keeps none of it."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest

from pcloud import runner

PLAYBOOK = """\
- name: A run with secrets in its environment
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: The environment ansible-runner recorded while the playbook runs (names only by now)
      ansible.builtin.set_fact:
        recorded: "{{ lookup('ansible.builtin.file', lookup('ansible.builtin.env', 'AWX_ISOLATED_DATA_DIR') ~ '/command') | from_json }}"
        marker: "{{ lookup('ansible.builtin.env', 'PCLOUD_TEST_MARKER') }}"

    - name: Check the secret reached the playbook, and the recorded environment holds no value
      ansible.builtin.assert:
        that:
          - marker | length == 32
          - marker not in (recorded | to_json)
          - "'PCLOUD_TEST_MARKER' in recorded.env"
        quiet: true

    - name: A task that echoes a secret
      ansible.builtin.debug:
        msg: "{{ lookup('ansible.builtin.env', 'PCLOUD_SMTP_PASSWORD') }}"

    - name: A no_log task using the token and the SMS token
      ansible.builtin.command: "echo {{ lookup('ansible.builtin.env', 'PCLOUD_API_TOKEN') }} {{ lookup('ansible.builtin.env', 'PCLOUD_SMS_TOKEN') }}"
      changed_when: false
      no_log: true

    - name: A task that fails
      ansible.builtin.fail:
        msg: failed on purpose
      when: fail_it | default(false) | bool
"""


@pytest.fixture
def secret_env(monkeypatch, tmp_path):
    """The playbooks dir swapped for one test playbook, and known secret values in the environment."""
    books = tmp_path / "playbooks"
    books.mkdir()
    (books / "leaky.yml").write_text(PLAYBOOK)
    (books / "broken.yml").write_text("- name: Not a play\n  hosts: localhost\n  tasks: {this is: [not yaml\n")
    monkeypatch.setattr(runner, "PLAYBOOKS", books)
    for var in ("ANSIBLE_CONFIG", "PCLOUD_CONFIG_DIR", "NO_PROXY", "no_proxy", "PATH"):
        monkeypatch.setenv(var, os.environ.get(var, ""))  # run_playbook sets them; restore them afterwards
    values = {var: secrets.token_hex(16) for var in ("PCLOUD_TEST_MARKER", "PCLOUD_API_TOKEN", "PCLOUD_SMTP_PASSWORD",
                                                     "PCLOUD_SMS_TOKEN")}
    for var, value in values.items():
        monkeypatch.setenv(var, value)
    config = tmp_path / "config"
    config.mkdir()
    return config, values


def files_holding(root, values):
    """{variable: [files under root holding its value]}."""
    found = {}
    for path in root.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", "replace")
            for var, value in values.items():
                if value in text:
                    found.setdefault(var, []).append(str(path.relative_to(root)))
    return found


def test_a_run_keeps_no_environment_events_or_output(secret_env):
    config, values = secret_env
    result = runner.run_playbook("leaky", str(config), quiet=True)
    assert result.ok, result.errors
    assert result.hosts["localhost"]["ok"] == 4 and result.hosts["localhost"]["skipped"] == 1
    assert files_holding(config, values) == {}
    assert [p.name for p in (config / ".runner").iterdir()] == []  # the run's private dir is gone
    assert oct((config / ".runner").stat().st_mode & 0o777) == "0o700"


def test_a_failed_run_still_reports_its_error_and_keeps_nothing(secret_env):
    config, values = secret_env
    result = runner.run_playbook("leaky", str(config), {"fail_it": True}, quiet=True)
    assert not result.ok and result.errors == ["A task that fails: failed on purpose"]
    assert result.hosts["localhost"]["failed"] == 1
    assert files_holding(config, values) == {}


def test_a_playbook_that_does_not_parse_reports_ansibles_own_message(secret_env):
    config, values = secret_env
    result = runner.run_playbook("broken", str(config), quiet=True)
    assert not result.ok and result.rc != 0
    assert len(result.errors) == 1 and "broken.yml:4" in result.errors[0], result.errors
    assert files_holding(config, values) == {}


def test_what_killed_runs_and_earlier_versions_left_is_removed(secret_env):
    config, values = secret_env
    runner_dir = config / ".runner"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True).stdout.strip()
    for name in ("artifacts/0f1e/command", "run-%s-abc/artifacts/x/command" % dead,
                 "run-%d-def/artifacts/y/command" % os.getppid()):
        (runner_dir / name).parent.mkdir(parents=True)
        (runner_dir / name).write_text(values["PCLOUD_API_TOKEN"])
    assert runner.sweep_runner_dir(str(runner_dir)) == ["artifacts", "run-%s-abc" % dead]
    # a run dir of a live process (another pcloud run in progress) is kept
    assert files_holding(config, values) == {"PCLOUD_API_TOKEN": [".runner/run-%d-def/artifacts/y/command" % os.getppid()]}
