"""The health agent: reports on its droplet, probes its peers, and acts on failures its peers agree on.

HTTP on port 8080 (the firewall opens it to the fleet and the admin IP):

* ``GET /health`` - this droplet: expected vs running containers, restarts, disk, load, its peers as it sees
  them, whether it is isolated, open incidents;
* ``GET /views`` - this monitor's views of its targets (``consensus.View`` shape);
* ``GET /incidents`` - the incidents this agent knows, with their progress;
* ``POST /drain`` ``{"droplet": name}`` - on the load balancer's droplet only: mark the droplet's members ``down``
  in nginx's upstreams include (``lbconf``: the same include ``/lb-status`` answers from), check it with
  ``nginx -t`` and reload (``/undrain`` puts them back).

``/health`` is open and read-only (GET only). The other endpoints answer 401 unless the request is signed with the
fleet key (``agentauth``: HMAC-SHA256 of method, path, timestamp, nonce and body digest; fresh, never replayed); the
agent signs its own calls to its peers and to the recovery hook with the same key, read from ``auth.key_file``.
The provider's droplet status is read with ``api.token_file``, a read-only token (``droplet:read``) or none.

Every ``interval`` seconds it probes its targets' ``/health``. After ``k`` failures in a row it fetches the
views of the target's other monitors and asks ``consensus.decide``; on a confirmed failure the acting monitor
(``consensus.acting_monitor``) drains the target from the load balancer at once and asks for its replacement
through the recovery hook - at once when the provider reports the droplet not running, after
``replace_after`` seconds otherwise (a network partition usually heals; a drained droplet costs nothing).

Standard library only (Jinja too when it mails), to stay small: ``docker_api`` speaks to the droplet's own engine.
Inside a droplet this file is ``pcloud_agent.py`` in one zip application, ``/opt/pcloud/agent.pyz``, with
``docker_api.py``, ``consensus.py``, ``health.py``, ``lbconf.py``, ``agentauth.py`` and the notification modules
beside it (the role builds it: ``_health_monitor_sources``); on the control node they come from the pcloud package
and the collection. Each round reads the droplet's containers once; ``/health`` answers from that reading.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional

try:  # on the control node: the collection, put on sys.path by the pcloud package
    from pcloud import _collection  # noqa: F401
    from pcloud.agent import docker_api
    from ansible_collections.pcloud.infra.plugins.module_utils import agentauth, consensus, health, lbconf  # isort: skip
    from ansible_collections.pcloud.infra.plugins.module_utils import notify as notify_rules  # isort: skip
except ImportError:  # inside a droplet: beside it in the zip application
    import agentauth  # type: ignore[no-redef]
    import consensus  # type: ignore[no-redef]
    import docker_api  # type: ignore[no-redef]
    import health  # type: ignore[no-redef]
    import lbconf  # type: ignore[no-redef]
    import notify_rules  # type: ignore[no-redef]

LOG = logging.getLogger("pcloud.agent")
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,62}\Z")
# run inside a pcloud.infra.redis container: its port and password file come from its environment; the queue is $1
QUEUE_DEPTH_SCRIPT = ('if [ -r "$REDIS_PASSWORD_FILE" ]; then REDISCLI_AUTH="$(cat "$REDIS_PASSWORD_FILE")"; '
                      'export REDISCLI_AUTH; fi; exec redis-cli --no-auth-warning -p "${REDIS_PORT:-6379}" LLEN "$1"')


def _http_json(url: str, timeout: float, body: Optional[Dict[str, Any]] = None,
               token: Optional[str] = None, key: Optional[bytes] = None) -> Any:
    """GET (or POST ``body``) ``url``; with ``token`` as a bearer token, with ``key`` signed for the fleet."""
    data = None if body is None else json.dumps(body).encode()
    method = "GET" if body is None else "POST"
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    if key:
        parts = urllib.parse.urlsplit(url)
        headers.update(agentauth.sign(key, method, parts.path + ("?" + parts.query if parts.query else ""),
                                      data or b""))
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - fleet addresses from the state only
        raw = resp.read()
        return json.loads(raw) if raw else None


def _read_secret(path: Optional[str]) -> Optional[str]:
    if not path or not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return handle.read().strip() or None


class Agent:
    def __init__(self, config: Dict[str, Any], clock: Callable[[], float] = time.time,
                 docker_client: Any = None) -> None:
        self.config = config
        self.clock = clock
        self.me = config["droplet"]
        self.book = health.PeerBook(self.me, config["ip"], config["peers"])
        self.lock = threading.Lock()
        self.incidents: Dict[str, Dict[str, Any]] = {}
        self.decisions: Dict[str, Dict[str, Any]] = {}
        self.first_confirmed: Dict[str, float] = {}
        self.stop = threading.Event()
        self._docker = docker_client
        self.api = config.get("api") or {}  # the provider: url and a read-only token_file (droplet status)
        self.key = agentauth.read_key((config.get("auth") or {}).get("key_file"))  # the fleet key; None: closed
        self.verifier = agentauth.Verifier(self.key)
        self.observed: Optional[Dict[str, Dict[str, Any]]] = None  # the expected containers as the last round saw them
        self.started_at = clock()
        self.worker_restarts: Dict[str, List[float]] = {}  # container -> times the agent restarted it
        self.stopped_workers: set = set()  # workers seen stopped in the last round
        self.heartbeat_sent_at: Optional[float] = None
        self.heartbeat_error: Optional[str] = None
        self.backup_sent_at: Optional[float] = None
        self.master_heartbeat_at: Optional[float] = None  # the newest master heartbeat this agent has seen
        self.alerted_down: frozenset = frozenset()  # the droplets of the last "several down" alert
        self.queues: List[Dict[str, Any]] = []  # worker queue depths, read each round where their Redis runs
        self._notifier: Any = None
        self._mail: Optional[tuple] = None  # the validated (email, sms) settings once mail is on
        self.last_reports: Dict[str, Dict[str, Any]] = {}  # each target's report from its last answered probe

    # ------------------------------------------------------------------ this droplet

    def docker(self) -> Any:
        if self._docker is None:
            self._docker = docker_api.Engine()  # the droplet's engine, DOCKER_HOST or /var/run/docker.sock
        return self._docker

    def containers(self) -> Dict[str, Dict[str, Any]]:
        """``{name: {"running", "restarts", "id"}}`` of the expected containers that exist: one list of the
        engine's containers, one inspect (the restart count) for each of ours."""
        names = {n for item in self.config["expected"] for n in item["names"]}
        out: Dict[str, Dict[str, Any]] = {}
        if not names:
            return out
        try:
            engine = self.docker()
            for container in engine.containers():
                if container["name"] in names:
                    out[container["name"]] = {"id": container["id"], "running": container["state"] == "running",
                                              "restarts": engine.restart_count(container["id"])}
        except (docker_api.DockerError, OSError, ValueError, KeyError) as exc:  # part of the report, not a crash
            LOG.warning("cannot list containers: %s", exc)
        return out

    def restart_workers(self, seen: Dict[str, Dict[str, Any]]) -> None:
        """A worker container that exists but has not run for two rounds is started again (a deploy replacing it
        stops and removes it within a round); the restarts are reported, three within an hour are critical."""
        workers = {n for item in self.config["expected"] if item["kind"] == "worker" for n in item["names"]}
        stopped = sorted(n for n in workers if n in seen and not seen[n]["running"])
        now = self.clock()
        seen_before, self.stopped_workers = self.stopped_workers, set(stopped)
        for name in stopped:
            if name not in seen_before:
                continue
            try:
                self.docker().start(seen[name]["id"])
            except (docker_api.DockerError, OSError) as exc:  # report, keep monitoring
                LOG.warning("cannot restart worker %s: %s", name, exc)
                continue
            seen[name]["running"] = True
            with self.lock:
                recent = [t for t in self.worker_restarts.get(name, []) if now - t < 3600] + [now]
                self.worker_restarts[name] = recent
            LOG.warning("restarted worker %s (%d times in the last hour)", name, len(recent))
            notifier = self.notifier()
            if len(recent) == 3 and notifier is not None:
                notifier.critical("worker %s on %s keeps stopping" % (name, self.me),
                                  ["restarted 3 times within an hour by the health agent"])

    def read_queues(self) -> None:
        """The depth of each worker queue whose Redis runs here, read inside the Redis container with redis-cli
        (the password stays in its file there); an unreadable queue reports its error instead."""
        out = []
        for item in self.config.get("queues") or ():
            entry = {"service": item["service"], "queue": item["queue"], "depth": None}
            try:
                code, output = self.docker().exec(item["container"], ["sh", "-c", QUEUE_DEPTH_SCRIPT, "pcloud-agent",
                                                                      item["queue"]])
                text = output.decode(errors="replace").strip()
                if code == 0 and text.isdigit():
                    entry["depth"] = int(text)
                else:
                    entry["error"] = text[:200] or "redis-cli exited %s" % code
            except Exception as exc:  # noqa: BLE001 - part of the report, never a crash
                entry["error"] = "%s: %s" % (type(exc).__name__, exc)
            out.append(entry)
        with self.lock:
            self.queues = out

    def report(self) -> Dict[str, Any]:
        now = self.clock()
        observed = self.observed
        if observed is None:  # asked before the first round ended
            observed = self.containers()
        containers = health.container_report(self.config["expected"], observed)
        disk = shutil.disk_usage("/")
        used = round(100.0 * (disk.total - disk.free) / disk.total, 1) if disk.total else None
        with self.lock:
            peers = {p.name: {"ip": p.ip, "failures": p.failures, "last_ok": p.last_ok} for p in self.book.peers.values()
                     if p.name in self.config["targets"]}
            isolated = self.book.isolated(now, self.config["max_age"])
            incidents = [dict(i) for i in self.incidents.values() if i["status"] != "closed"]
            decisions = dict(self.decisions)
        return {"droplet": self.me, "ip": self.config["ip"], "role": self.config.get("role"), "time": now,
                "status": health.droplet_status(containers, used), "containers": containers,
                "disk_used_pct": used, "load": list(os.getloadavg()), "monitors": peers, "isolated": isolated,
                "decisions": decisions, "incidents": incidents, "started_at": self.started_at,
                "worker_restarts": {n: len(t) for n, t in self.worker_restarts.items()}, "queues": list(self.queues),
                "heartbeat": {"last_sent_at": self.heartbeat_sent_at, "last_error": self.heartbeat_error,
                              "backup_sent_at": self.backup_sent_at}}

    def views(self) -> List[Dict[str, Any]]:
        with self.lock:
            return self.book.views(self.config["targets"], self.clock(), self.config["max_age"])

    # ------------------------------------------------------------------ probing and deciding

    def peer_url(self, name: str, path: str) -> str:
        return "http://%s:%d%s" % (self.config["peers"][name], self.config["port"], path)

    def probe(self, target: str) -> bool:
        try:
            report = _http_json(self.peer_url(target, "/health"), self.config["timeout"])
            if isinstance(report, dict):
                self.last_reports[target] = report  # a backup sender reads master's last heartbeat here
            return True
        except (OSError, ValueError, urllib.error.URLError):
            return False

    def tick(self) -> None:
        """One round: read the containers (what /health reports until the next round), restart stopped workers,
        probe every target, then judge those that failed k times in a row."""
        seen = self.containers()
        self.restart_workers(seen)
        self.observed = seen
        self.read_queues()
        results = {t: self.probe(t) for t in self.config["targets"]}
        now = self.clock()
        with self.lock:
            for target, ok in results.items():
                self.book.record(target, ok, now)
            suspects = [t for t in self.config["targets"] if self.book.peers[t].failures >= self.config["k"]]
            for target in self.config["targets"]:
                if target not in suspects:
                    self.decisions.pop(target, None)
                    self.first_confirmed.pop(target, None)
            back = [i for i in self.incidents.values() if i["status"] == "open" and results.get(i["target"])]
        for incident in back:  # answered again before it was replaced (a partition healed): back in the upstreams
            if incident["drained_at"] is None or self.request_drain(incident["target"], undrain=True):
                incident.update(status="closed", progress_at=self.clock())
                incident["notes"].append("answers again: put back in the load balancer")
        for target in suspects:
            self.judge(target)
        self.alert_several_down()

    def alert_several_down(self) -> None:
        """Several droplets confirmed down at once is critical: mail and SMS, once per set of droplets, from the
        monitor that leads the decision on the first of them."""
        with self.lock:
            decisions = {t: dict(d) for t, d in self.decisions.items()}
        down = consensus.several_down(decisions, self.me)
        if down is None:
            if sum(1 for d in decisions.values() if d.get("verdict") == consensus.CONFIRMED) < 2:
                self.alerted_down = frozenset()  # over: the next time is a new alert
            return
        if set(down) <= self.alerted_down:
            return
        self.alerted_down = frozenset(down)
        notifier = self.notifier()
        if notifier is not None:
            result = notifier.critical("%d droplets down: %s" % (len(down), ", ".join(down)),
                                       ["%s: %s" % (t, decisions[t].get("reason")) for t in down])
            LOG.warning("critical alert for %s: %s", ", ".join(down), result)

    def gather_views(self, target: str) -> List[consensus.View]:
        views = [consensus.View.from_json(v) for v in self.views() if v["target"] == target]
        for other in self.config["monitors_of"].get(target, []):
            if other == self.me or other not in self.config["peers"]:
                continue
            try:
                theirs = _http_json(self.peer_url(other, "/views"), self.config["timeout"], key=self.key)
            except (OSError, ValueError, urllib.error.URLError):
                continue
            with self.lock:
                self.book.contact(other, self.clock())
            views.extend(consensus.View.from_json(v) for v in theirs or () if v.get("target") == target)
        return views

    def provider_status(self, target: str) -> Optional[str]:
        """The provider's status of ``target`` (a second source), read with the read-only token; None without one."""
        droplet_id = self.config["droplet_ids"].get(target)
        token = self._api_token()
        if not self.api.get("url") or not token or droplet_id is None:
            return None
        try:
            found = _http_json("%s/v2/droplets/%s" % (self.api["url"].rstrip("/"), droplet_id), self.config["timeout"],
                               token=token)
            return str(found["droplet"]["status"])
        except urllib.error.HTTPError as exc:
            return "missing" if exc.code == 404 else None
        except (OSError, ValueError, KeyError, urllib.error.URLError):
            return None

    def _api_token(self) -> Optional[str]:
        return _read_secret(self.api.get("token_file"))

    def judge(self, target: str) -> None:
        views = self.gather_views(target)
        now = self.clock()
        status = self.provider_status(target)
        with self.lock:
            isolated = self.book.isolated(now, self.config["max_age"])
        decision = consensus.decide(target, self.config["monitors_of"].get(target, []), views, now, k=self.config["k"],
                                    max_age=self.config["max_age"], provider_status=status)
        with self.lock:
            self.decisions[target] = dict(decision.to_json(), provider_status=status, isolated_here=isolated)
        if decision.verdict != consensus.CONFIRMED or isolated:
            return
        first = self.first_confirmed.setdefault(target, now)
        incident = consensus.incident_id(target, self.config["droplet_ids"].get(target) or "unknown")
        progress = self.leader_progress(decision, incident)
        actor = consensus.acting_monitor(decision, progress if progress is not None else first, now,
                                         self.config["takeover_after"])
        if actor == self.me:
            self.act(target, incident, status, now - first)

    def leader_progress(self, decision: consensus.Decision, incident: str) -> Optional[float]:
        if decision.leader in (None, self.me):
            known = self.incidents.get(incident)
            return known["progress_at"] if known else None
        try:
            for item in _http_json(self.peer_url(decision.leader, "/incidents"), self.config["timeout"], key=self.key) or ():
                if item.get("id") == incident:
                    return float(item["progress_at"])
        except (OSError, ValueError, KeyError, urllib.error.URLError):
            return None
        return None

    # ------------------------------------------------------------------ acting

    def act(self, target: str, incident_id: str, status: Optional[str], confirmed_for: float) -> None:
        now = self.clock()
        with self.lock:
            incident = self.incidents.setdefault(incident_id, {
                "id": incident_id, "target": target, "by": self.me, "confirmed_at": now, "drained_at": None,
                "recovery_requested_at": None, "status": "open", "progress_at": now, "notes": []})
            incident["progress_at"] = now  # the acting monitor is alive and on it: the standbys wait
        if incident["drained_at"] is None and target != self.config.get("master"):
            if self.request_drain(target):
                incident["drained_at"] = self.clock()
                incident["progress_at"] = incident["drained_at"]
                incident["notes"].append("drained from the load balancer")
        replace_now = status in consensus.NOT_RUNNING or confirmed_for >= self.config["replace_after"]
        if incident["recovery_requested_at"] is None and replace_now \
                and self.request_recovery(target, incident_id, drained=incident["drained_at"] is not None):
            incident["recovery_requested_at"] = self.clock()
            incident["progress_at"] = incident["recovery_requested_at"]
            incident["status"] = "recovering"
            incident["notes"].append("recovery requested (provider status %s)" % status)

    def request_drain(self, target: str, undrain: bool = False) -> bool:
        master = self.config.get("master")
        if master == self.me:
            return self.drain(target, undrain)
        try:
            _http_json(self.peer_url(master, "/undrain" if undrain else "/drain"), self.config["timeout"] * 3,
                       body={"droplet": target}, key=self.key)
            return True
        except (OSError, ValueError, urllib.error.URLError) as exc:
            LOG.warning("cannot ask %s to drain %s: %s", master, target, exc)
            return False

    def request_recovery(self, target: str, incident_id: str, drained: bool = False) -> bool:
        """Ask the recovery hook (``recovery_url``) to replace ``target``, signed with the fleet key (no API token)."""
        hook = self.config.get("recovery_url")
        if not hook:
            LOG.warning("no recovery hook configured: %s stays drained until 'pcloud recover %s'", target, target)
            return False
        try:
            _http_json("%s/pcloud/v1/recover" % hook.rstrip("/"), self.config["timeout"] * 3,
                       body={"droplet": target, "incident": incident_id, "reported_by": self.me, "drained": drained},
                       key=self.key)
            return True
        except (OSError, ValueError, urllib.error.URLError) as exc:
            LOG.warning("recovery hook failed for %s: %s", target, exc)
            return False

    def drain(self, target: str, undrain: bool = False) -> bool:
        """On the load balancer's droplet: every member on ``target``'s address goes ``down`` (or back, ``undrain``)
        in the upstreams include, re-rendered with ``lbconf`` (``/lb-status`` answers from the same include), checked
        with nginx -t and reloaded. True when the load balancer is as asked."""
        container = self.config.get("lb_container")
        ip = self.config["peers"].get(target)
        if not container or not ip:
            return False
        path = lbconf.INCLUDE_PATH
        try:
            engine = self.docker()
            text = engine.read_file(container, path).decode()
            new, changed = lbconf.redrain(text, ip, drained=not undrain)
            if not changed:
                return True
            engine.write_file(container, path, new.encode())
            code, out = engine.exec(container, ["nginx", "-t", "-q"])
            if code != 0:  # never leave a broken configuration behind
                engine.write_file(container, path, text.encode())
                LOG.warning("drained configuration rejected by nginx -t: %s", out.decode(errors="replace"))
                return False
            code, out = engine.exec(container, ["nginx", "-s", "reload"])
            if code != 0:
                LOG.warning("nginx reload failed after draining %s: %s", target, out.decode(errors="replace"))
                return False
            LOG.info("%s %s (%s) in the load balancer", "restored" if undrain else "drained", target, ip)
            return True
        except (docker_api.DockerError, OSError, ValueError) as exc:  # report and keep monitoring
            LOG.warning("cannot drain %s: %s", target, exc)
            return False

    # ------------------------------------------------------------------ heartbeats

    def mail_settings(self) -> Optional[Dict[str, Any]]:
        """The validated email settings when mail is on, None otherwise; loads no mail library (Jinja, smtplib:
        a few MB), which only ``notifier`` does, when there is something to send."""
        settings = self.config.get("notify") or {}
        if self._mail is None and settings.get("email", {}).get("enabled"):
            try:
                self._mail = (notify_rules.email_settings(settings["email"]),
                              notify_rules.sms_settings(settings.get("sms") or {"enabled": False}))
            except ValueError as exc:
                LOG.warning("notifications off: %s", exc)
                self.config["notify"] = {}
        return self._mail[0] if self._mail else None

    def notifier(self) -> Any:
        """The mail/SMS sender from the settings the role copied in; None when mail is not configured."""
        if self._notifier is None and self.mail_settings() is not None:
            try:
                from pcloud.notify import Notifier
            except ImportError:  # inside a droplet
                from pcloud_notify import Notifier  # type: ignore[no-redef]
            settings = self.config["notify"]
            secrets = {k: _read_secret(settings.get(k + "_file")) for k in ("smtp_username", "smtp_password", "sms_token")}
            email, sms = self._mail or ({}, {})
            self._notifier = Notifier(email, sms,
                                      [settings.get("templates", "")], username=secrets["smtp_username"],
                                      password=secrets["smtp_password"], sms_token=secrets["sms_token"], sender=self.me)
        return self._notifier

    def fleet_reports(self) -> Dict[str, Optional[Dict[str, Any]]]:
        reports: Dict[str, Optional[Dict[str, Any]]] = {self.me: self.report()}
        for name in self.config["peers"]:
            try:
                reports[name] = _http_json(self.peer_url(name, "/health"), self.config["timeout"])
            except (OSError, ValueError, urllib.error.URLError):
                reports[name] = None
        return reports

    def master_report(self) -> Optional[Dict[str, Any]]:
        """Master's report as this round's probe got it (a web droplet probes master), else asked for."""
        master = self.config.get("master") or ""
        if master in self.config["targets"]:
            return self.last_reports.get(master)
        try:
            return _http_json(self.peer_url(master, "/health"), self.config["timeout"]) if master in self.config["peers"] else None
        except (OSError, ValueError, urllib.error.URLError):
            return None

    def heartbeat(self) -> None:
        """Master mails the fleet's summary every heartbeat_minutes; when master has been silent for
        backup_after_minutes, the lowest reachable web droplet mails a backup heartbeat instead."""
        email = self.mail_settings()
        if email is None:
            return
        now = self.clock()
        every = float(email["heartbeat_minutes"]) * 60
        roles = self.config.get("roles") or {}
        if self.me == self.config.get("master"):
            if self.heartbeat_sent_at is not None and now - self.heartbeat_sent_at < every:
                return
            notifier = self.notifier()
            summary = notify_rules.heartbeat_summary(self.fleet_reports(), roles, now)
            subject = notify_rules.heartbeat_subject(summary, now)
            self.heartbeat_error = notifier.mail(subject, "heartbeat.txt.j2", {"summary": summary,
                                                                              "every": email["heartbeat_minutes"]},
                                                 html_template="heartbeat.html.j2")
            self.heartbeat_sent_at = now  # also after a failure: the next try is one period later, monitoring goes on
            return
        silent_for = float(email["backup_after_minutes"]) * 60
        if self.backup_sent_at is not None and now - self.backup_sent_at < every:
            return
        last = ((self.master_report() or {}).get("heartbeat") or {}).get("last_sent_at")
        if last is not None:  # remembered: an unreachable master has been silent since its last heartbeat we saw
            self.master_heartbeat_at = max(self.master_heartbeat_at or 0.0, float(last))
        if now - (self.master_heartbeat_at or self.started_at) < silent_for:
            return
        reports = self.fleet_reports()  # only now: who else is reachable decides who sends
        web_ips = {n: ip for n, ip in dict(self.config["peers"], **{self.me: self.config["ip"]}).items()
                   if roles.get(n) != "master"}
        sender = notify_rules.backup_sender(web_ips, [n for n, r in reports.items() if r is not None])
        if sender != self.me:
            LOG.info("master silent for %.0f s: the backup heartbeat is %s's to send", now - (self.master_heartbeat_at
                                                                                          or self.started_at), sender)
            return
        LOG.info("master silent for %.0f s: sending the backup heartbeat", now - (self.master_heartbeat_at or self.started_at))
        summary = notify_rules.heartbeat_summary(reports, roles, now)
        self.heartbeat_error = self.notifier().mail(notify_rules.backup_subject(now), "backup.txt.j2",
                                                    {"summary": summary, "silent_minutes": email["backup_after_minutes"]})
        self.backup_sent_at = now

    # ------------------------------------------------------------------ running

    def run(self) -> None:
        while not self.stop.is_set():
            started = self.clock()
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - one bad round never stops monitoring
                LOG.exception("monitoring round failed")
            try:
                self.heartbeat()
            except Exception:  # noqa: BLE001 - nor does a heartbeat
                LOG.exception("heartbeat failed")
            # a target that just failed a probe is probed again within a second: k failures take about k
            # seconds instead of k intervals, and a healthy fleet still costs one probe per interval
            with self.lock:
                failing = any(self.book.peers[t].failures for t in self.config["targets"] if t in self.book.peers)
            period = min(self.config["interval"], 1.0) if failing else self.config["interval"]
            self.stop.wait(max(0.1, period - (self.clock() - started)))

    def serve(self, host: Optional[str] = None) -> List[ThreadingHTTPServer]:
        """Listen on ``host``, or on the droplet's address and loopback (never on other interfaces)."""
        agent = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, fmt: str, *args: Any) -> None:
                LOG.debug(fmt, *args)

            def reply(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def signed(self, body: bytes) -> bool:
                """True when the request carries a valid fleet signature; answers 401 otherwise."""
                try:
                    agent.verifier.verify(self.command, self.path, self.headers, body)
                    return True
                except agentauth.AgentAuthError as exc:
                    LOG.warning("refused %s %s from %s: %s", self.command, self.path, self.client_address[0], exc.reason)
                    self.reply(401, {"error": "unauthorized", "reason": exc.reason})
                    return False

            def read_body(self) -> Optional[bytes]:
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    length = -1
                if not 0 <= length <= 65536:
                    self.reply(400, {"error": "bad Content-Length"})
                    return None
                return self.rfile.read(length) if length else b""

            def do_GET(self) -> None:  # noqa: N802
                if self.path == "/health":  # open and read-only
                    return self.reply(200, agent.report())
                if self.path not in ("/views", "/incidents"):
                    return self.reply(404, {"error": "not found"})
                body = self.read_body()
                if body is None or not self.signed(body):
                    return None
                if self.path == "/views":
                    return self.reply(200, agent.views())
                with agent.lock:
                    return self.reply(200, [dict(i) for i in agent.incidents.values()])

            def do_POST(self) -> None:  # noqa: N802
                if self.path == "/health":
                    return self.reply(405, {"error": "/health is read-only"})
                if self.path not in ("/drain", "/undrain"):
                    return self.reply(404, {"error": "not found"})
                raw = self.read_body()
                if raw is None or not self.signed(raw):
                    return None
                try:
                    body = json.loads(raw or b"{}")
                    target = str(body["droplet"])
                except (ValueError, KeyError, TypeError):
                    return self.reply(400, {"error": "expected {\"droplet\": name}"})
                if not NAME_RE.match(target) or target not in agent.config["peers"]:
                    return self.reply(400, {"error": "unknown droplet"})
                done = agent.drain(target, undrain=self.path == "/undrain")
                return self.reply(200 if done else 409, {"droplet": target})

        servers = []
        for address in [host] if host else sorted({self.config["ip"], "127.0.0.1"}):
            server = ThreadingHTTPServer((address, self.config.get("listen_port") or self.config["port"]), Handler)
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, name="agent-http-%s" % address, daemon=True).start()
            servers.append(server)
        return servers


def main(argv: Optional[List[str]] = None) -> int:
    import argparse
    import signal

    parser = argparse.ArgumentParser(prog="pcloud-agent", description="the pcloud health agent of one droplet")
    parser.add_argument("--config", required=True, help="the agent's JSON configuration")
    parser.add_argument("--host", default=None, help="address to listen on (default: the droplet's and loopback)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    with open(args.config, encoding="utf-8") as handle:
        config = json.load(handle)
    agent = Agent(config)
    servers = agent.serve(args.host)
    signal.signal(signal.SIGTERM, lambda *_: agent.stop.set())
    LOG.info("agent of %s on port %d: probing %s every %.0f s", agent.me, config["port"],
             ", ".join(config["targets"]) or "nobody", config["interval"])
    try:
        agent.run()
    except KeyboardInterrupt:
        pass
    for server in servers:
        server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
