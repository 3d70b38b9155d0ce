"""ec2_instance_snapshot against a real moto server over HTTP (no mocks), self-contained.

The fixture starts its own moto server on 127.0.0.1:5102 and stops it afterwards; the module's
main() runs in-process with endpoint_url pointing at it, and one test runs the module through
ansible itself. What moto lacks (replace-root-volume tasks) is covered with botocore's Stubber
in tests/unit/plugins/modules/test_ec2_instance_snapshot.py.
"""

import json
import os
import subprocess
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from ansible.module_utils.testing import patch_module_args
from fleetlib import own_moto

from ansible_collections.fleetpatch.hybrid.plugins.modules import ec2_instance_snapshot as module

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
PORT = 5102
ENDPOINT = "http://127.0.0.1:%d" % PORT
AWS = {"endpoint_url": ENDPOINT, "access_key": "testing", "secret_key": "testing", "region": "us-east-1"}


@pytest.fixture(scope="module")
def moto():
    with own_moto(PORT):
        yield boto3.client("ec2", region_name="us-east-1", endpoint_url=ENDPOINT,
                           aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture(scope="module")
def image(moto):
    return moto.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]


@pytest.fixture()
def instance(moto, image):
    """A running instance with a root volume and a data volume at /dev/sdf."""
    found = moto.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro")["Instances"][0]
    data = moto.create_volume(Size=2, AvailabilityZone=found["Placement"]["AvailabilityZone"], VolumeType="gp3")
    moto.attach_volume(VolumeId=data["VolumeId"], InstanceId=found["InstanceId"], Device="/dev/sdf")
    return {"id": found["InstanceId"], "root_device": found["RootDeviceName"], "data_volume": data["VolumeId"],
            "root_volume": found["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]}


def run(args, capsys):
    with patch_module_args(dict(AWS, **args)), pytest.raises(SystemExit) as exit_:
        module.main()
    out = json.loads(capsys.readouterr().out)
    assert exit_.value.code == (1 if out.get("failed") else 0)
    return out


def tags_of(moto, snapshot_id):
    snap = moto.describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"][0]
    return dict((t["Key"], t["Value"]) for t in snap.get("Tags", []))


def all_snapshot_ids(moto):
    return set(s["SnapshotId"] for s in moto.describe_snapshots()["Snapshots"])


def test_present_takes_one_tagged_set_and_a_rerun_finds_it(moto, instance, capsys):
    args = {"instance_id": instance["id"], "run_id": "run-present", "cr_number": "CHG0012345", "patch_group": "web-prod",
            "retention_days": 7, "tags": {"Owner": "team-web"}}
    before = all_snapshot_ids(moto)
    first = run(args, capsys)
    assert first["changed"] is True
    made = dict((s["device"], s) for s in first["snapshots"])
    assert set(made) == {instance["root_device"], "/dev/sdf"}
    assert made["/dev/sdf"]["volume_id"] == instance["data_volume"]
    assert all(s["state"] == "completed" for s in made.values())
    assert all_snapshot_ids(moto) - before == set(s["snapshot_id"] for s in made.values())
    expires = datetime.fromisoformat(first["expires_at"].replace("Z", "+00:00"))
    assert timedelta(days=6, hours=23) < expires - datetime.now(timezone.utc) <= timedelta(days=7)
    for snap in made.values():   # what is on the server, not what the module says
        assert tags_of(moto, snap["snapshot_id"]) == {
            "fleetpatch:managed-by": "fleetpatch.hybrid", "fleetpatch:run-id": "run-present",
            "fleetpatch:instance-id": instance["id"], "fleetpatch:cr": "CHG0012345", "fleetpatch:patch-group": "web-prod",
            "fleetpatch:expires-at": first["expires_at"], "fleetpatch:device": snap["device"], "Owner": "team-web"}

    again = run(args, capsys)
    assert again["changed"] is False
    assert sorted(s["snapshot_id"] for s in again["snapshots"]) == sorted(s["snapshot_id"] for s in made.values())
    assert again["expires_at"] == first["expires_at"]
    assert all_snapshot_ids(moto) - before == set(s["snapshot_id"] for s in made.values())


def test_check_mode_says_what_it_would_take_and_takes_nothing(moto, instance, capsys):
    before = all_snapshot_ids(moto)
    out = run({"instance_id": instance["id"], "run_id": "run-check", "_ansible_check_mode": True}, capsys)
    assert out["changed"] is True
    assert out["snapshots"] == []
    assert sorted((v["device"], v["volume_id"], v["root"]) for v in out["would_create"]) == sorted([
        (instance["root_device"], instance["root_volume"], True), ("/dev/sdf", instance["data_volume"], False)])
    assert out["tags"]["fleetpatch:run-id"] == "run-check"
    assert all_snapshot_ids(moto) == before


def test_exclude_boot_volume(moto, instance, capsys):
    out = run({"instance_id": instance["id"], "run_id": "run-data-only", "exclude_boot_volume": True}, capsys)
    assert [s["device"] for s in out["snapshots"]] == ["/dev/sdf"]


def test_absent_deletes_only_this_runs_snapshots(moto, instance, capsys):
    mine = run({"instance_id": instance["id"], "run_id": "run-clean"}, capsys)["snapshots"]
    other_run = run({"instance_id": instance["id"], "run_id": "run-other"}, capsys)["snapshots"]
    foreign = moto.create_snapshot(VolumeId=instance["data_volume"], Description="someone else's")["SnapshotId"]
    forged = moto.create_snapshot(VolumeId=instance["data_volume"], TagSpecifications=[{"ResourceType": "snapshot", "Tags": [
        {"Key": "fleetpatch:run-id", "Value": "run-clean"}, {"Key": "fleetpatch:instance-id", "Value": instance["id"]}]}])["SnapshotId"]

    preview = run({"run_id": "run-clean", "state": "absent", "_ansible_check_mode": True}, capsys)
    assert sorted(preview["deleted"]) == sorted(s["snapshot_id"] for s in mine)
    assert set(s["snapshot_id"] for s in mine) <= all_snapshot_ids(moto)         # check mode deleted nothing

    out = run({"run_id": "run-clean", "state": "absent"}, capsys)
    assert out["changed"] is True
    assert sorted(out["deleted"]) == sorted(s["snapshot_id"] for s in mine)
    left = all_snapshot_ids(moto)
    assert not set(out["deleted"]) & left
    assert {foreign, forged} | set(s["snapshot_id"] for s in other_run) <= left

    assert run({"run_id": "run-clean", "state": "absent"}, capsys)["changed"] is False


def test_absent_only_expired_keeps_what_has_not_expired(moto, instance, capsys):
    expired = run({"instance_id": instance["id"], "run_id": "run-expiry", "retention_days": 0}, capsys)["snapshots"]
    out = run({"run_id": "run-expiry", "state": "absent", "only_expired": True}, capsys)
    assert sorted(out["deleted"]) == sorted(s["snapshot_id"] for s in expired)

    fresh = run({"instance_id": instance["id"], "run_id": "run-fresh", "retention_days": 7}, capsys)["snapshots"]
    out = run({"run_id": "run-fresh", "state": "absent", "only_expired": True}, capsys)
    assert (out["changed"], out["deleted"]) == (False, [])
    assert sorted(k["snapshot_id"] for k in out["kept"]) == sorted(s["snapshot_id"] for s in fresh)
    assert all(k["reason"].startswith("expires at ") for k in out["kept"])


def test_restore_swaps_the_data_volume_and_a_rerun_leaves_it(moto, instance, capsys):
    snaps = run({"instance_id": instance["id"], "run_id": "run-restore"}, capsys)["snapshots"]
    data_snap = [s["snapshot_id"] for s in snaps if s["device"] == "/dev/sdf"][0]

    preview = run({"instance_id": instance["id"], "run_id": "run-restore", "state": "restored", "restore_volumes": "data",
                   "_ansible_check_mode": True}, capsys)
    assert preview["changed"] is True
    assert moto.describe_volumes(VolumeIds=[instance["data_volume"]])["Volumes"][0]["State"] == "in-use"

    out = run({"instance_id": instance["id"], "run_id": "run-restore", "state": "restored", "restore_volumes": "data",
               "wait_timeout": 60}, capsys)
    assert out["changed"] is True
    assert out["restore"]["root"] is None
    (step,) = out["restore"]["data"]
    assert (step["device"], step["snapshot_id"], step["old_volume_id"], step["done"]) == (
        "/dev/sdf", data_snap, instance["data_volume"], True)

    now = moto.describe_instances(InstanceIds=[instance["id"]])["Reservations"][0]["Instances"][0]
    attached = dict((m["DeviceName"], m["Ebs"]["VolumeId"]) for m in now["BlockDeviceMappings"])
    assert attached["/dev/sdf"] == step["new_volume_id"] != instance["data_volume"]
    assert attached[instance["root_device"]] == instance["root_volume"]               # root untouched with restore_volumes=data
    assert now["State"]["Name"] == "running"                                          # stopped for the swap, started again
    new = moto.describe_volumes(VolumeIds=[step["new_volume_id"]])["Volumes"][0]
    assert (new["SnapshotId"], new["VolumeType"]) == (data_snap, "gp3")
    assert dict((t["Key"], t["Value"]) for t in new["Tags"])["fleetpatch:restored-from"] == data_snap
    old = moto.describe_volumes(VolumeIds=[instance["data_volume"]])["Volumes"][0]
    assert old["State"] == "available"                                                # kept, not deleted

    again = run({"instance_id": instance["id"], "run_id": "run-restore", "state": "restored", "restore_volumes": "data"}, capsys)
    assert again["changed"] is False


def test_restore_refuses_to_stop_a_running_instance_when_told_not_to(moto, instance, capsys):
    run({"instance_id": instance["id"], "run_id": "run-nostop"}, capsys)
    out = run({"instance_id": instance["id"], "run_id": "run-nostop", "state": "restored", "restore_volumes": "data",
               "stop_instance": False}, capsys)
    assert out["failed"] is True
    assert out["msg"].startswith("instance %s is running and restoring data volumes /dev/sdf needs it stopped" % instance["id"])
    assert moto.describe_volumes(VolumeIds=[instance["data_volume"]])["Volumes"][0]["State"] == "in-use"


def test_restore_without_snapshots_says_so(moto, instance, capsys):
    out = run({"instance_id": instance["id"], "run_id": "run-never", "state": "restored"}, capsys)
    assert out["msg"] == "no completed snapshot of run run-never for instance %s: nothing to restore from" % instance["id"]


def test_through_ansible(moto, instance, tmp_path):
    """The module as a playbook runs it: ansible's module packaging, argument handling and output."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing", AWS_URL=ENDPOINT, AWS_REGION="us-east-1", ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1", PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""))
    playbook = tmp_path / "snap.yml"
    playbook.write_text("""
- hosts: localhost
  gather_facts: false
  tasks:
    - fleetpatch.hybrid.ec2_instance_snapshot:
        instance_id: %s
        run_id: run-ansible
        patch_group: db-prod
      register: snap
    - fleetpatch.hybrid.ec2_instance_snapshot:
        instance_id: %s
        run_id: run-ansible
      register: again
    - ansible.builtin.assert:
        that:
          - snap is changed
          - again is not changed
          - snap.snapshots | length == 2
          - (again.snapshots | map(attribute='snapshot_id') | sort) == (snap.snapshots | map(attribute='snapshot_id') | sort)
""" % (instance["id"], instance["id"]))
    result = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)],
                            capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    stats = json.loads(result.stdout)["stats"]["localhost"]
    assert (stats["changed"], stats["failures"]) == (1, 0)
