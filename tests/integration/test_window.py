"""The maintenance window on real runs: no start outside it, no new batch after its cutoff."""

import json
import os
from datetime import datetime, timedelta, timezone

import pytest
from fleetlib import installed, localfleet, run_playbook

pytestmark = pytest.mark.integration


def window(schedule, duration, cutoff):
    return json.dumps({"fleetpatch_maintenance_window": {"schedule": schedule, "timezone": "UTC",
                                                         "duration": duration, "cutoff": cutoff}})


def test_outside_the_window_nothing_starts(fleet, tmp_path):
    before = installed("fp1")
    night = run_playbook(str(tmp_path), "-e", "fleetpatch_targets=web-dev-1", "-e", window("cron(0 0 1 1 ? 2030)", 4, 1))
    assert night.rc != 0
    assert "Not starting the patch night" in night.stdout
    assert "fleetpatch_force=true" in night.stdout
    assert not os.path.exists(os.path.join(str(tmp_path), "ledger.db"))
    assert installed("fp1") == before


def test_no_batch_starts_after_the_cutoff(fleet, tmp_path):
    """Batch 1 starts before the cutoff; the cutoff passes while it soaks; batch 2 never starts."""
    localfleet("reset", "fp1")
    localfleet("reset", "fp2")
    now = datetime.now(timezone.utc)
    cutoff_at = (now + timedelta(seconds=75)).replace(second=0, microsecond=0)
    if (cutoff_at - now).total_seconds() < 15:
        cutoff_at += timedelta(minutes=1)
    start = cutoff_at - timedelta(hours=2)  # duration 3 h, cutoff 1 h before the end
    pause = int((cutoff_at - now).total_seconds()) + 5
    before = installed("fp2")
    night = run_playbook(str(tmp_path), "-e", "fleetpatch_targets=web-dev-1:web-prod-1", "-e", "fleetpatch_serial=1",
                         "-e", "fleetpatch_batch_pause=%d" % pause,
                         "-e", window("cron(%d %d * * ? *)" % (start.minute, start.hour), 3, 1))
    assert night.rc != 0, "a host not started must fail the run"
    statuses = dict((h["name"], h["status"]) for h in night.report["hosts"])
    assert statuses == {"web-dev-1": "patched", "web-prod-1": "not_started"}, night.stdout[-2000:]
    assert installed("fp2") == before
    rows = dict((p, (s, m)) for p, s, m in night.rows(
        "SELECT phase, status, message FROM host_phases WHERE run_id=? AND host='web-prod-1'", night.run_id))
    # scanned with everyone before the batches; then the cutoff kept its batch from starting
    assert sorted(rows) == ["approve", "preflight", "scan"]
    assert rows["preflight"][0] == "skipped" and "past its cutoff" in rows["preflight"][1]
