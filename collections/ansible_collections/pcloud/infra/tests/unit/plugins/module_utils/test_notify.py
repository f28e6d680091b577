# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import base64
from urllib.parse import parse_qs

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils.notify import (
    ConfigProblem,
    backup_sender,
    backup_subject,
    critical_subject,
    email_settings,
    heartbeat_subject,
    heartbeat_summary,
    recovery_subject,
    sms_request,
    sms_settings,
)

NOON = 1795348800.0  # a fixed moment
ROLES = {"pcloud-master": "master", "shop-web1": "web", "shop-web2": "web"}


def report(status="ok", running=2, expected=2, missing=()):
    return {"status": status, "containers": {"running": running, "expected": expected, "missing": list(missing)}}


def test_email_settings_defaults_and_problems():
    cfg = email_settings({"enabled": True, "to": ["me@example.com"]})
    assert cfg["heartbeat_minutes"] == 15 and cfg["backup_after_minutes"] == 20 and cfg["smtp_port"] == 25
    for body, field in (({"enabled": "yes"}, "enabled"), ({"enabled": True, "to": []}, "to"),
                        ({"smtp_port": 70000}, "smtp_port"), ({"password_env": "s3cret value"}, "password_env"),
                        ({"heartbeat_minutes": 0}, "heartbeat_minutes"), ({"mystery": 1}, "mystery")):
        with pytest.raises(ConfigProblem) as err:
            email_settings(body)
        assert err.value.field == field
    with pytest.raises(ConfigProblem):
        email_settings(["not", "an", "object"])


def test_sms_settings():
    assert sms_settings({"enabled": False})["base_url"] == "https://api.twilio.com"
    ok = sms_settings({"enabled": True, "account_sid": "AC1", "from": "+441111111111", "to": ["+442222222222"]})
    assert ok["token_env"] == "PCLOUD_SMS_TOKEN"
    with pytest.raises(ConfigProblem) as err:
        sms_settings({"enabled": True, "account_sid": "AC1", "from": "0800", "to": ["+442222222222"]})
    assert err.value.field == "from"


def test_heartbeat_summary_and_subjects():
    ok = heartbeat_summary({"pcloud-master": report(), "shop-web1": report(), "shop-web2": report()}, ROLES, NOON)
    assert ok["ok"] and ok["web_healthy"] == 2 and ok["services_running"] == 6 and ok["master"] == "ok"
    assert heartbeat_subject(ok, NOON) == "\u2705 Infrastructure OK - %s" % ok["last_check"]
    bad = heartbeat_summary({"pcloud-master": report(), "shop-web1": None,
                             "shop-web2": report("degraded", 1, 2, ["shop-uat-backend"])}, ROLES, NOON)
    assert not bad["ok"] and bad["web_healthy"] == 0 and bad["services_running"] == 3 and bad["services_expected"] == 4
    assert [r["status"] for r in bad["rows"]] == ["ok", "unreachable", "degraded"]
    assert heartbeat_subject(bad, NOON).startswith("\u26a0\ufe0f Infrastructure degraded - ")
    assert backup_subject(NOON).startswith("\u26a0\ufe0f Backup Heartbeat - Master may be down - ")
    assert critical_subject("x") == "\U0001f6a8 CRITICAL: x"
    assert recovery_subject("shop-web1", True, 61.4) == "\U0001f527 Recovered shop-web1 in 61 s"
    assert recovery_subject("shop-web1", False, 9).startswith("\U0001f6a8 CRITICAL: recovery of shop-web1 failed")


def test_sms_request_is_twilio_shaped():
    cfg = sms_settings({"enabled": True, "base_url": "http://127.0.0.1:9/", "account_sid": "AC1",
                        "from": "+441111111111", "to": ["+442222222222"]})
    url, data, headers = sms_request(cfg, "tok", "+442222222222", "hello")
    assert url == "http://127.0.0.1:9/2010-04-01/Accounts/AC1/Messages.json"
    assert parse_qs(data.decode()) == {"To": ["+442222222222"], "From": ["+441111111111"], "Body": ["hello"]}
    assert base64.b64decode(headers["Authorization"].split()[1]) == b"AC1:tok"


def test_backup_sender_is_the_lowest_reachable_web_droplet():
    ips = {"shop-web1": "10.0.0.12", "shop-web2": "10.0.0.3"}
    assert backup_sender(ips, ["shop-web1", "shop-web2"]) == "shop-web2"
    assert backup_sender(ips, ["shop-web1"]) == "shop-web1"
    assert backup_sender(ips, []) is None
