"""nginx_lb: /health, /lb-status with the members, the upstreams include, a valid configuration."""

import json

GET = "python3 -c \"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8088%s').read().decode())\""


def test_health_and_status(host):
    assert json.loads(host.check_output(GET % "/health")) == {"status": "ok"}
    assert json.loads(host.check_output(GET % "/lb-status")) == {"mol-uat-web": ["127.0.0.1:8993"], "drained": {}}


def test_upstreams_are_their_own_include(host):
    """The include master's health agent re-renders to drain: the upstreams, their members and /lb-status."""
    name = host.check_output("docker ps --format '{{.Names}}' --filter name=molecule-nginx-lb-nginx-lb")
    include = host.check_output("docker exec %s cat /etc/nginx/conf.d/pcloud-upstreams.conf" % name)
    assert include.startswith('# pcloud-lb {"drained":[],"members":{"mol-uat-web":["127.0.0.1:8993"]}}')
    assert "server 127.0.0.1:8993 max_fails=1 fail_timeout=5s;" in include
    assert "upstream mol-uat-web {" not in host.check_output("docker exec %s cat /etc/nginx/conf.d/pcloud.conf" % name)


def test_configuration_is_valid(host):
    name = host.check_output("docker ps --format '{{.Names}}' --filter name=molecule-nginx-lb-nginx-lb")
    assert host.run("docker exec %s nginx -t" % name).rc == 0
