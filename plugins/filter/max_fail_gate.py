# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: max_fail_gate
short_description: Whether a patch night starts no further batch after too many failures
version_added: 0.1.0
description:
  - Counts, over the report's hosts, those the night tried (patched or one of the failed outcomes)
    and those that failed (failed, unreachable, rolled_back, rollback_failed, needs_attention;
    the status sets of module_utils/lifecycle.py). A host C(deferred) outside its window, or
    C(compliant), is not counted.
  - Returns C(stop) (more failed than O(percentage) allows), C(reason) (one line, null when
    not stopping), C(tried) and C(failed) (host names).
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: percentage
options:
  _input:
    description: The report's host entries (each with C(name) and C(status)), as P(fleetpatch.hybrid.patch_report#module) returns them.
    type: list
    elements: dict
    required: true
  percentage:
    description: C(fleetpatch_max_fail_percentage), 0-100.
    type: int
    required: true
"""

EXAMPLES = r"""
- name: Judge the night so far
  ansible.builtin.set_fact:
    gate: "{{ so_far.report.hosts | fleetpatch.hybrid.max_fail_gate(fleetpatch_max_fail_percentage) }}"
"""

RETURN = r"""
_value:
  description: stop, reason, tried, failed.
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.lifecycle import max_fail_gate


def _max_fail_gate(hosts, percentage):
    try:
        percentage = int(percentage)
    except (TypeError, ValueError):
        raise AnsibleFilterError("max_fail_gate: fleetpatch_max_fail_percentage must be a whole number 0-100, got %r" % (percentage,))
    if not 0 <= percentage <= 100:
        raise AnsibleFilterError("max_fail_gate: fleetpatch_max_fail_percentage must be 0-100, got %d" % percentage)
    try:
        return max_fail_gate(hosts or [], percentage)
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError("max_fail_gate: the input must be the report's host entries with name and status (missing %s)" % exc)


class FilterModule(object):
    def filters(self):
        return {"max_fail_gate": _max_fail_gate}
