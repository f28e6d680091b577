"""A local cloud whose run was killed before teardown is cleared by purge_orphan, and nothing else is."""

from __future__ import annotations

import docker
import docker.errors
import pytest

from pcloud.localcloud import control
from pcloud.localcloud.engine import LABEL_CLOUD, EngineError

NETWORK = "pcloud-test-orphan"


def test_purge_orphan_removes_only_the_dead_clouds_things(cloud):
    client = docker.from_env()
    client.networks.create(NETWORK, driver="bridge", labels={LABEL_CLOUD: "deadbeef0001"})
    labelled = client.volumes.create("pcorphan-x-data", labels={LABEL_CLOUD: "deadbeef0001"})
    other = client.volumes.create("pcother-keep", labels={LABEL_CLOUD: "cafecafe0002"})
    try:
        lines = []
        control.purge_orphan(NETWORK, "pcorphan", log=lines.append)
        with pytest.raises(docker.errors.NotFound):
            client.networks.get(NETWORK)
        with pytest.raises(docker.errors.NotFound):
            client.volumes.get(labelled.name)
        assert client.volumes.get(other.name)
        assert any("pcloud-test-orphan" in line for line in lines)
        control.purge_orphan(NETWORK, "pcorphan", log=lines.append)  # nothing left: a no-op
    finally:
        other.remove(force=True)


def test_purge_orphan_refuses_a_network_no_local_cloud_made(cloud):
    client = docker.from_env()
    net = client.networks.create(NETWORK + "-foreign", driver="bridge")
    try:
        with pytest.raises(EngineError, match="not made by a local cloud"):
            control.purge_orphan(NETWORK + "-foreign", "pcorphan")
        assert client.networks.get(NETWORK + "-foreign")
    finally:
        net.remove()
