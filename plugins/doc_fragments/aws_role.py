# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    # The role a call about a host runs as: the host's account (fleetpatch_aws_role_arn from the
    # inventory plugin's assume_roles), shared by every module that calls AWS about hosts.
    DOCUMENTATION = r"""
options:
  role_arn:
    description:
      - The IAM role to assume for the calls, in the host's own account - what the inventory
        plugin sets as C(fleetpatch_aws_role_arn) for a host found through O(role_arn)'s
        C(assume_roles) entry. Omitted, the module's own credentials are used.
      - The role's temporary credentials are cached per role (directory
        C(~/.ansible/fleetpatch/aws_credentials), mode 0700, files 0600; C(FLEETPATCH_AWS_CREDENTIAL_CACHE)
        names another directory or V(off)) and renewed when less than 15 minutes of them are left.
    type: str
  external_id:
    description:
      - The external id the role's trust policy asks for (C(fleetpatch_aws_external_id)). Not a secret
        (AWS says so), so it is not hidden from logs.
    type: str
  role_session_name:
    description: The role session name (C(fleetpatch_aws_role_session_name)), shown in CloudTrail.
    type: str
    default: fleetpatch
"""
