"""Notifications for real: an SMTP server (aiosmtpd) and an HTTP SMS receiver on loopback, driven through
'pcloud notify test'; bad settings exit 2 naming file and field; a dead mail server is a reported failure."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import threading
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from aiosmtpd.controller import Controller

PCLOUD = [str(Path(sys.executable).parent / "pcloud")]


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=default_policy)))
        return "250 OK"


class Sms(BaseHTTPRequestHandler):
    received: list = []

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, self.headers["Authorization"], parse_qs(body.decode())))
        self.send_response(201)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def servers():
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    Sms.received = []
    sms = ThreadingHTTPServer(("127.0.0.1", 0), Sms)
    threading.Thread(target=sms.serve_forever, daemon=True).start()
    yield inbox, smtp.port, "http://127.0.0.1:%d" % sms.server_address[1]
    smtp.stop()
    sms.shutdown()
    sms.server_close()


def configure(config: Path, smtp_port: int, sms_url: str) -> None:
    config.mkdir(exist_ok=True)
    (config / "email_config.json").write_text(json.dumps({
        "enabled": True, "smtp_host": "127.0.0.1", "smtp_port": smtp_port, "from": "pcloud@localhost",
        "to": ["owner@localhost"], "timeout": 3}))
    (config / "sms_config.json").write_text(json.dumps({
        "enabled": True, "base_url": sms_url, "account_sid": "AC123", "token_env": "PCLOUD_SMS_TOKEN",
        "from": "+441111111111", "to": ["+442222222222"]}))
    (config / ".env").write_text("PCLOUD_SMS_TOKEN=sms-secret\n")
    (config / ".env").chmod(0o600)


def run(config: Path, *args):
    return subprocess.run(PCLOUD + ["--config-dir", str(config), *args], capture_output=True, text=True, check=False)


def test_notify_test_sends_a_mail_and_an_sms(servers, tmp_path):
    inbox, smtp_port, sms_url = servers
    configure(tmp_path / "config", smtp_port, sms_url)
    result = run(tmp_path / "config", "notify", "test", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["sent"] == ["mail", "sms"]
    (rcpt, message), = inbox.messages
    assert rcpt == ["owner@localhost"] and message["Subject"] == "pcloud test - the notifications work"
    assert "nothing is wrong" in message.get_body(("plain",)).get_content()
    (path, auth, form), = Sms.received
    assert path == "/2010-04-01/Accounts/AC123/Messages.json"
    assert base64.b64decode(auth.split()[1]).decode() == "AC123:sms-secret"
    assert form["To"] == ["+442222222222"] and form["From"] == ["+441111111111"]
    assert "sms-secret" not in result.stdout + result.stderr


def test_a_dead_mail_server_is_a_reported_failure(servers, tmp_path):
    _inbox, _smtp_port, sms_url = servers
    configure(tmp_path / "config", free_port(), sms_url)
    result = run(tmp_path / "config", "notify", "test")
    assert result.returncode == 1 and "ConnectionRefusedError" in result.stdout
    assert "sms   sent" in result.stdout  # the SMS went out regardless


@pytest.mark.parametrize("file, body, field", [
    ("email_config.json", {"enabled": True, "to": ["not-an-address"]}, "to"),
    ("email_config.json", {"enabled": True, "to": ["a@b"], "password_env": "hunter2!"}, "password_env"),
    ("sms_config.json", {"enabled": True, "to": ["12345"], "account_sid": "AC1", "from": "+441111111111"}, "to"),
    ("sms_config.json", {"enabled": False, "colour": "blue"}, "colour"),
])
def test_bad_settings_exit_2_naming_file_and_field(tmp_path, file, body, field):
    config = tmp_path / "config"
    config.mkdir()
    (config / file).write_text(json.dumps(body))
    result = run(config, "notify", "test")
    assert result.returncode == 2, result.stderr
    assert file in result.stderr and field in result.stderr
