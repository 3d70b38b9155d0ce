"""The one phase and status model: outcomes, the status sets, where a host goes on, where it was lost."""

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import lifecycle, report
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ledger import Ledger, LedgerError
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.lifecycle import (
    FAILED,
    HOST_STATUSES,
    NOT_DONE,
    TERMINAL,
    TRIED,
    host_status,
    lost_phase,
    max_fail_gate,
    next_phase,
    verdict,
)

SCANNED = {"preflight": {"status": "ok"}, "scan": {"status": "ok", "data": {"pending": 2}}, "approve": {"status": "ok"}}


def phases(**rows):
    out = dict(SCANNED)
    for phase, status in rows.items():
        out[phase] = status if isinstance(status, dict) else {"status": status}
    return out


def test_everything_imports_the_one_model():
    assert report.host_status is host_status
    assert report.failed_phase is lifecycle.failed_phase
    assert set(FAILED) <= set(TRIED) and set(FAILED) <= set(NOT_DONE) <= set(HOST_STATUSES)
    assert "deferred" not in NOT_DONE and "deferred" not in TRIED and "deferred" in TERMINAL
    assert "needs_attention" in FAILED and "incomplete" not in TERMINAL
    assert (set(lifecycle.BATCH_PHASES) | set(lifecycle.PREPARE_PHASES) | {"rollback", "findings"} | set(lifecycle.HOOK_PHASES)
            == set(lifecycle.PHASES))


def test_the_ledger_takes_only_the_models_phases_and_statuses(tmp_path):
    with Ledger(str(tmp_path / "l.db")) as ledger:
        ledger.start_run("r1")
        for phase in lifecycle.PHASES:
            for status in lifecycle.PHASE_STATUSES:
                ledger.record_phase("r1", "h1", phase, status)
        with pytest.raises(LedgerError, match="phase 'window' is not one of preflight, scan"):
            ledger.record_phase("r1", "h1", "window", "ok")


@pytest.mark.parametrize("rows,status", [
    (phases(patch={"status": "failed", "data": {"needs_attention": "dpkg --audit: foo half-configured"}},
            rollback="changed"), "needs_attention"),
    ({"preflight": {"status": "skipped", "data": {"deferred": True, "next_start": "2026-12-06T03:00:00+00:00"}}}, "deferred"),
    ({"preflight": {"status": "skipped", "message": "not started: past the cutoff"}}, "not_started"),
    (phases(patch="changed", reboot="changed", validate="ok", rescan="ok"), "patched"),
    (phases(patch="changed", reboot="changed"), "incomplete"),
    (phases(patch="ok", rescan="ok"), "compliant"),
    (phases(patch="changed", validate="failed", rollback="changed"), "rolled_back"),
    (phases(reboot="unreachable"), "unreachable"),
])
def test_host_status(rows, status):
    assert host_status(rows) == status
    assert status in HOST_STATUSES


def test_needs_attention_is_the_failed_phase_with_what_is_wrong():
    rows = phases(patch={"status": "failed", "message": "x", "data": {"needs_attention": "foo is half-configured"}})
    assert lifecycle.failed_phase(rows) == ("patch", "foo is half-configured")


@pytest.mark.parametrize("rows,phase", [
    ({}, "preflight"),
    ({"preflight": {"status": "ok"}}, "scan"),
    (dict(SCANNED), "snapshot"),
    (phases(snapshot="ok"), "patch"),
    # installed before the kill: on to reboot, validate and rescan, never a new scan
    (phases(snapshot="ok", patch="changed"), "reboot"),
    (phases(snapshot="ok", patch="changed", reboot="skipped"), "validate"),
    (phases(snapshot="ok", patch="changed", reboot="changed", validate="ok"), "rescan"),
    (phases(snapshot="ok", patch="changed", reboot="changed", validate="failed"), "rollback"),
    (phases(snapshot="ok", patch="changed", reboot="changed", validate="ok", rescan="ok"), None),
    (phases(patch="failed"), None),
    ({"preflight": {"status": "skipped", "data": {"deferred": True}}}, None),
])
def test_next_phase(rows, phase):
    assert next_phase(rows) == phase


@pytest.mark.parametrize("seen,phase", [
    ({}, "snapshot"),
    ({"preflight": "ok", "scan": "ok", "approve": "ok", "snapshot": "ok"}, "patch"),
    ({"snapshot": "ok", "patch": "changed", "reboot": "changed"}, "validate"),
    (dict((p, "ok") for p in lifecycle.BATCH_PHASES), "rescan"),
])
def test_lost_phase(seen, phase):
    assert lost_phase(seen) == phase


def hosts(**by_status):
    return [{"name": "%s-%d" % (status, i), "status": status} for status, n in sorted(by_status.items()) for i in range(n)]


def test_max_fail_gate_counts_only_tried_hosts():
    # 1 failed of 4 tried = 25%: stop above 20, not at 25; compliant and deferred hosts are not tried
    fleet = hosts(patched=3, needs_attention=1, compliant=5, deferred=7)
    assert max_fail_gate(fleet, 25)["stop"] is False
    gate = max_fail_gate(fleet, 20)
    assert gate["stop"] is True and gate["failed"] == ["needs_attention-0"] and len(gate["tried"]) == 4
    assert gate["reason"] == ("1 of 4 host(s) tried so far failed or were rolled back (needs_attention-0), "
                              "more than fleetpatch_max_fail_percentage=20%")
    assert max_fail_gate(hosts(compliant=3), 0)["stop"] is False


def test_verdict():
    assert verdict(hosts(patched=2, compliant=1, deferred=4))["ok"] is True
    judged = verdict(hosts(patched=1, incomplete=1, not_started=1, needs_attention=1))
    assert judged["ok"] is False and judged["not_done"] == ["incomplete-0", "needs_attention-0", "not_started-0"]
    assert judged["message"].startswith("hosts not patched: incomplete-0")
    assert verdict([])["message"].startswith("no host was patched or even tried")


def test_a_findings_phase_that_failed_fails_the_host_only_when_findings_are_required():
    unread = {"status": "failed", "message": "qualys: answered 401", "data": {"required": False}}
    night = phases(findings=unread, snapshot="ok", patch="changed", reboot="changed", validate="ok", rescan="ok")
    assert host_status(night) == "patched" and lifecycle.failed_phase(night) == (None, None)
    required = dict(unread, data={"required": True}, message="findings required (fleetpatch_findings_required), but: x")
    stopped = phases(findings=required, approve={"status": "failed", "message": "findings required"})
    assert host_status(stopped) == "failed"
    assert lifecycle.failed_phase(stopped) == ("findings", "findings required (fleetpatch_findings_required), but: x")
    assert next_phase(stopped) is None
    # a step of the scan: a resume after it goes on as it did without it
    assert next_phase(phases(findings={"status": "ok"})) == "snapshot"
