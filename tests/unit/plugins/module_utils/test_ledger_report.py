import json
import sqlite3

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ledger import Ledger, LedgerError
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.proof import prove
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.report import build_report, host_status, render_table


@pytest.fixture
def ledger(tmp_path):
    with Ledger(str(tmp_path / "sub" / "ledger.db")) as handle:
        handle.start_run("r1", playbook="test")
        yield handle


def test_rows_are_upserted_per_host_and_phase(ledger):
    ledger.record_phase("r1", "h1", "scan", "ok", data={"pending": 2})
    ledger.record_phase("r1", "h1", "scan", "failed", message="boom")
    rows = ledger.conn.execute("SELECT phase, status, message FROM host_phases").fetchall()
    assert rows == [("scan", "failed", "boom")]
    assert sqlite3.connect(ledger.path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize("call,message", [
    (lambda ledger: ledger.record_phase("r1", "h1", "scna", "ok"), "phase 'scna' is not one of"),
    (lambda ledger: ledger.record_phase("r1", "h1", "scan", "done"), "status 'done' is not one of"),
    (lambda ledger: ledger.record_phase("nope", "h1", "scan", "ok"), "start the run first"),
    (lambda ledger: ledger.record_phase("r1", "", "scan", "ok"), "host is required"),
])
def test_bad_input_names_the_field(ledger, call, message):
    with pytest.raises(LedgerError, match=message):
        call(ledger)
    assert ledger.conn.execute("SELECT COUNT(*) FROM host_phases").fetchone()[0] == 0


def test_rerun_with_same_id_resumes(ledger):
    ledger.finish_run("r1", "finished")
    ledger.start_run("r1")
    run = ledger.run("r1")
    assert run["status"] == "running" and run["finished_at"] is None


def full_host(ledger, host, patched=True):
    ledger.record_host("r1", host, "web", {"environment": "Dev", "owner": "o@example.com"})
    ledger.record_phase("r1", host, "preflight", "ok")
    ledger.record_phase("r1", host, "scan", "ok", data={"pending": 1 if patched else 0, "cves": ["CVE-1"] if patched else []})
    ledger.record_phase("r1", host, "approve", "ok")
    ledger.record_phase("r1", host, "patch", "changed" if patched else "skipped")
    ledger.record_phase("r1", host, "rescan", "ok" if patched else "skipped", data={"cves": []})
    if patched:
        ledger.record_changes("r1", host, [{"name": "openssl", "arch": "amd64", "from": "1", "to": "2",
                                            "classification": "security", "cves": ["CVE-1"], "advisories": ["DSA-1-1"]}])


def test_report_contract(ledger):
    full_host(ledger, "h1")
    full_host(ledger, "h2", patched=False)
    ledger.record_phase("r1", "h3", "preflight", "failed", message="package manager locked")
    ledger.finish_run("r1", "finished")
    report = build_report(ledger.run("r1"), ledger.hosts("r1"))
    json.dumps(report)
    assert report["run_id"] == "r1"
    hosts = dict((h["name"], h) for h in report["hosts"])
    assert hosts["h1"]["status"] == "patched"
    assert hosts["h1"]["patched"] == [{"name": "openssl", "from": "1", "to": "2"}]
    assert hosts["h1"]["cves_closed"] == ["CVE-1"]
    assert hosts["h1"]["patch_group"] == "web" and hosts["h1"]["environment"] == "Dev"
    assert hosts["h2"]["status"] == "compliant" and hosts["h2"]["cves_closed"] == []
    assert hosts["h3"]["status"] == "failed" and hosts["h3"]["failed_phase"] == "preflight"
    assert report["summary"]["by_status"] == {"patched": 1, "compliant": 1, "failed": 1}
    table = render_table(report)
    assert "h3" in table and "preflight: package manager locked" in table
    report["change_requests"] = [{"number": "CHG0001001", "patch_group": "web", "state": "closed", "close_code": "successful"}]
    assert render_table(report).splitlines()[-1] == "change request CHG0001001 (web): closed, successful"


@pytest.mark.parametrize("phases,status", [
    ({}, "incomplete"),
    ({"preflight": {"status": "unreachable"}}, "unreachable"),
    ({"scan": {"status": "ok", "data": {"pending": 3}}, "patch": {"status": "skipped"}}, "compliant"),
    ({"scan": {"status": "ok", "data": {"pending": 3}}, "patch": {"status": "changed"}}, "incomplete"),
    ({"scan": {"status": "ok", "data": {"pending": 3}}, "patch": {"status": "changed"}, "rescan": {"status": "failed"}}, "failed"),
    ({"scan": {"status": "ok", "data": {"pending": 3}}, "patch": {"status": "changed"}, "validate": {"status": "failed"},
      "rollback": {"status": "changed"}}, "rolled_back"),
    ({"patch": {"status": "changed"}, "validate": {"status": "failed"}, "rollback": {"status": "failed"}}, "rollback_failed"),
    ({"preflight": {"status": "skipped", "message": "not started: past the cutoff"}}, "not_started"),
])
def test_host_status(phases, status):
    assert host_status(phases) == status


def test_proof():
    approved = [{"name": "a", "candidate_version": "2", "installed_version": "1", "cves": ["CVE-1"]},
                {"name": "b", "candidate_version": "5", "installed_version": "4", "cves": []},
                {"name": "c", "candidate_version": "9", "installed_version": "8", "cves": ["CVE-9"]}]
    pending = [{"name": "b", "cves": []}, {"name": "z", "cves": ["CVE-7"]}]
    proof = prove(approved, pending, {"a": "2", "b": "4", "c": "8.5"})
    assert proof["ok"] is False
    assert proof["still_pending"] == ["b"]
    assert proof["wrong_version"] == [{"name": "c", "expected": "9", "installed": "8.5"}]
    assert [c["name"] for c in proof["changes"]] == ["a"]
    assert proof["cves_remaining"] == ["CVE-7"]
    assert prove(approved[:1], [], {"a": "2"})["ok"] is True


def test_scan_only_runs_report_compliance():
    phases = {"preflight": {"status": "ok"}, "scan": {"status": "ok", "data": {"pending": 2}},
              "approve": {"status": "ok", "data": {"compliance": {"compliant": False, "missing": 2}}}}
    assert host_status(phases, scan_only=True) == "non_compliant"
    phases["approve"]["data"]["compliance"]["compliant"] = True
    assert host_status(phases, scan_only=True) == "compliant"
    assert host_status(phases) == "incomplete"  # a patch night that stopped before patching
