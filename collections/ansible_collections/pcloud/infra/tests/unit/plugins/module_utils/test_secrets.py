# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import os

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils import secrets
from ansible_collections.pcloud.infra.plugins.module_utils.errors import SpecError, SpecErrors


def test_candidates_stay_inside_the_project():
    assert secrets.candidates("my-app", "prod", "db_password") == ["MY_APP_PROD_DB_PASSWORD", "MY_APP_DB_PASSWORD"]
    assert secrets.candidates("my-app", "prod", "sentry_dsn", shared=["sentry_dsn"]) == [
        "MY_APP_PROD_SENTRY_DSN", "MY_APP_SENTRY_DSN", "SHARED_SENTRY_DSN"]


@pytest.mark.parametrize("environ, dotenv, value, source", [
    ({"SHOP_PROD_DB_PASSWORD": "a", "SHOP_DB_PASSWORD": "b"}, {}, "a", "SHOP_PROD_DB_PASSWORD"),
    ({"SHOP_DB_PASSWORD": "b", "DB_PASSWORD": "d"}, {}, "b", "SHOP_DB_PASSWORD"),
    ({"DB_PASSWORD": "d"}, {"SHOP_DB_PASSWORD": "c"}, "c", "SHOP_DB_PASSWORD (.env)"),
    ({"SHOP_PROD_DB_PASSWORD": ""}, {"SHOP_PROD_DB_PASSWORD": "f"}, "f", "SHOP_PROD_DB_PASSWORD (.env)"),
])
def test_resolve_order(environ, dotenv, value, source):
    got = secrets.resolve("shop", "prod", ["db_password"], environ, dotenv)["db_password"]
    assert (got.value, got.source) == (value, source)


@pytest.mark.parametrize("project, name, environ", [
    # the bare name in the controller's environment is not the project's
    ("shop", "db_password", {"DB_PASSWORD": "x", "PROD_DB_PASSWORD": "y"}),
    # another project's secret, by spelling its variable as a secret name
    ("hostomatic", "digitalpixo_prod_api_key", {"DIGITALPIXO_PROD_API_KEY": "theirs"}),
    # a shared secret that is not listed as shared
    ("shop", "sentry_dsn", {"SHARED_SENTRY_DSN": "x"}),
])
def test_secrets_outside_the_project_are_not_read(project, name, environ):
    with pytest.raises(SpecErrors, match="is not set"):
        secrets.resolve(project, "prod", [name], environ, {})


@pytest.mark.parametrize("project, name", [
    ("do", "api_token"),          # DO_API_TOKEN
    ("pcloud", "api_token"),      # PCLOUD_API_TOKEN
    ("pcloud", "smtp_password"),  # PCLOUD_SMTP_PASSWORD
    ("digitalocean", "token"),    # DIGITALOCEAN_TOKEN
])
def test_pcloud_credentials_are_never_service_secrets(project, name):
    environ = {"DO_API_TOKEN": "t", "PCLOUD_API_TOKEN": "t", "PCLOUD_SMTP_PASSWORD": "t", "DIGITALOCEAN_TOKEN": "t"}
    with pytest.raises(SpecErrors, match="one of pcloud's own credentials"):
        secrets.resolve(project, "prod", [name], environ, {})


def test_configured_credential_variables_are_reserved():
    with pytest.raises(SpecErrors, match="MAIL_PASSWORD"):
        secrets.resolve("mail", "prod", ["password"], {"MAIL_PASSWORD": "t"}, {}, reserved_extra=["MAIL_PASSWORD"])


def test_shared_secret_from_the_shared_list():
    got = secrets.resolve("shop", "uat", ["sentry_dsn"], {"SHARED_SENTRY_DSN": "dsn"}, {}, shared=["sentry_dsn"])
    assert got["sentry_dsn"].source == "SHARED_SENTRY_DSN"


def test_prefix_projects_overlap():
    problems = secrets.scope_problems({"hostomatic": ["prod"], "hostomatic-prod": ["prod"], "shop": ["prod"]})
    assert [p for p, _why in problems] == ["hostomatic-prod"]
    assert "'hostomatic'" in problems[0][1]
    assert secrets.scope_problems({"shop": ["prod"], "shopping": ["prod"]}) == []


def test_missing_secrets_name_the_variables_not_values():
    with pytest.raises(SpecErrors) as exc_info:
        secrets.resolve("shop", "uat", ["stripe_key", "db_password"], {"SHOP_DB_PASSWORD": "hunter2"}, {})
    text = str(exc_info.value)
    assert "secret 'stripe_key' of shop-uat is not set; set one of SHOP_UAT_STRIPE_KEY, SHOP_STRIPE_KEY in" in text
    assert "db_password" not in text and "hunter2" not in text


@pytest.mark.parametrize("text, expected", [
    ("# comment\n\nexport A=1\nB = 'two words'\nC=\"x=y\"\nD=\n", {"A": "1", "B": "two words", "C": "x=y", "D": ""}),
    ("A=plain # a comment\n", {"A": "plain"}),
    ("A='single # not a comment'\n", {"A": "single # not a comment"}),
    ('A="line\\nbreak"\n', {"A": "line\nbreak"}),
    ("A='no\\nescape'\n", {"A": "no\\nescape"}),
    ('A="quoted \\"inner\\""\n', {"A": 'quoted "inner"'}),
    ("A=${HOME}\n", {"A": "${HOME}"}),  # no expansion: a value is what the file says
    ("KEY_ONLY\nB=2\n", {"B": "2"}),
])
def test_parse_dotenv_like_python_dotenv(text, expected):
    assert secrets.parse_dotenv(text, ".env") == expected


def test_parse_dotenv_names_a_bad_line():
    with pytest.raises(SpecError, match=r"\.env:3: \(line\): expected KEY=value"):
        secrets.parse_dotenv("A=1\n\nB='unterminated\n", ".env")


def test_read_dotenv_refuses_a_file_others_can_read(tmp_path):
    path = tmp_path / ".env"
    path.write_text("A=1\n")
    os.chmod(path, 0o644)
    with pytest.raises(SpecError, match="readable by others .mode 0644.; run: chmod 600"):
        secrets.read_dotenv(str(path))
    os.chmod(path, 0o600)
    assert secrets.read_dotenv(str(path)) == {"A": "1"}
    assert secrets.read_dotenv(str(tmp_path / "absent")) == {}


def test_versions_are_keyed_and_stable():
    found = secrets.resolve("shop", "prod", ["k"], {"SHOP_K": "value"}, {})
    v1 = secrets.versions(found, b"fleet-key")
    assert v1 == secrets.versions(found, b"fleet-key") and v1["k"][1] == "SHOP_K"
    assert v1 != secrets.versions(found, b"other-key")
    assert "value" not in repr(v1)


def test_a_project_named_shared_cannot_read_the_shared_secrets():
    problems = secrets.scope_problems({"shared": ["prod"], "shop": ["prod"]})
    assert [p for p, _why in problems] == ["shared"] and "SHARED_*" in problems[0][1]


@pytest.mark.parametrize("project, name, variable", [
    ("aws", "secret_access_key", "AWS_SECRET_ACCESS_KEY"),
    ("github", "token", "GITHUB_TOKEN"),
    ("ld", "preload", "LD_PRELOAD"),
    ("ssh", "auth_sock", "SSH_AUTH_SOCK"),
])
def test_control_node_settings_are_never_service_secrets(project, name, variable):
    assert secrets.reserved_candidate(project, "prod", name) == "%s_PROD_%s" % (project.upper(), name.upper())
    assert variable in secrets.candidates(project, "prod", name)
    with pytest.raises(SpecErrors, match="would be read from %s_PROD_" % project.upper()):
        secrets.resolve(project, "prod", [name], {variable: "x"}, {})


def test_read_dotenv_refuses_a_symlink_out_of_the_config_dir(tmp_path):
    outside = tmp_path / "outside.env"
    outside.write_text("A=1\n")
    outside.chmod(0o600)
    config = tmp_path / "config"
    config.mkdir()
    (config / ".env").symlink_to(outside)
    with pytest.raises(SpecError, match="outside the config dir"):
        secrets.read_dotenv(str(config / ".env"))
