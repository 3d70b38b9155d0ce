# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: batch_progress
short_description: The progress of a rolling patch night before each batch, in one line
version_added: 0.1.0
description:
  - Counts the previous batch's hosts (by their C(fleetpatch_batch_outcome) - V(done), V(failed);
    a host that left its batch early counts as failed, V(not_started) as neither) into the tally
    and returns it with C(line) - batch k of n, the hosts in it, done and failed so far, and the
    time left to the cutoff. Linear in the batch.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: batch, hostvars, total, serial, seconds_until_cutoff
options:
  _input:
    description: The tally before the previous batch (this filter's last answer), or null before the first.
    type: dict
  batch:
    description: The hosts of the batch about to start (C(ansible_play_batch)); those not ready to patch (C(fleetpatch_ready)) are left out.
    type: list
    elements: str
    required: true
  hostvars:
    description: The hosts' variables (C(hostvars)).
    type: dict
    required: true
  total:
    description: The number of hosts in the play (C(ansible_play_hosts_all | length)).
    type: int
    required: true
  serial:
    description: The play's C(serial) (a number, a percentage or a list), to count the batches.
    type: raw
  seconds_until_cutoff:
    description: The least time left to a cutoff among the batch's windows; null without a window.
    type: int
"""

EXAMPLES = r"""
- name: Count the batch
  ansible.builtin.set_fact:
    fleetpatch_progress: >-
      {{ fleetpatch_progress | default(none)
         | fleetpatch.hybrid.batch_progress(ansible_play_batch, hostvars, ansible_play_hosts_all | length, 2, 3600) }}
"""

RETURN = r"""
_value:
  description: batch, batches, done, failed, last (the batch's hosts), line.
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.fleet_plan import PlanError
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.fleet_plan import batch_progress as _batch_progress


def batch_progress(previous, batch, hostvars, total, serial=None, seconds_until_cutoff=None):
    last = (previous or {}).get("last") or []
    outcomes = dict((name, hostvars[name].get("fleetpatch_batch_outcome")) for name in last if name in hostvars)
    batch = [name for name in batch or [] if name in hostvars and hostvars[name].get("fleetpatch_ready")]
    try:
        return _batch_progress(previous, batch, outcomes, int(total), serial, seconds_until_cutoff)
    except PlanError as exc:
        raise AnsibleFilterError("batch_progress: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"batch_progress": batch_progress}
