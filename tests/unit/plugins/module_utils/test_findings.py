"""Export readers, host matching and de-duplication (files written from the vendors' published formats)."""

import json
import os

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import findings as F

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "findings")
INVENTORY = [
    {"name": "web-1", "instance_id": "i-0abc0001", "fqdn": "web-1.example.com", "ip": ["10.0.0.11"]},
    {"name": "db-1", "instance_id": "i-0abc0002", "fqdn": "db-1.example.com", "ip": ["10.0.0.12"]},
    {"name": "lab-a", "ip": ["127.0.0.1"]},
    {"name": "lab-b", "ip": ["127.0.0.1"]},
]


def read(name, fmt=None):
    found = F.read_file(os.path.join(HERE, name), fmt)
    return F.assign(found, F.IdentityIndex(INVENTORY))


def test_trivy_reads_host_package_versions_and_keeps_no_fix_and_non_ascii():
    found = read("trivy.json")
    assert {f["host"] for f in found} == {"web-1"}
    assert found[0]["matched_by"] == "fqdn"
    first = found[0]
    assert (first["cve"], first["package"], first["installed_version"], first["fixed_version"], first["severity"], first["cvss"]) == (
        "CVE-2026-10001", "fp-openssl", "3.0.15-1~deb12u1", "3.0.15-1~deb12u2", "high", 7.5)
    no_fix = [f for f in found if f["cve"] == "CVE-2026-99999"][0]
    assert no_fix["fixed_version"] is None  # Status affected: no fix yet
    cafe = [f for f in found if f["package"] == "libcafé"][0]
    assert cafe["fixed_version"] is None and cafe["severity"] == "unknown"


def test_duplicates_merge_into_one_record_per_host_cve_package():
    merged = F.dedupe(read("trivy.json") + read("tenable_chunk.json", "tenable_io_json"))
    openssl = [f for f in merged if f["cve"] == "CVE-2026-10001"]
    assert len(openssl) == 1
    assert openssl[0]["severity"] == "high"  # the higher of HIGH and MEDIUM
    assert openssl[0]["sources"] == ["trivy", "tenable_io"]
    assert openssl[0]["first_seen"] == "2026-10-30T12:00:00Z"


def test_grype_uses_the_related_cve_and_the_fix_state():
    found = read("grype.json")
    assert [(f["cve"], f["package"], f["fixed_version"], f["severity"], f["host"]) for f in found] == [
        ("CVE-2026-30001", "fp-tools", "1.1", "high", "db-1"),
        ("CVE-2026-77777", "fp-stable", None, "low", "db-1")]
    assert found[0]["source_ref"] == "DLA-4001-1" and found[0]["cvss"] == 8.1


def test_osv_scanner_output_names_no_host_so_the_source_gives_it():
    found = F.assign(F.read_file(os.path.join(HERE, "osv.json")), F.IdentityIndex(INVENTORY), host="web-1")
    assert [(f["cve"], f["package"], f["fixed_version"], f["severity"], f["cvss"], f["host"], f["matched_by"]) for f in found] == [
        ("CVE-2026-20001", "fp-webserver", "2.4.62-1~deb12u2", "medium", 6.5, "web-1", "host")]


def test_nessus_matches_by_instance_id_and_reports_the_unknown_host():
    found = read("scan.nessus")
    web = [f for f in found if f["host"] == "web-1"]
    assert sorted((f["cve"], f["package"], f["fixed_version"], f["matched_by"]) for f in web) == [
        ("CVE-2026-10001", "fp-openssl", "3.0.15-1~deb12u2", "instance_id"),
        ("CVE-2026-10002", "fp-openssl", "3.0.15-1~deb12u2", "instance_id")]
    unmatched = [f for f in found if f["host"] is None]
    assert [(f["cve"], f["severity"], f["cvss"]) for f in unmatched] == [("CVE-2026-50001", "critical", 9.8)]
    hosts = F.unmatched_hosts(unmatched)
    assert hosts == [{"identity": {"name": "vieux-serveur-é", "ip": "10.9.9.9"}, "sources": ["tenable"], "findings": 1}]


def test_qualys_xml_needs_the_knowledgebase_for_cves():
    found = F.assign(F.parse_qualys_xml("x.xml", open(os.path.join(HERE, "qualys_detection.xml")).read(),
                                        {"178901": {"cves": ["CVE-2024-40001", "CVE-2026-40002"], "cvss": "7.8"}}),
                     F.IdentityIndex(INVENTORY))
    active = [f for f in found if f["status"] == "open"]
    assert [(f["cve"], f["package"], f["installed_version"], f["fixed_version"], f["severity"], f["host"]) for f in active] == [
        ("CVE-2024-40001", "fp-libdemo", "1.2-1", "1.2-1+deb12u2", "high", "db-1"),
        ("CVE-2026-40002", "fp-libdemo", "1.2-1", "1.2-1+deb12u2", "high", "db-1")]
    # without the KnowledgeBase the QID stands in for the CVE; a Fixed detection is closed
    bare = read("qualys_detection.xml")
    assert [(f["cve"], f["status"]) for f in bare] == [("QID-178901", "open"), ("QID-178902", "closed")]


def test_qualys_csv_skips_the_preamble_and_keeps_the_unknown_host(tmp_path):
    found = read("qualys_scan.csv")
    # Qualys writes CRLF line ends: the same file with them reads the same
    crlf = tmp_path / "crlf.csv"
    crlf.write_bytes(open(os.path.join(HERE, "qualys_scan.csv"), "rb").read().replace(b"\n", b"\r\n"))
    assert F.read_file(str(crlf)) == F.read_file(os.path.join(HERE, "qualys_scan.csv"))
    assert [(f["cve"], f["package"], f["fixed_version"], f["host"]) for f in found] == [
        ("CVE-2024-40001", "fp-libdemo", "1.2-1+deb12u2", "db-1"),
        ("CVE-2026-40002", "fp-libdemo", "1.2-1+deb12u2", "db-1"),
        ("CVE-2026-30001", None, None, None)]
    assert found[2]["identity"]["fqdn"] == "ünbekannt.example.de"


def test_a_shared_ip_matches_no_host():
    index = F.IdentityIndex(INVENTORY)
    assert index.match({"ip": "127.0.0.1"}) == (None, None)
    assert index.match({"ip": "10.0.0.12"}) == ("db-1", "ip")
    assert index.match({"name": "WEB-1"}) == ("web-1", "name")
    assert index.match({"fqdn": "web-1.other.example"}) == ("web-1", "name")


@pytest.mark.parametrize("name,content,expected", [
    ("bad.json", '{"Results": [\n  {"Vulnerabilities": [\n    {"PkgName": "x",}\n]}]}', r"bad\.json: line 3 column \d+: not JSON"),
    ("miss.json", json.dumps({"Results": [{"Vulnerabilities": [
        {"PkgName": "a", "VulnerabilityID": "CVE-1-1"}, {"PkgName": "b"}]}]}),
     r"miss\.json: Results\[0\]\.Vulnerabilities\[1\]\.VulnerabilityID: expected a non-empty string"),
    ("bad.nessus", "<NessusClientData_v2>\n<Report>\n<ReportHost name='a'>\n</Report>",
     r"bad\.nessus: line 4 column \d+: not well-formed XML"),
    ("cve.nessus", "<NessusClientData_v2><Report><ReportHost name='a'><ReportItem pluginID='1'><cve>CVE-X</cve></ReportItem>"
                   "</ReportHost></Report></NessusClientData_v2>",
     r"cve\.nessus: ReportHost\[1\] \(a\)/ReportItem\[1\] \(plugin 1\)/cve: 'CVE-X' is not a CVE id"),
    ("q.csv", '"IP","DNS","QID","CVE ID"\n"10.0.0.1","a","12","CVE-2026-1"\n"10.0.0.2","b","x1",""\n',
     r"q\.csv: line 3: QID 'x1' is not a number"),
    ("short.csv", '"IP","DNS","QID"\n"10.0.0.1","a"\n', r"short\.csv: line 2: 2 fields, the header has 3"),
    ("latin1.json", None, r"latin1\.json: line 2: not UTF-8"),
    ("what.txt", "hello", r"what\.txt: line 1: not a findings export"),
])
def test_malformed_exports_name_the_file_and_the_line_or_element(tmp_path, name, content, expected):
    path = tmp_path / name
    if content is None:
        path.write_bytes(b'{"Results": []\n, "x": "caf\xe9"}')
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(F.FindingsError, match=expected):
        F.read_file(str(path))


def test_tenable_and_qualys_package_tables():
    assert F.tenable_packages("Remote package installed : openssl-1.0.2k-19.el7\n  Should be : openssl-1.0.2k-21.el7\n") == [
        ("openssl", "1.0.2k-19.el7", "1.0.2k-21.el7")]
    assert F.qualys_packages("Package\tInstalled Version\tRequired Version\nzlib1g\t1:1.2.13\t1:1.3\n") == [("zlib1g", "1:1.2.13", "1:1.3")]
