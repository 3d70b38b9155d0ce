"""A host whose package manager is locked is recorded as failed and left untouched."""

import subprocess

import pytest
from fleetlib import LOCALFLEET, installed, localfleet, run_playbook

pytestmark = pytest.mark.integration

HOLD_LOCK = ("python3 -c 'import fcntl,time; f=open(\"/var/lib/dpkg/lock-frontend\",\"w\"); "
             "fcntl.lockf(f, fcntl.LOCK_EX); print(\"locked\", flush=True); time.sleep(120)'")


def test_locked_dpkg_stops_the_host_before_any_change(fleet, tmp_path):
    localfleet("reset", "fp1")
    before = installed("fp1")
    holder = subprocess.Popen([LOCALFLEET, "exec", "fp1", HOLD_LOCK], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        night = run_playbook(str(tmp_path), "-e", "fleetpatch_targets=web-dev-1")
    finally:
        holder.kill()
        holder.wait()
    assert night.rc != 0, "the run must fail when a host could not be patched"
    assert installed("fp1") == before
    rows = night.rows("SELECT phase, status, message FROM host_phases WHERE run_id=?", night.run_id)
    assert len(rows) == 1
    phase, status, message = rows[0]
    assert (phase, status) == ("preflight", "failed")
    assert "package manager locked: /var/lib/dpkg/lock-frontend held by pid" in message
    (host,) = night.report["hosts"]
    assert host["status"] == "failed" and host["failed_phase"] == "preflight"


def test_limit_without_localhost_is_a_clear_error(fleet, tmp_path):
    night = run_playbook(str(tmp_path), "--limit", "web-dev-1")
    assert night.rc != 0
    assert "Choose hosts with -e fleetpatch_targets=PATTERN instead of --limit" in night.stdout
    assert "Traceback" not in night.stdout + night.stderr
