#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This module runs on the controller as an action plugin (plugins/action/patch_report.py).

from __future__ import annotations

DOCUMENTATION = r"""
---
module: patch_report
short_description: The report of a patch night, from the run ledger
version_added: 0.1.0
description:
  - Reads a run from the ledger, derives one outcome per host (patched, compliant,
    rolled_back, rollback_failed, failed, unreachable, incomplete) and writes the report as JSON.
  - Adds the run's change requests of the local backend (kept in the same ledger file) with their
    number, state and close code.
  - Runs on the controller.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
options:
  path:
    description: The ledger file.
    type: path
    required: true
  run_id:
    description: The run to report; the newest run in the ledger when not given.
    type: str
  dest:
    description:
      - Where to write the report as JSON. Not written in check mode, unless O(plan) is given.
      - Written whole or not at all (a private temporary file in the same directory, synced, then renamed),
        with mode 0600.
      - A damaged ledger is reported as such, with nothing written.
    type: path
  plan:
    description:
      - The plan of a dry run (the P(fleetpatch.hybrid.dry_run_plan#filter) filter). The report
        then carries it under C(plan) with C(check_run=true), and O(dest) is written also in check mode.
    type: dict
  dashboard_dest:
    description:
      - Also write the run's self-contained HTML dashboard there, from the same read of the ledger (what
        M(fleetpatch.hybrid.compliance_dashboard) writes, with the trend of O(trend_runs) runs). Not written in check mode.
      - At 10,000 hosts reading and building the run is most of each output's cost, so a night writes report.json, the
        dashboard and the export in this one task (docs/performance.md).
    type: path
  trend_runs:
    description: How many runs (this one and those before it) the dashboard's trend shows.
    type: int
    default: 30
  export_dest:
    description:
      - Also export the run as partitioned JSON Lines to this local folder, from the same read of the ledger (what
        M(fleetpatch.hybrid.compliance_publish) writes with O(fleetpatch.hybrid.compliance_publish#module:dest); a rerun
        replaces this run's objects only). Not written in check mode. S3 and SSM compliance stay with compliance_publish.
    type: path
  targeted:
    description:
      - The hosts the run targeted. The result then carries RV(lost_hosts), the report entries of the hosts lost during
        their batch, for the P(fleetpatch.hybrid.lost_hosts#filter) filter.
    type: list
    elements: str
  close_plan:
    description:
      - The changes the run opened (C(change_request_opened) of the change_request role). The result then carries
        RV(close_plan), each change's close with its own hosts' outcomes, reasons and close notes
        (what the P(fleetpatch.hybrid.change_request_close_plan#filter) filter works out from the report).
    type: dict
  return_report:
    description:
      - Return the whole report as RV(report). At 10,000 hosts it is 12.5 MB, and a task result that size costs the
        controller seconds to pass on and template. A step that needs only RV(verdict), RV(summary), RV(table),
        RV(lost_hosts) or RV(close_plan) sets V(false).
    type: bool
    default: true
  report_location:
    description:
      - Where the report is kept (C(s3://...) or a path). The result then carries RV(workflow_stats), what
        the P(fleetpatch.hybrid.workflow_stats#filter) filter makes of the report for C(ansible.builtin.set_stats).
    type: str
  read:
    description:
      - V(report) builds the run's report (every figure, the change requests, the findings).
      - V(outcomes) reads only each host's phase statuses and works out its outcome (the report's C(status)), a
        fraction of the cost at 10,000 hosts. It writes nothing and returns only RV(run_id), RV(verdict) and, with
        O(targeted), RV(lost_hosts). O(dest), O(dashboard_dest), O(export_dest), O(close_plan), O(report_location) and
        O(plan) are refused with it, and O(return_report) must be false.
    type: str
    choices: [report, outcomes]
    default: report
extends_documentation_fragment:
  - fleetpatch.hybrid.ledger_integrity
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - fleetpatch.hybrid.controller_action
"""

EXAMPLES = r"""
- name: Write the report of the run
  fleetpatch.hybrid.patch_report:
    path: out/ledger.db
    run_id: "{{ fleetpatch_run_id }}"
    dest: out/report.json
  register: report

- name: Write the report, the dashboard and the compliance export of the run from one read of the ledger
  fleetpatch.hybrid.patch_report:
    path: out/ledger.db
    run_id: "{{ fleetpatch_run_id }}"
    dest: out/report.json
    dashboard_dest: out/dashboard.html
    export_dest: out/compliance
    integrity_check: header
"""

RETURN = r"""
report:
  description: The report (also written to O(dest)).
  returned: when O(return_report) is true
  type: dict
  sample:
    run_id: run-20261127T020000Z
    hosts:
      - name: web-dev-1
        patch_group: web-dev
        status: patched
        patched: [{name: openssl, from: 3.0.15-1~deb12u1, to: 3.0.16-1~deb12u1}]
        cves_closed: [CVE-2024-12797]
table:
  description: The per-host summary as lines of text.
  returned: when O(read) is V(report)
  type: list
  elements: str
  sample: ["HOST       PATCH GROUP  STATUS   PATCHED  CVES CLOSED  NOTE"]
dest:
  description: The report file.
  returned: always
  type: str
  sample: out/report.json
run_id:
  description: The run reported (O(run_id), or the newest run in the ledger).
  returned: always
  type: str
  sample: run-20261127T020000Z
verdict:
  description: Whether the run succeeded (P(fleetpatch.hybrid.run_verdict#filter) over the report's hosts) and why not.
  returned: always
  type: dict
  sample: {ok: false, not_done: [web-2], message: "hosts not patched: web-2"}
summary:
  description: The run's figures (the report's C(summary)).
  returned: when O(read) is V(report)
  type: dict
  sample: {hosts: 12, cves_closed_distinct: 7, host_cves_closed: 20, host_packages_patched: 17}
lost_hosts:
  description: With O(targeted), the report entries (name, status, phases) of the hosts lost during their batch.
  returned: when O(targeted) is given
  type: list
  elements: dict
  sample: [{name: web-3, status: incomplete, phases: {preflight: ok, scan: ok, approve: ok, snapshot: ok}}]
workflow_stats:
  description: With O(report_location), the data for C(ansible.builtin.set_stats) (P(fleetpatch.hybrid.workflow_stats#filter)).
  returned: when O(report_location) is given
  type: dict
  sample: {fleetpatch_result_run_id: run-1, fleetpatch_result_host_counts: {patched: 11, failed: 1}}
close_plan:
  description:
    - With O(close_plan), one close per opened change.
    - Each with key, number, backend, hosts, host_outcomes, outcome_details and close_notes.
  returned: when O(close_plan) is given
  type: list
  elements: dict
  sample: [{key: web, number: CHG0001, backend: local, hosts: [web-1], host_outcomes: {web-1: patched}, outcome_details: {}}]
dashboard:
  description: The dashboard written (or, in check mode, that would be), with O(dashboard_dest); null without it.
  returned: when O(read) is V(report)
  type: dict
  sample: {dest: out/dashboard.html, changed: true, bytes: 96457}
export:
  description:
    - The JSON Lines objects written, removed (this run's objects it no longer has) and unchanged, with O(export_dest).
    - Null without O(export_dest).
  returned: always
  type: dict
  sample:
    dest: out/compliance
    written: [hosts/run_date=2026-11-27/patch_group=web-prod/run-20261127T020000Z.jsonl]
    removed: []
    unchanged: []
"""
