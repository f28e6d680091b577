"""app_service: the web service answers on its port with its secret read from a file, not the environment."""

import json


def test_web_service(host):
    out = host.check_output("python3 -c \"import urllib.request; print(urllib.request.urlopen("
                            "'http://127.0.0.1:8993/health').read().decode())\"")
    assert out == "molecule-secret-value"
    name = host.check_output("docker ps --format '{{.Names}}' --filter name=-mol-uat-web")
    inspected = json.loads(host.check_output("docker inspect %s" % name))[0]
    env = dict(item.split("=", 1) for item in inspected["Config"]["Env"])
    assert env["PORT"] == env["SERVICE_PORT"] == "9000" and env["DB_NAME"] == "mol_uat_1" and "API_KEY" not in env
    # on the project-env's own bridge network, its port published on the slot the load balancer knows
    assert inspected["HostConfig"]["NetworkMode"].endswith("-mol-uat")
    assert inspected["HostConfig"]["PortBindings"] == {"9000/tcp": [{"HostIp": "", "HostPort": "8993"}]}
    assert "molecule-secret-value" not in json.dumps(inspected)
    # root-owned, readable by the image's own (often non-root) user, as Docker's own secrets are
    assert host.check_output("docker exec %s stat -c %%a:%%u /run/secrets/api_key" % name) == "444:0"
    assert host.check_output("docker exec %s stat -c %%a:%%u /run/secrets/db_password" % name) == "444:0"
    # the connection URL is a secret file too, named by DATABASE_URL_FILE; the value is not in the configuration
    assert env["DATABASE_URL_FILE"] == "/run/secrets/env.DATABASE_URL" and "DATABASE_URL" not in env
    assert host.check_output("docker exec %s cat /run/secrets/env.DATABASE_URL" % name).startswith("postgresql://")
