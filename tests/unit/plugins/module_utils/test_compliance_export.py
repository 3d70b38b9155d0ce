"""The export of a run as partitioned JSON Lines (a folder; S3 against moto runs in
tests/integration/test_compliance_report.py) and SSM compliance items."""

import datetime
import json
import os

import boto3
import pytest
from botocore.stub import ANY, Stubber

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import compliance_export as export
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ledger import Ledger
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.report import load_report

from .test_accounting import KERNEL, SSL, ZLIB, night


@pytest.fixture
def ledger(tmp_path):
    with Ledger(str(tmp_path / "ledger.db")) as handle:
        handle.start_run("r1", playbook="fleetpatch.hybrid.patch_night")
        night(handle, "web-1", "web", [SSL, KERNEL], ["openssl", "linux-image"], ["openssl", "linux-image"], [])
        night(handle, "web-2", "web", [SSL, KERNEL, ZLIB], ["openssl"], ["openssl"], ["CVE-2", "CVE-3"], reboot_pending=True)
        night(handle, "db-1", "db", [SSL], ["openssl"], ["openssl"], [], status="rolled_back")
        handle.record_host("r1", "db-1", "db", {"environment": "prod", "source": "ssm", "instance_id": "mi-0123456789abcdef0"})
        handle.finish_run("r1", "finished")
        yield handle


def test_rows_hold_compliance_patches_with_cves_and_phases(ledger):
    report, hosts = load_report(ledger, "r1")
    rows = dict((r["host"], r) for r in export.host_rows(report, hosts))
    web2 = rows["web-2"]
    assert web2["compliance_status"] == "NON_COMPLIANT" and web2["compliance_counts"]["installed_pending_reboot"] == 1
    assert web2["patches_installed"] == [{"name": "openssl", "arch": "amd64", "from_version": "1", "to_version": "2",
                                          "classification": "security", "severity": "critical", "cves": ["CVE-1", "CVE-2"],
                                          "advisories": ["DSA-1-1"]}]
    assert web2["cves_still_open"] == ["CVE-2", "CVE-3"] and web2["cves_closed"] == ["CVE-1"]
    db1 = rows["db-1"]
    assert db1["patches_installed"] == []  # rolled back
    assert [(p["name"], p["state"], p["severity"], p["cves"]) for p in db1["patches_missing"]] == [
        ("openssl", "failed", "critical", ["CVE-1", "CVE-2"])]
    assert [p["phase"] for p in db1["phases"]] == ["preflight", "scan", "approve", "patch", "reboot", "validate", "rollback",
                                                   "rescan"]
    assert all(p["seconds_after_previous"] is not None for p in db1["phases"][1:])
    groups = dict((g["patch_group"], g) for g in export.group_rows(report))
    assert groups["web"]["cves_closed_distinct"] == report["patch_groups"]["web"]["cves_closed_distinct"] == 1


def test_local_layout_and_a_rerun_replaces_only_its_own_objects(ledger, tmp_path):
    folder = str(tmp_path / "export")
    report, hosts = load_report(ledger, "r1")
    date = report["started_at"][:10]
    written, removed, unchanged = export.publish_local(folder, export.objects(report, hosts), report)
    assert sorted(written) == [
        "groups/run_date=%s/patch_group=db/r1.jsonl" % date, "groups/run_date=%s/patch_group=web/r1.jsonl" % date,
        "hosts/run_date=%s/patch_group=db/r1.jsonl" % date, "hosts/run_date=%s/patch_group=web/r1.jsonl" % date]
    lines = open(os.path.join(folder, "hosts", "run_date=%s" % date, "patch_group=web", "r1.jsonl")).read().splitlines()
    assert [json.loads(line)["host"] for line in lines] == ["web-1", "web-2"]
    # another run's object in the same partition, and a stale object of this run in a group it no longer has
    other = os.path.join(folder, "hosts", "run_date=%s" % date, "patch_group=web", "r0.jsonl")
    stale = os.path.join(folder, "hosts", "run_date=%s" % date, "patch_group=gone", "r1.jsonl")
    for path in (other, stale):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "w").write("{}\n")
    written, removed, unchanged = export.publish_local(folder, export.objects(report, hosts), report)
    assert written == [] and len(unchanged) == 4
    assert removed == ["hosts/run_date=%s/patch_group=gone/r1.jsonl" % date]
    assert os.path.exists(other) and not os.path.exists(stale)


def test_partition_values_are_safe():
    assert export.partition_value("web prod/eu") == "web_prod_eu"
    assert export.partition_value(None) == "ungrouped"


def test_ssm_put_compliance_items(ledger):
    """moto lacks SSM PutComplianceItems: botocore's Stubber checks the request against the SSM service model."""
    report, hosts = load_report(ledger, "r1")
    rows = export.host_rows(report, hosts)
    client = boto3.client("ssm", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    stubber.add_response("put_compliance_items", {}, {
        "ResourceId": "mi-0123456789abcdef0", "ResourceType": "ManagedInstance", "ComplianceType": "Patch",
        "ExecutionSummary": {"ExecutionTime": ANY, "ExecutionId": "r1", "ExecutionType": "Command"},
        "Items": [{"Id": "openssl", "Title": "openssl", "Severity": "CRITICAL", "Status": "NON_COMPLIANT",
                   "Details": {"PatchState": "FAILED", "Classification": "security", "PatchSeverity": "critical",
                               "CVEIds": "CVE-1,CVE-2", "Advisories": "DSA-1-1", "Version": "2"}}],
        "ItemContentHash": ANY, "UploadType": "COMPLETE"})
    with stubber:
        sent = export.put_ssm_compliance(lambda spec, region: client, rows)
    stubber.assert_no_pending_responses()
    # only the SSM-managed host (source ssm, mi- id); the others have no instance id
    assert sent == [{"host": "db-1", "instance_id": "mi-0123456789abcdef0", "items": 1, "status": "NON_COMPLIANT"}]
    request = export.ssm_compliance_items([r for r in rows if r["host"] == "db-1"][0])
    assert isinstance(request["ExecutionSummary"]["ExecutionTime"], datetime.datetime)


def test_ssm_compliance_needs_an_instance_id_and_a_valid_type():
    row = {"host": "h", "instance_id": None, "patches_missing": [], "patches_installed": [], "run_id": "r"}
    with pytest.raises(export.ExportError, match="host h has no instance_id"):
        export.ssm_compliance_items(row)
    with pytest.raises(export.ExportError, match="Patch or Custom:<name>"):
        export.ssm_compliance_items(dict(row, instance_id="i-1"), "Security")


def test_ssm_compliance_is_written_in_each_hosts_account_and_region(ledger):
    """Issue #18: one SSM client per (role, region) from the host's ledger attributes; a role that
    cannot be used reports that host and the others are still written. moto lacks PutComplianceItems:
    botocore's Stubber checks each request against the SSM service model."""
    report, hosts = load_report(ledger, "r1")
    rows = export.host_rows(report, hosts)
    managed = dict(rows[0], host="a-1", instance_id="i-0aaaaaaaaaaaaaaa1", source="ssm", compliant=False)
    rows = [managed, dict(managed, host="a-2", instance_id="i-0aaaaaaaaaaaaaaa2"),
            dict(managed, host="b-1", instance_id="i-0bbbbbbbbbbbbbbb1"), dict(managed, host="bad-1", instance_id="i-0ccccccccccccccc1")]
    role_a, role_b = "arn:aws:iam::111122223333:role/fp", "arn:aws:iam::444455556666:role/fp"
    identities = {"a-1": {"region": "eu-west-1", "aws_role_arn": role_a}, "a-2": {"region": "eu-west-1", "aws_role_arn": role_a},
                  "b-1": {"region": "us-east-1", "aws_role_arn": role_b, "aws_external_id": "ext-b"},
                  "bad-1": {"region": "us-east-1", "aws_role_arn": "fp"}}
    stubs, made = [], []

    def client_for(spec, region):
        made.append((spec["role_arn"], spec["external_id"], region))
        client = boto3.client("ssm", region_name=region, aws_access_key_id="x", aws_secret_access_key="x")
        stub = Stubber(client)
        for row in rows:
            if identities[row["host"]].get("aws_role_arn") == spec["role_arn"]:
                stub.add_response("put_compliance_items", {},
                                  dict(export.ssm_compliance_items(row), ExecutionSummary=ANY, ItemContentHash=ANY))
        stub.activate()
        stubs.append(stub)
        return client

    sent = export.put_ssm_compliance(client_for, rows, identities=identities)
    assert made == [(role_a, None, "eu-west-1"), (role_b, "ext-b", "us-east-1")]   # one client per account and region
    for stub in stubs:
        stub.assert_no_pending_responses()
    assert [s["host"] for s in sent if "items" in s] == ["a-1", "a-2", "b-1"]
    bad = [s for s in sent if s.get("error")]
    assert len(bad) == 1 and bad[0]["host"] == "bad-1" and "is not an IAM role ARN" in bad[0]["error"]
