"""A host lost in the middle of its batch (after preflight and scan went well).

The host is really powered off (tools/localfleet's stop: its namespace is killed and not
booted again) from a background thread as soon as the ledger shows it finished its snapshot,
so its next task - the patch - cannot reach it. The others must be patched, the lost host
recorded unreachable in the phase where it was lost, its change request closed with that
outcome, and the run must fail.
"""

import json
import uuid

import pytest
from fleetlib import DEBIAN_TARGETS, HOSTS, WhenPhase, expected_versions, installed, localfleet, power_off, run_playbook

pytestmark = pytest.mark.integration

LOST = "db-prod-1"  # its patch group has only this host; it needs no reboot, so it is lost while patching
BATCH_PHASES = ["snapshot", "patch", "reboot", "validate", "rescan"]


@pytest.fixture()
def night_with_a_lost_host(fleet, tmp_path):
    for name in HOSTS.values():
        localfleet("reset", name)
    run_id = "test-" + uuid.uuid4().hex[:8]
    watcher = WhenPhase(str(tmp_path), run_id, LOST, "snapshot", lambda: power_off(HOSTS[LOST]))
    try:
        night = run_playbook(str(tmp_path), "-e", DEBIAN_TARGETS, run_id=run_id)
        watcher.join()
        assert watcher.fired.is_set(), "the host never reached its snapshot: %s" % night.stdout[-3000:]
        yield night, watcher
    finally:
        localfleet("reset", HOSTS[LOST])


def test_lost_host_is_recorded_unreachable_and_the_others_are_patched(night_with_a_lost_host):
    night, watcher = night_with_a_lost_host
    before, after = expected_versions()
    assert night.rc != 0, "the run must fail when a host was lost"
    assert "UNREACHABLE!" in night.stdout, night.stdout[-3000:]

    rows = night.rows("SELECT phase, status, message FROM host_phases WHERE run_id=? AND host=?", night.run_id, LOST)
    statuses = dict((p, s) for p, s, dummy in rows)
    lost = [p for p, s, dummy in rows if s == "unreachable"]
    assert len(lost) == 1, rows
    phase = lost[0]
    # the phase where it was lost: the first batch phase it had not finished when it was powered off
    assert phase == [p for p in BATCH_PHASES if p not in watcher.phases_then][0], (rows, watcher.phases_then)
    assert set(statuses) == set(["preflight", "scan", "approve"] + BATCH_PHASES[:BATCH_PHASES.index(phase) + 1]), rows
    assert all(statuses[p] in ("ok", "changed", "skipped") for p in statuses if p != phase), rows

    report = dict((h["name"], h) for h in night.report["hosts"])
    assert report[LOST]["status"] == "unreachable"
    assert report[LOST]["failed_phase"] == phase
    for host, name in HOSTS.items():
        if host != LOST:
            assert report[host]["status"] == "patched", report[host]
            assert installed(name) == after[host], host

    (state, outcomes, notes), = night.rows("SELECT state, host_outcomes, close_notes FROM change_requests WHERE run_id=? "
                                           "AND patch_group='db-prod'", night.run_id)
    assert state == "closed"
    assert json.loads(outcomes) == {LOST: "unreachable"}
    assert LOST in notes and "unreachable" in notes
