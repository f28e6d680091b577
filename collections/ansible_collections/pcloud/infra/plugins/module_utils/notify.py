# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""Notifications without I/O: the mail and SMS settings (``email_config.json``, ``sms_config.json``), the
subjects, the heartbeat summary, and the SMS request in Twilio's shape. Only the standard library: the health
agent runs this file inside droplets."""

from __future__ import annotations

import base64
import re
import time
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import quote, urlencode

EMAIL_DEFAULTS: Dict[str, Any] = {"enabled": False, "smtp_host": "127.0.0.1", "smtp_port": 25, "starttls": False,
                                  "tls": None,
                                  "username_env": None, "password_env": None, "from": "pcloud@localhost", "to": [],
                                  "heartbeat_minutes": 15, "backup_after_minutes": 20, "timeout": 10}
SMS_DEFAULTS: Dict[str, Any] = {"enabled": False, "base_url": "https://api.twilio.com", "account_sid": "",
                                "token_env": "PCLOUD_SMS_TOKEN", "from": "", "to": [], "timeout": 10}
# Every pattern is used with fullmatch ('$' alone accepts a trailing newline: a header injection in a mail).
ADDRESS_RE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.][A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?\Z")
PHONE_RE = re.compile(r"\+[1-9][0-9]{5,14}\Z")
ENV_RE = re.compile(r"[A-Z_][A-Z0-9_]{0,63}\Z")
HOST_RE = re.compile(r"(?=.{1,253}\Z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")
BASE_URL_RE = re.compile(r"(?P<scheme>https?)://(?P<host>[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])"
                         r"(?::(?P<port>[0-9]{1,5}))?(?P<path>/[A-Za-z0-9._~/-]*)?\Z")
TLS_MODES = ("starttls", "tls", "none")
LOOPBACK_HOSTS = ("localhost",)


def host_ok(host: Any) -> bool:
    """A host name or an IPv4/IPv6 address."""
    import ipaddress

    if not isinstance(host, str):
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        # all-numeric labels are an address or nothing ('999.1.1.1' is not a host name)
        return bool(HOST_RE.fullmatch(host)) and not re.fullmatch(r"[0-9.]+", host)


def is_loopback(host: str) -> bool:
    import ipaddress

    if host.lower() in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ConfigProblem(ValueError):
    """``field: problem`` of a notification config file."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__("%s: %s" % (field, problem))
        self.field = field


def _merged(data: Any, defaults: Mapping[str, Any]) -> Dict[str, Any]:
    if not isinstance(data, dict):
        raise ConfigProblem("(file)", "must be a JSON object")
    unknown = sorted(set(data) - set(defaults) - {"provider", "url", "comment"})
    if unknown:
        raise ConfigProblem(unknown[0], "unknown setting (known: %s)" % ", ".join(sorted(defaults)))
    return dict(defaults, **{k: v for k, v in data.items() if k in defaults})


def email_settings(data: Any) -> Dict[str, Any]:
    """Validated ``email_config.json`` with defaults; raises ConfigProblem naming the field."""
    cfg = _merged(data, EMAIL_DEFAULTS)
    if not isinstance(cfg["enabled"], bool):
        raise ConfigProblem("enabled", "must be true or false")
    if not host_ok(cfg["smtp_host"]):
        raise ConfigProblem("smtp_host", "must be a host name or an IP address")
    if not isinstance(cfg["smtp_port"], int) or isinstance(cfg["smtp_port"], bool) or not 0 < cfg["smtp_port"] < 65536:
        raise ConfigProblem("smtp_port", "must be a port number from 1 to 65535")
    if not isinstance(cfg["starttls"], bool):
        raise ConfigProblem("starttls", "must be true or false")
    if cfg["tls"] is not None and cfg["tls"] not in TLS_MODES:
        raise ConfigProblem("tls", "must be one of %s" % ", ".join(TLS_MODES))
    if cfg["tls"] is None:
        cfg["tls"] = "starttls" if cfg["starttls"] else "none"
    elif cfg["starttls"] and cfg["tls"] != "starttls":
        raise ConfigProblem("starttls", "contradicts tls %r; keep one of them" % cfg["tls"])
    cfg["starttls"] = cfg["tls"] == "starttls"
    for key in ("username_env", "password_env"):
        if cfg[key] is not None and (not isinstance(cfg[key], str) or not ENV_RE.fullmatch(cfg[key])):
            raise ConfigProblem(key, "must name an environment variable (upper-case), not hold a value")
    if not isinstance(cfg["from"], str) or not ADDRESS_RE.fullmatch(cfg["from"]):
        raise ConfigProblem("from", "must be a mail address")
    if not isinstance(cfg["to"], list) or not all(isinstance(a, str) and ADDRESS_RE.fullmatch(a) for a in cfg["to"]):
        raise ConfigProblem("to", "must be a list of mail addresses")
    if cfg["enabled"] and not cfg["to"]:
        raise ConfigProblem("to", "needs at least one recipient when enabled")
    for key, most in (("heartbeat_minutes", 1440), ("backup_after_minutes", 10080), ("timeout", 300)):
        if not isinstance(cfg[key], (int, float)) or isinstance(cfg[key], bool) or not 0 < cfg[key] <= most:
            raise ConfigProblem(key, "must be a positive number of at most %d" % most)
    return cfg


def sms_settings(data: Any) -> Dict[str, Any]:
    """Validated ``sms_config.json`` (a Twilio-compatible HTTP API) with defaults."""
    cfg = _merged(data, SMS_DEFAULTS)
    if not isinstance(cfg["enabled"], bool):
        raise ConfigProblem("enabled", "must be true or false")
    url = BASE_URL_RE.fullmatch(cfg["base_url"]) if isinstance(cfg["base_url"], str) else None
    host = url.group("host").strip("[]") if url else ""
    if (not url or not host_ok(host) or any(part in (".", "..") for part in (url.group("path") or "").split("/"))
            or (url.group("port") and not 0 < int(url.group("port")) < 65536)):
        raise ConfigProblem("base_url", "must be an https URL (http only to a loopback address), with a valid host "
                                        "and port")
    if url.group("scheme") == "http" and not is_loopback(host):
        raise ConfigProblem("base_url", "must use https: the SMS token is sent with every request")
    if not isinstance(cfg["account_sid"], str) or not re.fullmatch(r"[A-Za-z0-9]{0,64}", cfg["account_sid"]):
        raise ConfigProblem("account_sid", "must be letters and digits")
    if not isinstance(cfg["token_env"], str) or not ENV_RE.fullmatch(cfg["token_env"]):
        raise ConfigProblem("token_env", "must name an environment variable (upper-case), not hold a value")
    if not isinstance(cfg["timeout"], (int, float)) or isinstance(cfg["timeout"], bool) or not 0 < cfg["timeout"] <= 300:
        raise ConfigProblem("timeout", "must be a positive number of at most 300")
    if (cfg["enabled"] or cfg["from"]) and (not isinstance(cfg["from"], str) or not PHONE_RE.fullmatch(cfg["from"])):
        raise ConfigProblem("from", "must be a phone number in E.164 form (+441234567890)")
    if not isinstance(cfg["to"], list) or not all(isinstance(n, str) and PHONE_RE.fullmatch(n) for n in cfg["to"]):
        raise ConfigProblem("to", "must be a list of phone numbers in E.164 form")
    if cfg["enabled"] and (not cfg["to"] or not cfg["account_sid"]):
        raise ConfigProblem("to" if not cfg["to"] else "account_sid", "is required when enabled")
    return cfg


def email_file_problem(data: Any) -> Optional[ConfigProblem]:
    """What ``pcloud validate`` adds for the user's own email_config.json: a non-loopback SMTP server needs a
    stated TLS mode (``tls``: starttls, tls or none; or ``starttls``), so cleartext is a choice, not a default."""
    if isinstance(data, dict) and "tls" not in data and "starttls" not in data:
        host = data.get("smtp_host", EMAIL_DEFAULTS["smtp_host"])
        if isinstance(host, str) and not is_loopback(host):
            return ConfigProblem("tls", "required for the non-loopback SMTP host %r: starttls, tls or none" % host)
    return None


def credential_variables(email: Mapping[str, Any], sms: Mapping[str, Any]) -> List[str]:
    """The variables pcloud's own mail and SMS credentials come from: never a service secret."""
    names = [email.get("username_env"), email.get("password_env"), sms.get("token_env")]
    return [n for n in names if isinstance(n, str) and n]


def clock(now: float) -> str:
    return time.strftime("%H:%M", time.gmtime(now))


def heartbeat_summary(reports: Mapping[str, Optional[Mapping[str, Any]]], roles: Mapping[str, str],
                      now: float) -> Dict[str, Any]:
    """The seeds' table from the agents' reports (``None`` for a droplet that did not answer)."""
    masters = [n for n, r in roles.items() if r == "master"]
    webs = sorted(n for n, r in roles.items() if r != "master")
    healthy = [n for n in webs if (reports.get(n) or {}).get("status") == "ok"]
    expected = sum((r or {}).get("containers", {}).get("expected", 0) for r in reports.values())
    running = sum((r or {}).get("containers", {}).get("running", 0) for r in reports.values())
    rows = []
    for name in sorted(roles):
        report = reports.get(name)
        rows.append({"droplet": name, "role": roles[name], "status": (report or {}).get("status", "unreachable"),
                     "services": "%s/%s" % ((report or {}).get("containers", {}).get("running", 0),
                                            (report or {}).get("containers", {}).get("expected", 0)) if report else "-",
                     "missing": list((report or {}).get("containers", {}).get("missing", []))})
    master_ok = bool(masters) and all((reports.get(m) or {}).get("status") == "ok" for m in masters)
    return {"ok": master_ok and len(healthy) == len(webs) and running == expected, "master": "ok" if master_ok else "down",
            "web_healthy": len(healthy), "web_total": len(webs), "services_running": running,
            "services_expected": expected, "last_check": clock(now), "rows": rows}


def heartbeat_subject(summary: Mapping[str, Any], now: float) -> str:
    if summary["ok"]:
        return "\u2705 Infrastructure OK - %s" % clock(now)
    return "\u26a0\ufe0f Infrastructure degraded - %s" % clock(now)


def backup_subject(now: float) -> str:
    return "\u26a0\ufe0f Backup Heartbeat - Master may be down - %s" % clock(now)


def critical_subject(what: str) -> str:
    return "\U0001f6a8 CRITICAL: %s" % what


def recovery_subject(droplet: str, ok: bool, seconds: float) -> str:
    if ok:
        return "\U0001f527 Recovered %s in %.0f s" % (droplet, seconds)
    return critical_subject("recovery of %s failed" % droplet)


def sms_request(cfg: Mapping[str, Any], token: str, to: str, body: str) -> Tuple[str, bytes, Dict[str, str]]:
    """URL, form body and headers of one message in Twilio's shape (``POST .../Messages.json``, basic auth)."""
    url = "%s/2010-04-01/Accounts/%s/Messages.json" % (cfg["base_url"].rstrip("/"), quote(cfg["account_sid"]))
    auth = base64.b64encode(("%s:%s" % (cfg["account_sid"], token)).encode()).decode()
    data = urlencode({"To": to, "From": cfg["from"], "Body": body[:1600]}).encode()
    return url, data, {"Authorization": "Basic " + auth, "Content-Type": "application/x-www-form-urlencoded"}


def backup_sender(web_ips: Mapping[str, str], reachable: List[str]) -> Optional[str]:
    """Among the web droplets that still answer, the one with the lowest address sends the backup heartbeat."""
    import ipaddress

    up = [n for n in web_ips if n in reachable]
    return min(up, key=lambda n: int(ipaddress.ip_address(web_ips[n]))) if up else None
