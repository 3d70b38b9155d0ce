# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: workflow_stats
short_description: What a patch night hands the next node of an AWX workflow (set_stats)
version_added: 0.1.0
description:
  - From a night's report, the data for C(ansible.builtin.set_stats), which AWX passes to the next
    workflow nodes as extra variables. C(fleetpatch_result_run_id), C(fleetpatch_result_host_counts) (hosts by
    status), C(fleetpatch_result_cves_closed) (CVE ids), C(fleetpatch_result_change_requests) (CR numbers) and
    C(fleetpatch_result_report_location) (where report.json is kept).
author:
  - fleetpatch.hybrid developers (@fleetpatch)
options:
  _input:
    description: The report (C(fleetpatch.hybrid.patch_report)'s C(report)).
    type: dict
    required: true
  location:
    description: Where the report is kept (C(s3://...) or a path).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Hand the night's outcome to the next workflow node
  ansible.builtin.set_stats:
    data: "{{ report | fleetpatch.hybrid.workflow_stats('s3://patching-state/nights/run-1/report.json') }}"
"""

RETURN = r"""
_value:
  description: fleetpatch_result_run_id, fleetpatch_result_host_counts, fleetpatch_result_cves_closed, fleetpatch_result_change_requests,
    fleetpatch_result_report_location.
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.run_state import workflow_stats


def _workflow_stats(report, location):
    if not isinstance(report, dict):
        raise AnsibleFilterError("workflow_stats: the input must be a night's report (a dict), got %r" % type(report).__name__)
    try:
        return workflow_stats(report, location)
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError("workflow_stats: not a fleetpatch report (missing %s)" % exc)


class FilterModule(object):
    def filters(self):
        return {"workflow_stats": _workflow_stats}
