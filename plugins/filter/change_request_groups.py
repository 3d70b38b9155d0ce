# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: change_request_groups
short_description: Group the hosts ready to patch into one change request per patch group
version_added: 0.1.0
description:
  - Takes the hosts that got through preflight and scan (C(fleetpatch_ready)) with approved patches
    (C(scan_approved)) and returns one change request per patch group, sorted by name, with its
    hosts, owners, patches (each with its CVEs and advisories) and CVEs.
  - With the night's window decisions (C(fleetpatch_windows), from P(fleetpatch.hybrid.window_plan#filter)),
    only hosts whose window is open take part, so a patch group with no host in its window gets no
    change request, and each change carries the span of its hosts' windows.
  - Linear in the hosts (the Jinja C(combine) loop it replaces was quadratic).
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: windows
options:
  _input:
    description: The hosts, as mappings of their variables (for example C(groups['all'] | map('extract', hostvars))).
    type: list
    elements: dict
    required: true
  windows:
    description: The window decision of each host (a mapping of host name to decision); omit to ignore windows.
    type: dict
"""

EXAMPLES = r"""
- name: One change request per patch group
  ansible.builtin.set_fact:
    cr_groups: "{{ groups['all'] | map('extract', hostvars) | fleetpatch.hybrid.change_request_groups(fleetpatch_windows) }}"
"""

RETURN = r"""
_value:
  description: "[{name, hosts, owners, patches: [{name, version, cves, advisories}], cves, window: {start, end, expression, timezone}}]"
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.fleet_plan import PlanError, group_change_requests


def change_request_groups(hosts, windows=None):
    try:
        return group_change_requests(hosts, windows)
    except PlanError as exc:
        raise AnsibleFilterError("change_request_groups: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"change_request_groups": change_request_groups}
