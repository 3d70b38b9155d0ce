"""Operators' hooks (issue #19): step definitions, their defaults and bad input, and what a run means."""

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import hooks as h


def step(**kwargs):
    return h.normalize_step(kwargs, "fleetpatch_hooks.pre_patch[0]")


def test_defaults_per_kind():
    assert step(command=["systemctl", "stop", "app"]) == {
        "name": "command step", "kind": "command", "timeout": 300, "on_failure": "fail_host",
        "allowed_exit_codes": [0], "argv": ["systemctl", "stop", "app"]}
    assert step(command="systemctl stop app && sleep 1", shell=True)["argv"] == ["/bin/sh", "-c", "systemctl stop app && sleep 1"]
    web = step(name="drain", http={"url": "https://lb.example.com/x", "method": "patch", "body": {"enabled": False}})
    assert web["http"] == {"url": "https://lb.example.com/x", "method": "PATCH", "status": [200, 201, 202, 204], "headers": {},
                           "validate_certs": True, "body": {"enabled": False}, "body_format": "json"}
    assert "allowed_exit_codes" not in web
    assert step(tasks="hooks/drain.yml", timeout=30, on_failure="rollback")["tasks"] == "hooks/drain.yml"


@pytest.mark.parametrize("given, fragment", [
    ({}, "give exactly one of command, tasks or http (got none)"),
    ({"command": ["a"], "tasks": "x.yml"}, "(got command, tasks)"),
    ({"command": "systemctl stop app"}, ".command: expected an argv list"),
    ({"command": ["a"], "shell": True}, "with shell: true the command is one string"),
    ({"command": ["a"], "timeout": 0}, ".timeout: expected seconds, 1 to 86400, got 0"),
    ({"command": ["a"], "timeout": "soon"}, ".timeout: expected seconds"),
    ({"command": ["a"], "on_failure": "ignore"}, ".on_failure: 'ignore' is not one of fail_host, warn, rollback"),
    ({"command": ["a"], "allowed_exit_codes": 0}, ".allowed_exit_codes: expected a list of exit codes"),
    ({"command": ["a"], "allowed_exit_codes": [300]}, "an exit code 0-255"),
    ({"command": ["a"], "retries": 3}, "unknown key retries"),
    ({"http": {"url": "lb.example.com"}}, ".http.url: expected an http:// or https:// URL"),
    ({"http": {"url": "https://x", "method": "FETCH"}}, ".http.method: 'FETCH' is not one of"),
    ({"http": {"url": "https://x", "status": [700]}}, "an HTTP status 100-599"),
    ({"http": {"url": "https://x"}, "allowed_exit_codes": [0]}, "judged by http.status"),
    ("stop app", "a step is a mapping"),
])
def test_bad_steps_name_the_field(given, fragment):
    with pytest.raises(h.HookError) as err:
        h.normalize_step(given, "fleetpatch_hooks.pre_patch[0]")
    assert str(err.value).startswith("fleetpatch_hooks.pre_patch[0]")
    assert fragment in str(err.value)


def test_normalize_points():
    out = h.normalize({"pre_patch": [{"command": ["true"]}]})
    assert list(out) == ["pre_patch", "post_patch", "on_rollback"] and out["post_patch"] == []
    assert h.normalize(None) == {"pre_patch": [], "post_patch": [], "on_rollback": []}
    with pytest.raises(h.HookError, match="unknown hook point pre-patch; use pre_patch, post_patch, on_rollback"):
        h.normalize({"pre-patch": []})
    with pytest.raises(h.HookError, match=r"fleetpatch_hooks.post_patch\[1\].command"):
        h.normalize({"post_patch": [{"command": ["true"]}, {"command": "oops"}]})
    night = h.normalize({"pre_night": [{"http": {"url": "https://cab.example.com/ok"}}]}, "fleetpatch_night_hooks", night=True)
    assert night["pre_night"][0]["on_failure"] == "cancel"
    with pytest.raises(h.HookError, match="runs on the controller: use http or tasks"):
        h.normalize({"pre_night": [{"command": ["true"]}]}, night=True)


@pytest.mark.parametrize("definition, result, status, action, fragment", [
    ({"command": ["true"]}, {"rc": 0, "stdout": "stopped"}, "ok", "go_on", "exit code 0"),
    ({"command": ["false"]}, {"rc": 1, "stderr": "no such unit"}, "failed", "stop", "exit code 1, allowed [0]"),
    ({"command": ["grep", "x"], "allowed_exit_codes": [0, 1]}, {"rc": 1}, "ok", "go_on", ""),
    ({"command": ["sleep", "600"], "timeout": 2}, {"rc": 124}, "failed", "stop", "killed after its timeout of 2 s"),
    ({"command": ["false"], "on_failure": "warn"}, {"rc": 1}, "warned", "go_on", "(warn)"),
    ({"command": ["false"], "on_failure": "rollback"}, {"rc": 1}, "failed", "rollback", "(rollback)"),
    ({"http": {"url": "https://lb/x"}}, {"status": 204}, "ok", "go_on", "HTTP 204"),
    ({"http": {"url": "https://lb/x"}}, {"status": 503, "content": "busy"}, "failed", "stop", "HTTP 503 from GET https://lb/x"),
    ({"http": {"url": "https://lb/x"}}, {"status": -1, "msg": "Connection refused"}, "failed", "stop",
     "no answer (Connection refused)"),
    ({"tasks": "drain.yml"}, {"failed": False}, "ok", "go_on", "ran"),
    ({"tasks": "drain.yml"}, {"failed": True, "msg": "boom"}, "failed", "stop", "failed: boom"),
    ({"command": ["true"]}, {"skipped": True}, "skipped", "go_on", "earlier step stopped"),
])
def test_judge(definition, result, status, action, fragment):
    judged = h.judge(step(**definition), result)
    assert (judged["status"], judged["action"]) == (status, action)
    assert fragment in judged["message"]


def test_judge_keeps_the_end_of_long_output():
    judged = h.judge(step(command=["x"]), {"rc": 1, "stdout": "a" * 5000 + "THE ERROR"})
    assert judged["output"].endswith("THE ERROR") and judged["output"].startswith("[... 3009 characters cut]")
    assert len(judged["output"]) < 2100


def test_fold():
    ok = h.judge(step(command=["true"]), {"rc": 0})
    warned = h.judge(step(command=["false"], on_failure="warn", name="lb"), {"rc": 1})
    stopped = h.judge(step(command=["false"], name="stop app"), {"rc": 3})
    skipped = h.judge(step(command=["true"]), {"skipped": True})
    assert h.fold("pre_patch", [])["status"] == "ok"
    assert h.fold("pre_patch", [ok, warned])["status"] == "warned"
    folded = h.fold("pre_patch", [ok, warned, stopped, skipped])
    assert (folded["status"], folded["action"]) == ("failed", "stop")
    assert folded["message"].startswith("stop app failed (fail_host): exit code 3")
    assert [s["status"] for s in folded["steps"]] == ["ok", "warned", "failed", "skipped"]
