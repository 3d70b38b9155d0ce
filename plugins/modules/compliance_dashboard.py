#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This module runs on the controller as an action plugin (plugins/action/compliance_dashboard.py).

from __future__ import annotations

DOCUMENTATION = r"""
---
module: compliance_dashboard
short_description: The compliance dashboard of a run, as one self-contained HTML file
version_added: 0.1.0
description:
  - Writes one HTML file that opens without any network (no script, no fonts or images to fetch; charts are
    inline SVG), readable on a laptop screen and printable.
  - Shows compliance % by patch group, environment and OS; missing patches by severity; the CVEs closed this run
    and still open with the top CVEs by hosts affected; failed, deferred and rolled-back hosts with their reasons;
    the change requests with their states; the trend over the last runs in the ledger.
  - Every figure is the one report.json states (module_utils/accounting.py) and carries a C(data-figure)
    attribute naming it.
  - The trend reads each earlier run's summary figures from the ledger, where every run's report keeps them
    (fleetpatch.hybrid.patch_report), so a dashboard reads one row per earlier run and the hosts of the shown run
    only. A run whose figures were never kept (a ledger from before, a run that ended without its report) is
    computed from its rows once, and its figures are kept then (not in check mode).
  - Runs on the controller.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
options:
  path:
    description: The ledger file.
    type: path
    required: true
  run_id:
    description: The run to show; the newest run of the ledger when omitted.
    type: str
  dest:
    description: The HTML file to write. Not written in check mode.
    type: path
    required: true
  trend_runs:
    description: How many runs (this one and those before it) the trend shows.
    type: int
    default: 30
extends_documentation_fragment:
  - fleetpatch.hybrid.ledger_integrity
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - fleetpatch.hybrid.controller_action
"""

EXAMPLES = r"""
- name: Write the dashboard of the night
  fleetpatch.hybrid.compliance_dashboard:
    path: out/ledger.db
    run_id: "{{ fleetpatch_run_id }}"
    dest: out/dashboard.html
"""

RETURN = r"""
dest:
  description: The dashboard file.
  returned: always
  type: str
  sample: out/dashboard.html
run_id:
  description: The run shown.
  returned: always
  type: str
  sample: run-20261206T020000Z
summary:
  description: The run's figures the dashboard shows (the C(summary) of report.json).
  returned: always
  type: dict
  sample: {hosts: 3, compliance_pct: 66.7, cves_closed_distinct: 7, host_cves_closed: 20}
bytes:
  description: The size of the page.
  returned: always
  type: int
  sample: 48211
"""
