# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A web service's domains: checked as hostile input, scoped to its project's environments, in the state."""

from __future__ import annotations

import json

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils import domains
from ansible_collections.pcloud.infra.plugins.module_utils.errors import SpecError
from ansible_collections.pcloud.infra.plugins.module_utils.spec import load_spec
from ansible_collections.pcloud.infra.plugins.module_utils.topology import build_state


def errors_of(exc_info) -> list[str]:
    exc = exc_info.value
    return [str(e) for e in getattr(exc, "errors", [exc])]


def with_domains(seed_dir, service="backend", project="hostomatic", **keys):
    path = seed_dir / "deployment_config.json"
    config = json.loads(path.read_text())
    config["projects"][project]["services"][service].update(keys)
    path.write_text(json.dumps(config, indent=2))


@pytest.mark.parametrize("name", ["shop.example.com", "*.shop.example.com", "a.b", "xn--bcher-kva.example",
                                  "a-1.example.co"])
def test_a_domain_is_lower_case_ascii_labels(name):
    assert domains.domain_problem(name) is None


@pytest.mark.parametrize("name", ["", "localhost", "-a.example.com", "a-.example.com", "a..example.com",
                                  "a.example.com.", "*.", "a.*.example.com", "shop.example.com\n", "a b.com",
                                  "bücher.example", "a.example.c\u0661m", "a.example.com;", "a" * 64 + ".com",
                                  "x." * 127 + "com", "a.123", "**.example.com", 7, None])
def test_anything_else_is_refused(name):
    assert domains.domain_problem(name)


def test_upper_case_is_refused_by_name():
    assert "lower-case" in domains.domain_problem("Shop.Example.com")


def test_tls_modes_name_what_this_version_issues():
    assert [domains.tls_problem(m) for m in ("self-signed", "acme-http", "acme-dns")] == [None, None, None]
    assert "unknown TLS mode" in domains.tls_problem("letsencrypt")


def test_domains_reach_the_state_of_their_environment_only(seed_dir):
    with_domains(seed_dir, domains={"prod": ["shop.example.com", "www.shop.example.com"],
                                    "uat": ["uat.shop.example.com"]})
    state = build_state(load_spec(str(seed_dir)))
    assert state["projects"]["hostomatic-prod"]["backend"]["domains"] == ["shop.example.com", "www.shop.example.com"]
    assert state["projects"]["hostomatic-uat"]["backend"]["tls"] == "self-signed"
    assert "domains" not in state["projects"]["hostomatic-test"]["backend"]
    assert domains.certificates(state) == [
        {"name": "hostomatic-prod-backend", "key": "hostomatic-prod", "service": "backend",
         "domains": ["shop.example.com", "www.shop.example.com"], "tls": "self-signed"},
        {"name": "hostomatic-uat-backend", "key": "hostomatic-uat", "service": "backend",
         "domains": ["uat.shop.example.com"], "tls": "self-signed"}]


def test_a_bad_domain_is_one_located_error(seed_dir):
    with_domains(seed_dir, domains={"prod": ["shop.example.com", "evil.com;\ninclude /etc/passwd"]})
    with pytest.raises(SpecError) as exc_info:
        load_spec(str(seed_dir))
    [error] = errors_of(exc_info)
    assert "deployment_config.json:" in error and "projects.hostomatic.services.backend.domains.prod[1]" in error
    assert "is not a domain name" in error


def test_a_domain_of_an_environment_the_project_lacks_is_ignored_with_a_warning(seed_dir):
    with_domains(seed_dir, domains={"staging": ["staging.shop.example.com"], "uat": ["uat.shop.example.com"]})
    spec = load_spec(str(seed_dir))
    [warning] = spec.warnings
    assert "domains.staging: hostomatic has no environment staging" in warning and "ignored" in warning
    assert [c["domains"] for c in domains.certificates(build_state(spec))] == [["uat.shop.example.com"]]


def test_one_domain_belongs_to_one_service(seed_dir):
    with_domains(seed_dir, domains={"prod": ["shop.example.com"]})
    with_domains(seed_dir, service="frontend", domains={"prod": ["shop.example.com"]})
    with pytest.raises(SpecError) as exc_info:
        load_spec(str(seed_dir))
    [error] = errors_of(exc_info)
    assert "shop.example.com is already a domain of hostomatic-prod backend" in error
    assert "projects.hostomatic.services.frontend.domains.prod" in error


def test_uat_and_prod_cannot_share_a_domain(seed_dir):
    with_domains(seed_dir, domains={"prod": ["shop.example.com"], "uat": ["shop.example.com"]})
    with pytest.raises(SpecError) as exc_info:
        load_spec(str(seed_dir))
    assert "already a domain of prod" in errors_of(exc_info)[0]


@pytest.mark.parametrize("keys, why", [
    ({"domains": ["shop.example.com"]}, "expected an object of environment -> domains"),
    ({"domains": {"prod": []}}, "expected a non-empty list of domains"),
    ({"domains": {"prod": ["shop.example.com"]}, "tls": "acme-dns-01"}, "unknown TLS mode"),
    ({"tls": "self-signed"}, "only a web service with domains is served over TLS"),
])
def test_malformed_domain_settings_are_refused(seed_dir, keys, why):
    with_domains(seed_dir, **keys)
    with pytest.raises(SpecError) as exc_info:
        load_spec(str(seed_dir))
    assert why in errors_of(exc_info)[0]


def test_http_01_cannot_validate_a_wildcard(seed_dir):
    with_domains(seed_dir, domains={"prod": ["shop.example.com", "*.shop.example.com"]}, tls="acme-http")
    with pytest.raises(SpecError) as exc_info:
        load_spec(str(seed_dir))
    [error] = errors_of(exc_info)
    assert "*.shop.example.com: an ACME HTTP-01 challenge cannot validate a wildcard" in error


def test_acme_http_reaches_the_certificates(seed_dir):
    with_domains(seed_dir, domains={"uat": ["uat.shop.example.com"]}, tls="acme-http")
    [cert] = domains.certificates(build_state(load_spec(str(seed_dir))))
    assert cert["tls"] == "acme-http" and cert["domains"] == ["uat.shop.example.com"]


def test_a_worker_has_no_domains(seed_dir):
    with_domains(seed_dir, service="scheduler", domains={"prod": ["shop.example.com"]})
    with pytest.raises(SpecError) as exc_info:
        load_spec(str(seed_dir))
    assert "only a web service is served under domains" in errors_of(exc_info)[0]


CERT = {"name": "hostomatic-prod-backend", "domains": ["shop.example.com", "*.shop.example.com"], "tls": "acme-dns"}
ISSUED = {"subject_alt_name": ["DNS:*.shop.example.com", "DNS:shop.example.com"]}
FRESH = {"exists": True, "should_renew": False, "msg": "The certificate is still valid"}


@pytest.mark.parametrize("renewal, issued, force, why", [
    ({"exists": False, "should_renew": True}, {"failed": False, "msg": "no file"}, False, "none issued yet"),
    (FRESH, {"subject_alt_name": ["DNS:shop.example.com"]}, False, "its domains changed"),
    ({"exists": True, "should_renew": True, "msg": "The suggested renewal window has begun"}, ISSUED, False,
     "due for renewal (The suggested renewal window has begun)"),
    (FRESH, ISSUED, True, "renewal requested"),
    (FRESH, ISSUED, False, None),
])
def test_an_acme_certificate_is_due_for_one_named_reason(renewal, issued, force, why):
    reason = domains.acme_due(CERT, renewal, issued, force)
    if why is None:
        assert reason is None
    else:
        assert reason is not None and reason.startswith(why), reason


def test_orders_carry_their_challenge_and_skip_what_is_not_due():
    certs = [{"name": "a", "domains": ["a.example.com"], "tls": "self-signed"},
             dict(CERT, name="b"), {"name": "c", "domains": ["c.example.com"], "tls": "acme-http"}]
    orders = domains.acme_orders(certs, [FRESH, {"exists": False, "should_renew": True}], [ISSUED, {}])
    assert [(o["name"], o["challenge"], o["reason"]) for o in orders] == [("c", "http-01", "none issued yet")]
    with pytest.raises(domains.PcloudError, match="2 ACME certificates, 1 renewal"):
        domains.acme_orders(certs, [FRESH], [ISSUED])


def test_challenges_of_an_apex_and_its_wildcard_are_two_values_under_one_name():
    both = {"http-01": {"resource": ".well-known/acme-challenge/t1", "resource_value": "t1.k"},
            "dns-01": {"resource": "_acme-challenge", "resource_value": "v1", "record": "_acme-challenge.shop.example.com"}}
    wild = {"dns-01": {"resource": "_acme-challenge", "resource_value": "v2", "record": "_acme-challenge.shop.example.com"}}
    http = {"http-01": {"resource": ".well-known/acme-challenge/t3", "resource_value": "t3.k"},
            "dns-01": {"resource": "_acme-challenge", "resource_value": "v3", "record": "_acme-challenge.c.example.com"}}
    results = [{"item": {"challenge": "dns-01"}, "challenge_data": {"shop.example.com": both, "*.shop.example.com": wild}},
               {"item": {"challenge": "http-01"}, "challenge_data": {"c.example.com": http}},
               {"item": {"challenge": "dns-01"}}]  # already valid: no challenge data
    assert domains.acme_challenges(results) == {
        "dns": [{"name": "_acme-challenge.shop.example.com", "value": "v2"},
                {"name": "_acme-challenge.shop.example.com", "value": "v1"}],
        "http": [{"path": ".well-known/acme-challenge/t3", "value": "t3.k"}]}


def test_an_issued_acme_certificate_replaces_the_self_signed_one_on_master():
    certs = [{"name": "a", "tls": "self-signed"}, {"name": "b", "tls": "acme-http"}, {"name": "c", "tls": "acme-dns"}]
    files = domains.certificate_files(certs, ["a", "c"])  # "a" has no ACME mode: its own certificate serves
    assert [(f["src"], f["dest"]) for f in files] == [
        ("a.crt", "a.crt"), ("a.key", "a.key"), ("b.crt", "b.crt"), ("b.key", "b.key"),
        ("c.acme.crt", "c.crt"), ("c.key", "c.key")]
