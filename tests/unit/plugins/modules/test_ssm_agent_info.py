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
