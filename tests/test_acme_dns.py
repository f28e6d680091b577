"""acme-dns for real, without droplets: pebble orders an apex and its wildcard, validated over DNS-01 against
pebble-challtestsrv's DNS server, whose TXT records pcloud.infra.pcloud_dns_txt publishes through a Cloudflare API
(tests/localcloud/cloudflare.py) — the steps and filters of the nginx_lb role's acme.yml."""

from __future__ import annotations

import json
import subprocess

import pytest
from cryptography import x509

from .conftest import REPO, VENV_BIN, ansible_env
from .localcloud.cloudflare import FakeCloudflare
from .localcloud.pebble import Pebble, ensure_installed

TOKEN = "cf-test-token-5f3a"

PLAYBOOK = """
- name: An apex and its wildcard over DNS-01
  hosts: localhost
  gather_facts: false
  vars:
    certs: [{name: site, domains: [hostomatic.example, "*.hostomatic.example"], tls: acme-dns}]
  tasks:
    - name: Keys
      community.crypto.openssl_privatekey:
        path: "{{ dir }}/{{ item }}.key"
        type: ECC
        curve: secp256r1
      loop: [account, site]
    - name: CSR
      community.crypto.openssl_csr_pipe:
        privatekey_path: "{{ dir }}/site.key"
        common_name: hostomatic.example
        subject_alt_name: [DNS:hostomatic.example, "DNS:*.hostomatic.example"]
      register: csr
    - name: Due
      community.crypto.x509_certificate_info:
        path: "{{ dir }}/site.crt"
      register: info
      failed_when: false
    - name: Orders
      ansible.builtin.set_fact:
        orders: "{{ certs | pcloud.infra.acme_orders([{'exists': false, 'should_renew': true}], [info]) }}"
    - name: Order
      community.crypto.acme_certificate:
        acme_directory: "{{ directory }}"
        acme_version: 2
        account_key_src: "{{ dir }}/account.key"
        terms_agreed: true
        challenge: "{{ item.challenge }}"
        csr_content: "{{ csr.csr }}"
        fullchain_dest: "{{ dir }}/site.crt"
        force: true
      loop: "{{ orders }}"
      register: order
    - name: Challenges
      ansible.builtin.set_fact:
        challenges: "{{ order.results | pcloud.infra.acme_challenges }}"
    - name: Publish
      pcloud.infra.pcloud_dns_txt:
        api_url: "{{ cf_url }}"
        api_token: "{{ cf_token }}"
        records: "{{ challenges.dns }}"
        nameservers: [127.0.0.1:18053]
      register: published
    - name: Publish again (nothing to do)
      pcloud.infra.pcloud_dns_txt:
        api_url: "{{ cf_url }}"
        api_token: "{{ cf_token }}"
        records: "{{ challenges.dns }}"
        nameservers: [127.0.0.1:18053]
      register: again
    - name: Issue
      community.crypto.acme_certificate:
        acme_directory: "{{ directory }}"
        acme_version: 2
        account_key_src: "{{ dir }}/account.key"
        terms_agreed: true
        challenge: dns-01
        csr_content: "{{ csr.csr }}"
        fullchain_dest: "{{ dir }}/site.crt"
        force: true
        data: "{{ order.results[0] }}"
    - name: Remove
      pcloud.infra.pcloud_dns_txt:
        api_url: "{{ cf_url }}"
        api_token: "{{ cf_token }}"
        records: "{{ challenges.dns }}"
        state: absent
      register: removed
    - name: Report
      ansible.builtin.copy:
        content: "{{ {'challenges': challenges, 'published': published, 'again': again, 'removed': removed} | to_json }}"
        dest: "{{ dir }}/report.json"
        mode: "0600"
"""


def _play(tmp_path, playbook, env=None, **extra):
    """ansible-playbook on localhost with ``extra`` as extra vars and ``env`` added to its environment."""
    (tmp_path / "play.yml").write_text(playbook)
    return subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           str(tmp_path / "play.yml"), "-e", json.dumps(extra)],
                          capture_output=True, text=True, cwd=REPO, check=False, env=ansible_env(**(env or {})))


@pytest.fixture(scope="module")
def pebble(tmp_path_factory):
    try:
        ensure_installed()
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        pytest.skip("pebble is not installed and cannot be: %s" % exc)
    with Pebble(tmp_path_factory.mktemp("pebble"), resolve_to="127.0.0.1") as ca:
        yield ca


def test_an_apex_and_its_wildcard_are_issued_over_dns01_through_the_cloudflare_api(pebble, tmp_path):
    with FakeCloudflare(TOKEN, ["example.org", "hostomatic.example"], str(pebble.dir / "listener.crt"),
                        str(pebble.dir / "listener.key")) as cf:
        run = _play(tmp_path, PLAYBOOK, dir=str(tmp_path), directory=pebble.directory_url, cf_url=cf.url,
                    cf_token=TOKEN, env={"SSL_CERT_FILE": pebble.ca_bundle})
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
        assert TOKEN not in run.stdout + run.stderr
        report = json.loads((tmp_path / "report.json").read_text())
        # two authorizations (apex, wildcard), two TXT values under the one name, published in the right zone
        assert sorted(r["name"] for r in report["challenges"]["dns"]) == ["_acme-challenge.hostomatic.example"] * 2
        assert report["published"]["created"] == 2 and report["published"]["changed"]
        assert not report["again"]["changed"] and report["again"]["created"] == 0
        assert report["removed"]["deleted"] == 2 and cf.records == {}
    cert = x509.load_pem_x509_certificate((tmp_path / "site.crt").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert sorted(names) == ["*.hostomatic.example", "hostomatic.example"]
    assert "Pebble" in cert.issuer.rfc4514_string()


def test_a_wrong_token_and_a_name_outside_every_zone_are_named(pebble, tmp_path):
    play = """
- name: Bad requests
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Publish
      pcloud.infra.pcloud_dns_txt:
        api_url: "{{ cf_url }}"
        api_token: "{{ cf_token }}"
        records: [{name: _acme-challenge.elsewhere.example, value: LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0}]
        nameservers: [127.0.0.1:18053]
"""
    with FakeCloudflare(TOKEN, ["hostomatic.example"], str(pebble.dir / "listener.crt"),
                        str(pebble.dir / "listener.key")) as cf:
        wrong = _play(tmp_path, play, cf_url=cf.url, cf_token="not-the-token", env={"SSL_CERT_FILE": pebble.ca_bundle})
        assert wrong.returncode != 0 and "Authentication error" in wrong.stdout, wrong.stdout[-2000:]
        outside = _play(tmp_path, play, cf_url=cf.url, cf_token=TOKEN, env={"SSL_CERT_FILE": pebble.ca_bundle})
        assert outside.returncode != 0
        assert "no Cloudflare zone the token can read holds _acme-challenge.elsewhere.example" in outside.stdout
        assert cf.records == {}
