"""The docker role on a local-cloud droplet: the droplet's own engine answers, and it is not the host's."""


def test_engine_answers(host):
    assert host.run("docker version --format '{{.Server.Version}}'").rc == 0


def test_the_engine_is_the_droplets_own(host):
    # the droplet's engine keeps its data on the droplet's volume and sees only its own containers
    info = host.run("docker info --format '{{.DockerRootDir}} {{.Driver}}'")
    assert info.rc == 0 and info.stdout.split() == ["/var/lib/docker", "overlay2"]
    assert host.file("/var/run/docker.sock").is_socket
    assert host.run("pgrep -x dockerd").rc == 0
