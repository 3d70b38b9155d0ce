"""Findings APIs against local stand-ins: Tenable and Qualys contract servers (tests/integration/findings_servers),
AWS Inspector2 against a moto server (moto 5.2 has list_findings; its answers are queued through moto's
/moto-api/static/inspector2/findings-results, and it never pages: paging is tested with botocore's Stubber in
tests/unit/plugins/module_utils/test_findings_sources.py). Needs no local test host."""

import json
import os
import subprocess
import sys
import urllib.request

import pytest
from cr_servers.base import free_port
from findings_servers.qualys import QualysServer
from findings_servers.tenable import TenableServer
from fleetlib import ROOT, VENV_BIN, own_moto

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import findings_sources as S
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.http_client import HttpError

pytestmark = pytest.mark.integration
HOSTS = [{"name": "web-1", "instance_id": "i-0abc0001", "fqdn": "web-1.example.com", "ip": ["10.0.0.11"]},
         {"name": "db-1", "instance_id": "i-0abc0002", "fqdn": "db-1.example.com", "ip": ["10.0.0.12"]}]


def vuln(host, ip, cve, package, installed, fixed, state="OPEN"):
    return {"asset": {"uuid": "u-" + host, "hostname": host.split(".")[0], "fqdn": [host], "ipv4": ip},
            "plugin": {"id": 300101, "cve": [cve], "cvss3_base_score": 7.5},
            "output": "Remote package installed : %s_%s\nShould be : %s_%s\n" % (package, installed, package, fixed),
            "severity": "high", "state": state, "first_found": "2026-11-01T00:00:00Z", "last_found": "2026-12-03T00:00:00Z"}


CHUNKS = [
    [vuln("web-1.example.com", "10.0.0.11", "CVE-2026-10001", "fp-openssl", "3.0.15-1~deb12u1", "3.0.15-1~deb12u2"),
     vuln("web-1.example.com", "10.0.0.11", "CVE-2026-11111", "fp-old", "1.0", "1.1", state="FIXED")],
    [vuln("db-1.example.com", "10.0.0.12", "CVE-2026-20001", "fp-webserver", "2.4.62-1~deb12u1", "2.4.62-1~deb12u2"),
     vuln("stranger.example.org", "192.0.2.7", "CVE-2026-20001", "fp-webserver", "2.4.62-1~deb12u1", "2.4.62-1~deb12u2")],
]


def tenable_spec(server, **extra):
    return dict({"type": "tenable_io", "url": server.url, "access_key": "ak-test", "secret_key": "sk-test",
                 "poll_interval": 0, "export_timeout": 30}, **extra)


def test_tenable_export_pages_through_its_chunks_and_waits_out_a_429():
    with TenableServer(CHUNKS) as server:
        server.fail_next("GET", r"/status$", 429, retry_after=0)
        result = S.collect([tenable_spec(server)], HOSTS)
    assert result["errors"] == []
    found = sorted((f["host"], f["cve"], f["package"], f["fixed_version"]) for h in result["by_host"].values() for f in h)
    assert found == [("db-1", "CVE-2026-20001", "fp-webserver", "2.4.62-1~deb12u2"),
                     ("web-1", "CVE-2026-10001", "fp-openssl", "3.0.15-1~deb12u2")]  # FIXED filtered out by state
    assert result["unmatched_hosts"][0]["identity"]["fqdn"] == "stranger.example.org"
    start = server.calls(r"/vulns/export$")[0]
    assert json.loads(start["body"]) == {"num_assets": 500, "filters": {"state": ["OPEN", "REOPENED"]}}
    headers = dict((k.lower(), v) for k, v in start["headers"].items())
    assert headers["x-apikeys"] == "accessKey=ak-test; secretKey=sk-test;"
    assert [c["status"] for c in server.calls(r"/status$")][:2] == [429, 200]
    assert len(server.calls(r"/chunks/")) == 2


def test_tenable_errors_name_the_source_and_never_the_keys():
    with TenableServer(CHUNKS) as server:
        result = S.collect([tenable_spec(server, secret_key="wrong-secret-9f8e")], HOSTS)
        assert "answered 401" in result["errors"][0]["reason"]
        assert "wrong-secret-9f8e" not in json.dumps(result)
        server.end_state = "ERROR"
        result = S.collect([tenable_spec(server)], HOSTS)
        assert result["errors"][0]["reason"].endswith("ended ERROR")
    result = S.collect([dict(tenable_spec(server), url="http://127.0.0.1:%d" % free_port(5690))], HOSTS)
    assert result["errors"][0]["source"] == "tenable_io" and "no answer" in result["errors"][0]["reason"]


QUALYS_HOSTS = [
    {"id": "1001", "ip": "10.0.0.12", "dns": "db-1.example.com", "ec2": "i-0abc0002",
     "detections": [{"qid": "178901", "severity": "4", "status": "Active",
                     "results": "Package\tInstalled Version\tRequired Version\nfp-libdemo\t1.2-1\t1.2-1+deb12u2"},
                    {"qid": "178902", "severity": "2", "status": "Fixed", "results": ""}]},
    {"id": "1002", "ip": "10.0.0.11", "dns": "web-1.example.com",
     "detections": [{"qid": "178903", "severity": "5", "status": "New",
                     "results": "Package\tInstalled Version\tRequired Version\nfp-openssl\t3.0.15-1~deb12u1\t3.0.15-1~deb12u2"}]},
    {"id": "1003", "ip": "203.0.113.9", "dns": "ghost.example.net",
     "detections": [{"qid": "178903", "severity": "5", "status": "Re-Opened", "results": ""}]},
]
KNOWLEDGE = {"178901": {"cves": ["CVE-2024-40001", "CVE-2026-40002"], "cvss": "7.8"},
             "178903": {"cves": ["CVE-2026-10001"], "cvss": "9.1"}}


def qualys_spec(server, **extra):
    return dict({"type": "qualys", "url": server.url, "username": "qapi", "password": "qsecret", "truncation_limit": 1}, **extra)


def test_qualys_pages_by_id_min_retries_409_and_429_and_reads_cves_from_the_knowledgebase():
    with QualysServer(QUALYS_HOSTS, KNOWLEDGE) as server:
        server.fail_next("GET", r"/detection/$", 409)
        server.fail_next("GET", r"/knowledge_base/", 429, retry_after=0)
        sleeps = []
        result = S.collect([qualys_spec(server)], HOSTS, reader=lambda spec, hosts: S.read_qualys(spec, hosts, sleep=sleeps.append))
    assert result["errors"] == []
    pages = [c for c in server.calls(r"/detection/$") if c["status"] == 200]
    assert [c["query"].get("id_min") for c in pages] == [None, "1002", "1003"]
    assert all("x-requested-with" in (k.lower() for k in c["headers"]) for c in server.log)
    found = sorted((f["host"], f["cve"], f["package"], f["fixed_version"], f["severity"]) for h in result["by_host"].values() for f in h)
    assert found == [("db-1", "CVE-2024-40001", "fp-libdemo", "1.2-1+deb12u2", "high"),
                     ("db-1", "CVE-2026-40002", "fp-libdemo", "1.2-1+deb12u2", "high"),
                     ("web-1", "CVE-2026-10001", "fp-openssl", "3.0.15-1~deb12u2", "critical")]
    assert result["unmatched_hosts"] == [{"identity": {"fqdn": "ghost.example.net", "ip": "203.0.113.9"},
                                          "sources": ["qualys"], "findings": 1}]
    assert sleeps == [2.0, 0.0]  # the 409's backoff, then the 429's Retry-After: 0


def test_qualys_bad_password_is_a_source_error_without_the_password():
    with QualysServer(QUALYS_HOSTS, KNOWLEDGE) as server:
        result = S.collect([qualys_spec(server, password="not-the-password-7c")], HOSTS)
    assert "answered 401" in result["errors"][0]["reason"]
    assert "not-the-password-7c" not in json.dumps(result)


@pytest.fixture(scope="module")
def moto():
    with own_moto(free_port(5650)) as url:
        yield url


def inspector_finding(instance, cve, name, version, release, fixed, status="ACTIVE", severity="HIGH"):
    return {"findingArn": "arn:aws:inspector2:us-east-1:123456789012:finding/%s-%s" % (instance, cve),
            "awsAccountId": "123456789012", "type": "PACKAGE_VULNERABILITY", "description": cve, "severity": severity,
            "status": status, "firstObservedAt": 1793577600, "lastObservedAt": 1796256000,
            "remediation": {"recommendation": {"text": "upgrade"}},
            "resources": [{"type": "AWS_EC2_INSTANCE", "id": instance, "region": "us-east-1",
                           "details": {"awsEc2Instance": {"ipV4Addresses": ["10.0.0.11"], "platform": "DEBIAN_12"}}}],
            "packageVulnerabilityDetails": {"vulnerabilityId": cve, "source": "DEBIAN_CVE",
                                            "cvss": [{"baseScore": 7.5, "scoringVector": "CVSS:3.1/AV:N",
                                                      "source": "NVD", "version": "3.1"}],
                                            "vulnerablePackages": [{"name": name, "version": version, "release": release, "epoch": 0,
                                                                    "arch": "amd64", "packageManager": "OS", "fixedInVersion": fixed}]},
            "fixAvailable": "YES" if fixed != "NotAvailable" else "NO"}


def test_inspector2_list_findings_through_moto(moto):
    results = [[inspector_finding("i-0abc0001", "CVE-2026-10001", "fp-openssl", "3.0.15", "1~deb12u1", "0:3.0.15-1~deb12u2"),
                inspector_finding("i-0abc0001", "CVE-2026-99999", "fp-stable", "5.0", "1", "NotAvailable", severity="LOW")]]
    request = urllib.request.Request(moto + "/moto-api/static/inspector2/findings-results", method="POST",
                                     data=json.dumps({"results": results, "region": "us-east-1"}).encode("utf-8"),
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10)
    spec = {"type": "inspector2", "regions": ["us-east-1"], "endpoint_url": moto, "access_key": "testing", "secret_key": "testing"}
    result = S.collect([spec], HOSTS)
    assert result["errors"] == []
    assert [(f["cve"], f["package"], f["installed_version"], f["fixed_version"], f["severity"], f["matched_by"])
            for f in result["by_host"]["web-1"]] == [
        ("CVE-2026-10001", "fp-openssl", "3.0.15-1~deb12u1", "3.0.15-1~deb12u2", "high", "instance_id"),
        ("CVE-2026-99999", "fp-stable", "5.0-1", None, "low", "instance_id")]


def test_the_module_keeps_api_keys_out_of_the_output(tmp_path):
    """no_log: the secret given to the module appears nowhere in -vvv output, even when the API refuses it."""
    with TenableServer(CHUNKS) as server:
        play = tmp_path / "play.yml"
        play.write_text(
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
            "    - fleetpatch.hybrid.vulnerability_findings:\n"
            "        sources: [{type: tenable_io, url: '%s', access_key: ak-test, secret_key: s3cr3t-zz91, poll_interval: 0}]\n"
            "        required: true\n" % server.url)
        env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ["PATH"], ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
        run = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-vvv", "-i", "localhost,", "-c", "local",
                              "-e", "ansible_python_interpreter=" + sys.executable, str(play)],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 2, run.stdout[-2000:]
    assert "findings required, but: tenable_io: POST %s/vulns/export answered 401" % server.url in run.stdout
    assert "s3cr3t-zz91" not in run.stdout + run.stderr


def test_an_http_error_is_not_swallowed_outside_collect():
    with TenableServer(CHUNKS) as server:
        with pytest.raises(HttpError):
            S.read_tenable_io(tenable_spec(server, secret_key="bad"))


def test_inspector2_asks_each_account_through_its_role(moto):
    """The findings live in account 111111111111 only (moto keeps one Inspector2 per account): the host's
    role (the inventory's fleetpatch_aws_role_arn) must be assumed through moto's STS to see them."""
    finding = inspector_finding("i-0acc0111", "CVE-2026-20001", "fp-webserver", "2.4.62", "1~deb12u1", "2.4.62-1~deb12u2")
    request = urllib.request.Request(moto + "/moto-api/static/inspector2/findings-results", method="POST",
                                     data=json.dumps({"results": [[finding]], "account_id": "111111111111",
                                                      "region": "eu-west-1"}).encode("utf-8"),
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10)
    hosts = [{"name": "db-9", "instance_id": "i-0acc0111", "region": "eu-west-1", "role_arn": "arn:aws:iam::111111111111:role/fleetpatch"}]
    spec = {"type": "inspector2", "endpoint_url": moto, "access_key": "testing", "secret_key": "testing"}
    result = S.collect([spec], hosts)
    assert result["errors"] == []
    assert [(f["host"], f["cve"], f["fixed_version"]) for f in result["by_host"]["db-9"]] == [
        ("db-9", "CVE-2026-20001", "2.4.62-1~deb12u2")]
    # without the role, the controller's own account has no such findings
    assert S.collect([spec], [dict(hosts[0], role_arn=None, instance_id="i-0acc0111")])["by_host"] == {}


def sc_record(ip, dns, cve, package, installed, fixed, sev=3):
    return {"pluginID": "300101", "severity": {"id": str(sev), "name": "High"}, "ip": ip, "dnsName": dns, "netbiosName": "",
            "cve": cve, "cvssV3BaseScore": "7.5", "firstSeen": "1793577600", "lastSeen": "1796256000",
            "pluginText": "<plugin_output>Remote package installed : %s_%s\nShould be : %s_%s\n</plugin_output>" % (
                package, installed, package, fixed)}


def test_tenable_sc_pages_by_offset_and_waits_out_a_429():
    from findings_servers.tenable_sc import TenableScServer
    records = [sc_record("10.0.0.11", "web-1.example.com", "CVE-2026-10001,CVE-2026-10002", "fp-openssl", "3.0.15-1~deb12u1",
                         "3.0.15-1~deb12u2"),
               sc_record("10.0.0.12", "db-1.example.com", "CVE-2026-20001", "fp-webserver", "2.4.62-1~deb12u1", "2.4.62-1~deb12u2", 4),
               sc_record("198.51.100.4", "", "CVE-2026-20001", "fp-webserver", "2.4.62-1~deb12u1", "2.4.62-1~deb12u2")]
    with TenableScServer(records) as server:
        server.fail_next("POST", r"/rest/analysis", 429, retry_after=0)
        spec = {"type": "tenable_sc", "url": server.url, "access_key": "sc-ak", "secret_key": "sc-sk", "page_size": 2}
        result = S.collect([spec], HOSTS)
        offsets = [json.loads(c["body"])["query"]["startOffset"] for c in server.calls() if c["status"] == 200]
        bad = S.collect([dict(spec, secret_key="nope-sc-1")], HOSTS)
    assert result["errors"] == [] and offsets == [0, 2]
    found = sorted((f["host"], f["cve"], f["package"], f["fixed_version"], f["severity"], f["first_seen"])
                   for h in result["by_host"].values() for f in h)
    assert found == [("db-1", "CVE-2026-20001", "fp-webserver", "2.4.62-1~deb12u2", "critical", "2026-11-02T00:00:00+00:00"),
                     ("web-1", "CVE-2026-10001", "fp-openssl", "3.0.15-1~deb12u2", "high", "2026-11-02T00:00:00+00:00"),
                     ("web-1", "CVE-2026-10002", "fp-openssl", "3.0.15-1~deb12u2", "high", "2026-11-02T00:00:00+00:00")]
    assert result["unmatched_hosts"][0]["identity"] == {"ip": "198.51.100.4"}
    assert "answered 401" in bad["errors"][0]["reason"] and "nope-sc-1" not in json.dumps(bad)
