# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: findings_disagreement_records
short_description: The ledger records of a host's disagreements with a rescanning source
version_added: 0.1.0
description:
  - Each disagreement of M(fleetpatch.hybrid.vulnerability_findings)'s RV(fleetpatch.hybrid.vulnerability_findings#module:disagreements)
    as a findings record with state C(source_open) (closed by the installed version, still open at the
    source) or C(source_closed) (still open by the installed version, no longer reported by the source).
author:
  - fleetpatch.hybrid developers (@fleetpatch)
options:
  _input:
    description: One host's disagreements (C(cve), C(package), C(ours), C(source), C(reason)).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Record them
  ansible.builtin.debug:
    msg: "{{ check.disagreements['web-1'] | default([]) | fleetpatch.hybrid.findings_disagreement_records }}"
"""

RETURN = r"""
_value:
  description: Records with C(cve), C(package), C(state), C(reason).
  type: list
  elements: dict
"""

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.findings_correlate import disagreement_records


def findings_disagreement_records(disagreements):
    return disagreement_records(list(disagreements or []))


class FilterModule(object):
    def filters(self):
        return {"findings_disagreement_records": findings_disagreement_records}
