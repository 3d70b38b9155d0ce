# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: approved_patches
short_description: The patches a baseline approves on a date
version_added: 0.1.0
description:
  - Applies a patch baseline (approval rules by classification, severity and days since
    release, approved and rejected lists) to patch records from M(fleetpatch.hybrid.patch_scan).
  - Returns the approved patches, each with an C(approval_reason).
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: baseline, today
options:
  _input:
    description: Patch records.
    type: list
    elements: dict
    required: true
  baseline:
    description: The baseline (keys approval_rules, approved_patches, rejected_patches, rejected_patches_action).
    type: dict
    required: true
  today:
    description: The date approval is judged on (YYYY-MM-DD); today when omitted.
    type: str
"""

EXAMPLES = r"""
- name: Approve what the baseline allows
  ansible.builtin.set_fact:
    approved: "{{ scan.patches | fleetpatch.hybrid.approved_patches(baseline) }}"
"""

RETURN = r"""
_value:
  description: The approved patch records, each with C(approval_reason).
  type: list
  elements: dict
"""

from datetime import date

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.baseline import BaselineError, approved_patches


def _approved_patches(patches, baseline, today=None):
    try:
        return approved_patches(patches, baseline, today or date.today())
    except BaselineError as exc:
        raise AnsibleFilterError("approved_patches: baseline %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"approved_patches": _approved_patches}
