# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: aws_targets
short_description: The AWS identity of each host of a batch - instance, region and the role of its account
version_added: 0.1.0
description:
  - Takes the host variables of a batch (for example C(ansible_play_batch | map('extract', hostvars)))
    and returns, for each host with C(fleetpatch_instance_id), a dict C(instance_id), C(region) and,
    when the host has C(fleetpatch_aws_role_arn), C(role_arn), C(external_id), C(role_session_name).
  - That list is what M(fleetpatch.hybrid.ssm_agent_info) takes as O(fleetpatch.hybrid.ssm_agent_info#module:instances),
    so each host is asked about in its own account and region, one call sequence per account and region.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
options:
  _input:
    description: Host variables of the hosts (dicts).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Agent status of the batch, each host in its own account
  fleetpatch.hybrid.ssm_agent_info:
    instances: "{{ ansible_play_batch | map('extract', hostvars) | fleetpatch.hybrid.aws_targets }}"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
_value:
  description: One dict per host with an instance id.
  type: list
  elements: dict
"""

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.aws_roles import targets


class FilterModule(object):
    def filters(self):
        return {"aws_targets": targets}
