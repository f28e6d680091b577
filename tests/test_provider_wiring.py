"""Token resolution has one source (module_utils/provider.py through the pcloud.infra.provider lookup): the
playbooks honour every DigitalOcean token variable the modules and the inventory honour, and none re-implements it."""

from __future__ import annotations

import re
import subprocess

import pytest

from .conftest import REPO, VENV_BIN, ansible_env

PLAYBOOKS = sorted((REPO / "playbooks").rglob("*.yml"))
# what a play resolving a provider token or URL by itself would read
RESOLVING = re.compile(r"DO_API_TOKEN|DIGITALOCEAN_TOKEN|DO_OAUTH_TOKEN|PCLOUD_API_TOKEN|PCLOUD_AGENT_API_TOKEN|"
                       r"localcloud/token|api\.digitalocean\.com")


@pytest.mark.parametrize("path", PLAYBOOKS, ids=lambda p: str(p.relative_to(REPO)))
def test_no_playbook_resolves_a_token_itself(path):
    code = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
    assert [line for line in code if RESOLVING.search(line)] == []


def test_token_variables_come_from_the_provider_lookup():
    defined = {}
    for path in PLAYBOOKS:
        for match in re.finditer(r"^\s*(__pcloud_(?:agent_)?token|__pcloud_droplet_api):\s*(.*)$", path.read_text(), re.M):
            defined.setdefault(match.group(1), []).append((path.name, match.group(2)))
    assert set(defined) == {"__pcloud_token", "__pcloud_agent_token", "__pcloud_droplet_api"}
    for where in defined["__pcloud_token"]:
        assert "lookup('pcloud.infra.provider', 'token'" in where[1], where


@pytest.mark.parametrize("var", ["DO_API_TOKEN", "DIGITALOCEAN_TOKEN", "DO_OAUTH_TOKEN"])
def test_playbook_token_honours_every_digitalocean_variable(tmp_path, var):
    """playbooks/vars/deploy.yml (deploy, agents, lb_move, cleanup, recover) as ansible-playbook evaluates it; a
    DigitalOcean token wins over a local cloud's, as in resolve_provider."""
    config = tmp_path / "config"
    (config / "localcloud").mkdir(parents=True)
    (config / "localcloud" / "endpoint.json").write_text('{"url": "http://127.0.0.1:9/v2", "droplet_url": ""}')
    (config / "localcloud" / "token").write_text("local-token\n")
    playbook = tmp_path / "token.yml"
    playbook.write_text("""
- name: The provider token of the deploy playbooks
  hosts: localhost
  gather_facts: false
  vars_files:
    - %s
  tasks:
    - name: Check the token (never printed)
      ansible.builtin.assert:
        that: __pcloud_token == 'fake-do-token'
        quiet: true
""" % (REPO / "playbooks" / "vars" / "deploy.yml"))
    result = subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)],
                            capture_output=True, text=True, cwd=REPO, check=False,
                            env=ansible_env(PCLOUD_CONFIG_DIR=str(config), **{var: "fake-do-token"}))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "fake-do-token" not in result.stdout + result.stderr
