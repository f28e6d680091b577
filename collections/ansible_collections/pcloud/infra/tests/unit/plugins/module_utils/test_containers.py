# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils import containers as c

BASE = {"name": "web1-shop-uat-backend", "image": "registry.pcloud:5000/shop/backend@sha256:" + "a" * 64,
        "env": {"PROJECT": "shop", "DEBUG": False}, "slot_env": {"SERVICE_PORT": "7001"},
        "secrets": {"db_password": "s3cret-value"}, "health": {"port": 7001, "path": "/health", "timeout": 30}}


def spec(**changes):
    return c.normalize(dict(BASE, **changes))


def inspect(s, image_id="img1", running=True, **labels):
    return {"Image": image_id, "State": {"Running": running}, "Config": {"Labels": dict(c.labels(s), **labels)}}


def test_defaults_and_normal_forms():
    s = spec(command="gunicorn app:app")
    assert s["command"] == ["/bin/sh", "-c", "gunicorn app:app"]  # Procfile semantics
    assert s["network_mode"] == "host" and s["restart_policy"] == "unless-stopped" and s["init"] is True
    assert s["env"]["DEBUG"] == "false" and c.environment(s)["SERVICE_PORT"] == "7001"
    assert spec(command=["a", "b"])["command"] == ["a", "b"]
    assert spec()["command"] is None


@pytest.mark.parametrize("field, value, problem", [
    ("name", "-x", "container name"), ("name", "a\nb", "container name"), ("image", "", "image"),
    ("image", "-x", "image"), ("env", {"A B": "1"}, "env"), ("env", {"A": "x\ny"}, "env"),
    ("volumes", ["data"], "volumes"), ("volumes", ["a:/b:zz"], "volumes"), ("restart_policy", "sometimes", "restart"),
    ("stop_timeout", -1, "stop_timeout"), ("stop_timeout", True, "stop_timeout"), ("secrets", {"../x": "v"}, "secrets"),
    ("secrets", {"x": 1}, "secrets"), ("health", {"port": 0}, "health"), ("health", {"port": 80, "path": "x"}, "health"),
    ("command", [1], "command"), ("state", "running", "state"),
])
def test_bad_specs_name_the_container_and_field(field, value, problem):
    with pytest.raises(c.ContainerSpecError) as err:
        spec(**{field: value})
    assert problem in str(err.value)


def test_secret_contents_never_appear_in_labels_or_environment():
    s = spec()
    text = json.dumps([c.labels(s), c.environment(s), c.config_hash(s), c.release_hash(s)])
    assert "s3cret-value" not in text
    assert c.config_hash(s) != c.config_hash(spec(secrets={"db_password": "other"}))  # a new value restarts it


@pytest.mark.parametrize("declared, image, port", [
    ("auto", {"ExposedPorts": {"5000/tcp": {}}}, 5000),
    ("auto", {}, 8000),                                                        # nothing exposed: 8000
    ("auto", {"ExposedPorts": {"5000/tcp": {}, "5001/tcp": {}}}, 8000),        # ambiguous: 8000
    ("auto", {"ExposedPorts": {"53/udp": {}, "3000/tcp": {}}}, 3000),
    (9000, {"ExposedPorts": {"5000/tcp": {}}}, 9000),                          # the spec's port wins
])
def test_the_container_port_is_the_spec_s_else_the_image_s_single_expose(declared, image, port):
    s = c.resolve_port(spec(network_mode="web1-shop-uat", publish={"container": declared, "host": 7001}), image)
    assert s["publish"] == {"container": port, "host": 7001} and s["env"]["PORT"] == str(port)


@pytest.mark.parametrize("publish, network_mode", [
    ({"container": 0, "host": 7001}, "web1-shop-uat"), ({"container": "5000", "host": 7001}, "web1-shop-uat"),
    ({"container": 5000, "host": True}, "web1-shop-uat"), ({"container": 5000}, "web1-shop-uat"),
    ({"container": 5000, "host": 7001}, "host"),
])
def test_bad_publish_is_refused(publish, network_mode):
    with pytest.raises(c.ContainerSpecError, match="publish"):
        spec(network_mode=network_mode, publish=publish)
    with pytest.raises(c.ContainerSpecError, match="network_mode"):
        spec(network_mode="-x")
    for bad in ("-web1", "web_1", "a" * 64, "web1\n"):
        with pytest.raises(c.ContainerSpecError, match="hostname"):
            spec(network_mode="n", hostname=bad)
    with pytest.raises(c.ContainerSpecError, match="hostname"):
        spec(hostname="web1")  # host networking: the droplet's own


def test_the_platform_s_containers_keep_their_hashes():
    """publish joined the spec later: a container without one (postgres, redis) hashes as before."""
    s = spec()
    assert s["publish"] is None and s["hostname"] is None
    # the same hashes as a spec from before these keys existed
    before = {k: v for k, v in s.items() if k not in ("publish", "hostname")}
    assert c.config_hash(s) == c.config_hash(before) and c.release_hash(s) == c.release_hash(before)
    assert c.config_hash(spec(network_mode="n", publish={"container": 5000, "host": 7001})) != \
        c.config_hash(spec(network_mode="n", publish={"container": 5000, "host": 17001}))


def test_slots_of_one_release_share_the_release_hash_not_the_config_hash():
    live = spec(name="web1-shop-uat-backend-alt", slot_env={"SERVICE_PORT": "17001"},
                health={"port": 17001, "path": "/health"})
    idle = spec()
    assert c.release_hash(live) == c.release_hash(idle)
    assert c.config_hash(live) != c.config_hash(idle)
    assert c.release_hash(spec(image="other:1")) != c.release_hash(idle)


@pytest.mark.parametrize("existing, image_id, expected", [
    (None, "img1", "create"),
    ("same", "img1", "unchanged"),
    ("stopped", "img1", "start"),
    ("same", "img2", "recreate"),          # the image changed (a new digest)
    ("other-config", "img1", "recreate"),  # the configuration changed
    ("same", None, "recreate"),            # the image is not on the engine (check mode before a pull)
])
def test_decide(existing, image_id, expected):
    s = spec()
    info = {"same": inspect(s), "stopped": inspect(s, running=False), "other-config": inspect(s, **{c.LABEL_CONFIG: "x"}),
            None: None}[existing]
    assert c.decide(s, image_id, info) == expected


def test_a_serving_slot_on_this_release_means_nothing_starts():
    idle = spec(serving="web1-shop-uat-backend-alt")
    live = spec(name="web1-shop-uat-backend-alt", slot_env={"SERVICE_PORT": "17001"})
    assert c.decide(idle, "img1", None, inspect(live)) == "serving"
    assert c.decide(idle, "img2", None, inspect(live)) == "create"          # a new release starts beside it
    assert c.decide(idle, "img1", None, inspect(live, running=False)) == "create"


def test_absent():
    s = spec(state="absent")
    assert c.decide(s, None, inspect(spec())) == "remove"
    assert c.decide(s, None, None) == "absent"


def test_secret_files_are_root_only_under_run_secrets():
    assert c.secret_files(spec()) == [("/run/secrets/db_password", b"s3cret-value", 0o400)]


def test_duplicates_are_refused():
    with pytest.raises(c.ContainerSpecError, match="twice"):
        c.check_unique([spec(), spec()])


def test_data_containers():
    instances = [{"key": "shop-prod", "project": "shop", "environment": "prod", "port": 5001, "db_name": "shop_prod_1",
                  "db_user": "user_1"}]
    (pg,) = c.data_containers(instances, "postgres", "master", "master", "pcloud/postgres:bookworm")
    assert pg["name"] == "master-shop-prod-database" and pg["env"]["PGPORT"] == "5001"
    assert pg["env"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/db_password"
    assert pg["volumes"] == ["master-shop-prod-pgdata:/var/lib/postgresql/data"]
    c.normalize(pg)
    (redis,) = c.data_containers(instances, "redis", "master", "master", "pcloud/redis:bookworm", require_password=False)
    assert "REDIS_PASSWORD_FILE" not in redis["env"] and redis["health"]["kind"] == "tcp"
    with pytest.raises(c.ContainerSpecError):
        c.data_containers(instances, "mysql", "m", "m", "x")


ITEMS = [
    {"service": "backend", "type": "web", "port": 7001, "health_path": "/health", "command": None,
     "environment": {"PROJECT": "shop", "ENVIRONMENT": "uat"}, "secrets": ["db_password"], "container_port": "auto",
     "platform_secrets": ["db_password"], "service_name": "shop-uat-backend"},
    {"service": "worker_email", "type": "worker", "port": None, "command": "python worker.py",
     "environment": {"PROJECT": "shop", "ENVIRONMENT": "uat"}, "secrets": [], "platform_secrets": [],
     "service_name": "shop-uat-worker_email"},
]
IMAGES = {"backend": "registry.pcloud:5000/shop/backend@sha256:" + "1" * 64,
          "worker_email": "registry.pcloud:5000/shop/worker-email@sha256:" + "2" * 64}


def test_app_containers():
    web, worker = c.app_containers(ITEMS, IMAGES, "web1", "shop-uat", "web1", {"shop-uat-backend": {"web1": 17001}})
    assert web["name"] == "web1-shop-uat-backend" and web["alternate"] == {"name": "web1-shop-uat-backend-alt", "port": 17001}
    assert web["routed_port"] == 17001 and web["health"]["path"] == "/health"
    # apps share the project-env's bridge network; a web service publishes its container port on the slot port
    assert web["network_mode"] == worker["network_mode"] == "web1-shop-uat"
    assert web["hostname"] == worker["hostname"] == "web1"  # the droplet's name, as host networking gave it
    assert web["publish"] == {"container": "auto", "host": 7001} and "publish" not in worker
    assert "SERVICE_PORT" not in web["env"] and not web.get("slot_env")
    assert worker["command"] == "python worker.py" and "alternate" not in worker
    # Procfile semantics: the command replaces the image's ENTRYPOINT too; a service without one keeps the image's
    assert worker["entrypoint"] == [""] and web["entrypoint"] is None
    assert c.normalize(worker)["command"] == ["/bin/sh", "-c", "python worker.py"]
    (own,) = c.app_containers([dict(ITEMS[1], entrypoint=["./boot.sh"])], IMAGES, "web1", "shop-uat", "web1")
    assert own["entrypoint"] == ["./boot.sh"]
    assert c.app_containers(ITEMS, IMAGES, "web1", "shop-uat", "web1", kinds=("worker",)) == [worker]
    with pytest.raises(c.ContainerSpecError, match="no image"):
        c.app_containers(ITEMS, {}, "web1", "shop-uat", "web1")


@pytest.mark.parametrize("running, routed, idle, live", [
    ([], None, "web1-shop-uat-backend", None),                                                   # first deploy
    (["web1-shop-uat-backend"], None, "web1-shop-uat-backend-alt", "web1-shop-uat-backend"),
    (["web1-shop-uat-backend-alt"], None, "web1-shop-uat-backend", "web1-shop-uat-backend-alt"),
    (["web1-shop-uat-backend", "web1-shop-uat-backend-alt"], 17001, "web1-shop-uat-backend", "web1-shop-uat-backend-alt"),
    (["web1-shop-uat-backend", "web1-shop-uat-backend-alt"], None, "web1-shop-uat-backend-alt", "web1-shop-uat-backend"),
])
def test_the_new_release_starts_in_the_idle_slot(running, routed, idle, live):
    (web,) = c.app_containers(ITEMS[:1], IMAGES, "web1", "shop-uat", "web1",
                              {"shop-uat-backend": {"web1": routed}} if routed else {})
    chosen, found, names = c.choose_slot(web, running)
    assert chosen["name"] == idle and found == live and chosen["serving"] == live
    port = "17001" if idle.endswith("-alt") else "7001"
    assert chosen["publish"] == {"container": "auto", "host": int(port)} and chosen["health"]["port"] == int(port)
    assert names == ["web1-shop-uat-backend", "web1-shop-uat-backend-alt"]
    spec = c.resolve_port(c.normalize(chosen), {"ExposedPorts": {"5000/tcp": {}}})  # what the module runs
    assert spec["publish"] == {"container": 5000, "host": int(port)}
    assert c.environment(spec)["PORT"] == c.environment(spec)["SERVICE_PORT"] == "5000"  # whichever slot it serves
    assert c.slot_port("web1-shop-uat-backend-alt", web) == 17001 and c.slot_port("web1-shop-uat-backend", web) == 7001


URL = {"DATABASE_URL": {"template": "postgresql://u:{password}@10.0.0.2:5001/d", "secret": "db_password", "mode": "auto"}}


def test_a_connection_url_is_a_secret_file_and_exported_by_a_wrapper():
    item = dict(ITEMS[0], connection_urls=URL)
    (web,) = c.app_containers([item], IMAGES, "web1", "shop-uat", "web1")
    assert web["env"]["DATABASE_URL_FILE"] == "/run/secrets/env.DATABASE_URL" and "DATABASE_URL" not in web["env"]
    spec = c.normalize(dict(web, secrets={"db_password": "pw1"}))
    files = dict((path, (data, mode)) for path, data, mode in c.secret_files(spec))
    assert files["/run/secrets/env.DATABASE_URL"] == (b"postgresql://u:pw1@10.0.0.2:5001/d", 0o444)
    entry, cmd = c.run_argv(spec, {"Entrypoint": ["./boot.sh"], "Cmd": ["serve"]})
    assert entry[:2] == ["/bin/sh", "-c"] and entry[3:] == ["pcloud-env", "./boot.sh", "serve"] and cmd is None
    assert "pw1" not in " ".join(entry)  # the value is read from the file at process start, never in the config


def test_the_wrapper_runs_the_command_of_the_service_instead_of_the_image():
    item = dict(ITEMS[1], connection_urls=URL)
    (worker,) = c.app_containers([item], IMAGES, "web1", "shop-uat", "web1")
    spec = c.normalize(dict(worker, secrets={"db_password": "pw"}))
    entry, _cmd = c.run_argv(spec, {"Entrypoint": ["./boot.sh"], "Cmd": ["serve"]})
    assert entry[3:] == ["pcloud-env", "/bin/sh", "-c", "python worker.py"]  # no ./boot.sh: Procfile semantics


def test_a_file_only_url_needs_no_shell_and_a_missing_secret_is_refused():
    item = dict(ITEMS[1], connection_urls={"DATABASE_URL": dict(URL["DATABASE_URL"], mode="file")})
    (worker,) = c.app_containers([item], IMAGES, "web1", "shop-uat", "web1")
    spec = c.normalize(dict(worker, secrets={"db_password": "pw"}))
    assert c.run_argv(spec, {"Entrypoint": ["./boot.sh"]}) == ([""], ["/bin/sh", "-c", "python worker.py"])
    with pytest.raises(c.ContainerSpecError, match="needs the secret db_password"):
        c.secret_files(c.normalize(dict(worker, secrets={})))
    with pytest.raises(c.ContainerSpecError, match="one {password}"):
        c.normalize(dict(worker, secret_env={"X": {"template": "no placeholder", "secret": "db_password"}}))


def test_a_release_phase_is_a_one_off_container_kept_once_it_succeeded():
    item = dict(ITEMS[0], type="release", command="python manage.py migrate", entrypoint=[])
    (release,) = c.app_containers([item], IMAGES, "master", "shop-uat", "master", kinds=("release",), release_timeout=90)
    assert release["name"] == "master-shop-uat-backend-release" and release["oneoff"] == {"timeout": 90}
    assert release["restart_policy"] == "no" and "health" not in release and release["entrypoint"] == [""]
    assert release["labels"]["pcloud.phase"] == "release" and release["labels"]["pcloud.service"] == "backend-release"
    spec = c.normalize(release)
    image = "sha256:" + "a" * 64
    done = {"Image": image, "Config": {"Labels": c.labels(spec)},
            "State": {"Running": False, "ExitCode": 0, "FinishedAt": "2026-12-06T03:00:00Z"}}
    assert c.decide(spec, image, None) == "create"
    assert c.decide(spec, image, done) == "unchanged"  # this release ran already
    failed = dict(done, State=dict(done["State"], ExitCode=1))
    never = dict(done, State={"Running": False, "ExitCode": 0, "FinishedAt": "0001-01-01T00:00:00Z"})
    assert c.decide(spec, image, failed) == c.decide(spec, image, never) == "recreate"
    assert c.decide(spec, "sha256:" + "b" * 64, done) == "recreate"  # a new image is a new release
    with pytest.raises(c.ContainerSpecError, match="one-off"):
        c.normalize(dict(release, restart_policy="always"))


def test_keys_added_later_do_not_change_the_hash_at_their_default():
    """Upgrading pcloud must not restart a database whose configuration did not change."""
    spec = c.normalize({"name": "m-db", "image": "pcloud/postgres:bookworm"})
    before = {k: v for k, v in spec.items() if k not in c.LATER_DEFAULTS}
    assert c.release_hash(spec) == c.release_hash(dict(before, secrets=spec["secrets"]))
    assert c.release_hash(dict(spec, secret_mode=0o444)) != c.release_hash(spec)
