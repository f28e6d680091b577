"""The example project for real: its four services built from their Dockerfiles (base image as a build
argument) against real Postgres and Redis images made from Debian packages, secrets as files."""

from __future__ import annotations

import io
import json
import tarfile
import time
import urllib.request

import docker
import pytest

from pcloud.localcloud.control import ensure_docker
from pcloud.localcloud.engine import ensure_service_image

from ..conftest import REPO

EXAMPLE = REPO / "examples" / "hostomatic"
NETWORK = "pcloud-test-example"
PREFIX = "pctest-example-"
SECRETS = {"db_password": "pw-'\"$x", "stripe_key": "sk_test_123", "stripe_publishable_key": "pk_test_456",
           "sendgrid_api_key": "sg_789", "redis_password": "unused"}


def secrets_tar(names, mode=0o400) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        folder = tarfile.TarInfo("secrets")
        folder.type, folder.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(folder)
        for name in names:
            data = SECRETS[name].encode()
            info = tarfile.TarInfo("secrets/%s" % name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture(scope="module")
def stack():
    client = ensure_docker(log=lambda _line: None)
    base = ensure_service_image(client, "python", log=lambda _line: None)
    images = {"postgres": ensure_service_image(client, "postgres", log=lambda _line: None),
              "redis": ensure_service_image(client, "redis", log=lambda _line: None)}
    for service, context in (("backend", "backend"), ("frontend", "frontend"), ("worker_email", "workers"),
                             ("scheduler", "scheduler")):
        tag = "pcloud-test/hostomatic-%s:test" % service.replace("_", "-")
        client.images.build(path=str(EXAMPLE / context), tag=tag, buildargs={"BASE_IMAGE": base}, pull=False, rm=True)
        images[service] = tag
    for old in client.containers.list(all=True, filters={"name": PREFIX}):
        old.remove(force=True)
    try:
        client.networks.get(NETWORK).remove()
    except docker.errors.NotFound:
        pass
    network = client.networks.create(NETWORK, driver="bridge", labels={"pcloud.test": "example"})
    made = []

    def run(name, image, env, secret_names=(), command=None):
        container = client.containers.create(image, name=PREFIX + name, environment=env, network=NETWORK,
                                             init=True, detach=True, command=command)
        if secret_names:
            container.put_archive("/run", secrets_tar(secret_names))
        container.start()
        made.append(container)
        container.reload()
        return container

    db = run("database", images["postgres"], {"PGPORT": "5901", "POSTGRES_DB": "hostomatic_test_x",
                                              "POSTGRES_USER": "user_x", "POSTGRES_PASSWORD_FILE": "/run/secrets/db_password"},
             ["db_password"])
    cache = run("redis", images["redis"], {"REDIS_PORT": "6901"})
    ip = lambda c: c.attrs["NetworkSettings"]["Networks"][NETWORK]["IPAddress"]  # noqa: E731
    common = {"DB_HOST": ip(db), "DB_PORT": "5901", "DB_NAME": "hostomatic_test_x", "DB_USER": "user_x",
              "REDIS_HOST": ip(cache), "REDIS_PORT": "6901", "PROJECT": "hostomatic", "ENVIRONMENT": "test"}
    services = {
        "backend": run("backend", images["backend"], dict(common, SERVICE_PORT="8901", SERVICE_NAME="hostomatic-test-backend"),
                       ["db_password", "stripe_key"]),
        "frontend": run("frontend", images["frontend"], dict(common, SERVICE_PORT="9901",
                                                             SERVICE_NAME="hostomatic-test-frontend"),
                        ["stripe_publishable_key"]),
        "worker_email": run("worker", images["worker_email"], dict(common, SERVICE_NAME="hostomatic-test-worker_email"),
                            ["db_password", "sendgrid_api_key"], command="python email_processor.py"),
        "scheduler": run("scheduler", images["scheduler"], dict(common, SERVICE_NAME="hostomatic-test-scheduler",
                                                                SCHEDULE_SECONDS="1"),
                         ["db_password", "redis_password"], command="python cron_scheduler.py"),
    }
    yield {"client": client, "db": db, "services": services, "ip": ip}
    for container in made:
        container.remove(force=True)
    network.remove()


def http(method, url, body=None, timeout=5):
    req = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - a container of this test
        return resp.status, resp.read()


def wait_http(url, seconds=60):
    deadline = time.monotonic() + seconds
    while True:
        try:
            return http("GET", url)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def psql(stack, sql):
    code, out = stack["db"].exec_run(["runuser", "-u", "postgres", "--", "psql", "-p", "5901", "-d", "hostomatic_test_x",
                                      "-tAc", sql])
    assert code == 0, out
    return out.decode().strip()


def test_backend_writes_postgres_and_worker_processes_the_queue(stack):
    backend = "http://%s:8901" % stack["ip"](stack["services"]["backend"])
    status, body = wait_http(backend + "/health")
    assert status == 200 and json.loads(body)["service"] == "hostomatic-test-backend"
    status, body = http("POST", backend + "/api/items", {"name": "first"})
    assert status == 201
    item = json.loads(body)["id"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        items = json.loads(http("GET", backend + "/api/items")[1])["items"]
        if any(i["id"] == item and i["email"] == "sent" for i in items):
            break
        time.sleep(0.3)
    else:
        pytest.fail("worker_email did not process item %s: %s" % (item, items))
    assert psql(stack, "SELECT processed_by FROM emails WHERE item_id = %d" % item) == "hostomatic-test-worker_email"


def test_frontend_and_scheduler(stack):
    frontend = "http://%s:9901" % stack["ip"](stack["services"]["frontend"])
    assert wait_http(frontend + "/health")[0] == 200
    assert b"<h1>hostomatic</h1>" in http("GET", frontend + "/")[1]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        runs = psql(stack, "SELECT count(*) FROM scheduler_runs") if "scheduler_runs" in psql(
            stack, "SELECT string_agg(tablename, ',') FROM pg_tables") else "0"
        if int(runs) >= 2:
            break
        time.sleep(0.5)
    assert int(runs) >= 2


def test_secrets_are_files_not_environment(stack):
    backend = stack["services"]["backend"]
    code, out = backend.exec_run(["sh", "-c", "stat -c '%a %U' /run/secrets/stripe_key && cat /run/secrets/stripe_key"])
    assert code == 0 and out.decode().split("\n")[:2] == ["400 root", "sk_test_123"]
    for container in stack["services"].values():
        inspected = json.dumps(stack["client"].api.inspect_container(container.id))
        assert not any(value in inspected for value in SECRETS.values() if value != "unused")
    code, out = stack["db"].exec_run(["sh", "-c", "cat /proc/*/cmdline | tr '\\0' ' '"])
    assert SECRETS["db_password"] not in out.decode()


def test_worker_stops_gracefully(stack):
    worker = stack["services"]["worker_email"]
    started = time.monotonic()
    worker.stop(timeout=10)
    assert time.monotonic() - started < 5
    assert "worker_email stopped" in worker.logs().decode()
