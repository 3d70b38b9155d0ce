# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: preflight_outcome
short_description: The preflight record of a host, from its preflight_info result and SSM's view
version_added: 0.1.0
description:
  - SSM's view comes first (the host was then not contacted), then the connection (an unreachable
    or failed M(fleetpatch.hybrid.preflight_info) run), then the checks on the host.
  - Returns C(status) (C(ok), C(failed) or C(unreachable)), C(message) (the reasons, empty when
    none) and C(data) (what the ledger keeps).
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: ssm
options:
  _input:
    description: The registered preflight_info result (skipped, unreachable or failed included).
    type: dict
    required: true
  ssm:
    description: What SSM's answer means for the host, as returned by P(fleetpatch.hybrid.ssm_agent_gate#filter).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Judge the host
  ansible.builtin.set_fact:
    outcome: "{{ preflight | fleetpatch.hybrid.preflight_outcome(ssm_gate) }}"
"""

RETURN = r"""
_value:
  description: status, message, data.
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.preflight import outcome


def _preflight_outcome(info, ssm):
    try:
        return outcome(info or {}, ssm)
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError("preflight_outcome: the input must be a preflight_info result and ssm an "
                                 "ssm_agent_gate result (missing %s)" % exc)


class FilterModule(object):
    def filters(self):
        return {"preflight_outcome": _preflight_outcome}
