# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: change_request_closed
short_description: Fold the results of closing the change requests
version_added: 0.1.0
description:
  - Per patch group - the number, state, close code, and the error when it could not be closed.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: previous
options:
  _input:
    description: The C(results) of the registered close loop (each with its loop item C(__change_request_item)).
    type: list
    elements: dict
    required: true
  previous:
    description: An earlier fold, kept and updated.
    type: dict
"""

EXAMPLES = r"""
- name: Fold the close results
  ansible.builtin.set_fact:
    closed: "{{ close.results | fleetpatch.hybrid.change_request_closed }}"
"""

RETURN = r"""
_value:
  description: "{group: {number, state, close_code, error}}"
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.fleet_plan import PlanError, fold_closed


def change_request_closed(results, previous=None):
    try:
        return fold_closed(results, previous)
    except PlanError as exc:
        raise AnsibleFilterError("change_request_closed: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"change_request_closed": change_request_closed}
