"""Operators' hooks tried on a real local host with the hook_test playbook (issue #19), no patching.

pre_patch stops the host's web service (fp-webapp, an init.d service of the test packages) and
post_patch starts it again; a step that hangs is killed on the host at its timeout; a failing
pre_patch step under fail_host stops the point (its later steps do not run) while post_patch still
runs to undo it. What happened is read on the host: marker files with timestamps, the service's pid.
"""

import json
import time

import pytest
from fleetlib import HOSTS, host_exec, localfleet, run_playbook

pytestmark = pytest.mark.integration

HOST = "web-dev-1"
WEBAPP = "/etc/init.d/fp-webapp"


def try_hooks(tmp_path, hooks):
    extra = tmp_path / "hooks.json"
    extra.write_text(json.dumps({"fleetpatch_hook_host": HOST, "fleetpatch_hooks": hooks}))
    return run_playbook(str(tmp_path), "-e", "@%s" % extra, playbook="playbooks/hook_test.yml")


def host(command):
    rc, out = host_exec(HOSTS[HOST], command)
    return rc, out.strip()


@pytest.fixture()
def fresh_host(fleet):
    localfleet("reset", HOSTS[HOST])
    # the web app of the test archive (not in the base image), running
    rc, out = host("apt-get update -qq && apt-get install -y -qq fp-webapp=1.0-1 >/dev/null && sleep 1 && %s status" % WEBAPP)
    assert rc == 0, out
    yield
    localfleet("reset", HOSTS[HOST])


def test_pre_patch_stops_and_post_patch_starts_the_service_and_a_hanging_step_is_killed(fresh_host, tmp_path):
    rc, pid_before = host("cat /run/fp-webapp.pid")
    assert rc == 0
    hooks = {
        "pre_patch": [
            {"name": "stop the web app", "command": [WEBAPP, "stop"]},
            {"name": "note the stop", "command": "date +%s.%N > /var/tmp/hook-stopped; "
             "start-stop-daemon --status --pidfile /run/fp-webapp.pid; echo $? > /var/tmp/hook-status-in-pre", "shell": True},
            {"name": "a step that hangs", "command": ["sleep", "600"], "timeout": 3, "on_failure": "warn"},
        ],
        "post_patch": [
            {"name": "start the web app", "command": [WEBAPP, "start"]},
            {"name": "note the start", "command": "sleep 1; date +%s.%N > /var/tmp/hook-started", "shell": True},
        ],
    }
    started = time.time()
    night = try_hooks(tmp_path, hooks)
    elapsed = time.time() - started
    assert night.rc == 0, night.stdout[-4000:]
    # the hanging step was killed on the host at its 3 s timeout (not left to sleep 600 s)
    assert elapsed < 300
    assert "a step that hangs failed (warn): killed after its timeout of 3 s" in night.stdout
    rc, out = host("pgrep -x sleep || echo none")
    assert out == "none", out
    # the service was down during pre_patch (status 3 = not running) and is up again, a new process
    assert host("cat /var/tmp/hook-status-in-pre") == (0, "3")
    stopped, started_at = float(host("cat /var/tmp/hook-stopped")[1]), float(host("cat /var/tmp/hook-started")[1])
    assert stopped < started_at
    rc, pid_after = host("%s status && cat /run/fp-webapp.pid" % WEBAPP)
    assert rc == 0 and pid_after != pid_before


def test_a_failing_pre_patch_stops_its_point_and_post_patch_still_undoes_it(fresh_host, tmp_path):
    hooks = {
        "pre_patch": [
            {"name": "put the app in maintenance", "command": ["touch", "/var/tmp/hook-maintenance"]},
            {"name": "check the database is idle", "command": ["sh", "-c", "echo busy >&2; exit 3"]},
            {"name": "never reached", "command": ["touch", "/var/tmp/hook-never"]},
        ],
        "post_patch": [
            {"name": "leave maintenance", "command": ["rm", "-f", "/var/tmp/hook-maintenance"]},
        ],
    }
    night = try_hooks(tmp_path, hooks)
    assert night.rc != 0
    assert "check the database is idle failed (fail_host): exit code 3, allowed [0]" in night.stdout, night.stdout[-4000:]
    assert "busy" in night.stdout                                       # the step's output is shown
    assert host("test -e /var/tmp/hook-never; echo $?")[1] == "1"      # the point stopped there
    assert host("test -e /var/tmp/hook-maintenance; echo $?")[1] == "1"  # post_patch undid pre_patch


def test_bad_hook_definitions_fail_before_anything_runs(fresh_host, tmp_path):
    night = try_hooks(tmp_path, {"pre_patch": [{"command": "rm -rf /var/tmp/x", "name": "no shell"}]})
    assert night.rc != 0
    assert "fleetpatch_hooks.pre_patch[0].command: expected an argv list" in night.stdout, night.stdout[-3000:]
