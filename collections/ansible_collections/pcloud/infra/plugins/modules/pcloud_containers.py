#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pcloud_containers
short_description: Converge a droplet's Docker engine to a list of containers in one call
version_added: 0.3.0
author: pcloud contributors (@pcloud)
description:
  - Compares each container in O(containers) with what the droplet's engine runs (a configuration hash label and
    the image id), pulls a missing image (by digest from the fleet's registry), creates the container, delivers its
    secret files into C(/run/secrets) (root, 0400; the directory is made even when the image has none), starts it and
    waits for its health check. An unchanged container is left alone. O(retire) stops and removes containers after
    O(drain_seconds).
  - A web service's new slot names its serving slot (C(serving)); when that one already runs this release and
    configuration, nothing starts.
  - Secret contents never reach a label, the environment or the output; only a digest counts in the comparison.
  - Uses the Docker SDK for Python on the droplet (Debian's C(python3-docker)).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
options:
  containers:
    description:
      - Container specs. Keys C(name), C(image) (required), C(command) (string, run by C(/bin/sh -c), or list),
        C(entrypoint), C(env), C(slot_env) (environment that differs between the slots of a web service), C(labels),
        C(volumes) (C(volume-or-/path:/path[:ro|rw])), C(network_mode) (C(host); any name but C(host), C(none),
        C(bridge) is a bridge network, created with the label C(pcloud.network) when missing),
        C(publish) (C({container, host}), the container's port - C(auto) for the image's single EXPOSE, else 8000 -
        published on the droplet's port; C(PORT) and C(SERVICE_PORT) are set to the container's port), C(hostname)
        (on a bridge network), C(init) (true),
        C(restart_policy) (C(unless-stopped)), C(stop_timeout) (10), C(mem_limit) (bytes, 0 = none), C(cpu_shares),
        C(health) (C({port, path, timeout, kind}), C(kind) C(http) or C(tcp)),
        C(serving) (the serving slot's container), C(state) (C(started) or C(absent)), C(oneoff) (C({timeout}), run
        to its end - a release phase -; a non-zero exit fails the run, a success is kept, exited, so the same
        release does not run twice), C(secret_mode) (of the
        secret files, 0400), C(secret_env) (per variable C(template), C(secret), C(mode) - a value made from a template with one
        C({password}) and a secret, delivered as C(/run/secrets/env.VAR); mode C(auto) also exports it at process
        start through a C(/bin/sh) wrapper, so it never shows in C(docker inspect)).
      - A web service's spec may instead name its second slot, C(alternate) (C({name, port})), and the port the load
        balancer routes to (C(routed_port)); the new release then starts in the idle slot beside the serving one
        (RV(slots) says which serves afterwards and which to retire).
    type: list
    elements: dict
    default: []
  secrets:
    description:
      - The secret files of each container, C(container name -> file name -> content); delivered as
        C(/run/secrets/<file name>). Kept apart from O(containers) so that only the contents are masked in output.
    type: dict
    default: {}
  retire:
    description: Names of containers to stop and remove (a web service's slots that no longer serve).
    type: list
    elements: str
    default: []
  drain_seconds:
    description: Seconds to wait before stopping O(retire) containers that still run (requests in flight finish).
    type: int
    default: 0
  retire_stop_timeout:
    description: Seconds each O(retire) container gets to stop after SIGTERM.
    type: int
    default: 10
  pull:
    description: Pull an image that is not on the engine (V(missing)) or never.
    type: str
    choices: [missing, never]
    default: missing
  prune_prefix:
    description:
      - Remove images pulled from repositories under this prefix (e.g. C(registry.pcloud:5000/shop/)) that no
        container uses and whose digest is not in O(keep_images). Done after everything else.
    type: str
  keep_images:
    description: Digest references pruning keeps (the newest releases).
    type: list
    elements: str
    default: []
  remove_unhealthy:
    description:
      - Remove a new container that fails its health check, or (without one) stops or restarts within 2 s of its
        start; the error carries the last 30 lines of its log. The serving slot keeps serving.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Converge the droplet
  pcloud.infra.pcloud_containers:
    containers:
      - name: web1-shop-prod-redis
        image: pcloud/redis:bookworm
        env: {REDIS_PORT: "6001"}
        volumes: ["web1-shop-prod-redis:/data"]
        health: {port: 6001, kind: tcp, timeout: 30}
    secrets:
      web1-shop-prod-redis: {redis_password: "{{ redis_password }}"}
"""

RETURN = r"""
actions:
  description: What happened to each container (C(unchanged), C(start), C(create), C(recreate), C(serving), C(remove), C(absent), C(retired)).
  returned: always
  type: dict
pruned:
  description: The images pruning removed (references) and the bytes freed.
  returned: when O(prune_prefix) is set
  type: dict
slots:
  description:
    - For each web service with two slots (by its main name), C(serving) (the container that serves after this run),
      C(port) (its port) and C(retire) (the other slot's name, when it exists and should stop after the load
      balancer moved).
  returned: always
  type: dict
networks:
  description: The bridge networks this run created.
  returned: always
  type: list
  elements: str
started:
  description: The containers that were (re)started.
  returned: always
  type: list
  elements: str
"""

import io
import socket
import tarfile
import time
import urllib.error
from typing import Any, Dict, Optional

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.urls import open_url

from ansible_collections.pcloud.infra.plugins.module_utils import containers as plan
from ansible_collections.pcloud.infra.plugins.module_utils import registry
from ansible_collections.pcloud.infra.plugins.module_utils.errors import PcloudError

try:
    import docker
    import docker.errors
    HAS_DOCKER = True
except ImportError:  # reported by the module
    HAS_DOCKER = False


LOG_LINES = 30  # of a container that failed, in the error
SETTLE_SECONDS = 2.0  # a container without a health check must still run this long after its start


class Engine:
    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        self.api = docker.from_env(timeout=120).api
        self.networks: set = set()  # bridge networks known to exist

    def inspect(self, name: str) -> Optional[Dict[str, Any]]:
        try:
            return self.api.inspect_container(name)
        except docker.errors.NotFound:
            return None

    def image_config(self, ref: str) -> Dict[str, Any]:
        try:
            return self.api.inspect_image(ref).get("Config") or {}
        except docker.errors.ImageNotFound:
            return {}

    def ensure_network(self, name: str) -> bool:
        """A bridge network of this name exists afterwards; True when it had to be created."""
        if name in plan.ENGINE_NETWORKS or name in self.networks:
            return False
        self.networks.add(name)
        if any(n.get("Name") == name for n in self.api.networks(names=[name])):
            return False
        try:
            self.api.create_network(name, driver="bridge", labels={"pcloud.network": name}, check_duplicate=True)
        except docker.errors.APIError as exc:
            if not any(n.get("Name") == name for n in self.api.networks(names=[name])):
                self.module.fail_json(msg="creating the network %s failed: %s" % (name, exc.explanation or exc))
        return True

    def image_id(self, ref: str, pull: bool) -> Optional[str]:
        try:
            return self.api.inspect_image(ref)["Id"]
        except docker.errors.ImageNotFound:
            if not pull:
                return None
        try:
            self.api.pull(ref)
            return self.api.inspect_image(ref)["Id"]
        except docker.errors.APIError as exc:
            self.module.fail_json(msg="pulling %s failed: %s" % (ref, exc.explanation or exc))
        return None

    def remove(self, name: str, timeout: int) -> None:
        try:
            self.api.stop(name, timeout=timeout)
        except docker.errors.NotFound:
            return
        except docker.errors.APIError:
            pass
        try:
            self.api.remove_container(name, force=True)
        except docker.errors.NotFound:
            pass

    def create(self, spec: Dict[str, Any]) -> None:
        binds = {}
        for item in spec["volumes"]:
            source, target, *mode = item.split(":")
            binds[source] = {"bind": target, "mode": mode[0] if mode else "rw"}
        publish = spec["publish"]
        host_config = self.api.create_host_config(
            network_mode=spec["network_mode"], init=spec["init"], binds=binds or None,
            port_bindings={publish["container"]: publish["host"]} if publish else None,
            restart_policy={"Name": spec["restart_policy"]} if spec["restart_policy"] != "no" else None,
            mem_limit=spec["mem_limit"] or None, cpu_shares=spec["cpu_shares"] or None)
        entrypoint, command = plan.run_argv(spec, (self.api.inspect_image(spec["image"]).get("Config") or {})
                                            if spec["secret_env"] else {})
        self.api.create_container(
            spec["image"], name=spec["name"], command=command, entrypoint=entrypoint,
            ports=[publish["container"]] if publish else None, hostname=spec["hostname"],
            environment=plan.environment(spec), labels=plan.labels(spec), host_config=host_config,
            stop_signal=None, stop_timeout=spec["stop_timeout"], detach=True)
        files = plan.secret_files(spec)
        if files:
            self.api.put_archive(spec["name"], "/", _tar(files))

    def start(self, name: str) -> None:
        self.api.start(name)

    def logs(self, name: str) -> str:
        try:
            return self.api.logs(name, tail=LOG_LINES).decode("utf-8", "replace")
        except docker.errors.APIError:
            return ""


def _tar(files: Any) -> bytes:
    """run/ and run/secrets/ as directories (the image may have neither), then the files, all root-owned."""
    buf = io.BytesIO()
    now = int(time.time())
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for directory, mode in (("run", 0o755), ("run/secrets", 0o755)):
            info = tarfile.TarInfo(directory)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, mode, now
            tar.addfile(info)
        for path, data, mode in files:
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode, info.mtime = len(data), mode, now
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def healthy(health: Dict[str, Any], deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            if health["kind"] == "tcp":
                with socket.create_connection(("127.0.0.1", health["port"]), timeout=2):
                    return True
            else:
                url = "http://127.0.0.1:%d%s" % (health["port"], health["path"])
                answer = open_url(url, timeout=3)  # loopback only
                if answer.status == 200:
                    return True
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.25)
    return False


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "containers": {"type": "list", "elements": "dict", "default": []},
            "secrets": {"type": "dict", "default": {}, "no_log": True},
            "retire": {"type": "list", "elements": "str", "default": []},
            "drain_seconds": {"type": "int", "default": 0},
            "retire_stop_timeout": {"type": "int", "default": 10},
            "pull": {"type": "str", "choices": ["missing", "never"], "default": "missing"},
            "remove_unhealthy": {"type": "bool", "default": True},
            "prune_prefix": {"type": "str"},
            "keep_images": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    if not HAS_DOCKER:
        module.fail_json(msg=missing_required_lib("docker (python3-docker)"))
    try:
        items = module.params["containers"]
        secrets = module.params["secrets"]
    except PcloudError as exc:
        module.fail_json(msg=str(exc))
    try:
        engine = Engine(module)
    except docker.errors.DockerException as exc:
        module.fail_json(msg="the droplet's Docker engine does not answer: %s" % exc)
    running = [name.lstrip("/") for item in engine.api.containers() for name in item.get("Names") or ()]
    specs, slot_of = [], {}
    try:
        for item in items:
            chosen, live, names = plan.choose_slot(item, running) if item.get("alternate") else (dict(item), None, [])
            spec = plan.normalize(dict(chosen, secrets=secrets.get(item.get("name")) or {}))
            plan.secret_files(spec)  # every secret_env variable has its secret
            if names:
                slot_of[spec["name"]] = (item, live, names)
            specs.append(spec)
        plan.check_unique(specs)
    except (PcloudError, KeyError, TypeError, ValueError) as exc:
        module.fail_json(msg=str(exc))
    slots: Dict[str, Dict[str, Any]] = {}
    actions: Dict[str, str] = {}
    started = []
    networks = []
    diff: Dict[str, Dict[str, Any]] = {"before": {}, "after": {}}
    for index in range(len(specs)):  # noqa: PLC0200 - a spec is replaced once its image tells its port
        spec = specs[index]
        existing = engine.inspect(spec["name"])
        serving = engine.inspect(spec["serving"]) if spec["serving"] else None
        pull = module.params["pull"] == "missing" and not module.check_mode and spec["state"] == "started"
        image_id = engine.image_id(spec["image"], pull) if spec["state"] == "started" else None
        if spec["publish"]:
            spec = specs[index] = plan.resolve_port(spec, engine.image_config(spec["image"]) if image_id else {})
        action = plan.decide(spec, image_id, existing, serving)
        actions[spec["name"]] = action
        if existing:
            diff["before"][spec["name"]] = ((existing.get("Config") or {}).get("Labels") or {}).get(plan.LABEL_CONFIG)
        if action in ("create", "recreate", "start"):
            diff["after"][spec["name"]] = plan.config_hash(spec)
        if module.check_mode or action in ("unchanged", "serving", "absent"):
            continue
        if action == "remove":
            engine.remove(spec["name"], spec["stop_timeout"])
            continue
        if action == "recreate":
            engine.remove(spec["name"], spec["stop_timeout"])
        if engine.ensure_network(spec["network_mode"]):
            networks.append(spec["network_mode"])
        try:
            if action != "start":
                engine.create(spec)
            engine.start(spec["name"])
        except docker.errors.APIError as exc:
            module.fail_json(msg="container %s: %s" % (spec["name"], exc.explanation or exc), actions=actions)
        started.append(spec["name"])
        if spec["oneoff"]:
            try:
                code = int(engine.api.wait(spec["name"], timeout=spec["oneoff"]["timeout"]).get("StatusCode", -1))
            except (docker.errors.APIError, OSError, ValueError) as exc:  # the timeout surfaces as a connection error
                code, why = -1, "did not finish within %d s (%s)" % (spec["oneoff"]["timeout"], exc)
            else:
                why = "exited with code %d" % code
            if code != 0:
                logs = engine.logs(spec["name"])
                engine.remove(spec["name"], 0)
                module.fail_json(msg="%s: the release phase %s; nothing was switched, the serving release is left as it "
                                     "was. Last lines of its output:\n%s" % (spec["name"], why, logs),
                                 actions=actions, started=started)
            continue
        if spec["health"] and not healthy(spec["health"], time.monotonic() + spec["health"]["timeout"]):
            logs = engine.logs(spec["name"])
            if module.params["remove_unhealthy"]:
                engine.remove(spec["name"], 0)
            what = ("GET %s" % spec["health"]["path"]) if spec["health"]["kind"] == "http" else "a connection"
            kept = "; the serving release is left as it was" if spec["serving"] and spec["name"] in slot_of else ""
            module.fail_json(msg="container %s did not answer %s on port %d within %d s%s%s. Last lines of its log:\n%s"
                             % (spec["name"], what, spec["health"]["port"], spec["health"]["timeout"],
                                "; it was removed" if module.params["remove_unhealthy"] else "", kept, logs),
                             actions=actions, started=started)
    unchecked = [spec for spec in specs if spec["name"] in started and not spec["health"] and not spec["oneoff"]]
    if unchecked:
        time.sleep(SETTLE_SECONDS)
        for spec in unchecked:
            state = (engine.inspect(spec["name"]) or {}).get("State") or {}
            if state.get("Running") and not state.get("Restarting") and not int(state.get("RestartCount") or 0):
                continue
            logs = engine.logs(spec["name"])
            if module.params["remove_unhealthy"]:
                engine.remove(spec["name"], 0)
            module.fail_json(msg="container %s stopped right after its start (exit code %s%s)%s. Last lines of its "
                                 "log:\n%s" % (spec["name"], state.get("ExitCode"),
                                               ", restarting" if state.get("Restarting") or state.get("RestartCount") else "",
                                               "; it was removed" if module.params["remove_unhealthy"] else "", logs),
                             actions=actions, started=started)
    for name, (item, live, names) in slot_of.items():
        serving = live if actions.get(name) == "serving" else name
        slots[item["name"]] = {"serving": serving, "port": plan.slot_port(serving, item),
                               "retire": [n for n in names if n != serving]}
    retire = [name for name in module.params["retire"] if engine.inspect(name)]
    if retire and not module.check_mode:
        running = [name for name in retire if ((engine.inspect(name) or {}).get("State") or {}).get("Running")]
        if running and module.params["drain_seconds"]:
            time.sleep(module.params["drain_seconds"])
        for name in retire:
            engine.remove(name, module.params["retire_stop_timeout"])
    for name in retire:
        actions[name] = "retired"
    pruned = None
    if module.params["prune_prefix"]:
        used = [c["ImageID"] for c in engine.api.containers(all=True)]
        candidates = registry.prune_candidates(engine.api.images(), used, module.params["prune_prefix"],
                                               module.params["keep_images"])
        pruned = {"images": [ref for item in candidates for ref in item["refs"]],
                  "bytes": sum(item["size"] for item in candidates)}
        if not module.check_mode:
            for item in candidates:
                try:
                    engine.api.remove_image(item["id"], force=True)
                except docker.errors.APIError as exc:
                    module.warn("could not remove image %s: %s" % (item["refs"][0], exc.explanation or exc))
    changed = bool(started) or bool(networks) or any(a in ("remove", "retired") for a in actions.values()) or bool(pruned and pruned["images"])
    module.exit_json(changed=changed, actions=actions, started=started, summary=plan.summary(actions), pruned=pruned,
                     networks=networks,
                     slots=slots,
                     diff=diff if module._diff else None)


if __name__ == "__main__":
    main()
