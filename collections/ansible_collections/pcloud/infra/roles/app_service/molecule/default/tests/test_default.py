"""app_service: the web service answers on its port with its secret read from a file, not the environment."""

import json


def test_web_service(host):
    out = host.check_output("python3 -c \"import urllib.request; print(urllib.request.urlopen("
                            "'http://127.0.0.1:8993/health').read().decode())\"")
    assert out == "molecule-secret-value"
    name = host.check_output("docker ps --format '{{.Names}}' --filter name=-mol-uat-web")
    inspected = json.loads(host.check_output("docker inspect %s" % name))[0]
    env = dict(item.split("=", 1) for item in inspected["Config"]["Env"])
    assert env["SERVICE_PORT"] == "8993" and env["DB_NAME"] == "mol_uat_1" and "API_KEY" not in env
    assert "molecule-secret-value" not in json.dumps(inspected)
    assert host.check_output("docker exec %s stat -c %%a /run/secrets/api_key" % name) == "400"
    assert host.check_output("docker exec %s stat -c %%a /run/secrets/db_password" % name) == "400"
