# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: aws_access
short_description: Whether the controller has AWS access configured, without calling AWS
version_added: 0.1.0
description:
  - Looks where boto3 would find credentials, cheaply and without a network call - O(endpoint_url)
    or O(profile) given, the environment (static keys, profile, web identity, ECS/EKS container
    credentials), the shared credentials and config files, and last whether the controller is
    itself an EC2 instance (its instance role), from its DMI or hypervisor identity.
  - The preflight role asks SSM about agents under C(preflight_ssm_agent=auto) only when this is
    true, so an on-prem controller without AWS pays nothing, and one on EC2 with an instance role
    is not missed.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
options:
  endpoint_url:
    description: An AWS endpoint the play will use (a local simulation, a VPC endpoint); set means configured.
    type: str
    default: ""
  profile:
    description: An AWS profile the play will use; set means configured.
    type: str
    default: ""
  details:
    description: Return C(configured) and C(how) instead of the bare answer.
    type: bool
    default: false
notes:
  - It says whether access is configured, not whether the credentials are valid or allowed to call SSM.
"""

EXAMPLES = r"""
- name: Ask SSM only when the controller has AWS access
  fleetpatch.hybrid.ssm_agent_info:
    instance_ids: "{{ ids }}"
  when: lookup('fleetpatch.hybrid.aws_access')

- name: Say where the access comes from
  ansible.builtin.debug:
    msg: "{{ lookup('fleetpatch.hybrid.aws_access', details=true).how }}"
"""

RETURN = r"""
_raw:
  description: Whether AWS access is configured, or with O(details) a dict with C(configured) (bool) and C(how) (str).
  type: list
  elements: raw
"""

from ansible.plugins.lookup import LookupBase

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.aws_access import aws_access


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        configured, how = aws_access(endpoint_url=self.get_option("endpoint_url") or "",
                                     profile=self.get_option("profile") or "")
        return [{"configured": configured, "how": how} if self.get_option("details") else configured]
