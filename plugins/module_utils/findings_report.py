# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The findings part of the report and of the change's close notes, from the ledger (pure Python).

Per host: the findings the scan phase planned (by plan), and after the night the findings
closed and still open with why; a findings phase that failed says so. The run's summary counts
them once, here.
"""

from __future__ import annotations

# the ledger's host name for the findings no inventory host matched (roles/scan/tasks/findings.yml)
UNMATCHED = "_unmatched"
# host outcomes after which no rescan judged the findings (lifecycle.py's names)
UNVERIFIED = ("failed", "unreachable", "rolled_back", "rollback_failed", "needs_attention")


def _brief(finding):
    out = dict((k, finding.get(k)) for k in ("cve", "package", "severity", "installed_version", "fixed_version", "source"))
    out["reason"] = finding.get("reason")
    return out


def host_findings(stages, status=None):
    """The report entry of one host from Ledger.findings()[host]; `status` the host's outcome in the report."""
    scan = stages.get("scan") or {}
    after = stages.get("after")
    entry = {"status": scan.get("status"), "planned": {}}
    if scan.get("message"):
        entry["message"] = scan["message"]
    for finding in scan.get("findings") or []:
        entry["planned"][finding["state"]] = entry["planned"].get(finding["state"], 0) + 1
    entry["not_approved"] = [_brief(f) for f in scan.get("findings") or [] if f["state"] == "patch_not_approved"]
    entry["no_fix"] = [_brief(f) for f in scan.get("findings") or [] if f["state"] in ("no_fix", "fix_not_pending")]
    if scan.get("data", {}).get("patches_without_finding") is not None:
        entry["patches_without_finding"] = scan["data"]["patches_without_finding"]
    if after is not None:
        entry["closed"] = [_brief(f) for f in after.get("findings") or [] if f["state"] == "closed"]
        entry["open"] = [_brief(f) for f in after.get("findings") or [] if f["state"] == "open"]
    elif scan.get("findings") and status in UNVERIFIED:
        # the host never reached its rescan (failed, rolled back, lost): nothing proves a finding closed
        entry["closed"] = []
        entry["open"] = [dict(_brief(f), reason="not verified after the night: the host is %s" % status)
                         for f in scan["findings"]]
    check = stages.get("source_check")
    if check is not None:
        entry["source_check"] = {"status": check["status"], "message": check.get("message"),
                                 "disagreements": check.get("data", {}).get("disagreements", [])}
    return entry


def add_to_report(report, ledger_findings):
    """Put each host's findings into report['hosts'][i]['findings'] and the counts into the summary."""
    if not ledger_findings:
        return report
    ledger_findings = dict(ledger_findings)
    unmatched = ledger_findings.pop(UNMATCHED, None)
    if unmatched:
        report["findings_unmatched"] = (unmatched.get("scan") or {}).get("data", {}).get("unmatched_hosts", [])
    closed = opened = failed = 0
    for host in report["hosts"]:
        stages = ledger_findings.get(host["name"])
        if not stages:
            continue
        entry = host_findings(stages, host.get("status"))
        host["findings"] = entry
        closed += len(entry.get("closed") or [])
        opened += len(entry.get("open") or [])
        failed += 1 if entry["status"] == "failed" else 0
    report["summary"]["findings"] = {"closed": closed, "open": opened, "hosts_failed": failed}
    return report


def outcome_details(report_hosts):
    """{host: text} for a change's close notes: the host's reason, then its findings closed and still open."""
    out = {}
    for host in report_hosts:
        parts = [host["reason"]] if host.get("reason") else []
        findings = host.get("findings")
        if findings:
            if findings.get("status") == "failed":
                parts.append("findings not read: %s" % (findings.get("message") or "failed"))
            if "closed" in findings:
                parts.append("findings closed: %s" % (", ".join(_label(f) for f in findings["closed"]) or "none"))
                parts.append("findings still open: %s" % (
                    ", ".join("%s (%s)" % (_label(f), f.get("reason")) for f in findings["open"]) or "none"))
        if parts:
            out[host["name"]] = "; ".join(parts)
    return out


def _label(finding):
    return "%s %s" % (finding["cve"], finding["package"]) if finding.get("package") else finding["cve"]
