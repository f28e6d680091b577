"""The ``pcloud`` command: a thin layer over pcloud.infra's module_utils and playbooks.

Exit codes: 0 ok, 1 a run or the provider failed, 2 bad input or usage.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sys
from importlib import resources
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from pcloud import _collection  # noqa: F401  (puts the collection on sys.path)
from pcloud.output import render_plan, render_run, render_status

from ansible_collections.pcloud.infra.plugins.module_utils.errors import (  # isort: skip
    PcloudError,
    ProviderError,
    SpecError,
    SpecErrors,
)
from ansible_collections.pcloud.infra.plugins.module_utils.provider import (  # isort: skip
    Client,
    resolve_provider,
)
from ansible_collections.pcloud.infra.plugins.module_utils import spec as specmod  # isort: skip
from ansible_collections.pcloud.infra.plugins.module_utils import topology  # isort: skip
from ansible_collections.pcloud.infra.plugins.module_utils import fleet, fleetkey, names, releases, spec_edit  # isort: skip
from ansible_collections.pcloud.infra.plugins.module_utils import incident_store, registry, release_store  # isort: skip
from ansible_collections.pcloud.infra.plugins.module_utils import notify as notify_rules  # isort: skip
from ansible_collections.pcloud.infra.plugins.module_utils import agentprobe, health, snapshots  # isort: skip
from ansible_collections.pcloud.infra.plugins.module_utils.statefile import ConfigLock  # isort: skip

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
REPO_INVENTORY = _collection.REPO_ROOT / "inventory" / "pcloud.yml"

# The seeds' flag forms, accepted as aliases of the subcommands.
FLAG_ALIASES = {
    "--init": ["init"],
    "--validate": ["validate"],
    "--plan": ["plan"],
    "--status": ["status"],
    "--orchestrate": ["orchestrate"],
    "--add-project": ["project", "add"],
    "--remove-project": ["project", "remove"],
    "--scale": ["scale"],
    "--update-ip": ["update-ip"],
    "--deploy-uat": ["deploy", "uat"],
    "--deploy-prod": ["deploy", "prod"],
    "--reproduce": ["reproduce"],
    "--recover": ["recover"],
    "--monitor": ["monitor"],
    "--cleanup": ["cleanup"],
}

GLOBAL_VALUE_OPTIONS = ("--config-dir",)
SNAPSHOT_INFO = "community.digitalocean.digital_ocean_snapshot_info"
TAG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}\Z")

INIT_FILES = {
    "projects.csv": "projects.csv",
    "deployment_config.json": "deployment_config.json",
    "email_config.json": "email_config.json",
    "sms_config.json": "sms_config.json",
    ".env.example": "env.example",
    # the notification templates, to edit: the agents and 'pcloud recover' use these copies
    "templates/heartbeat.txt.j2": "../templates/heartbeat.txt.j2",
    "templates/heartbeat.html.j2": "../templates/heartbeat.html.j2",
    "templates/backup.txt.j2": "../templates/backup.txt.j2",
    "templates/critical.txt.j2": "../templates/critical.txt.j2",
    "templates/recovery.txt.j2": "../templates/recovery.txt.j2",
}


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # exit code 2 with one line, like every bad input
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pcloud", description="A personal cloud on a few DigitalOcean droplets.")
    parser.add_argument("--config-dir", default=os.environ.get("PCLOUD_CONFIG_DIR", "config"),
                        help="the spec and state directory (default ./config, env PCLOUD_CONFIG_DIR)")
    parser.add_argument("--json", action="store_true", help="print data as one JSON object")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def add(name: str, help_: str, data: bool = False) -> argparse.ArgumentParser:
        cmd = sub.add_parser(name, help=help_, description=help_)
        if data:
            cmd.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                             help="print one JSON object")
        return cmd

    init = add("init", "write example spec files and the fleet's SSH key pair (never overwrites)")
    init.add_argument("--example", action="store_true",
                      help="the example project: its deployment config, a Git repository of it, and .env secrets")
    add("validate", "check the spec; exit 2 with FILE:LINE: field: problem lines when it is invalid")
    add("plan", "show the desired state (and, with a provider, what would be created or destroyed)", data=True)
    add("status", "show the rendered state and what the provider reports", data=True)
    orch = add("orchestrate", "create, resize and destroy droplets to match the spec; firewall; infrastructure.json; a health agent on each")
    _run_flags(orch)
    project = add("project", "add or remove a project, then orchestrate")
    project_sub = project.add_subparsers(dest="project_command", metavar="ACTION", parser_class=_Parser, required=True)
    padd = project_sub.add_parser("add", help="add a project to the spec and orchestrate")
    padd.add_argument("name")
    padd.add_argument("--envs", default=",".join(specmod.DEFAULT_ENVIRONMENTS), help="comma-separated environments")
    padd.add_argument("--servers", type=int, default=1, help="total servers: 1 = master only (default)")
    padd.add_argument("--spec", default=None, help="web droplet size slug (default: the master's)")
    _run_flags(padd)
    prm = project_sub.add_parser("remove", help="remove a project from the spec and orchestrate")
    prm.add_argument("name")
    _run_flags(prm)
    scale = add("scale", "set a project's total servers (1 = master only) and orchestrate")
    scale.add_argument("name")
    scale.add_argument("servers", type=int)
    scale.add_argument("--spec", default=None, help="also change the web droplet size")
    _run_flags(scale)
    dep = add("deploy", "build a project from Git and deploy it to an environment (uat creates a version tag)")
    dep.add_argument("env", help="the environment, e.g. uat")
    dep.add_argument("project")
    dep.add_argument("--branch", default="", help="branch to build (default: git_config.branch)")
    dep.add_argument("--local", action="store_true", help="build from a local working copy instead of the repository")
    dep.add_argument("--project-path", default="", help="the working copy for --local")
    dep.add_argument("--tag", default="", help="prod: the UAT tag to promote (default: the build uat runs)")
    dep.add_argument("--force", action="store_true", help="prod: promote a tag even though uat was rolled back from it")
    dep.add_argument("--no-cache", action="store_true", help="build without Docker's layer cache")
    dep.add_argument("--no-snapshot", action="store_true", help="take no post-deploy snapshots of the droplets")
    dep.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON object")
    rb = add("rollback", "redeploy the previous release of an environment (images and config together)")
    rb.add_argument("project")
    rb.add_argument("env")
    rb.add_argument("--service", default=None, help="only this service goes back")
    rb.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON object")
    rep = add("reproduce", "check out the exact commit of a released tag into a directory and rebuild its images")
    rep.add_argument("tag", help="a released tag, e.g. v1.0.0-uat-20261122-0610")
    rep.add_argument("--dir", "--reproduce-dir", dest="dir", required=True, help="where to check it out (new or empty)")
    rep.add_argument("--no-build", action="store_true", help="only check out the commit and write the release record")
    rep.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON object")
    rec = add("recover", "drain a failed droplet, replace it, re-converge its services, refresh the health agents")
    rec.add_argument("droplet")
    rec.add_argument("--incident", default=None, help="the incident id (a recovery runs once per incident)")
    rec.add_argument("--drained", action="store_true", help="a health agent has drained it from the load balancer already")
    rec.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON object")
    logs = add("logs", "show a service's container logs across its droplets (both slots of a web service)")
    logs.add_argument("project")
    logs.add_argument("env")
    logs.add_argument("service")
    logs.add_argument("-f", "--follow", action="store_true", help="keep streaming until interrupted")
    logs.add_argument("--lines", type=int, default=100, help="lines from the end of each container's log (100)")
    logs.add_argument("--droplet", default=None, help="only this droplet")
    clean = add("cleanup", "delete post-deploy snapshots beyond the newest 3 of each droplet, and orphaned snapshots and droplets")
    clean.add_argument("--dry-run", action="store_true", help="only list what would be deleted")
    clean.add_argument("--keep", type=int, default=3, help="snapshots each droplet keeps (default 3)")
    clean.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON object")
    certs = add("certificates", "issue and renew the load balancer's TLS certificates (ACME ones when due); run it daily")
    certs.add_argument("--renew-now", action="store_true", help="order every ACME certificate now, due or not")
    certs.add_argument("--renew-before", type=int, default=30, metavar="DAYS",
                       help="renew what expires within DAYS days (default 30; the CA's renewal information also counts)")
    certs.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON object")
    notify = add("notify", "notifications: 'pcloud notify test' sends a test mail and SMS")
    notify.add_argument("action", choices=["test"])
    notify.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON object")
    mon = add("monitor", "run a droplet's health agent in the foreground on this machine (probes its ring targets)")
    mon.add_argument("droplet")
    mon.add_argument("--port", type=int, default=8081, help="where this agent answers, on 127.0.0.1 (default 8081)")
    mon.add_argument("--interval", type=float, default=5.0, help="seconds between probe rounds")
    mon.add_argument("--once", action="store_true", help="one round, then print the report as JSON")
    plat = add("platform", "Docker on every droplet, PostgreSQL and Redis per project-env, the health agents")
    _run_flags(plat)
    upd = add("update-ip", "allow SSH from a new admin IP (firewall) and record it")
    upd.add_argument("ip")
    _run_flags(upd)
    local = add("local", "the local cloud: a DigitalOcean-compatible API whose droplets are Docker containers")
    local_sub = local.add_subparsers(dest="local_command", metavar="ACTION", parser_class=_Parser, required=True)
    local_up = local_sub.add_parser("up", help="install/start Docker, build images, start the API server and, when "
                                                "email_config.json mails to 127.0.0.1, the mail catcher")
    local_up.add_argument("--port", type=int, default=None, help="API port (0 picks a free one; default 8910)")
    local_up.add_argument("--network", default=None, help="droplet network name (first start only)")
    local_up.add_argument("--subnet", default=None, help="droplet network subnet (first start only)")
    local_up.add_argument("--name", default=None, help="container name prefix (first start only)")
    local_up.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON object")
    local_down = local_sub.add_parser("down", help="stop the API server and the mail catcher")
    local_down.add_argument("--purge", action="store_true", help="also remove every droplet, snapshot and network")
    local_status = local_sub.add_parser("status", help="is the server running, how many droplets")
    local_status.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON object")
    local_sub.add_parser("env", help="print shell exports for PCLOUD_API_URL and PCLOUD_API_TOKEN (read from the "
                                     "token file, never printed): eval \"$(pcloud local env)\"")
    return parser


def _run_flags(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--check", action="store_true", help="change nothing; show what would change")
    cmd.add_argument("--force", action="store_true", help="recreate every droplet")
    cmd.add_argument("--yes", action="store_true",
                     help="confirm a run that destroys master or more than half of the fleet (for scripts)")
    cmd.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON object")


def translate_aliases(argv: Sequence[str]) -> List[str]:
    """``pcloud --status`` -> ``pcloud status``; global options may come first."""
    out = list(argv)
    skip = False
    for idx, arg in enumerate(out):
        if skip:
            skip = False
        elif arg in FLAG_ALIASES:
            out[idx:idx + 1] = FLAG_ALIASES[arg]
            break
        elif arg in GLOBAL_VALUE_OPTIONS:
            skip = True
        elif not arg.startswith("-"):
            break
    return out


# --------------------------------------------------------------------------- commands


def cmd_init(args: argparse.Namespace) -> int:
    config_dir = args.config_dir
    os.makedirs(config_dir, exist_ok=True)
    written, kept = [], []
    data = resources.files("pcloud") / "data" / "init"
    for target, source in INIT_FILES.items():
        if args.example and target in ("projects.csv", "deployment_config.json"):
            continue  # the example writes its own
        path = os.path.join(config_dir, target)
        if os.path.exists(path):
            kept.append(path)
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        _write_new(path, (data / source).read_bytes(), 0o644)
        written.append(path)
    key = fleetkey.ensure_fleet_key(config_dir)  # orchestrate makes it too, when a config dir lacks it
    written.extend(p for p in key.created if not os.path.isdir(p))
    if not key.created:
        kept.append(key.path)
    if args.example:
        from pcloud.example import install_example

        written.extend(install_example(config_dir, kept))
    for path in written:
        print("wrote  %s" % path)
    for path in kept:
        print("kept   %s (exists)" % path)
    return EXIT_OK


def _write_new(path: str, content: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)


def load_plan(config_dir: str, sources: Optional[Dict[str, str]] = None) -> tuple[specmod.Spec, Dict[str, Any]]:
    """Spec + desired state, with earlier allocations kept; every problem as SpecErrors (the modules' validation).
    ``sources``: project -> the source a deploy builds (its Procfile may declare the project's services)."""
    loaded = fleet.load_plan(config_dir, sources)
    return loaded.spec, loaded.state


def cmd_validate(args: argparse.Namespace) -> int:
    spec, state = load_plan(args.config_dir)
    for warning in spec.warnings:
        print("warning: %s" % warning, file=sys.stderr)
    counts = state["summary"]
    print("valid: %d projects, %d environments, %d droplets, %d web services, %d workers (%s)"
          % (counts["projects"], counts["environments"], counts["droplets"], counts["web_services"],
             counts["workers"], spec.infra.source))
    return EXIT_OK


def _provider_droplets(environ: Mapping[str, str], config_dir: str) -> tuple[Optional[str], Optional[List[Dict[str, Any]]]]:
    provider = resolve_provider(environ, config_dir=config_dir)
    if provider is None:
        return None, None
    return provider.name, Client(provider).droplets(tag=topology.FLEET_TAG)


def cmd_plan(args: argparse.Namespace) -> int:
    spec, state = load_plan(args.config_dir)
    provider, droplets = _provider_droplets(os.environ, args.config_dir)
    changes = topology.diff_droplets(state, droplets) if droplets is not None else None
    if args.json:
        out: Dict[str, Any] = {"droplets": state["droplets"], "projects": state["projects"],
                               "infrastructure_services": state["infrastructure_services"],
                               "health_monitoring": state["health_monitoring"], "summary": state["summary"],
                               "infrastructure_spec": state["infrastructure_spec"], "provider": provider}
        if changes is not None:
            out["changes"] = changes
        print(json.dumps(out, indent=2, sort_keys=True))
    else:
        for warning in spec.warnings:
            print("warning: %s" % warning, file=sys.stderr)
        print(render_plan(state, changes, provider))
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    previous = specmod.load_state_file(args.config_dir)
    rendered = previous.data if previous is not None and isinstance(previous.data, dict) else None
    if rendered is None or "droplets" not in rendered:
        _, rendered = load_plan(args.config_dir)
        source = "plan (no infrastructure.json with droplets yet: run 'pcloud orchestrate')"
    else:
        source = previous.file  # type: ignore[union-attr]
    provider, droplets = _provider_droplets(os.environ, args.config_dir)
    rows = []
    actual = {d.get("name"): d for d in droplets or ()}
    for name, body in sorted(rendered.get("droplets", {}).items()):
        have = actual.get(name)
        rows.append({
            "name": name, "role": body.get("role"), "size": body.get("size"),
            "ip": topology.public_ipv4(have) if have else body.get("ip"),
            "status": (have or {}).get("status", "absent" if droplets is not None else "unknown"),
        })
    # each droplet agent's /health (port 8080 is open to the admin IP), in parallel; None when it does not answer
    reports = agentprobe.agent_reports({r["name"]: r["ip"] for r in rows if r["ip"] and r["status"] == "active"})
    seen = health.seen_by(reports, rendered.get("droplets", {}))
    for row in rows:
        report = reports.get(row["name"])
        row["health"] = (report or {}).get("status", "no agent" if row["name"] in reports else "-")
        row["seen_by"] = seen.get(row["name"], {})
    master = reports.get(topology.MASTER) or {}
    last = (master.get("heartbeat") or {}).get("last_sent_at")
    recovering = [i for i in incident_store.load(os.path.abspath(args.config_dir))[-5:] if i.get("status") == "recovering"]
    monitoring = {
        "incidents": [i for r in reports.values() if r for i in r.get("incidents", ())] + recovering,
        "last_heartbeat": notify_rules.clock(last) if last else None,
        "heartbeat_error": (master.get("heartbeat") or {}).get("last_error"),
        "queues": [q for r in reports.values() if r for q in r.get("queues", ())],
        # while master is rebuilt, a web droplet runs the load balancer (pcloud recover pcloud-master)
        "load_balancer": next(({"droplet": i["lb_takeover"]["droplet"], "ip": i["lb_takeover"]["ip"], "incident": i["id"]}
                               for i in reversed(recovering) if i.get("lb_takeover")), None),
    }
    if args.json:
        print(json.dumps({"source": source, "provider": provider, "droplets": rows, "monitoring": monitoring,
                          "summary": rendered.get("summary")}, indent=2, sort_keys=True))
    else:
        print(render_status(rows, source, provider, monitoring))
    return EXIT_OK


def cmd_local(args: argparse.Namespace) -> int:
    from pcloud.localcloud import control, settings
    from pcloud.localcloud.engine import EngineError

    config_dir = os.path.abspath(args.config_dir)
    try:
        if args.local_command == "up":
            running = control.up(
                config_dir, name=args.name or settings.DEFAULT_NAME, network=args.network or settings.DEFAULT_NETWORK,
                subnet=args.subnet or settings.DEFAULT_SUBNET,
                port=settings.DEFAULT_PORT if args.port is None else args.port,
                log=lambda line: print(line, file=sys.stderr))
            catcher = _start_mail_catcher(config_dir, running["droplet_url"])
            if args.json:
                print(json.dumps({"url": running["url"], "droplet_url": running["droplet_url"], "pid": running["pid"],
                                  "mail_catcher": catcher}))
            else:
                # never the token itself: it would stay in terminal scrollback and CI logs
                print("local cloud up: %s (droplets reach it at %s)" % (running["url"], running["droplet_url"]))
                print("token: in %s (mode 0600); for a shell: eval \"$(pcloud --config-dir %s local env)\""
                      % (settings.path(config_dir, "token"), shlex.quote(config_dir)))
                if catcher:
                    print("mail catcher: SMTP on %s; the mail lands in %s/new"
                          % (", ".join(catcher["addresses"]), catcher["maildir"]))
        elif args.local_command == "down":
            from pcloud import mailcatcher

            mailcatcher.stop(config_dir, log=lambda line: print(line, file=sys.stderr))
            control.down(config_dir, purge=args.purge, log=lambda line: print(line, file=sys.stderr))
        elif args.local_command == "status":
            from pcloud import mailcatcher

            info = control.status(config_dir)
            info["mail_catcher"] = (mailcatcher.running(config_dir) or {}).get("addresses")
            print(json.dumps(info, indent=2, sort_keys=True) if args.json else
                  "\n".join("%s: %s" % (k, v) for k, v in sorted(info.items())))
            return EXIT_OK if info["running"] else EXIT_FAILED
        elif args.local_command == "env":
            running = control.endpoint(config_dir)
            if not running:
                print("pcloud: the local cloud is not running; start it with 'pcloud local up'", file=sys.stderr)
                return EXIT_FAILED
            # the token is read from its file when the lines are evaluated, so it is never printed
            print("export PCLOUD_API_URL=%s" % shlex.quote(running["url"]))
            print('export PCLOUD_API_TOKEN="$(cat %s)"' % shlex.quote(settings.path(config_dir, "token")))
            print("export PCLOUD_CONFIG_DIR=%s" % shlex.quote(config_dir))
    except EngineError as exc:
        print("pcloud: %s" % exc, file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _start_mail_catcher(config_dir: str, droplet_url: str) -> Optional[Dict[str, Any]]:
    """The mail catcher of the local cloud, when email_config.json sends mail to this machine's loopback: it
    listens there and on the droplet network's gateway (the agents' mail goes there), at smtp_port. A mail
    config elsewhere, or a catcher that cannot start, is one line on stderr and the cloud still comes up."""
    from urllib.parse import urlsplit

    from pcloud import mailcatcher

    try:
        email, _sms = specmod.load_notifications(config_dir)
    except SpecError as exc:
        print("pcloud: no mail catcher: %s" % str(exc).splitlines()[0], file=sys.stderr)
        return None
    port = mailcatcher.catch_port(email)
    if port is None:
        return None
    try:
        hosts = list(dict.fromkeys(["127.0.0.1", urlsplit(droplet_url).hostname or "127.0.0.1"]))
        return mailcatcher.start(config_dir, hosts, port)
    except mailcatcher.CatcherError as exc:
        print("pcloud: no mail catcher: %s" % exc, file=sys.stderr)
        return None


def orchestrate(args: argparse.Namespace, extravars: Optional[Dict[str, Any]] = None,
                edit: Optional[Callable[[], str]] = None) -> int:
    """Validate, optionally edit the spec, then run playbooks/orchestrate.yml under the config dir lock."""
    from pcloud.runner import run_playbook

    config_dir = os.path.abspath(args.config_dir)
    _notifier(config_dir)  # the agents' mail and SMS settings: exit 2 naming file and field before anything runs
    if edit is None:
        # bad input and an unconfirmed destruction stop here, before the lock file or any change
        confirmed = _confirm_destruction(args, config_dir)
    with ConfigLock(config_dir, "orchestrate"):
        if edit is not None:
            if args.check:
                raise SpecError("--check with a spec edit is not supported: run 'pcloud plan' to preview",
                                file="(arguments)", field="--check")
            with spec_edit.undo_on_error(config_dir):
                print("updated %s" % edit(), file=sys.stderr)
                confirmed = _confirm_destruction(args, config_dir)
        variables: Dict[str, Any] = dict(extravars or {})
        if args.force:
            variables["pcloud_force"] = True
        if confirmed:
            variables["pcloud_confirm_destroy"] = True
        progress = None if args.json else (lambda line: print(line, file=sys.stderr))
        # against the inventory: once the droplets exist, the playbook configures the health agent on each
        result = run_playbook("orchestrate", config_dir, variables, check=args.check, quiet=True,
                              inventory=str(REPO_INVENTORY),
                              watch=("pcloud.infra.pcloud_state_info", "pcloud.infra.pcloud_state",
                                     "pcloud.infra.pcloud_fleet_key"), progress=progress)
    made = (result.results.get("pcloud.infra.pcloud_fleet_key") or {}).get("created")
    if made:  # a config dir with only a spec: orchestrate made what 'pcloud init' writes for it
        print("%s the fleet SSH key pair ('pcloud init' writes it too): %s"
              % ("would create" if args.check else "created", ", ".join(made)), file=sys.stderr)
    plan = result.first.get("pcloud.infra.pcloud_state_info") or {}  # orchestrate's plan; the agents' comes after
    changes = plan.get("changes") or {}
    summary = result.summary()
    summary["check"] = bool(args.check)
    summary["created"] = [c["name"] for c in changes.get("create", [])]
    summary["destroyed"] = [c["name"] for c in changes.get("destroy", [])]
    summary["resized"] = [c["name"] for c in changes.get("resize", [])]
    if args.force:
        summary["recreated"] = [c["name"] for c in changes.get("keep", [])]
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    else:
        final = (result.results.get("pcloud.infra.pcloud_state") or {}).get("infrastructure") or plan.get("state")
        print(render_run(summary, final))
    for error in result.errors:
        print("pcloud: %s" % error, file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_FAILED


def _confirm_destruction(args: argparse.Namespace, config_dir: str) -> bool:
    """True when the run may destroy master or more than half of the fleet: not needed, ``--yes``, or a person
    at a terminal said yes. Otherwise exit 2 before anything changes (the playbook refuses too, for
    ansible-playbook and AWX users, unless ``pcloud_confirm_destroy`` is set)."""
    _spec, state = load_plan(config_dir)
    if args.check:
        return False
    _provider, droplets = _provider_droplets(os.environ, config_dir)
    problem = topology.destruction_problem(topology.diff_droplets(state, droplets or []), force=bool(args.force))
    if problem is None or getattr(args, "yes", False):
        return problem is not None
    if sys.stdin.isatty() and sys.stderr.isatty():
        print("pcloud: %s." % problem, file=sys.stderr)
        try:
            answer = input("Destroy them? Type 'yes' to continue: ")
        except EOFError:
            answer = ""
        if answer.strip().lower() == "yes":
            return True
    raise SpecError("%s; nothing was changed. Pass --yes to confirm (AWX/ansible-playbook: "
                    "-e pcloud_confirm_destroy=true)" % problem, file="(arguments)", field="--yes")


def cmd_orchestrate(args: argparse.Namespace) -> int:
    return orchestrate(args)


def cmd_project(args: argparse.Namespace) -> int:
    config_dir = os.path.abspath(args.config_dir)
    if args.project_command == "add":
        envs = [e.strip() for e in args.envs.split(",") if e.strip()]
        return orchestrate(args, edit=lambda: spec_edit.add_project(config_dir, args.name, args.servers, args.spec, envs))
    return orchestrate(args, edit=lambda: spec_edit.remove_project(config_dir, args.name))


def cmd_scale(args: argparse.Namespace) -> int:
    config_dir = os.path.abspath(args.config_dir)
    return orchestrate(args, edit=lambda: spec_edit.scale_project(config_dir, args.name, args.servers, args.spec))


def cmd_rollback(args: argparse.Namespace) -> int:
    for kind, value in (("project", args.project), ("environment", args.env)):
        why = names.name_problem(kind, value)
        if why:
            raise SpecError(why, file="(arguments)", field=kind)
    history = release_store.load_history(os.path.abspath(args.config_dir), "%s-%s" % (args.project, args.env))
    images = releases.rollback_target(history, args.service)
    previous = history[-2]
    print("rolling %s-%s back to release %s (%s)" % (args.project, args.env, previous.get("number"),
                                                     previous.get("tag") or previous["commit"][:12]), file=sys.stderr)
    args.branch, args.local, args.project_path, args.tag = "", False, "", ""
    return cmd_deploy(args, {"pcloud_images_override": images, "pcloud_override_commit": previous["commit"]})


def cmd_reproduce(args: argparse.Namespace) -> int:
    """playbooks/reproduce.yml: the released commit checked out, its record beside it, its images rebuilt."""
    from pcloud.runner import run_playbook

    if not TAG_RE.match(args.tag):
        raise SpecError("illegal tag %r (letters, digits, '.', '_' and '-')" % args.tag, file="(arguments)", field="tag")
    target = os.path.abspath(args.dir)
    if os.path.exists(target) and (not os.path.isdir(target) or os.listdir(target)):
        raise SpecError("%s exists and is not an empty directory" % target, file="(arguments)", field="--dir")
    config_dir = os.path.abspath(args.config_dir)
    found = releases.releases_with_tag(release_store.load_histories(config_dir), tag=args.tag)
    if not found:
        raise SpecError("no release of %s is recorded in %s" % (args.tag, os.path.join(config_dir, release_store.RELEASES_DIR)),
                        file="(arguments)", field="tag")
    record = next((r for r in found if r.get("kind") == "deploy"), found[0])
    progress = None if args.json else (lambda line: print(line, file=sys.stderr))
    result = run_playbook("reproduce", config_dir, {"pcloud_tag": args.tag, "pcloud_reproduce_dir": target,
                                                    "pcloud_reproduce_build": not args.no_build},
                          quiet=True, watch=("community.docker.docker_image_info",), progress=progress,
                          inventory=None if args.no_build else str(REPO_INVENTORY))
    summary = result.summary()
    summary.update(tag=args.tag, project_env=record["project_env"], commit=record["commit"], dir=target)
    if result.ok and not args.no_build:
        project = record["project_env"].rsplit("-", 1)[0]
        rebuilt = registry.reproduce_images(project, sorted(record["images"]), args.tag)
        ids = releases.image_ids(rebuilt, result.results.get("community.docker.docker_image_info", {}).get("images") or [])
        summary["images"] = {svc: {"released": record["image_ids"].get(svc), "rebuilt": ids[svc],
                                   "identical": ids[svc] == record["image_ids"].get(svc)} for svc in sorted(ids)}
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    elif result.ok:
        print("%s %s: commit %s checked out in %s (release record: .pcloud-release.json)"
              % (record["project_env"], args.tag, record["commit"][:12], target))
        for svc, body in sorted(summary.get("images", {}).items()):
            print("  %-14s %s  %s" % (svc, body["rebuilt"][7:19], "identical to the released image" if body["identical"]
                                      else "differs from the released %s" % (body["released"] or "?")[7:19]))
    for error in result.errors:
        print("pcloud: %s" % error, file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_FAILED


def _run_reporting(args: argparse.Namespace, playbook: str, extravars: Dict[str, Any], fact: str,
                   inventory: Optional[str] = None) -> Any:
    """Run ``playbook`` under the config dir's lock (progress on stderr unless --json) and return ``(result, the
    fact it reports)``: the last ``set_fact`` of ``fact``, or None when the run ended before it."""
    from pcloud.runner import run_playbook

    config_dir = os.path.abspath(args.config_dir)
    with ConfigLock(config_dir, playbook):
        load_plan(config_dir)
        progress = None if args.json else (lambda line: print(line, file=sys.stderr))
        result = run_playbook(playbook, config_dir, extravars, quiet=True, inventory=inventory,
                              watch=("ansible.builtin.set_fact",), progress=progress)
    facts = (result.results.get("ansible.builtin.set_fact") or {}).get("ansible_facts") or {}
    return result, facts.get(fact)


def _certificate_file(config_dir: str, cert: Dict[str, Any]) -> Dict[str, Any]:
    """What the control node holds for a served certificate: its file, issuer and end (the file master serves)."""
    from cryptography import x509

    tls_dir = os.path.join(config_dir, "secrets", "tls")
    path = os.path.join(tls_dir, cert["name"] + ".acme.crt")
    if cert.get("tls") == "self-signed" or not os.path.exists(path):
        path = os.path.join(tls_dir, cert["name"] + ".crt")
    try:
        with open(path, "rb") as handle:
            parsed = x509.load_pem_x509_certificate(handle.read())
    except (OSError, ValueError):
        return {"file": path, "issuer": None, "not_after": None}
    return {"file": path, "issuer": parsed.issuer.rfc4514_string(),
            "not_after": parsed.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")}


def cmd_certificates(args: argparse.Namespace) -> int:
    """playbooks/certificates.yml: issue and renew the load balancer's certificates between deploys."""
    if args.renew_before < 1:
        raise SpecError("--renew-before must be at least 1 (days)", file="(arguments)", field="--renew-before")
    extravars = {"pcloud_renew_now": args.renew_now, "nginx_lb_tls_renew_before": args.renew_before}
    result, report = _run_reporting(args, "certificates", extravars, "pcloud_certificates", str(REPO_INVENTORY))
    config_dir = os.path.abspath(args.config_dir)
    summary = result.summary()
    if report is not None:
        ordered = {o["name"]: o["reason"] for o in report["ordered"]}
        summary["certificates"] = [dict(c, ordered=ordered.get(c["name"]), **_certificate_file(config_dir, c))
                                   for c in report["certificates"]]
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    elif report is not None:
        for cert in summary["certificates"]:
            print("%-36s %-11s %s" % (cert["name"], cert["tls"], " ".join(cert["domains"])))
            print("  %s until %s%s" % (cert["issuer"] or "not issued", cert["not_after"] or "-",
                                       "; ordered now: %s" % cert["ordered"] if cert["ordered"] else ""))
        if not summary["certificates"]:
            print("no web service declares domains: nothing to certify")
    for error in result.errors:
        print("pcloud: %s" % error, file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_FAILED


def cmd_cleanup(args: argparse.Namespace) -> int:
    """playbooks/cleanup.yml: old and orphaned snapshots, orphaned droplets; --dry-run only lists."""
    if args.keep < 1:
        raise SpecError("--keep must be at least 1", file="(arguments)", field="--keep")
    result, report = _run_reporting(args, "cleanup", {"pcloud_dry_run": args.dry_run, "pcloud_snapshot_keep": args.keep},
                                    "pcloud_cleanup")
    summary = result.summary()
    summary["cleanup"] = report
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    elif summary["cleanup"] is not None:
        plan = summary["cleanup"]
        verb = "would delete" if args.dry_run else "deleted"
        for snap in plan["snapshots"]["delete"]:
            print("%s snapshot %-44s %s" % (verb, snap["name"], snap["reason"]))
        for droplet in plan["droplets"]:
            print("%s droplet  %-44s tagged for the fleet, not in the spec" % (verb, droplet["name"]))
        print("%d snapshot(s) kept, %d snapshot(s) and %d droplet(s) %s"
              % (len(plan["snapshots"]["keep"]), len(plan["snapshots"]["delete"]), len(plan["droplets"]),
                 "to delete (dry run)" if args.dry_run else "deleted" if result.ok else "to delete; the run failed"))
    for error in result.errors:
        print("pcloud: %s" % error, file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_FAILED


def _notifier(config_dir: str):
    from pcloud.notify import Notifier

    try:
        return Notifier.from_config_dir(config_dir, os.environ, sender="control node")
    except notify_rules.ConfigProblem as exc:
        problem = str(exc).split(": ", 1)[-1]
        raise SpecError(problem, file=getattr(exc, "file", config_dir), field=exc.field) from None


def cmd_notify(args: argparse.Namespace) -> int:
    """``pcloud notify test``: one test mail and one test SMS through the configured servers."""
    notifier = _notifier(os.path.abspath(args.config_dir))
    subject = "pcloud test - the notifications work"
    result = {
        "mail": notifier.mail(subject, "critical.txt.j2", {"what": "A test message from 'pcloud notify test'.",
                                                           "details": ["nothing is wrong"]}),
        "sms": notifier.sms(subject),
    }
    enabled = {"mail": notifier.email["enabled"], "sms": notifier.sms_cfg["enabled"]}
    failed = [k for k in result if enabled[k] and result[k]]
    if args.json:
        print(json.dumps({"sent": [k for k in result if enabled[k] and not result[k]], "errors": result}, indent=2,
                         sort_keys=True))
    else:
        for kind in ("mail", "sms"):
            print("%-5s %s" % (kind, "sent" if enabled[kind] and not result[kind] else result[kind]))
    return EXIT_FAILED if failed else EXIT_OK


def cmd_monitor(args: argparse.Namespace) -> int:
    """The agent of DROPLET on the control node: the same code the droplets run, probing DROPLET's ring targets."""
    from pcloud.agent.service import Agent, agentauth

    why = names.name_problem("droplet", args.droplet)
    if why:
        raise SpecError(why, file="(arguments)", field="droplet")
    config_dir = os.path.abspath(args.config_dir)
    loaded = specmod.load_state_file(config_dir)
    state = (loaded.data if loaded else None) or {}
    if args.droplet not in state.get("droplets", {}):
        raise SpecError("no droplet %r in infrastructure.json; run 'pcloud orchestrate' first" % args.droplet,
                        file=os.path.join(config_dir, "infrastructure.json"), field="droplets")
    cloud = os.path.join(config_dir, "localcloud", "cloud.json")
    prefix = args.droplet
    if os.path.exists(cloud):
        with open(cloud, encoding="utf-8") as handle:
            prefix = "%s-%s" % (json.load(handle)["name"], args.droplet)
    try:
        config = health.agent_config(state, args.droplet, prefix, interval=args.interval)
    except ValueError as exc:
        raise SpecError(str(exc), file=os.path.join(config_dir, "infrastructure.json"), field="droplets") from None
    config["listen_port"] = args.port
    config["auth"] = {"key_file": agentauth.key_path(config_dir)}  # signs its calls to the fleet with the fleet key
    agent = Agent(config)
    if args.once:
        agent.tick()
        print(json.dumps({"report": agent.report(), "views": agent.views()}, indent=2, sort_keys=True))
        return EXIT_OK
    agent.serve("127.0.0.1")
    print("agent of %s answering on http://127.0.0.1:%d/health; probing %s every %.0f s (Ctrl-C stops)"
          % (args.droplet, args.port, ", ".join(config["targets"]), args.interval), file=sys.stderr)
    try:
        agent.run()
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def cmd_platform(args: argparse.Namespace) -> int:
    """playbooks/platform.yml against the inventory, under the config dir lock."""
    from pcloud.runner import run_playbook

    config_dir = os.path.abspath(args.config_dir)
    _notifier(config_dir)  # the agents' mail and SMS settings: exit 2 naming file and field before anything runs
    with ConfigLock(config_dir, "platform"):
        load_plan(config_dir)
        progress = None if args.json else (lambda line: print(line, file=sys.stderr))
        result = run_playbook("platform", config_dir, check=args.check, quiet=True, inventory=str(REPO_INVENTORY),
                              progress=progress)
    summary = result.summary()
    print(json.dumps(summary, indent=2, sort_keys=True) if args.json else render_run(summary, None))
    for error in result.errors:
        print("pcloud: %s" % error, file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_FAILED


def cmd_recover(args: argparse.Namespace) -> int:
    """Drain + replace (playbooks/recover.yml), re-converge each project-env on the droplet from its newest
    release (playbooks/deploy.yml with those images), then refresh the agents (playbooks/agents.yml)."""
    import time

    from pcloud.runner import run_playbook

    why = names.name_problem("droplet", args.droplet)
    if why:
        raise SpecError(why, file="(arguments)", field="droplet")
    config_dir = os.path.abspath(args.config_dir)
    progress = None if args.json else (lambda line: print(line, file=sys.stderr))
    if args.incident:
        known = incident_store.find(incident_store.load(config_dir), args.incident)
        if known and known.get("status") in ("recovering", "recovered"):
            print("incident %s is already %s" % (args.incident, known["status"]), file=sys.stderr)
            return EXIT_OK
    with ConfigLock(config_dir, "recover", wait=900):
        _spec, state = load_plan(config_dir)
        if args.droplet not in state["droplets"]:
            raise SpecError("no droplet %r in the fleet (%s)" % (args.droplet, ", ".join(sorted(state["droplets"]))),
                            file="(arguments)", field="droplet")
        incident = {"id": args.incident or "%s-manual-%d" % (args.droplet, int(time.time())), "droplet": args.droplet,
                    "status": "recovering", "started_at": time.time(), "steps": []}
        incident_store.record(config_dir, incident)
        started = time.monotonic()
        runs = []

        def step(name: str, playbook: str, extravars: Dict[str, Any], limit: Optional[str] = None) -> bool:
            began = time.monotonic()
            result = run_playbook(playbook, config_dir, extravars, quiet=True, inventory=str(REPO_INVENTORY),
                                  progress=progress, limit=limit, watch=(SNAPSHOT_INFO,))
            runs.append(result)
            incident["steps"].append({"step": name, "seconds": round(time.monotonic() - began, 1), "ok": result.ok,
                                      "errors": result.errors})
            incident_store.record(config_dir, incident)
            return result.ok

        recorded = _recorded_state(config_dir)
        standby = topology.lb_standby(recorded) if args.droplet == topology.MASTER and recorded else None
        if standby:  # master is down: the web droplet with the lowest IP serves as the load balancer meanwhile
            if step("load balancer to %s" % standby, "lb_move", {"pcloud_lb_to": standby},
                    limit="localhost:all:!%s" % topology.MASTER):
                incident["lb_takeover"] = {"droplet": standby, "ip": recorded["droplets"][standby].get("ip"),
                                           "after": round(time.monotonic() - started, 1)}
                incident_store.record(config_dir, incident)
        ok = step("drain and replace", "recover", {"pcloud_droplet": args.droplet, "pcloud_already_drained": args.drained})
        used = snapshots.latest((runs[-1].results.get(SNAPSHOT_INFO) or {}).get("data") or [], args.droplet)
        incident["image"] = "snapshot %s (%s)" % (used["name"], used["id"]) if used else "fresh droplet"
        if not ok and used:  # a snapshot that cannot be restored must not keep the droplet down: start fresh
            ok = step("replace from a fresh image", "recover", {"pcloud_droplet": args.droplet, "pcloud_already_drained": True,
                                                              "pcloud_recover_from_snapshot": False})
            incident["image"] = "fresh droplet (snapshot %s failed)" % used["name"]
        if ok:
            incident["replaced_after"] = round(time.monotonic() - started, 1)
            _spec, state = load_plan(config_dir)
            for key in topology.keys_on_droplet(state, args.droplet):
                history = release_store.load_history(config_dir, key)
                if not history:
                    continue  # never deployed: nothing to bring back
                project, env = key.rsplit("-", 1)
                # only the new droplet, master (data stores, load balancer) and the control node
                ok = step("re-converge %s" % key, "deploy", {
                    "pcloud_project": project, "pcloud_env": env, "pcloud_images_override": history[-1]["images"],
                    "pcloud_override_commit": history[-1]["commit"]},
                    limit="localhost,%s,%s" % (topology.MASTER, args.droplet)) and ok
            ok = step("health agents", "agents", {}) and ok  # last: the replacement serves first
            if standby:
                ok = step("load balancer back to master", "lb_move", {"pcloud_lb_to": topology.MASTER}) and ok
        incident.update(status="recovered" if ok else "failed", seconds=round(time.monotonic() - started, 1),
                        finished_at=time.time())
        incident_store.record(config_dir, incident)
    notifier = _notifier(config_dir)
    subject = notify_rules.recovery_subject(args.droplet, ok, incident["seconds"])
    incident["notified"] = {"mail": notifier.mail(subject, "recovery.txt.j2", {"incident": incident})}
    if not ok:  # a failed recovery is critical: SMS too
        incident["notified"]["sms"] = notifier.sms("%s (incident %s)" % (subject, incident["id"]))
    incident_store.record(config_dir, incident)
    summary = {"status": "successful" if ok else "failed", "incident": incident,
               "changed": sum(r.total("changed") for r in runs), "failed": sum(r.total("failed") for r in runs)}
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    else:
        for item in incident["steps"]:
            print("  %-36s %6.1f s  %s" % (item["step"], item["seconds"], "ok" if item["ok"] else "FAILED"))
        print("%s %s in %.1f s" % (args.droplet, incident["status"], incident["seconds"]))
    for result in runs:
        for error in result.errors:
            print("pcloud: %s" % error, file=sys.stderr)
    return EXIT_OK if ok else EXIT_FAILED


def cmd_deploy(args: argparse.Namespace, override: Optional[Dict[str, Any]] = None) -> int:
    """playbooks/deploy.yml against the inventory, under the config dir lock."""
    from pcloud.runner import run_playbook

    for kind, value in (("project", args.project), ("environment", args.env)):
        why = names.name_problem(kind, value)
        if why:
            raise SpecError(why, file="(arguments)", field=kind)
    if args.local != bool(args.project_path):
        raise SpecError("--local and --project-path go together", file="(arguments)", field="--project-path")
    if args.tag and (args.env != "prod" or not releases.UAT_TAG_RE.match(args.tag)):
        raise SpecError("--tag takes a UAT tag such as v1.0.0-uat-20261122-0610, and only for prod",
                        file="(arguments)", field="--tag")
    if getattr(args, "force", False) and args.env != "prod":
        raise SpecError("--force is for prod (promote a tag uat was rolled back from)", file="(arguments)", field="--force")
    if args.env == "prod" and args.local:
        raise SpecError("prod promotes a UAT build; --local builds are for uat and test", file="(arguments)",
                        field="--local")
    if args.branch:
        why = names.branch_problem(args.branch)
        if why:
            raise SpecError(why, file="(arguments)", field="--branch")
    config_dir = os.path.abspath(args.config_dir)
    path = os.path.abspath(args.project_path) if args.project_path else ""
    if path and not os.path.isdir(path):
        raise SpecError("not a directory: %s" % path, file="(arguments)", field="--project-path")
    with ConfigLock(config_dir, "deploy"):
        spec, state = load_plan(config_dir, {args.project: path} if path else None)
        if spec.infra.project(args.project) is None:
            raise SpecError("no project %r in %s" % (args.project, spec.infra.source), file="(arguments)", field="project")
        if "%s-%s" % (args.project, args.env) not in state["projects"]:
            raise SpecError("project %r has no environment %r" % (args.project, args.env), file="(arguments)",
                            field="env")
        progress = None if args.json else (lambda line: print(line, file=sys.stderr))
        result = run_playbook("deploy", config_dir, {"pcloud_project": args.project, "pcloud_env": args.env,
                                                     "pcloud_branch": args.branch, "pcloud_project_path": path,
                                                     "pcloud_tag": args.tag,
                                                     "pcloud_force_promote": bool(getattr(args, "force", False)),
                                                     "pcloud_build_nocache": bool(getattr(args, "no_cache", False)),
                                                     "pcloud_snapshots": not getattr(args, "no_snapshot", False),
                                                     **(override or {})},
                              quiet=True, inventory=str(REPO_INVENTORY), progress=progress,
                              watch=("pcloud.infra.pcloud_deploy_info",))
    summary = result.summary()
    summary.update(project=args.project, environment=args.env)
    notice = (result.first.get("pcloud.infra.pcloud_deploy_info") or {}).get("build", {}).get("notice")
    if notice:
        summary["note"] = notice
        print("pcloud: %s" % notice, file=sys.stderr)
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    else:
        print(render_run(summary, None))
        if result.ok:
            endpoint = state["droplets"][topology.MASTER].get("ip") or "<master ip>"
            for svc, body in sorted(state["projects"]["%s-%s" % (args.project, args.env)].items()):
                if body["type"] == "web":
                    print("  %-10s http://%s/%s/%s/%s/" % (svc, _master_ip(config_dir) or endpoint, args.project,
                                                           args.env, svc))
    for error in result.errors:
        print("pcloud: %s" % error, file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_FAILED


def _recorded_state(config_dir: str) -> Dict[str, Any]:
    """infrastructure.json as the last run wrote it (with the droplets' addresses), or {}."""
    loaded = specmod.load_state_file(config_dir)
    return (loaded.data or {}) if loaded else {}


def _master_ip(config_dir: str) -> Optional[str]:
    return (_recorded_state(config_dir).get("droplets", {}).get(topology.MASTER) or {}).get("ip")


def cmd_update_ip(args: argparse.Namespace) -> int:
    why = fleet.admin_ip_problem(args.ip)
    if why:
        raise SpecError(why, file="(arguments)", field="ip")
    return orchestrate(args, extravars={"pcloud_admin_ip": args.ip})


def cmd_logs(args: argparse.Namespace) -> int:
    """``docker logs`` of the service's containers on each droplet, over SSH with the pinned host keys; the lines of
    several droplets interleave as they come, each prefixed with its container's name."""
    import subprocess
    import threading

    from ansible_collections.pcloud.infra.plugins.module_utils import logs as logsmod  # isort: skip

    state = _recorded_state(args.config_dir)
    if not state.get("droplets"):
        raise SpecError("no droplets recorded yet; run 'pcloud orchestrate' first", file="(arguments)", field="project")
    found = logsmod.targets(state, args.project, args.env, args.service, args.droplet)
    command = logsmod.remote_command(args.project, args.env, args.service, args.lines, args.follow)
    config_dir = os.path.abspath(args.config_dir)
    procs = [(droplet, subprocess.Popen(logsmod.ssh_argv(config_dir, droplet, ip, command), stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, stdin=subprocess.DEVNULL))
             for droplet, ip in found]
    lock = threading.Lock()

    def pump(proc: subprocess.Popen[bytes]) -> None:
        for line in iter(proc.stdout.readline, b""):  # type: ignore[union-attr]
            with lock:
                sys.stdout.buffer.write(line)
                sys.stdout.flush()

    threads = [threading.Thread(target=pump, args=(proc,), daemon=True) for _d, proc in procs]
    for thread in threads:
        thread.start()
    failed = 0
    try:
        for (droplet, proc), thread in zip(procs, threads):
            err = proc.stderr.read().decode("utf-8", "replace").strip()  # type: ignore[union-attr]
            code = proc.wait()
            thread.join()
            if code != 0:
                failed += 1
                print("pcloud: %s: %s" % (droplet, err or "ssh exited with %d" % code), file=sys.stderr)
    except KeyboardInterrupt:
        for _d, proc in procs:
            proc.terminate()
        return EXIT_OK
    return EXIT_FAILED if failed == len(procs) else EXIT_OK


COMMANDS: Dict[str, Callable[[argparse.Namespace], int]] = {
    "orchestrate": cmd_orchestrate,
    "project": cmd_project,
    "scale": cmd_scale,
    "update-ip": cmd_update_ip,
    "deploy": cmd_deploy,
    "rollback": cmd_rollback,
    "reproduce": cmd_reproduce,
    "recover": cmd_recover,
    "cleanup": cmd_cleanup,
    "certificates": cmd_certificates,
    "logs": cmd_logs,
    "platform": cmd_platform,
    "notify": cmd_notify,
    "monitor": cmd_monitor,
    "local": cmd_local,
    "init": cmd_init,
    "validate": cmd_validate,
    "plan": cmd_plan,
    "status": cmd_status,
}


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = translate_aliases(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not args.command:
            parser.print_help()
            return EXIT_USAGE
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print("pcloud: %s (see 'pcloud --help')" % exc, file=sys.stderr)
        return EXIT_USAGE
    except SpecErrors as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return EXIT_USAGE
    except SpecError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except ProviderError as exc:
        print("pcloud: %s" % exc, file=sys.stderr)
        return EXIT_FAILED
    except PcloudError as exc:
        print("pcloud: %s" % exc, file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
