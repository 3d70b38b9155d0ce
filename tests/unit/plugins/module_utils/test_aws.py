"""The shared boto3 layer: retry policy with jittered backoff, pagination, sessions, roles.

AWS calls are answered by botocore's Stubber (it checks requests and responses against the service
model) or, where the response parser itself is under test, by a canned HTTP response.
"""

import boto3
import botocore.awsrequest
import botocore.exceptions
import botocore.parsers
import pytest
from botocore.stub import Stubber

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import aws


def client_error(code, status=400):
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": "msg " + code},
                                            "ResponseMetadata": {"HTTPStatusCode": status}}, "DescribeInstances")


def plain_client(service="ec2", region="us-east-1"):
    return boto3.Session(aws_access_key_id="AKID", aws_secret_access_key="secret").client(service, region_name=region)


@pytest.mark.parametrize("exc,retry", [
    (client_error("Throttling"), True),
    (client_error("RequestLimitExceeded"), True),
    (client_error("ThrottlingException"), True),
    (client_error("InternalError", 500), True),
    (client_error("Whatever", 503), True),
    (client_error("TooManyRequests", 429), True),
    (client_error("AuthFailure", 401), False),
    (client_error("UnauthorizedOperation", 403), False),
    (client_error("InvalidParameterValue"), False),
    (botocore.exceptions.EndpointConnectionError(endpoint_url="http://x"), True),
    (botocore.exceptions.ReadTimeoutError(endpoint_url="http://x"), True),
    (botocore.parsers.ResponseParserError("bad xml"), True),
    (botocore.exceptions.NoCredentialsError(), False),
    (botocore.exceptions.ParamValidationError(report="x"), False),
    (ValueError("ours"), False),
])
def test_is_retryable(exc, retry):
    assert aws.is_retryable(exc) is retry


@pytest.mark.parametrize("attempt,rand,expected", [
    (0, 1.0, 0.5), (0, 0.5, 0.25), (1, 1.0, 1.0), (3, 1.0, 4.0), (3, 0.0, 0.0), (10, 1.0, 20.0), (10, 0.5, 10.0),
])
def test_backoff_is_full_jitter_capped(attempt, rand, expected):
    assert aws.backoff(attempt, rand=lambda: rand) == pytest.approx(expected)


class Flaky(object):
    def __init__(self, errors, result="ok"):
        self.errors = list(errors)
        self.calls = 0
        self.result = result

    def __call__(self, **kwargs):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.result


def test_call_retries_with_growing_jittered_delays():
    fn, delays = Flaky([client_error("Throttling"), client_error("InternalError", 500), client_error("SlowDown")]), []
    assert aws.call(fn, sleep=delays.append, rand=lambda: 1.0) == "ok"
    assert fn.calls == 4
    assert delays == [0.5, 1.0, 2.0]


def test_call_gives_up_after_max_attempts():
    fn, delays = Flaky([client_error("Throttling")] * 10), []
    with pytest.raises(aws.AwsError) as err:
        aws.call(fn, max_attempts=3, sleep=delays.append)
    assert fn.calls == 3 and len(delays) == 2
    assert str(err.value) == "Throttling: msg Throttling (after 3 attempts)"
    assert err.value.code == "Throttling"


@pytest.mark.parametrize("exc,message", [
    (client_error("AuthFailure", 401), "AuthFailure: msg AuthFailure"),
    (botocore.exceptions.NoCredentialsError(), "NoCredentialsError: Unable to locate credentials"),
])
def test_call_does_not_retry_the_rest(exc, message):
    fn = Flaky([exc])
    with pytest.raises(aws.AwsError) as err:
        aws.call(fn, sleep=lambda s: pytest.fail("slept"))
    assert fn.calls == 1 and str(err.value) == message


def test_call_lets_our_own_bugs_through():
    with pytest.raises(KeyError):
        aws.call(Flaky([KeyError("x")]))


def test_paginate_follows_tokens_and_retries_each_page():
    client = plain_client("ssm")
    stub = Stubber(client)
    stub.add_response("describe_instance_information", {"InstanceInformationList": [{"InstanceId": "i-1"}], "NextToken": "t1"},
                      {"MaxResults": 50})
    stub.add_client_error("describe_instance_information", "ThrottlingException", http_status_code=400,
                          expected_params={"MaxResults": 50, "NextToken": "t1"})
    stub.add_response("describe_instance_information", {"InstanceInformationList": [{"InstanceId": "mi-2"}]},
                      {"MaxResults": 50, "NextToken": "t1"})
    delays = []
    with stub:
        pages = list(aws.paginate(client.describe_instance_information, "InstanceInformationList", sleep=delays.append,
                                  MaxResults=50))
        stub.assert_no_pending_responses()
    assert [[i["InstanceId"] for i in page] for page in pages] == [["i-1"], ["mi-2"]]
    assert len(delays) == 1


@pytest.mark.parametrize("arn,account", [
    ("arn:aws:iam::111111111111:role/patching", "111111111111"),
    ("arn:aws-us-gov:iam::222222222222:role/path/to/role", "222222222222"),
    ("arn:aws:iam::111111111111:user/bob", None),
    ("arn:aws:iam::1111:role/x", None),
    (None, None),
])
def test_role_account(arn, account):
    assert aws.role_account(arn) == account


@pytest.mark.parametrize("env,attempts", [(None, 6), ("2", 2), ("0", 1), ("many", 6)])
def test_max_attempts_follows_the_standard_aws_setting(monkeypatch, env, attempts):
    if env is None:
        monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    else:
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", env)
    assert aws.max_attempts(aws.new_session("AKID", "secret")) == attempts


def test_clients_leave_retries_to_us_and_verify_tls():
    client = aws.client(aws.new_session("AKID", "secret"), "ec2", "eu-west-1", "https://ec2.example.test")
    assert client.meta.config.retries == {"total_max_attempts": 1, "mode": "standard"}
    assert client.meta.endpoint_url == "https://ec2.example.test"
    assert client.meta.region_name == "eu-west-1"
    assert client._endpoint.http_session._verify not in (False, None)  # True or a CA bundle path
    assert "fleetpatch.hybrid" in client.meta.config.user_agent_extra


def test_unknown_profile_is_an_aws_error():
    with pytest.raises(aws.AwsError) as err:
        aws.client(aws.new_session(profile="no-such-profile-fleetpatch"), "ec2", "us-east-1")
    assert "no-such-profile-fleetpatch" in str(err.value)


class _Raw(object):
    def __init__(self, body):
        self.body = body

    def stream(self, **kwargs):
        yield self.body

    def read(self, *args):
        body, self.body = self.body, b""
        return body


XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId>
<reservationSet><item><reservationId>r-1</reservationId><ownerId>111111111111</ownerId><instancesSet><item>
<instanceId>i-1</instanceId><launchTime>2026-11-27T10:00:00.000Z</launchTime></item></instancesSet></item></reservationSet>
</DescribeInstancesResponse>"""


@pytest.mark.parametrize("raw,expected_type", [(True, str), (False, "datetime")])
def test_raw_timestamps_skip_parsing(raw, expected_type):
    client = aws.client(aws.new_session("AKID", "secret", raw_timestamps=raw), "ec2", "us-east-1")
    client.meta.events.register("before-send.ec2.DescribeInstances",
                                lambda **kw: botocore.awsrequest.AWSResponse("http://x", 200, {}, _Raw(XML)))
    launch = client.describe_instances()["Reservations"][0]["Instances"][0]["LaunchTime"]
    if raw:
        assert launch == "2026-11-27T10:00:00.000Z"
    else:
        assert type(launch).__name__ == expected_type and launch.year == 2026


ERROR_XML = (b'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>UnauthorizedOperation</Code>'
             b'<Message>not allowed</Message></Error></Errors><RequestID>r</RequestID></Response>')


def answer_with(client, status, body):
    """The next DescribeInstances answers of `client`: this HTTP status and body (through botocore's parsing)."""
    if not hasattr(client, "canned"):
        client.meta.events.register("before-send.ec2.DescribeInstances", lambda **kw: botocore.awsrequest.AWSResponse(
            "http://x", client.canned[0], {}, _Raw(client.canned[1])))
    client.canned = (status, body)


def test_a_reader_reads_successful_answers_of_its_shape_only():
    seen = []

    def reader(body):
        seen.append(body)
        return {"Reservations": [{"OwnerId": "9", "Instances": []}]}

    session = aws.new_session("AKID", "secret", readers={"DescribeInstancesResult": reader})
    ec2 = aws.client(session, "ec2", "us-east-1")
    answer_with(ec2, 200, XML)
    answer = ec2.describe_instances()
    assert seen == [XML]
    assert answer["Reservations"] == [{"OwnerId": "9", "Instances": []}]
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    answer_with(ec2, 403, ERROR_XML)                      # errors: botocore's parser, the usual ClientError
    with pytest.raises(aws.AwsError) as err:
        aws.call(ec2.describe_instances)
    assert str(err.value) == "UnauthorizedOperation: not allowed" and len(seen) == 1
    ec2_regions = aws.client(session, "ec2", "us-east-1")  # other operations: botocore's parser
    ec2_regions.meta.events.register("before-send.ec2.DescribeRegions", lambda **kw: botocore.awsrequest.AWSResponse(
        "http://x", 200, {}, _Raw(b'<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><regionInfo>'
                                  b'<item><regionName>eu-west-1</regionName></item></regionInfo></DescribeRegionsResponse>')))
    assert ec2_regions.describe_regions()["Regions"] == [{"RegionName": "eu-west-1"}]


def test_a_reader_that_cannot_read_is_a_retried_parse_error():
    def reader(body):
        raise ValueError("DescribeInstances answer is not valid XML")

    ec2 = aws.client(aws.new_session("AKID", "secret", readers={"DescribeInstancesResult": reader}), "ec2", "us-east-1")
    answer_with(ec2, 200, b"<truncated")
    delays = []
    with pytest.raises(aws.AwsError) as err:
        aws.call(ec2.describe_instances, max_attempts=2, sleep=delays.append)
    assert "ResponseParserError" in str(err.value) and "(after 2 attempts)" in str(err.value) and len(delays) == 1


def test_assume_role_returns_a_session_with_the_role_credentials(monkeypatch):
    sts = plain_client("sts")
    stub = Stubber(sts)
    stub.add_response("assume_role", {"Credentials": {"AccessKeyId": "ASIAROLE11111111", "SecretAccessKey": "s", "SessionToken": "t",
                                                      "Expiration": "2026-11-27T12:00:00Z"}},
                      {"RoleArn": "arn:aws:iam::111111111111:role/patching", "RoleSessionName": "fleetpatch-test"})
    made = []
    monkeypatch.setattr(aws, "client", lambda session, service, region, endpoint_url=None: made.append(
        (service, region, endpoint_url)) or sts)
    with stub:
        session = aws.assume_role(aws.new_session("AKID", "secret"), "arn:aws:iam::111111111111:role/patching",
                                  "fleetpatch-test", "eu-west-1", "http://127.0.0.1:1")
    credentials = session.get_credentials()
    assert (credentials.access_key, credentials.secret_key, credentials.token) == ("ASIAROLE11111111", "s", "t")
    assert made == [("sts", "eu-west-1", "http://127.0.0.1:1")]


def test_assume_role_denied_is_an_aws_error(monkeypatch):
    sts = plain_client("sts")
    stub = Stubber(sts)
    stub.add_client_error("assume_role", "AccessDenied", "not authorized to perform sts:AssumeRole", 403)
    monkeypatch.setattr(aws, "client", lambda *a, **k: sts)
    with stub, pytest.raises(aws.AwsError) as err:
        aws.assume_role(aws.new_session("AKID", "secret"), "arn:aws:iam::111111111111:role/patching", "x-y", "us-east-1")
    assert str(err.value) == "AccessDenied: not authorized to perform sts:AssumeRole"
