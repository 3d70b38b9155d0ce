import fcntl
import os
import subprocess
import sys

import pytest

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


SSM = "amazon-ssm-agent|snap.amazon-ssm-agent.amazon-ssm-agent"


@pytest.mark.parametrize("specs, expected", [
    ([], []),
    (["amazon-ssm-agent"], [("amazon-ssm-agent", ["amazon-ssm-agent"])]),
    ([SSM, " nessusagent "], [(SSM, ["amazon-ssm-agent", "snap.amazon-ssm-agent.amazon-ssm-agent"]),
                              ("nessusagent", ["nessusagent"])]),
    (["a", "a", " a "], [("a", ["a"])]),
    (["a| b |"], [("a|b", ["a", "b"])]),
])
def test_parse_service_specs(specs, expected):
    assert preflight.parse_service_specs(specs) == expected


@pytest.mark.parametrize("bad", ["", "|", "--now", "ssm agent", "/etc/init.d/ssh"])
def test_parse_service_specs_names_the_bad_entry(bad):
    with pytest.raises(ValueError, match=r"agent_services\[1\] .* is not a service name"):
        preflight.parse_service_specs(["ok", bad])


@pytest.mark.parametrize("units, rc, stdout, expected", [
    (["a", "b"], 0, "active\nactive\n", {"a": "active", "b": "active"}),
    (["a", "b"], 3, "active\ninactive\n", {"a": "active", "b": "inactive"}),
    (["a"], 3, "failed\n", {"a": "failed"}),
    (["a", "b"], 1, "", {"a": "unknown (systemctl rc 1)", "b": "unknown (systemctl rc 1)"}),
])
def test_parse_is_active(units, rc, stdout, expected):
    assert preflight.parse_is_active(units, rc, stdout) == expected


class Runner(object):
    """Answers commands from a table and remembers them (a host without the real services)."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, argv):
        self.calls.append(argv)
        return self.answers[tuple(argv)]


@pytest.mark.parametrize("specs, answers, expected", [
    # one systemctl call answers every unit, alternatives included
    ([SSM, "nessusagent"],
     {("systemctl", "is-active", "amazon-ssm-agent", "snap.amazon-ssm-agent.amazon-ssm-agent", "nessusagent"):
      (3, "inactive\nactive\nactive\n", "")},
     [{"name": SSM, "unit": "snap.amazon-ssm-agent.amazon-ssm-agent", "state": "active", "active": True},
      {"name": "nessusagent", "unit": "nessusagent", "state": "active", "active": True}]),
    (["amazon-ssm-agent"], {("systemctl", "is-active", "amazon-ssm-agent"): (3, "inactive\n", "")},
     [{"name": "amazon-ssm-agent", "unit": "amazon-ssm-agent", "state": "inactive", "active": False}]),
    ([SSM], {("systemctl", "is-active", "amazon-ssm-agent", "snap.amazon-ssm-agent.amazon-ssm-agent"): (3, "failed\ninactive\n", "")},
     [{"name": SSM, "unit": "amazon-ssm-agent", "state": "failed", "active": False}]),
    ([], {}, []),
])
def test_service_states_under_systemd(specs, answers, expected):
    runner = Runner(answers)
    assert preflight.service_states(specs, runner, systemd=True) == expected
    assert len(runner.calls) == (1 if specs else 0)


@pytest.mark.parametrize("spec, script_rc, processes, expected_state, active", [
    ("fp-agent", 0, [], "active", True),
    ("fp-agent", 3, ["fp-agent"], "inactive", False),  # the init script's word wins over a stray process
    ("fp-agent", 1, [], "dead (pid file exists)", False),
    ("fp-agent", 150, [], "unknown (status rc 150)", False),
    ("no-script", None, ["no-script"], "active", True),
    ("no-script", None, ["other"], "not installed or not running", False),
    # /proc/PID/comm holds 15 characters
    ("amazon-ssm-agent", None, ["amazon-ssm-agen"], "active", True),
])
def test_service_states_without_systemd(tmp_path, spec, script_rc, processes, expected_state, active):
    answers = {}
    if script_rc is not None:
        script = tmp_path / spec
        script.write_text("#!/bin/sh\n")
        answers[(str(script), "status")] = (script_rc, "", "")
    runner = Runner(answers)
    (state,) = preflight.service_states([spec], runner, systemd=False, init_dir=str(tmp_path), processes=processes)
    assert (state["state"], state["active"]) == (expected_state, active)
    assert len(runner.calls) == (1 if script_rc is not None else 0)


def test_process_names_sees_this_process():
    with open("/proc/self/comm") as handle:
        assert handle.read().strip() in preflight.process_names()


@pytest.mark.parametrize("services, expected", [
    ([], []),
    ([{"name": "amazon-ssm-agent", "unit": "amazon-ssm-agent", "state": "active", "active": True}], []),
    ([{"name": "amazon-ssm-agent", "unit": "amazon-ssm-agent", "state": "inactive", "active": False},
      {"name": "nessusagent", "unit": "nessusagent", "state": "failed", "active": False}],
     ["agent service amazon-ssm-agent is not active: inactive", "agent service nessusagent is not active: failed"]),
])
def test_evaluate_inactive_agents(services, expected):
    assert preflight.evaluate([], [{"path": "/", "free_mb": 600}], 500, False, False, services) == expected


NO_SSM = {"reason": "", "entry": {}, "record": None, "agent_services": []}
INFO = {"ready": True, "reasons": [], "package_manager": "apt", "disks": [{"path": "/", "free_mb": 900}], "locks": [],
        "reboot_pending": False, "python_version": "3.11.2", "services": [], "changed": False}


@pytest.mark.parametrize("info, ssm, status, message, data", [
    (INFO, NO_SSM, "ok", "", {"package_manager": "apt", "disks": [{"path": "/", "free_mb": 900}], "locks": [],
                              "reboot_pending": False, "python_version": "3.11.2", "services": [], "ssm_agent": None}),
    (dict(INFO, ready=False, reasons=["only 10 MiB free on / (need 500 MiB)", "a reboot from an earlier change is pending"]),
     NO_SSM, "failed", "only 10 MiB free on / (need 500 MiB); a reboot from an earlier change is pending", None),
    ({"unreachable": True, "msg": "Failed to connect to the host via ssh"}, NO_SSM, "unreachable",
     "Failed to connect to the host via ssh", {}),
    ({"failed": True, "msg": "preflight checks did not run on the host (exit code 127): no Python on this host"}, NO_SSM,
     "failed", "preflight checks did not run on the host (exit code 127): no Python on this host", {}),
    ({"unreachable": True}, NO_SSM, "unreachable", "no answer", {}),
    # SSM stopped the host first: preflight_info was skipped, the host never contacted
    ({"skipped": True, "changed": False}, dict(NO_SSM, reason="SSM agent ConnectionLost", entry={"ready": False}),
     "failed", "SSM agent ConnectionLost", {"ssm_agent": {"ready": False}}),
])
def test_outcome_table(info, ssm, status, message, data):
    result = preflight.outcome(info, ssm)
    assert (result["status"], result["message"]) == (status, message)
    if data is not None:
        assert result["data"] == data


def test_outcome_keeps_what_ssm_said_of_a_ready_host():
    entry = {"instance_id": "i-0123456789abcdef0", "ready": True}
    assert preflight.outcome(INFO, dict(NO_SSM, entry=entry, record=entry))["data"]["ssm_agent"] == entry
