"""Severity for apt patches from the Debian security tracker JSON and Ubuntu OVAL (fixtures in their published format)."""

import bz2
import gzip
import lzma
import os

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import vulndata

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


@pytest.fixture(scope="module")
def tracker():
    return vulndata.load(fixture("debian_tracker.json"))


def patch(name, installed, candidate, cves=(), severity="unspecified"):
    return {"name": name, "installed_version": installed, "candidate_version": candidate, "cves": list(cves),
            "severity": severity, "manager": "apt"}


@pytest.mark.parametrize("urgency,scope,expected", [
    ("high", "local", "important"),
    ("high", "remote", "critical"),
    ("high**", "remote", "critical"),
    ("medium", "remote", "moderate"),
    ("low", None, "low"),
    ("unimportant", "remote", "low"),
    ("not yet assigned", "remote", "unspecified"),
    ("end-of-life", None, "unspecified"),
    (None, None, "unspecified"),
])
def test_urgency_mapping(urgency, scope, expected):
    assert vulndata.urgency_severity(urgency, scope) == expected


def test_remote_high_rule_can_be_turned_off():
    assert vulndata.urgency_severity("high", "remote", remote_high_is_critical=False) == "important"


@pytest.mark.parametrize("name,installed,candidate,cves,expected_cves,expected", [
    # libcurl4 built from curl: the tracker adds the CVEs fixed between installed and candidate;
    # CVE-2023-38545 is high + remote -> critical
    ("libcurl4", "7.88.1-10+deb12u3", "7.88.1-10+deb12u5", [],
     ["CVE-2023-38545", "CVE-2023-38546", "CVE-2023-46218"], "critical"),
    # installed already has deb12u4: only CVE-2023-46218 (bookworm: not yet assigned; sid: medium)
    ("libcurl4", "7.88.1-10+deb12u4", "7.88.1-10+deb12u5", [], ["CVE-2023-46218"], "moderate"),
    # candidate below the fix: nothing added, the open CVE-2024-2398 is never counted as fixed
    ("libcurl4", "7.88.1-10+deb12u4", "7.88.1-10+deb12u4", [], [], "unspecified"),
    # unimportant (low) and medium: medium wins; TEMP- ids are not CVEs
    ("libssl3", "3.0.11-1~deb12u2", "3.0.13-1~deb12u1", ["CVE-2023-5678"], ["CVE-2023-5678", "CVE-2024-0727"], "moderate"),
    # bookworm says not yet assigned, sid says high (local scope): important
    ("linux-image-amd64", "6.1.69-1", "6.1.76-1", ["CVE-2024-1086"], ["CVE-2024-1086"], "important"),
    # a package the tracker does not know keeps its changelog CVEs and stays unspecified
    ("fp-tools", "1.0", "1.1", ["CVE-2026-99999"], ["CVE-2026-99999"], "unspecified"),
])
def test_tracker_severity(tracker, name, installed, candidate, cves, expected_cves, expected):
    sources = {"libcurl4": "curl", "libssl3": "openssl", "linux-image-amd64": "linux"}
    result = vulndata.apply([patch(name, installed, candidate, cves)], tracker, "bookworm", sources)[0]
    assert result["cves"] == expected_cves
    assert result["severity"] == expected


def test_tracker_without_release_uses_changelog_cves_only(tracker):
    result = vulndata.apply([patch("curl", "7.88.1-10+deb12u3", "7.88.1-10+deb12u5", ["CVE-2023-38546"])], tracker, None)[0]
    assert result["cves"] == ["CVE-2023-38546"] and result["severity"] == "low"


def test_a_higher_existing_severity_is_kept(tracker):
    result = vulndata.apply([patch("glibc", "2.36-9+deb12u4", "2.36-9+deb12u5", ["CVE-2023-4911"], "critical")],
                            tracker, "bookworm")[0]
    assert result["severity"] == "critical"


def test_apply_does_not_change_its_input(tracker):
    original = patch("libcurl4", "7.88.1-10+deb12u3", "7.88.1-10+deb12u5")
    vulndata.apply([original], tracker, "bookworm", {"libcurl4": "curl"})
    assert original["cves"] == [] and original["severity"] == "unspecified"


def test_targeted_extraction_equals_full_load(monkeypatch):
    text = fixture("debian_tracker.json")
    full = vulndata.parse_tracker(text)
    monkeypatch.setattr(vulndata, "_FULL_LOAD_LIMIT", 0)
    partial = vulndata.parse_tracker(text, ["curl", "linux", "absent"])
    assert partial == {"curl": full["curl"], "linux": full["linux"]}


def test_targeted_extraction_of_pretty_printed_json(monkeypatch):
    import json
    text = json.dumps(json.loads(fixture("debian_tracker.json")), indent=2)
    monkeypatch.setattr(vulndata, "_FULL_LOAD_LIMIT", 0)
    assert list(vulndata.parse_tracker(text, ["glibc"])) == ["glibc"]


def test_oval_priorities():
    cves = vulndata.parse_oval(fixture("ubuntu_cve_oval.xml"))
    assert cves == {"CVE-2023-38545": "important", "CVE-2023-38546": "low", "CVE-2023-39615": "moderate",
                    "CVE-2024-0001": "low", "CVE-2024-0002": "critical"}


def test_oval_severity_of_a_patch_is_the_highest_of_its_cves():
    data = vulndata.load(fixture("ubuntu_cve_oval.xml"))
    result = vulndata.apply([patch("curl", "7.81.0-1ubuntu1.13", "7.81.0-1ubuntu1.14", ["CVE-2023-38546", "CVE-2023-38545"])],
                            data)[0]
    assert data["format"] == "oval" and result["severity"] == "important"
    assert result["cves"] == ["CVE-2023-38546", "CVE-2023-38545"]    # OVAL does not add CVEs


@pytest.mark.parametrize("compress", [lambda b: b, gzip.compress, bz2.compress, lzma.compress])
def test_compressed_files(compress):
    raw = fixture("ubuntu_cve_oval.xml").encode()
    assert vulndata.read_text(compress(raw)) == raw.decode()


@pytest.mark.parametrize("text", ["", "CVE-2023-1 high", "[1, 2]", "<oval_definitions><definitions>"])
def test_bad_data_is_a_clear_error(text):
    with pytest.raises(vulndata.VulnDataError):
        vulndata.load(text)


@pytest.mark.parametrize("data", [b"\x1f\x8b\x08garbage", b"BZhgarbage", b"\xfd7zXZ\x00garbage"])
def test_broken_compressed_files(data):
    with pytest.raises(vulndata.VulnDataError, match="cannot decompress"):
        vulndata.read_text(data)
