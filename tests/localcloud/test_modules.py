"""The real community.digitalocean modules against the local cloud (only baseurl and the token differ)."""

from __future__ import annotations

import json
import subprocess

from ..conftest import REPO, VENV_BIN
from .conftest import ssh

PLAY = """
- name: community.digitalocean against the local cloud
  hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    group/community.digitalocean.all:
      baseurl: "{url}"
      oauth_token: "{{{{ lookup('ansible.builtin.env', 'PCLOUD_API_TOKEN') }}}}"
  vars:
    droplet: &droplet
      name: mod-one
      size: s-1vcpu-1gb
      region: lon1
      image: debian-12-x64
      unique_name: true
      tags: [mod-test]
  tasks:
    - name: Upload a key
      community.digitalocean.digital_ocean_sshkey:
        name: mod-key
        ssh_pub_key: "{pub}"
      register: key
    - name: Upload it again
      community.digitalocean.digital_ocean_sshkey:
        name: mod-key
        ssh_pub_key: "{pub}"
      register: key_again
    - name: Create a droplet
      community.digitalocean.digital_ocean_droplet:
        <<: *droplet
        ssh_keys: ["{{{{ key.data.ssh_key.fingerprint }}}}"]
      register: created
    - name: Create it again
      community.digitalocean.digital_ocean_droplet:
        <<: *droplet
        ssh_keys: ["{{{{ key.data.ssh_key.fingerprint }}}}"]
      register: created_again
    - name: Tag it
      community.digitalocean.digital_ocean_tag:
        name: mod-extra
        resource_id: "{{{{ created.data.droplet.id }}}}"
        state: present
      register: tagged
    - name: Tag it again
      community.digitalocean.digital_ocean_tag:
        name: mod-extra
        resource_id: "{{{{ created.data.droplet.id }}}}"
        state: present
      register: tagged_again
    - name: Firewall
      community.digitalocean.digital_ocean_firewall: &fw
        name: mod-fw
        state: present
        droplet_ids: ["{{{{ created.data.droplet.id }}}}"]
        inbound_rules:
          - {{protocol: tcp, ports: "22", sources: {{addresses: ["{gateway}"]}}}}
        outbound_rules:
          - {{protocol: tcp, ports: "0", destinations: {{addresses: ["0.0.0.0/0", "::/0"]}}}}
      register: fw
    - name: Firewall again
      community.digitalocean.digital_ocean_firewall: *fw
      register: fw_again
    - name: Snapshot
      community.digitalocean.digital_ocean_snapshot:
        snapshot_type: droplet
        droplet_id: "{{{{ created.data.droplet.id }}}}"
        snapshot_name: mod-snap
      register: snap
    - name: Find the snapshot
      community.digitalocean.digital_ocean_snapshot_info:
        snapshot_type: droplet
      register: snaps
    - name: Droplet from the snapshot
      community.digitalocean.digital_ocean_droplet:
        name: mod-copy
        size: s-1vcpu-1gb
        region: lon1
        image: "{{{{ (snaps.data | selectattr('name', 'eq', 'mod-snap') | first).id }}}}"
        unique_name: true
        ssh_keys: ["{{{{ key.data.ssh_key.fingerprint }}}}"]
      register: copy
    - name: List droplets
      community.digitalocean.digital_ocean_droplet_info:
      register: listed
    - name: Record what happened
      ansible.builtin.copy:
        dest: "{out}"
        mode: "0600"
        content: "{{{{ {{
          'key': key.changed, 'key_again': key_again.changed,
          'created': created.changed, 'created_again': created_again.changed,
          'ip': created.data.droplet.networks.v4[0].ip_address, 'id': created.data.droplet.id,
          'tagged': tagged.changed, 'tagged_again': tagged_again.changed,
          'fw': fw.changed, 'fw_again': fw_again.changed,
          'snap': snap.changed, 'copy_ip': copy.data.droplet.networks.v4[0].ip_address, 'copy_id': copy.data.droplet.id,
          'listed': listed.data | map(attribute='name') | list,
        }} | to_json }}}}"
"""

DELETE = """
- name: Delete what the module test made
  hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    group/community.digitalocean.all:
      baseurl: "{url}"
      oauth_token: "{{{{ lookup('ansible.builtin.env', 'PCLOUD_API_TOKEN') }}}}"
  tasks:
    - name: Delete the droplets
      community.digitalocean.digital_ocean_droplet:
        id: "{{{{ item }}}}"
        state: absent
      loop: {ids}
      register: deleted
    - name: Delete again
      community.digitalocean.digital_ocean_droplet:
        id: "{{{{ item }}}}"
        state: absent
      loop: {ids}
      register: deleted_again
    - name: Record
      ansible.builtin.copy:
        dest: "{out}"
        mode: "0600"
        content: "{{{{ {{'deleted': deleted.results | map(attribute='changed') | list,
                       'again': deleted_again.results | map(attribute='changed') | list}} | to_json }}}}"
"""


def run_play(cloud, tmp_path, text, name):
    playbook = tmp_path / ("%s.yml" % name)
    playbook.write_text(text)
    result = subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", str(playbook)],
                            capture_output=True, text=True, env=cloud.env(PCLOUD_API_TOKEN=cloud.token), cwd=REPO,
                            check=False, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert cloud.token not in result.stdout
    return result


def test_modules_against_local_cloud(cloud, fleet_key, tmp_path):
    pub = fleet_key.with_suffix(".pub").read_text().strip()
    gw = json.loads((cloud.config_dir / "localcloud" / "endpoint.json").read_text())["droplet_url"].split("/")[2]
    gw = gw.split(":")[0]
    out = tmp_path / "out.json"
    run_play(cloud, tmp_path, PLAY.format(url=cloud.url, pub=pub, gateway=gw, out=out), "modules")
    got = json.loads(out.read_text())
    assert (got["key"], got["key_again"]) == (True, False)
    assert (got["created"], got["created_again"]) == (True, False)
    assert (got["tagged"], got["tagged_again"]) == (True, False)
    assert (got["fw"], got["fw_again"]) == (True, False)
    assert got["snap"] is True
    assert {"mod-one", "mod-copy"} <= set(got["listed"])
    assert ssh(got["ip"], fleet_key, "hostname").stdout.strip() == "mod-one"
    assert ssh(got["copy_ip"], fleet_key, "hostname").stdout.strip() == "mod-copy"
    out2 = tmp_path / "out2.json"
    run_play(cloud, tmp_path, DELETE.format(url=cloud.url, ids=[got["id"], got["copy_id"]], out=out2), "delete")
    assert json.loads(out2.read_text()) == {"deleted": [True, True], "again": [False, False]}
