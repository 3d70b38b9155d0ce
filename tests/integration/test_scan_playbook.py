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
    assert hosts["web-dev-1"]["compliance_before"]["counts"]["missing"] == 6
    # db-prod's baseline rejects the kernel: one patch fewer is missing, and it is not counted against it
    assert hosts["db-prod-1"]["compliance_before"]["counts"]["missing"] == 5
    assert hosts["db-prod-1"]["compliance_before"]["compliant"] is False
    assert "CVE-2026-50001" in hosts["web-dev-1"]["compliance_before"]["cves_open"]
    phases = scan.rows("SELECT DISTINCT phase FROM host_phases WHERE run_id=? ORDER BY phase", scan.run_id)
    assert phases == [("approve",), ("preflight",), ("scan",)]


@pytest.mark.parametrize("product,missing", [("Debian11", 0), ("Debian12", 6)])
def test_rules_approve_by_product(fleet, tmp_path, product, missing):
    """The host reports its product (Debian12): a rule for Debian11 approves none of its patches, one for Debian12 all."""
    import json as _json
    localfleet("reset", "fp1")
    baseline = _json.dumps({"fleetpatch_baseline": {"name": "by-product", "operating_system": "DEBIAN",
                                                    "approval_rules": [{"classifications": ["security", "bugfix"],
                                                                        "products": [product]}]}})
    scan = run_playbook(str(tmp_path), "-e", "fleetpatch_targets=web-dev-1", "-e", baseline, playbook="playbooks/scan.yml")
    assert scan.rc == 0, scan.stdout[-3000:]
    (host,) = scan.report_at("scan-report.json")["hosts"]
    assert host["compliance_before"]["counts"]["missing"] == missing
    assert host["status"] == ("compliant" if missing == 0 else "non_compliant")
