"""Each patch group in its own window, on the local hosts: the MaintenanceWindow tags of the EC2
instances in the AWS simulation (read by the collection's inventory plugin) decide who is patched.

db-prod-1's window is open now (patched, with a change request), web-dev-1's opens in 12 hours
(deferred with that next opening, no change request for web-dev), web-prod-1's tag is malformed
(failed with the reason naming the tag, and the others go on). (db-prod's baseline rejects the
kernel stand-in, so its host is patched without a reboot.)
"""

from datetime import datetime, timedelta, timezone

import boto3
import pytest
from fleetlib import expected_versions, installed, localfleet, run_playbook

pytestmark = pytest.mark.integration

ENDPOINT = "http://127.0.0.1:5000"


def ec2():
    return boto3.client("ec2", region_name="us-east-1", endpoint_url=ENDPOINT, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def instance_id(client, name):
    found = client.describe_instances(Filters=[{"Name": "tag:Name", "Values": [name]},
                                               {"Name": "instance-state-name", "Values": ["running"]}])
    (instance,) = [i for r in found["Reservations"] for i in r["Instances"]]
    return instance["InstanceId"], dict((t["Key"], t["Value"]) for t in instance["Tags"])["MaintenanceWindow"]


@pytest.fixture
def window_tags(fleet):
    """Retag the instances for the test and put the demo's tags back afterwards."""
    client, saved = ec2(), {}

    def tag(name, value):
        iid, old = instance_id(client, name)
        saved.setdefault(iid, old)
        client.create_tags(Resources=[iid], Tags=[{"Key": "MaintenanceWindow", "Value": value}])

    yield tag
    for iid, value in saved.items():
        client.create_tags(Resources=[iid], Tags=[{"Key": "MaintenanceWindow", "Value": value}])


def test_each_patch_group_in_its_own_window(window_tags, tmp_path):
    for name in ("fp1", "fp2", "fp3"):
        localfleet("reset", name)
    now = datetime.now(timezone.utc)
    opens = (now + timedelta(hours=12)).replace(minute=0, second=0, microsecond=0)
    window_tags("db-prod-1", "cron(0 %d * * ? *); duration=24; cutoff=0" % now.hour)         # open now
    window_tags("web-dev-1", "cron(0 %d * * ? *); timezone=UTC; duration=2; cutoff=1" % opens.hour)  # closed now
    window_tags("web-prod-1", "every sunday at 3")                                            # malformed
    dummy, after = expected_versions()
    prod_before = installed("fp2")
    dev_before = installed("fp1")

    night = run_playbook(str(tmp_path), "-e", "fleetpatch_targets=web-dev-1:web-prod-1:db-prod-1")

    hosts = dict((h["name"], h) for h in night.report["hosts"])
    assert dict((n, h["status"]) for n, h in hosts.items()) == {
        "db-prod-1": "patched", "web-dev-1": "deferred", "web-prod-1": "failed"}, night.stdout[-3000:]
    assert night.rc != 0, "the host with the malformed tag failed, so the run fails"
    # in its window: patched for real
    assert installed("fp3") == after["db-prod-1"]
    # out of its window: untouched, deferred with the window and its next opening, in the report and the table
    assert installed("fp1") == dev_before
    deferred = hosts["web-dev-1"]["deferred"]
    assert deferred["next_start"] == opens.isoformat() and deferred["source"] == "tag"
    assert deferred["schedule"] == "cron(0 %d * * ? *)" % opens.hour
    # each host records which window applied to it: its own tag's, open or not, or its malformed tag
    applied = dict((n, h["window_applied"]) for n, h in hosts.items())
    opened = now.replace(minute=0, second=0, microsecond=0)
    assert (applied["db-prod-1"]["source"], applied["db-prod-1"]["status"], applied["db-prod-1"]["start"]) == (
        "tag", "open", opened.isoformat()), applied
    assert applied["db-prod-1"]["name"] == "cron(0 %d * * ? *); duration=24; cutoff=0" % now.hour
    assert (applied["web-dev-1"]["status"], applied["web-dev-1"]["next_start"]) == ("deferred", opens.isoformat()), applied
    assert (applied["web-prod-1"]["status"], applied["web-prod-1"]["field"]) == ("invalid", "fleetpatch_window"), applied
    assert "web-dev-1   web-dev      deferred  window cron(" in night.stdout, night.stdout[-3000:]
    assert night.rows("SELECT phase, status FROM host_phases WHERE run_id=? AND host='web-dev-1'", night.run_id) == [
        ("preflight", "skipped")]
    # the malformed tag fails that host alone, with a reason naming the tag; nothing ran on it
    bad = hosts["web-prod-1"]
    assert bad["failed_phase"] == "preflight"
    assert "MaintenanceWindow" in bad["reason"] and "'every sunday at 3'" in bad["reason"], bad["reason"]
    assert installed("fp2") == prod_before
    # one change request, for the only patch group with a host in its window, carrying that window
    crs = night.rows("SELECT patch_group, hosts, maintenance_window FROM change_requests WHERE run_id=?", night.run_id)
    assert [(group, hosts_) for group, hosts_, dummy in crs] == [("db-prod", '["db-prod-1"]')]
    assert '"expression": "cron(0 %d * * ? *)"' % now.hour in crs[0][2]
