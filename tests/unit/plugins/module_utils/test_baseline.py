from datetime import date

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import baseline as bl

TODAY = date(2026, 11, 27)


def patch(name="openssl", classification="security", severity="unspecified", released="2026-11-20", version="2"):
    return {"name": name, "classification": classification, "severity": severity,
            "release_date": released + "T09:00:00+00:00" if released else None, "candidate_version": version}


def decide(p, baseline):
    return bl.approve(p, bl.validate(baseline), TODAY)


@pytest.mark.parametrize("days,released,approved", [
    (7, "2026-11-20", True),   # exactly 7 days: approved
    (7, "2026-11-21", False),  # 6 days
    (0, "2026-11-27", True),
    (0, None, True),           # no delay needs no date
    (7, None, False),          # a delay without a release date cannot be judged
    (360, "2025-12-02", True),
])
def test_approve_after_days_boundaries(days, released, approved):
    ok, reason = decide(patch(released=released), {"approval_rules": [{"classifications": ["security"], "approve_after_days": days}]})
    assert ok is approved, reason


def test_until_date():
    rule = {"approval_rules": [{"classifications": ["security"], "approve_until_date": "2026-11-20"}]}
    assert decide(patch(released="2026-11-20"), rule)[0] is True
    assert decide(patch(released="2026-11-21"), rule)[0] is False


def test_rejected_wins_and_names_the_entry():
    base = {"approval_rules": [{"classifications": ["*"], "enable_non_security": True}], "rejected_patches": ["openssl*"]}
    ok, reason = decide(patch(), base)
    assert not ok and "openssl*" in reason and "block" in reason


def test_approved_list_with_exact_version():
    base = {"approval_rules": [], "approved_patches": ["openssl=2"]}
    assert decide(patch(version="2"), base)[0] is True
    assert decide(patch(version="3"), base)[0] is False


def test_severity_and_classification_filters():
    base = {"approval_rules": [{"classifications": ["security"], "severities": ["critical", "important"]}]}
    assert decide(patch(severity="critical"), base)[0] is True
    assert decide(patch(severity="low"), base)[0] is False
    assert decide(patch(classification="bugfix", severity="critical"), base)[0] is False


def test_wildcard_classification_needs_enable_non_security():
    assert decide(patch(classification="bugfix"), {"approval_rules": [{"classifications": ["*"]}]})[0] is False
    assert decide(patch(classification="bugfix"),
                  {"approval_rules": [{"classifications": ["*"], "enable_non_security": True}]})[0] is True


@pytest.mark.parametrize("baseline,message", [
    ({"approval_rules": [{"classifications": ["hotfix"]}]}, r"approval_rules\[0\].classifications: 'hotfix'"),
    ({"approval_rules": [{"severities": ["urgent"]}]}, r"approval_rules\[0\].severities: 'urgent'"),
    ({"approval_rules": [{"approve_after_days": 400}]}, "approve_after_days: 400 must be a whole number from 0 to 360"),
    ({"approval_rules": [{"approve_after_days": 1, "approve_until_date": "2026-01-01"}]}, "not both"),
    ({"approval_rules": [{"approve_until_date": "2026-02-30"}]}, "is not a date"),
    ({"approved_patches": ["a"], "rejected_patches": ["a"]}, "both list a"),
    ({"rejected_patches_action": "drop"}, "rejected_patches_action: 'drop'"),
    ({"aproval_rules": []}, "unknown key"),
])
def test_bad_baselines_name_the_field(baseline, message):
    with pytest.raises(bl.BaselineError, match=message):
        bl.validate(baseline)


def test_approved_patches_adds_reasons():
    result = bl.approved_patches([patch(), patch(name="tzdata", classification="bugfix")],
                                 {"approval_rules": [{"classifications": ["security"]}]}, TODAY)
    assert [p["name"] for p in result] == ["openssl"]
    assert result[0]["approval_reason"].startswith("rule 0")
