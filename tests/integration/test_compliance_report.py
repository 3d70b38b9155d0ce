"""The report playbook on its own, from a ledger: S3 export against moto (objects, partitions,
SSE-KMS, a rerun replacing only its own run's objects), a local export, and the dashboard opened
in headless Chromium (a screenshot, and the figures read from its DOM equal report.json's).

The ledger is a real SQLite file written through module_utils/ledger.py (two runs of three hosts);
the patch night that writes one on real hosts is tests/integration/test_accounting_night.py.
SSM PutComplianceItems is not in moto: see tests/unit/plugins/module_utils/test_compliance_export.py.
"""

import json
import os
import shutil
import subprocess
import time

import boto3
import pytest
from dashboardlib import check_dashboard_equals_report, dashboard_figures
from fleetlib import ROOT, VENV_BIN, own_moto
from test_notify import Mailbox

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ledger import Ledger

pytestmark = pytest.mark.integration
PORT = 5107
ENDPOINT = "http://127.0.0.1:%d" % PORT
BUCKET = "patch-compliance"
SSL = {"name": "openssl", "candidate_version": "2", "installed_version": "1", "severity": "critical",
       "classification": "security", "cves": ["CVE-2026-1", "CVE-2026-2"], "advisories": ["DSA-1-1"]}
ZLIB = {"name": "zlib1g", "candidate_version": "5", "installed_version": "4", "severity": "moderate",
        "classification": "security", "cves": ["CVE-2026-3"], "advisories": []}


@pytest.fixture(scope="module")
def s3():
    with own_moto(PORT):
        client = boto3.client("s3", region_name="us-east-1", endpoint_url=ENDPOINT,
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        client.create_bucket(Bucket=BUCKET)
        yield client


def host_night(ledger, run_id, host, group, env, patched, still_open=()):
    ledger.record_host(run_id, host, group, {"environment": env, "owner": "ops@example.com", "os": "debian"})
    ledger.record_phase(run_id, host, "preflight", "ok")
    cves = ["CVE-2026-1", "CVE-2026-2", "CVE-2026-3"]
    ledger.record_phase(run_id, host, "scan", "ok", data={"pending": 2, "patches": [SSL, ZLIB], "cves": cves})
    ledger.record_phase(run_id, host, "approve", "ok", data={"approved": ["openssl", "zlib1g"], "compliance": {
        "compliant": False, "status": "NON_COMPLIANT", "counts": {"missing": 2}, "patches": {"missing": ["openssl", "zlib1g"]}}})
    ledger.record_phase(run_id, host, "snapshot", "ok", data={"provider": "package_state", "policy": "best_effort", "ids": []})
    if not patched:
        ledger.record_phase(run_id, host, "patch", "failed", message="dpkg: error processing package zlib1g")
        return
    ledger.record_phase(run_id, host, "patch", "changed")
    kept = [p for p in (SSL, ZLIB) if not set(p["cves"]) & set(still_open)]
    ledger.record_changes(run_id, host, [{"name": p["name"], "arch": "amd64", "from": p["installed_version"],
                                          "to": p["candidate_version"], "classification": "security", "cves": p["cves"],
                                          "advisories": p["advisories"]} for p in kept])
    ledger.record_phase(run_id, host, "rescan", "ok", data={"cves": sorted(still_open)})


def write_ledger(path, second_hosts=3):
    with Ledger(path) as ledger:
        ledger.start_run("run-1", playbook="fleetpatch.hybrid.patch_night")
        host_night(ledger, "run-1", "web-1", "web", "prod", True)
        host_night(ledger, "run-1", "web-2", "web", "prod", False)
        host_night(ledger, "run-1", "db-1", "db prod", "dev", True, ["CVE-2026-3"])
        ledger.finish_run("run-1", "finished")
        ledger.start_run("run-2", playbook="fleetpatch.hybrid.patch_night")
        for host, group, env in [("web-1", "web", "prod"), ("web-2", "web", "prod"), ("db-1", "db prod", "dev")][:second_hosts]:
            host_night(ledger, "run-2", host, group, env, True)
        ledger.finish_run("run-2", "finished")


def report_playbook(outdir, *extra):
    inventory = os.path.join(outdir, "inventory.ini")
    with open(inventory, "w") as handle:
        handle.write("localhost ansible_connection=local ansible_python_interpreter=%s\n" % os.path.join(VENV_BIN, "python"))
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ["PATH"], ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_NOCOLOR="1", AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    cmd = ["ansible-playbook", "-i", inventory, "playbooks/report.yml", "-e", "fleetpatch_output_dir=%s" % outdir] + list(extra)
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)


def objects(client, prefix="fleetpatch/"):
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for obj in page.get("Contents") or []:
            found[obj["Key"]] = obj["LastModified"]
    return found


def test_s3_export_partitions_and_a_rerun_replaces_only_its_run(s3, tmp_path):
    out = str(tmp_path)
    write_ledger(os.path.join(out, "ledger.db"), second_hosts=3)
    kms = boto3.client("kms", region_name="us-east-1", endpoint_url=ENDPOINT, aws_access_key_id="testing",
                       aws_secret_access_key="testing").create_key()["KeyMetadata"]["KeyId"]
    aws = ["-e", "fleetpatch_compliance_bucket=%s" % BUCKET, "-e", "fleetpatch_compliance_region=us-east-1",
           "-e", "fleetpatch_compliance_endpoint_url=%s" % ENDPOINT, "-e", "fleetpatch_compliance_kms_key_id=%s" % kms,
           "-e", "fleetpatch_compliance_dest=%s" % os.path.join(out, "export")]
    result = report_playbook(out, *aws)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    first = objects(s3)
    with Ledger(os.path.join(out, "ledger.db")) as ledger:
        date = ledger.run("run-1")["started_at"][:10]
    expected = sorted("fleetpatch/%s/run_date=%s/patch_group=%s/%s.jsonl" % (table, date, group, run)
                      for table in ("groups", "hosts") for group in ("db_prod", "web") for run in ("run-1", "run-2"))
    assert sorted(first) == expected
    body = s3.get_object(Bucket=BUCKET, Key="fleetpatch/hosts/run_date=%s/patch_group=web/run-1.jsonl" % date)
    assert body["ServerSideEncryption"] == "aws:kms" and kms in body["SSEKMSKeyId"]
    rows = [json.loads(line) for line in body["Body"].read().decode().splitlines()]
    assert [(r["host"], r["status"], r["compliance_status"]) for r in rows] == [
        ("web-1", "patched", "COMPLIANT"), ("web-2", "failed", "NON_COMPLIANT")]
    assert rows[0]["patches_installed"][0]["cves"] == ["CVE-2026-1", "CVE-2026-2"]
    assert [(p["name"], p["state"], p["severity"]) for p in rows[1]["patches_missing"]] == [
        ("openssl", "failed", "critical"), ("zlib1g", "failed", "moderate")]
    # the local folder holds the same objects
    local = sorted(os.path.relpath(os.path.join(d, f), os.path.join(out, "export")) for d, dummy, fs in
                   os.walk(os.path.join(out, "export")) for f in fs)
    assert local == sorted(k[len("fleetpatch/"):] for k in expected)

    # a rerun of run-2 without db-1 (its group gone from the run): only run-2's objects change
    os.remove(os.path.join(out, "ledger.db"))
    for suffix in ("-wal", "-shm"):
        if os.path.exists(os.path.join(out, "ledger.db" + suffix)):
            os.remove(os.path.join(out, "ledger.db" + suffix))
    write_ledger(os.path.join(out, "ledger.db"), second_hosts=2)
    time.sleep(1.1)  # S3 LastModified has a one-second resolution
    result = report_playbook(out, "-e", "fleetpatch_run_id=run-2", "-e", "fleetpatch_export_run_only=true", *aws)
    assert result.returncode == 0, result.stdout[-4000:]
    second = objects(s3)
    assert sorted(second) == [k for k in expected if not (k.endswith("run-2.jsonl") and "db_prod" in k)]
    for key in second:
        if "run-1" in key:
            assert second[key] == first[key], key  # another run's object is never rewritten
    # publishing again with nothing changed rewrites nothing (the sha256 in the metadata matches)
    time.sleep(1.1)
    result = report_playbook(out, "-e", "fleetpatch_run_id=run-2", "-e", "fleetpatch_export_run_only=true", *aws)
    assert result.returncode == 0, result.stdout[-4000:]
    assert objects(s3) == second


def test_dashboard_in_chromium_shows_the_reports_figures(tmp_path):
    out = str(tmp_path)
    write_ledger(os.path.join(out, "ledger.db"))
    result = report_playbook(out, "-e", "fleetpatch_run_id=run-1")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    report = json.load(open(os.path.join(out, "report.json")))
    assert report["run_id"] == "run-1"
    # the console shows one row per patch group with the same figures
    lines = [line.strip().strip('",').lstrip("- ").strip('"') for line in result.stdout.splitlines()]
    rows = dict((line.split()[0], line.split()) for line in lines if line.startswith("web "))
    assert "web" in rows, result.stdout[-3000:]
    web = report["patch_groups"]["web"]
    assert rows["web"][1:8] == [str(web["hosts"])] + [str(web["columns"][c]) for c in ("patched", "failed", "deferred", "skipped")] + [
        str(web["cves_closed_distinct"]), str(web["cves_still_open_distinct"])]
    screenshot = os.path.join(out, "dashboard.png")
    figures = dashboard_figures(os.path.join(out, "dashboard.html"), screenshot)
    check_dashboard_equals_report(figures, report)
    assert figures["trend.count"] == "1"
    # the report kept the run's figures in the ledger: a later dashboard's trend reads them, not the hosts
    with Ledger(os.path.join(out, "ledger.db")) as ledger:
        kept = ledger.run_figures()
    assert list(kept) == ["run-1"]
    assert dict((k, kept["run-1"][k]) for k in ("hosts", "compliance_pct", "cves_closed_distinct", "columns")) == dict(
        (k, report["summary"][k]) for k in ("hosts", "compliance_pct", "cves_closed_distinct", "columns"))
    shutil.copy(screenshot, os.path.join(ROOT, ".cache", "dashboard-test.png"))


@pytest.fixture
def smtp():
    from aiosmtpd import controller
    from cr_servers.base import free_port
    box = Mailbox()
    server = controller.Controller(box, hostname="127.0.0.1", port=free_port(5280))
    server.start()
    box.port = server.port
    yield box
    server.stop()


def test_scheduled_compliance_notice_to_each_groups_owners(tmp_path, smtp):
    """What an AWX schedule of fleetpatch.hybrid.report sends: each patch group's owners get its
    figures, by e-mail here (an aiosmtpd server; the other channels are the notify role's)."""
    out = str(tmp_path)
    write_ledger(os.path.join(out, "ledger.db"))
    result = report_playbook(out, "-e", "fleetpatch_run_id=run-1", "-e", '{"fleetpatch_notify_channels": ["email"]}',
                             "-e", "notify_email_host=127.0.0.1", "-e", "notify_email_port=%d" % smtp.port,
                             "-e", "notify_email_secure=never")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    report = json.load(open(os.path.join(out, "report.json")))
    assert [m["to"] for m in smtp.messages] == [["ops@example.com"], ["ops@example.com"]]
    bodies = dict((m["subject"].split(":")[0].split("] ")[1], m["body"]) for m in smtp.messages)
    web = report["patch_groups"]["web"]
    assert "Compliant after the night: %s%% (%d of %d host(s) assessed)" % (
        web["compliance_pct"], web["hosts_compliant"], web["hosts_assessed"]) in bodies["web"]
    assert "counted once and only where no host of the group still has them (%d)" % web["cves_closed_distinct"] in bodies["web"]
    assert "CVEs still open (%d): %s" % (web["cves_still_open_distinct"], ", ".join(web["cves_still_open"])) in bodies["web"]
    assert "  - web-2: failed (dpkg: error processing package zlib1g)" in bodies["web"]
