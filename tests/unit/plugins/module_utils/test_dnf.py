"""dnf/yum parsers, tested on output recorded from dnf 4.14 (fixtures/README.md) and yum's documented format."""

import os

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import dnf
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.patch import make_patch

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


@pytest.fixture(scope="module")
def records():
    updates = dnf.parse_check_update(fixture("dnf_check_update.txt"))[0]
    advisories = dnf.parse_updateinfo_info(fixture("dnf_updateinfo_info.txt"))
    installed = dnf.parse_rpm_qa(fixture("rpm_qa.txt"))
    return dict((p["name"], p) for p in dnf.build_patches(updates, advisories, installed, make_patch))


@pytest.mark.parametrize("left,right,expected", [
    ("1.0", "1.0", 0),
    ("1.0", "1.1", -1),
    ("1.10", "1.9", 1),
    ("1.0a", "1.0", 1),          # a trailing letter segment is newer than nothing
    ("1.0", "1.0.1", -1),
    ("1.0~rc1", "1.0", -1),      # tilde sorts before the release
    ("1.0^git1", "1.0", 1),      # caret sorts after it
    ("1.0^git1", "1.0.1", -1),
    ("2.34-83.el9_3.7", "2.34-83.el9", 1),
    ("001", "1", 0),             # leading zeros do not count
    ("1.a", "1.1", -1),          # numeric segments are newer than alpha ones
    ("", "1", -1),
])
def test_rpmvercmp(left, right, expected):
    result = dnf.rpmvercmp(left, right)
    assert (result > 0) - (result < 0) == expected


@pytest.mark.parametrize("left,right,expected", [
    ("1:3.0.7-16.el9", "3.0.9-1.el9", 1),       # epoch wins
    ("0:1.0-1", "1.0-1", 0),
    ("7.76.1-26.el9_3.2", "7.76.1-23.el9", 1),
    ("5.14.0-362.13.1.el9_3", "5.14.0-362.8.1.el9_3", 1),
    ("2024a-1.el9", "2023c-1.el9", 1),
])
def test_compare_evr(left, right, expected):
    result = dnf.compare_evr(left, right)
    assert (result > 0) - (result < 0) == expected


@pytest.mark.parametrize("text,expected", [
    ("fp-openssl-1:3.0.7-18.el9_2.noarch", ("fp-openssl", "1", "3.0.7", "18.el9_2", "noarch")),
    ("fp-curl-7.76.1-26.el9_3.2.noarch.rpm", ("fp-curl", None, "7.76.1", "26.el9_3.2", "noarch")),
    ("kernel-core-5.14.0-362.13.1.el9_3.x86_64", ("kernel-core", None, "5.14.0", "362.13.1.el9_3", "x86_64")),
])
def test_split_nevra(text, expected):
    assert dnf.split_nevra(text) == expected


def test_check_update_with_obsoletes():
    updates, obsoletes = dnf.parse_check_update(fixture("dnf_check_update.txt"))
    by_name = dict((u["name"], u) for u in updates)
    assert len(updates) == 8
    assert by_name["fp-openssl"] == {"name": "fp-openssl", "arch": "noarch", "candidate_version": "1:3.0.7-18.el9_2",
                                     "repo": "fp-local"}
    assert by_name["fp-kernel-core"]["arch"] == "x86_64"
    assert by_name["fp-newtool"]["obsoletes"] is True
    assert obsoletes == [{"name": "fp-oldtool", "arch": "noarch", "installed_version": "1.0-1.el9", "obsoleted_by": "fp-newtool"}]


def test_check_update_wrapped_names_and_noise():
    text = ("Last metadata expiration check: 0:12:01 ago on Tue 20 Feb 2024 10:00:00 AM UTC.\n\n"
            "NetworkManager-libnm.x86_64          1:1.44.0-4.el9_3          baseos\n"
            "python3-a-very-long-package-name-that-wraps.noarch\n"
            "                                     2.1-3.el9                 appstream\n"
            "Security: kernel-core-5.14.0-362.13.1.el9_3.x86_64 is an installed security update\n")
    updates, obsoletes = dnf.parse_check_update(text)
    assert [(u["name"], u["candidate_version"], u["repo"]) for u in updates] == [
        ("NetworkManager-libnm", "1:1.44.0-4.el9_3", "baseos"),
        ("python3-a-very-long-package-name-that-wraps", "2.1-3.el9", "appstream")]
    assert obsoletes == []


def test_updateinfo_info_fields():
    advisories = dict((a["id"], a) for a in dnf.parse_updateinfo_info(fixture("dnf_updateinfo_info.txt")))
    assert sorted(advisories) == ["RLBA-2024:0301", "RLEA-2024:0300", "RLSA-2023:1200", "RLSA-2023:1405",
                                  "RLSA-2024:0120", "RLSA-2024:0250", "RLSA-2024:0310"]
    openssl = advisories["RLSA-2023:1405"]
    assert openssl["type"] == "security" and openssl["severity"] == "important"
    assert openssl["cves"] == ["CVE-2022-4304", "CVE-2023-0286"]   # from the CVEs field, continuation included
    assert openssl["date"] == "2023-03-28T08:00:00+00:00"          # dnf 4 prints the later of issued/updated
    assert openssl["bugs"] == ["2164440"]
    assert openssl["files"] == [("fp-openssl", None, "3.0.7", "18.el9_2", "noarch")]
    assert advisories["RLEA-2024:0300"]["severity"] == "unspecified"    # "Severity: None"
    assert advisories["RLBA-2024:0301"]["type"] == "bugfix"
    assert advisories["RLBA-2024:0301"]["cves"] == []


YUM_INFO = """Loaded plugins: extras_suggestions, langpacks, priorities, update-motd
===============================================================================
  Amazon Linux 2 2023-02-14 - ALAS2-2023-1908 openssl
===============================================================================
  Update ID : ALAS2-2023-1908
    Release :
       Type : security
     Status : final
     Issued : 2023-02-08 22:12
    Updated : 2023-02-14 19:01
       CVEs : CVE-2022-4304
            : CVE-2023-0215
            : CVE-2023-0286
Description : Package updates are available for Amazon Linux 2 that fix the
            : following vulnerabilities:
            : CVE-2023-0286: There is a type confusion vulnerability (CVE-2099-0001)
   Severity : important

===============================================================================
  Amazon Linux 2 2023-03-01 - ALAS2-2023-1950 curl
===============================================================================
  Update ID : ALAS2-2023-1950
       Type : security
     Issued : 2023-03-01 00:00
       CVEs : CVE-2023-23914
Description : curl
   Severity : medium
"""

YUM_LIST = """ALAS2-2023-1908 important/Sec. openssl-1:1.0.2k-24.amzn2.0.6.x86_64
ALAS2-2023-1908 important/Sec. openssl-libs-1:1.0.2k-24.amzn2.0.6.x86_64
ALAS2-2023-1950 medium/Sec.    curl-8.0.1-1.amzn2.0.1.x86_64
ALAS2-2023-1990 bugfix         tzdata-2023c-1.amzn2.0.1.noarch
updateinfo list done
"""


def test_yum_info_and_list():
    advisories = dict((a["id"], a) for a in dnf.parse_updateinfo_info(YUM_INFO))
    first = advisories["ALAS2-2023-1908"]
    assert first["cves"] == ["CVE-2022-4304", "CVE-2023-0215", "CVE-2023-0286"]  # not the one in the description
    assert first["date"] == "2023-02-08T22:12:00+00:00"                           # Issued preferred over Updated
    assert first["severity"] == "important" and first["files"] == []
    assert advisories["ALAS2-2023-1950"]["severity"] == "moderate"                 # Amazon's "medium"
    entries = dnf.parse_updateinfo_list(YUM_LIST)
    assert [(e["id"], e["type"], e["severity"], e["nevra"][0]) for e in entries] == [
        ("ALAS2-2023-1908", "security", "important", "openssl"),
        ("ALAS2-2023-1908", "security", "important", "openssl-libs"),
        ("ALAS2-2023-1950", "security", "moderate", "curl"),
        ("ALAS2-2023-1990", "bugfix", "unspecified", "tzdata")]


def test_yum_records_join_list_and_info():
    updates = dnf.parse_check_update("openssl-libs.x86_64    1:1.0.2k-24.amzn2.0.6    amzn2-core\n"
                                     "tzdata.noarch          2023c-1.amzn2.0.1        amzn2-core\n")[0]
    installed = {("openssl-libs", "x86_64"): "1:1.0.2k-24.amzn2.0.4", ("tzdata", "noarch"): "2022g-1.amzn2"}
    records = dnf.build_patches(updates, dnf.parse_updateinfo_info(YUM_INFO), installed, make_patch,
                                dnf.parse_updateinfo_list(YUM_LIST), manager="yum")
    ssl, tz = records
    assert ssl["advisories"] == ["ALAS2-2023-1908"] and ssl["cves"] == ["CVE-2022-4304", "CVE-2023-0215", "CVE-2023-0286"]
    assert ssl["severity"] == "important" and ssl["manager"] == "yum"
    assert tz["classification"] == "bugfix" and tz["advisories"] == ["ALAS2-2023-1990"]


def test_updateinfo_list_verbose_has_dates():
    entries = dnf.parse_updateinfo_list(fixture("dnf_updateinfo_list.txt"))
    assert len(entries) == 7
    curl = [e for e in entries if e["id"] == "RLSA-2024:0120"][0]
    assert curl["severity"] == "critical" and curl["date"] == "2024-01-10T00:00:00+00:00"
    assert [e["nevra"][1] for e in entries if e["nevra"][0] == "fp-openssl"] == ["1", "1"]


def test_rpm_qa_keeps_newest_of_installonly():
    installed = dnf.parse_rpm_qa("kernel-core\tx86_64\t(none)\t5.14.0\t362.8.1.el9_3\n"
                                 "kernel-core\tx86_64\t(none)\t5.14.0\t362.13.1.el9_3\n"
                                 "gpg-pubkey\t(none)\t(none)\tfd431d51\t4ae0493b\n"
                                 "openssl\tx86_64\t1\t3.0.7\t16.el9\n")
    assert installed == {("kernel-core", "x86_64"): "5.14.0-362.13.1.el9_3", ("openssl", "x86_64"): "1:3.0.7-16.el9"}


@pytest.mark.parametrize("name,classification,severity,advisories,cves,release", [
    ("fp-curl", "security", "critical", ["RLSA-2024:0120"], ["CVE-2023-38545", "CVE-2023-38546"], "2024-01-10"),
    # two advisories apply to one update: highest severity, union of CVEs, newest date
    ("fp-openssl", "security", "important", ["RLSA-2023:1200", "RLSA-2023:1405"],
     ["CVE-2022-4304", "CVE-2022-4450", "CVE-2023-0286"], "2023-03-28"),
    ("fp-glibc", "security", "low", ["RLSA-2024:0250"], ["CVE-2023-4806"], "2024-01-15"),
    ("fp-kernel-core", "security", "important", ["RLSA-2024:0310"], ["CVE-2023-6817", "CVE-2023-6932"], "2024-01-23"),
    ("fp-tzdata", "enhancement", "unspecified", ["RLEA-2024:0300"], [], "2024-02-05"),
    ("fp-a-very-long-package-name-for-wrapping-tests", "bugfix", "unspecified", ["RLBA-2024:0301"], [], "2024-02-06"),
    ("fp-tools", "other", "unspecified", [], [], None),   # no advisory covers it
])
def test_records(records, name, classification, severity, advisories, cves, release):
    record = records[name]
    assert record["classification"] == classification
    assert record["severity"] == severity
    assert record["advisories"] == advisories
    assert record["cves"] == cves
    assert (record["release_date"] or "")[:10] == (release or "")
    assert record["manager"] == "dnf"
    assert set(record) == set(make_patch("x", "noarch", None, "1", "o", "other"))   # the one record shape


def test_installed_versions_in_records(records):
    assert records["fp-openssl"]["installed_version"] == "1:3.0.7-16.el9"
    assert records["fp-kernel-core"]["installed_version"] == "5.14.0-362.8.1.el9_3"
    assert records["fp-newtool"]["installed_version"] is None


def test_advisory_older_than_installed_does_not_apply():
    updates = [{"name": "fp-openssl", "arch": "noarch", "candidate_version": "1:3.0.7-18.el9_2", "repo": "r"}]
    advisories = dnf.parse_updateinfo_info(fixture("dnf_updateinfo_info.txt"))
    # installed already has -17: only the -18 advisory is still pending
    record = dnf.build_patches(updates, advisories, {("fp-openssl", "noarch"): "1:3.0.7-17.el9_2"}, make_patch)[0]
    assert record["advisories"] == ["RLSA-2023:1405"]
    assert "CVE-2022-4450" not in record["cves"]


def test_reboot_suggested_sets_the_hint():
    text = fixture("dnf_updateinfo_info.txt").replace("   Severity: Low", "   Severity: Low\n   Reboot Suggested: True")
    updates = [{"name": "fp-glibc", "arch": "x86_64", "candidate_version": "2.34-83.el9_3.7", "repo": "r"}]
    record = dnf.build_patches(updates, dnf.parse_updateinfo_info(text), {}, make_patch)[0]
    assert record["reboot_hint"] is True
