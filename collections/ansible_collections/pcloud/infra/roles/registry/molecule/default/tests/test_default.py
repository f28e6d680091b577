"""The registry role on a local-cloud droplet: TLS from the fleet CA, basic auth, a push and a pull by digest."""


def test_registry_refuses_anonymous_and_answers_over_tls(host):
    anonymous = host.run("python3 -c \"import urllib.request,ssl,urllib.error\n"
                         "ctx=ssl.create_default_context(cafile='/etc/docker/certs.d/registry.pcloud:5000/ca.crt')\n"
                         "try: urllib.request.urlopen('https://registry.pcloud:5000/v2/',context=ctx)\n"
                         "except urllib.error.HTTPError as e: print(e.code)\"")
    assert anonymous.stdout.strip() == "401"


def test_push_then_pull_by_digest(host):
    ref = "registry.pcloud:5000/mol/base:test"
    assert host.run("docker tag pcloud/debian-base:bookworm %s && docker push %s" % (ref, ref)).rc == 0
    digest = host.run("docker image inspect --format '{{index .RepoDigests 0}}' %s" % ref).stdout.strip()
    assert "@sha256:" in digest
    host.run("docker rmi %s" % ref)
    assert host.run("docker pull %s" % digest).rc == 0


def test_credentials_stay_out_of_the_container_config(host):
    inspect = host.run("docker inspect molecule-registry-registry").stdout
    assert "htpasswd" not in inspect.split('"Env"')[1].split("]")[0]
    assert host.file("/etc/pcloud/registry/htpasswd").mode == 0o600
