"""worker: runs its command with no port, and stops gracefully within its grace period."""

import json


def test_worker(host):
    name = host.check_output("docker ps --format '{{.Names}}' --filter name=-mol-uat-jobs")
    inspected = json.loads(host.check_output("docker inspect %s" % name))[0]
    env = dict(item.split("=", 1) for item in inspected["Config"]["Env"])
    assert "SERVICE_PORT" not in env and env["SERVICE_NAME"] == "mol-uat-jobs"
    assert inspected["Config"]["StopTimeout"] == 7 and inspected["HostConfig"]["Init"] is True
