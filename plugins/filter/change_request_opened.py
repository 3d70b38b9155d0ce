# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: change_request_opened
short_description: Fold the results of opening the change requests into the facts the night keeps
version_added: 0.1.0
description:
  - Takes the registered results of the open loop in the C(change_request) role and returns
    C(opened) (per patch group - number, state, ok, error, backend, hosts), C(host_map) (host to
    patch group), C(failed_groups) and C(blocked_hosts) (the hosts of groups whose change could
    not be opened, when a change is required). Linear in the hosts.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: backend, required, previous
options:
  _input:
    description: The C(results) of the registered open loop (each with its loop item C(__change_request_group)).
    type: list
    elements: dict
    required: true
  backend:
    description: The change request backend.
    type: str
    required: true
  required:
    description: Whether a host may only be patched once its group's change is open.
    type: bool
    default: false
  previous:
    description: C(opened) of an earlier fold, kept and updated.
    type: dict
"""

EXAMPLES = r"""
- name: Fold the open results
  ansible.builtin.set_fact:
    folded: "{{ opened.results | fleetpatch.hybrid.change_request_opened('local', true) }}"
"""

RETURN = r"""
_value:
  description: opened, host_map, failed_groups, blocked_hosts.
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.fleet_plan import PlanError, fold_opened


def change_request_opened(results, backend, required=False, previous=None):
    try:
        return fold_opened(results, backend, boolean(required, strict=False), previous)
    except PlanError as exc:
        raise AnsibleFilterError("change_request_opened: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"change_request_opened": change_request_opened}
