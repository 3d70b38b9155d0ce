"""Compliance per host in SSM's terms, table-driven."""

from datetime import date

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import baseline as bl
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.compliance import STATES, host_compliance

TODAY = date(2026, 11, 27)
BASELINE = {
    "approval_rules": [
        {"classifications": ["security"], "severities": ["critical"], "compliance_level": "critical"},
        {"classifications": ["security"], "compliance_level": "high"},
        {"classifications": ["bugfix"], "compliance_level": "low"},
    ],
    "approved_patches": ["tzdata", "fp-agent"],
    "rejected_patches": ["telnet*"],
}


def rec(name, classification="security", severity="important", cves=()):
    return {"name": name, "classification": classification, "severity": severity, "release_date": "2026-11-01",
            "candidate_version": "2", "installed_version": "1", "cves": list(cves), "manager": "apt"}


PENDING = [rec("openssl", severity="critical", cves=["CVE-2026-1"]), rec("curl", cves=["CVE-2026-2", "CVE-2026-3"]),
           rec("vim", classification="enhancement", severity="low", cves=["CVE-2026-4"]), rec("telnetd", cves=["CVE-2026-5"])]


def compliance(pending=None, approved=None, baseline=None, **kwargs):
    kwargs.setdefault("today", TODAY)
    return host_compliance(PENDING if pending is None else pending, approved, baseline or BASELINE, **kwargs)


@pytest.mark.parametrize("kwargs,counts,compliant", [
    # a scan: two approved patches missing (vim is not approved, telnetd rejected)
    ({}, {"missing": 2}, False),
    # nothing pending
    ({"pending": []}, {}, True),
    # only unapproved patches pending: compliant (they do not count), CVEs still open
    ({"pending": [rec("vim", classification="enhancement")]}, {}, True),
    # after a patch: both installed, nothing missing
    ({"pending": [], "approved": ["openssl", "curl"], "installed": [{"name": "openssl", "to": "2"}, {"name": "curl", "to": "2"}]},
     {"installed": 2}, True),
    # installed but the host did not reboot yet
    ({"pending": [], "approved": ["openssl"], "installed": [{"name": "openssl", "to": "2"}], "pending_reboot": True},
     {"installed_pending_reboot": 1}, False),
    # an install failed: failed, not missing
    ({"failed": ["curl"]}, {"missing": 1, "failed": 1}, False),
    # a failure of a patch that is no longer in the scan still counts
    ({"pending": [], "approved": [], "failed": ["gone"]}, {"failed": 1}, False),
    # something not approved got installed (e.g. pulled in): installed_other
    ({"pending": [], "approved": [], "installed": [{"name": "libnew", "to": "1"}]}, {"installed_other": 1}, True),
    # a rejected package installed with block: non-compliant
    ({"pending": [], "approved": [], "installed": [{"name": "telnet", "to": "1"}]}, {"installed_rejected": 1}, False),
    # with allow_as_dependency it is installed_other
    ({"pending": [], "approved": [], "installed": [{"name": "telnet", "to": "1"}],
      "baseline": dict(BASELINE, rejected_patches_action="allow_as_dependency")}, {"installed_other": 1}, True),
    # approved_patches names not installed at all: not applicable (needs the inventory)
    ({"pending": [], "approved": [], "inventory": ["tzdata", "bash"]}, {"not_applicable": 1}, True),
])
def test_states(kwargs, counts, compliant):
    result = compliance(**kwargs)
    assert result["counts"] == dict((state, counts.get(state, 0)) for state in STATES)
    assert result["compliant"] is compliant
    assert result["status"] == ("COMPLIANT" if compliant else "NON_COMPLIANT")


def test_scan_details():
    result = compliance()
    assert result["patches"] == {"missing": ["curl", "openssl"]}
    assert result["highest_severity_missing"] == "critical"
    assert result["compliance_level"] == "critical"           # openssl's rule
    assert result["critical_non_compliant"] == 1 and result["security_non_compliant"] == 1
    assert result["cves_open"] == ["CVE-2026-1", "CVE-2026-2", "CVE-2026-3", "CVE-2026-4", "CVE-2026-5"]
    assert result["cves_missing"] == ["CVE-2026-1", "CVE-2026-2", "CVE-2026-3"]
    assert result["not_approved"] == 2


def test_highest_severity_counts_only_missing_and_failed():
    result = compliance(pending=[rec("curl", severity="low")], approved=["curl", "openssl"],
                        installed=[{"name": "openssl", "to": "2", "severity": "critical"}], pending_reboot=True)
    assert result["highest_severity_missing"] == "low"
    assert result["counts"]["installed_pending_reboot"] == 1


def test_given_approved_set_is_used_as_is():
    # the caller's approval (e.g. with dependencies) wins over re-approving here
    result = compliance(approved=[{"name": "vim"}])
    assert result["patches"] == {"missing": ["vim"]}
    assert result["compliance_level"] == "unspecified"


def test_approving_needs_a_date():
    with pytest.raises(ValueError, match="date"):
        host_compliance(PENDING, None, BASELINE, today=None)


def test_bad_baseline_is_a_baseline_error():
    with pytest.raises(bl.BaselineError):
        compliance(baseline={"approval_rules": [{"severities": ["urgent"]}]})
