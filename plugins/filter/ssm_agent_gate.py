# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: ssm_agent_gate
short_description: What SSM's view of a host's agent means for patching it
version_added: 0.1.0
description:
  - Takes the registered result of M(fleetpatch.hybrid.ssm_agent_info) for the batch and decides
    for one host under the agent mode (C(preflight_ssm_agent) of the preflight role).
  - The inventory says SSM manages the host when O(sources) holds C(ssm), its instance id is a
    hybrid C(mi-) node, or O(connection) is C(amazon.aws.aws_ssm).
  - Returns C(entry) (what SSM said of the host, or an empty dict), C(reason) (why the host must not
    be patched, empty when it may), C(managed_by_inventory), C(agent_services) (the services to
    check on the host) and C(record) (what the ledger keeps of SSM's view, or null).
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: instance_id, mode
options:
  _input:
    description: The registered result of ssm_agent_info (skipped when SSM was not asked, failed when the call failed).
    type: dict
    required: true
  instance_id:
    description: The host's instance id (C(fleetpatch_instance_id)); empty when it has none.
    type: str
    required: true
  mode:
    description:
      - V(auto) - an agent SSM knows must be ready, and so must one the inventory says SSM manages; a
        failed SSM call stops no host. V(required) - every host with an instance id must be known and
        ready, and a failed call stops it. V(skip) - SSM's view stops no host and no agent service
        is checked.
    type: str
    choices: [auto, required, skip]
    required: true
  sources:
    description: The inventory sources that saw the host (C(fleetpatch_sources)).
    type: list
    elements: str
  source:
    description: The inventory source of the host (C(fleetpatch_source)), when O(sources) is not given.
    type: str
    default: ""
  connection:
    description: The host's connection plugin (C(ansible_connection)).
    type: str
    default: ""
  agent_service:
    description: The SSM agent's service (alternatives joined by C(|)), checked on a host SSM manages.
    type: str
    default: ""
  agent_services:
    description: Other agent services always checked on the host.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Decide from SSM's answer for the batch
  ansible.builtin.set_fact:
    gate: >-
      {{ ssm_agents | fleetpatch.hybrid.ssm_agent_gate(fleetpatch_instance_id | default(''), 'auto',
         sources=fleetpatch_sources | default(omit), agent_service='amazon-ssm-agent') }}
"""

RETURN = r"""
_value:
  description: entry, reason, managed_by_inventory, agent_services, record.
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ssm_agent import gate, managed_by_inventory


def _ssm_agent_gate(answer, instance_id, mode, sources=None, source="", connection="", agent_service="", agent_services=None):
    by_inventory = managed_by_inventory(sources, source, instance_id, connection)
    try:
        result = gate(answer, instance_id or "", mode, by_inventory, agent_service or "", agent_services or [])
    except ValueError as exc:
        raise AnsibleFilterError("ssm_agent_gate: %s" % exc)
    result["managed_by_inventory"] = by_inventory
    return result


class FilterModule(object):
    def filters(self):
        return {"ssm_agent_gate": _ssm_agent_gate}
