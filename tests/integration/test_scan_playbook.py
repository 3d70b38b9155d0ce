"""fleetpatch.hybrid.scan: the fleet is scanned, nothing changes, compliance lands in the ledger and report."""

import pytest
from fleetlib import installed, localfleet, run_playbook

pytestmark = pytest.mark.integration


def test_scan_changes_nothing_and_reports_compliance(fleet, tmp_path):
    localfleet("reset", "fp1")
    localfleet("reset", "fp3")
    before = {"fp1": installed("fp1"), "fp3": installed("fp3")}
    scan = run_playbook(str(tmp_path), "-e", "fleetpatch_targets=web-dev-1:db-prod-1", playbook="playbooks/scan.yml")
    assert scan.rc == 0, scan.stdout[-3000:]
    assert {"fp1": installed("fp1"), "fp3": installed("fp3")} == before
    hosts = dict((h["name"], h) for h in scan.report_at("scan-report.json")["hosts"])
    assert hosts["web-dev-1"]["status"] == "non_compliant"
    assert hosts["web-dev-1"]["compliance"]["counts"]["missing"] == 6
    # db-prod's baseline rejects the kernel: one patch fewer is missing, and it is not counted against it
    assert hosts["db-prod-1"]["compliance"]["counts"]["missing"] == 5
    assert hosts["db-prod-1"]["compliance"]["compliant"] is False
    assert "CVE-2026-50001" in hosts["web-dev-1"]["compliance"]["cves_open"]
    phases = scan.rows("SELECT DISTINCT phase FROM host_phases WHERE run_id=? ORDER BY phase", scan.run_id)
    assert phases == [("approve",), ("preflight",), ("scan",)]
