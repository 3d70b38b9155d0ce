"""Calls about a host in its own account: role specs, cached and renewed credentials, access errors."""

import json
import os
import stat
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import aws_roles as r

ROLE_A = "arn:aws:iam::111122223333:role/fleetpatch"
ROLE_B = "arn:aws:iam::444455556666:role/fleetpatch-b"
NOW = datetime(2026, 12, 4, 3, 0, tzinfo=timezone.utc)


def answer(key="AKIA1", minutes=60):
    return {"AccessKeyId": key, "SecretAccessKey": "secret-" + key, "SessionToken": "token-" + key,
            "Expiration": NOW + timedelta(minutes=minutes)}


class FakeSts(object):
    def __init__(self, *answers, error=None):
        self.answers = list(answers)
        self.calls = []
        self.error = error

    def __call__(self, **kwargs):
        self.calls.append(kwargs)
        if self.error:
            raise r.AssumeFailed(*self.error)
        return self.answers.pop(0)


def test_role_spec_defaults_and_validation():
    assert r.role_spec(None) is None
    assert r.role_spec("") is None
    assert r.role_spec(ROLE_A) == {"role_arn": ROLE_A, "external_id": None, "session_name": "fleetpatch"}
    assert r.role_spec(ROLE_A, "ext-42", "night-7")["external_id"] == "ext-42"


@pytest.mark.parametrize("args, fragment", [
    (("arn:aws:iam::1234:role/x",), "is not an IAM role ARN"),
    (("arn:aws:iam::111122223333:user/x",), "is not an IAM role ARN"),
    ((ROLE_A, None, "a b"), "role session name 'a b'"),
    ((ROLE_A, "x"), "external id"),
    ((None, "ext-1"), "external id is given"),
])
def test_role_spec_refuses_bad_input_by_name(args, fragment):
    with pytest.raises(r.RoleError) as err:
        r.role_spec(*args)
    assert fragment in str(err.value)
    assert err.value.kind == "input"


def test_credentials_are_assumed_once_then_cached(tmp_path):
    sts = FakeSts(answer("AKIA1"))
    cache = r.CredentialCache(str(tmp_path / "cache"), now=lambda: NOW)
    spec = r.role_spec(ROLE_A, "ext-42")
    first = r.role_credentials(sts, spec, cache, endpoint_url="http://127.0.0.1:5000")
    second = r.role_credentials(sts, spec, r.CredentialCache(str(tmp_path / "cache"), now=lambda: NOW),
                                endpoint_url="http://127.0.0.1:5000")   # a new process: the file cache
    assert first == second and first["access_key"] == "AKIA1"
    assert sts.calls == [{"RoleArn": ROLE_A, "RoleSessionName": "fleetpatch", "ExternalId": "ext-42"}]
    directory = tmp_path / "cache"
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    files = list(directory.iterdir())
    assert len(files) == 1 and stat.S_IMODE(os.stat(files[0]).st_mode) == 0o600


def test_credentials_are_renewed_before_they_expire(tmp_path):
    sts = FakeSts(answer("AKIA1", minutes=20), answer("AKIA2", minutes=60))
    clock = [NOW]
    cache = r.CredentialCache(str(tmp_path), now=lambda: clock[0])
    spec = r.role_spec(ROLE_A)
    assert r.role_credentials(sts, spec, cache)["access_key"] == "AKIA1"
    clock[0] = NOW + timedelta(minutes=4)            # 16 minutes left: still used
    assert r.role_credentials(sts, spec, cache)["access_key"] == "AKIA1"
    clock[0] = NOW + timedelta(minutes=6)            # 14 minutes left: renewed, not used to the last second
    assert r.role_credentials(sts, spec, cache)["access_key"] == "AKIA2"
    assert len(sts.calls) == 2


def test_cache_keys_differ_by_endpoint_role_and_external_id(tmp_path):
    sts = FakeSts(answer("A"), answer("B"), answer("C"), answer("D"))
    cache = r.CredentialCache(str(tmp_path), now=lambda: NOW)
    keys = {r.role_credentials(sts, spec, cache, endpoint_url=url)["access_key"]
            for spec, url in ((r.role_spec(ROLE_A), None), (r.role_spec(ROLE_A), "http://127.0.0.1:5000"),
                              (r.role_spec(ROLE_A, "ext-1"), None), (r.role_spec(ROLE_B), None))}
    assert keys == {"A", "B", "C", "D"}


def test_a_damaged_cache_file_costs_one_more_assume(tmp_path):
    spec = r.role_spec(ROLE_A)
    (tmp_path / (r.CredentialCache.key(spec) + ".json")).write_text("{not json")
    sts = FakeSts(answer("AKIA9"))
    assert r.role_credentials(sts, spec, r.CredentialCache(str(tmp_path), now=lambda: NOW))["access_key"] == "AKIA9"


def test_cache_off_keeps_credentials_in_memory_only(tmp_path, monkeypatch):
    monkeypatch.setenv(r.CACHE_ENV, "off")
    cache = r.CredentialCache.default()
    assert cache.directory is None
    monkeypatch.setenv(r.CACHE_ENV, str(tmp_path / "c"))
    assert r.CredentialCache.default().directory == str(tmp_path / "c")


def test_a_role_that_cannot_be_assumed_names_account_role_and_fix():
    sts = FakeSts(error=("AccessDenied", "User: arn:aws:iam::999999999999:user/ctl is not authorized to perform: "
                                         "sts:AssumeRole on resource: " + ROLE_B))
    with pytest.raises(r.RoleError) as err:
        r.role_credentials(sts, r.role_spec(ROLE_B, "ext-77"), r.CredentialCache(None))
    text = str(err.value)
    assert "role %s (account 444455556666) could not be assumed: AccessDenied" % ROLE_B in text
    assert "sts:AssumeRole" in text and "with this external id" in text
    assert err.value.details() == {"failure": "assume_role", "account_id": "444455556666", "role_arn": ROLE_B,
                                   "permission": "sts:AssumeRole"}


@pytest.mark.parametrize("code, role, expected", [
    ("UnauthorizedOperation", ROLE_A, "access denied (account 111122223333, role %s): missing permission "
                                      "ec2:CreateSnapshots: allow it to the role" % ROLE_A),
    ("AccessDeniedException", None, "access denied (the controller's own credentials): missing permission ec2:CreateSnapshots"),
    ("ExpiredToken", ROLE_A, "the credentials expired"),
    ("AuthFailure", ROLE_A, "not valid in this account"),
])
def test_access_message(code, role, expected):
    assert expected in r.access_message(code, "You are not authorized", "ec2:CreateSnapshots", role_arn=role)


def test_access_message_leaves_other_errors_alone():
    assert r.access_message("InsufficientInstanceCapacity", "no", "ec2:RunInstances") is None
    assert r.access_message("Throttling", "slow down", "ec2:CreateSnapshots", role_arn=ROLE_A) is None


def test_group_by_role_batches_per_account_and_region():
    items = [
        {"instance_id": "i-1", "region": "us-east-1", "role_arn": ROLE_A},
        {"instance_id": "i-2", "region": "us-east-1", "role_arn": ROLE_B},
        {"instance_id": "i-3", "region": "us-east-1", "role_arn": ROLE_A},
        {"instance_id": "i-4", "region": "eu-west-1", "role_arn": ROLE_A},
        {"instance_id": "i-5", "region": ""},
        {"instance_id": "i-1", "region": "us-east-1", "role_arn": ROLE_B},     # the same instance again: first wins
    ]
    groups = r.group_by_role(items, "us-west-2")
    assert [((s or {}).get("role_arn"), region, ids) for s, region, ids in groups] == [
        (ROLE_A, "us-east-1", ["i-1", "i-3"]), (ROLE_B, "us-east-1", ["i-2"]),
        (ROLE_A, "eu-west-1", ["i-4"]), (None, "us-west-2", ["i-5"])]


def test_group_by_role_names_the_bad_entry():
    with pytest.raises(r.RoleError, match=r"instances\[1\].role_arn 'nope'"):
        r.group_by_role([{"instance_id": "i-1"}, {"instance_id": "i-2", "role_arn": "nope"}], "us-east-1")


def test_targets_from_host_vars():
    hosts = [
        {"fleetpatch_instance_id": "i-1", "fleetpatch_region": "us-east-1", "fleetpatch_aws_role_arn": ROLE_A,
         "fleetpatch_aws_external_id": "ext-1", "fleetpatch_aws_role_session_name": "night"},
        {"fleetpatch_instance_id": "mi-0123456789abcdef0"},
        {"inventory_hostname": "onprem-1"},
    ]
    assert r.targets(hosts) == [
        {"instance_id": "i-1", "region": "us-east-1", "role_arn": ROLE_A, "external_id": "ext-1", "role_session_name": "night"},
        {"instance_id": "mi-0123456789abcdef0", "region": ""}]


def test_targets_groups_a_10k_fleet_into_two_accounts():
    hosts = [{"fleetpatch_instance_id": "i-%08x" % n, "fleetpatch_region": "us-east-1",
              "fleetpatch_aws_role_arn": ROLE_A if n % 2 else ROLE_B} for n in range(10000)]
    groups = r.group_by_role(r.targets(hosts), "us-east-1")
    assert sorted(len(ids) for dummy, dummy2, ids in groups) == [5000, 5000]
    assert json.dumps(groups)  # plain data: a module argument
