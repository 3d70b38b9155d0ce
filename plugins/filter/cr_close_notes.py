# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: cr_close_notes
short_description: The close notes of a patch group's change request, from report.json
version_added: 0.1.0
description:
  - States what happened to a patch group in the report's own figures (module_utils/accounting.py), so
    the change request says what report.json, the console table, the notices and the dashboard say.
  - The count of hosts per outcome; the distinct CVEs closed (counted only where no host of the group still
    has them) and still open; the host-CVE pairs closed and host-package pairs patched; one line per host
    (outcome, packages patched, CVEs closed and still open, reason); the rollbacks with their reasons.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: patch_group, close_code
options:
  _input:
    description: report.json's content (the C(report) returned by M(fleetpatch.hybrid.patch_report)).
    type: dict
    required: true
  patch_group:
    description: The patch group (V(ungrouped) for hosts without one).
    type: str
    required: true
  close_code:
    description: The close code the notes start with; derived from the hosts' outcomes when omitted.
    type: str
  correlation:
    description: The change's correlation id, added as the last line.
    type: str
"""

EXAMPLES = r"""
- name: Close notes for the web-prod change
  ansible.builtin.debug:
    msg: "{{ report | fleetpatch.hybrid.cr_close_notes('web-prod') }}"
"""

RETURN = r"""
_value:
  description: The close notes, one line per fact.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import accounting, cr_model, findings_report
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_errors import CRValidationError


def _cr_close_notes(report, patch_group, close_code=None, correlation=None):
    if not isinstance(report, dict) or not isinstance(report.get("hosts"), list):
        raise AnsibleFilterError("cr_close_notes: input must be report.json's content (a dict with hosts)")
    hosts = [h for h in report["hosts"] if (h.get("patch_group") or accounting.UNGROUPED) == patch_group]
    try:
        code = close_code or cr_model.derive_close_code(dict((h["name"], h.get("status") or "incomplete") for h in hosts))
    except CRValidationError:
        raise AnsibleFilterError("cr_close_notes: patch group %r has no host in the report; give close_code" % (patch_group,))
    # the hosts' scanner findings closed and still open (module_utils/findings_report.py)
    return accounting.close_notes(report, patch_group, code, correlation, findings_report.outcome_details(hosts))


class FilterModule(object):
    def filters(self):
        return {"cr_close_notes": _cr_close_notes}
