# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: change_request_close_plan
short_description: What to close each change request with - its own hosts' outcomes
version_added: 0.1.0
description:
  - One item per opened change request that has a number, with its hosts' outcomes and reasons
    (only its own hosts), ready to loop over. Linear in the hosts.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: outcomes, details
options:
  _input:
    description: C(change_request_opened) (per patch group - number, backend, hosts).
    type: dict
    required: true
  outcomes:
    description: Each host's outcome, a mapping of host name to status.
    type: dict
    required: true
  details:
    description: Each host's reason, a mapping of host name to reason.
    type: dict
  report:
    description:
      - report.json's content. Each item then carries C(close_notes) - the notes the
        P(fleetpatch.hybrid.cr_close_notes#filter) filter writes for its patch group - all worked out
        in one pass over the report, instead of templating the whole report once per change.
    type: dict
"""

EXAMPLES = r"""
- name: Plan the closes
  ansible.builtin.set_fact:
    closes: "{{ change_request_opened | fleetpatch.hybrid.change_request_close_plan({'web-1': 'patched'}) }}"
"""

RETURN = r"""
_value:
  description: "[{key, number, backend, hosts, host_outcomes, outcome_details, close_notes (with O(report))}]"
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.fleet_plan import PlanError, close_plan


def change_request_close_plan(opened, outcomes, details=None, report=None):
    try:
        return close_plan(opened, outcomes, details, report)
    except PlanError as exc:
        raise AnsibleFilterError("change_request_close_plan: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"change_request_close_plan": change_request_close_plan}
