"""The health_monitor role: the agent answers on 8080 with a truthful report, probes its peer, keeps its token
and the fleet key in files only, and refuses unsigned calls to its control endpoints."""

import json
import time

# the agent's container in the droplet's own engine, named after the droplet (pcloud.infra.docker's prefix)
AGENT = "molecule-health-monitor-health-agent"


def agent(host):
    assert host.check_output("docker inspect --format '{{.State.Status}}' %s" % AGENT) == "running"
    return AGENT


def test_runs_as_one_file_in_the_droplets_network_with_a_memory_limit(host):
    info = json.loads(host.check_output("docker inspect %s" % agent(host)))[0]
    assert info["HostConfig"]["NetworkMode"] == "host"
    assert info["HostConfig"]["Memory"] == 64 * 1024 * 1024  # health_monitor_memory: 64m
    assert "MALLOC_ARENA_MAX=2" in info["Config"]["Env"]
    assert info["Config"]["Entrypoint"][:2] == ["python3", "/opt/pcloud/agent.pyz"]


def test_reports_this_droplet(host):
    report = json.loads(host.check_output("python3 -c \"import urllib.request; "
                                          "print(urllib.request.urlopen('http://127.0.0.1:8080/health').read().decode())\""))
    assert report["droplet"] == "molecule-health-monitor"
    assert report["containers"]["expected"] == 1 and report["containers"]["missing"] == ["mol-uat-web"]
    assert report["status"] == "degraded"  # the web service was never deployed here


def test_probes_its_peer_and_counts_failures(host):
    time.sleep(3)  # a few rounds at 1 s
    report = json.loads(host.check_output("python3 -c \"import urllib.request; "
                                          "print(urllib.request.urlopen('http://127.0.0.1:8080/health').read().decode())\""))
    assert report["monitors"]["molecule-peer"]["failures"] >= 2  # 127.0.0.9:8080 answers nothing


def test_token_is_a_file_only(host):
    name = agent(host)
    assert host.check_output("docker exec %s stat -c %%a /opt/pcloud/api-token" % name) == "400"
    assert "molecule-token-value" not in host.check_output("docker inspect %s" % name)


def test_fleet_key_is_a_file_only(host):
    name = agent(host)
    assert host.check_output("docker exec %s stat -c %%a /opt/pcloud/agent-key" % name) == "400"
    assert "6d6f6c6563756c65" not in host.check_output("docker inspect %s" % name)


def test_unsigned_control_calls_are_refused(host):
    for method, path in (("GET", "/views"), ("GET", "/incidents"), ("POST", "/drain")):
        code = host.check_output("python3 -c \"import urllib.request, urllib.error\n"
                                 "try: urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:8080%s', method='%s',"
                                 " data=b'{}' if '%s' == 'POST' else None)); print(200)\n"
                                 "except urllib.error.HTTPError as e: print(e.code)\"" % (path, method, method))
        assert code == "401", (method, path)
