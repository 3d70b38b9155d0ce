# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Does the controller have AWS access to ask with, without asking AWS? (pure Python)

The preflight role's `preflight_ssm_agent: auto` asks SSM only when this says yes, so that an
on-prem controller without AWS is not slowed down by boto3's credential chain (which ends with a
probe of the EC2 metadata service, a network timeout off EC2). Everything boto3 would find is
looked at the way boto3 finds it, cheaply: explicit settings, environment, shared files, and, last,
whether the controller itself is an EC2 instance (its instance role), which the instance's
DMI/hypervisor identity tells without a network call.
"""

from __future__ import annotations

import os

# botocore's environment providers (static keys, profile, web identity, ECS/EKS container credentials)
ENV_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI")
# the shared files, where the environment does not move them
FILES = (("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"), ("AWS_CONFIG_FILE", "~/.aws/config"))
# how an EC2 instance knows itself locally (what cloud-init's EC2 detection reads): Nitro instances
# through DMI, Xen instances through the hypervisor uuid
EC2_MARKERS = (("/sys/devices/virtual/dmi/id/sys_vendor", "Amazon EC2"),
               ("/sys/devices/virtual/dmi/id/board_asset_tag", "i-"),
               ("/sys/hypervisor/uuid", "ec2"))


def _read(path):
    try:
        with open(path) as handle:
            return handle.read(256)
    except (OSError, UnicodeDecodeError):
        return ""


def aws_access(environ=None, endpoint_url="", profile="", exists=os.path.isfile, read=_read, home=None):
    """(configured, how): whether the controller has AWS access configured, and where it comes from."""
    environ = os.environ if environ is None else environ
    if endpoint_url:
        return True, "endpoint_url is set"
    if profile:
        return True, "profile %s" % profile
    for key in ENV_KEYS:
        if environ.get(key):
            return True, "environment variable %s" % key
    home = home if home is not None else environ.get("HOME") or os.path.expanduser("~")
    for key, default in FILES:
        path = environ.get(key) or default.replace("~", home, 1)
        if exists(path):
            return True, "file %s" % path
    if str(environ.get("AWS_EC2_METADATA_DISABLED", "")).lower() == "true":
        return False, "no AWS credentials configured (and AWS_EC2_METADATA_DISABLED=true)"
    for path, prefix in EC2_MARKERS:
        if read(path).strip().startswith(prefix):
            return True, "the controller is an EC2 instance (%s): its instance role" % path
    return False, "no AWS credentials configured (environment, shared files) and the controller is not an EC2 instance"
