"""One accounting: every figure of a run from the ledger rows, each named for what it counts."""

import json

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import accounting
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ledger import Ledger
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.report import build_report, render_table

SSL = {"name": "openssl", "candidate_version": "2", "installed_version": "1", "severity": "critical",
       "classification": "security", "cves": ["CVE-1", "CVE-2"], "advisories": ["DSA-1-1"]}
KERNEL = {"name": "linux-image", "candidate_version": "9", "installed_version": "8", "severity": "important",
          "classification": "security", "cves": ["CVE-3"], "advisories": ["DSA-3-1"]}
ZLIB = {"name": "zlib1g", "candidate_version": "5", "installed_version": "4", "severity": "moderate",
        "classification": "security", "cves": ["CVE-2"], "advisories": []}


def change(patch):
    return {"name": patch["name"], "arch": "amd64", "from": patch["installed_version"], "to": patch["candidate_version"],
            "classification": "security", "cves": patch["cves"], "advisories": patch["advisories"]}


def night(ledger, host, group, pending, approved, installed, still_open, rejected=(), reboot_pending=False, status=None, run_id="r1"):
    """One host's rows as the roles write them."""
    ledger.record_host(run_id, host, group, {"environment": "prod", "owner": "o@example.com", "window": "sun-02"})
    ledger.record_phase(run_id, host, "preflight", "ok")
    cves = sorted(set(c for p in pending for c in p["cves"]))
    ledger.record_phase(run_id, host, "scan", "ok", data={"pending": len(pending), "patches": pending, "cves": cves})
    missing = [p["name"] for p in pending if p["name"] in approved]
    ledger.record_phase(run_id, host, "approve", "ok", data={"approved": list(approved), "compliance": {
        "compliant": not missing, "status": "COMPLIANT" if not missing else "NON_COMPLIANT",
        "counts": {"installed": 0, "installed_other": 0, "installed_pending_reboot": 0, "installed_rejected": 0,
                   "missing": len(missing), "failed": 0, "not_applicable": 0},
        "patches": {"missing": missing} if missing else {}}})
    if not approved:
        ledger.record_phase(run_id, host, "patch", "skipped")
        ledger.record_phase(run_id, host, "rescan", "skipped")
        return
    ledger.record_phase(run_id, host, "patch", "changed")
    ledger.record_phase(run_id, host, "reboot", "skipped", data={"pending": reboot_pending})
    if status == "rolled_back":
        ledger.record_phase(run_id, host, "validate", "failed", message="http://localhost/health answered 500")
        ledger.record_phase(run_id, host, "rollback", "changed", message="packages downgraded to the snapshot's versions")
    ledger.record_changes(run_id, host, [change(p) for p in pending if p["name"] in installed])
    ledger.record_phase(run_id, host, "rescan", "ok" if status is None else "failed",
                        data={"cves": sorted(still_open), "still_pending": [n for n in approved if n not in installed]})


@pytest.fixture
def report(tmp_path):
    with Ledger(str(tmp_path / "ledger.db")) as ledger:
        ledger.start_run("r1", playbook="fleetpatch.hybrid.patch_night",
                         meta={"window": {"start": "2026-12-06T02:00:00+00:00", "end": "2026-12-06T06:00:00+00:00"}})
        # web-1 closes CVE-1, CVE-2 (openssl) and CVE-3 (kernel)
        night(ledger, "web-1", "web", [SSL, KERNEL], ["openssl", "linux-image"], ["openssl", "linux-image"], [])
        # web-2's baseline rejects the kernel: CVE-3 stays open there; zlib is not approved: CVE-2 stays open too
        night(ledger, "web-2", "web", [SSL, KERNEL, ZLIB], ["openssl"], ["openssl"], ["CVE-2", "CVE-3"],
              reboot_pending=True)
        # db-1 was rolled back: openssl went back, CVE-1 and CVE-2 stay open
        night(ledger, "db-1", "db", [SSL], ["openssl"], ["openssl"], [], status="rolled_back")
        # db-2 had nothing pending
        night(ledger, "db-2", "db", [], [], [], [])
        ledger.finish_run("r1", "finished")
        yield build_report(ledger.run("r1"), ledger.hosts("r1"),
                           [{"number": "CHG1", "patch_group": "web", "state": "closed", "close_code": "successful"}])


def test_per_host_figures_come_from_the_rescan(report):
    hosts = dict((h["name"], h) for h in report["hosts"])
    assert hosts["web-1"]["cves_closed"] == ["CVE-1", "CVE-2", "CVE-3"] and hosts["web-1"]["cves_still_open"] == []
    # the rescan still reports CVE-2 (zlib not approved) and CVE-3 (kernel rejected): not closed on web-2
    assert hosts["web-2"]["cves_open_before"] == ["CVE-1", "CVE-2", "CVE-3"]
    assert hosts["web-2"]["cves_closed"] == ["CVE-1"]
    assert hosts["web-2"]["cves_still_open"] == ["CVE-2", "CVE-3"]
    # a rollback undoes what was installed: nothing closed, nothing counted as patched
    assert hosts["db-1"]["status"] == "rolled_back"
    assert hosts["db-1"]["cves_closed"] == [] and hosts["db-1"]["patched"] == []
    assert hosts["db-1"]["cves_still_open"] == ["CVE-1", "CVE-2"]
    assert "validate: http://localhost/health answered 500" in hosts["db-1"]["rollback_reason"]


def test_compliance_after_the_night_not_at_approval(report):
    hosts = dict((h["name"], h) for h in report["hosts"])
    assert hosts["web-1"]["compliance_before"]["status"] == "NON_COMPLIANT"
    assert hosts["web-1"]["compliance_after"]["status"] == "COMPLIANT"
    assert hosts["web-1"]["compliance_after"]["counts"]["installed"] == 2
    # installed but waiting for a reboot is not compliant (as in SSM)
    assert hosts["web-2"]["compliance_after"]["status"] == "NON_COMPLIANT"
    assert hosts["web-2"]["compliance_after"]["counts"]["installed_pending_reboot"] == 1
    # a rolled-back host's approved patch failed to install
    after = hosts["db-1"]["compliance_after"]
    assert after["counts"]["failed"] == 1 and after["missing_by_severity"] == {"critical": 1}
    assert hosts["db-2"]["compliance_after"]["compliant"] is True


def test_group_and_run_figures_name_what_they_count(report):
    web = report["patch_groups"]["web"]
    # CVE-2 and CVE-3 were closed on web-1 but web-2 still has them: only CVE-1 counts as closed
    assert web["cves_closed"] == ["CVE-1"] and web["cves_closed_distinct"] == 1
    assert web["host_cves_closed"] == 4  # web-1: 3, web-2: 1
    assert web["host_packages_patched"] == 3
    assert web["cves_still_open"] == ["CVE-2", "CVE-3"]
    assert web["change_request"]["number"] == "CHG1"
    run = report["summary"]
    # run-wide: db-1 still has CVE-1, so no CVE is closed for the run as a whole
    assert run["cves_closed_distinct"] == 0 and run["host_cves_closed"] == 4
    assert run["by_status"] == {"compliant": 1, "patched": 2, "rolled_back": 1}
    assert run["columns"] == {"patched": 2, "failed": 1, "deferred": 0, "skipped": 1}
    assert run["top_cves_still_open"][0] == {"cve": "CVE-2", "hosts": 2}
    assert run["hosts_compliant"] == 2 and run["compliance_pct"] == 50.0
    json.dumps(report)


def test_window_applied_per_host(report):
    host = report["hosts"][0]
    assert host["window_applied"] == {"name": "sun-02", "start": "2026-12-06T02:00:00+00:00",
                                      "end": "2026-12-06T06:00:00+00:00"}


def test_console_table_one_row_per_patch_group_with_the_same_figures(report):
    table = render_table(report)
    rows = dict((line.split()[0], line.split()) for line in table.splitlines() if line.startswith(("web ", "db ", "(run)")))
    #            HOSTS PATCHED FAILED DEFERRED SKIPPED CVES-CLOSED STILL-OPEN CR
    assert rows["web"][1:10] == ["2", "2", "0", "0", "0", "1", "2", "CHG1", "successful"]
    assert rows["db"][1:9] == ["2", "0", "1", "0", "1", "0", "2", "-"]
    assert rows["(run)"][1:8] == ["4", "2", "1", "0", "1", "0", "3"]
    assert "db-1  db           rolled_back" in table
    assert "0 distinct CVE(s) closed" in table and "4 host-CVE pair(s) closed" in table


@pytest.mark.parametrize("status,column", [("patched", "patched"), ("not_started", "deferred"), ("deferred", "deferred"),
                                           ("compliant", "skipped"), ("rollback_failed", "failed"), ("weird", "failed")])
def test_status_columns(status, column):
    assert accounting.column_of(status) == column


def test_close_notes_state_what_happened(report):
    from ansible_collections.fleetpatch.hybrid.plugins.filter.cr_close_notes import _cr_close_notes
    notes = _cr_close_notes(report, "db", correlation="fleetpatch:r1:db")
    lines = notes.splitlines()
    assert lines[0] == "Close code: successful_issues. 2 host(s): compliant 1, rolled_back 1."
    assert lines[1].endswith("(0): -")
    assert lines[2] == "CVEs still open on a host of the group (2): CVE-1, CVE-2"
    assert "- db-1: rolled_back; 0 package(s) patched; still open CVE-1, CVE-2; reason: validate: " in notes
    assert "Rollbacks (1):" in lines and lines[-1] == "Correlation id: fleetpatch:r1:db"
    web = _cr_close_notes(report, "web").splitlines()
    assert web[1].endswith("(1): CVE-1") and web[3] == "Host-CVE pairs closed: 4. Host-package pairs patched: 3."
