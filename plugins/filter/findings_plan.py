# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: findings_plan
short_description: A host's scanner findings against its pending patches and the baseline
version_added: 0.1.0
description:
  - Correlates one host's findings (from M(fleetpatch.hybrid.vulnerability_findings)) with its
    pending patches (from M(fleetpatch.hybrid.patch_scan)) - each finding to the patch that
    fixes it by package and fixed version or by the patch's CVE list - and judges each with the
    baseline - C(patch_approved), C(patch_not_approved) with the baseline's reason,
    C(fix_not_pending), C(no_fix); and lists the patches that close no finding.
  - Returns C(patches), the patch records each with the C(findings) it closes, which the
    baseline's C(approve_findings_min_severity) reads - approve them with
    P(fleetpatch.hybrid.approved_patches#filter); and C(decisions), every patch with its baseline
    decision as P(fleetpatch.hybrid.patch_decisions#filter) returns it (the baseline is judged once
    per host; its warnings are shown as that filter shows them).
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: findings, baseline, today
options:
  _input:
    description: Patch records.
    type: list
    elements: dict
    required: true
  findings:
    description: The host's findings.
    type: list
    elements: dict
    required: true
  baseline:
    description: The baseline (see docs/policy.md).
    type: dict
    required: true
  today:
    description:
      - The moment approval is judged at (YYYY-MM-DD or ISO 8601); now when omitted, as
        P(fleetpatch.hybrid.patch_decisions#filter) judges.
    type: str
  product:
    description: The host's product as SSM names it (for rules that set products).
    type: str
  dependencies:
    description:
      - The pending patches each patch needs (C(dependencies) of M(fleetpatch.hybrid.patch_scan)), so that the
        plan's decisions are the approval's own (P(fleetpatch.hybrid.patch_decisions#filter)).
    type: dict
"""

EXAMPLES = r"""
- name: Correlate the findings with the pending patches
  ansible.builtin.set_fact:
    plan: "{{ scan.patches | fleetpatch.hybrid.findings_plan(host_findings, baseline) }}"
"""

RETURN = r"""
_value:
  description: >-
    findings (each with plan, patches, reason), not_approved, no_fix, fix_not_pending,
    patches_without_finding, summary, patches (annotated), decisions (each patch with approved and approval_reason).
  type: dict
"""

from datetime import datetime, timezone

from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.baseline import BaselineError
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.findings_correlate import plan_host

_display = Display()


def findings_plan(patches, findings, baseline, today=None, product=None, dependencies=None):
    try:
        # now, as patch_decisions judges: the plan's decisions are the approval's own
        plan = plan_host(list(patches or []), list(findings or []), baseline, today or datetime.now(timezone.utc),
                         product or None, dict(dependencies or {}))
    except BaselineError as exc:
        raise AnsibleFilterError("findings_plan: baseline %s" % exc)
    for text in plan.pop("warnings"):
        _display.warning(text)
    return plan


class FilterModule(object):
    def filters(self):
        return {"findings_plan": findings_plan}
