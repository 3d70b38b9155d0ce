"""Operators' hooks on a Windows host (issue #19), through the TEST-ONLY ansible.windows stand-in
(tests/integration/test_only_collections: recorded results, no host touched). No Windows host and no
PowerShell ran here.

The hook_test playbook runs a Windows host's pre_patch and post_patch steps. What is checked: each
command step goes to ansible.windows.win_powershell with roles/hooks/files/run_step.ps1 and its argv
(or, with shell: true, its string) and timeout as parameters - the script runs the argv without a
shell and kills the process tree at the timeout (rc 124); the results are judged by the steps'
allowed exit codes, a step killed at its timeout is named so, a failing step under fail_host stops
its point and post_patch still runs. Also how the same steps run in the patch night: the hooks role
is the same (test_hooks_night.py runs it on Linux hosts).
"""

import json
import os
import subprocess

import pytest
from fleetlib import ROOT, VENV_BIN

pytestmark = pytest.mark.integration

REPLAY_COLLECTIONS = os.path.join(ROOT, "tests", "integration", "test_only_collections")
HOST = "win-hook-1"
IISRESET = "C:\\Windows\\System32\\iisreset.exe"
HOOKS = {
    "pre_patch": [
        {"name": "stop IIS", "command": [IISRESET, "/stop"], "timeout": 120},
        {"name": "a step that hangs", "command": ["powershell.exe", "-Command", "Start-Sleep 600"], "timeout": 3, "on_failure": "warn"},
        {"name": "the queue is empty", "shell": True, "command": "if ((Get-ChildItem D:\\queue).Count) { exit 3 }",
         "allowed_exit_codes": [0, 1]},
        {"name": "never reached", "command": ["cmd.exe", "/c", "exit 0"]},
    ],
    "post_patch": [{"name": "start IIS", "command": [IISRESET, "/start"], "timeout": 120}],
}


def ran(rc, stdout="", stderr="", timed_out=False, **expect):
    return {"changed": True, "output": [{"rc": rc, "timed_out": timed_out, "stdout": stdout, "stderr": stderr}],
            "error": [], "_expect": {"parameters": expect}}


RECORDED = {"win_powershell": [
    ran(0, "Internet services successfully stopped", Argv=[IISRESET, "/stop"], Script="", Timeout=120),
    ran(124, timed_out=True, Argv=["powershell.exe", "-Command", "Start-Sleep 600"], Script="", Timeout=3),
    ran(3, stderr="4 messages queued", Argv=[], Script=HOOKS["pre_patch"][2]["command"], Timeout=300),
    ran(0, "Internet services successfully started", Argv=[IISRESET, "/start"], Script="", Timeout=120),
]}


def test_command_steps_run_on_a_windows_host_through_ansible_windows(tmp_path):
    replay = tmp_path / "replay"
    replay.mkdir()
    (replay / ("%s.json" % HOST)).write_text(json.dumps(RECORDED))
    inventory = tmp_path / "windows.yml"
    # WinRM to 127.0.0.1:5986, where nothing listens: a task that really connected would fail
    inventory.write_text(json.dumps({"all": {"hosts": {HOST: {
        "ansible_host": "127.0.0.1", "ansible_connection": "winrm", "ansible_port": 5986, "ansible_user": "fleetpatch",
        "ansible_password": "not-used", "fleetpatch_platform": "windows", "fleetpatch_hooks": HOOKS}}}}))
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ["PATH"], ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_NOCOLOR="1", FLEETPATCH_TEST_WINDOWS_REPLAY=str(replay),
               ANSIBLE_COLLECTIONS_PATH=os.pathsep.join([REPLAY_COLLECTIONS, os.path.join(ROOT, ".cache", "collections")]))
    result = subprocess.run(["ansible-playbook", "-i", str(inventory), "playbooks/hook_test.yml", "-e", "fleetpatch_hook_host=%s" % HOST],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    out = " ".join(result.stdout.split())          # the YAML callback folds long lines
    assert result.returncode != 0, result.stdout[-4000:]                     # pre_patch failed: hook_test fails
    with open(replay / "calls.jsonl") as handle:
        calls = [json.loads(line) for line in handle]
    # four runs (the step after the failing one is not run), each with the runner script and its parameters;
    # a recorded call with other parameters would have failed (_expect)
    assert [c["module"] for c in calls] == ["win_powershell"] * 4, result.stdout[-4000:]
    for call in calls:
        assert "taskkill.exe /T /F /PID" in call["args"]["script"] and "[string[]]$Argv" in call["args"]["script"]
    assert [c["args"]["parameters"]["Timeout"] for c in calls] == [120, 3, 300, 120]
    assert "pre_patch on %s: failed - the queue is empty failed (fail_host): exit code 3, allowed [0, 1]" % HOST in out
    assert "a step that hangs failed (warn): killed after its timeout of 3 s" in out
    assert "post_patch on %s: ok - 1 step(s) ran" % HOST in out
    assert "never reached" in out and "not run: an earlier step stopped this hook point" in out
