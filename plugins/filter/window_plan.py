# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: window_plan
short_description: Each host's maintenance window judged once, on the controller
version_added: 0.1.0
description:
  - A host's effective window is the first that is set - C(fleetpatch_maintenance_window) from
    its variables (group_vars per patch group), else its C(fleetpatch_window) value (the
    C(MaintenanceWindow) tag - C(SCHEDULE[; timezone=...; duration=H; cutoff=H]), the rest from
    C(fleetpatch_window_defaults)), else none. See docs/maintenance_windows.md.
  - Returns one decision per host - C(status) V(open) (in its window, before the cutoff), V(deferred)
    (outside it or past its cutoff; with C(next_start)), V(invalid) (a malformed window; C(reason)
    names the tag or variable), V(none) (no window - patched whenever the night runs).
  - Each distinct window is parsed and judged once, so the cost is linear in the hosts.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: at, force
options:
  _input:
    description: The hosts, as mappings of their variables (for example C(ansible_play_hosts_all | map('extract', hostvars))).
    type: list
    elements: dict
    required: true
  at:
    description: The ISO 8601 instant to judge at; now when omitted.
    type: str
  force:
    description: Treat every host with a valid window as in it (C(fleetpatch_force)).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Judge every host's window once
  ansible.builtin.set_fact:
    fleetpatch_windows: "{{ ansible_play_hosts_all | map('extract', hostvars) | fleetpatch.hybrid.window_plan }}"
  delegate_to: localhost
  delegate_facts: true
  run_once: true
"""

RETURN = r"""
_value:
  description:
    - "{host: {status, allowed_to_start, forced, source (vars, tag, none), field, value, window, schedule,
      timezone, window_start, window_end, cutoff_at, next_start, next_end, seconds_until_cutoff, reason, applied}}"
    - "C(applied) is what the ledger records with the host as its C(window_applied) attribute (in the report too):
      source, status, field, expression, timezone, start, end, cutoff_at (and next_start when deferred, forced when forced)."
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.maintenance_window import WindowError, plan_windows


def window_plan(hosts, at=None, force=False):
    try:
        return plan_windows(hosts, at, boolean(force, strict=False))
    except WindowError as exc:
        raise AnsibleFilterError("window_plan: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"window_plan": window_plan}
