# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: findings_after
short_description: A host's findings judged closed or open by what is installed after the night
version_added: 0.1.0
description:
  - A finding is closed only when its package's installed version is at or past the fixed
    version (the scanner's, else the candidate of the patch whose CVE list named it), in the
    package manager's version order; open otherwise, with the reason.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: installed, manager
options:
  _input:
    description: The findings of P(fleetpatch.hybrid.findings_plan#filter) (its C(findings)).
    type: list
    elements: dict
    required: true
  installed:
    description: Installed version by package name after the night (C(installed) of M(fleetpatch.hybrid.patch_scan)).
    type: dict
    required: true
  manager:
    description: The host's package manager (apt, dnf, yum, zypper).
    type: str
    default: apt
"""

EXAMPLES = r"""
- name: Judge the findings
  ansible.builtin.set_fact:
    after: "{{ plan.findings | fleetpatch.hybrid.findings_after(rescan.installed, rescan.package_manager) }}"
"""

RETURN = r"""
_value:
  description: closed and open (each cve, package, severity, installed, fixed_version, reason), summary, judged (full records).
  type: dict
"""

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.findings_correlate import after_summary, judge_after


def findings_after(findings, installed, manager="apt"):
    judged = judge_after(list(findings or []), dict(installed or {}), manager or "apt")
    result = after_summary(judged)
    result["judged"] = judged
    return result


class FilterModule(object):
    def filters(self):
        return {"findings_after": findings_after}
