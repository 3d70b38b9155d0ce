"""Approval as AWS Systems Manager Patch Manager documents it: one table row per rule, each citing it.

Sources (AWS Systems Manager User Guide / API Reference):
  [AAD]  API PatchRule.ApproveAfterDays: "the number of days after the release date ... Patch Manager
         evaluates patch release dates using Coordinated Universal Time (UTC). If a patch is released at
         2025-11-09T18:00:00Z and ApproveAfterDays is set to 7, the patch will be approved after
         2025-11-16T18:00:00Z." Range 0-360.
  [AUD]  API PatchRule.ApproveUntilDate: "Any patches released on or before this date are installed
         automatically. Enter dates in the format YYYY-MM-DD."
  [FMT]  "Package name formats for approved and rejected patch lists": yum/dnf: name, name.arch,
         name-version, name-version-release, name-version-release.arch, version, version-release,
         epoch:version-release, name-epoch:version-release, name-epoch:version-release.arch,
         epoch:name-version-release.arch, name.arch:epoch:version-release, with a wildcard; CVE ids
         (CVE-2018-1234567) and advisory ids (RHSA-2017:0864, ALAS-2018-123, ALAS2023-2025-123,
         ELSA-2025-123). Debian/Ubuntu: package names. SLES: patch names (SUSE-SLE-...-2018-123) and
         full package names (example-pkg-2018.11.4-46.17.1.x86_64.rpm), with a wildcard.
         Windows: KB and MS bulletin ids.
  [RPA]  API CreatePatchBaseline.RejectedPatchesAction: ALLOW_AS_DEPENDENCY "a package in the rejected
         patches list is installed only if it is a dependency of another package ... the default";
         BLOCK "packages in the rejected patches list, and packages that include them as
         dependencies, aren't installed under any circumstances".
  [ENS]  API PatchRule.EnableNonSecurity / PatchFilter CLASSIFICATION: a classification named in the
         filter matches it; non-security updates outside the named classifications need
         EnableNonSecurity.
  [BOTH] Rejected patches are evaluated before approved patches: a patch in both lists is rejected.
Deliberate differences are listed in docs/policy.md ("Differences from SSM").
"""

from datetime import date, datetime, timezone

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import baseline as bl

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=timezone.utc)


def rec(name="openssl", released="2026-11-20T09:00:00+00:00", classification="security", severity="important",
        manager="apt", arch="amd64", version="3.0.16-1~deb12u1", advisories=(), cves=()):
    return {"name": name, "release_date": released, "classification": classification, "severity": severity,
            "manager": manager, "arch": arch, "candidate_version": version,
            "advisories": list(advisories), "cves": list(cves)}


def ok(patch, baseline, now=NOW):
    return bl.decide(patch, baseline, now)


SEC = {"classifications": ["security"]}


@pytest.mark.parametrize("rule,released,now,approved,why", [
    # [AAD] the example of the API reference, at the exact boundary and one second before
    (dict(SEC, approve_after_days=7), "2025-11-09T18:00:00Z", "2025-11-16T18:00:00Z", True, "AAD: exactly 7 days"),
    (dict(SEC, approve_after_days=7), "2025-11-09T18:00:00Z", "2025-11-16T17:59:59Z", False, "AAD: 1 s short"),
    # [AAD] UTC instants: a Debian changelog date with an offset is 04:30 UTC on the next day
    (dict(SEC, approve_after_days=7), "2026-11-20T23:30:00-05:00", "2026-11-27T12:00:00Z", False, "AAD: offset counts"),
    (dict(SEC, approve_after_days=7), "2026-11-20T23:30:00-05:00", "2026-11-28T04:30:00Z", True, "AAD: offset, due"),
    (dict(SEC, approve_after_days=7), "Fri, 20 Nov 2026 23:30:00 -0500", "2026-11-28T04:29:59+00:00", False,
     "AAD: RFC 2822 changelog trailer"),
    # [AAD] "now" with an offset is the same instant in UTC
    (dict(SEC, approve_after_days=7), "2025-11-09T18:00:00Z", "2025-11-16T19:00:00+01:00", True, "AAD: now offset"),
    (dict(SEC, approve_after_days=0), None, NOW, True, "AAD 0: no date needed"),
    (dict(SEC, approve_after_days=360), "2025-12-02T12:00:00Z", NOW, True, "AAD: 360 is the maximum"),
    # [AUD] inclusive: any moment of that UTC day
    (dict(SEC, approve_until_date="2026-11-20"), "2026-11-20T23:59:59Z", NOW, True, "AUD: last second of the day"),
    (dict(SEC, approve_until_date="2026-11-20"), "2026-11-21T00:00:00Z", NOW, False, "AUD: next day"),
    (dict(SEC, approve_until_date="2026-11-20"), "2026-11-20T23:30:00-05:00", NOW, False, "AUD: UTC day, not local"),
    # unknown release date with a delay or cut-off: not approved (docs/policy.md, Differences)
    (dict(SEC, approve_after_days=7), None, NOW, False, "no date, delay"),
    (dict(SEC, approve_until_date="2026-11-20"), None, NOW, False, "no date, cut-off"),
])
def test_release_dates_are_utc_instants(rule, released, now, approved, why):
    decision = ok(rec(released=released), {"approval_rules": [rule]}, now)
    assert decision["approved"] is approved, (why, decision["reason"])


def test_reason_names_the_utc_instants():
    reason = ok(rec(released="2026-11-20T23:30-05:00"), {"approval_rules": [dict(SEC, approve_after_days=7)]},
                "2026-11-28T05:00:00Z")["reason"]
    assert "released 2026-11-21T04:30:00Z" in reason and "approved from 2026-11-28T04:30:00Z" in reason


def test_unknown_release_date_says_so():
    reason = ok(rec(released=None), {"approval_rules": [dict(SEC, approve_after_days=7)]})["reason"]
    assert "rule(s) 0 need a release date and none is known" in reason


@pytest.mark.parametrize("value", ["2026-11-25; DROP", "2026-02-30", "25.11.2026", "2026-11-25T00:00:00Z", "", 20261125])
def test_approve_until_date_must_be_a_real_date(value):
    # [AUD] YYYY-MM-DD only; nothing after it, no impossible day
    with pytest.raises(bl.BaselineError, match=r"approval_rules\[0\]\.approve_until_date: .* is not a date"):
        bl.validate({"approval_rules": [dict(SEC, approve_until_date=value)]})


def test_unparsable_release_date_is_an_error_naming_the_field():
    with pytest.raises(bl.BaselineError, match=r"release_date of patch 'openssl': 'last tuesday' is not a date"):
        ok(rec(released="last tuesday"), {"approval_rules": [dict(SEC, approve_after_days=7)]})


def test_unparsable_today_is_an_error_naming_the_field():
    with pytest.raises(bl.BaselineError, match=r"^today: 'tomorrow' is not a date"):
        ok(rec(), {"approval_rules": [SEC]}, "tomorrow")


def test_a_date_for_today_is_midnight_utc():
    rule = {"approval_rules": [dict(SEC, approve_after_days=7)]}
    assert ok(rec(released="2026-11-20T00:00:00Z"), rule, date(2026, 11, 27))["approved"] is True
    assert ok(rec(released="2026-11-20T00:00:01Z"), rule, "2026-11-27")["approved"] is False


DBUS = rec(name="dbus", manager="dnf", arch="x86_64", version="1:1.12.28-1.amzn2023.0.1",
           advisories=["ALAS2023-2025-123"], cves=["CVE-2025-0001"])


@pytest.mark.parametrize("entry", [
    # [FMT] every construction the guide lists for dbus.x86_64:1:1.12.28-1.amzn2023.0.1
    "dbus", "dbus.x86_64", "dbus-1.12.28", "dbus-1.12.28-1.amzn2023.0.1", "dbus-1.12.28-1.amzn2023.0.1.x86_64",
    "1.12.28", "1.12.28-1.amzn2023.0.1", "1:1.12.28-1.amzn2023.0.1", "dbus-1:1.12.28-1.amzn2023.0.1",
    "dbus-1:1.12.28-1.amzn2023.0.1.x86_64", "1:dbus-1.12.28-1.amzn2023.0.1.x86_64", "dbus.x86_64:1:1.12.28-1.amzn2023.0.1",
    # [FMT] with a wildcard
    "dbus*", "dbus-1.12.2*", "dbus-*:1.12.28-1.amzn2023.0.1.x86_64",
    # [FMT] advisory and CVE ids
    "ALAS2023-2025-123", "CVE-2025-0001", "ALAS2023-*",
    # ours: name=version on every OS
    "dbus=1:1.12.28-1.amzn2023.0.1",
])
@pytest.mark.parametrize("listed", ["approved_patches", "rejected_patches"])
def test_rpm_name_formats_in_both_lists(entry, listed):
    decision = ok(DBUS, {"operating_system": "AMAZON_LINUX_2023", listed: [entry]})
    assert decision["approved"] is (listed == "approved_patches"), decision["reason"]
    assert repr(entry) in decision["reason"]


@pytest.mark.parametrize("entry", ["dbus.aarch64", "dbus-1.12.29", "dbus-2:1.12.28-1.amzn2023.0.1", "dbu", "RHSA-2017:0864",
                                   "CVE-2025-0002", "dbus=1.12.28"])
def test_rpm_name_formats_that_do_not_name_the_patch(entry):
    decision = ok(DBUS, {"operating_system": "AMAZON_LINUX_2023", "approved_patches": [entry]})
    assert decision["approved"] is False, decision["reason"]


def test_rpm_without_epoch_matches_epoch_zero_forms():
    patch = rec(name="openssl", manager="dnf", arch="x86_64", version="3.0.7-28.el9", advisories=["RHSA-2026:1001"])
    for entry in ("0:3.0.7-28.el9", "openssl-0:3.0.7-28.el9.x86_64", "openssl-3.0.7-28.el9.x86_64", "RHSA-2026:1001"):
        assert ok(patch, {"approved_patches": [entry]})["approved"], entry


@pytest.mark.parametrize("entry,approved", [
    # [FMT] Debian/Ubuntu: package names (and globs); advisory (DSA/DLA/USN) and CVE ids
    ("openssl", True), ("open*", True), ("DSA-5865-1", True), ("DLA-*", False), ("CVE-2024-12797", True),
    # ours: name:arch (Debian's arch qualifier) and name=version
    ("openssl:amd64", True), ("openssl:arm64", False), ("openssl=3.0.16-1~deb12u1", True), ("openssl=3.0.15", False),
])
def test_apt_name_formats(entry, approved):
    patch = rec(advisories=["DSA-5865-1"], cves=["CVE-2024-12797"])
    assert ok(patch, {"operating_system": "DEBIAN", "approved_patches": [entry]})["approved"] is approved


@pytest.mark.parametrize("entry", [
    # [FMT] SLES: patch names and full package names, with a wildcard
    "SUSE-SLE-Module-Basesystem-15-SP5-2024-420", "SUSE-SLE-Module-Basesystem-15-SP5-2024-*",
    "libopenssl3-3.0.8-150500.5.20.1.x86_64.rpm", "libopenssl3-3.0.8-150500.5.20.1.*.rpm", "libopenssl3",
])
def test_suse_patch_and_package_names(entry):
    patch = rec(name="libopenssl3", manager="zypper", arch="x86_64", version="3.0.8-150500.5.20.1",
                advisories=["SUSE-SLE-Module-Basesystem-15-SP5-2024-420"])
    decision = ok(patch, {"operating_system": "SUSE", "rejected_patches": [entry]})
    assert decision["approved"] is False and decision["rejected"], entry


def test_suse_patch_record_kept_whole():
    patch = rec(name="patch:SUSE-SLE-Module-Basesystem-15-SP5-2024-420", manager="zypper", arch="noarch", version="1",
                advisories=["SUSE-SLE-Module-Basesystem-15-SP5-2024-420"])
    assert ok(patch, {"approved_patches": ["SUSE-SLE-Module-Basesystem-15-SP5-2024-420"]})["approved"]


def test_windows_kb_and_bulletin():
    patch = rec(name="KB5034127", manager="windows", arch=None, version="KB5034127", advisories=["MS24-001"])
    assert ok(patch, {"approved_patches": ["MS24-001"]})["approved"]
    assert not ok(patch, {"approved_patches": ["KB5034127"], "rejected_patches": ["MS24-*"]})["approved"]


@pytest.mark.parametrize("rule,classification,severity,approved,why", [
    # [ENS] an explicit classification next to '*' matches it without enable_non_security
    ({"classifications": ["*", "bugfix"]}, "bugfix", "unspecified", True, "explicit bugfix next to *"),
    ({"classifications": ["*"]}, "bugfix", "unspecified", False, "* alone: security only"),
    ({"classifications": ["*"], "enable_non_security": True}, "enhancement", "low", True, "* with non-security"),
    ({"classifications": ["bugfix"]}, "bugfix", "unspecified", True, "bugfix named"),
    # an explicit severity next to '*'
    ({"classifications": ["security"], "severities": ["*", "critical"]}, "security", "low", True, "* severities"),
    ({"classifications": ["security"], "severities": ["critical"]}, "security", "low", False, "severity filtered"),
])
def test_explicit_classification_or_severity_next_to_star(rule, classification, severity, approved, why):
    decision = ok(rec(classification=classification, severity=severity), {"approval_rules": [rule]})
    assert decision["approved"] is approved, (why, decision["reason"])


def test_patch_in_both_lists_is_rejected():
    # [BOTH]
    decision = ok(rec(), {"approved_patches": ["openssl"], "rejected_patches": ["openssl"]})
    assert decision["approved"] is False and decision["rejected"]
    decision = ok(rec(), {"approved_patches": ["openssl=3.0.16-1~deb12u1"], "rejected_patches": ["CVE-2024-*"]})
    assert decision["approved"] is True  # the CVE glob names nothing this patch closes
    decision = ok(rec(cves=["CVE-2024-1"]), {"approved_patches": ["openssl"], "rejected_patches": ["CVE-2024-*"]})
    assert decision["approved"] is False


APP = rec(name="fp-depapp", version="1.0-1+deb12u1")
LIB = rec(name="fp-deplib", version="1.0-1+deb12u1")
NEEDS = {"fp-depapp": ["fp-deplib"]}


@pytest.mark.parametrize("action,app,lib", [
    # [RPA] BLOCK: the rejected package and the packages that need it are not installed
    ("block", False, False),
    ("BLOCK", False, False),
    # [RPA] ALLOW_AS_DEPENDENCY: the rejected package comes in as a dependency of an approved one
    ("allow_as_dependency", True, True),
    ("ALLOW_AS_DEPENDENCY", True, True),
])
def test_rejected_patches_action_with_dependencies(action, app, lib):
    base = {"approval_rules": [SEC], "rejected_patches": ["fp-deplib"], "rejected_patches_action": action}
    first, second = bl.evaluate([APP, LIB], base, NOW, dependencies=NEEDS)
    assert (first["approved"], second["approved"]) == (app, lib), (first["reason"], second["reason"])
    if not app:
        # the reason names both packages
        assert "fp-depapp needs fp-deplib" in first["reason"] and "rejected" in first["reason"]
    else:
        assert second["reason"] == "rejected, allowed as a dependency of fp-depapp"


def test_allow_as_dependency_only_as_a_dependency():
    # [RPA] installed only if it is a dependency of another package: alone it is not approved
    base = {"approval_rules": [SEC], "rejected_patches": ["fp-deplib"], "rejected_patches_action": "allow_as_dependency"}
    (lib,) = bl.evaluate([LIB], base, NOW, dependencies={})
    assert lib["approved"] is False
    # and not as a dependency of a patch that is itself not approved
    base["approval_rules"] = []
    app, lib = bl.evaluate([APP, LIB], base, NOW, dependencies=NEEDS)
    assert (app["approved"], lib["approved"]) == (False, False)


def test_default_action_is_block_and_warns_when_it_applies():
    # [RPA] SSM's default is ALLOW_AS_DEPENDENCY; ours is block (docs/policy.md, Differences): say so
    base = {"approval_rules": [SEC], "rejected_patches": ["fp-deplib"]}
    decisions = bl.evaluate([APP, LIB], base, NOW, dependencies=NEEDS)
    assert [d["approved"] for d in decisions] == [False, False]
    assert "the default here; SSM's default is allow_as_dependency" in decisions[0]["reason"]
    (warning,) = bl.warnings([APP, LIB], decisions, base)
    assert "fp-depapp" in warning and "rejected_patches_action" in warning
    explicit = dict(base, rejected_patches_action="block")
    assert bl.warnings([APP, LIB], bl.evaluate([APP, LIB], explicit, NOW, dependencies=NEEDS), explicit) == []
