"""Findings against pending patches and the baseline; closed or open after the night by the installed version."""

import gc
import random
from datetime import date

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import baseline as B
from ansible_collections.fleetpatch.hybrid.plugins.module_utils import findings as F
from ansible_collections.fleetpatch.hybrid.plugins.module_utils import findings_correlate as C

TODAY = date(2026, 12, 4)


def patch(name, installed, candidate, cves=(), classification="security", severity="important", manager="apt"):
    return {"name": name, "installed_version": installed, "candidate_version": candidate, "cves": list(cves),
            "classification": classification, "severity": severity, "manager": manager, "release_date": "2026-11-01"}


def finding(cve, package, installed=None, fixed=None, severity="high"):
    found = F.record("trivy", {"name": "web-1"}, cve, package, installed, fixed, severity)
    found["host"] = "web-1"
    return found


PATCHES = [
    patch("fp-openssl", "3.0.15-1~deb12u1", "3.0.15-1~deb12u2", ["CVE-2026-10001", "CVE-2026-10002"]),
    patch("fp-kernel", "6.1.0-1", "6.1.0-2", ["CVE-2026-50001"]),
    patch("fp-tzdata", "2026a-0+deb12u1", "2026b-0+deb12u1", [], classification="bugfix", severity="unspecified"),
    patch("fp-libdemo", "1.2-1", "1.2-1+deb12u1", ["CVE-2024-40001"]),
]
FINDINGS = [
    finding("CVE-2026-10001", "fp-openssl", "3.0.15-1~deb12u1", "3.0.15-1~deb12u2"),    # by fixed version
    finding("CVE-2026-10002", "libssl3", "3.0.15-1~deb12u1", None),                      # other package: CVE list
    finding("CVE-2026-50001", "fp-kernel", "6.1.0-1", "6.1.0-2", severity="critical"),  # baseline rejects it
    finding("CVE-2026-40002", "fp-libdemo", "1.2-1", "1.2-1+deb12u2"),                  # pending does not reach it
    finding("CVE-2026-99999", "fp-stable", "5.0-1", None, severity="low"),               # no fix anywhere
    finding("CVE-2026-30001", "fp-tools", "1.0", "1.1"),                                 # not pending at all
]
REJECT_KERNEL = {"approval_rules": [{"classifications": ["security", "bugfix"]}], "rejected_patches": ["fp-kernel"]}


def test_each_finding_gets_its_patch_or_the_reason_it_has_none():
    plan = C.plan_host(PATCHES, FINDINGS, REJECT_KERNEL, TODAY)
    got = dict((f["cve"], (f["plan"], f["patches"], f.get("match"))) for f in plan["findings"])
    assert got == {
        "CVE-2026-10001": ("patch_approved", ["fp-openssl"], "fixed_version"),
        "CVE-2026-10002": ("patch_approved", ["fp-openssl"], "cve_list"),
        "CVE-2026-50001": ("patch_not_approved", ["fp-kernel"], "fixed_version"),
        "CVE-2026-40002": ("fix_not_pending", [], None),
        "CVE-2026-99999": ("no_fix", [], None),
        "CVE-2026-30001": ("fix_not_pending", [], None),
    }
    assert plan["not_approved"][0]["reason"].startswith("fp-kernel: rejected by rejected_patches entry 'fp-kernel'")
    assert "1.2-1+deb12u1 does not reach the fixed version 1.2-1+deb12u2" in plan["fix_not_pending"][0]["reason"]
    assert "no pending patch of fp-tools" in plan["fix_not_pending"][1]["reason"]
    # fp-libdemo's pending version closes none of the findings (its own CVE-2024-40001 is no finding here)
    assert plan["patches_without_finding"] == ["fp-tzdata", "fp-libdemo"]
    assert plan["summary"] == {"patch_approved": 2, "patch_not_approved": 1, "fix_not_pending": 2, "no_fix": 1,
                               "findings": 6, "patches_closing": 2}


def test_min_severity_approves_what_closes_a_finding_and_says_why():
    only_bugfix = {"approval_rules": [{"classifications": ["bugfix"]}], "approve_findings_min_severity": "high"}
    plan = C.plan_host(PATCHES, FINDINGS, only_bugfix, TODAY)
    by_cve = dict((f["cve"], f) for f in plan["findings"])
    assert by_cve["CVE-2026-10001"]["plan"] == "patch_approved"
    assert by_cve["CVE-2026-10001"]["reason"].startswith(
        "closes finding(s) CVE-2026-10001 (high), CVE-2026-10002 (high) at or above high (approve_findings_min_severity)")
    # the rejected list still wins over a finding
    reject = dict(REJECT_KERNEL, approve_findings_min_severity="critical")
    plan = C.plan_host(PATCHES, FINDINGS, reject, TODAY)
    assert [f["plan"] for f in plan["findings"] if f["cve"] == "CVE-2026-50001"] == ["patch_not_approved"]
    # below the minimum: not approved by it
    critical_only = {"approval_rules": [{"classifications": ["bugfix"]}], "approve_findings_min_severity": "critical"}
    plan = C.plan_host(PATCHES, FINDINGS, critical_only, TODAY)
    assert [f["plan"] for f in plan["findings"] if f["cve"] == "CVE-2026-10001"] == ["patch_not_approved"]
    assert [f["plan"] for f in plan["findings"] if f["cve"] == "CVE-2026-50001"] == ["patch_approved"]


def test_approved_patches_filter_sees_the_findings():
    annotated = C.annotate(PATCHES, FINDINGS)
    approved = B.approved_patches(annotated, {"approval_rules": [], "approve_findings_min_severity": "critical"}, TODAY)
    assert [p["name"] for p in approved] == ["fp-kernel"]


def test_bad_min_severity_names_the_field():
    with pytest.raises(B.BaselineError, match="approve_findings_min_severity: 'urgent' is not one of critical, high, medium, low"):
        B.validate({"approve_findings_min_severity": "urgent"})


def test_after_the_night_closed_only_at_or_past_the_fixed_version():
    plan = C.plan_host(PATCHES, FINDINGS, REJECT_KERNEL, TODAY)
    installed = {"fp-openssl": "3.0.15-1~deb12u2", "fp-kernel": "6.1.0-1", "fp-libdemo": "1.2-1+deb12u1", "fp-tools": "1.0"}
    judged = C.after_summary(C.judge_after(plan["findings"], installed))
    assert [(f["cve"], f["package"]) for f in judged["closed"]] == [("CVE-2026-10001", "fp-openssl"), ("CVE-2026-10002", "libssl3")]
    still = dict((f["cve"], f["reason"]) for f in judged["open"])
    assert still["CVE-2026-50001"].startswith("fp-kernel 6.1.0-1 is older than the fixed version 6.1.0-2; fp-kernel: rejected")
    assert still["CVE-2026-40002"].startswith("fp-libdemo 1.2-1+deb12u1 is older than the fixed version 1.2-1+deb12u2")
    assert still["CVE-2026-99999"].startswith("no fixed version known")
    assert judged["summary"] == {"closed": 2, "open": 4}


def test_a_newer_version_than_the_fix_closes_and_rpm_versions_compare_the_rpm_way():
    found = [dict(finding("CVE-2026-1", "openssl", "1.0.2k-19.el7", "1.0.2k-21.el7"), plan="fix_not_pending", manager="dnf")]
    assert C.judge_after(found, {"openssl": "1:1.0.2k-19.el7"}, "dnf")[0]["state"] == "closed"  # epoch 1 > 0
    assert C.judge_after(found, {"openssl": "1.0.2k-20.el7"}, "dnf")[0]["state"] == "open"
    assert C.judge_after(found, {"openssl": "1.0.2k-21.el7.1"}, "dnf")[0]["state"] == "closed"
    assert C.judge_after(found, {"openssl": None}, "dnf")[0]["reason"] == "openssl is no longer installed"


def test_source_disagreements_both_ways():
    judged = [{"cve": "CVE-1", "package": "a", "state": "closed"}, {"cve": "CVE-2", "package": "b", "state": "open"},
              {"cve": "CVE-3", "package": "c", "state": "closed"}]
    assert C.agreement(judged, {("CVE-1", "a"), ("CVE-2", "b")}) == [
        {"cve": "CVE-1", "package": "a", "ours": "closed", "source": "open", "reason": None}]
    assert C.agreement(judged, set())[0]["cve"] == "CVE-2"


def test_to_confirm_asks_every_closed_finding_but_only_the_sources_own_open_ones():
    after = {"closed": [{"cve": "CVE-1", "package": "a", "source": "trivy", "reason": "a 2 >= 2"}],
             "open": [{"cve": "CVE-2", "package": "b", "source": "inspector2", "reason": "b 1 < 2"},
                      {"cve": "CVE-3", "package": "c", "source": "trivy", "reason": "no fixed version known"}]}
    assert C.to_confirm({"web-1": after, "web-2": None}) == {
        "closed": {"web-1": [{"cve": "CVE-1", "package": "a", "reason": "a 2 >= 2"}]},
        "open": {"web-1": [{"cve": "CVE-2", "package": "b", "reason": "b 1 < 2"}]}}
    assert C.to_confirm({"web-1": after}, "tenable") == {"closed": {"web-1": [{"cve": "CVE-1", "package": "a", "reason": "a 2 >= 2"}]},
                                                         "open": {}}


def test_disagreements_become_ledger_records_named_by_what_the_source_says():
    assert C.disagreement_records([{"cve": "CVE-1", "package": "a", "ours": "closed", "source": "open", "reason": "a 2 >= 2"},
                                   {"cve": "CVE-2", "package": "b", "ours": "open", "source": "closed", "reason": None}]) == [
        {"cve": "CVE-1", "package": "a", "state": "source_open", "reason": "a 2 >= 2"},
        {"cve": "CVE-2", "package": "b", "state": "source_closed", "reason": None}]


def _sign(value):
    return None if value is None else (value > 0) - (value < 0)


@pytest.mark.parametrize("left,right", [
    ("3.0.15-1~deb12u1", "3.0.15-1~deb12u2"), ("1.0-1", "1.0a-1"), ("1.0-1", "1.0~rc1-1"), ("7.0.1-1", "7.0.1-"),
    ("1.2-1+deb12u2", "1.2-1+deb12u10"), ("1:1.0-1", "1.0-1"), ("1.0-10", "1.0-9"), ("1.0", "1.0.0"), ("1.0~", "1.0"),
    ("2.4.62-1~deb12u2", "2.4.62-1~deb12u2.1"), ("0.9-a", "0.9-"), ("1.001-1", "1.1-1"), ("-1", "-2"), ("1.0-1-1", "1.0-1-2"),
    # the last-run-of-digits shortcut, and what must not take it
    ("1.0-1", "1.0-01"), ("10", "9"), ("1:5", "1:07"), ("2:1.0-3", "1:1.0-4"), ("1.0-", "1.0-1"), ("1.0-1", "1.0-\u0663"),
    ("1.0 -1", "1.0 -2"), (" 1.0-1", " 1.0-2"), ("1.0-1\n", "1.0-2\n"), ("1.0~1", "1.0~2"), ("a1", "a2")])
def test_the_comparison_shortcuts_order_as_dpkg_does(left, right):
    C._compare.cache_clear()
    want = B.compare_versions("apt", left, right)
    got = C._compare("apt", left, right)
    assert _sign(got) == _sign(want)
    assert C._compare("apt", right, left) == (None if want is None else -_sign(want))


def test_the_comparison_orders_random_versions_as_dpkg_does():
    """Random versions over dpkg's characters (and a few it refuses): same sign as debversion.compare, or both None."""
    rng = random.Random(17)
    alphabet = "0123456789" * 3 + "ab~+.-:" + "\u0663 \n"

    def text(size):
        return "".join(rng.choice(alphabet) for dummy in range(size))

    for _dummy in range(20000):
        left = text(rng.randint(1, 8))
        roll = rng.random()
        if roll < 0.4:  # the same but for the last run of digits
            right = left.rstrip("0123456789") + str(rng.randint(0, 20))
        elif roll < 0.7:  # a shared prefix
            right = left[:rng.randint(0, len(left))] + text(rng.randint(1, 4))
        else:
            right = text(rng.randint(1, 8))
        C._compare.cache_clear()
        assert C._compare("apt", left, right) == _sign(B.compare_versions("apt", left, right)), (left, right)


def test_the_plan_carries_the_approvals_own_decisions():
    """The night approves from the plan's decisions (the baseline judged once per host): they are patch_decisions'."""
    dependencies = {"fp-openssl": ["fp-kernel"]}
    for baseline in (REJECT_KERNEL, dict(REJECT_KERNEL, rejected_patches_action="block"),
                     {"approval_rules": [{"classifications": ["bugfix"]}], "approve_findings_min_severity": "high"}):
        plan = C.plan_host(PATCHES, FINDINGS, baseline, TODAY, dependencies=dependencies)
        decisions = B.evaluate(plan["patches"], baseline, TODAY, dependencies=dependencies)
        assert plan["decisions"] == [dict(p, approved=d["approved"], approval_reason=d["reason"])
                                     for p, d in zip(plan["patches"], decisions, strict=True)]
    blocked = C.plan_host(PATCHES, FINDINGS, dict(REJECT_KERNEL, approval_rules=[{"classifications": ["security"]}]), TODAY,
                          dependencies=dependencies)
    assert blocked["warnings"] and "fp-openssl" in blocked["warnings"][0]


def test_patches_list_the_findings_they_close_by_version_first_then_by_their_cve_list():
    patches = [patch("fp-a", "1.0-1", "1.0-2", ["CVE-2026-2", "CVE-2026-1"]), patch("fp-b", "1.0-1", "1.0-2")]
    findings = [finding("CVE-2026-1", "libfp-a", "1.0-1"), finding("CVE-2026-2", "libfp-a", "1.0-1"),
                finding("CVE-2026-3", "fp-a", "1.0-1", "1.0-2"), finding("CVE-2026-4", "fp-b", "1.0-1", "1.0-2")]
    annotated = C.annotate(patches, findings)
    assert [f["cve"] for f in annotated[0]["findings"]] == ["CVE-2026-3", "CVE-2026-2", "CVE-2026-1"]
    assert [f["cve"] for f in annotated[1]["findings"]] == ["CVE-2026-4"]


def test_the_plan_takes_the_approvals_dependencies_into_account():
    """fp-openssl needs fp-kernel, which the baseline rejects with rejected_patches_action block: the approval does
    not approve fp-openssl, so the plan must not promise its finding closed either."""
    block = dict(REJECT_KERNEL, rejected_patches_action="block")
    alone = C.plan_host(PATCHES, FINDINGS, block, TODAY)
    assert [f["plan"] for f in alone["findings"] if f["cve"] == "CVE-2026-10001"] == ["patch_approved"]
    needing = C.plan_host(PATCHES, FINDINGS, block, TODAY, dependencies={"fp-openssl": ["fp-kernel"]})
    (entry,) = [f for f in needing["findings"] if f["cve"] == "CVE-2026-10001"]
    assert entry["plan"] == "patch_not_approved" and "but fp-openssl needs fp-kernel" in entry["reason"]


def test_the_garbage_collector_is_paused_only_while_a_host_is_correlated():
    plan = C.plan_host(PATCHES, FINDINGS, REJECT_KERNEL, TODAY)
    assert gc.isenabled()
    C.judge_after(plan["findings"], {})
    assert gc.isenabled()
    gc.disable()
    try:
        C.plan_host(PATCHES, FINDINGS, REJECT_KERNEL, TODAY)
        assert not gc.isenabled()  # whoever paused it keeps it paused
    finally:
        gc.enable()
    with pytest.raises(B.BaselineError):
        C.plan_host(PATCHES, FINDINGS, {"approve_findings_min_severity": "urgent"}, TODAY)
    assert gc.isenabled()
