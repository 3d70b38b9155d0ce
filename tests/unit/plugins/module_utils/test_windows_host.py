"""Windows preflight, health checks and wusa rollback judged from ansible.windows module results.

The results are in the shapes ansible.windows 3.3.0 documents (win_powershell, win_service_info,
win_uri, win_wait_for, win_command); no Windows host ran here.
"""

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import health
from ansible_collections.fleetpatch.hybrid.plugins.module_utils import windows_host as wh
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.preflight import outcome

FACTS = {"changed": False, "output": [{"system_drive": "C:", "free_mb": 20480, "reboot_pending_keys": []}], "error": []}
SERVICES = {"services": [{"name": "wuauserv", "state": "stopped", "start_mode": "manual"},
                         {"name": "AmazonSSMAgent", "state": "started", "start_mode": "auto"},
                         {"name": "W3SVC", "state": "started", "start_mode": "auto"}]}
SSM_GATE = {"reason": "", "record": None, "entry": None}


def test_a_ready_host_gives_the_linux_preflight_record():
    info = wh.preflight_info(FACTS, SERVICES, ["wuauserv:startable", "AmazonSSMAgent"], 4096, True)
    assert info["ready"] and info["reasons"] == []
    record = outcome(info, SSM_GATE)
    assert record["status"] == "ok"
    assert record["data"]["disks"] == [{"path": "C:", "free_mb": 20480}] and record["data"]["package_manager"] == "windows"


@pytest.mark.parametrize("facts,services,required,words", [
    ({"output": [{"system_drive": "C:", "free_mb": 900, "reboot_pending_keys": []}]}, SERVICES, [], "only 900 MiB free on C:"),
    ({"output": [{"system_drive": "C:", "free_mb": 20480, "reboot_pending_keys": [wh.REBOOT_PENDING_KEYS[0]]}]}, SERVICES, [],
     "a reboot from an earlier change is pending"),
    (FACTS, {"services": [{"name": "wuauserv", "state": "stopped", "start_mode": "disabled"}]}, ["wuauserv:startable"],
     "agent service wuauserv is not active: stopped, start mode disabled"),
    (FACTS, {"services": []}, ["AmazonSSMAgent"], "agent service AmazonSSMAgent is not active: not installed"),
])
def test_what_stops_a_windows_host(facts, services, required, words):
    info = wh.preflight_info(facts, services, required, 4096, True)
    assert not info["ready"] and words in "; ".join(info["reasons"])


def test_an_unreachable_host_is_unreachable_in_preflight():
    info = wh.preflight_info({"unreachable": True, "msg": "winrm: connection refused"}, None, [], 4096, False)
    assert outcome(info, SSM_GATE) == {"status": "unreachable", "message": "winrm: connection refused", "data": {}}


CHECKS = [{"type": "service", "service": "W3SVC"}, {"type": "http", "url": "http://localhost/health", "body": "ok"},
          {"type": "tcp", "port": 443}, {"type": "powershell", "name": "config", "script": "Get-Item C:\\app\\web.config"}]


def loop(checks, kind, *results):
    items = [c for c in checks if c["type"] == kind]
    return {"results": [dict(r, __validate_check=c) for c, r in zip(items, results, strict=True)]}


def test_health_checks_and_their_verdict():
    checks = wh.windows_checks(CHECKS)
    assert [c["name"] for c in checks] == ["service W3SVC", "http http://localhost/health", "tcp 127.0.0.1:443", "config"]
    before = wh.health_results(checks, SERVICES, loop(checks, "http", {"status_code": 200, "content": "ok"}),
                               loop(checks, "tcp", {"elapsed": 0}), loop(checks, "powershell", {"output": []}))
    assert all(r["ok"] for r in before)
    after = wh.health_results(checks, {"services": [{"name": "W3SVC", "state": "stopped"}]},
                              loop(checks, "http", {"status_code": 200, "content": "maintenance"}),
                              loop(checks, "tcp", {"failed": True, "msg": "timeout"}),
                              loop(checks, "powershell", {"failed": True, "error": [{"message": "Cannot find path"}]}))
    assert [r["message"] for r in after] == ["service W3SVC is stopped", "HTTP 200, body does not match 'ok'", "timeout",
                                             "Cannot find path"]
    verdict = wh.health_verdict(after, before)["verdict"]
    assert not verdict["passed"] and verdict["regressed"] == [c["name"] for c in checks]


def test_a_command_check_has_no_windows_form():
    with pytest.raises(health.CheckError, match="use type powershell"):
        wh.windows_checks([{"type": "command", "argv": ["true"]}])
    with pytest.raises(health.CheckError, match="needs script"):
        wh.windows_checks([{"type": "powershell"}])


def test_wusa_rollback_plan():
    argv = wh.uninstall_argv([{"name": "KB5034863"}, {"name": "KB5034127"}])
    assert argv[0] == {"kb": "KB5034863", "argv": ["wusa.exe", "/uninstall", "/kb:5034863", "/quiet", "/norestart"]}
    registered = {"results": [dict(rc=3010, __rollback_kb=argv[0]), dict(rc=87, stderr="", __rollback_kb=argv[1])]}
    plan = wh.uninstall_plan(registered)
    assert (plan["removed"], plan["failed"], plan["reboot_required"], plan["complete"]) == (["KB5034863"], ["KB5034127"], True, False)
    assert "cannot be uninstalled with wusa" in plan["cannot_rollback"][0]["version"]
