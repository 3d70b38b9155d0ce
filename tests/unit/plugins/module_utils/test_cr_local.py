"""The local backend against a real SQLite file, beside the run ledger's own tables."""

import os
import sqlite3
import threading

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.change_request import ensure, info, make_backend
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_errors import (
    CRNotFoundError,
    CRTransitionError,
    CRValidationError,
)
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_local import LocalBackend
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ledger import Ledger

GROUP = {
    "hosts": ["web-1", "web-2"], "owners": ["web@example.com"],
    "window": {"start": "2026-11-29T02:00:00Z", "end": "2026-11-29T05:00:00Z"},
    "patches": [{"name": "openssl", "candidate_version": "3.0.16", "cves": ["CVE-2024-12797"]}],
}


def params(path, **kw):
    out = dict(backend="local", ledger_path=path, run_id="r1", patch_group="web", **GROUP)
    out.update(kw)
    return out


def apply(path, check_mode=False, **kw):
    backend = make_backend(params(path, **kw), check_mode=check_mode)
    try:
        return ensure(backend, params(path, **kw), check_mode=check_mode)
    finally:
        backend.close()


def rows(path, sql):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture
def ledger(tmp_path):
    path = str(tmp_path / "out" / "ledger.db")
    with Ledger(path) as handle:
        handle.start_run("r1", playbook="test")
    return path


def test_open_walks_the_model_and_shares_the_ledger_file(ledger):
    changed, record, result = apply(ledger, state="implement", work_note="night opened")
    assert changed and result["created"]
    assert record["number"] == "CHG0001001" and record["state"] == "implement"
    assert [t["to"] for t in record["transitions"]] == ["new", "assess", "authorize", "scheduled", "implement"]
    assert record["hosts"] == ["web-1", "web-2"] and record["cves"] == ["CVE-2024-12797"]
    assert [n["text"] for n in record["work_notes"]] == ["night opened"]
    # The ledger's own tables are untouched and the journal is WAL like the ledger's.
    assert rows(ledger, "SELECT run_id FROM runs") == [("r1",)]
    assert rows(ledger, "PRAGMA journal_mode") == [("wal",)]


def test_rerun_finds_the_same_change_and_changes_nothing(ledger):
    first = apply(ledger, state="implement", work_note="night opened")[1]
    changed, record, result = apply(ledger, state="implement", work_note="night opened")
    assert not changed and result["actions"] == [] and not result["created"]
    assert record["number"] == first["number"]
    assert rows(ledger, "SELECT COUNT(*) FROM change_requests") == [(1,)]
    assert rows(ledger, "SELECT COUNT(*) FROM change_request_notes") == [(1,)]


def test_a_rerun_of_the_opening_never_drags_the_change_back(ledger):
    apply(ledger, state="review")
    changed, record, result = apply(ledger, state="scheduled")
    assert not changed and result["past_target"] and record["state"] == "review"


def test_numbers_grow_per_group_and_never_reuse(ledger):
    numbers = [apply(ledger, patch_group=g)[1]["number"] for g in ("a", "b", "c")]
    assert numbers == ["CHG0001001", "CHG0001002", "CHG0001003"]
    conn = sqlite3.connect(ledger)
    with conn:
        conn.execute("DELETE FROM change_request_transitions WHERE number='CHG0001003'")
        conn.execute("DELETE FROM change_requests WHERE number='CHG0001003'")
    conn.close()
    assert apply(ledger, patch_group="d")[1]["number"] == "CHG0001004"


def test_close_derives_the_code_and_keeps_the_outcomes(ledger):
    apply(ledger, state="implement")
    changed, record, result = apply(ledger, state="closed", host_outcomes={"web-1": "patched", "web-2": "failed"},
                                    outcome_details={"web-2": "validate: HTTP 500"})
    assert changed and record["state"] == "closed" and record["closed_at"]
    assert record["close_code"] == "successful_issues"
    assert record["host_outcomes"] == {"web-1": "patched", "web-2": "failed"}
    assert "- web-2: failed (validate: HTTP 500)" in record["close_notes"].splitlines()
    assert [a["to"] for a in result["actions"] if a["action"] == "transition"] == ["review", "closed"]


def test_check_mode_creates_nothing_not_even_the_file(tmp_path):
    path = str(tmp_path / "none" / "ledger.db")
    changed, record, result = apply(path, check_mode=True, state="implement", work_note="n")
    assert changed and record is None and result["created"]
    assert result["actions"][0]["payload"]["number"] == "(next: CHG0001001)"
    assert [a.get("to") for a in result["actions"][1:]] == [None, "assess", "authorize", "scheduled", "implement"]
    assert result["diff"]["after"]["state"] == "implement"
    assert not os.path.exists(os.path.dirname(path))


def test_check_mode_on_an_existing_ledger_writes_nothing(ledger):
    apply(ledger, state="scheduled")
    before = rows(ledger, "SELECT number, state, updated_at FROM change_requests")
    changed, record, result = apply(ledger, check_mode=True, state="closed", close_code="successful", work_note="x")
    assert changed and record["state"] == "scheduled"
    assert [a.get("to") for a in result["actions"] if a["action"] == "transition"] == ["implement", "review", "closed"]
    assert rows(ledger, "SELECT number, state, updated_at FROM change_requests") == before
    assert rows(ledger, "SELECT COUNT(*) FROM change_request_notes") == [(0,)]


@pytest.mark.parametrize("kw,error,message", [
    ({"number": "CHG0009999"}, CRNotFoundError, "change request CHG0009999 does not exist in the ledger"),
    ({"change_type": "standard", "state": "assess"}, CRTransitionError, "state 'assess' is not in the standard change model"),
    ({"state": "closed"}, CRValidationError, "state=closed needs close_code"),
    ({"state": "closed", "close_code": "fine"}, CRValidationError, "close_code 'fine' is not one of"),
    ({"state": "reviewed"}, CRValidationError, "state 'reviewed' is not one of present, new"),
    ({"run_id": None, "patch_group": None}, CRValidationError, "give number"),
])
def test_bad_input_writes_nothing(ledger, kw, error, message):
    with pytest.raises(error, match=message):
        apply(ledger, **kw)
    assert rows(ledger, "SELECT COUNT(*) FROM change_requests") == [(0,)]
    assert rows(ledger, "SELECT value FROM change_request_counters") == []


def test_a_failure_half_way_rolls_the_whole_ensure_back(ledger, monkeypatch):
    """Create, note and the first transitions run in one transaction: a crash before the end leaves nothing."""
    original = LocalBackend.move

    def move(self, record, state, fields=None):
        if state == "scheduled":
            raise sqlite3.OperationalError("disk I/O error")
        return original(self, record, state, fields)

    monkeypatch.setattr(LocalBackend, "move", move)
    with pytest.raises(sqlite3.OperationalError):
        apply(ledger, state="implement", work_note="n")
    assert rows(ledger, "SELECT COUNT(*) FROM change_requests") == [(0,)]
    assert rows(ledger, "SELECT COUNT(*) FROM change_request_notes") == [(0,)]
    assert rows(ledger, "SELECT COUNT(*) FROM change_request_counters") == [(0,)]


def test_racing_runs_raise_one_change(ledger):
    results, errors = [], []

    def worker():
        try:
            results.append(apply(ledger, state="scheduled")[1]["number"])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for dummy in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert set(results) == {"CHG0001001"}
    assert rows(ledger, "SELECT COUNT(*) FROM change_requests") == [(1,)]


def test_canceled_change_cannot_be_reopened(ledger):
    apply(ledger, state="assess")
    assert apply(ledger, state="canceled")[1]["state"] == "canceled"
    with pytest.raises(CRTransitionError, match="a canceled change cannot move to implement"):
        apply(ledger, state="implement")


def test_info_lists_a_run_and_reads_by_number(ledger):
    for group in ("db", "web"):
        apply(ledger, patch_group=group, state="scheduled")
    apply(ledger, run_id="r2", patch_group="web")
    backend = make_backend({"backend": "local", "ledger_path": ledger}, check_mode=True)
    try:
        assert [r["patch_group"] for r in info(backend, {"run_id": "r1"})] == ["db", "web"]
        assert [r["run_id"] for r in info(backend, {"state": "new"})] == ["r2"]
        assert info(backend, {"number": "CHG0001002"})[0]["patch_group"] == "web"
        assert info(backend, {"run_id": "r9", "patch_group": "web"}) == []
    finally:
        backend.close()


def test_info_on_a_missing_ledger_is_empty(tmp_path):
    backend = make_backend({"backend": "local", "ledger_path": str(tmp_path / "nope.db")}, check_mode=True)
    assert info(backend, {"run_id": "r1"}) == []
    assert not os.path.exists(str(tmp_path / "nope.db"))


def test_a_ledger_that_cannot_be_opened_is_one_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(Exception, match="cannot open the ledger"):
        make_backend({"backend": "local", "ledger_path": str(blocker / "ledger.db")})


def test_scope_drift_is_reported_not_rewritten(ledger):
    apply(ledger, state="scheduled")
    changed, record, result = apply(ledger, state="scheduled", hosts=["web-1", "web-2", "web-3"], cves=["CVE-2026-10001"])
    assert not changed and record["hosts"] == ["web-1", "web-2"]
    assert result["warnings"] == [
        "hosts web-3 not in change CHG0001001, which was raised without them: a change's scope is fixed when it is raised",
        "cves CVE-2026-10001 not in change CHG0001001, which was raised without them: a change's scope is fixed when it is raised",
    ]
