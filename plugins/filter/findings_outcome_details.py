# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: findings_outcome_details
short_description: Per host text for a change's close notes - its reason, findings closed and still open
version_added: 0.1.0
description:
  - From the hosts of a report written by M(fleetpatch.hybrid.patch_report), a text per host that
    has a reason or findings - the reason, the scanner findings closed and those still open with why.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
options:
  _input:
    description: The report's C(hosts).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Close notes details
  ansible.builtin.set_fact:
    details: "{{ report.hosts | fleetpatch.hybrid.findings_outcome_details }}"
"""

RETURN = r"""
_value:
  description: Host name to text.
  type: dict
"""

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.findings_report import outcome_details


class FilterModule(object):
    def filters(self):
        return {"findings_outcome_details": outcome_details}
