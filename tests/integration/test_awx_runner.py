"""The patch night as AWX runs it: ansible-runner (PyPI) jobs, each in a fresh, empty private_data_dir
(env/extravars, env/envvars, the inventory source file in inventory/), the run's state in S3 (moto over
HTTP, the local fleet's simulator) through fleetpatch_state_url, artifacts checked afterwards.

Job 1 dies mid-night, as a runner whose node is lost does (SIGKILL, from the test-only callback in
callback_plugins/): its first batch was kept in S3, and the second batch's host had its packages
installed but the kill came before its patch was recorded, so the state in S3 does not know about
that install. Job 2, in a new empty directory, takes the run over and resumes it from S3: it
finishes, no package is upgraded twice on any host, and every host is reported `patched`: the host
whose install the state missed is not re-judged `compliant` (its approved versions were already in
place), and it is rebooted for its kernel. Job 3 changes nothing.

AWX's Limit field: a job with a plain `--limit patch_group_web_dev` (no localhost in the pattern, no
fleetpatch_targets) patches that patch group's host and no other, opens and closes its change request
and keeps its report in S3; the scan and report playbooks run under the same plain limit.
"""

import contextlib
import json
import os
import shutil
import sqlite3
import uuid

import boto3
import pytest
from fleetlib import DEBIAN_TARGETS, HOSTS, ROOT, VENV_BIN, expected_versions, host_exec, installed, localfleet

pytestmark = pytest.mark.integration

ansible_runner = pytest.importorskip("ansible_runner")

CALLBACKS = os.path.join(ROOT, "tests", "integration", "callback_plugins")
ENDPOINT = "http://127.0.0.1:5000"   # the local fleet's moto server (tools/localfleet aws)
BUCKET = "fleetpatch-state"
ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
       "AWS_ENDPOINT_URL_S3": ENDPOINT}


def s3():
    return boto3.client("s3", region_name="us-east-1", endpoint_url=ENDPOINT, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def upgrades(name):
    """{package: times dpkg upgraded it} on a host, from its dpkg log."""
    rc, out = host_exec(name, "grep ' upgrade fp-' /var/log/dpkg.log || true")
    counts = {}
    for line in out.splitlines():
        package = line.split()[3].split(":")[0]
        counts[package] = counts.get(package, 0) + 1
    return counts


def job(base, run_id, playbook="patch_night.yml", limit=None, env=None, **extravars):
    """One AWX-like job: a new, empty private_data_dir with what AWX writes there, run by ansible-runner.

    limit: AWX's Limit field, passed as a plain --limit (then fleetpatch_targets is not set).
    env: more environment variables of the job.
    """
    private = base / ("job-" + uuid.uuid4().hex[:6])
    os.makedirs(private / "env")
    shutil.copytree(os.path.join(ROOT, "inventories", "demo"), private / "inventory")
    targets = {} if limit else {"fleetpatch_targets": DEBIAN_TARGETS.split("=", 1)[1]}
    extra = dict({"fleetpatch_run_id": run_id, "fleetpatch_state_url": "s3://%s/nights" % BUCKET,
                  "fleetpatch_output_dir": str(private / "runner-disk"), "fleetpatch_serial": 1,
                  "awx_job_id": private.name,
                  # what an AWX machine credential gives: the key and the pinned host keys of the local hosts
                  # (the copied inventory's group_vars find them relative to the repository's inventory)
                  "ansible_ssh_private_key_file": os.path.join(ROOT, ".cache", "localfleet", "keys", "id_ed25519"),
                  "ansible_ssh_common_args": "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes"
                                             % os.path.join(ROOT, ".cache", "localfleet", "hosts", "known_hosts")},
                 **dict(targets, **extravars))
    (private / "env" / "extravars").write_text(json.dumps(extra))
    envvars = dict(ENV, PATH=VENV_BIN + os.pathsep + os.environ["PATH"], ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                   ANSIBLE_INVENTORY_UNPARSED_FAILED="True", ANSIBLE_NOCOLOR="1", **(env or {}))
    (private / "env" / "envvars").write_text(json.dumps(envvars))
    runner = ansible_runner.run(private_data_dir=str(private), project_dir=ROOT, playbook="playbooks/" + playbook,
                                inventory=str(private / "inventory"), limit=limit, quiet=True, timeout=1500)
    # kept where a failed test's message can point (pytest's tmp directories rotate)
    log = os.path.join(ROOT, ".cache", "awx-runner-%s.log" % private.name)
    with open(log, "w") as handle:
        handle.write(runner.stdout.read())
    runner.log = log
    return runner, private


def stats_data(runner):
    for event in runner.events:
        if event.get("event") == "playbook_on_stats":
            return event["event_data"].get("artifact_data") or {}
    return None


def state_bucket():
    try:
        s3().create_bucket(Bucket=BUCKET)
    except s3().exceptions.BucketAlreadyOwnedByYou:
        pass


@pytest.fixture(scope="module")
def jobs(fleet, tmp_path_factory):
    for name in HOSTS.values():
        localfleet("reset", name)
    state_bucket()
    base = tmp_path_factory.mktemp("awx")
    run_id = "awx-" + uuid.uuid4().hex[:8]
    # serial 1: the kill comes once the second batch's host installed its packages, before the task
    # that records its patch starts
    mark = str(base / "killed")
    first, first_dir = job(base, run_id, env={
        "ANSIBLE_CALLBACK_PLUGINS": CALLBACKS, "ANSIBLE_CALLBACKS_ENABLED": "fleetpatch_kill_at",
        "FLEETPATCH_KILL_AFTER_TASK": "Install the approved versions (apt)", "FLEETPATCH_KILL_AFTER_TASK_COUNT": "2",
        "FLEETPATCH_KILL_MARK": mark})
    first.killed = os.path.exists(mark)
    first.kept = {key["Key"].rsplit("/", 1)[1] for key in
                  s3().list_objects_v2(Bucket=BUCKET, Prefix="nights/%s/" % run_id).get("Contents", [])}
    after_first = {host: upgrades(name) for host, name in HOSTS.items()}
    second, second_dir = job(base, run_id, fleetpatch_state_takeover=True)
    after_second = {host: (installed(name), upgrades(name)) for host, name in HOSTS.items()}
    second.kept = {name: s3().get_object(Bucket=BUCKET, Key="nights/%s/%s" % (run_id, name))["Body"].read()
                   for name in ("report.json", "manifest.json", "ledger.db")}
    third, third_dir = job(base, run_id)
    after_third = {host: (installed(name), upgrades(name)) for host, name in HOSTS.items()}
    return run_id, (first, first_dir, after_first), (second, second_dir, after_second), (third, third_dir, after_third)


def test_job_1_is_killed_after_its_first_batch_was_kept_in_s3(jobs):
    run_id, (first, first_dir, after_first), dummy, dummy2 = jobs
    assert first.killed and first.status == "failed", first.log
    patched = [host for host, counts in after_first.items() if counts]
    assert len(patched) == 2, (after_first, first.log)        # mid-night: the first two batches' hosts, not the third
    assert "ledger.db" in first.kept and "report.json" not in first.kept, first.kept
    # the second batch's patch was never recorded: the controller died as that task started
    with open(first.log) as handle:
        batch_2 = handle.read().split("Keep the ledger at fleetpatch_state_url after the batch", 1)[1]
    assert "TASK [fleetpatch.hybrid.patch_linux : Install the approved versions (apt)]" in batch_2, first.log
    after_record = batch_2.split("TASK [fleetpatch.hybrid.patch_linux : Record the patch]", 1)
    assert len(after_record) == 2 and "ok: [" not in after_record[1] and "changed: [" not in after_record[1], first.log


def test_job_2_in_a_new_empty_dir_resumes_from_s3_and_repeats_nothing(jobs):
    run_id, (dummy, dummy1, after_first), (second, dummy3, after_second), dummy2 = jobs
    assert second.status == "successful", second.log
    expected = expected_versions()[1]
    for host, (versions, counts) in after_second.items():
        assert versions == expected[host], host
        assert counts and all(n == 1 for n in counts.values()), (host, counts)   # each package upgraded once
        # what job 1 upgraded (a whole batch, or part of a host's install when the kill came mid-apt) is not
        # upgraded again; job 2 finishes the rest
        assert {p: counts[p] for p in after_first[host]} == after_first[host], (host, after_first[host], counts)
    report = json.loads(second.kept["report.json"])
    assert sorted(h["name"] for h in report["hosts"]) == sorted(HOSTS)
    manifest = json.loads(second.kept["manifest.json"])
    assert manifest and all(set(entry) == {"name", "version"} for entry in manifest)
    data = stats_data(second)
    assert data["fleetpatch_result_run_id"] == run_id
    assert sum(data["fleetpatch_result_host_counts"].values()) == len(HOSTS)
    assert data["fleetpatch_result_report_location"] == "s3://%s/nights/%s/report.json" % (BUCKET, run_id)
    assert data["fleetpatch_result_cves_closed"] and data["fleetpatch_result_change_requests"]


def test_job_2_reports_job_1s_hosts_as_patched_not_rejudged(jobs):
    dummy, (first, dummy1, after_first), (second, dummy3, dummy4), dummy2 = jobs
    report = json.loads(second.kept["report.json"])
    assert {h["name"]: h["status"] for h in report["hosts"]} == {host: "patched" for host in HOSTS}, second.log
    assert stats_data(second)["fleetpatch_result_host_counts"] == {"patched": len(HOSTS)}
    # the host whose install job 1's state missed (batches go in the order of fleetpatch_targets, sorted names):
    # its kernel update still gets its reboot
    missed = sorted(host for host, counts in after_first.items() if counts)[-1]
    entry = next(h for h in report["hosts"] if h["name"] == missed)
    assert entry["rebooted"] is True, entry


def test_job_2_restores_job_1s_snapshot_of_the_host_it_lost_mid_install(jobs, tmp_path):
    """The batch's snapshots reach S3 before its install starts: job 2 takes job 1's snapshot of the host
    whose install the state missed (the versions before the install), and does not snapshot that host
    again once it is patched (a package_state rollback would then restore the patched versions)."""
    dummy, (first, dummy1, after_first), (second, dummy3, dummy4), dummy2 = jobs
    missed = sorted(host for host, counts in after_first.items() if counts)[-1]
    path = tmp_path / "ledger.db"
    path.write_bytes(second.kept["ledger.db"])
    with contextlib.closing(sqlite3.connect(str(path))) as db:
        rows = db.execute("SELECT attempt, status, data FROM host_phases WHERE host = ? AND phase = 'snapshot' ORDER BY id",
                          (missed,)).fetchall()
    assert len(rows) == 1 and rows[0][0] == 1, (rows, second.log)      # taken by job 1 (attempt 1), once
    lines = json.loads(rows[0][2]).get("package_state") or []
    base = expected_versions()[0]
    # dpkg-query lines: status, package[:arch], version (roles/snapshot/vars/main.yml)
    versions = dict((f[1].split(":")[0], f[2]) for f in (line.split("\t") for line in lines) if len(f) == 3)
    assert after_first[missed] and all(versions.get(p) == base[p] for p in after_first[missed]), (after_first[missed], versions)


def test_job_3_changes_nothing(jobs):
    dummy, dummy1, (dummy2, dummy3, after_second), (third, dummy4, after_third) = jobs
    assert third.status == "successful", third.log
    assert after_third == after_second


def ledger_rows(path, run_id):
    """{host: {phase: status}} of a run in a ledger file (the latest row of each phase)."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        rows = db.execute("SELECT host, phase, status FROM host_phases WHERE run_id = ? ORDER BY id", (run_id,)).fetchall()
    hosts = {}
    for host, phase, status in rows:
        hosts.setdefault(host, {})[phase] = status
    return hosts


@pytest.fixture(scope="module")
def limited(fleet, tmp_path_factory):
    """web-dev-1 at its base image, then one night, the scan and the report as AWX runs them with a
    plain Limit (--limit patch_group_web_dev)."""
    localfleet("reset", HOSTS["web-dev-1"])
    state_bucket()
    before = {host: (installed(name), upgrades(name)) for host, name in HOSTS.items()}
    base = tmp_path_factory.mktemp("awx-limit")
    run_id = "awx-limit-" + uuid.uuid4().hex[:8]
    night, night_dir = job(base, run_id, limit="patch_group_web_dev")
    after = {host: (installed(name), upgrades(name)) for host, name in HOSTS.items()}
    kept = s3().get_object(Bucket=BUCKET, Key="nights/%s/report.json" % run_id)["Body"].read()
    scan, scan_dir = job(base, "awx-limit-scan-" + uuid.uuid4().hex[:8], playbook="scan.yml", limit="patch_group_web_dev")
    # the report job reads the night's ledger where the night's runner kept its working copy
    ledger_dir = os.path.dirname(night_dir / "runner-disk" / "state" / run_id / "ledger.db")
    report, report_dir = job(base, run_id, playbook="report.yml", limit="patch_group_web_dev",
                             fleetpatch_output_dir=str(ledger_dir))
    return run_id, before, (night, night_dir, after, json.loads(kept)), (scan, scan_dir), (report, ledger_dir)


def test_a_plain_limit_patches_that_patch_group_only(limited):
    run_id, before, (night, night_dir, after, report), dummy, dummy1 = limited
    assert night.status == "successful", night.log
    with open(night.log) as handle:
        log = handle.read()
    assert "skipping: no hosts matched" not in log, night.log
    expected = expected_versions()[1]
    versions, counts = after["web-dev-1"]
    assert versions == expected["web-dev-1"]
    assert counts and all(n == 1 for n in counts.values()), counts
    for host in ("web-prod-1", "db-prod-1"):                    # outside the limit: not touched
        assert after[host] == before[host], host
    assert [(h["name"], h["status"]) for h in report["hosts"]] == [("web-dev-1", "patched")]
    ledger = ledger_rows(str(night_dir / "runner-disk" / "state" / run_id / "ledger.db"), run_id)
    assert sorted(ledger) == ["web-dev-1"], ledger
    data = stats_data(night)
    assert data["fleetpatch_result_run_id"] == run_id
    assert data["fleetpatch_result_host_counts"] == {"patched": 1}
    assert data["fleetpatch_result_change_requests"], data       # its change request opened, and closed
    assert report["change_requests"] and all(cr["state"] == "closed" for cr in report["change_requests"]), \
        report["change_requests"]


def test_the_scan_and_report_playbooks_run_under_a_plain_limit(limited):
    run_id, dummy, dummy1, (scan, scan_dir), (report, ledger_dir) = limited
    assert scan.status == "successful", scan.log
    scanned = json.loads((scan_dir / "runner-disk" / "scan-report.json").read_text())
    assert [h["name"] for h in scanned["hosts"]] == ["web-dev-1"]
    assert report.status == "successful", report.log
    assert os.path.getsize(os.path.join(ledger_dir, "dashboard.html")) > 0
    assert json.loads(open(os.path.join(ledger_dir, "report.json")).read())["run_id"] == run_id
