"""Multi-account AWS (issue #18): every AWS call about a host runs in that host's account.

A moto server of this test's own (127.0.0.1:5118) holds the demo fleet's EC2 instances in two
accounts: web-dev-1 and web-prod-1 in 111111111111, db-prod-1 in 222222222222 (moto models an
account through the credentials of a role assumed in it). After seeding, moto's IAM
authorization is switched on: the controller is an IAM user who may assume only the two fleet
roles, and each role may only do what docs/aws_permissions.md lists. The inventory plugin finds
the hosts through `assume_roles`; the night snapshots each EC2 instance (provider ec2) with the
role of its own account; web-prod-1's role is overridden (host_vars, as an operator would) to a
role in 333333333333 the controller may not assume: it must be stopped before its patch, with the
account, the role and the missing permission named, while the other hosts are patched for real.
"""

import json
import os
import subprocess
import urllib.request
import uuid

import boto3
import pytest
from fleetlib import HOSTS, ROOT, VENV_BIN, expected_versions, installed, localfleet, own_moto

pytestmark = pytest.mark.integration

MOTO_PORT = 5118
ACCOUNTS = {"web-dev-1": "111111111111", "web-prod-1": "111111111111", "db-prod-1": "222222222222"}
ROLE = "arn:aws:iam::%s:role/fleetpatch"
FORBIDDEN = ROLE % "333333333333"
CONTROLLER_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": [ROLE % "111111111111", ROLE % "222222222222"]}]}


def role_policy():
    """What the fleet role may do: docs/aws_permissions.md's inventory-reader and snapshot-taker."""
    text = open(os.path.join(ROOT, "docs", "aws_permissions.md")).read()
    statements = []
    for name in ("inventory-reader", "snapshot-taker"):
        block = text.split("### `%s`" % name, 1)[1].split("```json\n", 1)[1].split("\n```", 1)[0]
        statements.extend(json.loads(block)["Statement"])
    return {"Version": "2012-10-17", "Statement": statements}


def session(key, secret, token=None):
    return boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token,
                                 region_name="us-east-1")


def as_account(url, base, account):
    creds = base.client("sts", endpoint_url=url).assume_role(RoleArn=ROLE % account, RoleSessionName="seed")["Credentials"]
    return session(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])


@pytest.fixture(scope="module")
def moto_accounts():
    with own_moto(MOTO_PORT) as url:
        yield url


@pytest.fixture(scope="module")
def seeded(fleet, moto_accounts):
    """The controller user, a fleet role per account, the instances in their accounts; then IAM on."""
    url = moto_accounts
    anyone = session("testing", "testing")
    iam = anyone.client("iam", endpoint_url=url)
    iam.create_user(UserName="controller")
    iam.put_user_policy(UserName="controller", PolicyName="assume-fleet-roles", PolicyDocument=json.dumps(CONTROLLER_POLICY))
    key = iam.create_access_key(UserName="controller")["AccessKey"]
    controller_arn = iam.get_user(UserName="controller")["User"]["Arn"]
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": controller_arn}, "Action": "sts:AssumeRole"}]}
    ports = dict((h["name"], h["port"]) for h in json.load(open(os.path.join(ROOT, ".cache", "localfleet", "hosts", "fleet.json"))))
    instances = {}
    for account in ("111111111111", "222222222222", "333333333333"):
        member = as_account(url, anyone, account)
        member_iam = member.client("iam", endpoint_url=url)
        member_iam.create_role(RoleName="fleetpatch", AssumeRolePolicyDocument=json.dumps(trust))
        member_iam.put_role_policy(RoleName="fleetpatch", PolicyName="fleetpatch", PolicyDocument=json.dumps(role_policy()))
        ec2 = member.client("ec2", endpoint_url=url)
        image = next(i["ImageId"] for i in ec2.describe_images(Owners=["amazon"])["Images"] if not i.get("Platform"))
        for name, local in HOSTS.items():
            if ACCOUNTS[name] != account:
                continue
            tags = {"Name": name, "Patch Group": name.rsplit("-", 1)[0], "Environment": "Test", "Owner": "ops@example.com",
                    "LocalFleetPort": str(ports[local])}
            answer = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro", TagSpecifications=[
                {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}])
            instances[name] = answer["Instances"][0]["InstanceId"]
    # from now on every call must be signed by a known key and allowed by its policies
    request = urllib.request.Request(url + "/moto-api/reset-auth", data=b"0", method="POST",
                                     headers={"Content-Type": "text/plain"})   # moto reads the raw body
    urllib.request.urlopen(request, timeout=10).read()
    return {"url": url, "key": key["AccessKeyId"], "secret": key["SecretAccessKey"], "instances": instances}


def write_inventory(tmp_path, seeded):
    inv = tmp_path / "inventory"
    (inv / "group_vars").mkdir(parents=True)
    (inv / "host_vars").mkdir()
    (inv / "fleet.patch_groups.yml").write_text(json.dumps({
        "plugin": "fleetpatch.hybrid.patch_groups",
        "access_key": seeded["key"], "secret_key": seeded["secret"],
        "sources": {"ec2": {"regions": ["us-east-1"], "endpoint_url": seeded["url"],
                            "assume_roles": [ROLE % "111111111111", {"role_arn": ROLE % "222222222222", "session_name": "night-b"}]}},
        "hostnames": ["tag:Name"], "strict": True,
        "compose": {"ansible_host": "'127.0.0.1'", "ansible_port": "tags.LocalFleetPort | int", "ansible_connection": "'ssh'"},
    }))
    state = os.path.join(ROOT, ".cache", "localfleet")
    (inv / "group_vars" / "all").mkdir()
    (inv / "group_vars" / "all" / "fleet.yml").write_text(json.dumps({
        "ansible_user": "root", "ansible_python_interpreter": "/usr/bin/python3",
        "ansible_ssh_private_key_file": os.path.join(state, "keys", "id_ed25519"),
        "ansible_ssh_common_args": "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes" % os.path.join(state, "hosts", "known_hosts"),
        "snapshot_ec2_endpoint_url": seeded["url"],
        "preflight_ssm_agent": "skip",   # moto has no DescribeInstanceInformation: ssm_agent_info per account is Stubber-tested
    }))
    # the demo's policy: its all-day window (group_vars/all/) and db-prod's baseline (no kernel)
    demo = os.path.join(ROOT, "inventories", "demo", "group_vars")
    (inv / "group_vars" / "all" / "window.yml").write_text(open(os.path.join(demo, "all.yml")).read())
    (inv / "group_vars" / "patch_group_db_prod.yml").write_text(open(os.path.join(demo, "patch_group_db_prod.yml")).read())
    # the operator points one host at a role in an account the controller may not enter
    (inv / "host_vars" / "web-prod-1.yml").write_text(json.dumps({"fleetpatch_aws_role_arn": FORBIDDEN}))
    return str(inv)


def run_night(tmp_path, seeded):
    inventory = write_inventory(tmp_path, seeded)
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ["PATH"], ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_INVENTORY_UNPARSED_FAILED="true", AWS_ACCESS_KEY_ID=seeded["key"],
               AWS_SECRET_ACCESS_KEY=seeded["secret"], AWS_DEFAULT_REGION="us-east-1",
               FLEETPATCH_AWS_CREDENTIAL_CACHE=str(tmp_path / "aws-credentials"))
    for var in ("ANSIBLE_FORCE_COLOR", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        env.pop(var, None)
    out = tmp_path / "out"
    run_id = "test-" + uuid.uuid4().hex[:8]
    cmd = ["ansible-playbook", "-i", inventory, "playbooks/patch_night.yml", "-e", "fleetpatch_output_dir=%s" % out,
           "-e", "fleetpatch_run_id=%s" % run_id, "-e", "fleetpatch_targets=%s" % ":".join(sorted(HOSTS))]
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)
    (tmp_path / "night.log").write_text(result.stdout + result.stderr)
    return result, json.load(open(out / "report.json")) if (out / "report.json").exists() else None, run_id


@pytest.fixture(scope="module")
def night(seeded, tmp_path_factory):
    for name in HOSTS.values():
        localfleet("reset", name)
    result, report, run_id = run_night(tmp_path_factory.mktemp("multi-account"), seeded)
    assert report is not None, result.stdout[-4000:] + result.stderr[-2000:]
    yield result, report, run_id
    for name in HOSTS.values():
        localfleet("reset", name)


def snapshots_in(seeded, account):
    """{instance id: snapshot count} of fleetpatch snapshots owned by `account` (its own role's view)."""
    controller = session(seeded["key"], seeded["secret"])
    ec2 = as_account(seeded["url"], controller, account).client("ec2", endpoint_url=seeded["url"])
    found = {}
    for snap in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]:
        tags = dict((t["Key"], t["Value"]) for t in snap.get("Tags", []))
        if tags.get("fleetpatch:managed-by") == "fleetpatch.hybrid":
            found[tags["fleetpatch:instance-id"]] = found.get(tags["fleetpatch:instance-id"], 0) + 1
    return found


def test_each_hosts_snapshot_is_taken_in_its_own_account(night, seeded):
    result, report, dummy = night
    ids = seeded["instances"]
    in_a, in_b = snapshots_in(seeded, "111111111111"), snapshots_in(seeded, "222222222222")
    assert set(in_a) == {ids["web-dev-1"]}, (in_a, result.stdout[-3000:])
    assert set(in_b) == {ids["db-prod-1"]}, in_b
    hosts = dict((h["name"], h) for h in report["hosts"])
    assert hosts["web-dev-1"]["status"] == "patched" and hosts["db-prod-1"]["status"] == "patched", hosts


def test_a_host_whose_role_cannot_be_assumed_is_stopped_before_its_patch(night):
    result, report, run_id = night
    before, after = expected_versions()
    hosts = dict((h["name"], h) for h in report["hosts"])
    stopped = hosts["web-prod-1"]
    assert stopped["status"] == "failed" and stopped["failed_phase"] == "snapshot", stopped
    reason = stopped["reason"]
    assert "role %s (account 333333333333) could not be assumed: AccessDenied" % FORBIDDEN in reason, reason
    assert "sts:AssumeRole" in reason
    assert "patch" not in stopped["phases"], stopped          # never reached its patch
    assert installed(HOSTS["web-prod-1"]) == before           # and nothing changed on it
    for name in ("web-dev-1", "db-prod-1"):
        assert installed(HOSTS[name]) == after[name], name
    assert result.returncode != 0                              # a failed host fails the run
