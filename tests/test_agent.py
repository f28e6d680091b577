"""Three health agents talking real HTTP on loopback addresses (127.0.0.2-4): probes, views, quorum,
the leader's recovery request (once), and a partitioned monitor that never acts; their control endpoints take only
requests signed with the fleet key. Time is a fake clock so rounds are deterministic; sockets are real."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pcloud import _collection  # noqa: F401
from pcloud.agent import docker_api
from pcloud.agent.service import Agent

from ansible_collections.pcloud.infra.plugins.module_utils import agentauth, health, lbconf  # isort: skip

IPS = {"pcloud-master": "127.0.0.2", "shop-web1": "127.0.0.3", "shop-web2": "127.0.0.4"}
STATE = {
    "droplets": {
        "pcloud-master": {"ip": IPS["pcloud-master"], "role": "master", "monitors": ["shop-web1", "shop-web2"]},
        "shop-web1": {"ip": IPS["shop-web1"], "role": "web", "monitors": ["pcloud-master", "shop-web2"]},
        "shop-web2": {"ip": IPS["shop-web2"], "role": "web", "monitors": ["pcloud-master", "shop-web1"]},
    },
    "projects": {"shop-uat": {"backend": {"type": "web", "port": 8100, "assigned_droplets": ["shop-web1", "shop-web2"],
                                          "service_name": "shop-uat-backend"}}},
}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class NoDocker:
    """An engine without containers (``pcloud.agent.docker_api.Engine``'s shape)."""

    def containers(self):
        return []

    def read_file(self, ref, path):
        raise docker_api.DockerError("No such container: %s" % ref, status=404)


FLEET_KEY = bytes(range(32))
READ_TOKEN = "read-only-token"


class Hook(BaseHTTPRequestHandler):
    """The provider (droplet status, with the read-only token) and the recovery hook (signed with the fleet key)."""

    calls: list = []
    status = "active"
    refused: list = []

    def log_message(self, fmt, *args):
        pass

    def answer(self, code, data=b""):
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 - the provider's droplet status
        if self.headers.get("Authorization") != "Bearer " + READ_TOKEN:
            type(self).refused.append(("GET", self.path))
            return self.answer(401)
        return self.answer(200, json.dumps({"droplet": {"status": type(self).status}}).encode())

    def do_POST(self):  # noqa: N802 - the recovery hook
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        try:
            agentauth.Verifier(FLEET_KEY).verify("POST", self.path, self.headers, raw)
        except agentauth.AgentAuthError:
            type(self).refused.append(("POST", self.path))
            return self.answer(401)
        assert "Authorization" not in self.headers  # no API token for the hook
        type(self).calls.append((self.path, json.loads(raw)))
        return self.answer(202)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.2", 0))
        return probe.getsockname()[1]


@pytest.fixture
def fleet(tmp_path):
    Hook.calls, Hook.status, Hook.refused = [], "active", []
    hook = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    (tmp_path / "agent-key").write_text(FLEET_KEY.hex() + "\n")
    (tmp_path / "api-token").write_text(READ_TOKEN + "\n")
    clock, port, agents, servers = Clock(), free_port(), {}, {}
    for name, ip in IPS.items():
        config = health.agent_config(STATE, name, "pc-" + name, interval=5, timeout=0.5, k=2, replace_after=600,
                                     droplet_ids={"pcloud-master": 1, "shop-web1": 2, "shop-web2": 3})
        url = "http://127.0.0.1:%d" % hook.server_address[1]
        config.update(port=port, api={"url": url, "token_file": str(tmp_path / "api-token")}, recovery_url=url,
                      auth={"key_file": str(tmp_path / "agent-key")})
        agents[name] = Agent(config, clock=clock, docker_client=NoDocker())
        servers[name] = agents[name].serve(ip)[0]
    yield clock, agents, servers
    for server in servers.values():
        server.shutdown()
        server.server_close()
    hook.shutdown()
    hook.server_close()


def rounds(clock, agents, names, count):
    for _ in range(count):
        clock.now += 5
        for name in names:
            agents[name].tick()


def test_all_up_nobody_is_suspect(fleet):
    clock, agents, _servers = fleet
    rounds(clock, agents, list(IPS), 3)
    report = agents["pcloud-master"].report()
    assert report["monitors"]["shop-web1"]["failures"] == 0 and not report["isolated"]
    assert report["decisions"] == {} and Hook.calls == []
    assert {v["target"] for v in agents["shop-web1"].views()} == {"pcloud-master", "shop-web2"}


def test_a_dead_droplet_is_confirmed_and_recovered_once(fleet):
    clock, agents, servers = fleet
    servers["shop-web1"].shutdown()
    servers["shop-web1"].server_close()
    Hook.status = "off"  # the provider sees it stopped
    rounds(clock, agents, ["pcloud-master", "shop-web2"], 4)
    decision = agents["pcloud-master"].report()["decisions"]["shop-web1"]
    assert decision["verdict"] == "confirmed" and decision["leader"] == "pcloud-master", decision
    assert [call for call in Hook.calls] == [("/pcloud/v1/recover", {"droplet": "shop-web1", "incident": "shop-web1-2",
                                                                      "reported_by": "pcloud-master", "drained": False})]
    incidents = agents["pcloud-master"].report()["incidents"]
    assert incidents[0]["status"] == "recovering" and incidents[0]["id"] == "shop-web1-2"
    assert agents["shop-web2"].report()["incidents"] == []  # the standby stood by


def test_a_partitioned_monitor_never_acts(fleet):
    clock, agents, servers = fleet
    # shop-web1 is cut off: it reaches nobody and nobody reaches it (its server is gone, its peers unroutable)
    servers["shop-web1"].shutdown()
    servers["shop-web1"].server_close()
    agents["shop-web1"].config["peers"] = {n: "127.0.0.99" for n in agents["shop-web1"].config["peers"]}
    rounds(clock, agents, list(IPS), 8)
    cut = agents["shop-web1"].report()
    assert cut["isolated"] and all(p["failures"] >= 2 for p in cut["monitors"].values())
    assert cut["incidents"] == [] and all(d["verdict"] != "confirmed" for d in cut["decisions"].values())
    # the others agree web1 is unreachable but the provider still runs it: drained at most, never replaced
    assert agents["pcloud-master"].report()["decisions"]["shop-web1"]["verdict"] == "confirmed"
    assert Hook.calls == []
    # after replace_after of continuous confirmation the leader asks for a replacement
    agents["pcloud-master"].config["replace_after"] = 10
    rounds(clock, agents, ["pcloud-master", "shop-web2"], 1)
    assert [c[1]["droplet"] for c in Hook.calls] == ["shop-web1"]


def call(agent, method, path, body=None, headers=None, host="127.0.0.2"):
    """(status, parsed body) of one request to ``agent`` over loopback."""
    import urllib.error
    import urllib.request

    req = urllib.request.Request("http://%s:%d%s" % (host, agent.config["port"], path), data=body, method=method,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - loopback
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw


DRAIN = b'{"droplet": "shop-web1"}'


@pytest.fixture
def drains(fleet):
    """Master's drain/undrain calls, recorded instead of editing nginx."""
    _clock, agents, _servers = fleet
    done = []
    agents["pcloud-master"].drain = lambda target, undrain=False: done.append((target, undrain)) or True
    return done


@pytest.mark.parametrize("method, path, body", [("POST", "/drain", DRAIN), ("POST", "/undrain", DRAIN),
                                                ("GET", "/views", None), ("GET", "/incidents", None)])
def test_unsigned_control_calls_get_401_and_change_nothing(fleet, drains, method, path, body):
    """Item 13: a caller without the fleet key (any app container on the fleet network) is refused."""
    _clock, agents, _servers = fleet
    master = agents["pcloud-master"]
    # from 127.0.0.1: an address the agent used to trust, like any container on the droplet
    status, answer = call(master, method, path, body, {"Content-Type": "application/json"})
    assert status == 401 and answer["error"] == "unauthorized", answer
    assert drains == []


@pytest.mark.parametrize("case", ["stale", "future", "wrong key", "replay", "other path", "other body", "garbled"])
def test_bad_signatures_get_401(fleet, drains, case):
    _clock, agents, _servers = fleet
    master = agents["pcloud-master"]
    key, path, body, at = FLEET_KEY, "/drain", DRAIN, time.time()
    if case == "stale":
        at -= 31
    if case == "future":
        at += 31
    if case == "wrong key":
        key = bytes(range(1, 33))
    headers = agentauth.sign(key, "POST", "/undrain" if case == "other path" else path, body, now=at)
    if case == "replay":
        assert call(master, "POST", path, body, headers)[0] == 200  # the first time it is fine
        drains.clear()
    if case == "other body":
        body = b'{"droplet": "shop-web2"}'
    if case == "garbled":
        headers[agentauth.HEADER_SIGNATURE] = "v1=" + "g" * 64
    status, answer = call(master, "POST", path, body, headers)
    assert status == 401 and answer["error"] == "unauthorized", answer
    assert drains == []


def test_signed_control_calls_work(fleet, drains):
    _clock, agents, _servers = fleet
    master = agents["pcloud-master"]
    sign = agentauth.sign
    assert call(master, "POST", "/drain", DRAIN, sign(FLEET_KEY, "POST", "/drain", DRAIN)) == (200, {"droplet": "shop-web1"})
    assert call(master, "POST", "/undrain", DRAIN, sign(FLEET_KEY, "POST", "/undrain", DRAIN))[0] == 200
    assert drains == [("shop-web1", False), ("shop-web1", True)]
    status, views = call(master, "GET", "/views", headers=sign(FLEET_KEY, "GET", "/views"))
    assert status == 200 and {v["target"] for v in views} == {"shop-web1", "shop-web2"}
    assert call(master, "GET", "/incidents", headers=sign(FLEET_KEY, "GET", "/incidents")) == (200, [])
    bad = b'{"droplet": "nosuch"}'
    assert call(master, "POST", "/drain", bad, sign(FLEET_KEY, "POST", "/drain", bad))[0] == 400  # still checked


def test_health_is_open_and_read_only(fleet, drains):
    _clock, agents, _servers = fleet
    status, report = call(agents["pcloud-master"], "GET", "/health")
    assert status == 200 and report["droplet"] == "pcloud-master"
    assert call(agents["pcloud-master"], "POST", "/health", b"{}")[0] == 405
    assert call(agents["pcloud-master"], "DELETE", "/health")[0] == 501


def test_an_agent_without_the_key_is_closed_and_cannot_drain(fleet, drains, tmp_path):
    """Keyless: its own endpoints refuse everything signed or not, and its calls to master are refused."""
    clock, agents, _servers = fleet
    config = dict(agents["shop-web2"].config, auth={"key_file": str(tmp_path / "missing")}, port=free_port())
    keyless = Agent(config, clock=clock, docker_client=NoDocker())
    server = keyless.serve("127.0.0.5")[0]
    try:
        assert call(keyless, "GET", "/views", headers=agentauth.sign(FLEET_KEY, "GET", "/views"), host="127.0.0.5")[0] == 401
        assert keyless.request_drain("shop-web1") is False and drains == []
    finally:
        server.shutdown()
        server.server_close()


def test_agents_sign_views_drains_and_recovery_and_read_the_provider_with_the_read_token(fleet, drains):
    """The views gathered from the other monitors, the drain through master and the recovery request all pass their
    receivers' checks; the provider sees only the read-only token."""
    clock, agents, servers = fleet
    servers["shop-web1"].shutdown()
    servers["shop-web1"].server_close()
    Hook.status = "off"
    rounds(clock, agents, ["pcloud-master", "shop-web2"], 4)
    decision = agents["shop-web2"].report()["decisions"]["shop-web1"]
    assert set(decision["down"]) == {"pcloud-master", "shop-web2"}, decision  # master's views reached web2
    assert [c[1]["droplet"] for c in Hook.calls] == ["shop-web1"] and Hook.refused == []
    assert decision["provider_status"] == "off"


def test_a_standby_takes_over_when_the_leader_goes_silent(fleet):
    clock, agents, servers = fleet
    servers["shop-web1"].shutdown()
    servers["shop-web1"].server_close()
    rounds(clock, agents, ["pcloud-master", "shop-web2"], 3)  # both agree; master leads (provider: still active)
    assert agents["shop-web2"].report()["decisions"]["shop-web1"]["leader"] == "pcloud-master" and Hook.calls == []
    servers["pcloud-master"].shutdown()  # the leader goes silent before it could act
    servers["pcloud-master"].server_close()
    Hook.status = "off"
    rounds(clock, agents, ["shop-web2"], 8)
    web1 = [c[1]["reported_by"] for c in Hook.calls if c[1]["droplet"] == "shop-web1"]
    assert web1 == ["shop-web2"]  # once, by the standby
    assert {c[1]["droplet"] for c in Hook.calls} == {"shop-web1", "pcloud-master"}  # master is down too, and off


class Inbox:
    def __init__(self):
        self.subjects = []
        self.bodies = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        from email import message_from_bytes
        from email.policy import default

        message = message_from_bytes(envelope.content, policy=default)
        self.subjects.append(str(message["Subject"]))
        self.bodies.append(message.get_body(("plain",)).get_content())
        return "250 OK"


def notify_settings(port):
    return {"email": {"enabled": True, "smtp_host": "127.0.0.1", "smtp_port": port, "starttls": False, "username_env": None,
                      "password_env": None, "from": "pcloud@localhost", "to": ["owner@localhost"],
                      "heartbeat_minutes": 1, "backup_after_minutes": 2, "timeout": 3},
            "sms": {"enabled": False}, "templates": ""}


@pytest.fixture
def mailbox():
    """A real SMTP server on loopback: (inbox, port)."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    yield inbox, smtp.port
    smtp.stop()


def test_master_mails_heartbeats_and_a_backup_takes_over(fleet, mailbox):
    clock, agents, servers = fleet
    inbox, port = mailbox
    for agent in agents.values():
        agent.config["notify"] = notify_settings(port)
    for name in ("shop-web1", "shop-web2"):
        agents[name].started_at = clock.now - 1000  # had they not seen master's heartbeat, they would send a backup
    agents["pcloud-master"].heartbeat()
    agents["pcloud-master"].heartbeat()  # within the period: nothing more
    assert len(inbox.subjects) == 1 and inbox.subjects[0].startswith("\u26a0\ufe0f Infrastructure degraded - ")
    assert "Web droplets:      0/2 healthy" in inbox.bodies[0]  # nothing deployed: services missing
    assert "shop-uat-backend" in inbox.bodies[0]
    clock.now += 95
    rounds(clock, agents, ["shop-web1", "shop-web2"], 1)  # their probes of master carry its last heartbeat time
    for name in ("shop-web1", "shop-web2"):
        agents[name].heartbeat()  # they see master's heartbeat, 100 s old: no backup
        assert agents[name]._notifier is None  # nothing to send: no mail library loaded
    assert len(inbox.subjects) == 1
    # master goes silent; backup_after_minutes after its last heartbeat the lowest web droplet sends the backup
    servers["pcloud-master"].shutdown()
    servers["pcloud-master"].server_close()
    clock.now += 10
    for name in ("shop-web1", "shop-web2"):
        agents[name].heartbeat()
    assert len(inbox.subjects) == 1  # silent for 110 s: not long enough yet
    clock.now += 15
    for name in ("shop-web1", "shop-web2"):
        agents[name].heartbeat()
    assert len(inbox.subjects) == 2 and inbox.subjects[1].startswith("\u26a0\ufe0f Backup Heartbeat - Master may be down - ")
    assert "This backup heartbeat comes from shop-web1." in inbox.bodies[1]


def test_a_dead_mail_server_never_stops_monitoring(fleet):
    clock, agents, _servers = fleet
    agents["pcloud-master"].config["notify"] = notify_settings(free_port())  # nothing listens there
    agents["pcloud-master"].heartbeat()
    rounds(clock, agents, list(IPS), 2)
    report = agents["pcloud-master"].report()
    assert "ConnectionRefusedError" in report["heartbeat"]["last_error"]
    assert report["monitors"]["shop-web1"]["failures"] == 0  # still probing


class FakeEngine:
    """A Docker engine in memory (``pcloud.agent.docker_api.Engine``'s shape): containers by name, files in the load
    balancer's container, and the commands run in containers with their exit codes."""

    def __init__(self, containers=(), files=None, nginx_t=0):
        self.states = dict(containers)  # name -> state
        self.files = dict(files or {})
        self.nginx_t = nginx_t
        self.calls = []

    def containers(self):
        self.calls.append("list")
        return [{"id": "id-" + n, "name": n, "state": state} for n, state in self.states.items()]

    def restart_count(self, ref):
        self.calls.append(("inspect", ref))
        return 0

    def start(self, ref):
        self.calls.append(("start", ref))
        self.states[ref[len("id-"):]] = "running"

    def exec(self, ref, argv):
        self.calls.append(("exec", ref, tuple(argv)))
        return (self.nginx_t if argv[:2] == ["nginx", "-t"] else 0), b""

    def read_file(self, ref, path):
        return self.files[(ref, path)].encode()

    def write_file(self, ref, path, data):
        self.files[(ref, path)] = data.decode()


def test_a_stopped_worker_is_restarted_and_reported():
    state = {"droplets": {"pcloud-master": {"ip": "127.0.0.2", "role": "master", "monitors": []}},
             "projects": {"shop-uat": {"jobs": {"type": "worker", "assigned_droplets": ["pcloud-master"],
                                                "service_name": "shop-uat-jobs"}}}}
    engine = FakeEngine({"pc-shop-uat-jobs": "exited", "someone-else": "exited"})
    agent = Agent(health.agent_config(state, "pcloud-master", "pc"), clock=Clock(), docker_client=engine)
    agent.tick()
    assert ("start", "id-pc-shop-uat-jobs") not in engine.calls  # stopped for one round only: maybe a deploy replacing it
    agent.tick()
    assert engine.calls.count(("start", "id-pc-shop-uat-jobs")) == 1 and agent.report()["worker_restarts"] == {
        "pc-shop-uat-jobs": 1}
    assert agent.report()["containers"]["workers"] == [{"service": "shop-uat-jobs", "running": True}]
    agent.tick()  # running again: nothing to do
    assert engine.calls.count(("start", "id-pc-shop-uat-jobs")) == 1
    engine.states["pc-shop-uat-jobs"] = "exited"
    agent.tick()
    agent.tick()
    assert agent.report()["worker_restarts"] == {"pc-shop-uat-jobs": 2}
    assert ("start", "id-someone-else") not in engine.calls  # never a container that is not ours


def test_health_answers_from_the_rounds_reading_of_the_engine():
    """The engine is read once per round however often the monitors ask for /health (the agent's overhead)."""
    state = {"droplets": {"pcloud-master": {"ip": "127.0.0.2", "role": "master", "monitors": []}},
             "projects": {"shop-uat": {"web": {"type": "web", "port": 8100, "assigned_droplets": ["pcloud-master"],
                                               "service_name": "shop-uat-web"}}}}
    engine = FakeEngine({"pc-shop-uat-web": "running", "pc-nginx-lb": "running", "other": "running"})
    agent = Agent(health.agent_config(state, "pcloud-master", "pc"), clock=Clock(), docker_client=engine)
    assert agent.report()["containers"]["missing"] == []  # before the first round: read now
    agent.tick()
    engine.calls.clear()
    reports = [agent.report() for _ in range(5)]
    assert engine.calls == [] and all(r["status"] == "ok" for r in reports)
    engine.states["pc-shop-uat-web"] = "exited"
    assert agent.report()["containers"]["missing"] == []  # until the next round
    agent.tick()
    assert agent.report()["containers"]["missing"] == ["shop-uat-web"]
    assert engine.calls.count("list") == 1 and ("inspect", "id-other") not in engine.calls  # only ours are inspected


def lb_agent(nginx_t=0):
    include = lbconf.render({"shop-uat-backend": ["127.0.0.3:8100", "127.0.0.4:8100"]}, [])
    engine = FakeEngine({"pc-nginx-lb": "running"}, {("pc-nginx-lb", lbconf.INCLUDE_PATH): include}, nginx_t=nginx_t)
    return Agent(health.agent_config(STATE, "pcloud-master", "pc"), clock=Clock(), docker_client=engine), engine, include


def lb_status(engine):
    return json.loads(engine.files[("pc-nginx-lb", lbconf.INCLUDE_PATH)].split("default '", 1)[1].split("';", 1)[0])


def test_a_drain_re_renders_the_include_that_lb_status_answers_from():
    agent, engine, include = lb_agent()
    assert agent.drain("shop-web1") is True
    assert lb_status(engine) == {"shop-uat-backend": ["127.0.0.4:8100"], "drained": {"shop-uat-backend": ["127.0.0.3:8100"]}}
    assert engine.calls[-2:] == [("exec", "pc-nginx-lb", ("nginx", "-t", "-q")), ("exec", "pc-nginx-lb", ("nginx", "-s", "reload"))]
    engine.calls.clear()
    assert agent.drain("shop-web1") is True and engine.calls == []  # already drained: no reload
    assert agent.drain("shop-web2") is True
    assert lb_status(engine) == {"shop-uat-backend": [], "drained": {"shop-uat-backend": ["127.0.0.3:8100", "127.0.0.4:8100"]}}
    assert agent.drain("shop-web1", undrain=True) and agent.drain("shop-web2", undrain=True)
    assert engine.files[("pc-nginx-lb", lbconf.INCLUDE_PATH)] == include


def test_a_drain_nginx_refuses_is_rolled_back():
    agent, engine, include = lb_agent(nginx_t=1)
    assert agent.drain("shop-web1") is False
    assert engine.files[("pc-nginx-lb", lbconf.INCLUDE_PATH)] == include
    assert ("exec", "pc-nginx-lb", ("nginx", "-s", "reload")) not in engine.calls


def test_only_masters_agent_drains():
    web = Agent(health.agent_config(STATE, "shop-web1", "pc"), clock=Clock(), docker_client=FakeEngine())
    assert web.drain("shop-web2") is False


def test_the_agent_ships_as_one_self_contained_file(tmp_path):
    """The role's zip application of the agent (roles/health_monitor/vars/main.yml) runs with nothing but Python's
    standard library: no pcloud package, no collection, no docker SDK."""
    import subprocess
    import sys
    from pathlib import Path

    import yaml

    from ansible_collections.pcloud.infra.plugins.module_utils import zipapp

    repo = Path(__file__).resolve().parents[1]
    role = repo / "collections" / "ansible_collections" / "pcloud" / "infra" / "roles" / "health_monitor"
    listed = yaml.safe_load((role / "vars" / "main.yml").read_text())["_health_monitor_sources"]
    sources = {name: Path(path.replace("{{ __health_monitor_agent_dir }}", str(repo / "src" / "pcloud" / "agent"))
                          .replace("{{ _health_monitor_module_utils }}", str(role.parents[1] / "plugins" / "module_utils")))
               .read_text() for name, path in listed.items()}
    bundle = tmp_path / "agent.pyz"
    bundle.write_bytes(zipapp.zipapp(sources, "pcloud_agent"))
    assert zipapp.zipapp(sources, "pcloud_agent") == bundle.read_bytes()  # the same bytes: a stable label hash
    # -I -S: no site-packages (no pcloud, no docker SDK, no Jinja), no PYTHONPATH; only what the file carries
    ran = subprocess.run([sys.executable, "-I", "-S", str(bundle), "--help"], capture_output=True, text=True, timeout=60,
                         check=False)
    assert ran.returncode == 0 and "--config CONFIG" in ran.stdout, ran.stdout + ran.stderr


class SmsProvider(BaseHTTPRequestHandler):
    """A Twilio-shaped SMS API: records each message."""

    received: list = []

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):  # noqa: N802
        from urllib.parse import parse_qs

        type(self).received.append((self.path, parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())))
        self.send_response(201)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


def test_several_droplets_down_is_one_critical_alert(fleet, mailbox, tmp_path):
    clock, agents, servers = fleet
    inbox, port = mailbox
    SmsProvider.received = []
    sms = ThreadingHTTPServer(("127.0.0.1", 0), SmsProvider)
    threading.Thread(target=sms.serve_forever, daemon=True).start()
    (tmp_path / "sms-token").write_text("sms-secret")
    settings = notify_settings(port)
    settings.update(sms={"enabled": True, "base_url": "http://127.0.0.1:%d" % sms.server_address[1], "account_sid": "AC1",
                         "from": "+441111111111", "to": ["+442222222222"], "token_env": "PCLOUD_SMS_TOKEN"},
                    sms_token_file=str(tmp_path / "sms-token"))
    agents["pcloud-master"].config["notify"] = settings
    for name in ("shop-web1", "shop-web2"):
        servers[name].shutdown()
        servers[name].server_close()
    Hook.status = "off"  # the provider: both stopped
    rounds(clock, agents, ["pcloud-master"], 6)
    critical = [s for s in inbox.subjects if s.startswith("\U0001f6a8 CRITICAL: ")]
    assert critical == ["\U0001f6a8 CRITICAL: 2 droplets down: shop-web1, shop-web2"], inbox.subjects
    assert "shop-web1: " in inbox.bodies[inbox.subjects.index(critical[0])]
    assert [(path, form["To"], form["Body"][0][:49]) for path, form in SmsProvider.received] == [
        ("/2010-04-01/Accounts/AC1/Messages.json", ["+442222222222"], "\U0001f6a8 CRITICAL: 2 droplets down: shop-web1, shop-web2")]
    rounds(clock, agents, ["pcloud-master"], 4)
    assert len([s for s in inbox.subjects if s.startswith("\U0001f6a8")]) == 1 and len(SmsProvider.received) == 1  # once
    sms.shutdown()
    sms.server_close()
