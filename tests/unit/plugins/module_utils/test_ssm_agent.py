"""What SSM's view of a host's agent means for the preflight role, per agent mode."""

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ssm_agent import gate, managed_by_inventory

IID = "i-0123456789abcdef0"
READY = {"instance_id": IID, "managed": True, "ready": True, "reason": None}
OFFLINE = {"instance_id": IID, "managed": True, "ready": False, "reason": "SSM agent ConnectionLost (last ping 2026-11-26)"}
UNKNOWN = {"instance_id": IID, "managed": False, "ready": False, "reason": "not managed by SSM in us-east-1 (...)"}
SKIPPED = {"changed": False, "skipped": True, "skip_reason": "Conditional result was False"}
FAILED = {"failed": True, "msg": "AccessDeniedException: not authorized to perform ssm:DescribeInstanceInformation"}
AGENT = "amazon-ssm-agent|snap.amazon-ssm-agent.amazon-ssm-agent"
# the host's account could not be asked (its role could not be assumed): like a failed call, for this host only
NO_ROLE = {"instance_id": IID, "managed": None, "ready": False, "checked": False,
           "error": "role arn:aws:iam::444455556666:role/fp (account 444455556666) could not be assumed: AccessDenied",
           "reason": "SSM agent status unknown: role arn:aws:iam::444455556666:role/fp ..."}


def answer(entry):
    return {"changed": False, "instances": {IID: entry}}


@pytest.mark.parametrize("result, instance_id, mode, by_inventory, reason, services, record", [
    # SSM not asked (no AWS access under auto, or no instance id): nothing to judge
    (SKIPPED, IID, "auto", False, "", [], None),
    (SKIPPED, "", "auto", False, "", [], None),
    # an agent SSM knows: must be ready, and then its service is checked on the host
    (answer(READY), IID, "auto", False, "", [AGENT], READY),
    (answer(OFFLINE), IID, "auto", False, OFFLINE["reason"], [AGENT], OFFLINE),
    # an EC2 instance SSM does not know: patched over its connection, unless the inventory says SSM manages it
    (answer(UNKNOWN), IID, "auto", False, "", [], UNKNOWN),
    (answer(UNKNOWN), IID, "auto", True, UNKNOWN["reason"], [AGENT], UNKNOWN),
    (answer(UNKNOWN), IID, "required", False, UNKNOWN["reason"], [], UNKNOWN),
    # a failed call stops the host only under required; the error is kept either way
    (FAILED, IID, "auto", False, "", [], {"checked": False, "error": FAILED["msg"]}),
    (FAILED, IID, "required", False, "SSM agent status unknown: " + FAILED["msg"], [],
     {"checked": False, "error": FAILED["msg"]}),
    (FAILED, "", "required", False, "", [], None),
    (answer(NO_ROLE), IID, "auto", True, "", [AGENT], NO_ROLE),
    (answer(NO_ROLE), IID, "required", False, "SSM agent status unknown: " + NO_ROLE["error"], [], NO_ROLE),
    # skip: the answer stops nothing and no agent service is checked
    (answer(OFFLINE), IID, "skip", True, "", [], OFFLINE),
])
def test_gate_table(result, instance_id, mode, by_inventory, reason, services, record):
    verdict = gate(result, instance_id, mode, by_inventory, AGENT, [])
    assert verdict["reason"] == reason
    assert verdict["agent_services"] == services
    assert verdict["record"] == record


def test_skip_still_reports_what_ssm_said_but_gate_decides_only_when_asked():
    # under skip the role never asks SSM (the answer is skipped): nothing stops the host
    assert gate(SKIPPED, IID, "skip", True, AGENT, ["nessusagent"]) == {
        "entry": {}, "reason": "", "agent_services": ["nessusagent"], "record": None}


def test_other_agent_services_always_follow():
    assert gate(answer(READY), IID, "auto", False, AGENT, ["nessusagent"])["agent_services"] == [AGENT, "nessusagent"]


def test_a_long_error_is_shortened():
    long = {"failed": True, "msg": "x" * 400}
    verdict = gate(long, IID, "required", False, AGENT, [])
    assert len(verdict["record"]["error"]) == 250 and verdict["record"]["error"].endswith("...")


def test_a_bad_mode_names_the_choices():
    with pytest.raises(ValueError, match="auto, required, skip"):
        gate(SKIPPED, IID, "sometimes", False)


@pytest.mark.parametrize("sources, source, instance_id, connection, expected", [
    (None, "", "", "", False),
    (["ec2"], "ec2", IID, "ssh", False),
    (["ec2", "ssm"], "ec2", IID, "ssh", True),
    (None, "ssm", IID, "", True),
    (None, "onprem", "mi-0123456789abcdef0", "", True),
    (None, "ec2", IID, "amazon.aws.aws_ssm", True),
])
def test_managed_by_inventory(sources, source, instance_id, connection, expected):
    assert managed_by_inventory(sources, source, instance_id, connection) is expected
