"""nginx_lb: /health, /lb-status with the members, the upstreams include, a valid configuration."""

import json
import shlex

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


def run_python(host, source):
    return host.check_output("python3 -c %s" % shlex.quote(source))


TLS = """
import socket, ssl, json
ctx = ssl.create_default_context(cafile="/etc/pcloud/tls/mol-uat-web.crt")
with socket.create_connection(("127.0.0.1", 8443)) as raw:
    with ctx.wrap_socket(raw, server_hostname="www.mol.example.test") as tls:
        names = [v for k, v in tls.getpeercert()["subjectAltName"]]
        tls.sendall(b"GET /x HTTP/1.1\\r\\nHost: www.mol.example.test\\r\\nConnection: close\\r\\n\\r\\n")
        status = tls.recv(100).split(b"\\r\\n")[0].decode()
print(json.dumps({"names": names, "status": status}))
"""

REDIRECT = """
import http.client
c = http.client.HTTPConnection("127.0.0.1", 8088)
c.request("GET", "/login?next=/a", headers={"Host": "mol.example.test"})
r = c.getresponse()
print(r.status, r.getheader("Location"))
"""


def test_domains_are_served_over_https_with_their_certificate(host):
    """The certificate verifies for the service's domains; nginx proxies to the (stopped) upstream: 502."""
    seen = json.loads(run_python(host, TLS))
    assert seen["names"] == ["mol.example.test", "www.mol.example.test"]
    assert seen["status"] == "HTTP/1.1 502 Bad Gateway"


def test_plain_http_on_a_domain_redirects_to_https(host):
    assert run_python(host, REDIRECT) == "301 https://mol.example.test/login?next=/a"


def test_the_key_stays_private_on_master(host):
    assert host.file("/etc/pcloud/tls").mode == 0o700
    assert host.file("/etc/pcloud/tls/mol-uat-web.key").mode == 0o600
