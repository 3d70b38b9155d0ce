# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run report: one outcome per host, derived from the ledger rows (pure Python)."""

from __future__ import annotations

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.lifecycle import PHASES, failed_phase, host_status

__all__ = ("build_report", "render_table", "host_status", "failed_phase")


def build_report(run, hosts):
    """report.json: run_id, hosts [{name, patch_group, status, patched [{name, from, to}], cves_closed}]."""
    out_hosts = []
    scan_only = run.get("playbook") == "fleetpatch.hybrid.scan"
    for host in hosts:
        status = host_status(host["phases"], scan_only)
        phase, message = failed_phase(host["phases"])
        closed = sorted(set(c for change in host["changes"] for c in change["cves"])) if status == "patched" else []
        reboot = host["phases"].get("reboot", {})
        remaining = host["phases"].get("rescan", host["phases"].get("scan", {})).get("data", {}).get("cves", [])
        entry = {
            "name": host["name"],
            "patch_group": host["patch_group"],
            "status": status,
            "patched": [{"name": c["name"], "from": c["from"], "to": c["to"]} for c in host["changes"]],
            "cves_closed": closed,
            "cves_remaining": sorted(remaining),
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
        compliance = host["phases"].get("approve", {}).get("data", {}).get("compliance")
        if compliance:
            entry["compliance"] = compliance
        for key in ("environment", "owner", "window", "instance_id", "source"):
            if host["attrs"].get(key) is not None:
                entry[key] = host["attrs"][key]
        out_hosts.append(entry)
    counts = {}
    for entry in out_hosts:
        counts[entry["status"]] = counts.get(entry["status"], 0) + 1
    return {
        "run_id": run["run_id"],
        "status": run["status"],
        "started_at": run["started_at"],
        "finished_at": run["finished_at"],
        "check_mode": run["check_mode"],
        "summary": {"hosts": len(out_hosts), "by_status": counts,
                    "packages_patched": sum(len(h["patched"]) for h in out_hosts),
                    "cves_closed": len(set(c for h in out_hosts for c in h["cves_closed"]))},
        "hosts": out_hosts,
    }


def render_table(report):
    """A plain-text table a person can read at the end of a patch night."""
    header = ("HOST", "PATCH GROUP", "STATUS", "PATCHED", "CVES CLOSED", "NOTE")
    rows = [header]
    for host in report["hosts"]:
        note = ""
        if host.get("deferred"):
            note = "window %s; next opens %s" % (host["deferred"].get("schedule") or "-", host["deferred"].get("next_start") or "never")
        elif host.get("failed_phase"):
            note = "%s: %s" % (host["failed_phase"], (host.get("reason") or "")[:60])
        elif host.get("reason"):
            note = host["reason"][:70]
        elif host.get("cves_remaining"):
            note = "%d CVE(s) still open" % len(host["cves_remaining"])
        rows.append((host["name"], host.get("patch_group") or "-", host["status"], str(len(host["patched"])),
                     str(len(host["cves_closed"])), note))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    summary = report["summary"]
    lines.append("")
    lines.append("run %s: %d host(s), %s; %d package(s) patched, %d CVE(s) closed" % (
        report["run_id"], summary["hosts"],
        ", ".join("%s %d" % (k, v) for k, v in sorted(summary["by_status"].items())) or "no hosts",
        summary["packages_patched"], summary["cves_closed"]))
    for cr in report.get("change_requests") or []:
        close = ", " + cr["close_code"] if cr.get("close_code") else ""
        lines.append("change request %s (%s): %s%s" % (cr["number"], cr.get("patch_group") or "-", cr.get("state"), close))
    return "\n".join(lines)
