"""The local cloud's mail catcher for real: started as 'pcloud local up' starts it, it receives 'pcloud notify test'
over SMTP and keeps it as a file of its Maildir; 'pcloud local down' stops it and the mail stays; a taken port is
one line, not a crash; only mail to this machine's loopback without TLS is caught."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy

import pytest

from pcloud import cli, mailcatcher

from .conftest import VENV_BIN


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def mail_config(config, port, **extra):
    config.mkdir(parents=True, exist_ok=True)
    (config / "email_config.json").write_text(json.dumps(dict({
        "enabled": True, "smtp_host": "127.0.0.1", "smtp_port": port, "from": "pcloud@localhost",
        "to": ["owner@localhost"], "timeout": 5}, **extra)))


@pytest.fixture
def catcher(tmp_path):
    config = tmp_path / "cfg"
    port = free_port()
    mail_config(config, port)
    # what 'pcloud local up' does once the cloud answers; its droplet_url names the gateway (here loopback, once)
    started = cli._start_mail_catcher(str(config), "http://127.0.0.1:8910/v2")
    yield config, port, started
    mailcatcher.stop(str(config), log=lambda line: None)


def test_catcher_keeps_a_mail_sent_over_smtp_in_its_maildir_and_local_down_stops_it(catcher, capsys):
    config, port, started = catcher
    assert started["addresses"] == ["127.0.0.1:%d" % port]
    assert started["maildir"] == os.path.join(str(config), "localcloud", "mail")
    assert mailcatcher.running(str(config))["pid"] == started["pid"]

    result = subprocess.run([str(VENV_BIN / "pcloud"), "--config-dir", str(config), "notify", "test"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "mail  sent" in result.stdout

    caught = mailcatcher.messages(started["maildir"])
    assert [m["subject"] for m in caught] == ["pcloud test - the notifications work"]
    assert caught[0]["file"].startswith(os.path.join(started["maildir"], "new") + os.sep)
    assert caught[0]["peer"].startswith("('127.0.0.1'")
    with open(caught[0]["file"], "rb") as handle:
        message = BytesParser(policy=default_policy).parse(handle)
    assert message["To"] == "owner@localhost" and message["X-RcptTo"] == "owner@localhost"
    assert "A test message from 'pcloud notify test'." in message.get_body(("plain",)).get_content()
    assert oct(os.stat(started["maildir"]).st_mode & 0o777) == "0o700"

    assert cli.main(["--config-dir", str(config), "local", "down"]) == 0
    assert "stopped the mail catcher (pid %d)" % started["pid"] in capsys.readouterr().err
    assert mailcatcher.running(str(config)) is None
    assert not os.path.exists("/proc/%d" % started["pid"]) or b"pcloud.mailcatcher" not in open(
        "/proc/%d/cmdline" % started["pid"], "rb").read()
    assert [m["subject"] for m in mailcatcher.messages(started["maildir"])] == [caught[0]["subject"]]  # mail stays


def test_a_second_up_keeps_the_running_catcher(catcher):
    config, port, started = catcher
    assert cli._start_mail_catcher(str(config), "http://127.0.0.1:8910/v2")["pid"] == started["pid"]


def test_a_taken_port_is_one_line_and_no_catcher(tmp_path, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        config = tmp_path / "cfg"
        mail_config(config, busy.getsockname()[1])
        assert cli._start_mail_catcher(str(config), "http://127.0.0.1:8910/v2") is None
    err = capsys.readouterr().err.strip()
    assert err.startswith("pcloud: no mail catcher: the mail catcher exited: pcloud-mailcatcher: cannot listen on "
                          "127.0.0.1 port "), err
    assert len(err.splitlines()) == 1
    assert mailcatcher.running(str(config)) is None


@pytest.mark.parametrize("email, port", [
    ({"enabled": True, "smtp_host": "127.0.0.1", "smtp_port": 2525, "tls": "none"}, 2525),
    ({"enabled": True, "smtp_host": "localhost", "smtp_port": 25, "tls": "none"}, 25),
    ({"enabled": False, "smtp_host": "127.0.0.1", "smtp_port": 2525, "tls": "none"}, None),
    ({"enabled": True, "smtp_host": "smtp.example.org", "smtp_port": 587, "tls": "starttls"}, None),
    ({"enabled": True, "smtp_host": "127.0.0.1", "smtp_port": 2525, "tls": "starttls"}, None),  # it speaks no TLS
    ({"enabled": True, "smtp_host": "10.199.0.1", "smtp_port": 2525, "tls": "none"}, None),
])
def test_only_mail_to_this_machines_loopback_is_caught(email, port):
    assert mailcatcher.catch_port(email) == port


def test_no_catcher_for_mail_sent_elsewhere(tmp_path, capsys):
    config = tmp_path / "cfg"
    mail_config(config, 587, smtp_host="smtp.example.org", tls="starttls")
    assert cli._start_mail_catcher(str(config), "http://10.199.0.1:8910/v2") is None
    assert capsys.readouterr().err == ""
    assert not (config / "localcloud").exists()


def test_the_maildir_keeps_the_newest_messages(tmp_path, monkeypatch):
    maildir = str(tmp_path / "mail")
    monkeypatch.setattr(mailcatcher, "KEEP_MESSAGES", 2)
    handler = mailcatcher._handler(maildir)
    seen = set()
    for number in range(3):
        message = EmailMessage()
        message["Subject"] = "message %d" % number
        message.set_content("body")
        handler.handle_message(message)
        for added in set(mailcatcher._message_files(maildir)) - seen:  # distinct ages, whatever the clock's resolution
            os.utime(added, (1000 + number, 1000 + number))
            seen.add(added)
    assert [m["subject"] for m in mailcatcher.messages(maildir)] == ["message 1", "message 2"]
