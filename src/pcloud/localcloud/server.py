"""The local cloud's server process: ``python -m pcloud.localcloud.server --config-dir DIR``.

Listens on 127.0.0.1 and on the droplet network's gateway (so agents on droplets can reach it),
on one port; writes ``localcloud/endpoint.json`` once it answers; stops cleanly on SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
from typing import Any, Dict, List, Optional

from werkzeug.serving import BaseWSGIServer, make_server

from pcloud import _collection  # noqa: F401
from pcloud.localcloud import settings
from pcloud.localcloud.api import LocalCloud, create_app
from pcloud.localcloud.engine import Engine, docker_client
from pcloud.localcloud.store import Store, write_json_atomic

from ansible_collections.pcloud.infra.plugins.module_utils import agentauth  # isort: skip


def reconcile(store: Store, engine: Engine) -> None:
    """After a restart: droplets whose container is gone are dropped, stopped ones report 'off'."""
    with store:
        for key, droplet in list(store.data["droplets"].items()):
            state = engine.exists(droplet["container"]) if droplet.get("container") else None
            if state is None:
                del store.data["droplets"][key]
            else:
                droplet["status"] = "active" if state == "running" else "off"
                droplet.pop("firewall_rules", None)
        store.save()


def contract_hook(spec_path: str, log_path: str):
    """Validate every response against the OpenAPI subset and log the outcome (used by the tests)."""
    import yaml
    from openapi_core import OpenAPI
    from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
    from openapi_core.templating.paths.exceptions import PathNotFound

    with open(spec_path, encoding="utf-8") as handle:
        spec = yaml.safe_load(handle)
    spec["servers"] = [{"url": "/"}]
    openapi = OpenAPI.from_dict(spec)
    lock = threading.Lock()

    def hook(request: Any, response: Any) -> None:
        entry = {"method": request.method, "path": request.full_path.rstrip("?"), "status": response.status_code}
        try:
            openapi.validate_response(WerkzeugOpenAPIRequest(request), WerkzeugOpenAPIResponse(response))
            entry["ok"] = True
        except PathNotFound:
            entry.update(ok=True, skipped="path not in the contract subset")
        except Exception as exc:  # noqa: BLE001 - every failure is a finding to report
            entry["ok"] = False
            entry["error"] = "%s: %s" % (type(exc).__name__, "; ".join(str(e) for e in getattr(exc, "__cause__", None)
                                                                        and [exc.__cause__] or [exc]))[:1500]
        with lock, open(log_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")

    return hook


def recovery_runner(config_dir: str):
    """Start ``pcloud recover DROPLET --incident ID`` on the control node, once per incident; its output goes to
    ``localcloud/recover-<incident>.log``."""
    started: Dict[str, subprocess.Popen] = {}
    lock = threading.Lock()

    def run(droplet: str, incident: str, reported_by: str, drained: bool = False) -> str:
        with lock:
            if incident in started:
                return "running" if started[incident].poll() is None else "finished"
            log = open(settings.path(config_dir, "recover-%s.log" % incident), "ab")  # noqa: SIM115 - the child owns it
            started[incident] = subprocess.Popen(  # noqa: S603 - fixed argv, names validated by the API
                [sys.executable, "-m", "pcloud.cli", "--config-dir", config_dir, "recover", droplet, "--incident", incident]
                + (["--drained"] if drained else []),
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
            log.close()
            print("recovery of %s started for incident %s (reported by %s)" % (droplet, incident, reported_by), flush=True)
            return "started"

    return run


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="pcloud-localcloud")
    parser.add_argument("--config-dir", required=True)
    args = parser.parse_args(argv)
    cfg = settings.load(args.config_dir)
    token = settings.read_token(args.config_dir)
    engine = Engine(docker_client(), cfg.cloud)
    store = Store(settings.path(args.config_dir, "state.json"), cfg.cloud.subnet)
    reconcile(store, engine)
    hook = None
    if os.environ.get("PCLOUD_LOCALCLOUD_CONTRACT"):
        hook = contract_hook(os.environ["PCLOUD_LOCALCLOUD_CONTRACT"], os.environ["PCLOUD_LOCALCLOUD_CONTRACT_LOG"])
    cloud = LocalCloud(store, engine, token, recover=recovery_runner(args.config_dir),
                       scoped_tokens=settings.scoped_tokens(args.config_dir),
                       agent_key=lambda: agentauth.read_key(agentauth.key_path(args.config_dir)))
    with store:
        cloud.reapply_firewalls()
        store.save()
    app = create_app(cloud, response_hook=hook)
    servers: List[BaseWSGIServer] = [make_server("127.0.0.1", cfg.port, app, threaded=True)]
    port = servers[0].server_port
    servers.append(make_server(cfg.cloud.gateway, port, app, threaded=True))
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    write_json_atomic(settings.path(args.config_dir, "endpoint.json"),
                      {"url": "http://127.0.0.1:%d/v2" % port, "droplet_url": "http://%s:%d/v2" % (cfg.cloud.gateway, port),
                       "pid": os.getpid(), "port": port}, mode=0o644)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    for server in servers:
        server.shutdown()
    try:
        os.unlink(settings.path(args.config_dir, "endpoint.json"))
    except FileNotFoundError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
