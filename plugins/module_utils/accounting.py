# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every figure of a run, computed once (pure Python, no Ansible import).

report.json, the console table, the change requests' close notes, the notifications, the
compliance export and the dashboard all read these figures; none counts on its own.

Per host (host_figures):
  cves_open_before   CVEs of the patches pending at the scan
  cves_still_open    CVEs the rescan still finds pending (all of cves_open_before when the host
                     was not rescanned, or was rolled back)
  cves_closed        cves_open_before minus cves_still_open
  packages_patched   package changes the host kept (none after a rollback)
  compliance_after   the host's patch compliance after the night, in SSM's terms
  window             the maintenance window that applied to the host's patching

Per patch group and per run (aggregate), each name says what it counts:
  cves_closed_distinct    distinct CVEs closed on some host and still open on no targeted host
  host_cves_closed        host-CVE pairs closed (one CVE closed on 3 hosts counts 3)
  host_packages_patched   host-package pairs patched (one package on 3 hosts counts 3)
  cves_still_open_distinct  distinct CVEs still open on at least one targeted host
  by_status               hosts per outcome word; columns folds them into patched / failed /
                          deferred / skipped for the console
"""

from __future__ import annotations

from .lifecycle import SUCCEEDED

# How each outcome word counts in the console's compact columns: what an operator asks first is
# "did it patch, did it break, did it wait, was there nothing to do".
COLUMNS = ("patched", "failed", "deferred", "skipped")
_COLUMN_OF = {
    "patched": "patched",
    "failed": "failed", "unreachable": "failed", "rolled_back": "failed", "rollback_failed": "failed",
    "incomplete": "failed", "needs_attention": "failed",
    "deferred": "deferred", "not_started": "deferred",
    "compliant": "skipped", "non_compliant": "skipped", "skipped": "skipped", "not_patched": "skipped",
}
SEVERITIES = ("critical", "important", "moderate", "low", "unspecified")
_UNDONE = ("rolled_back", "rollback_failed")
_FAILED = ("failed", "unreachable", "rolled_back", "rollback_failed", "incomplete", "needs_attention")
TOP_CVES = 10
UNGROUPED = "ungrouped"


def column_of(status):
    """The console column a host's outcome word counts in; an unknown word counts as failed."""
    return _COLUMN_OF.get(status, "failed")


def _data(phases, phase):
    entry = phases.get(phase) or {}
    return entry.get("data") or {}


def _patch_cves(patches):
    return set(c for p in patches or [] if isinstance(p, dict) for c in p.get("cves") or [])


def host_figures(host, status, run_meta=None):
    """The figures of one host (a ledger.hosts() entry) given its outcome word."""
    phases = host.get("phases") or {}
    scan = _data(phases, "scan")
    before = set(scan.get("cves") or []) | _patch_cves(scan.get("patches"))
    kept = [] if status in _UNDONE else list(host.get("changes") or [])
    rescan = phases.get("rescan") or {}
    rescan_data = rescan.get("data") or {}
    if status not in _UNDONE and rescan.get("status") in ("ok", "changed", "failed") and "cves" in rescan_data:
        still_open = set(rescan_data.get("cves") or [])
    else:
        still_open = set(before)
    closed = before - still_open
    return {
        "cves_open_before": sorted(before),
        "cves_closed": sorted(closed),
        "cves_still_open": sorted(still_open),
        "packages_patched": [{"name": c["name"], "from": c.get("from"), "to": c.get("to")} for c in kept],
        "compliance_after": compliance_after(phases, status, kept),
        "window": window_applied(host, run_meta),
    }


def window_applied(host, run_meta=None):
    """The window that governed the host's patching: the host's own (recorded with it), else the run's."""
    attrs = host.get("attrs") or {}
    window = {}
    run_window = (run_meta or {}).get("window") or {}
    for key in ("name", "start", "end", "expression", "timezone"):
        if run_window.get(key) is not None:
            window[key] = run_window[key]
    own = attrs.get("window_applied")
    if isinstance(own, dict):
        window.update((k, v) for k, v in own.items() if v is not None)
    if attrs.get("window") and "name" not in window:
        window["name"] = attrs["window"]
    return window or None


def compliance_after(phases, status, kept):
    """Compliance in SSM's terms after the night, from the approval's state and what stayed installed.

    An approved patch the host kept is installed (installed_pending_reboot while a reboot is
    pending); one still pending after a patch attempt on a host that failed or was rolled back is
    failed; one never attempted (deferred, not started, scan only) stays missing. Rejected and
    not-approved patches keep the approval's counts. None when the host was never approved.
    """
    before = _data(phases, "approve").get("compliance")
    if not isinstance(before, dict):
        return None
    lists = before.get("patches") or {}
    counts_before = before.get("counts") or {}
    kept_names = set(c["name"] for c in kept)
    approved_pending = set(lists.get("missing") or []) | set(lists.get("failed") or [])
    reboot_pending = bool(_data(phases, "reboot").get("pending")) and status not in _UNDONE
    installed_now = sorted(approved_pending & kept_names)
    still = approved_pending - kept_names
    rescan = _data(phases, "rescan")
    still |= set(rescan.get("still_pending") or []) & approved_pending
    attempted = "patch" in phases and (phases["patch"] or {}).get("status") != "skipped"
    failed = sorted(still) if attempted and status in _FAILED else []
    missing = [] if failed else sorted(still)
    installed = sorted(set(lists.get("installed") or []) | (set() if reboot_pending else set(installed_now)))
    pending_reboot = sorted(set(lists.get("installed_pending_reboot") or []) | (set(installed_now) if reboot_pending else set()))
    counts = {
        "installed": len(installed),
        "installed_other": counts_before.get("installed_other", 0),
        "installed_pending_reboot": len(pending_reboot),
        "installed_rejected": counts_before.get("installed_rejected", 0),
        "missing": len(missing),
        "failed": len(failed),
        "not_applicable": counts_before.get("not_applicable", 0),
    }
    compliant = not (counts["missing"] or counts["failed"] or counts["installed_rejected"] or counts["installed_pending_reboot"])
    severity = _severities(phases, set(missing) | set(failed))
    return {
        "compliant": compliant,
        "status": "COMPLIANT" if compliant else "NON_COMPLIANT",
        "counts": counts,
        "missing_by_severity": severity,
        "highest_severity_missing": next((s for s in SEVERITIES if severity.get(s)), None),
        "patches": dict((k, v) for k, v in (("installed", installed), ("installed_pending_reboot", pending_reboot),
                                            ("missing", missing), ("failed", failed)) if v),
    }


def _severities(phases, names):
    """{severity: count} of the named pending patches, by the scan's records."""
    out = {}
    if not names:
        return out
    records = dict((p.get("name"), p) for p in _data(phases, "scan").get("patches") or [] if isinstance(p, dict))
    for name in names:
        severity = (records.get(name) or {}).get("severity") or "unspecified"
        if severity not in SEVERITIES:
            severity = "unspecified"
        out[severity] = out.get(severity, 0) + 1
    return dict((s, out[s]) for s in SEVERITIES if s in out)


def aggregate(entries):
    """The figures of a set of report host entries (a patch group, or the whole run).

    An entry needs status; cves_closed, cves_still_open, patched and compliance_after count when present.
    """
    by_status, columns = {}, dict((c, 0) for c in COLUMNS)
    closed_somewhere, still_open = set(), {}
    host_cves_closed = host_packages = compliant = assessed = 0
    missing_by_severity = {}
    for entry in entries:
        status = entry.get("status") or "incomplete"
        by_status[status] = by_status.get(status, 0) + 1
        columns[column_of(status)] += 1
        closed_somewhere.update(entry.get("cves_closed") or [])
        host_cves_closed += len(entry.get("cves_closed") or [])
        host_packages += len(entry.get("patched") or [])
        for cve in entry.get("cves_still_open") or []:
            still_open[cve] = still_open.get(cve, 0) + 1
        after = entry.get("compliance_after")
        if after:
            assessed += 1
            compliant += 1 if after["compliant"] else 0
            for severity, count in after["missing_by_severity"].items():
                missing_by_severity[severity] = missing_by_severity.get(severity, 0) + count
    closed = sorted(closed_somewhere - set(still_open))
    top = sorted(still_open.items(), key=lambda item: (-item[1], item[0]))[:TOP_CVES]
    return {
        "hosts": sum(by_status.values()),
        "by_status": dict(sorted(by_status.items())),
        "columns": columns,
        "cves_closed": closed,
        "cves_closed_distinct": len(closed),
        "host_cves_closed": host_cves_closed,
        "host_packages_patched": host_packages,
        "cves_still_open": sorted(still_open),
        "cves_still_open_distinct": len(still_open),
        "top_cves_still_open": [{"cve": cve, "hosts": count} for cve, count in top],
        "hosts_assessed": assessed,
        "hosts_compliant": compliant,
        "compliance_pct": round(100.0 * compliant / assessed, 1) if assessed else None,
        "missing_by_severity": dict((s, missing_by_severity[s]) for s in SEVERITIES if s in missing_by_severity),
    }


def by_key(entries, key):
    """{value of key: aggregate} over host entries, hosts without the key under 'ungrouped'."""
    groups = {}
    for entry in entries:
        groups.setdefault(entry.get(key) or UNGROUPED, []).append(entry)
    return dict((name, aggregate(groups[name])) for name in sorted(groups))


def patch_groups(report):
    """{patch group: aggregate + its change request number and state} of a report."""
    out = by_key(report["hosts"], "patch_group")
    for cr in report.get("change_requests") or []:
        group = out.get(cr.get("patch_group") or UNGROUPED)
        if group is not None:
            group["change_request"] = {"number": cr.get("number"), "state": cr.get("state"),
                                       "close_code": cr.get("close_code")}
    return out


def _ids(values, limit=10):
    values = list(values)
    if not values:
        return "-"
    more = " (+%d more)" % (len(values) - limit) if len(values) > limit else ""
    return ", ".join(values[:limit]) + more


def close_notes(report, patch_group, close_code, correlation=None, details=None):
    """The close notes of a patch group's change: what happened, in the report's own figures.

    The counts per outcome, the group's CVE figures (distinct closed, host-CVE pairs, still open),
    one line per host (outcome, packages, CVEs closed and still open, the reason when it failed)
    and the rollbacks with their reasons.
    """
    hosts = [h for h in report["hosts"] if (h.get("patch_group") or UNGROUPED) == patch_group]
    details = details or {}
    figures = aggregate(hosts)
    lines = ["Close code: %s. %d host(s): %s." % (
        close_code, figures["hosts"], ", ".join("%s %d" % kv for kv in figures["by_status"].items()) or "none")]
    lines.append("CVEs closed, counted once and only where no host of the group still has them (%d): %s" % (
        figures["cves_closed_distinct"], _ids(figures["cves_closed"], 50)))
    lines.append("CVEs still open on a host of the group (%d): %s" % (
        figures["cves_still_open_distinct"], _ids(figures["cves_still_open"], 50)))
    lines.append("Host-CVE pairs closed: %d. Host-package pairs patched: %d." % (
        figures["host_cves_closed"], figures["host_packages_patched"]))
    lines.append("Hosts:")
    for host in hosts:
        parts = [host["status"], "%d package(s) patched" % len(host["patched"])]
        if host["cves_closed"]:
            parts.append("closed %s" % _ids(host["cves_closed"]))
        if host["cves_still_open"]:
            parts.append("still open %s" % _ids(host["cves_still_open"]))
        reason = host.get("rollback_reason") or host.get("reason")
        if reason and host["status"] not in SUCCEEDED:
            parts.append("reason: %s" % reason)
        if details.get(host["name"]) and host.get("findings"):
            parts.append(details[host["name"]])
        lines.append("- %s: %s" % (host["name"], "; ".join(parts)))
    rollbacks = [h for h in hosts if h.get("rollback_reason")]
    if rollbacks:
        lines.append("Rollbacks (%d):" % len(rollbacks))
        lines.extend("- %s: %s (%s)" % (h["name"], h["status"], h["rollback_reason"]) for h in rollbacks)
    if correlation:
        lines.append("Correlation id: %s" % correlation)
    return "\n".join(lines)
