"""zypper parsers on recorded-format XML (zypper's update.cc/xmlout layout, see fixtures/README.md)."""

import os

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import zypper
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.patch import make_patch

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


@pytest.fixture(scope="module")
def records():
    patches = zypper.parse_patches(fixture("zypper_list_patches.xml"))
    updates = zypper.parse_updates(fixture("zypper_list_updates.xml"))
    info = zypper.parse_patch_info(fixture("zypper_info_patches.txt"))
    return dict((r["name"], r) for r in zypper.build_patches(updates, patches, info, make_patch))


def test_list_patches():
    patches = dict((p["name"], p) for p in zypper.parse_patches(fixture("zypper_list_patches.xml")))
    # the locked (status unwanted) patch is not pending
    assert "SUSE-SLE-Module-Basesystem-15-SP5-2024-099" not in patches
    assert len(patches) == 5
    openssl = patches["SUSE-SLE-Module-Basesystem-15-SP5-2024-123"]
    assert openssl["classification"] == "security" and openssl["severity"] == "important"
    assert openssl["cves"] == ["CVE-2023-6129", "CVE-2023-6237"]
    assert openssl["bugs"] == ["bugzilla#1218690"]
    assert openssl["date"] == "2024-01-17T14:00:00+00:00"          # from time_t, in UTC
    assert openssl["repo"].endswith("SLE-Module-Basesystem15-SP5-Updates")
    assert patches["SUSE-SLE-Module-Basesystem-15-SP5-2024-305"]["reboot"] is True
    assert patches["SUSE-SLE-Module-Basesystem-15-SP5-2024-400"]["classification"] == "bugfix"      # recommended
    assert patches["SUSE-SLE-Module-Server-Applications-15-SP5-2024-420"]["classification"] == "enhancement"  # feature


def test_blocked_patches_behind_the_update_stack_are_pending():
    patches = zypper.parse_patches(fixture("zypper_list_patches_update_stack.xml"))
    assert [(p["name"][-8:], p["pkgmanager"], p["blocked"]) for p in patches] == [
        ("2024-500", True, False), ("2024-123", False, True)]


@pytest.mark.parametrize("category,expected", [
    ("security", "security"), ("recommended", "bugfix"), ("yast", "bugfix"), ("optional", "enhancement"),
    ("feature", "enhancement"), ("document", "other"), ("mystery", "other"),
])
def test_category_mapping(category, expected):
    xml = ('<stream><update-status version="0.6"><update-list><update kind="patch" name="p" edition="1" arch="noarch" '
           'status="needed" category="%s" severity="low"/></update-list></update-status></stream>' % category)
    assert zypper.parse_patches(xml)[0]["classification"] == expected


def test_list_updates():
    updates = dict((u["name"], u) for u in zypper.parse_updates(fixture("zypper_list_updates.xml")))
    assert updates["curl"] == {"name": "curl", "arch": "x86_64", "candidate_version": "8.0.1-150400.5.41.1",
                               "installed_version": "8.0.1-150400.5.36.1",
                               "repo": "Basesystem_Module_15_SP5_x86_64:SLE-Module-Basesystem15-SP5-Updates"}
    assert len(updates) == 7


def test_patch_info_conflicts():
    info = zypper.parse_patch_info(fixture("zypper_info_patches.txt"))
    assert sorted(info) == ["SUSE-SLE-Module-Basesystem-15-SP5-2024-123", "SUSE-SLE-Module-Basesystem-15-SP5-2024-210",
                            "SUSE-SLE-Module-Basesystem-15-SP5-2024-305", "SUSE-SLE-Module-Basesystem-15-SP5-2024-400"]
    assert ("libopenssl3", "x86_64", "3.0.8-150500.5.20.1") in info["SUSE-SLE-Module-Basesystem-15-SP5-2024-123"]
    assert ("openssl-3", None, "3.0.8-150500.5.20.1") in info["SUSE-SLE-Module-Basesystem-15-SP5-2024-123"]  # srcpackage:
    assert ("libopenssl-3-devel", "noarch", "3.0.8-150500.5.20.1") in info["SUSE-SLE-Module-Basesystem-15-SP5-2024-123"]


def test_old_zypper_info_layout():
    text = ("Information for patch SUSE-2019-1:\n\nName: SUSE-2019-1\nStatus: needed\nProvides:\npatch:SUSE-2019-1 = 1\n\n"
            "Conflicts:\nbash.x86_64 < 4.4-19.6.1\nbash-doc.noarch < 4.4-19.6.1\n")
    assert zypper.parse_patch_info(text) == {"SUSE-2019-1": [("bash", "x86_64", "4.4-19.6.1"), ("bash-doc", "noarch", "4.4-19.6.1")]}


@pytest.mark.parametrize("name,classification,severity,advisories,cves,reboot", [
    ("curl", "security", "critical", ["SUSE-SLE-Module-Basesystem-15-SP5-2024-210"], ["CVE-2023-38545"], False),
    ("libcurl4", "security", "critical", ["SUSE-SLE-Module-Basesystem-15-SP5-2024-210"], ["CVE-2023-38545"], False),
    ("openssl-3", "security", "important", ["SUSE-SLE-Module-Basesystem-15-SP5-2024-123"], ["CVE-2023-6129", "CVE-2023-6237"],
     False),
    ("kernel-default", "security", "important", ["SUSE-SLE-Module-Basesystem-15-SP5-2024-305"],
     ["CVE-2023-6817", "CVE-2024-0565"], True),
    ("timezone", "bugfix", "moderate", ["SUSE-SLE-Module-Basesystem-15-SP5-2024-400"], [], False),
    ("vendor-agent", "other", "unspecified", [], [], False),     # a vendor repo without patches
    # a needed patch whose packages are unknown is kept, under a name zypper installs
    ("patch:SUSE-SLE-Module-Server-Applications-15-SP5-2024-420", "enhancement", "low",
     ["SUSE-SLE-Module-Server-Applications-15-SP5-2024-420"], [], False),
])
def test_records(records, name, classification, severity, advisories, cves, reboot):
    record = records[name]
    assert (record["classification"], record["severity"], record["advisories"], record["cves"], record["reboot_hint"]) == (
        classification, severity, advisories, cves, reboot)
    assert record["manager"] == "zypper"
    assert set(record) == set(make_patch("x", "noarch", None, "1", "o", "other"))


def test_installed_version_newer_than_the_fix_is_not_attributed():
    patches = zypper.parse_patches(fixture("zypper_list_patches.xml"))
    info = zypper.parse_patch_info(fixture("zypper_info_patches.txt"))
    updates = [{"name": "curl", "arch": "x86_64", "installed_version": "8.0.1-150400.5.41.1",
                "candidate_version": "8.0.1-150400.5.44.1", "repo": "r"}]
    record = [r for r in zypper.build_patches(updates, patches, info, make_patch) if r["name"] == "curl"][0]
    assert record["advisories"] == [] and record["classification"] == "other"


@pytest.mark.parametrize("text", ["", "Repository 'x' is invalid.", "<stream><update-status>"])
def test_not_xml_is_a_clear_error(text):
    with pytest.raises(zypper.ZypperOutputError):
        zypper.parse_patches(text)


def test_messages():
    text = ('<?xml version="1.0"?><stream><message type="error">Repository \'SLES\' is invalid.</message>'
            '<message type="info">Loading</message></stream>')
    assert zypper.messages(text) == [("error", "Repository 'SLES' is invalid.")]
