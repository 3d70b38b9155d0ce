# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run report: one outcome per host, derived from the ledger rows (pure Python)."""

from __future__ import annotations

import json

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import accounting, cr_model
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_local import LocalBackend
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.findings_report import add_to_report
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.hooks import night_report
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.lifecycle import PHASES, SUCCEEDED, failed_phase, host_status

__all__ = ("build_report", "render_table", "host_status", "failed_phase", "load_report", "run_ids", "change_requests",
           "report_text", "host_outcomes")

# report.json is indented for a person to read up to this many hosts; above, it is compact (the
# same keys and values: at 10,000 hosts indent=2 is 26 MB and, with Python's pure-Python indenting
# encoder, 3x the time of the C encoder's 15 MB; docs/performance.md)
INDENT_HOSTS = 1000


def report_text(report):
    """report.json's text: sorted keys, indented up to INDENT_HOSTS hosts, compact above."""
    if len(report.get("hosts") or ()) <= INDENT_HOSTS:
        return json.dumps(report, indent=2, sort_keys=True, default=str) + "\n"
    return json.dumps(report, sort_keys=True, default=str, separators=(",", ":")) + "\n"


def build_report(run, hosts, change_requests=None):
    """report.json: the run, one entry per host, and the figures of each patch group and of the run.

    Every figure comes from module_utils/accounting.py; see there what each one counts.
    """
    out_hosts = []
    scan_only = run.get("playbook") == "fleetpatch.hybrid.scan"
    for host in hosts:
        status = host_status(host["phases"], scan_only)
        phase, message = failed_phase(host["phases"])
        figures = accounting.host_figures(host, status, run.get("meta"))
        reboot = host["phases"].get("reboot", {})
        entry = {
            "name": host["name"],
            "patch_group": host["patch_group"],
            "status": status,
            "patched": figures["packages_patched"],
            "cves_open_before": figures["cves_open_before"],
            "cves_closed": figures["cves_closed"],
            "cves_still_open": figures["cves_still_open"],
            "phases": dict((p, host["phases"][p]["status"]) for p in PHASES if p in host["phases"]),
        }
        if reboot:
            entry["rebooted"] = reboot["status"] == "changed"
            if reboot.get("data", {}).get("pending"):
                entry["reboot_pending"] = True
        if phase:
            entry["failed_phase"] = phase
            entry["reason"] = message
        elif status in ("not_started", "deferred"):
            entry["reason"] = host["phases"]["preflight"].get("message")
        if status == "deferred":
            data = host["phases"]["preflight"].get("data") or {}
            entry["deferred"] = dict((k, data.get(k)) for k in ("schedule", "timezone", "source", "next_start", "next_end"))
        rollback = host["phases"].get("rollback")
        if rollback and status in ("rolled_back", "rollback_failed"):
            entry["rollback_reason"] = _rollback_reason(host["phases"])
        compliance = host["phases"].get("approve", {}).get("data", {}).get("compliance")
        if compliance:
            entry["compliance_before"] = compliance
        if figures["compliance_after"]:
            entry["compliance_after"] = figures["compliance_after"]
        if figures["window"]:
            entry["window_applied"] = figures["window"]
        for key in ("environment", "owner", "window", "instance_id", "source", "os", "os_version"):
            if host["attrs"].get(key) is not None:
                entry[key] = host["attrs"][key]
        out_hosts.append(entry)
    report = {
        "run_id": run["run_id"],
        "status": run["status"],
        "started_at": run["started_at"],
        "finished_at": run["finished_at"],
        "check_mode": run["check_mode"],
        "summary": accounting.aggregate(out_hosts),
        "hosts": out_hosts,
        "change_requests": list(change_requests or []),
    }
    report["patch_groups"] = accounting.patch_groups(report)
    return report


def _rollback_reason(phases):
    """Why the host was rolled back: the validation (or patch) failure that started it, then how it went."""
    cause = None
    for phase in ("validate", "reboot", "patch", "post_patch"):      # post_patch: a hook step under on_failure rollback
        entry = phases.get(phase)
        if entry and entry.get("status") == "failed":
            cause = "%s: %s" % (phase, entry.get("message") or "failed")
            break
    done = phases["rollback"].get("message")
    return "; ".join(x for x in (cause, done) if x) or "rolled back"


def render_table(report):
    """What a person watching a terminal reads at the end of a night: the hosts that need a look
    (not patched and not compliant), then one compact row per patch group and the run's totals."""
    lines = []
    attention = [h for h in report["hosts"] if h["status"] not in SUCCEEDED]
    if attention:
        rows = [("HOST", "PATCH GROUP", "STATUS", "NOTE")]
        for host in attention:
            note = ""
            if host.get("deferred"):
                note = "window %s; next opens %s" % (host["deferred"].get("schedule") or "-", host["deferred"].get("next_start") or "never")
            elif host.get("rollback_reason"):
                note = host["rollback_reason"][:70]
            elif host.get("failed_phase"):
                note = "%s: %s" % (host["failed_phase"], (host.get("reason") or "")[:60])
            elif host.get("reason"):
                note = host["reason"][:70]
            rows.append((host["name"], host.get("patch_group") or "-", host["status"], note))
        lines.extend(_grid(rows))
        lines.append("")
    # a report.json written before these figures existed is counted here the same way
    groups = report.get("patch_groups") or accounting.patch_groups(report)
    summary = report["summary"] if "columns" in report.get("summary", {}) else accounting.aggregate(report["hosts"])
    header = ("PATCH GROUP", "HOSTS", "PATCHED", "FAILED", "DEFERRED", "SKIPPED", "CVES CLOSED", "STILL OPEN", "CR")
    rows = [header]
    for name, group in groups.items():
        cr = group.get("change_request") or {}
        rows.append(_group_row(name, group, "%s %s" % (cr.get("number"), cr.get("close_code") or cr.get("state") or "")
                               if cr.get("number") else "-"))
    rows.append(_group_row("(run)", summary, ""))
    lines.extend(_grid(rows))
    lines.append("")
    lines.append("run %s: %d host(s); %d distinct CVE(s) closed (no targeted host still has them), %d host-CVE pair(s) "
                 "closed, %d distinct CVE(s) still open, %d host-package pair(s) patched" % (
                     report["run_id"], summary["hosts"], summary["cves_closed_distinct"], summary["host_cves_closed"],
                     summary["cves_still_open_distinct"], summary["host_packages_patched"]))
    for cr in report.get("change_requests") or []:
        close = ", " + cr["close_code"] if cr.get("close_code") else ""
        lines.append("change request %s (%s): %s%s" % (cr["number"], cr.get("patch_group") or "-", cr.get("state"), close))
    return "\n".join(line.rstrip() for line in lines)


def _group_row(name, figures, cr):
    columns = figures["columns"]
    return (name, str(figures["hosts"]), str(columns["patched"]), str(columns["failed"]), str(columns["deferred"]),
            str(columns["skipped"]), str(figures["cves_closed_distinct"]), str(figures["cves_still_open_distinct"]), cr)


def _grid(rows):
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


CR_KEYS = ("number", "patch_group", "state", "close_code", "hosts", "owners", "host_outcomes")


def change_requests(path, run_id):
    """The run's change requests in the local backend (kept in the same ledger file), as the report shows them."""
    prefix = "%s:%s:" % (cr_model.CORRELATION_PREFIX, run_id)
    backend = LocalBackend(path, readonly=True)
    try:
        records = backend.list(correlation_prefix=prefix, limit=None)
    finally:
        backend.close()
    return [dict((k, r.get(k)) for k in CR_KEYS) for r in records]


def run_ids(ledger):
    """Every run in a ledger, oldest first."""
    return [row[0] for row in ledger.conn.execute("SELECT run_id FROM runs ORDER BY started_at, run_id")]


def host_outcomes(ledger, run_id):
    """The report's host entries cut to name, status and phases (the statuses build_report gives),
    from the phase rows alone: no package changes, figures, findings or change requests are read.
    What the night's lost-host step needs, at a fraction of the report's cost."""
    run = ledger.run(run_id)
    scan_only = run.get("playbook") == "fleetpatch.hybrid.scan"
    return [{"name": host["name"], "status": host_status(host["phases"], scan_only),
             "phases": dict((p, host["phases"][p]["status"]) for p in PHASES if p in host["phases"])}
            for host in ledger.hosts(run_id, changes=False)]


def load_report(ledger, run_id):
    """(report, ledger hosts) of one run of an open Ledger, with its local change requests and its
    hosts' scanner findings."""
    run, hosts = ledger.run(run_id), ledger.hosts(run_id)
    report = build_report(run, hosts, change_requests(ledger.path, run_id))
    add_to_report(report, ledger.findings(run_id))
    night_hooks = night_report(ledger.run_hooks(run_id))
    if night_hooks:                     # the run-level hook points (pre_night, post_night) that ran
        report["night_hooks"] = night_hooks
    return report, hosts
