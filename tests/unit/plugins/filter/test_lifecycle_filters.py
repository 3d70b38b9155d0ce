"""The filters over the phase/status model: max_fail_gate, run_verdict, lost_hosts."""

import time

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.hybrid.plugins.filter.lost_hosts import FilterModule as Lost
from ansible_collections.fleetpatch.hybrid.plugins.filter.max_fail_gate import FilterModule as Gate
from ansible_collections.fleetpatch.hybrid.plugins.filter.run_verdict import FilterModule as Verdict
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.lifecycle import lost_candidates

lost_hosts = Lost().filters()["lost_hosts"]
max_fail_gate = Gate().filters()["max_fail_gate"]
run_verdict = Verdict().filters()["run_verdict"]

REPORT = [
    {"name": "a", "status": "incomplete", "phases": {"preflight": "ok", "scan": "ok", "approve": "ok", "snapshot": "ok"}},
    {"name": "b", "status": "incomplete",
     "phases": {"preflight": "ok", "scan": "ok", "approve": "ok", "snapshot": "ok", "patch": "changed", "reboot": "changed"}},
    {"name": "c", "status": "patched", "phases": {}},
    {"name": "d", "status": "incomplete", "phases": {"preflight": "failed"}},
]


def test_lost_hosts_names_the_started_incomplete_ones():
    assert lost_hosts(REPORT, started=["a", "b", "c"]) == ["a", "b"]


def test_lost_hosts_of_the_targeted_ones_that_got_through_approval():
    # d was targeted but failed preflight; c is done; e was not targeted this time
    report = REPORT + [{"name": "e", "status": "incomplete", "phases": {"approve": "ok"}}]
    assert lost_hosts(report, targeted=["a", "b", "c", "d"]) == ["a", "b"]
    assert lost_hosts(report, targeted=[]) == []


def test_lost_hosts_rows():
    answers = [{"__fleetpatch_lost_host": "a", "unreachable": True, "msg": "ssh: connect refused"},
               {"__fleetpatch_lost_host": "b", "ping": "pong"}]
    assert lost_hosts(REPORT, answers=answers) == [
        {"host": "a", "phase": "patch", "status": "unreachable", "message": "lost during its batch: ssh: connect refused"},
        {"host": "b", "phase": "validate", "status": "failed",
         "message": "lost during its batch: it answers again, but its batch stopped (see the task output)"}]


def test_the_lost_entries_patch_report_returns_give_the_same_rows_as_the_whole_report():
    """patch_night reads only the lost hosts' report entries (patch_report targeted=...), not the whole
    report: the names to try and the rows recorded are the same as from every host's entry."""
    report = REPORT + [{"name": "e", "status": "incomplete", "phases": {"approve": "ok"}}]
    slice_ = lost_candidates(report, targeted=["a", "b", "c", "d"])
    assert [h["name"] for h in slice_] == lost_hosts(report, targeted=["a", "b", "c", "d"]) == ["a", "b"]
    answers = [{"__fleetpatch_lost_host": "a", "unreachable": True, "msg": "gone"}, {"__fleetpatch_lost_host": "b"}]
    assert lost_hosts(slice_, answers=answers) == lost_hosts(report, answers=answers)


def test_lost_hosts_is_linear_at_10000_hosts():
    report = [{"name": "h%d" % i, "status": "incomplete", "phases": {"snapshot": "ok"}} for i in range(10000)]
    answers = [{"__fleetpatch_lost_host": "h%d" % i, "unreachable": True} for i in range(10000)]
    started = time.perf_counter()
    assert len(lost_hosts(report, started=[h["name"] for h in report])) == 10000
    assert len(lost_hosts(report, answers=answers)) == 10000
    assert time.perf_counter() - started < 2  # a quadratic fold would take minutes


def test_gate_and_verdict():
    fleet = [{"name": "x", "status": "failed"}, {"name": "y", "status": "patched"}]
    assert max_fail_gate(fleet, "49")["stop"] is True
    assert max_fail_gate(fleet, 50)["stop"] is False
    assert run_verdict(fleet) == {"ok": False, "not_done": ["x"], "message": "hosts not patched: x"}


@pytest.mark.parametrize("call,words", [
    (lambda: max_fail_gate([], "half"), "fleetpatch_max_fail_percentage must be a whole number"),
    (lambda: max_fail_gate([], 120), "must be 0-100, got 120"),
    (lambda: max_fail_gate([{"name": "x"}], 10), "missing 'status'"),
    (lambda: run_verdict([{"status": "failed"}]), "missing 'name'"),
    (lambda: lost_hosts(REPORT, answers=[{"unreachable": True}]), "carrying __fleetpatch_lost_host"),
])
def test_bad_input(call, words):
    with pytest.raises(AnsibleFilterError, match=words):
        call()
