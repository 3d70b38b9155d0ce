import json
import sqlite3

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ledger import SCHEMA_VERSION, Ledger, LedgerError
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.proof import prove
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.report import build_report, host_status, render_table


@pytest.fixture
def ledger(tmp_path):
    with Ledger(str(tmp_path / "sub" / "ledger.db")) as handle:
        handle.start_run("r1", playbook="test")
        yield handle


def test_rows_are_appended_and_the_latest_row_of_a_phase_counts(ledger):
    ledger.record_phase("r1", "h1", "scan", "ok", data={"pending": 2})
    ledger.record_phase("r1", "h1", "scan", "failed", message="boom")
    rows = ledger.conn.execute("SELECT attempt, phase, status, message FROM host_phases ORDER BY id").fetchall()
    assert rows == [(1, "scan", "ok", None), (1, "scan", "failed", "boom")]
    assert ledger.phase("r1", "h1", "scan")["status"] == "failed"
    assert ledger.hosts("r1")[0]["phases"]["scan"]["message"] == "boom"
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


def test_a_rerun_of_an_unfinished_run_is_its_next_attempt(ledger):
    ledger.record_phase("r1", "h1", "patch", "changed")
    ledger.record_changes("r1", "h1", [{"name": "a", "arch": "all", "from": "1", "to": "2"}])
    assert ledger.start_run("r1") == {"run_id": "r1", "attempt": 2, "state": "resumed"}
    ledger.record_phase("r1", "h1", "reboot", "changed")
    ledger.record_changes("r1", "h1", [{"name": "a", "arch": "all", "from": "1", "to": "2"}])  # proved again: no new row
    assert ledger.conn.execute("SELECT attempt, phase FROM host_phases ORDER BY id").fetchall() == [(1, "patch"), (2, "reboot")]
    assert ledger.conn.execute("SELECT COUNT(*) FROM package_changes").fetchone()[0] == 1
    ledger.record_changes("r1", "h1", [{"name": "a", "arch": "all", "from": "1", "to": "3"}])
    assert ledger.conn.execute("SELECT attempt, to_version FROM package_changes ORDER BY id").fetchall() == [(1, "2"), (2, "3")]
    (host,) = ledger.hosts("r1")
    assert [(c["name"], c["to"], c["attempt"]) for c in host["changes"]] == [("a", "3", 2)]  # the latest row of each package
    run = ledger.run("r1")
    assert [(a["attempt"], a["status"]) for a in run["attempts"]] == [(1, "interrupted"), (2, "running")]


def test_a_rerun_of_a_finished_run_writes_nothing(ledger):
    ledger.record_phase("r1", "h1", "preflight", "ok")
    ledger.finish_run("r1", "finished")
    before = ledger.conn.execute("SELECT * FROM runs").fetchall(), ledger.conn.execute("SELECT * FROM run_attempts").fetchall()
    started = ledger.start_run("r1")
    assert started["state"] == "finished" and started["attempt"] == 1 and started["finished_at"]
    assert (ledger.conn.execute("SELECT * FROM runs").fetchall(), ledger.conn.execute("SELECT * FROM run_attempts").fetchall()) == before


PATCHES = [{"name": "a", "candidate_version": "2", "installed_version": "1", "cves": ["CVE-1"]},
           {"name": "b", "candidate_version": "5", "installed_version": "4", "cves": []}]


def test_resume_state(ledger):
    for host in ("h1", "h2", "h3", "h4"):
        ledger.record_phase("r1", host, "preflight", "ok")
        ledger.record_phase("r1", host, "scan", "ok", data={"pending": 2, "patches": PATCHES, "package_manager": "apt"})
        ledger.record_phase("r1", host, "approve", "ok", data={"approved": ["a"]})
    ledger.record_phase("r1", "h1", "snapshot", "ok", data={"provider": "package_state", "package_state": ["x"]})
    ledger.record_phase("r1", "h1", "patch", "changed")
    ledger.record_phase("r1", "h2", "snapshot", "ok")
    ledger.record_phase("r1", "h2", "patch", "ok")
    ledger.record_phase("r1", "h3", "patch", "failed", message="postinst")
    ledger.record_phase("r1", "h5", "preflight", "ok")
    state = ledger.resume("r1")
    assert state["h1"]["next"] == "reboot" and state["h1"]["skip"] == ["preflight", "scan", "approve", "snapshot", "patch"]
    assert state["h1"]["approved"] == PATCHES[:1] and state["h1"]["ready"] is True
    assert state["h1"]["snapshot"]["package_state"] == ["x"] and state["h1"]["status"] == "incomplete"
    assert "reboot" in state["h2"]["skip"] and state["h2"]["next"] == "reboot"  # nothing installed: no reboot
    assert state["h3"]["next"] is None and state["h3"]["status"] == "failed" and state["h3"]["ready"] is True
    assert state["h4"]["next"] == "snapshot" and state["h4"]["skip"] == ["preflight", "scan", "approve"]
    assert state["h5"]["next"] == "scan" and state["h5"]["ready"] is False
    # one host's place, read from that host's rows alone (patch_ledger action=resume), is the same
    for host in ("h1", "h3", "h5"):
        assert ledger.resume("r1", host=host) == {host: state[host]}
    assert ledger.resume("r1", host="nobody") == {}


def test_a_version_1_ledger_is_migrated(tmp_path):
    path = str(tmp_path / "old.db")
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA)
    conn.execute("INSERT INTO runs VALUES ('r0', '2026-11-01T00:00:00+00:00', '2026-11-01T01:00:00+00:00', 'finished', 'p', 0, '{}')")
    conn.execute("INSERT INTO host_phases VALUES ('r0', 'h1', 'patch', 'changed', '2026-11-01T00:30:00+00:00', NULL, '{}')")
    conn.execute("INSERT INTO package_changes VALUES ('r0', 'h1', 'a', 'all', '1', '2', 'security', '[]', '[]')")
    conn.commit()
    conn.close()
    with Ledger(path) as ledger:
        assert ledger.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        (host,) = ledger.hosts("r0")
        assert host["phases"]["patch"]["attempt"] == 1 and host["changes"][0]["to"] == "2"
        assert ledger.run("r0")["attempts"][0]["status"] == "finished"
        assert ledger.start_run("r0")["state"] == "finished"


def test_a_newer_ledger_is_refused(tmp_path):
    path = str(tmp_path / "new.db")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version=7")
    conn.close()
    with pytest.raises(LedgerError, match="schema version 7, newer than this collection knows"):
        Ledger(path)


V1_SCHEMA = """
CREATE TABLE runs (run_id TEXT PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL, playbook TEXT,
    check_mode INTEGER NOT NULL DEFAULT 0, meta TEXT NOT NULL DEFAULT '{}');
CREATE TABLE run_hosts (run_id TEXT NOT NULL REFERENCES runs(run_id), host TEXT NOT NULL, patch_group TEXT,
    attrs TEXT NOT NULL DEFAULT '{}', PRIMARY KEY (run_id, host));
CREATE TABLE host_phases (run_id TEXT NOT NULL REFERENCES runs(run_id), host TEXT NOT NULL, phase TEXT NOT NULL,
    status TEXT NOT NULL, recorded_at TEXT NOT NULL, message TEXT, data TEXT NOT NULL DEFAULT '{}', PRIMARY KEY (run_id, host, phase));
CREATE TABLE package_changes (run_id TEXT NOT NULL REFERENCES runs(run_id), host TEXT NOT NULL, name TEXT NOT NULL,
    arch TEXT NOT NULL, from_version TEXT, to_version TEXT NOT NULL, classification TEXT, cves TEXT NOT NULL DEFAULT '[]',
    advisories TEXT NOT NULL DEFAULT '[]', PRIMARY KEY (run_id, host, name, arch));
"""


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


def test_run_level_hook_rows_are_appended_per_attempt_and_shown_in_the_report(tmp_path):
    from ansible_collections.fleetpatch.hybrid.plugins.module_utils.report import load_report
    path = str(tmp_path / "ledger.db")
    with Ledger(path) as ledger:
        ledger.start_run("r1", playbook="fleetpatch.hybrid.patch_night")
        ledger.record_run_hook("r1", "pre_night", "failed", "step 0 freeze failed (cancel): HTTP 503",
                               {"step": 0, "name": "freeze", "kind": "http", "status": "failed", "http_status": 503, "output": "frozen"})
        ledger.record_run_hook("r1", "pre_night", "failed", "freeze failed (cancel): HTTP 503",
                               {"hook": "pre_night", "outcome": "failed", "action": "cancel", "steps": 1})
        with pytest.raises(LedgerError, match="run hook point 'pre_patch' is not one of pre_night, post_night"):
            ledger.record_run_hook("r1", "pre_patch", "ok")
        with pytest.raises(LedgerError, match="status 'done' is not one of"):
            ledger.record_run_hook("r1", "post_night", "done")
        with pytest.raises(LedgerError, match="start the run first"):
            ledger.record_run_hook("r2", "post_night", "ok")
    with Ledger(path) as ledger:
        assert ledger.start_run("r1")["attempt"] == 2
        ledger.record_run_hook("r1", "pre_night", "changed", "1 step(s) ran", {"hook": "pre_night", "outcome": "ok", "action": "go_on",
                                                                               "steps": 1})
        rows = ledger.run_hooks("r1")
        assert [(r["point"], r["status"], r["attempt"]) for r in rows] == [
            ("pre_night", "failed", 1), ("pre_night", "failed", 1), ("pre_night", "changed", 2)]     # nothing rewritten
        assert rows[0]["data"]["output"] == "frozen"
        report = load_report(ledger, "r1")[0]
        assert report["night_hooks"] == {"pre_night": {"outcome": "ok", "action": "go_on", "message": "1 step(s) ran",
                                                       "attempt": 2, "steps": []}}
        ledger.start_run("r3")
        assert "night_hooks" not in load_report(ledger, "r3")[0]        # no run-level hook ran: report.json as before


def test_a_version_3_ledger_gets_the_run_hooks_table(tmp_path):
    path = str(tmp_path / "v3.db")
    with Ledger(path) as ledger:
        ledger.start_run("r0")
    conn = sqlite3.connect(path)
    conn.executescript("DROP TABLE run_hooks; PRAGMA user_version=3;")
    conn.close()
    with Ledger(path) as ledger:
        assert ledger.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
        ledger.record_run_hook("r0", "post_night", "ok")
        assert ledger.run_hooks("r0")[0]["point"] == "post_night"
