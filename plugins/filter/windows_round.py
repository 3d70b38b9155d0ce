# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: windows_round
short_description: Judge one install -> reboot -> search round of Windows updates
version_added: 0.1.0
description:
  - O(_input) is the registered M(ansible.windows.win_updates) install result of the round, of any
    shape (nothing found, installed, reboot required, failed KB, unreachable).
  - Returns what the round installed and failed, the approved KBs the search after it still finds
    pending, and whether to run another round (done, failed, or stopped at the loop limit, the
    window cutoff, or a reboot the policy forbids).
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: search, approved, round, limit
options:
  _input:
    description: The registered win_updates install result.
    type: dict
    required: true
  search:
    description: The registered win_updates search after the round (reboot included).
    type: dict
    required: true
  approved:
    description: The approved patch records (or KB names) of the host.
    type: list
    elements: raw
    required: true
  round:
    description: The number of this round, from 1.
    type: int
    required: true
  limit:
    description: The most rounds to run.
    type: int
    required: true
  cutoff_passed:
    description: Whether the maintenance window's cutoff has passed.
    type: bool
    default: false
  reboot_pending:
    description: Whether a reboot is needed that the reboot policy did not allow.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Judge the round
  ansible.builtin.set_fact:
    round: "{{ installed | fleetpatch.hybrid.windows_round(searched, scan_approved, 1, 3) }}"
"""

RETURN = r"""
_value:
  description:
    - C({summary, pending, decision {again, outcome, reason}, status, note}).
    - C(status) is the round's ledger status (failed, changed or ok); a round that installed nothing
      but left no approved KB pending is C(changed), with a C(note) saying so (the KBs were pending at
      the scan, so an earlier attempt of the run installed them).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import windows_updates as wu


def windows_round(result, search, approved, round, limit, cutoff_passed=False, reboot_pending=False):
    try:
        summary = wu.install_summary(result, approved)
        if (search or {}).get("unreachable") or (search or {}).get("failed"):
            raise AnsibleFilterError("windows_round: the search after round %s failed: %s" % (round, search.get("msg")))
        pending = wu.pending_kbs(search, approved)
        decision = wu.loop_decision(int(round), int(limit), pending, summary, bool(cutoff_passed), bool(reboot_pending))
    except wu.WindowsUpdatesError as exc:
        raise AnsibleFilterError("windows_round: %s" % exc)
    return dict(wu.round_status(summary, decision), summary=summary, pending=pending, decision=decision)


class FilterModule(object):
    def filters(self):
        return {"windows_round": windows_round}
