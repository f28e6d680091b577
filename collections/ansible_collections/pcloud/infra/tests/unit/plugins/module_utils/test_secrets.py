# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils import secrets
from ansible_collections.pcloud.infra.plugins.module_utils.errors import SpecError, SpecErrors


def test_candidates_order():
    assert secrets.candidates("my-app", "prod", "db_password") == [
        "MY_APP_PROD_DB_PASSWORD", "MY_APP_DB_PASSWORD", "PROD_DB_PASSWORD", "DB_PASSWORD"]


@pytest.mark.parametrize("environ, dotenv, value, source", [
    ({"SHOP_PROD_DB_PASSWORD": "a", "SHOP_DB_PASSWORD": "b"}, {}, "a", "SHOP_PROD_DB_PASSWORD"),
    ({"SHOP_DB_PASSWORD": "b", "DB_PASSWORD": "d"}, {}, "b", "SHOP_DB_PASSWORD"),
    ({"DB_PASSWORD": "d"}, {"PROD_DB_PASSWORD": "c"}, "c", "PROD_DB_PASSWORD (.env)"),
    ({}, {"DB_PASSWORD": "e"}, "e", "DB_PASSWORD (.env)"),
    ({"SHOP_PROD_DB_PASSWORD": ""}, {"SHOP_PROD_DB_PASSWORD": "f"}, "f", "SHOP_PROD_DB_PASSWORD (.env)"),
])
def test_resolve_order(environ, dotenv, value, source):
    got = secrets.resolve("shop", "prod", ["db_password"], environ, dotenv)["db_password"]
    assert (got.value, got.source) == (value, source)


def test_missing_secrets_name_the_variables_not_values():
    with pytest.raises(SpecErrors) as exc_info:
        secrets.resolve("shop", "uat", ["stripe_key", "db_password"], {"SHOP_DB_PASSWORD": "hunter2"}, {})
    text = str(exc_info.value)
    assert "secret 'stripe_key' of shop-uat is not set; set one of SHOP_UAT_STRIPE_KEY, SHOP_STRIPE_KEY, " \
           "UAT_STRIPE_KEY, STRIPE_KEY" in text
    assert "db_password" not in text and "hunter2" not in text


def test_parse_dotenv():
    text = "# comment\n\nexport A=1\nB = 'two words'\nC=\"x=y\"\nD=\n"
    assert secrets.parse_dotenv(text, ".env") == {"A": "1", "B": "two words", "C": "x=y", "D": ""}
    with pytest.raises(SpecError, match=r"\.env:3: \(line\): expected KEY=value"):
        secrets.parse_dotenv("A=1\n\nnot a line\n", ".env")


def test_versions_are_keyed_and_stable():
    found = secrets.resolve("shop", "prod", ["k"], {"K": "value"}, {})
    v1 = secrets.versions(found, b"fleet-key")
    assert v1 == secrets.versions(found, b"fleet-key") and v1["k"][1] == "K"
    assert v1 != secrets.versions(found, b"other-key")
    assert "value" not in repr(v1)
