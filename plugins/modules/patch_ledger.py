#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This module runs on the controller as an action plugin (plugins/action/patch_ledger.py).

from __future__ import annotations

DOCUMENTATION = r"""
---
module: patch_ledger
short_description: Record a patch night's phases in the run ledger (SQLite)
version_added: 0.1.0
description:
  - Writes to the run ledger on the controller, as it happens, so a crash of the controller
    loses nothing that was recorded. The ledger is append-only. A rerun with the same O(run_id)
    is the run's next attempt, and its rows are added beside the earlier ones. The report is
    built from the latest row of each phase (see docs/reliability.md).
  - With O(action=start_run), the run's state is returned, with the hosts an earlier attempt settled.
    A run that already finished gets no new attempt and nothing is written.
  - With O(action=resume), the host's place in the run (where it goes on) is read from the ledger and
    set as the host's fact C(fleetpatch_resume). Each host reads its own rows, so no step handles the
    places of all the hosts at once.
  - The phases and statuses are those of module_utils/lifecycle.py.
  - Runs on the controller whatever host the task is for; the host defaults to the task's
    C(inventory_hostname).
  - Ledger writes are bookkeeping, never reported as a change; they also happen in check mode,
    where the run is marked as a check run.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
options:
  path:
    description: The ledger file (SQLite); created with its schema when missing.
    type: path
    required: true
  run_id:
    description: The run the rows belong to.
    type: str
    required: true
  action:
    description:
      - V(start_run) opens the run, or its next attempt. V(resume) reads the host's place in the run
        (nothing is written). V(record) adds host rows. V(finish_run) closes the run (a finished run is
        never resumed).
    type: str
    choices: [start_run, resume, record, finish_run]
    default: record
  host:
    description: The host the rows are about. Defaults to the task's C(inventory_hostname).
    type: str
  phase:
    description: The lifecycle phase of the outcome.
    type: str
    choices: [preflight, scan, findings, approve, snapshot, pre_patch, patch, reboot, validate, rollback, on_rollback, post_patch, rescan]
  status:
    description: The outcome of O(phase).
    type: str
    choices: [ok, changed, skipped, failed, unreachable]
  message:
    description: One line on the outcome, such as the reason of a failure.
    type: str
  data:
    description: Details of the outcome, kept as JSON.
    type: dict
    default: {}
  records:
    description:
      - More phase outcomes of the same host, written in order after O(phase) (if given), with one
        call for steps that end at the same moment, such as a scan and its approval.
      - A record whose phase is a run-level hook point (V(pre_night), V(post_night)) is the run's, not the
        host's - a step of the point or its outcome - and goes to the ledger's C(run_hooks) table.
    type: list
    elements: dict
    default: []
    suboptions:
      phase:
        description: The phase, as O(phase).
        type: str
        required: true
      status:
        description: Its outcome, as O(status).
        type: str
        required: true
      message:
        description: As O(message).
        type: str
      data:
        description: As O(data).
        type: dict
        default: {}
  patch_group:
    description: The host's patch group, recorded with O(attrs).
    type: str
  attrs:
    description: Host attributes for the run (environment, owner, window, instance id, source).
    type: dict
  findings:
    description:
      - One findings check of the host, appended to the ledger's C(findings_checks) and C(findings) tables
        (never rewritten) - the scanner findings of the scan phase with their plan, or the findings judged
        closed or open after the night.
    type: dict
    suboptions:
      stage:
        description: V(scan), V(after) or V(source_check) (the source's own rescan).
        type: str
        required: true
      status:
        description: V(ok), V(failed) (the findings could not be read; O(findings.message) says why) or V(skipped).
        type: str
        required: true
      message:
        description: Why the check failed or was skipped.
        type: str
      data:
        description: Counts and lists of the check (summary, unmatched, disagreements).
        type: dict
        default: {}
      records:
        description: >-
          Findings, each with C(cve) and C(state) (the plan in stage scan; V(closed) or V(open) after) and any of
          C(package), C(installed_version), C(fixed_version), C(severity), C(cvss), C(source), C(reason).
        type: list
        elements: dict
        default: []
  changes:
    description: Package changes the host received, each with C(name), C(arch), C(from), C(to), C(classification), C(cves), C(advisories).
    type: list
    elements: dict
    default: []
  playbook:
    description: The playbook that started the run, with O(action=start_run).
    type: str
  check_run:
    description:
      - With O(action=start_run), mark the run as a check run (a dry run that changes no host)
        even when the task itself is not in check mode (C(fleetpatch_dry_run)). In check mode the
        run is always marked so.
    type: bool
    default: false
  meta:
    description:
      - Facts about the run, with O(action=start_run); C(window) (C(start), C(end), C(expression), C(timezone)) is
        the maintenance window the run's hosts were patched in, unless a host records its own.
    type: dict
  run_status:
    description: The final status of the run, with O(action=finish_run).
    type: str
    default: finished
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - fleetpatch.hybrid.controller_action
attributes:
  check_mode:
    support: full
    details: The ledger is written in check mode too, so a check run is recorded as such.
"""

EXAMPLES = r"""
- name: Open the run
  fleetpatch.hybrid.patch_ledger:
    path: out/ledger.db
    run_id: "{{ fleetpatch_run_id }}"
    action: start_run

- name: Take each host's place in the run (sets fleetpatch_resume; fleetpatch_resume.skip lists its completed phases)
  fleetpatch.hybrid.patch_ledger:
    path: out/ledger.db
    run_id: "{{ fleetpatch_run_id }}"
    action: resume

- name: Record a host's scan
  fleetpatch.hybrid.patch_ledger:
    path: out/ledger.db
    run_id: "{{ fleetpatch_run_id }}"
    phase: scan
    status: ok
    data:
      pending: 5
"""

RETURN = r"""
path:
  description: The ledger file written.
  returned: always
  type: str
  sample: out/ledger.db
run_id:
  description: The run written.
  returned: always
  type: str
  sample: run-20261127T020000Z
host:
  description: The host the rows are about.
  returned: always
  type: str
  sample: web-dev-1
state:
  description: C(new), C(resumed) (a later attempt of a run that did not finish) or C(finished) (nothing was written).
  returned: action is start_run
  type: str
  sample: resumed
attempt:
  description: The attempt number of the run (the last one for a finished run).
  returned: action is start_run
  type: int
  sample: 2
msg:
  description: One line saying what the run does (new, resumed with the hosts that go on, or finished and left alone).
  returned: action is start_run
  type: str
  sample: "run night-1 resumed (attempt 2): 1 host(s) go on from their last completed phase (web-dev-1), 2 are done"
settled:
  description:
    - For a resumed run, the hosts whose outcome an earlier attempt settled (nothing left to run for them).
      Empty for a new or finished run. Where each other host goes on, it reads itself with O(action=resume).
  returned: action is start_run
  type: list
  elements: str
  sample: [web-dev-2, web-dev-3]
resume:
  description:
    - The host's place in the run, also set as its fact C(fleetpatch_resume). C(status) is its outcome so far.
      C(next) is the phase it goes on with (null when its outcome is final). C(skip) lists the phases it
      completed. C(ready) says whether it got through approval. C(approved) holds the approved patch records
      the scan recorded. C(package_manager) and C(snapshot) are what the rollback needs. A host the ledger has
      no row for has everything to run (C(next) is C(preflight)).
  returned: action is resume
  type: dict
  sample: {"status": "incomplete", "next": "reboot", "skip": ["preflight", "scan", "approve", "snapshot", "patch"],
           "ready": true, "approved": [], "package_manager": "apt", "snapshot": null}
"""
