# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: snapshot_outcome
short_description: What a snapshot attempt means for the host under the snapshot policy
version_added: 0.1.0
description:
  - V(required) - a failed snapshot (or no provider) stops the host before it is patched.
    V(best_effort) - a host no provider applies to (provider V(none), or O(applies=false)) goes on
    with a warning; a provider that applies but failed (access denied in the host's account, a
    quota, a timeout) stops the host, as under V(required). V(none) - no snapshot is taken.
  - Returns C(status) (the ledger status of the snapshot phase), C(proceed), C(message) and C(warning).
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: provider, ok, message, applies
options:
  _input:
    description: The snapshot policy.
    type: str
    choices: [required, best_effort, none]
    required: true
  provider:
    description: The host's snapshot provider.
    type: str
    required: true
  ok:
    description: Whether the snapshot was made.
    type: bool
    required: true
  message:
    description: The failure, or a note on the snapshot made.
    type: str
  applies:
    description: False when the provider turned out not to apply to the host (LVM asked for, no LVM on the host).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Judge the snapshot
  ansible.builtin.set_fact:
    outcome: "{{ 'required' | fleetpatch.hybrid.snapshot_outcome('ec2', false, 'UnauthorizedOperation') }}"
"""

RETURN = r"""
_value:
  description: status, proceed, message, warning.
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.snapshot import SnapshotError, policy_outcome


def _snapshot_outcome(policy, provider, ok, message=None, applies=True):
    try:
        return policy_outcome(policy, provider, bool(ok), message or None, bool(applies))
    except SnapshotError as exc:
        raise AnsibleFilterError("snapshot_outcome: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"snapshot_outcome": _snapshot_outcome}
