# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: window_recheck
short_description: Judge the windows of a batch's hosts again, before the batch starts
version_added: 0.1.0
description:
  - For each named host with a window in the night's plan (P(fleetpatch.hybrid.window_plan#filter)),
    whether it may still start now (before its window's cutoff), and the least time left to a
    cutoff among them. Each distinct window is judged once.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: plan, at, force
options:
  _input:
    description: The hosts of the batch (names).
    type: list
    elements: str
    required: true
  plan:
    description: The night's window plan.
    type: dict
    required: true
  at:
    description: The ISO 8601 instant to judge at; now when omitted.
    type: str
  force:
    description: Lift the windows and cutoffs.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Judge the batch's windows
  ansible.builtin.set_fact:
    batch_windows: "{{ ansible_play_batch | fleetpatch.hybrid.window_recheck(hostvars['localhost']['fleetpatch_windows']) }}"
"""

RETURN = r"""
_value:
  description: "{hosts: {host: {allowed_to_start, reason, window_start, cutoff_at, next_start, seconds_until_cutoff}},
    seconds_until_cutoff}"
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.maintenance_window import WindowError, recheck_windows


def window_recheck(names, plan, at=None, force=False):
    try:
        return recheck_windows(names, plan, at, boolean(force, strict=False))
    except WindowError as exc:
        raise AnsibleFilterError("window_recheck: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"window_recheck": window_recheck}
