# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: findings_to_confirm
short_description: The findings to ask a rescanning source about after the night, by host
version_added: 0.1.0
description:
  - From each host's C(scan_findings_after) (P(fleetpatch.hybrid.findings_after#filter)) - every finding
    judged closed, and the findings judged open that the source itself reported - the input of
    M(fleetpatch.hybrid.vulnerability_findings)'s O(fleetpatch.hybrid.vulnerability_findings#module:confirm_closed)
    and O(fleetpatch.hybrid.vulnerability_findings#module:confirm_open).
  - Hosts without C(scan_findings_after) are left out.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: hostvars, source
options:
  _input:
    description: Inventory host names.
    type: list
    elements: str
    required: true
  hostvars:
    description: C(hostvars).
    type: dict
    required: true
  source:
    description: The source whose own open findings are asked about.
    type: str
    default: inspector2
"""

EXAMPLES = r"""
- name: Ask Inspector2 about the verdicts
  fleetpatch.hybrid.vulnerability_findings:
    sources: "{{ fleetpatch_findings_sources }}"
    hosts: "{{ judged | fleetpatch.hybrid.findings_identities(hostvars) }}"
    confirm_closed: "{{ (judged | fleetpatch.hybrid.findings_to_confirm(hostvars)).closed }}"
    confirm_open: "{{ (judged | fleetpatch.hybrid.findings_to_confirm(hostvars)).open }}"
"""

RETURN = r"""
_value:
  description: C(closed) and C(open), each a host name to a list of C(cve), C(package), C(reason).
  type: dict
"""

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.findings_correlate import to_confirm


def findings_to_confirm(names, hostvars, source="inspector2"):
    afters = {}
    for name in names:
        after = hostvars[name].get("scan_findings_after")
        if after:
            afters[str(name)] = after
    return to_confirm(afters, source)


class FilterModule(object):
    def filters(self):
        return {"findings_to_confirm": findings_to_confirm}
