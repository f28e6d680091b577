"""nginx_lb: /health, /lb-status with the members, a valid configuration."""

import json

GET = "python3 -c \"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8088%s').read().decode())\""


def test_health_and_status(host):
    assert json.loads(host.check_output(GET % "/health")) == {"status": "ok"}
    assert json.loads(host.check_output(GET % "/lb-status")) == {"mol-uat-web": ["127.0.0.1:8993"]}


def test_configuration_is_valid(host):
    name = host.check_output("docker ps --format '{{.Names}}' --filter name=molecule-nginx-lb-nginx-lb")
    assert host.run("docker exec %s nginx -t" % name).rc == 0
