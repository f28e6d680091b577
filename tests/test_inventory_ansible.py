"""The inventory plugin and the filters as Ansible itself runs them (ansible-inventory, ansible-doc, a playbook)."""

from __future__ import annotations

import json
import subprocess

import pytest

from .conftest import REPO, VENV_BIN, ansible_env, droplet

# Pagination: three droplets with per_page=2 means the plugin must follow an absolute next link.
RECORDED = [
    droplet(11, "pcloud-master", "10.9.0.2"),
    droplet(12, "hostomatic-web1", "10.9.0.3"),
    droplet(13, "hostomatic-web2", "10.9.0.4"),
    droplet(14, "stranger", "10.9.0.9", tags=("other",)),
]


@pytest.fixture
def inventory_file(tmp_path, seed_config):
    path = tmp_path / "fleet.pcloud.yml"
    path.write_text("plugin: pcloud.infra.projects\nconfig_dir: %s\n" % seed_config)
    return path


def ansible_inventory(inventory_file, **env):
    result = subprocess.run([str(VENV_BIN / "ansible-inventory"), "-i", str(inventory_file), "--list"],
                            capture_output=True, text=True, env=ansible_env(**env), cwd=REPO, check=False)
    assert result.returncode == 0, result.stderr
    return plain(json.loads(result.stdout))


def plain(value):
    """Drop the markers ansible-inventory puts on values that came from outside (untrusted)."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def test_ansible_inventory_list(inventory_file, recorded_api):
    api = recorded_api(RECORDED)
    data = ansible_inventory(inventory_file, PCLOUD_API_URL=api.url, PCLOUD_API_TOKEN="test-token")
    assert data["master"]["hosts"] == ["pcloud-master"]
    assert sorted(data["web"]["hosts"]) == ["hostomatic-web1", "hostomatic-web2"]
    assert sorted(data["project_hostomatic"]["hosts"]) == ["hostomatic-web1", "hostomatic-web2", "pcloud-master"]
    assert sorted(data["env_uat"]["hosts"]) == ["hostomatic-web1", "hostomatic-web2", "pcloud-master"]
    hostvars = data["_meta"]["hostvars"]
    assert "stranger" not in hostvars and "mynewproject-web1" not in hostvars  # not ours / not created
    assert hostvars["hostomatic-web2"]["ansible_host"] == "10.9.0.4"
    assert hostvars["hostomatic-web2"]["pcloud_monitors"] == ["pcloud-master", "mynewproject-web1"]
    assert all(r.startswith("/v2/droplets?") and "tag_name=pcloud" in r for r in api.requests)


def test_ansible_inventory_paginates(inventory_file, recorded_api):
    api = recorded_api(RECORDED)
    api.max_per_page = 2  # the server caps pages, as DigitalOcean does at 200: the plugin must follow next
    data = ansible_inventory(inventory_file, PCLOUD_API_URL=api.url, PCLOUD_API_TOKEN="test-token")
    assert sorted(data["_meta"]["hostvars"]) == ["hostomatic-web1", "hostomatic-web2", "pcloud-master"]
    assert len(api.requests) == 2 and "page=2" in api.requests[1]


def test_ansible_inventory_bad_spec_fails_clearly(inventory_file, seed_config, recorded_api):
    (seed_config / "projects.csv").write_text("Project,Servers,MasterSpec,WebSpec\nshop,0,s-1vcpu-1gb,s-1vcpu-1gb\n")
    api = recorded_api(RECORDED)
    result = subprocess.run([str(VENV_BIN / "ansible-inventory"), "-i", str(inventory_file), "--list"],
                            capture_output=True, text=True, check=False,
                            env=ansible_env(PCLOUD_API_URL=api.url, PCLOUD_API_TOKEN="test-token",
                                            ANSIBLE_INVENTORY_UNPARSED_FAILED="true"), cwd=REPO)
    assert result.returncode != 0
    assert "projects.csv:2: Servers: Servers must be a whole number" in result.stderr


def test_ansible_doc_renders_every_plugin():
    for kind, name in [("inventory", "pcloud.infra.projects")] + [
            ("filter", "pcloud.infra.%s" % f) for f in ("resource_hash", "service_name", "service_port", "lb_targets",
                                                         "services_on_droplet", "monitored_by")]:
        result = subprocess.run([str(VENV_BIN / "ansible-doc"), "-t", kind, name], capture_output=True, text=True,
                                env=ansible_env(), cwd=REPO, check=False)
        assert result.returncode == 0, result.stderr
        assert "EXAMPLES" in result.stdout and ("RETURN" in result.stdout or kind == "inventory"), name


def test_filters_in_a_real_playbook(tmp_path, seed_config):
    """The filters as a play uses them, on a state rendered by the CLI."""
    plan = subprocess.run([str(VENV_BIN / "pcloud"), "--config-dir", str(seed_config), "plan", "--json"],
                          capture_output=True, text=True, check=True, env=ansible_env()).stdout
    state = json.loads(plan)
    for name, ip in (("pcloud-master", "10.9.0.2"), ("hostomatic-web1", "10.9.0.3"), ("hostomatic-web2", "10.9.0.4"),
                     ("mynewproject-web1", "10.9.0.5")):
        state["droplets"][name]["ip"] = ip
    (tmp_path / "state.json").write_text(json.dumps(state))
    playbook = tmp_path / "filters.yml"
    playbook.write_text("""
- name: Use the pcloud.infra filters
  hosts: localhost
  gather_facts: false
  vars:
    pcloud_state: "{{ lookup('ansible.builtin.file', '%s') | from_json }}"
  tasks:
    - name: Write what the filters return
      ansible.builtin.copy:
        dest: "%s"
        mode: "0644"
        content: "{{ {
          'hash': 'hostomatic' | pcloud.infra.resource_hash('prod'),
          'name': 'hostomatic' | pcloud.infra.service_name('prod', 'backend'),
          'port': pcloud_state | pcloud.infra.service_port('hostomatic-prod', 'backend'),
          'targets': pcloud_state | pcloud.infra.lb_targets(key='hostomatic-prod', service='backend'),
          'on_web1': pcloud_state | pcloud.infra.services_on_droplet('hostomatic-web1') | map(attribute='service_name'),
          'watchers': pcloud_state | pcloud.infra.monitored_by('pcloud-master'),
        } | to_json }}"
""" % (tmp_path / "state.json", tmp_path / "out.json"))
    result = subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)],
                            capture_output=True, text=True, env=ansible_env(), cwd=REPO, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    out = json.loads((tmp_path / "out.json").read_text())
    port = state["projects"]["hostomatic-prod"]["backend"]["port"]
    assert out["hash"] == "8ef866a5f8d4" and out["name"] == "hostomatic-prod-backend" and out["port"] == port
    assert out["targets"] == {"hostomatic-prod": {"backend": ["10.9.0.3:%d" % port, "10.9.0.4:%d" % port]}}
    assert "hostomatic-prod-backend" in out["on_web1"]
    assert out["watchers"] == ["hostomatic-web1", "hostomatic-web2", "mynewproject-web1"]
