"""Run a playbook through ansible-runner and summarise it (per-host stats, totals, what changed)."""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, List, Optional

import ansible_runner

from pcloud._collection import REPO_ROOT

PLAYBOOKS = REPO_ROOT / "playbooks"
ANSIBLE_CFG = REPO_ROOT / "ansible.cfg"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
STAT_KEYS = {"ok": "ok", "changed": "changed", "failures": "failed", "dark": "unreachable", "skipped": "skipped",
             "rescued": "rescued", "ignored": "ignored"}
# <config>/.runner/run-<pid>-XXXX: the private data dir of one run, removed when it ends (or, after a crash, by
# the next run once process <pid> is gone). "artifacts" is where earlier versions kept every run's environment.
RUN_DIR = re.compile(r"^run-(\d+)-")
LEGACY_ARTIFACTS = "artifacts"
TAIL_LINES = 40


@dataclass
class RunResult:
    status: str
    rc: int
    hosts: Dict[str, Dict[str, int]] = field(default_factory=dict)
    results: Dict[str, Any] = field(default_factory=dict)  # last result of each watched module
    first: Dict[str, Any] = field(default_factory=dict)  # first result of each watched module
    errors: List[str] = field(default_factory=list)

    def total(self, key: str) -> int:
        return sum(h.get(key, 0) for h in self.hosts.values())

    @property
    def ok(self) -> bool:
        return self.status == "successful" and self.rc == 0

    def summary(self) -> Dict[str, Any]:
        return {"status": self.status, "rc": self.rc, "changed": self.total("changed"), "failed": self.total("failed"),
                "unreachable": self.total("unreachable"), "hosts": self.hosts}


def failure_message(res: Dict[str, Any], limit: int = 1000) -> str:
    """The reason of a failed task; for a loop, each failed item's label and reason (a failed build names its
    service and the step that failed, not just 'One or more items failed')."""
    items = [r for r in res.get("results") or () if isinstance(r, dict) and r.get("failed")]
    if items:
        return "; ".join("%s: %s" % (r.get("_ansible_item_label", r.get("item", "item")),
                                     _shorten(str(r.get("msg") or "failed"), limit)) for r in items)
    return _shorten(str(res.get("msg") or "failed"), limit)


def _shorten(text: str, limit: int) -> str:
    text = ANSI.sub("", text).strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_runner_dir(runner_dir: str) -> List[str]:
    """Remove what runs left behind in ``runner_dir``: the private data dir of a run whose process is gone (killed:
    it may still hold the environment ansible-runner writes at start), and the ``artifacts`` directory earlier
    versions kept (each run's whole environment). Returns the names removed."""
    removed = []
    for name in sorted(os.listdir(runner_dir)):
        match = RUN_DIR.match(name)
        if name == LEGACY_ARTIFACTS or (match and int(match.group(1)) != os.getpid()
                                        and not _pid_alive(int(match.group(1)))):
            shutil.rmtree(os.path.join(runner_dir, name), ignore_errors=True)
            removed.append(name)
    return removed


def _scrub_command_file(artifact_dir: str) -> None:
    """ansible-runner writes ``<artifact_dir>/command`` with the whole process environment (every token and secret
    exported in the shell) before it starts ansible-playbook; keep the command and only the variables' names."""
    path = os.path.join(artifact_dir, "command")
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return
    data["env"] = sorted(data.get("env") or {})
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(path + ".tmp", path)


def run_playbook(name: str, config_dir: str, extravars: Optional[Dict[str, Any]] = None, check: bool = False,
                 quiet: bool = False, watch: tuple = (), inventory: Optional[str] = None,
                 progress: Optional[Callable[[str], None]] = None, limit: Optional[str] = None) -> RunResult:
    """Run ``playbooks/<name>.yml``. Secrets travel only in the environment of ansible-playbook, never in extravars,
    and nothing of a run stays on disk: ansible-runner's artifacts (the environment in ``command``, task results in
    ``job_events``, the ``stdout`` file, the fact cache) live in a private directory removed when the run ends;
    events are handled in memory and never written."""
    config_dir = os.path.abspath(config_dir)
    runner_dir = os.path.join(config_dir, ".runner")
    os.makedirs(runner_dir, mode=0o700, exist_ok=True)
    os.chmod(runner_dir, 0o700)
    sweep_runner_dir(runner_dir)
    # A fresh private data dir per run: ansible-runner keeps env/cmdline and env/extravars between runs
    # that share one, so a --check or an extra variable would leak into the next run.
    private = tempfile.mkdtemp(prefix="run-%d-" % os.getpid(), dir=runner_dir)
    artifact_dir = os.path.join(private, "artifacts")
    os.environ.update(ANSIBLE_CONFIG=str(ANSIBLE_CFG), PCLOUD_CONFIG_DIR=config_dir,
                      NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    bin_dir = os.path.dirname(sys.executable)  # ansible-playbook of this environment
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    captured: Dict[str, Any] = {}
    first: Dict[str, Any] = {}
    errors: List[str] = []
    stats: Dict[str, Any] = {}
    tail: Deque[str] = collections.deque(maxlen=TAIL_LINES)

    def on_event(event: Dict[str, Any]) -> bool:
        data = event.get("event_data") or {}
        kind = event.get("event")
        if event.get("stdout"):
            tail.extend(ANSI.sub("", event["stdout"]).splitlines())
        if kind == "playbook_on_task_start" and progress:
            progress("- %s" % data.get("task", "").strip())
        if kind == "runner_on_ok" and data.get("task_action") in watch:
            captured[data["task_action"]] = data.get("res") or {}
            first.setdefault(data["task_action"], captured[data["task_action"]])
        if kind == "runner_on_failed" and not data.get("ignore_errors"):
            errors.append("%s: %s" % (data.get("task", "task"), failure_message(data.get("res") or {})))
        if kind == "runner_on_unreachable":  # e.g. a droplet presenting another SSH host key than the pinned one
            errors.append("%s unreachable: %s" % (data.get("host", "host"), failure_message(data.get("res") or {})))
        if kind == "playbook_on_stats":
            stats.update({k: data.get(k) or {} for k in STAT_KEYS})
        return False  # never written to job_events/: task results may hold what a task echoed

    def on_status(status: Dict[str, Any], runner_config: Any = None) -> None:
        if status.get("status") == "running":  # the child's environment is built; the file is no longer read
            _scrub_command_file(getattr(runner_config, "artifact_dir", None) or artifact_dir)

    # ansible-runner 2.4 drops a ``settings`` argument unless env/settings exists (and suppress_env_files keeps
    # it from writing one): no stdout/stderr copies in the artifacts, the tail comes from the events.
    os.makedirs(os.path.join(private, "env"), mode=0o700)
    with open(os.path.join(private, "env", "settings"), "w", encoding="utf-8") as handle:
        json.dump({"suppress_output_file": True}, handle)
    cmdline = "--check --diff" if check else ""
    try:
        runner = ansible_runner.run(
            private_data_dir=private,
            playbook=str(PLAYBOOKS / ("%s.yml" % name)),
            inventory=inventory or "localhost ansible_connection=local ansible_python_interpreter=%s" % sys.executable,
            extravars=extravars or {},
            cmdline=cmdline or None,
            limit=limit,
            quiet=quiet,
            event_handler=on_event,
            status_handler=on_status,
            artifact_dir=artifact_dir,
            suppress_env_files=True,
        )
    finally:
        shutil.rmtree(private, ignore_errors=True)
    hosts: Dict[str, Dict[str, int]] = {}
    for stat_key, out_key in STAT_KEYS.items():
        for host, count in (stats.get(stat_key) or {}).items():
            hosts.setdefault(host, {k: 0 for k in STAT_KEYS.values()})[out_key] = count
    rc = runner.rc if runner.rc is not None else 1
    if (runner.status != "successful" or rc != 0) and not errors:
        # failed before any task (a parse error, a missing inventory): the end of ansible's own output says why
        lines = [line for line in tail if line.strip()]
        errors.append(" / ".join(lines[-8:]) or "ansible-playbook exited with %s" % rc)
    return RunResult(status=runner.status, rc=rc, hosts=hosts, results=captured, first=first, errors=errors)
