# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: approved_patches
short_description: The patches a baseline approves on a date
version_added: 0.1.0
description:
  - Applies a patch baseline (operating system, approval rules by classification, severity,
    product and days since release, approved and rejected lists, approved manifest) to patch
    records from M(fleetpatch.hybrid.patch_scan). See docs/policy.md for every key.
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
    description: The baseline (keys approval_rules, approved_patches, rejected_patches, rejected_patches_action, ...).
    type: dict
    required: true
  today:
    description:
      - The moment approval is judged at, as a UTC instant; now (UTC) when omitted.
      - A date (C(2026-11-27)) means 00:00 UTC that day; a date and time may carry an offset
        (C(2026-11-27T09:00:00+01:00)); without one it is UTC. Anything else is an error naming the field.
    type: str
  product:
    description:
      - The host's product as SSM names it (for example C(Debian12), C(RedhatEnterpriseLinux9.3),
        C(WindowsServer2022)); needed by approval rules that set C(products).
    type: str
  dependencies:
    description:
      - Which pending patches each patch needs, a mapping of a patch name to the names it needs. A needed patch no rule
        approves is approved as a dependency; a rejected one only with
        C(rejected_patches_action=allow_as_dependency), and with C(block) the patch needing it is
        not approved.
    type: dict
"""

EXAMPLES = r"""
- name: Approve what the baseline allows
  ansible.builtin.set_fact:
    approved: "{{ scan.patches | fleetpatch.hybrid.approved_patches(baseline) }}"

- name: Approve for a product, on a fixed date
  ansible.builtin.set_fact:
    approved: >-
      {{ scan.patches | fleetpatch.hybrid.approved_patches(baseline, '2026-11-27',
           product='Debian' ~ ansible_facts.distribution_major_version) }}
"""

RETURN = r"""
_value:
  description: The approved patch records, each with C(approval_reason).
  type: list
  elements: dict
"""

from datetime import datetime, timezone

from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.baseline import BaselineError, evaluate, warnings

_display = Display()


def _approved_patches(patches, baseline, today=None, product=None, dependencies=None):
    try:
        decisions = evaluate(patches, baseline, today or datetime.now(timezone.utc), product=product or None,
                             dependencies=dependencies or None)
        for text in warnings(patches, decisions, baseline):
            _display.warning(text)
    except BaselineError as exc:
        raise AnsibleFilterError("approved_patches: baseline %s" % exc)
    return [dict(patch, approval_reason=decisions[i]["reason"]) for i, patch in enumerate(patches) if decisions[i]["approved"]]


class FilterModule(object):
    def filters(self):
        return {"approved_patches": _approved_patches}
