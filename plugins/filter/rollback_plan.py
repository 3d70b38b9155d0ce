# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: rollback_plan
short_description: What a rollback does after a failed validation, and the exact package downgrade
version_added: 0.1.0
description:
  - With O(mode=decide) (the default), the input is the validation result and the filter returns
    C(action) (none, snapshot_restore, package_downgrade, manual), C(reason) and C(provider).
  - With O(mode=downgrade), the input is the package lines recorded before the patch and the
    filter returns the exact set that returns the host to them (C(install), C(remove),
    C(cannot_rollback), C(complete)).
  - With O(mode=outcome), the input is the decision and the filter returns C(outcome)
    (rolled_back, rollback_failed or null) and C(message).
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: mode
options:
  _input:
    description: The validation result, the recorded package lines, or the decision (see O(mode)).
    type: raw
    required: true
  mode:
    description: What to compute.
    type: str
    choices: [decide, downgrade, outcome]
    default: decide
  policy:
    description: The rollback policy (on_failure or never), with O(mode=decide).
    type: str
    default: on_failure
  snapshot:
    description: The snapshot role's C(snapshot_result), with O(mode=decide).
    type: dict
  after:
    description: The package lines read after the patch, with O(mode=downgrade).
    type: list
    elements: str
  available:
    description: C(apt-cache madison) output for the changed packages, with O(mode=downgrade) (apt only).
    type: str
  manager:
    description: apt, dnf, yum or zypper, with O(mode=downgrade).
    type: str
    default: apt
  action_ok:
    description: Whether the rollback action succeeded, with O(mode=outcome).
    type: bool
  revalidation:
    description: The validation result after the rollback, with O(mode=outcome).
    type: dict
  plan:
    description: The downgrade plan, with O(mode=outcome).
    type: dict
"""

EXAMPLES = r"""
- name: Decide
  ansible.builtin.set_fact:
    decision: "{{ validate_result | fleetpatch.hybrid.rollback_plan('decide', policy='on_failure', snapshot=snapshot_result) }}"
"""

RETURN = r"""
_value:
  description: The decision, the downgrade plan or the outcome (see O(mode)).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import rollback


def rollback_plan(value, mode="decide", policy="on_failure", snapshot=None, after=None, available=None, manager="apt",
                  action_ok=None, revalidation=None, plan=None):
    try:
        if mode == "decide":
            snapshot = snapshot or {}
            return rollback.decide(value, policy, snapshot, bool(snapshot.get("package_state")))
        if mode == "downgrade":
            before = rollback.parse_package_lines(value)
            now = rollback.parse_package_lines(after or [])
            offered = rollback.parse_apt_madison(available) if available is not None and manager == "apt" else None
            return rollback.downgrade_plan(before, now, offered, manager)
        if mode == "outcome":
            return rollback.outcome(value, bool(action_ok), revalidation, plan)
    except rollback.RollbackError as exc:
        raise AnsibleFilterError("rollback_plan: %s" % exc)
    raise AnsibleFilterError("rollback_plan: mode %r is not one of decide, downgrade, outcome" % (mode,))


class FilterModule(object):
    def filters(self):
        return {"rollback_plan": rollback_plan}
