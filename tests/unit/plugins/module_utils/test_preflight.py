import fcntl
import os
import subprocess
import sys

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import preflight


def test_lock_holder_sees_a_posix_lock_from_another_process(tmp_path):
    lock = tmp_path / "lock-frontend"
    lock.write_text("")
    assert preflight.lock_holder(str(lock)) == 0
    holder = subprocess.Popen([sys.executable, "-c",
                               "import fcntl,sys,time; f=open(sys.argv[1],'w'); fcntl.lockf(f, fcntl.LOCK_EX); "
                               "print('locked', flush=True); time.sleep(30)", str(lock)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"locked"
        assert preflight.lock_holder(str(lock)) == holder.pid
    finally:
        holder.kill()
        holder.wait()
    assert preflight.lock_holder(str(lock)) == 0
    assert preflight.lock_holder(str(tmp_path / "absent")) is None
    assert fcntl  # the module under test uses fcntl record locks, like dpkg


def test_evaluate_reasons():
    reasons = preflight.evaluate([{"path": "/var/lib/dpkg/lock", "pid": 42}], [{"path": "/", "free_mb": 100}], 500, True, True)
    assert reasons == ["package manager locked: /var/lib/dpkg/lock held by pid 42",
                       "only 100 MiB free on / (need 500 MiB)", "a reboot from an earlier change is pending"]
    assert preflight.evaluate([], [{"path": "/", "free_mb": 600}], 500, True, False) == []
    assert preflight.free_space([os.sep, "/nonexistent-path"])[0]["path"] == os.sep
