"""The end of ``make demo``: wait until the example fleet is healthy, its URLs answer 200 and master's heartbeat
mail has arrived, then print the URLs and where the mail is. Exit 1 naming what is still wrong when that does not
happen within ``--timeout`` seconds.

``python -m pcloud.demo --config-dir DIR [--timeout 180]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from pcloud import _collection, mailcatcher  # noqa: F401  (_collection puts the collection on sys.path)
from pcloud.example import ENVIRONMENTS, PROJECT

from ansible_collections.pcloud.infra.plugins.module_utils import health, topology  # isort: skip

# the start of notify.heartbeat_subject's two forms ("✅ Infrastructure OK - HH:MM" / "... degraded - HH:MM")
HEARTBEAT_OK = "\u2705 Infrastructure OK"
HEARTBEAT_MARK = "Infrastructure"
Answer = Union[int, str]  # an HTTP status, or why there was none


def demo_urls(master_ip: str) -> List[Tuple[str, str]]:
    """``[(what, url)]``: each deployed env's site and API through the load balancer on master, and its status page."""
    out = []
    for env in ENVIRONMENTS:
        out.append(("%s frontend" % env, "http://%s/%s/%s/frontend/" % (master_ip, PROJECT, env)))
        out.append(("%s backend API" % env, "http://%s/%s/%s/backend/api/items" % (master_ip, PROJECT, env)))
    out.append(("load balancer members", "http://%s/lb-status" % master_ip))
    return out


def heartbeat_mail(mail: Sequence[Mapping[str, Any]]) -> Optional[Mapping[str, Any]]:
    """The newest heartbeat among the caught messages (``mailcatcher.messages``), or None."""
    beats = [m for m in mail if HEARTBEAT_MARK in m.get("subject", "") and "Backup" not in m.get("subject", "")]
    return beats[-1] if beats else None


def problems(droplets: Sequence[str], reports: Mapping[str, Optional[Mapping[str, Any]]],
             answers: Mapping[str, Answer], heartbeat: Optional[Mapping[str, Any]], maildir: Optional[str]) -> List[str]:
    """What keeps the demo from ending healthy: a droplet not 'ok', a URL not answering 200, no 'OK' heartbeat
    (in ``maildir`` when the mail catcher runs; else as master's agent reports it)."""
    out = []
    for name in droplets:
        report = reports.get(name)
        if report is None:
            out.append("%s: its health agent does not answer on port %d" % (name, health.AGENT_PORT))
        elif report.get("status") != "ok":
            containers = report.get("containers") or {}
            out.append("%s: %s (missing: %s; disk %s%%)" % (name, report.get("status"),
                                                           ", ".join(containers.get("missing") or ()) or "none",
                                                           report.get("disk_used_pct")))
    for url, answer in answers.items():
        if answer != 200:
            out.append("%s answers %s" % (url, answer))
    master = (reports.get(topology.MASTER) or {}).get("heartbeat") or {}
    if master.get("last_error"):
        out.append("master's heartbeat mail failed: %s" % master["last_error"])
    if maildir is not None:
        if heartbeat is None:
            out.append("no heartbeat mail in %s yet" % maildir)
        elif not heartbeat["subject"].startswith(HEARTBEAT_OK):
            out.append("the heartbeat mail says %r (%s)" % (heartbeat["subject"], heartbeat["file"]))
    elif not master.get("last_sent_at") and not master.get("last_error"):
        out.append("master has sent no heartbeat mail yet")
    return out


def _get(url: str, timeout: float = 5.0) -> Answer:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # droplet addresses: never via a proxy
    try:
        with opener.open(url, timeout=timeout) as resp:
            resp.read()
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError) as exc:
        return "nothing (%s)" % getattr(exc, "reason", exc)


def _report(ip: str) -> Optional[Dict[str, Any]]:
    answer: Any = None
    try:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open("http://%s:%d/health" % (ip, health.AGENT_PORT), timeout=3) as resp:
            answer = json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return answer if isinstance(answer, dict) else None


def check(config_dir: str, timeout: float, interval: float = 3.0) -> int:
    with open(os.path.join(config_dir, "infrastructure.json"), encoding="utf-8") as handle:
        droplets = {n: b["ip"] for n, b in sorted(json.load(handle).get("droplets", {}).items()) if b.get("ip")}
    master_ip = droplets.get(topology.MASTER)
    if not master_ip:
        print("pcloud demo: no %s with an address in infrastructure.json" % topology.MASTER, file=sys.stderr)
        return 1
    urls = demo_urls(master_ip)
    catcher = mailcatcher.running(config_dir)
    maildir = catcher["maildir"] if catcher else None
    deadline = time.monotonic() + timeout
    while True:
        reports = {n: _report(ip) for n, ip in droplets.items()}
        answers = {url: _get(url) for _what, url in urls}
        beat = heartbeat_mail(mailcatcher.messages(maildir)) if maildir else None
        found = problems(list(droplets), reports, answers, beat, maildir)
        if not found or time.monotonic() >= deadline:
            break
        time.sleep(interval)
    if found:
        print("The demo did not end healthy within %.0f s:" % timeout, file=sys.stderr)
        for problem in found:
            print("  %s" % problem, file=sys.stderr)
        return 1
    print("Every droplet is healthy: %s" % ", ".join(
        "%s %s/%s" % (n, reports[n]["containers"]["running"], reports[n]["containers"]["expected"])  # type: ignore[index]
        for n in droplets))
    print("The example project through the load balancer on master (each answered 200):")
    for what, url in urls:
        print("  %-22s %s" % (what, url))
    print("  try: curl -X POST -d '{\"name\": \"hello\"}' %s" % urls[1][1])
    if beat is not None and maildir is not None:
        print("Heartbeat mail from master: %s" % beat["subject"])
        print("  %s   (the mail catcher's Maildir %s; mutt -f reads it)" % (beat["file"], maildir))
    else:
        print("Heartbeat mail sent by master through email_config.json's server.")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pcloud.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--config-dir", default=os.environ.get("PCLOUD_CONFIG_DIR", "config"))
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for a healthy fleet")
    args = parser.parse_args(argv)
    return check(os.path.abspath(args.config_dir), args.timeout)


if __name__ == "__main__":
    sys.exit(main())
