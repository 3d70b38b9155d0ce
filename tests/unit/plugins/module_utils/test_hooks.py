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


def test_ledger_records_one_row_per_step_then_the_points_outcome_last():
    ok = h.judge(step(command=["true"], name="drain"), {"rc": 0, "stdout": "drained"})
    warned = h.judge(step(command=["false"], on_failure="warn", name="lb"), {"rc": 1, "stderr": "lb slow"})
    stopped = h.judge(step(command=["false"], name="stop app"), {"rc": 3, "stdout": "x" * 5000})
    skipped = h.judge(step(command=["true"], name="later"), {"skipped": True})
    rows = h.ledger_records(h.fold("pre_patch", [ok, warned, stopped, skipped]))
    assert [(r["phase"], r["status"]) for r in rows] == [("pre_patch", "ok"), ("pre_patch", "failed"), ("pre_patch", "failed"),
                                                         ("pre_patch", "skipped"), ("pre_patch", "failed")]
    assert rows[0]["data"] == {"step": 0, "name": "drain", "kind": "command", "status": "ok", "action": "go_on", "rc": 0,
                               "timed_out": False, "timeout": 300, "output": "drained"}
    assert rows[1]["data"]["output"] == "lb slow" and rows[1]["message"].startswith("step 1 lb failed (warn)")
    assert len(rows[2]["data"]["output"]) < 2100                       # trimmed
    assert rows[-1]["data"] == {"hook": "pre_patch", "outcome": "failed", "action": "stop", "steps": 3}
    assert rows[-1]["message"].startswith("stop app failed (fail_host): exit code 3")
    # a point whose steps passed (or only warned) changed the host; with no step run it is ok
    assert h.ledger_records(h.fold("post_patch", [ok, warned]))[-1]["status"] == "changed"
    assert h.ledger_records(h.fold("post_patch", [ok]))[-1]["data"]["outcome"] == "ok"
    assert h.ledger_records(h.fold("on_rollback", []))[-1]["status"] == "ok"
    with pytest.raises(h.HookError, match="'pre_install' is not one of pre_patch, post_patch, on_rollback, pre_night, post_night"):
        h.ledger_records(h.fold("pre_install", []))


def night_step(**kwargs):
    return h.normalize_step(kwargs, "fleetpatch_night_hooks.pre_night[0]", night=True)


def test_run_level_points_have_ledger_rows_and_a_report_section():
    freeze = night_step(name="change freeze", http={"url": "https://cal.example.com/freeze", "status": [204]})
    quota = night_step(name="quota", tasks="hooks/quota.yml")
    judged = [h.judge(freeze, {"status": 503, "content": "frozen until monday " + "x" * 3000}), h.judge(quota, {"skipped": True})]
    rows = h.ledger_records(h.fold("pre_night", judged))
    assert [(r["phase"], r["status"]) for r in rows] == [("pre_night", "failed"), ("pre_night", "skipped"), ("pre_night", "failed")]
    assert rows[0]["data"]["http_status"] == 503 and len(rows[0]["data"]["output"]) < 2100          # trimmed
    assert rows[-1]["data"] == {"hook": "pre_night", "outcome": "failed", "action": "cancel", "steps": 1}
    post = h.ledger_records(h.fold("post_night", [h.judge(night_step(name="tell the CAB", http={"url": "https://cab.example.com/x"}),
                                                          {"status": 200, "content": "noted"})]))
    # as the ledger gives them back (Ledger.run_hooks), in order; the report shows each point's steps
    ledger_rows = [{"point": r["phase"], "status": r["status"], "message": r["message"], "data": r["data"], "attempt": 1}
                   for r in rows + post]
    report = h.night_report(ledger_rows)
    assert sorted(report) == ["post_night", "pre_night"]
    pre = report["pre_night"]
    assert (pre["outcome"], pre["action"], pre["attempt"]) == ("failed", "cancel", 1) and "dry_run" not in pre
    assert pre["message"].startswith("change freeze failed (cancel): HTTP 503 from GET https://cal.example.com/freeze, allowed [204]")
    assert [(s["name"], s["status"]) for s in pre["steps"]] == [("change freeze", "failed"), ("quota", "skipped")]
    assert pre["steps"][0]["http_status"] == 503 and pre["steps"][0]["output"].startswith("[... ")
    assert report["post_night"]["outcome"] == "ok" and report["post_night"]["steps"][0]["output"] == "noted"
    # a resumed run's later attempt replaces the point's entry; no rows, no section
    again = h.ledger_records(h.fold("pre_night", [h.judge(freeze, {"status": 204})]))
    later = h.night_report(ledger_rows + [{"point": r["phase"], "status": r["status"], "message": r["message"], "data": r["data"],
                                           "attempt": 2} for r in again])
    assert later["pre_night"]["outcome"] == "ok" and later["pre_night"]["attempt"] == 2 and len(later["pre_night"]["steps"]) == 1
    assert h.night_report([]) == {}


def test_a_dry_run_runs_only_what_reads():
    hooks = {"pre_night": [{"name": "CR approved", "http": {"url": "https://sn.example.com/api?x=1"}},
                           {"name": "probe", "http": {"url": "https://sn.example.com/", "method": "head"}},
                           {"name": "mark the night", "http": {"url": "https://sn.example.com/api", "method": "POST", "body": {"a": 1}}},
                           {"name": "quota", "tasks": "hooks/quota.yml"}]}
    steps = h.normalize(hooks, "fleetpatch_night_hooks", night=True, dry_run=True)["pre_night"]
    assert [s["dry_run"] for s in steps] == ["run", "run", "skip", "check_mode"]
    assert "dry_run" not in h.normalize(hooks, "fleetpatch_night_hooks", night=True)["pre_night"][0]
    assert h.normalize({"pre_patch": [{"command": ["true"]}]}, dry_run=True)["pre_patch"][0]["dry_run"] == "skip"
    skipped = h.judge(steps[2], {"skipped": True})
    assert (skipped["status"], skipped["action"]) == ("skipped", "go_on")
    assert skipped["message"] == "not run in a dry run: an http POST may change state"
    # the GET that fails still says the night would be canceled; the point's row says it was a dry run
    folded = h.fold("pre_night", [h.judge(steps[0], {"status": 404, "msg": "not approved"}), skipped])
    assert folded["action"] == "cancel"
    rows = h.ledger_records(folded, dry_run=True)
    assert rows[-1]["data"] == {"hook": "pre_night", "outcome": "failed", "action": "cancel", "steps": 1, "dry_run": True}
    report = h.night_report([{"point": r["phase"], "status": r["status"], "message": r["message"], "data": r["data"], "attempt": 1}
                             for r in rows])["pre_night"]
    assert report["dry_run"] is True
    assert report["would_cancel"].startswith("the pre_night gate would cancel the night: CR approved failed (cancel): HTTP 404")


def test_cancel_reason():
    gate = h.normalize_step({"name": "change freeze", "http": {"url": "https://cal.example.com/freeze", "status": [204]}},
                            "fleetpatch_night_hooks.pre_night[0]", night=True)
    cancel = h.fold("pre_night", [h.judge(gate, {"status": 200, "content": "freeze until Monday"})])
    assert h.cancel_reason(cancel).startswith("the pre_night gate canceled the night: change freeze failed (cancel): HTTP 200")
    warn = dict(gate, on_failure="warn")
    assert h.cancel_reason(h.fold("pre_night", [h.judge(warn, {"status": 200})])) is None
    assert h.cancel_reason(h.fold("pre_night", [h.judge(gate, {"status": 204})])) is None


def test_cancel_plan_groups_the_targeted_hosts_by_patch_group_from_their_variables():
    hosts = [{"inventory_hostname": "web-2", "fleetpatch_patch_group": "web", "fleetpatch_owner": "bob@example.com"},
             {"inventory_hostname": "web-1", "fleetpatch_patch_group": "web", "fleetpatch_owner": "alice@example.com"},
             {"inventory_hostname": "db-1", "fleetpatch_patch_group": "db"},
             {"inventory_hostname": "odd-1"}]
    plan = h.cancel_plan(hosts, "the pre_night gate canceled the night: change freeze")
    assert plan == {"hosts": ["db-1", "odd-1", "web-1", "web-2"],
                    "groups": [{"name": "db", "hosts": ["db-1"], "owners": []},
                               {"name": "ungrouped", "hosts": ["odd-1"], "owners": []},
                               {"name": "web", "hosts": ["web-1", "web-2"], "owners": ["alice@example.com", "bob@example.com"]}],
                    "message": "not started: the pre_night gate canceled the night: change freeze"}
    # a resumed run: a host whose outcome an earlier attempt settled keeps it (its change is still canceled)
    resumed = h.cancel_plan(hosts, "x", resume={"web-1": {"next": None}, "web-2": {"next": "patch"}})
    assert resumed["hosts"] == ["db-1", "odd-1", "web-2"] and resumed["groups"] == plan["groups"]
    # the same from the names patch_ledger's start_run returns (settled), as the night passes them
    assert h.cancel_plan(hosts, "x", settled=["web-1"]) == resumed
    with pytest.raises(h.HookError, match="a reason is required"):
        h.cancel_plan(hosts, "")
    with pytest.raises(h.HookError, match="each host must be a mapping"):
        h.cancel_plan(["web-1"], "x")


def test_a_failed_hook_point_fails_the_host_and_counts_toward_max_fail():
    from ansible_collections.fleetpatch.hybrid.plugins.module_utils import lifecycle
    stopped = h.fold("pre_patch", [h.judge(step(command=["false"], name="drain"), {"rc": 1})])
    undone = h.fold("post_patch", [h.judge(step(command=["true"]), {"rc": 0})])
    phases = {"preflight": {"status": "ok"}, "scan": {"status": "ok", "data": {"pending": 2}}, "approve": {"status": "ok"},
              "snapshot": {"status": "ok"}}
    for point in (stopped, undone):
        for row in h.ledger_records(point):  # the latest row of each phase wins
            phases[row["phase"]] = {"status": row["status"], "message": row["message"], "data": row["data"]}
    assert lifecycle.host_status(phases) == "failed"
    assert lifecycle.failed_phase(phases) == ("pre_patch", stopped["message"])
    assert lifecycle.next_phase(phases) is None                     # a rerun leaves it
    gate = lifecycle.max_fail_gate([{"name": "a", "status": "failed"}, {"name": "b", "status": "patched"}], 40)
    assert gate["stop"] and gate["failed"] == ["a"]
    # warned hook points leave a patched host patched
    warned = h.fold("post_patch", [h.judge(step(command=["false"], on_failure="warn"), {"rc": 1})])
    ok = dict(phases, pre_patch={"status": "changed"}, patch={"status": "changed"}, rescan={"status": "ok"},
              post_patch={"status": h.ledger_records(warned)[-1]["status"]})
    assert lifecycle.host_status(ok) == "patched"


def test_a_command_on_a_windows_host_is_judged_from_the_runner_scripts_output():
    stop = step(command=["C:\\Windows\\System32\\iisreset.exe", "/stop"], name="stop IIS", allowed_exit_codes=[0, 1])
    shell = step(command="if ((Get-ChildItem D:\\queue).Count) { exit 3 }", shell=True, name="queue", timeout=5)
    assert shell["script"] == "if ((Get-ChildItem D:\\queue).Count) { exit 3 }"       # PowerShell runs the string
    ok = h.judge(stop, {"changed": True, "output": [{"rc": 1, "timed_out": False, "stdout": "stopped", "stderr": ""}], "error": []},
                 windows=True)
    assert (ok["status"], ok["rc"], ok["output"]) == ("ok", 1, "stopped")
    killed = h.judge(shell, {"output": [{"rc": 124, "timed_out": True, "stdout": "", "stderr": ""}]}, windows=True)
    assert (killed["status"], killed["timed_out"]) == ("failed", True)
    assert killed["message"] == "queue failed (fail_host): killed after its timeout of 5 s"
    # the runner itself failed (WinRM, a script error) or Ansible's task timeout ended it
    broken = h.judge(stop, {"failed": True, "msg": "script threw", "output": [], "error": [{"message": "Access is denied"}]}, windows=True)
    assert broken["status"] == "failed" and broken["rc"] is None
    assert broken["output"] == "the step did not run on the Windows host: script threw; Access is denied"
    late = h.judge(stop, {"failed": True, "msg": "The task timed out", "timedout": {"period": 360}}, windows=True)
    assert late["timed_out"] is True and "killed after its timeout" in late["message"]
    assert h.judge(stop, {"skipped": True}, windows=True)["status"] == "skipped"
