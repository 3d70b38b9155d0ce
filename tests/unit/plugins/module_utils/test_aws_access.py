"""Whether the controller has AWS access configured, from what boto3 would read, without calling AWS."""

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.aws_access import aws_access

NITRO = {"/sys/devices/virtual/dmi/id/sys_vendor": "Amazon EC2\n", "/sys/devices/virtual/dmi/id/board_asset_tag": "i-0abc\n"}
XEN = {"/sys/hypervisor/uuid": "ec2e1916-9099-7caf-fd21-012345abcdef\n"}
ON_PREM = {"/sys/devices/virtual/dmi/id/sys_vendor": "Dell Inc.\n", "/sys/hypervisor/uuid": "4f3c2a1b-0000\n"}


@pytest.mark.parametrize("environ, files, sys_files, kwargs, configured, how", [
    ({}, [], {}, {}, False, "no AWS credentials configured"),
    ({}, [], ON_PREM, {}, False, "not an EC2 instance"),
    ({}, [], {}, {"endpoint_url": "http://127.0.0.1:5000"}, True, "endpoint_url"),
    ({}, [], {}, {"profile": "patching"}, True, "profile patching"),
    ({"AWS_ACCESS_KEY_ID": "AKIA..."}, [], {}, {}, True, "AWS_ACCESS_KEY_ID"),
    ({"AWS_ACCESS_KEY_ID": ""}, [], {}, {}, False, "no AWS credentials"),
    ({"AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/token"}, [], {}, {}, True, "AWS_WEB_IDENTITY_TOKEN_FILE"),
    ({"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/creds"}, [], {}, {}, True, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
    ({}, ["/home/awx/.aws/credentials"], {}, {}, True, "file /home/awx/.aws/credentials"),
    ({}, ["/home/awx/.aws/config"], {}, {}, True, "file /home/awx/.aws/config"),
    # a moved credentials file is looked for where the environment says, not in ~/.aws
    ({"AWS_SHARED_CREDENTIALS_FILE": "/etc/aws/creds"}, ["/etc/aws/creds"], {}, {}, True, "file /etc/aws/creds"),
    ({"AWS_SHARED_CREDENTIALS_FILE": "/etc/aws/creds"}, ["/home/awx/.aws/credentials"], {}, {}, False, "no AWS"),
    # the controller is an EC2 instance: its instance role (Nitro, then Xen)
    ({}, [], NITRO, {}, True, "sys_vendor"),
    ({}, [], XEN, {}, True, "/sys/hypervisor/uuid"),
    ({"AWS_EC2_METADATA_DISABLED": "true"}, [], NITRO, {}, False, "AWS_EC2_METADATA_DISABLED"),
])
def test_aws_access_table(environ, files, sys_files, kwargs, configured, how):
    environ = dict(environ, HOME="/home/awx")
    answer = aws_access(environ=environ, exists=lambda path: path in files, read=lambda path: sys_files.get(path, ""), **kwargs)
    assert answer[0] is configured
    assert how in answer[1]
