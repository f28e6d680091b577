"""Readable tables for the CLI (presentation only)."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [["-" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines)


def render_plan(state: Mapping[str, Any], changes: Optional[Mapping[str, List[Dict[str, Any]]]],
                provider: Optional[str]) -> str:
    droplets = state["droplets"]
    out = ["Droplets (%d)" % len(droplets)]
    out.append(table(
        ("NAME", "ROLE", "PROJECT", "SIZE", "REGION", "MONITORS"),
        [(n, d["role"], d.get("project"), d["size"], d["region"], ", ".join(d.get("monitors", ())) or None)
         for n, d in droplets.items()],
    ))
    rows = []
    for key in sorted(state["projects"]):
        for svc, body in sorted(state["projects"][key].items()):
            extra = body.get("db_name") or ""
            rows.append((key, svc, body["type"], body.get("port"), ", ".join(body["assigned_droplets"]), extra))
    out.append("")
    out.append("Services (%d)" % len(rows))
    out.append(table(("PROJECT-ENV", "SERVICE", "TYPE", "PORT", "DROPLETS", "DATABASE"), rows))
    infra = state.get("infrastructure_services") or {}
    out.append("")
    out.append("Infrastructure on master: " + ", ".join(
        "%s (%s)" % (name, "/".join(str(p) for p in body["ports"])) for name, body in infra.items()))
    counts = state["summary"]
    out.append("Summary: " + ", ".join("%d %s" % (v, k.replace("_", " ")) for k, v in counts.items()))
    if changes is not None:
        out.append("")
        out.append("Changes against %s:" % provider)
        signs = (("create", "+"), ("resize", "~"), ("destroy", "-"))
        any_change = False
        for kind, sign in signs:
            for item in changes[kind]:
                any_change = True
                detail = item.get("size") or ("%s -> %s" % (item.get("from"), item.get("to")) if kind == "resize" else "")
                out.append("  %s %-8s %s %s" % (sign, kind, item["name"], detail))
        if not any_change:
            out.append("  none: %d droplets already match" % len(changes["keep"]))
    else:
        out.append("(no provider configured: set PCLOUD_API_URL or DO_API_TOKEN to see what would change)")
    return "\n".join(out)


def render_status(rows: List[Dict[str, Any]], source: str, provider: Optional[str],
                  monitoring: Optional[Mapping[str, Any]] = None) -> str:
    out = ["State: %s" % source, "Provider: %s" % (provider or "none configured")]
    out.append(table(("NAME", "ROLE", "SIZE", "IP", "STATUS", "HEALTH", "SEEN BY ITS MONITORS"),
                     [(r["name"], r["role"], r["size"], r["ip"], r["status"], r.get("health", "-"),
                       ", ".join("%s: %s" % kv for kv in sorted((r.get("seen_by") or {}).items())) or "-") for r in rows]))
    if monitoring:
        out.append("Last heartbeat mail: %s%s" % (monitoring.get("last_heartbeat") or "none yet",
                                                  " (failed: %s)" % monitoring["heartbeat_error"]
                                                  if monitoring.get("heartbeat_error") else ""))
        queues = monitoring.get("queues") or []
        if queues:
            out.append("Worker queues: %s" % ", ".join(
                "%s %s: %s" % (q["service"], q["queue"], q["depth"] if q.get("depth") is not None else "? (%s)" % q.get("error"))
                for q in queues))
        moved = monitoring.get("load_balancer")
        if moved:
            out.append("Load balancer: on %s (http://%s/) while pcloud-master is rebuilt (incident %s)"
                       % (moved["droplet"], moved["ip"], moved["incident"]))
        incidents = monitoring.get("incidents") or []
        out.append("Open incidents: %s" % (", ".join("%s (%s)" % (i.get("id"), i.get("status")) for i in incidents)
                                           or "none"))
    return "\n".join(out)


def render_run(summary: Mapping[str, Any], state: Optional[Mapping[str, Any]]) -> str:
    """The end of a playbook run: per-host stats, what changed, and the droplets with their addresses."""
    out = []
    verb = "would be " if summary.get("check") else ""
    for key in ("created", "destroyed", "resized", "recreated"):
        if summary.get(key):
            out.append("%s%s: %s" % (verb, key, ", ".join(summary[key])))
    out.append(table(("HOST", "OK", "CHANGED", "FAILED", "UNREACHABLE", "SKIPPED"),
                     [(h, s["ok"], s["changed"], s["failed"], s["unreachable"], s["skipped"])
                      for h, s in sorted(summary["hosts"].items())]))
    if state and not summary.get("check"):
        out.append("")
        out.append(table(("DROPLET", "ROLE", "SIZE", "IP"),
                         [(n, d["role"], d["size"], d.get("ip")) for n, d in sorted(state["droplets"].items())]))
    out.append("%s: changed=%d failed=%d unreachable=%d" % (summary["status"], summary["changed"], summary["failed"],
                                                            summary["unreachable"]))
    return "\n".join(out)
