"""The compliance_summary and approved_patches filters: thin wrappers, errors become AnsibleFilterError."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.hybrid.plugins.filter.approved_patches import FilterModule as ApprovedFilters
from ansible_collections.fleetpatch.hybrid.plugins.filter.compliance_summary import FilterModule as ComplianceFilters

compliance_summary = ComplianceFilters().filters()["compliance_summary"]
approved_patches = ApprovedFilters().filters()["approved_patches"]

BASELINE = {"approval_rules": [{"classifications": ["security"], "products": ["Debian12"]}]}
PATCHES = [{"name": "openssl", "classification": "security", "severity": "important", "release_date": "2026-11-01",
            "candidate_version": "2", "cves": ["CVE-2026-1"], "manager": "apt"},
           {"name": "libssl3", "classification": "other", "severity": "unspecified", "release_date": None,
            "candidate_version": "2", "cves": [], "manager": "apt"}]


def test_compliance_summary_takes_records_or_the_scan_result():
    by_list = compliance_summary(PATCHES, BASELINE, today="2026-11-27", product="Debian12")
    by_result = compliance_summary({"patches": PATCHES, "summary": {}}, BASELINE, today="2026-11-27", product="Debian12")
    assert by_list == by_result
    assert by_list["counts"]["missing"] == 1 and by_list["compliant"] is False


def test_compliance_summary_without_product_approves_nothing_here():
    assert compliance_summary(PATCHES, BASELINE, today="2026-11-27")["counts"]["missing"] == 0


@pytest.mark.parametrize("value,message", [
    ({"summary": {}}, "registered result"),
    (["openssl"], "list of patch records"),
])
def test_compliance_summary_bad_input(value, message):
    with pytest.raises(AnsibleFilterError, match=message):
        compliance_summary(value, BASELINE)


def test_compliance_summary_bad_baseline():
    with pytest.raises(AnsibleFilterError, match=r"compliance_summary: baseline approval_rules\[0\].severities"):
        compliance_summary(PATCHES, {"approval_rules": [{"severities": ["urgent"]}]})


def test_approved_patches_filter_product_and_dependencies():
    assert approved_patches(PATCHES, BASELINE, "2026-11-27") == []
    approved = approved_patches(PATCHES, BASELINE, "2026-11-27", product="Debian12", dependencies={"openssl": ["libssl3"]})
    assert [(p["name"], p["approval_reason"]) for p in approved] == [
        ("openssl", "rule 0: security/important"), ("libssl3", "dependency of openssl")]


def test_approved_patches_filter_bad_baseline():
    with pytest.raises(AnsibleFilterError, match="approved_patches: baseline operating_system: 'BEOS'"):
        approved_patches(PATCHES, {"operating_system": "BEOS"})
