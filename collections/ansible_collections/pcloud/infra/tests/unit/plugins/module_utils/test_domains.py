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
    assert domains.tls_problem("self-signed") is None and domains.tls_problem("acme-http") is None
    assert "not available in this version" in domains.tls_problem("acme-dns")
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
    ({"domains": {"prod": ["shop.example.com"]}, "tls": "acme-dns"}, "not available in this version"),
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
