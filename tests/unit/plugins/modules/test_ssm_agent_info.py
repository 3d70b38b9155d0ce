"""ssm_agent_info against botocore's Stubber.

moto (5.2) has no SSM DescribeInstanceInformation, so these tests answer the calls with
botocore's Stubber, which checks every request and every response against the SSM service model
(parameter names, types, MaxResults 5-50, at most 100 filter values) - a request the real API
would reject fails here too. They prove the batching: one call sequence per region for the
whole batch, ceil(ids / 50) calls when filtering.
"""

import json
from datetime import datetime, timezone
from unittest import mock

import boto3
import pytest
from ansible.module_utils.testing import patch_module_args
from botocore.stub import Stubber

from ansible_collections.fleetpatch.hybrid.plugins.modules import ssm_agent_info as m

PING = datetime(2026, 11, 27, 1, 59, tzinfo=timezone.utc)


def ids(count, prefix="i-0"):
    return ["%s%016x" % (prefix, n) for n in range(count)]


def node(instance_id, ping="Online", version="3.3.1142.0"):
    return {"InstanceId": instance_id, "PingStatus": ping, "LastPingDateTime": PING, "AgentVersion": version,
            "IsLatestVersion": False, "PlatformType": "Linux", "PlatformName": "Debian GNU/Linux", "PlatformVersion": "12",
            "ResourceType": "ManagedInstance" if instance_id.startswith("mi-") else "EC2Instance",
            "ComputerName": instance_id + ".example.com", "IPAddress": "10.0.0.1"}


def ssm(region="us-east-1"):
    return boto3.client("ssm", region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing")


def filtered(chunk, token=None):
    params = {"Filters": [{"Key": "InstanceIds", "Values": chunk}], "MaxResults": 50}
    if token:
        params["NextToken"] = token
    return params


def test_batch_by_region_groups_dedupes_and_keeps_order():
    by_region = m.batch_by_region(["i-0123456789abcdef0", "i-01234567"], [
        {"instance_id": "mi-0123456789abcdef0", "region": "eu-west-1"},
        {"instance_id": "i-01234567"},                       # a duplicate, in the default region
        {"instance_id": "i-0fedcba987654321f", "region": "eu-west-1"}], "us-east-1",
        {"i-0aaaaaaaaaaaaaaaa": "ap-south-1", "i-0bbbbbbbbbbbbbbbb": "", "i-01234567": "eu-west-1"})
    assert by_region == {"us-east-1": ["i-0123456789abcdef0", "i-01234567", "i-0bbbbbbbbbbbbbbbb"],
                         "eu-west-1": ["mi-0123456789abcdef0", "i-0fedcba987654321f"],
                         "ap-south-1": ["i-0aaaaaaaaaaaaaaaa"]}


@pytest.mark.parametrize("instance_ids, instances, region, fragment", [
    (["web-1"], None, "us-east-1", "'web-1' is not an EC2 instance id (i-...) or SSM managed node id (mi-...)"),
    (["i-0123456789abcdef0"], None, None, "no region for i-0123456789abcdef0: set region"),
    (None, [{"region": "us-east-1"}], "us-east-1", "instances[0] needs instance_id"),
    (None, ["i-0123456789abcdef0"], "us-east-1", "instances[0] needs instance_id"),
])
def test_batch_by_region_rejects_bad_input(instance_ids, instances, region, fragment):
    with pytest.raises(m.BadInput) as err:
        m.batch_by_region(instance_ids, instances, region)
    assert fragment in str(err.value)


@pytest.mark.parametrize("count, calls", [(1, 1), (50, 1), (51, 2), (120, 3)])
def test_filter_costs_one_call_per_50_ids(count, calls):
    wanted = ids(count)
    client = ssm()
    with Stubber(client) as stub:
        for chunk in m.chunks(wanted):
            stub.add_response("describe_instance_information", {"InstanceInformationList": [node(i) for i in chunk]},
                              filtered(chunk))
        found, made, strategy = m.query_region(client, wanted)
        stub.assert_no_pending_responses()
    assert (len(found), made, strategy) == (count, calls, "filter")


def test_filter_follows_next_token_within_a_chunk():
    wanted = ids(3)
    client = ssm()
    with Stubber(client) as stub:
        stub.add_response("describe_instance_information",
                          {"InstanceInformationList": [node(wanted[0])], "NextToken": "t1"}, filtered(wanted))
        stub.add_response("describe_instance_information",
                          {"InstanceInformationList": [node(wanted[1])]}, filtered(wanted, "t1"))
        found, made, strategy = m.query_region(client, wanted)
        stub.assert_no_pending_responses()
    assert (sorted(found), made) == (sorted(wanted[:2]), 2)


def test_auto_lists_the_region_once_when_ssm_rejects_an_id():
    wanted = ids(60)
    others = ids(40, prefix="i-1")
    client = ssm()
    with Stubber(client) as stub:
        stub.add_client_error("describe_instance_information", service_error_code="InvalidInstanceId",
                              service_message="Instances [[i-0000000000000003]] not in a valid state",
                              expected_params=filtered(wanted[:50]))
        # the whole region (the batch minus an unmanaged one, plus other nodes), two pages
        region = [node(i) for i in wanted if i != wanted[3]] + [node(i) for i in others]
        stub.add_response("describe_instance_information", {"InstanceInformationList": region[:50], "NextToken": "p2"},
                          {"MaxResults": 50})
        stub.add_response("describe_instance_information", {"InstanceInformationList": region[50:]},
                          {"MaxResults": 50, "NextToken": "p2"})
        found, made, strategy = m.query_region(client, wanted, "auto")
        stub.assert_no_pending_responses()
    assert sorted(found) == sorted(i for i in wanted if i != wanted[3])   # other nodes of the region are not returned
    assert (made, strategy) == (3, "filter, then all (an id was rejected)")


def test_filter_strategy_lets_the_rejection_through():
    client = ssm()
    with Stubber(client) as stub:
        stub.add_client_error("describe_instance_information", service_error_code="InvalidInstanceId",
                              expected_params=filtered(ids(2)))
        with pytest.raises(m.ClientError):
            m.query_region(client, ids(2), "filter")


def test_other_errors_are_not_hidden_by_the_fallback():
    client = ssm()
    with Stubber(client) as stub:
        stub.add_client_error("describe_instance_information", service_error_code="AccessDeniedException",
                              expected_params=filtered(ids(2)))
        with pytest.raises(m.ClientError, match="AccessDenied"):
            m.query_region(client, ids(2), "auto")


def test_all_strategy_lists_the_region():
    client = ssm()
    with Stubber(client) as stub:
        stub.add_response("describe_instance_information", {"InstanceInformationList": [node(i) for i in ids(5)]},
                          {"MaxResults": 50})
        found, made, strategy = m.query_region(client, ids(2), "all")
    assert (sorted(found), made, strategy) == (ids(2), 1, "all")


@pytest.mark.parametrize("data, minimum, ready, reason", [
    (node("i-0123456789abcdef0"), None, True, None),
    (node("i-0123456789abcdef0", ping="ConnectionLost"), None, False, "SSM agent ConnectionLost (last ping 2026-11-27T01:59:00+00:00)"),
    (node("i-0123456789abcdef0", ping="Inactive"), None, False, "SSM agent Inactive"),
    (node("i-0123456789abcdef0", version="3.2.582.0"), "3.3.0.0", False, "SSM agent 3.2.582.0 is older than 3.3.0.0"),
    (node("i-0123456789abcdef0", version="3.10.1.0"), "3.3.0.0", True, None),       # numeric, not string, order
    (None, None, False, "not managed by SSM in us-east-1"),
])
def test_summarize(data, minimum, ready, reason):
    entry = m.summarize("i-0123456789abcdef0", "us-east-1", data, minimum)
    assert entry["ready"] is ready
    assert (entry["reason"] or "").startswith(reason or "")
    assert bool(entry["reason"]) is not ready
    if data:
        assert (entry["agent_version"], entry["ping_status"], entry["platform_name"]) == (
            data["AgentVersion"], data["PingStatus"], "Debian GNU/Linux")


def run_module(args, clients):
    """Run the real module main() with the given clients behind AnsibleAWSModule.client."""
    made = []

    def client(self, service, retry_decorator=None, **extra):
        made.append((service, extra.get("region")))
        return clients[extra["region"]]

    with patch_module_args(args), mock.patch.object(m.AnsibleAWSModule, "client", client), \
            pytest.raises(SystemExit) as exit_:
        m.main()
    return exit_.value.code, made


def test_module_one_call_sequence_per_region(capsys):
    east, west = ssm("us-east-1"), ssm("eu-west-1")
    east_ids, west_ids = ids(70), ["mi-0123456789abcdef0"]
    with Stubber(east) as s_east, Stubber(west) as s_west:
        for chunk in m.chunks(east_ids):
            s_east.add_response("describe_instance_information",
                                {"InstanceInformationList": [node(i, ping="ConnectionLost" if i == east_ids[5] else "Online")
                                                             for i in chunk if i != east_ids[9]]}, filtered(chunk))
        s_west.add_response("describe_instance_information", {"InstanceInformationList": [node(west_ids[0])]}, filtered(west_ids))
        code, made = run_module({"region": "us-east-1", "instance_ids": east_ids,
                                 "instances": [{"instance_id": west_ids[0], "region": "eu-west-1"}]},
                                {"us-east-1": east, "eu-west-1": west})
        s_east.assert_no_pending_responses()
        s_west.assert_no_pending_responses()
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    assert made == [("ssm", "us-east-1"), ("ssm", "eu-west-1")]           # one client per region, not per host
    assert out["regions"] == {"us-east-1": {"requested": 70, "found": 69, "calls": 2, "strategy": "filter"},
                              "eu-west-1": {"requested": 1, "found": 1, "calls": 1, "strategy": "filter"}}
    assert out["changed"] is False
    assert len(out["instances"]) == 71
    assert out["instances"][west_ids[0]]["resource_type"] == "ManagedInstance"
    assert sorted(n["instance_id"] for n in out["not_ready"]) == sorted([east_ids[5], east_ids[9]])


@pytest.mark.parametrize("args, fragment", [
    ({"region": "us-east-1", "instance_ids": ["web-1"]}, "'web-1' is not an EC2 instance id"),
    ({"region": "us-east-1", "instance_ids": ["i-0123456789abcdef0"], "min_agent_version": "latest"}, "min_agent_version 'latest'"),
    ({"region": "us-east-1"}, "one of the following is required: instance_ids, instances, instance_regions"),
])
def test_module_rejects_bad_input_with_one_clear_error(capsys, args, fragment):
    code, made = run_module(args, {})
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["failed"]
    assert fragment in out["msg"]
    assert made == []


ROLE_A = "arn:aws:iam::111122223333:role/fleetpatch"
ROLE_B = "arn:aws:iam::444455556666:role/fleetpatch"


def ids17(count, account):
    """Instance ids (17 hex digits) telling the account apart by their first digit."""
    return ["i-%s%016x" % (account, n) for n in range(count)]


def sts_answer(key):
    return {"Credentials": {"AccessKeyId": key, "SecretAccessKey": "s" * 20, "SessionToken": "t" * 20,
                            "Expiration": datetime(2099, 1, 1, tzinfo=timezone.utc)},
            "AssumedRoleUser": {"AssumedRoleId": "AROA123456789EXAMPLE:fleetpatch", "Arn": "arn:aws:sts::1:assumed-role/x/fleetpatch"}}


def run_accounts(args, sts, clients, monkeypatch):
    """The real main() with an STS client and one SSM client per (region, access key): each account's."""
    made = []
    monkeypatch.setenv("FLEETPATCH_AWS_CREDENTIAL_CACHE", "off")

    def client(self, service, retry_decorator=None, **extra):
        made.append((service, extra.get("region"), extra.get("aws_access_key_id")))
        return sts if service == "sts" else clients[(extra.get("region"), extra.get("aws_access_key_id"))]

    with patch_module_args(args), mock.patch.object(m.AnsibleAWSModule, "client", client), \
            pytest.raises(SystemExit) as exit_:
        m.main()
    return exit_.value.code, made


def test_module_one_call_sequence_per_account_and_region(capsys, monkeypatch):
    """Issue #18: each host is asked about in its own account; one AssumeRole per role, one
    DescribeInstanceInformation sequence per (account, region), never one per host."""
    sts = boto3.client("sts", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    a_east, b_east, a_west = ssm("us-east-1"), ssm("us-east-1"), ssm("eu-west-1")
    a_ids, b_ids, w_ids = ids17(3, "a"), ids17(2, "b"), ids17(1, "c")
    with Stubber(sts) as s_sts, Stubber(a_east) as s_a, Stubber(b_east) as s_b, Stubber(a_west) as s_w:
        s_sts.add_response("assume_role", sts_answer("ASIAACCOUNTAAAAAAAAA"),
                           {"RoleArn": ROLE_A, "RoleSessionName": "fleetpatch"})
        s_sts.add_response("assume_role", sts_answer("ASIAACCOUNTBBBBBBBBB"),
                           {"RoleArn": ROLE_B, "RoleSessionName": "fleetpatch", "ExternalId": "ext-b"})
        s_sts.add_response("assume_role", sts_answer("ASIAACCOUNTAAAAAAAAA"),
                           {"RoleArn": ROLE_A, "RoleSessionName": "fleetpatch"})
        s_a.add_response("describe_instance_information", {"InstanceInformationList": [node(i) for i in a_ids]}, filtered(a_ids))
        s_b.add_response("describe_instance_information", {"InstanceInformationList": [node(i) for i in b_ids]}, filtered(b_ids))
        s_w.add_response("describe_instance_information", {"InstanceInformationList": []}, filtered(w_ids))
        instances = ([{"instance_id": i, "region": "us-east-1", "role_arn": ROLE_A} for i in a_ids]
                     + [{"instance_id": i, "region": "us-east-1", "role_arn": ROLE_B, "external_id": "ext-b"} for i in b_ids]
                     + [{"instance_id": i, "region": "eu-west-1", "role_arn": ROLE_A} for i in w_ids])
        code, made = run_accounts({"region": "us-east-1", "instances": instances}, sts,
                                  {("us-east-1", "ASIAACCOUNTAAAAAAAAA"): a_east, ("us-east-1", "ASIAACCOUNTBBBBBBBBB"): b_east,
                                   ("eu-west-1", "ASIAACCOUNTAAAAAAAAA"): a_west}, monkeypatch)
        for stub in (s_sts, s_a, s_b, s_w):
            stub.assert_no_pending_responses()
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    ssm_clients = [m_ for m_ in made if m_[0] == "ssm"]
    assert ssm_clients == [("ssm", "us-east-1", "ASIAACCOUNTAAAAAAAAA"), ("ssm", "us-east-1", "ASIAACCOUNTBBBBBBBBB"),
                           ("ssm", "eu-west-1", "ASIAACCOUNTAAAAAAAAA")]
    assert out["regions"] == {"111122223333/us-east-1": {"requested": 3, "found": 3, "calls": 1, "strategy": "filter"},
                              "444455556666/us-east-1": {"requested": 2, "found": 2, "calls": 1, "strategy": "filter"},
                              "111122223333/eu-west-1": {"requested": 1, "found": 0, "calls": 1, "strategy": "filter"}}
    assert out["errors"] == {}
    assert all(out["instances"][i]["ready"] for i in a_ids + b_ids)
    assert not out["instances"][w_ids[0]]["managed"]


def test_an_account_whose_role_cannot_be_assumed_leaves_only_its_hosts_unchecked(capsys, monkeypatch):
    sts = boto3.client("sts", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    a_east = ssm("us-east-1")
    a_ids, b_ids = ids17(2, "a"), ids17(2, "b")
    with Stubber(sts) as s_sts, Stubber(a_east) as s_a:
        s_sts.add_response("assume_role", sts_answer("ASIAACCOUNTAAAAAAAAA"), {"RoleArn": ROLE_A, "RoleSessionName": "fleetpatch"})
        s_sts.add_client_error("assume_role", "AccessDenied", "not authorized to perform: sts:AssumeRole", 403)
        s_a.add_response("describe_instance_information", {"InstanceInformationList": [node(i) for i in a_ids]}, filtered(a_ids))
        instances = ([{"instance_id": i, "region": "us-east-1", "role_arn": ROLE_A} for i in a_ids]
                     + [{"instance_id": i, "region": "us-east-1", "role_arn": ROLE_B} for i in b_ids])
        code, made = run_accounts({"region": "us-east-1", "instances": instances}, sts,
                                  {("us-east-1", "ASIAACCOUNTAAAAAAAAA"): a_east}, monkeypatch)
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    assert list(out["errors"]) == ["444455556666/us-east-1"]
    assert "role %s (account 444455556666) could not be assumed: AccessDenied" % ROLE_B in out["errors"]["444455556666/us-east-1"]
    for instance_id in b_ids:
        entry = out["instances"][instance_id]
        assert entry["checked"] is False and entry["ready"] is False
        assert entry["reason"].startswith("SSM agent status unknown: role %s" % ROLE_B)
    assert all(out["instances"][i]["ready"] for i in a_ids)
