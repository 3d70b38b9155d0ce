"""ec2_instance_snapshot: the calls moto (5.2) does not have, against botocore's Stubber.

moto lacks CreateReplaceRootVolumeTask / DescribeReplaceRootVolumeTasks, and its snapshots are
completed the moment they exist, so the root-volume restore and the waits that time out or
fail are answered here by botocore's Stubber, which checks every request and response against
the EC2 service model. Snapshot sets, cleanup and the data-volume swap run against a real moto
server in tests/integration/test_ec2_snapshot.py.
"""

import json
from datetime import datetime, timezone
from unittest import mock

import boto3
import pytest
from ansible.module_utils.testing import patch_module_args
from botocore.stub import ANY, Stubber

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import _ec2_snapshot as e
from ansible_collections.fleetpatch.hybrid.plugins.modules import ec2_instance_snapshot as module

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc)
INSTANCE = "i-0123456789abcdef0"
OURS = [{"Key": "fleetpatch:managed-by", "Value": "fleetpatch.hybrid"}, {"Key": "fleetpatch:run-id", "Value": "run-1"},
        {"Key": "fleetpatch:instance-id", "Value": INSTANCE}]
RUN_FILTERS = {"OwnerIds": ["self"], "Filters": [
    {"Name": "tag:fleetpatch:managed-by", "Values": ["fleetpatch.hybrid"]},
    {"Name": "tag:fleetpatch:run-id", "Values": ["run-1"]},
    {"Name": "tag:fleetpatch:instance-id", "Values": [INSTANCE]}]}


class Clock(object):
    def __init__(self):
        self.now = 0.0
        self.naps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.naps.append(seconds)
        self.now += seconds


def ec2():
    return boto3.client("ec2", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")


def snap(snapshot_id, volume_id, device, state="completed", tags=None):
    tags = OURS if tags is None else tags
    return {"SnapshotId": snapshot_id, "VolumeId": volume_id, "State": state, "Progress": "100%" if state == "completed" else "40%",
            "StartTime": NOW, "VolumeSize": 8, "Tags": tags + [{"Key": "fleetpatch:device", "Value": device}]}


def instance(state="running", root_volume="vol-root-now"):
    return {"Reservations": [{"Instances": [{
        "InstanceId": INSTANCE, "State": {"Name": state, "Code": 16}, "RootDeviceName": "/dev/xvda",
        "Placement": {"AvailabilityZone": "us-east-1a"},
        "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeId": root_volume, "DeleteOnTermination": True}}]}]}]}


def task(state, task_id="replacevol-0123456789abcdef0"):
    return {"ReplaceRootVolumeTaskId": task_id, "InstanceId": INSTANCE, "TaskState": state, "SnapshotId": "snap-root"}


PARAMS = {"instance_id": INSTANCE, "run_id": "run-1", "wait": True, "wait_timeout": 600, "restore_volumes": "all",
          "stop_instance": True, "delete_replaced_volumes": False}


def expect_restore_reads(stub, root_volume_snapshot="snap-ami-root"):
    stub.add_response("describe_snapshots", {"Snapshots": [snap("snap-root", "vol-root-then", "/dev/xvda")]}, RUN_FILTERS)
    stub.add_response("describe_instances", instance(), {"InstanceIds": [INSTANCE]})
    stub.add_response("describe_volumes", {"Volumes": [{"VolumeId": "vol-root-now", "SnapshotId": root_volume_snapshot,
                                                        "VolumeType": "gp3", "Size": 8}]}, {"VolumeIds": ["vol-root-now"]})


def test_restore_root_by_replace_root_volume_task():
    client, clock = ec2(), Clock()
    api = e.Ec2Snapshots(client, sleep=clock.sleep, clock=clock, delay=15)
    with Stubber(client) as stub:
        expect_restore_reads(stub)
        stub.add_response("describe_replace_root_volume_tasks", {"ReplaceRootVolumeTasks": []},
                          {"Filters": [{"Name": "instance-id", "Values": [INSTANCE]}]})
        stub.add_response("create_replace_root_volume_task", {"ReplaceRootVolumeTask": task("pending")}, {
            "InstanceId": INSTANCE, "SnapshotId": "snap-root", "DeleteReplacedRootVolume": False,
            "TagSpecifications": [{"ResourceType": "replace-root-volume-task", "Tags": [
                {"Key": "fleetpatch:instance-id", "Value": INSTANCE},
                {"Key": "fleetpatch:managed-by", "Value": "fleetpatch.hybrid"},
                {"Key": "fleetpatch:run-id", "Value": "run-1"}]}]})
        for state in ("in-progress", "in-progress", "succeeded"):
            stub.add_response("describe_replace_root_volume_tasks", {"ReplaceRootVolumeTasks": [task(state)]},
                              {"ReplaceRootVolumeTaskIds": ["replacevol-0123456789abcdef0"]})
        result = e.restore(api, dict(PARAMS))
        stub.assert_no_pending_responses()
    assert result["changed"] is True
    assert result["restore"]["root"] == {"device": "/dev/xvda", "snapshot_id": "snap-root", "old_volume_id": "vol-root-now",
                                         "done": True, "task_id": "replacevol-0123456789abcdef0", "task_state": "succeeded"}
    assert result["restore"]["data"] == []
    assert clock.naps == [15, 15]


def test_restore_root_joins_a_task_already_running_for_our_snapshot():
    client, clock = ec2(), Clock()
    api = e.Ec2Snapshots(client, sleep=clock.sleep, clock=clock, delay=15)
    with Stubber(client) as stub:
        expect_restore_reads(stub)
        stub.add_response("describe_replace_root_volume_tasks", {"ReplaceRootVolumeTasks": [
            task("failed", "replacevol-00000000000000001"), task("in-progress")]},
            {"Filters": [{"Name": "instance-id", "Values": [INSTANCE]}]})
        stub.add_response("describe_replace_root_volume_tasks", {"ReplaceRootVolumeTasks": [task("succeeded")]},
                          {"ReplaceRootVolumeTaskIds": ["replacevol-0123456789abcdef0"]})
        result = e.restore(api, dict(PARAMS))
        stub.assert_no_pending_responses()     # no second create_replace_root_volume_task
    assert result["restore"]["root"]["task_state"] == "succeeded"


def test_restore_is_a_no_op_when_the_root_already_comes_from_our_snapshot():
    client = ec2()
    with Stubber(client) as stub:
        expect_restore_reads(stub, root_volume_snapshot="snap-root")
        result = e.restore(e.Ec2Snapshots(client), dict(PARAMS))
        stub.assert_no_pending_responses()
    assert result["changed"] is False
    assert result["restore"]["root"]["done"] is True


def test_restore_in_check_mode_only_reads():
    client = ec2()
    with Stubber(client) as stub:
        expect_restore_reads(stub)
        result = e.restore(e.Ec2Snapshots(client), dict(PARAMS), check_mode=True)
        stub.assert_no_pending_responses()
    assert result["changed"] is True
    assert result["restore"]["root"] == {"device": "/dev/xvda", "snapshot_id": "snap-root", "old_volume_id": "vol-root-now",
                                         "done": False}


@pytest.mark.parametrize("states, fragment", [
    (["in-progress"] * 5, "replace-root-volume task replacevol-0123456789abcdef0 did not finish within 40 s (state in-progress)"),
    (["in-progress", "failing", "failed-detached"], "ended in state failed-detached"),
])
def test_root_task_wait_ends_with_a_clear_error(states, fragment):
    client, clock = ec2(), Clock()
    api = e.Ec2Snapshots(client, sleep=clock.sleep, clock=clock, delay=15)
    with Stubber(client) as stub:
        for state in states:
            stub.add_response("describe_replace_root_volume_tasks", {"ReplaceRootVolumeTasks": [task(state)]},
                              {"ReplaceRootVolumeTaskIds": ["replacevol-0123456789abcdef0"]})
        with pytest.raises(e.Ec2SnapshotError) as err:
            api.wait_root_task("replacevol-0123456789abcdef0", 40)
    assert fragment in str(err.value)
    assert clock.now <= 40


def test_snapshot_wait_times_out_with_the_states_it_saw():
    client = ec2()
    api = e.Ec2Snapshots(client, delay=0)
    with Stubber(client) as stub:
        for state in ["pending"] * 3:   # timeout 2 s, no delay between polls in the test: 3 polls
            stub.add_response("describe_snapshots", {"Snapshots": [snap("snap-1", "vol-1", "/dev/xvda", state=state)]},
                              {"SnapshotIds": ["snap-1"], "OwnerIds": ["self"]})
        with pytest.raises(e.Ec2SnapshotError) as err:
            api.wait_snapshots(["snap-1"], 2)
        stub.assert_no_pending_responses()
    assert str(err.value) == ("snapshots snap-1 did not complete within 2 s (snap-1 pending 40%); "
                              "raise wait_timeout or set wait: false")


def test_snapshot_wait_reports_a_failed_snapshot():
    client = ec2()
    broken = dict(snap("snap-1", "vol-1", "/dev/xvda", state="error"), StateMessage="internal error")
    with Stubber(client) as stub:
        stub.add_response("describe_snapshots", {"Snapshots": [broken]}, {"SnapshotIds": ["snap-1"], "OwnerIds": ["self"]})
        with pytest.raises(e.Ec2SnapshotError, match="snapshot snap-1 failed: internal error"):
            e.Ec2Snapshots(client, delay=0).wait_snapshots(["snap-1"], 60)


def test_present_waits_for_pending_snapshots_of_an_earlier_attempt():
    """A rerun finds the run's set (still pending) and waits for it instead of taking a new one."""
    client = ec2()
    with Stubber(client) as stub:
        stub.add_response("describe_snapshots", {"Snapshots": [snap("snap-1", "vol-1", "/dev/xvda", state="pending")]}, RUN_FILTERS)
        stub.add_response("describe_snapshots", {"Snapshots": [snap("snap-1", "vol-1", "/dev/xvda")]},
                          {"SnapshotIds": ["snap-1"], "OwnerIds": ["self"]})
        stub.add_response("describe_snapshots", {"Snapshots": [snap("snap-1", "vol-1", "/dev/xvda")]},
                          {"SnapshotIds": ["snap-1"], "OwnerIds": ["self"]})
        result = e.ensure_present(e.Ec2Snapshots(client, delay=0),
                                  dict(PARAMS, retention_days=7, tags={}, exclude_boot_volume=False), NOW)
        stub.assert_no_pending_responses()
    assert result["changed"] is False
    assert [(s["snapshot_id"], s["state"], s["device"]) for s in result["snapshots"]] == [("snap-1", "completed", "/dev/xvda")]


def test_present_takes_a_new_set_when_the_earlier_one_failed():
    client = ec2()
    with Stubber(client) as stub:
        stub.add_response("describe_snapshots", {"Snapshots": [snap("snap-old", "vol-1", "/dev/xvda", state="error")]}, RUN_FILTERS)
        stub.add_response("describe_instances", instance(root_volume="vol-1"), {"InstanceIds": [INSTANCE]})
        stub.add_response("create_snapshots", {"Snapshots": [{"SnapshotId": "snap-new", "VolumeId": "vol-1", "State": "completed",
                                                              "Tags": OURS}]}, {
            "InstanceSpecification": {"InstanceId": INSTANCE, "ExcludeBootVolume": False},
            "Description": "fleetpatch.hybrid run-1 %s" % INSTANCE, "TagSpecifications": ANY})
        stub.add_response("create_tags", {}, {"Resources": ["snap-new"], "Tags": [{"Key": "fleetpatch:device", "Value": "/dev/xvda"}]})
        result = e.ensure_present(e.Ec2Snapshots(client, delay=0),
                                  dict(PARAMS, retention_days=7, tags={}, exclude_boot_volume=False), NOW)
        stub.assert_no_pending_responses()
    assert result["changed"] is True
    assert [s["snapshot_id"] for s in result["snapshots"]] == ["snap-new"]


def run_module(args, client=None):
    def make(self, service, retry_decorator=None, **extra):
        return client

    with patch_module_args(args), mock.patch.object(module.AnsibleAWSModule, "client", make), pytest.raises(SystemExit) as exit_:
        module.main()
    return exit_.value.code


@pytest.mark.parametrize("args, fragment", [
    ({"run_id": "run-1"}, "state is present but all of the following are missing: instance_id"),
    ({"run_id": "run-1", "state": "restored"}, "state is restored but all of the following are missing: instance_id"),
    ({"run_id": "run-1", "instance_id": "web-1"}, "instance_id 'web-1' is not an EC2 instance id (i-...)"),
    ({"run_id": "run-1", "instance_id": INSTANCE, "wait_timeout": 0}, "wait_timeout must be at least 1 second"),
    ({"instance_id": INSTANCE}, "missing required arguments: run_id"),
])
def test_module_rejects_bad_input_with_one_clear_error(capsys, args, fragment):
    code = run_module(dict(args, region="us-east-1"))
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["failed"]
    assert fragment in out["msg"]


def test_module_reports_reserved_tags_as_input_errors(capsys):
    client = ec2()
    with Stubber(client) as stub:
        code = run_module({"run_id": "run-1", "instance_id": INSTANCE, "region": "us-east-1",
                           "tags": {"fleetpatch:run-id": "forged"}}, client)
        stub.assert_no_pending_responses()
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    assert out["msg"] == "tags: 'fleetpatch:run-id' is reserved for fleetpatch.hybrid; choose another key"


def test_module_turns_aws_errors_into_one_message(capsys):
    client = ec2()
    with Stubber(client) as stub:
        stub.add_client_error("describe_snapshots", service_error_code="UnauthorizedOperation",
                              service_message="You are not authorized to perform this operation.")
        code = run_module({"run_id": "run-1", "instance_id": INSTANCE, "region": "us-east-1"}, client)
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    assert out["msg"].startswith("EC2 snapshot present of %s in run run-1 failed: " % INSTANCE)
    assert "UnauthorizedOperation" in out["msg"]


ROLE = "arn:aws:iam::444455556666:role/fleetpatch"


def test_module_calls_ec2_in_the_hosts_account_and_names_a_missing_permission(capsys, monkeypatch, tmp_path):
    """Issue #18: with role_arn the EC2 client is made from the role's credentials (STS AssumeRole,
    botocore's Stubber: request and response checked against the service model), and an access
    failure names the account, the role and the permission the role lacks."""
    monkeypatch.setenv("FLEETPATCH_AWS_CREDENTIAL_CACHE", str(tmp_path))
    sts = boto3.client("sts", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    client = ec2()
    made = []

    def make(self, service, retry_decorator=None, **extra):
        made.append((service, extra.get("aws_access_key_id"), extra.get("aws_session_token")))
        return sts if service == "sts" else client

    with Stubber(sts) as s_sts, Stubber(client) as s_ec2:
        answer = {"Credentials": {"AccessKeyId": "ASIAACCOUNTBBBBBBBBB", "SecretAccessKey": "s" * 20, "SessionToken": "token-b",
                                  "Expiration": datetime(2099, 1, 1, tzinfo=timezone.utc)}}
        s_sts.add_response("assume_role", answer, {"RoleArn": ROLE, "RoleSessionName": "night-1", "ExternalId": "ext-b"})
        s_ec2.add_client_error("describe_snapshots", service_error_code="UnauthorizedOperation",
                               service_message="You are not authorized to perform this operation.")
        with patch_module_args({"run_id": "run-1", "instance_id": INSTANCE, "region": "us-east-1", "role_arn": ROLE,
                                "external_id": "ext-b", "role_session_name": "night-1"}), \
                mock.patch.object(module.AnsibleAWSModule, "client", make), pytest.raises(SystemExit) as exit_:
            module.main()
        s_sts.assert_no_pending_responses()
    out = json.loads(capsys.readouterr().out)
    assert exit_.value.code == 1
    assert made == [("sts", None, None), ("ec2", "ASIAACCOUNTBBBBBBBBB", "token-b")]
    assert "access denied (account 444455556666, role %s): missing permission ec2:DescribeSnapshots" % ROLE in out["msg"]
    assert (out["failure"], out["account_id"], out["role_arn"], out["permission"]) == (
        "access", "444455556666", ROLE, "ec2:DescribeSnapshots")


def test_module_refuses_a_malformed_role_before_any_call(capsys):
    code = run_module({"run_id": "run-1", "instance_id": INSTANCE, "region": "us-east-1", "role_arn": "fleetpatch"})
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    assert "role_arn 'fleetpatch' is not an IAM role ARN" in out["msg"]
