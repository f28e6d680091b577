"""The local cloud's mail catcher: an SMTP server (aiosmtpd) that keeps every message it receives in a Maildir.

``pcloud local up`` starts it when ``email_config.json`` sends mail to this machine's loopback
(``smtp_host`` 127.0.0.1 or localhost, no TLS): it listens there (the control node's mail: ``pcloud notify
test``, ``pcloud recover``) and on the droplet network's gateway (where ``playbooks/agents.yml`` points the
agents' mail), both at ``smtp_port``. ``pcloud local down`` stops it. It never relays: a message ends as one
file in ``<config dir>/localcloud/mail/new`` (read it with ``mutt -f DIR``, or ``cat`` the file).

``python -m pcloud.mailcatcher --maildir DIR --state-file FILE --host H [--host H2] --port P`` is the process;
``start``/``stop``/``running`` manage it, ``messages`` lists what arrived.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import mailbox
import os
import signal
import subprocess
import sys
import time
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

LOG = logging.getLogger("pcloud.mailcatcher")
DIRNAME = "localcloud"
MAILDIR = "mail"
STATE_FILE = "mailcatcher.json"
LOG_FILE = "mailcatcher.log"
# the agents' largest mail (heartbeat, text + HTML) is a few kB; a droplet cannot fill the disk through this
MAX_MESSAGE_BYTES = 1024 * 1024
KEEP_MESSAGES = 500
# the hosts in email_config.json that playbooks/agents.yml turns into the droplet network's gateway
CATCHABLE_HOSTS = ("127.0.0.1", "localhost")


class CatcherError(Exception):
    """The catcher could not start (the port is taken, aiosmtpd is missing, ...): one line for the user."""


def maildir_path(config_dir: str) -> str:
    return os.path.join(config_dir, DIRNAME, MAILDIR)


def _path(config_dir: str, name: str) -> str:
    return os.path.join(config_dir, DIRNAME, name)


def catch_port(email: Mapping[str, Any]) -> Optional[int]:
    """The port to catch ``email`` (validated email_config.json settings) on, or None when its mail goes elsewhere:
    disabled, a host other than this machine's loopback, or TLS (the catcher speaks plain SMTP only)."""
    if not email.get("enabled") or email.get("smtp_host") not in CATCHABLE_HOSTS or email.get("tls", "none") != "none":
        return None
    return int(email["smtp_port"])


# ---------------------------------------------------------------------------------------------------- the process


def _handler(maildir: str) -> Any:
    from aiosmtpd.handlers import Mailbox

    class Catcher(Mailbox):
        """aiosmtpd's Maildir handler (it adds X-Peer, X-MailFrom, X-RcptTo), keeping the newest KEEP_MESSAGES."""

        def handle_message(self, message: Any) -> None:
            super().handle_message(message)
            LOG.info("caught %r from %s", message.get("Subject", ""), message.get("X-Peer", "?"))
            files = _message_files(maildir)
            for old in files[:-KEEP_MESSAGES] if len(files) > KEEP_MESSAGES else ():
                os.unlink(old)

    return Catcher(maildir)


async def _serve(maildir: str, hosts: Sequence[str], port: int, state_file: str) -> None:
    from aiosmtpd.smtp import SMTP

    loop = asyncio.get_running_loop()
    handler = _handler(maildir)
    servers = []
    for host in hosts:
        servers.append(await loop.create_server(
            lambda: SMTP(handler, data_size_limit=MAX_MESSAGE_BYTES, hostname="pcloud-mailcatcher"), host=host, port=port))
    addresses = ["%s:%d" % s.sockets[0].getsockname()[:2] for s in servers]
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    _write_state(state_file, {"pid": os.getpid(), "addresses": addresses, "maildir": maildir})
    LOG.info("catching mail on %s into %s", ", ".join(addresses), maildir)
    try:
        await stop.wait()
    finally:
        for server in servers:
            server.close()
        try:
            os.unlink(state_file)
        except FileNotFoundError:
            pass


def _write_state(path: str, data: Dict[str, Any]) -> None:
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(tmp, path)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="pcloud-mailcatcher")
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--state-file", required=True)
    parser.add_argument("--host", action="append", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    mailbox.Maildir(args.maildir, create=True)  # new/, cur/, tmp/ (mode 0700)
    try:
        asyncio.run(_serve(args.maildir, args.host, args.port, args.state_file))
    except OSError as exc:
        print("pcloud-mailcatcher: cannot listen on %s port %d: %s" % (", ".join(args.host), args.port, exc.strerror),
              file=sys.stderr)
        return 1
    return 0


# ---------------------------------------------------------------------------------------------------- control


def _ours(pid: int) -> bool:
    """``pid`` is alive and is a mail catcher (not a process that got a recycled pid)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return b"pcloud.mailcatcher" in handle.read()
    except OSError:
        return False


def running(config_dir: str) -> Optional[Dict[str, Any]]:
    """``{"pid", "addresses", "maildir"}`` of the config dir's catcher, or None."""
    try:
        with open(_path(config_dir, STATE_FILE), encoding="utf-8") as handle:
            data = json.load(handle)
        return data if _ours(int(data["pid"])) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def start(config_dir: str, hosts: Sequence[str], port: int, timeout: float = 15.0) -> Dict[str, Any]:
    """Start the catcher of ``config_dir`` on ``hosts`` at ``port`` (or return the one already running)."""
    current = running(config_dir)
    if current:
        return current
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        raise CatcherError("aiosmtpd is not installed (pip install aiosmtpd)") from None
    os.makedirs(os.path.join(config_dir, DIRNAME), mode=0o700, exist_ok=True)
    state_file, log_path = _path(config_dir, STATE_FILE), _path(config_dir, LOG_FILE)
    argv = [sys.executable, "-m", "pcloud.mailcatcher", "--maildir", maildir_path(config_dir), "--state-file", state_file,
            "--port", str(port)]
    for host in hosts:
        argv += ["--host", host]
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True)  # noqa: S603
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise CatcherError("the mail catcher exited: %s" % _last_line(log_path))
        current = running(config_dir)
        if current and current["pid"] == proc.pid:
            return current
        time.sleep(0.05)
    proc.terminate()
    raise CatcherError("the mail catcher did not start within %.0f s; see %s" % (timeout, log_path))


def _last_line(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as handle:
        lines = [line.strip() for line in handle if line.strip()]
    return lines[-1] if lines else "(no output; see %s)" % path


def stop(config_dir: str, log: Callable[[str], None] = print) -> bool:
    """Stop the config dir's catcher; False when none was running. The mail stays."""
    current = running(config_dir)
    if not current:
        return False
    pid = int(current["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    # the catcher drops its state file first and exits after: wait for the process itself
    while time.monotonic() < deadline and _ours(pid):
        time.sleep(0.05)
    if _ours(pid):
        os.kill(pid, signal.SIGKILL)
    log("stopped the mail catcher (pid %s); the mail stays in %s" % (current["pid"], current["maildir"]))
    return True


# ---------------------------------------------------------------------------------------------------- reading


def _message_files(maildir: str) -> List[str]:
    """The message files of ``maildir``, oldest first."""
    files = []
    for sub in ("new", "cur"):
        try:
            names = os.listdir(os.path.join(maildir, sub))
        except FileNotFoundError:
            continue
        files += [os.path.join(maildir, sub, n) for n in names if not n.startswith(".")]
    return sorted(files, key=lambda p: (os.path.getmtime(p), p))


def messages(maildir: str) -> List[Dict[str, Any]]:
    """``[{"file", "subject", "from", "to", "peer", "date", "received"}]``, oldest first (headers only)."""
    out = []
    parser = BytesHeaderParser(policy=default_policy)
    for path in _message_files(maildir):
        try:
            with open(path, "rb") as handle:
                headers = parser.parse(handle)
            received = os.path.getmtime(path)
        except OSError:
            continue  # pruned meanwhile
        out.append({"file": path, "subject": str(headers.get("Subject", "")), "from": str(headers.get("From", "")),
                    "to": str(headers.get("To", "")), "peer": str(headers.get("X-Peer", "")),
                    "date": str(headers.get("Date", "")), "received": received})
    return out


if __name__ == "__main__":
    sys.exit(main())
