"""win_updates (search mode) results mapped to patch records; fixture in the module's RETURN shape."""

import json
import os

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import windows_updates as wu
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.patch import make_patch

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


@pytest.fixture(scope="module")
def result():
    with open(os.path.join(FIXTURES, "win_updates_searched.json")) as handle:
        return json.load(handle)


@pytest.mark.parametrize("categories,expected", [
    (["Security Updates", "Windows Server 2019"], "security"),
    (["Critical Updates"], "security"),
    (["Update Rollups", "Windows Server 2016"], "bugfix"),
    (["Updates"], "bugfix"),
    (["Feature Packs"], "enhancement"),
    (["Service Packs"], "enhancement"),
    (["Definition Updates", "Microsoft Defender Antivirus"], "other"),
    (["Drivers"], "other"),
    (["Windows Server 2019"], "other"),
    (["Updates", "Security Updates"], "security"),   # the most important wins
])
def test_classification(categories, expected):
    assert wu.classify(categories) == expected


@pytest.mark.parametrize("title,expected", [
    ("2024-01 Cumulative Update for Windows Server 2019 (1809) for x64-based Systems (KB5034127)", "2024-01-09"),
    ("2024-02 Cumulative Update for Windows Server 2022 for x64-based Systems (KB5034770)", "2024-02-13"),
    ("2024-01 Cumulative Update Preview for .NET Framework (KB5034204)", "2024-01-23"),
    ("2023-10 Servicing Stack Update (KB5031589)", "2023-10-10"),
    ("Windows Malicious Software Removal Tool x64 - v5.120 (KB890830)", None),
])
def test_release_date_is_patch_tuesday_of_the_title_month(title, expected):
    assert wu.release_date_from_title(title) == expected


def test_records(result):
    records = dict((r["name"], r) for r in wu.build_patches(result, make_patch))
    assert sorted(records) == ["KB2267602", "KB5031006", "KB5034127", "KB5034204", "KB5034863", "KB890830"]
    cu = records["KB5034127"]
    assert cu["classification"] == "security" and cu["severity"] == "unspecified"
    assert cu["arch"] == "x64" and cu["reboot_hint"] is True
    assert cu["candidate_version"] == "0b3c3a5b-9f73-4b5e-9d31-8d5f6c7e2c11"
    assert cu["origin"] == "Windows Update: Windows Server 2019"
    assert cu["advisories"] == ["KB5034127"] and cu["manager"] == "windows"
    assert records["KB2267602"]["classification"] == "other" and records["KB2267602"]["reboot_hint"] is False
    assert records["KB890830"]["origin"] == "Windows Update: Windows Server 2019, Windows Server 2016"
    assert records["KB5031006"]["classification"] == "enhancement"
    assert set(cu) == set(make_patch("x", None, None, "1", "o", "other")) | {"title"}


def test_installed_and_filtered_updates_are_left_out(result):
    names = [r["name"] for r in wu.build_patches(result, make_patch)]
    assert "KB5033371" not in names                       # installed
    assert "VMware, Inc. - Display - 8.17.3.5" not in names   # filtered_updates
    assert "KB5033371" in [r["name"] for r in wu.build_patches(result, make_patch, include_installed=True)]


def test_details_give_severity_cves_and_date(result):
    details = {"KB5034127": {"msrc_severity": "Critical", "cves": ["CVE-2024-20674", "CVE-2024-20674"],
                             "release_date": "2024-01-09T18:00:00Z", "reboot_required": True},
               "5034863": {"msrc_severity": "Important"}}
    records = dict((r["name"], r) for r in wu.build_patches(result, make_patch, details=details))
    assert records["KB5034127"]["severity"] == "critical"
    assert records["KB5034127"]["cves"] == ["CVE-2024-20674"]
    assert records["KB5034127"]["release_date"] == "2024-01-09T18:00:00Z"
    assert records["KB5034863"]["severity"] == "important"      # details keyed without the KB prefix


def test_msrc_severity_on_the_update_itself():
    result = {"updates": {"a": {"id": "a", "title": "t", "kb": ["1"], "categories": ["Security Updates"],
                                "msrc_severity": "Moderate", "installed": False}}}
    assert wu.build_patches(result, make_patch)[0]["severity"] == "moderate"


def test_update_without_kb_is_named_by_title():
    result = {"updates": {"b": {"id": "b", "title": "Intel - System - 10.1.1.44", "kb": [], "categories": ["Drivers"]}}}
    record = wu.build_patches(result, make_patch)[0]
    assert record["name"] == "Intel - System - 10.1.1.44" and record["advisories"] == [] and record["reboot_hint"] is True
