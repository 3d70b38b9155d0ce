"""preflight_info on this machine: the agent services are read in the same module run."""

import json
from unittest import mock

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import preflight
from ansible_collections.fleetpatch.hybrid.plugins.modules import preflight_info as m


def run(args, capsys):
    with patch_module_args(args), pytest.raises(SystemExit) as exit_:
        m.main()
    return exit_.value.code, json.loads(capsys.readouterr().out)


def fake_systemctl(states):
    def run_command(self, argv, **kwargs):
        assert argv[:2] == ["systemctl", "is-active"], argv
        return (0 if all(states[u] == "active" for u in argv[2:]) else 3), "".join(states[u] + "\n" for u in argv[2:]), ""
    return run_command


@pytest.mark.parametrize("states, services, ready, reason", [
    ({"amazon-ssm-agent": "active", "nessusagent": "active"}, ["amazon-ssm-agent", "nessusagent"], True, None),
    ({"amazon-ssm-agent": "inactive", "nessusagent": "active"}, ["amazon-ssm-agent", "nessusagent"], False,
     "agent service amazon-ssm-agent is not active: inactive"),
    ({"amazon-ssm-agent": "inactive", "snap.amazon-ssm-agent.amazon-ssm-agent": "active"},
     ["amazon-ssm-agent|snap.amazon-ssm-agent.amazon-ssm-agent"], True, None),
])
def test_agent_services_decide_readiness(capsys, states, services, ready, reason):
    with mock.patch.object(m.AnsibleModule, "run_command", fake_systemctl(states)), \
            mock.patch.object(preflight.os.path, "isdir", lambda p: p == preflight.SYSTEMD_RUNNING), \
            mock.patch.object(preflight, "free_space", lambda paths: [{"path": "/", "free_mb": 10000}]), \
            mock.patch.object(preflight, "held_locks", lambda manager: []):
        code, out = run({"agent_services": services, "_ansible_check_mode": True}, capsys)
    assert code == 0, out
    assert out["ready"] is ready
    assert [r for r in out["reasons"] if r.startswith("agent service")] == ([reason] if reason else [])
    assert [s["name"] for s in out["services"]] == services


def test_no_agent_services_by_default(capsys):
    with mock.patch.object(m.AnsibleModule, "run_command", side_effect=AssertionError("no command expected")):
        code, out = run({}, capsys)
    assert code == 0, out
    assert out["services"] == []
    assert out["changed"] is False


def test_bad_service_name_is_one_clear_error(capsys):
    code, out = run({"agent_services": ["amazon-ssm-agent", "--now"]}, capsys)
    assert code == 1
    assert out["failed"] is True
    assert out["msg"].startswith("agent_services[1] '--now' is not a service name")
    assert "Traceback" not in out["msg"]
