"""docs/aws_permissions.md stays in line with the AWS calls the code makes (issue #18).

For each IAM policy in the document, the files of the code that runs with it are read as tokens;
every identifier or string that is an operation of an AWS service's boto3 client (a method,
a paginator or a waiter name, mapped to its API operation through botocore's own service
models) is an action that code can call. The policy must allow exactly those actions: a new call
without its permission fails here, and so does a permission no code needs any more. Every AWS
operation named anywhere under plugins/ must belong to one of the documented policies.
"""

import io
import json
import os
import re
import tokenize

import botocore.session
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
DOC = os.path.join(ROOT, "docs", "aws_permissions.md")
SERVICES = {"ec2": "ec2", "ssm": "ssm", "sts": "sts", "s3": "s3", "sns": "sns", "inspector2": "inspector2"}
# the method names every boto3 client has, whatever the service: not API operations
CLIENT_METHODS = {"can_paginate", "close", "generate_presigned_url", "get_paginator", "get_waiter"}
ONE_WORD_CALLS = {"publish"}
# API operations authorized by an IAM action of another name
IAM_ACTIONS = {"s3:HeadObject": "s3:GetObject", "s3:ListObjectsV2": "s3:ListBucket"}

# policy heading in docs/aws_permissions.md -> the files whose calls run with that policy
POLICIES = {
    "controller": ["plugins/module_utils/aws.py", "plugins/module_utils/aws_roles.py"],
    "inventory-reader": ["plugins/inventory/patch_groups.py", "plugins/module_utils/inventory.py"],
    "snapshot-taker": ["plugins/modules/ec2_instance_snapshot.py", "plugins/module_utils/_ec2_snapshot.py"],
    "ssm-reader": ["plugins/modules/ssm_agent_info.py"],
    "state-keeper": ["plugins/module_utils/run_state.py"],
    "compliance-publisher": ["plugins/modules/compliance_publish.py", "plugins/module_utils/compliance_export.py"],
}


def _operations():
    """{method, paginator or waiter name: 'service:Operation'} over the services the collection calls."""
    session = botocore.session.get_session()
    names = {}
    for service, prefix in SERVICES.items():
        client = session.create_client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
        for method, api in client.meta.method_to_api_mapping.items():
            names.setdefault(method, set()).add("%s:%s" % (prefix, api))
        for waiter in client.waiter_names:
            names.setdefault(waiter, set()).add("%s:%s" % (prefix, client.get_waiter(waiter).config.operation))
    return names


OPERATIONS = _operations()


def calls_in(path, services=None):
    """The API actions a source file can call: its identifiers and string literals that name one."""
    found = set()
    with open(os.path.join(ROOT, path), "rb") as handle:
        tokens = list(tokenize.tokenize(io.BytesIO(handle.read()).readline))
    for index, tok in enumerate(tokens):
        if tok.type == tokenize.NAME:
            # an attribute (client.describe_instances) or a keyword-free name used as one
            if index == 0 or tokens[index - 1].string != ".":
                continue
            word = tok.string
        elif tok.type == tokenize.STRING:
            word = tok.string.strip("\"'rbuRBU")
        else:
            continue
        # a one-word operation (inspector2 Enable, sns Publish) is too common a word to count as a call
        # unless listed (gc.disable() is not an AWS call)
        if word in CLIENT_METHODS or ("_" not in word and word not in ONE_WORD_CALLS):
            continue
        for action in OPERATIONS.get(word, ()):
            if services is None or action.split(":")[0] in services:
                found.add(IAM_ACTIONS.get(action, action))
    return found


def documented():
    """{policy name: {actions}} from the ```json blocks under '### name' headings."""
    text = open(DOC).read()
    policies = {}
    for name, block in re.findall(r"^### `?([a-z-]+)`?.*?\n```json\n(.*?)\n```", text, flags=re.S | re.M):
        doc = json.loads(block)
        actions = set()
        for statement in doc["Statement"]:
            assert statement["Effect"] == "Allow", (name, statement)
            acts = statement["Action"]
            actions.update([acts] if isinstance(acts, str) else acts)
        policies[name] = actions
    return policies


def services_of(actions):
    return {a.split(":")[0] for a in actions}


def test_every_policy_is_documented_and_valid_json():
    assert set(documented()) >= set(POLICIES), "docs/aws_permissions.md lacks a policy: %s" % (
        set(POLICIES) - set(documented()))


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_policy_allows_exactly_what_its_code_calls(policy):
    allowed = documented()[policy]
    called = set()
    for path in POLICIES[policy]:
        called |= calls_in(path, services_of(allowed) | {"ec2", "ssm", "sts"})
    if policy != "controller":
        called.discard("sts:AssumeRole")  # the controller's permission (assuming the host's role), not the role's
    assert called == allowed, "calls without permission: %s; permissions no code uses: %s" % (
        sorted(called - allowed), sorted(allowed - called))


def test_every_aws_call_under_plugins_belongs_to_a_documented_policy():
    allowed = set().union(*documented().values())
    missing = {}
    for folder, _subdirs, files in os.walk(os.path.join(ROOT, "plugins")):
        for name in files:
            if name.endswith(".py"):
                path = os.path.relpath(os.path.join(folder, name), ROOT)
                extra = calls_in(path) - allowed
                if extra:
                    missing[path] = sorted(extra)
    assert not missing, "AWS calls no policy in docs/aws_permissions.md allows: %s" % missing


def test_the_scanner_sees_each_kind_of_call():
    """The extraction itself: a method, a paginator or call by name, and a waiter all count."""
    sample = "tests/unit/docs/_calls_sample.py"
    path = os.path.join(ROOT, sample)
    with open(path, "w") as handle:
        handle.write("client.describe_volumes()\napi.call('create_snapshots')\nclient.get_waiter('snapshot_completed')\n"
                     "describe_regions = 1\nx = 'not_an_operation'\n")
    try:
        assert calls_in(sample, {"ec2"}) == {"ec2:DescribeVolumes", "ec2:CreateSnapshots", "ec2:DescribeSnapshots"}
    finally:
        os.remove(path)
