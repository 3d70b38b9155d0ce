# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: compliance_summary
short_description: Patch compliance of a host in SSM's terms
version_added: 0.1.0
description:
  - Counts a host's patches in the states AWS Systems Manager reports (installed, installed_other,
    installed_pending_reboot, installed_rejected, missing, failed, not_applicable) against a
    baseline, and says whether the host is compliant, the highest severity missing and the CVEs
    still open.
  - A host is compliant when no approved patch is missing or failed, no rejected patch is
    installed (rejected_patches_action C(block)) and no installed patch waits for a reboot.
    Pending patches the baseline does not approve do not count against compliance.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: baseline
options:
  _input:
    description:
      - The pending patch records (the C(patches) of M(fleetpatch.hybrid.patch_scan), or the whole
        registered result).
    type: raw
    required: true
  baseline:
    description: The baseline (see the approved_patches filter and docs/policy.md).
    type: dict
    required: true
  approved:
    description:
      - The approved patch records (output of the approved_patches filter) or names.
      - When omitted the patches are approved here against O(baseline) on O(today).
    type: list
    elements: raw
  installed:
    description:
      - What was installed, as patch records or the C(changes) of the patch_proof filter
        (name, to, classification, cves).
    type: list
    elements: raw
    default: []
  failed:
    description: Names (or records) of approved patches whose installation failed.
    type: list
    elements: raw
    default: []
  pending_reboot:
    description: The host has not rebooted since the patches were installed.
    type: bool
    default: false
  inventory:
    description:
      - Names of every package installed on the host (for example the keys of
        C(ansible_facts.packages)); approved_patches names not installed count as not_applicable.
    type: list
    elements: str
  today:
    description: The moment approval is judged at (a date is 00:00 UTC that day); now (UTC) when omitted.
    type: str
  product:
    description: The host's product name (for example C(Debian12)) for rules that name products.
    type: str
"""

EXAMPLES = r"""
- name: Compliance after the rescan
  ansible.builtin.set_fact:
    compliance: >-
      {{ rescan.patches | fleetpatch.hybrid.compliance_summary(baseline,
           approved=approved, installed=proof.changes,
           failed=proof.still_pending, pending_reboot=reboot_pending) }}

- name: Compliance of a scan only (nothing installed)
  ansible.builtin.set_fact:
    compliance: "{{ scan | fleetpatch.hybrid.compliance_summary(baseline) }}"
"""

RETURN = r"""
_value:
  description:
    - compliant (bool), status (COMPLIANT or NON_COMPLIANT), counts (one per state),
      critical_non_compliant, security_non_compliant, other_non_compliant,
      highest_severity_missing (or null), compliance_level (or null), cves_open, cves_missing,
      not_approved (count of pending patches the baseline does not approve) and patches (names per state).
  type: dict
"""

from datetime import datetime, timezone

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.baseline import BaselineError
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.compliance import host_compliance


def _compliance_summary(patches, baseline, approved=None, installed=None, failed=None, pending_reboot=False,
                        inventory=None, today=None, product=None):
    if isinstance(patches, dict):
        if "patches" not in patches:
            raise AnsibleFilterError("compliance_summary: input must be patch records or the registered result of "
                                     "fleetpatch.hybrid.patch_scan (a dict with patches)")
        patches = patches["patches"]
    if not isinstance(patches, list) or not all(isinstance(p, dict) and "name" in p for p in patches):
        raise AnsibleFilterError("compliance_summary: input must be a list of patch records (each with a name)")
    try:
        return host_compliance(patches, approved, baseline, installed=installed, failed=failed,
                               pending_reboot=bool(pending_reboot), inventory=inventory,
                               today=today or datetime.now(timezone.utc), product=product)
    except BaselineError as exc:
        raise AnsibleFilterError("compliance_summary: baseline %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"compliance_summary": _compliance_summary}
