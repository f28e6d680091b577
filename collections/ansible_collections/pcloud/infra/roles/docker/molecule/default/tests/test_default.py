"""The docker role on a local-cloud droplet: the engine answers and the droplet knows itself."""

import json


def test_engine_answers(host):
    assert host.run("docker version --format '{{.Server.Version}}'").rc == 0


def test_droplet_description(host):
    data = json.loads(host.file("/etc/pcloud-droplet.json").content_string)
    assert data["name"] == "molecule-docker" and data["provider"] == "local"
