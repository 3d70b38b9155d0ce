# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: window_state
short_description: Whether a maintenance window is open at an instant, its cutoff and the next one
version_added: 0.1.0
description:
  - Evaluates a maintenance window (keys C(schedule), C(timezone), C(duration), C(cutoff) and
    optionally C(schedule_offset), C(start_date), C(end_date), as for
    M(fleetpatch.hybrid.maintenance_window)) on the controller, without a task.
  - Useful to check the cutoff before every batch of a rolling play.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: at, force
options:
  _input:
    description: The window.
    type: dict
    required: true
  at:
    description: The ISO 8601 instant to evaluate; now when omitted.
    type: str
  force:
    description: Report C(allowed_to_start) true even outside the window or past its cutoff.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Stop starting batches after the cutoff
  ansible.builtin.meta: end_play
  when: not (fleetpatch_window | fleetpatch.hybrid.window_state).allowed_to_start

- name: The state at a given instant
  ansible.builtin.debug:
    msg: "{{ (fleetpatch_window | fleetpatch.hybrid.window_state('2026-11-27T23:30:00+01:00')).reason }}"
"""

RETURN = r"""
_value:
  description:
    - The same keys as M(fleetpatch.hybrid.maintenance_window) returns (inside, before_cutoff,
      allowed_to_start, forced, window_start, window_end, cutoff_at, next_start, next_end,
      seconds_until_cutoff, seconds_until_end, seconds_until_next_start, timezone, reason, at).
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.maintenance_window import WindowError, window_from_dict


def window_state(window, at=None, force=False):
    try:
        force = boolean(force, strict=True)
    except TypeError:
        raise AnsibleFilterError("window_state: force %r is not a boolean (true or false)" % (force,))
    try:
        return window_from_dict(window).state(at or None, force=force)
    except WindowError as exc:
        raise AnsibleFilterError("window_state: maintenance window %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"window_state": window_state}
