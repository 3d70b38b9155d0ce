"""The maintenance window on real runs: deferred outside it, no new batch after its cutoff."""

import json
import os
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
from fleetlib import ROOT, VENV_BIN, installed, localfleet, run_playbook

pytestmark = pytest.mark.integration


def window(schedule, duration, cutoff):
    return json.dumps({"fleetpatch_maintenance_window": {"schedule": schedule, "timezone": "UTC",
                                                         "duration": duration, "cutoff": cutoff}})


def test_outside_the_window_every_host_is_deferred(fleet, tmp_path):
    """A window in the variables (here extra vars, for every host) that is closed: deferred, not failed."""
    before = installed("fp1")
    night = run_playbook(str(tmp_path), "-e", "fleetpatch_targets=web-dev-1", "-e", window("cron(0 0 1 1 ? 2030)", 4, 1))
    assert night.rc == 0, "no host was in its window, so none had to be patched: " + night.stdout[-2000:]
    (host,) = night.report["hosts"]
    assert host["status"] == "deferred" and host["deferred"]["next_start"] == "2030-01-01T00:00:00+00:00"
    assert host["deferred"]["source"] == "vars" and "next window opens at 2030-01-01" in host["reason"]
    # which window governed the host, recorded with it in the ledger (not a run-wide window)
    applied = host["window_applied"]
    assert (applied["source"], applied["status"], applied["expression"], applied["timezone"], applied["next_start"]) == (
        "vars", "deferred", "cron(0 0 1 1 ? 2030)", "UTC", "2030-01-01T00:00:00+00:00"), applied
    assert night.rows("SELECT meta FROM runs WHERE run_id=?", night.run_id) == [("{}",)]
    assert installed("fp1") == before
    assert night.rows("SELECT phase, status FROM host_phases WHERE run_id=?", night.run_id) == [("preflight", "skipped")]
    assert not night.report.get("change_requests"), "no change request for a group with no host in its window"


def test_no_batch_starts_after_the_cutoff(fleet, tmp_path):
    """Batch 1 starts before the cutoff; the cutoff passes while it soaks; batch 2 never starts."""
    localfleet("reset", "fp1")
    localfleet("reset", "fp2")
    # an at() window to the second (a cron one would round the cutoff to a minute and cost minutes
    # of waiting): the cutoff comes 75 s from now, well after batch 1 starts, during its soak
    now = datetime.now(timezone.utc).replace(microsecond=0)
    cutoff_at = now + timedelta(seconds=75)
    start = cutoff_at - timedelta(hours=2)  # duration 3 h, cutoff 1 h before the end
    pause = int((cutoff_at - now).total_seconds()) + 5
    before = installed("fp2")
    night = run_playbook(str(tmp_path), "-e", "fleetpatch_targets=web-dev-1:web-prod-1", "-e", "fleetpatch_serial=1",
                         "-e", "fleetpatch_batch_pause=%d" % pause,
                         "-e", window("at(%s)" % start.strftime("%Y-%m-%dT%H:%M:%S"), 3, 1))
    assert night.rc != 0, "a host not started must fail the run"
    # the progress line before each batch: k of n, its hosts, the tally, the time to the cutoff
    assert "batch 1 of 2: 1 host(s) [web-dev-1]; so far 0 done, 0 failed;" in night.stdout, night.stdout[-3000:]
    assert "batch 2 of 2: 1 host(s) [web-prod-1]; so far 1 done, 0 failed;" in night.stdout, night.stdout[-3000:]
    statuses = dict((h["name"], h["status"]) for h in night.report["hosts"])
    assert statuses == {"web-dev-1": "patched", "web-prod-1": "not_started"}, night.stdout[-2000:]
    # both were in the window when the night started: the window they started the night in
    for host in night.report["hosts"]:
        applied = host["window_applied"]
        assert (applied["source"], applied["status"], applied["cutoff_at"]) == ("vars", "open", cutoff_at.isoformat()), applied
    assert installed("fp2") == before
    rows = dict((p, (s, m)) for p, s, m in night.rows(
        "SELECT phase, status, message FROM host_phases WHERE run_id=? AND host='web-prod-1'", night.run_id))
    # scanned with everyone before the batches; then the cutoff kept its batch from starting
    assert sorted(rows) == ["approve", "preflight", "scan"]
    assert rows["preflight"][0] == "skipped" and "past its cutoff" in rows["preflight"][1]


@pytest.mark.parametrize("target, ran_on_host", [("localhost", False), ("web-dev-1", True)])
def test_window_check_runs_where_the_task_runs(fleet, tmp_path, target, ran_on_host):
    """On the controller the action plugin judges the window in-process; on a host the module runs there."""
    book = tmp_path / "window.yml"
    book.write_text(
        "- hosts: %s\n  gather_facts: false\n  tasks:\n"
        "    - fleetpatch.hybrid.maintenance_window:\n"
        "        schedule: cron(0 2 ? * SUN *)\n        duration: 3\n        cutoff: 1\n"
        "        at: '2026-11-29T04:30:00+00:00'\n"
        "      register: w\n"
        "    - ansible.builtin.assert:\n"
        "        that: [w.inside, not w.before_cutoff, not w.allowed_to_start, \"w.window_end == '2026-11-29T05:00:00+00:00'\"]\n"
        % target)
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ["PATH"], ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_NOCOLOR="1")
    result = subprocess.run(["ansible-playbook", "-vvv", "-i", os.path.join(ROOT, "inventories", "demo"), str(book)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-3000:]
    # -vvv names the module file it sends to a host (pipelined); the in-process check sends none
    assert ("plugins/modules/maintenance_window.py" in result.stdout) == ran_on_host, result.stdout[-3000:]
