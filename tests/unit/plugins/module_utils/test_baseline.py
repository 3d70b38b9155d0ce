import json
import os
from datetime import datetime, timezone

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import baseline as bl

TODAY = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)


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


# -- extended baselines (issue 4) -------------------------------------------------------------------

def rec(name="openssl", classification="security", severity="important", released="2026-11-20", version="2",
        manager="apt", installed="1"):
    return {"name": name, "classification": classification, "severity": severity, "manager": manager,
            "release_date": released, "candidate_version": version, "installed_version": installed}


def names(patches, baseline, **kwargs):
    return [p["name"] for p in bl.approved_patches(patches, baseline, TODAY, **kwargs)]


@pytest.mark.parametrize("until,released,approved", [
    ("2026-11-20", "2026-11-19", True),
    ("2026-11-20", "2026-11-20", True),    # on the date itself
    ("2026-11-20", "2026-11-21", False),
    ("2026-11-20", None, False),           # no release date: not before anything
    ("2026-12-31", "2026-11-27", True),    # an until-date in the future approves what is out today
])
def test_until_date_boundaries(until, released, approved):
    ok, reason = decide(rec(released=released), {"approval_rules": [{"approve_until_date": until}]})
    assert ok is approved, reason


@pytest.mark.parametrize("operating_system,field,names_in,normalised", [
    ("REDHAT_ENTERPRISE_LINUX", "severities", ["Critical", "Important"], ["critical", "important"]),
    ("AMAZON_LINUX_2023", "severities", ["Medium"], ["moderate"]),
    ("ROCKY_LINUX", "classifications", ["Security", "Bugfix", "Enhancement", "Newpackage"],
     ["security", "bugfix", "enhancement"]),
    ("AMAZON_LINUX_2", "classifications", ["Recommended"], ["bugfix"]),
    ("SUSE", "classifications", ["Security", "Recommended", "Optional", "Feature", "Document", "Yast"],
     ["security", "bugfix", "enhancement", "other"]),
    ("SUSE", "severities", ["Critical", "Moderate"], ["critical", "moderate"]),
    ("WINDOWS", "classifications", ["CriticalUpdates", "SecurityUpdates"], ["security"]),
    ("WINDOWS", "classifications", ["Update Rollups", "Updates", "FeaturePacks", "ServicePacks", "DefinitionUpdates"],
     ["bugfix", "enhancement", "other"]),
    ("WINDOWS", "severities", ["Critical", "Important", "Moderate", "Low", "Unspecified"],
     ["critical", "important", "moderate", "low", "unspecified"]),
    ("DEBIAN", "severities", ["high"], ["critical", "important"]),   # Debian high + remote scope is our critical
    ("DEBIAN", "severities", ["medium", "unimportant", "not yet assigned"], ["moderate", "low", "unspecified"]),
    ("UBUNTU", "severities", ["high", "negligible"], ["important", "low"]),
    ("ubuntu", "classifications", ["security", "*"], ["security", "*"]),   # our names on any OS, any case
])
def test_vendor_names_are_normalised(operating_system, field, names_in, normalised):
    checked = bl.validate({"operating_system": operating_system, "approval_rules": [{field: names_in}]})
    assert checked["approval_rules"][0][field] == normalised
    assert checked["operating_system"] == operating_system.upper()


@pytest.mark.parametrize("baseline,message", [
    ({"operating_system": "WINDOWS", "approval_rules": [{"classifications": ["Recommended"]}]},
     r"classifications: 'recommended' is not one of .* nor a WINDOWS name"),
    ({"operating_system": "REDHAT_ENTERPRISE_LINUX", "approval_rules": [{"severities": ["SecurityUpdates"]}]},
     r"severities: 'securityupdates' is not one of .* nor a REDHAT_ENTERPRISE_LINUX name"),
    ({"approval_rules": [{"classifications": ["SecurityUpdates"]}]}, "vendor names .* need operating_system"),
    ({"operating_system": "DEBIAN", "approval_rules": [{"classifications": ["Recommended"]}]}, "classifications: 'recommended'"),
    ({"operating_system": "SOLARIS"}, "operating_system: 'SOLARIS' is not one of"),
    ({"operating_system": "MACOS"}, "MACOS is not patched by fleetpatch"),
    ({"approval_rules": [{"compliance_level": "severe"}]}, r"approval_rules\[0\].compliance_level: 'severe'"),
    ({"approved_patches_compliance_level": "urgent"}, "approved_patches_compliance_level: 'urgent'"),
    ({"approval_rules": [{"enable_non_security": "yes"}]}, "enable_non_security: 'yes' must be true or false"),
    ({"approval_rules": [{"products": "Debian12"}]}, "products: 'Debian12' must be a list"),
    ({"approved_patches": "openssl"}, "approved_patches: expected a list"),
    ({"rejected_patches": [""]}, "rejected_patches: '' is not a name glob"),
    ({"approved_manifest": [{"name": "openssl"}]}, r"approved_manifest\[0\].*needs name and version"),
    ({"approved_manifest": [{"name": "a", "version": "1", "release": "x"}]}, r"approved_manifest\[0\]: unknown key"),
    ({"approved_manifest": "dev.json"}, "approved_manifest: expected a list"),
    ({"approved_manifest": {"report": "/nonexistent/report.json"}}, "approved_manifest.report: cannot read report"),
    ({"approved_manifest": {"path": "x"}}, "approved_manifest: expected"),
    ({"approval_rules": [{"classifications": "security"}]}, "classifications: expected a list"),
])
def test_more_bad_baselines_name_the_field(baseline, message):
    with pytest.raises(bl.BaselineError, match=message):
        bl.validate(baseline)


def test_validate_is_idempotent_and_plain():
    checked = bl.validate({"operating_system": "debian", "approval_rules": [{"severities": ["high"], "products": ["Debian12"]}],
                           "approved_manifest": [{"name": "openssl", "version": "2"}], "rejected_patches_action": "BLOCK"})
    again = bl.validate(dict(checked))       # a plain copy (e.g. after templating) validates to the same
    assert dict(again) == dict(checked)
    json.dumps(dict(checked), default=str)   # serialisable (dates as strings)
    assert checked["rejected_patches_action"] == "block"


@pytest.mark.parametrize("action,reason", [
    ("block", "(block)"),
    ("allow_as_dependency", "(allow_as_dependency)"),
])
def test_rejected_is_never_approved_on_its_own(action, reason):
    base = {"approval_rules": [{"classifications": ["*"], "enable_non_security": True}], "rejected_patches": ["linux-image-*"],
            "rejected_patches_action": action, "approved_patches": ["linux-image-amd64=2"]}
    ok, why = decide(rec(name="linux-image-amd64"), base)
    assert not ok and reason in why
    # the same entry in both lists: rejected (SSM evaluates the rejected list first)
    ok, why = decide(rec(name="linux-image-amd64"), dict(base, approved_patches=["linux-image-*"]))
    assert not ok and reason in why


# Dependency allowance: app needs libfoo (rejected), libbar (no rule approves it), libok (approved).
DEP_PATCHES = [rec("app"), rec("libfoo"), rec("libbar", classification="other"), rec("libok"), rec("other-app")]
DEPS = {"app": ["libfoo", "libbar", "libok"], "other-app": ["libbar"]}


@pytest.mark.parametrize("action,dependencies,expected", [
    # block: app needs a rejected package, so app is not approved; other-app still brings libbar
    ("block", DEPS, ["libbar", "libok", "other-app"]),
    # allow_as_dependency: libfoo comes in as app's dependency, libbar as a dependency
    ("allow_as_dependency", DEPS, ["app", "libfoo", "libbar", "libok", "other-app"]),
    # without dependency information nothing is brought in
    ("allow_as_dependency", None, ["app", "libok", "other-app"]),
    # a rejected package nobody needs stays out
    ("allow_as_dependency", {"app": ["libok"]}, ["app", "libok", "other-app"]),
])
def test_dependency_allowance(action, dependencies, expected):
    base = {"approval_rules": [{"classifications": ["security"]}], "rejected_patches": ["libfoo"],
            "rejected_patches_action": action}
    assert names(DEP_PATCHES, base, dependencies=dependencies) == expected


def test_dependency_reasons_and_cascade():
    base = {"approval_rules": [{"classifications": ["security"]}], "rejected_patches": ["libfoo"]}
    patches = [rec("top"), rec("mid"), rec("libfoo")]
    decisions = bl.evaluate(patches, base, TODAY, dependencies={"top": ["mid"], "mid": ["libfoo"]})
    # mid needs a blocked package, so top (which needs mid) is not approved either
    assert [d["approved"] for d in decisions] == [False, False, False]
    assert "mid needs libfoo, which is rejected by rejected_patches entry 'libfoo' (block" in decisions[1]["reason"]
    assert "top needs libfoo, which is rejected" in decisions[0]["reason"]     # found through mid
    allowed = bl.evaluate(patches, dict(base, rejected_patches_action="allow_as_dependency"), TODAY,
                          dependencies={"top": ["mid"], "mid": ["libfoo"]})
    assert allowed[2]["approved"] and allowed[2]["reason"] == "rejected, allowed as a dependency of top"


@pytest.mark.parametrize("products,product,approved", [
    (["*"], None, True),
    (["Debian12"], "Debian12", True),
    (["Debian12"], "Debian11", False),
    (["RedhatEnterpriseLinux9.*"], "RedhatEnterpriseLinux9.3", True),
    (["RedhatEnterpriseLinux9.*"], "RedhatEnterpriseLinux8.9", False),
    (["windowsserver2022"], "WindowsServer2022", True),     # SSM compares product names case-insensitively
    (["Debian12"], None, False),                           # the rule needs the host's product
])
def test_products(products, product, approved):
    ok, reason = bl.approve(rec(), bl.validate({"approval_rules": [{"products": products}]}), TODAY, product=product)
    assert ok is approved, reason
    if product is None and not approved:
        assert "need the host's product" in reason


@pytest.mark.parametrize("distribution,version,expected", [
    ("Debian", "12.5", "Debian12"),
    ("Ubuntu", "22.04", "Ubuntu22.04"),
    ("RedHat", "9.3", "RedhatEnterpriseLinux9.3"),
    ("Rocky", "9.3", "RockyLinux9.3"),
    ("AlmaLinux", "8.9", "AlmaLinux8.9"),
    ("Amazon", "2023", "AmazonLinux2023"),
    ("SLES", "15.5", "Suse15.5"),
    ("Microsoft Windows Server 2022 Datacenter", "10.0.20348", "WindowsServer2022"),
    ("Microsoft Windows Server 2012 R2 Standard", "6.3", "WindowsServer2012R2"),
    ("Gentoo", "2.14", None),
])
def test_product_name(distribution, version, expected):
    assert bl.product_name(distribution, version) == expected


@pytest.mark.parametrize("manager,operating_system,approved", [
    ("apt", "DEBIAN", True),
    ("dnf", "DEBIAN", False),
    ("yum", "AMAZON_LINUX_2", True),
    ("dnf", "ROCKY_LINUX", True),
    ("zypper", "SUSE", True),
    ("windows", "WINDOWS", True),
    ("apt", "WINDOWS", False),
    ("zypper", None, True),       # no operating_system: any manager
])
def test_baseline_applies_to_its_operating_system(manager, operating_system, approved):
    ok, reason = decide(rec(manager=manager), {"operating_system": operating_system, "approval_rules": [{}]})
    assert ok is approved, reason


def test_compliance_level_of_the_deciding_rule():
    base = bl.validate({"approval_rules": [{"severities": ["critical"], "compliance_level": "CRITICAL"},
                                           {"compliance_level": "medium"}],
                        "approved_patches": ["tzdata"], "approved_patches_compliance_level": "low"})
    assert bl.decide(rec(severity="critical"), base, TODAY)["compliance_level"] == "critical"
    assert bl.decide(rec(severity="low"), base, TODAY)["compliance_level"] == "medium"
    assert bl.decide(rec(name="tzdata", classification="bugfix"), base, TODAY)["compliance_level"] == "low"


@pytest.mark.parametrize("manager,tested,candidate,approved,reason", [
    ("apt", ["3.0.16-1~deb12u1"], "3.0.16-1~deb12u1", True, "rule 0"),
    ("apt", ["3.0.16-1~deb12u1"], "3.0.17-1~deb12u1", False, "newer than the approved manifest's 3.0.16-1~deb12u1"),
    ("apt", ["3.0.16-1~deb12u1"], "3.0.15-1~deb12u1", False, "not a version in the approved manifest"),
    # hosts of the tested group went to two versions: either is admitted, newer than both is not
    ("apt", ["3.0.16-1~deb12u1", "3.0.16-1~deb12u2"], "3.0.16-1~deb12u1", True, "rule 0"),
    ("apt", ["3.0.16-1~deb12u1", "3.0.16-1~deb12u2"], "3.0.16-1~deb12u3", False, "newer than the approved manifest's 3.0.16-1~deb12u2"),
    ("dnf", ["1:3.0.7-18.el9_2"], "1:3.0.7-18.el9_2", True, "rule 0"),
    ("dnf", ["1:3.0.7-18.el9_2"], "1:3.0.7-19.el9_3", False, "newer than the approved manifest's 1:3.0.7-18.el9_2"),
    ("zypper", ["3.0.8-150500.5.20.1"], "3.0.8-150500.5.14.1", False, "not a version in the approved manifest"),
    ("windows", ["some-guid"], "other-guid", False, "not a version in the approved manifest"),
    ("windows", ["some-guid"], "some-guid", True, "rule 0"),
])
def test_manifest_pins_exact_versions(manager, tested, candidate, approved, reason):
    manifest = [{"name": "openssl", "version": version} for version in tested]
    ok, why = decide(rec(version=candidate, manager=manager), {"approval_rules": [{}], "approved_manifest": manifest})
    assert ok is approved, why
    assert reason in why


def test_manifest_is_a_gate_not_an_approval():
    base = {"approval_rules": [{"classifications": ["security"], "approve_after_days": 7}],
            "approved_manifest": [{"name": "openssl", "version": "2"}, {"name": "tzdata", "version": "2"}]}
    # in the manifest but too recent for the rule: not approved
    assert decide(rec(released="2026-11-26"), base)[0] is False
    # not in the manifest at all
    ok, why = decide(rec(name="curl"), base)
    assert not ok and why.endswith("not in the approved manifest")
    # approved_patches entries are gated too
    ok, why = decide(rec(name="tzdata", classification="bugfix", version="3"), dict(base, approved_patches=["tzdata"]))
    assert not ok and "approved by approved_patches entry 'tzdata', but candidate 3 is newer" in why


def test_manifest_needed_dependency_blocks_its_dependant():
    base = {"approval_rules": [{}], "approved_manifest": [{"name": "app", "version": "2"}, {"name": "lib", "version": "2"}]}
    patches = [rec("app"), rec("lib", version="3")]
    decisions = bl.evaluate(patches, base, TODAY, dependencies={"app": ["lib"]})
    assert not decisions[0]["approved"] and "lib, not admitted by the approved manifest" in decisions[0]["reason"]


def test_manifest_from_a_previous_report(tmp_path):
    report = {"run_id": "dev-1", "hosts": [
        {"name": "web-dev-1", "patch_group": "web-dev", "status": "patched",
         "patched": [{"name": "openssl", "from": "1", "to": "2"}, {"name": "tzdata", "from": "a", "to": "b"}]},
        {"name": "db-dev-1", "patch_group": "db-dev", "status": "patched", "patched": [{"name": "postgresql", "from": "1", "to": "2"}]},
        {"name": "web-dev-2", "patch_group": "web-dev", "status": "failed", "patched": [{"name": "curl", "from": "1", "to": "2"}]},
    ]}
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    base = {"approval_rules": [{"classifications": ["*"], "enable_non_security": True}],
            "approved_manifest": {"report": str(path), "patch_group": "web-dev"}}
    checked = bl.validate(base)
    assert checked["approved_manifest"] == [{"name": "openssl", "version": "2"}, {"name": "tzdata", "version": "b"}]
    patches = [rec("openssl"), rec("tzdata", version="b"), rec("postgresql"), rec("curl")]
    assert names(patches, base) == ["openssl", "tzdata"]     # other group and the failed host do not count
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"hosts": []}))
    with pytest.raises(bl.BaselineError, match="no patched package in the report"):
        bl.validate({"approved_manifest": {"report": str(empty)}})


def test_release_dates_in_any_record_shape():
    base = {"approval_rules": [{"approve_after_days": 7}]}
    for released in ("2026-11-20", "2026-11-20T09:00:00+00:00", "2026-11-20T11:59:59Z", "Fri, 20 Nov 2026 12:00:00 +0000"):
        assert decide(rec(released=released), base)[0] is True
    with pytest.raises(bl.BaselineError, match="release_date"):
        decide(rec(released="20/11/2026"), base)


def test_validation_is_cached_per_content_and_report_mtime(tmp_path):
    raw = {"approval_rules": [{"classifications": ["security"]}]}
    assert bl.validate(raw) is bl.validate(dict(raw))
    assert bl.validate(raw) is not bl.validate({"approval_rules": [{"classifications": ["bugfix"]}]})
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"hosts": [{"status": "patched", "patched": [{"name": "a", "to": "1"}]}]}))
    base = {"approved_manifest": {"report": str(path)}}
    assert bl.validate(base)["approved_manifest"] == [{"name": "a", "version": "1"}]
    path.write_text(json.dumps({"hosts": [{"status": "patched", "patched": [{"name": "a", "to": "22"}]}]}))
    os.utime(path, ns=(1, 10 ** 18))
    assert bl.validate(base)["approved_manifest"] == [{"name": "a", "version": "22"}]


@pytest.mark.parametrize("os_release,product", [
    ({"ID": "debian", "VERSION_ID": "12"}, "Debian12"),
    ({"ID": "rocky", "VERSION_ID": "9.4"}, "RockyLinux9.4"),
    ({"ID": "rhel", "VERSION_ID": "9.3"}, "RedhatEnterpriseLinux9.3"),
    ({"ID": "amzn", "VERSION_ID": "2023"}, "AmazonLinux2023"),
    ({"ID": "plan9", "VERSION_ID": "4"}, None),
    ({}, None),
])
def test_product_from_os_release(os_release, product):
    assert bl.product_from_os_release(os_release) == product
