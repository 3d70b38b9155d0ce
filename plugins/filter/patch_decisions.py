# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: patch_decisions
short_description: Every pending patch with the baseline's decision and its reason
version_added: 0.1.0
description:
  - The same approval as P(fleetpatch.hybrid.approved_patches#filter) (docs/policy.md), but returns
    every patch record, each with C(approved) (bool) and C(approval_reason), so a plan can say why
    each pending patch is or is not installed. C(select('approved')) gives the approved set.
  - The input may be the registered result of M(fleetpatch.hybrid.patch_scan); its
    C(dependencies) and C(product) are then used unless given.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: baseline, today
options:
  _input:
    description: Patch records, or the registered result of M(fleetpatch.hybrid.patch_scan).
    type: raw
    required: true
  baseline:
    description: The baseline (docs/policy.md).
    type: dict
    required: true
  today:
    description: The moment approval is judged at (UTC; a date is 00:00 UTC that day); now when omitted.
    type: str
  product:
    description: The host's product as SSM names it (for example C(Debian12)).
    type: str
  dependencies:
    description: Which pending patches each patch needs (RV(fleetpatch.hybrid.patch_scan#module:dependencies)).
    type: dict
"""

EXAMPLES = r"""
- name: Decide every pending patch, then keep the approved ones
  ansible.builtin.set_fact:
    decisions: "{{ scan | fleetpatch.hybrid.patch_decisions(baseline) }}"
    approved: "{{ scan | fleetpatch.hybrid.patch_decisions(baseline) | selectattr('approved') | list }}"
"""

RETURN = r"""
_value:
  description: Every patch record with C(approved) and C(approval_reason).
  type: list
  elements: dict
"""

from datetime import datetime, timezone

from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.baseline import BaselineError, evaluate, warnings

_display = Display()


def patch_decisions(scan, baseline, today=None, product=None, dependencies=None):
    if isinstance(scan, dict):
        if not isinstance(scan.get("patches"), list):
            raise AnsibleFilterError("patch_decisions: input must be patch records or the registered result of "
                                     "fleetpatch.hybrid.patch_scan (a dict with patches)")
        patches = scan["patches"]
        product = product or scan.get("product")
        dependencies = dependencies or scan.get("dependencies")
    else:
        patches = scan
    if not isinstance(patches, list) or not all(isinstance(p, dict) and "name" in p for p in patches):
        raise AnsibleFilterError("patch_decisions: input must be a list of patch records (each with a name)")
    try:
        decisions = evaluate(patches, baseline, today or datetime.now(timezone.utc), product=product or None,
                             dependencies=dependencies or None)
        for text in warnings(patches, decisions, baseline):
            _display.warning(text)
    except BaselineError as exc:
        raise AnsibleFilterError("patch_decisions: baseline %s" % exc)
    return [dict(patch, approved=decisions[i]["approved"], approval_reason=decisions[i]["reason"])
            for i, patch in enumerate(patches)]


class FilterModule(object):
    def filters(self):
        return {"patch_decisions": patch_decisions}
