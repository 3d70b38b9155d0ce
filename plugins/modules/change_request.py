#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: change_request
short_description: Raise, update and close the change request of a patch night (local ledger, ServiceNow, Jira)
version_added: 0.1.0
description:
  - Ensures one change request per run and patch group, found by its correlation id (V(fleetpatch:RUN_ID:PATCH_GROUP),
    or O(correlation_id)), so a rerun or a retry never raises a second one.
  - Walks the change one allowed state at a time to O(state), following the change model of its type
    (normal V(new) -> V(assess) -> V(authorize) -> V(scheduled) -> V(implement) -> V(review) -> V(closed);
    standard skips assess and authorize; emergency skips assess; V(canceled) from any state before review).
    A change already further along than O(state) is left where it is (RV(past_target)).
  - Adds O(work_note) once (a note with the same text is not written again) and closes with a close code given
    in O(close_code) or derived from O(host_outcomes) (all patched or compliant -> V(successful), some failed ->
    V(successful_issues), all failed -> V(unsuccessful)).
  - V(local) keeps change requests in the run ledger (SQLite, in tables beside the ledger's), numbered
    C(CHG0001001) upwards. V(servicenow) uses the Change Management API (or the Table API), checks each step
    against the instance's next states, and attaches the hosts as configuration items. V(jira) raises an issue of
    the Change type in Jira Service Management and moves it through the workflow's transitions.
  - Credentials come from the options or from the environment of the controller (C(SN_HOST), C(SN_USERNAME),
    C(SN_PASSWORD), C(SN_ACCESS_TOKEN); C(JIRA_URL), C(JIRA_USER), C(JIRA_TOKEN), C(JIRA_PROJECT)).
  - HTTP answers 429 are retried after their C(Retry-After), 5xx and network errors with jittered exponential
    backoff; a create or note whose answer was lost is looked up before it is sent again.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
options:
  run_id:
    description: The run the change is for; with O(patch_group) it makes the correlation id.
    type: str
  patch_group:
    description: The patch group the change is for.
    type: str
  correlation_id:
    description:
      - The id that makes the change unique, instead of the one built from O(run_id) and O(patch_group).
      - 1 to 100 letters, digits, spaces and C(._:@/+=-).
    type: str
  number:
    description: An existing change (V(CHG0001001), a ServiceNow number, or a Jira issue key); it must exist.
    type: str
  state:
    description:
      - V(present) makes sure the change exists (raised in state V(new)); a state walks it there.
    type: str
    choices: [present, new, assess, authorize, scheduled, implement, review, closed, canceled]
    default: present
  change_type:
    description: The change model. V(standard) needs O(template) with O(backend=servicenow).
    type: str
    choices: [normal, standard, emergency]
    default: normal
  template:
    description: The name or sys_id of a ServiceNow standard change template, with O(change_type=standard).
    type: str
  short_description:
    description: The title; by default it names the patch group, the number of hosts and the window's date.
    type: str
  description:
    description: The body; by default the run, patch group, window, owners, hosts, approved patches and CVEs.
    type: str
  hosts:
    description: The hosts (configuration items) the change covers.
    type: list
    elements: str
    default: []
  owners:
    description: The asset owners of the hosts (e-mail addresses or team names).
    type: list
    elements: str
    default: []
  window:
    description: The maintenance window.
    type: dict
    suboptions:
      start:
        description: Start, ISO 8601 (a time without offset is UTC).
        type: str
      end:
        description: End, ISO 8601, after O(window.start).
        type: str
      expression:
        description: The window as written in the policy, such as V(cron(0 3 ? * SUN *)).
        type: str
      timezone:
        description: The window's time zone, such as V(Europe/Paris).
        type: str
  patches:
    description:
      - The approved patches, as patch_scan records (C(name), C(candidate_version), C(cves), C(advisories))
        or V(name=version) strings.
    type: list
    elements: raw
    default: []
  cves:
    description: CVE ids the patches close, in addition to those of O(patches).
    type: list
    elements: str
    default: []
  assignment_group:
    description: The ServiceNow assignment group (name or sys_id) the change is assigned to.
    type: str
  work_note:
    description: A work note (Jira comment) to add, once.
    type: str
  close_code:
    description: The close code when O(state=closed); derived from O(host_outcomes) when not given.
    type: str
    choices: [successful, successful_issues, unsuccessful]
  close_notes:
    description: The close notes when O(state=closed); by default one line per host with its outcome.
    type: str
  host_outcomes:
    description:
      - The outcome of each host (V(patched), V(compliant), V(failed), V(unreachable), V(rolled_back), ...) when closing.
      - Hosts of the change with no outcome count as V(incomplete).
    type: dict
  outcome_details:
    description: A reason per host, shown in the default close notes.
    type: dict
extends_documentation_fragment:
  - fleetpatch.hybrid.change_request
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Returns in RV(actions) the payloads it would send; writes nothing (the ledger is only read).
  diff_mode:
    support: full
  platform:
    platforms: all
notes:
  - Runs where the task runs; use it on C(localhost) (the controller), as the role P(fleetpatch.hybrid.change_request#role) does.
  - No real ServiceNow or Jira instance was exercised by the collection's tests; local servers enforcing the documented
    contracts stand for them (see docs/change_requests.md).
"""

EXAMPLES = r"""
- name: Open the change of a patch group before patching
  fleetpatch.hybrid.change_request:
    ledger_path: out/ledger.db
    run_id: "{{ fleetpatch_run_id }}"
    patch_group: web-prod
    state: implement
    hosts: [web-prod-1, web-prod-2]
    owners: [web-team@example.com]
    window:
      start: "2026-11-29T02:00:00Z"
      end: "2026-11-29T05:00:00Z"
      expression: cron(0 2 ? * SUN *)
    patches:
      - name: openssl
        candidate_version: 3.0.16-1~deb12u1
        cves: [CVE-2024-12797]
  register: cr

- name: Add a work note
  fleetpatch.hybrid.change_request:
    ledger_path: out/ledger.db
    number: "{{ cr.number }}"
    work_note: "patched: web-prod-1, web-prod-2"

- name: Close with the hosts' outcomes
  fleetpatch.hybrid.change_request:
    ledger_path: out/ledger.db
    number: "{{ cr.number }}"
    state: closed
    host_outcomes:
      web-prod-1: patched
      web-prod-2: failed

- name: A standard change in ServiceNow (credentials from SN_HOST, SN_USERNAME, SN_PASSWORD)
  fleetpatch.hybrid.change_request:
    backend: servicenow
    change_type: standard
    template: Monthly OS security patching
    run_id: "{{ fleetpatch_run_id }}"
    patch_group: db-prod
    state: scheduled
    hosts: [db-prod-1]
    window:
      start: "2026-11-29T02:00:00Z"
      end: "2026-11-29T05:00:00Z"

- name: A change in Jira Service Management
  fleetpatch.hybrid.change_request:
    backend: jira
    jira:
      url: https://example.atlassian.net
      user: automation@example.com
      token: "{{ vault_jira_token }}"
      project: ITCHG
    run_id: "{{ fleetpatch_run_id }}"
    patch_group: web-dev
    state: scheduled
"""

RETURN = r"""
change_request:
  description: The change as the backend holds it after the task (null in check mode when it does not exist yet).
  returned: always
  type: dict
  sample:
    backend: local
    number: CHG0001001
    state: implement
    change_type: normal
    correlation_id: "fleetpatch:run-20261129T020000Z:web-prod"
    hosts: [web-prod-1, web-prod-2]
    owners: [web-team@example.com]
    window: {start: "2026-11-29T02:00:00Z", end: "2026-11-29T05:00:00Z"}
    cves: [CVE-2024-12797]
    close_code: null
    work_notes: [{created_at: "2026-11-29T02:01:00+00:00", text: "snapshot taken: web-prod-1"}]
number:
  description: The change's number (ServiceNow number, Jira key); null in check mode before it exists.
  returned: always
  type: str
  sample: CHG0001001
state:
  description: The change's state after the task (in check mode, the state it would reach).
  returned: always
  type: str
  sample: implement
created:
  description: Whether the task raised the change (or would, in check mode).
  returned: always
  type: bool
  sample: true
past_target:
  description: The change was already further along than O(state) and was left there.
  returned: always
  type: bool
  sample: false
actions:
  description: What was done, or would be in check mode, in order; a create carries the payload sent.
  returned: always
  type: list
  elements: dict
  sample:
    - action: create
      payload: {method: POST, path: /api/sn_chg_rest/v1/change/normal, body: {short_description: "Patch night: patch group web-prod"}}
    - {action: transition, from: new, to: assess}
payload:
  description: The create payload (what is, or in check mode would be, sent to raise the change); null when it existed.
  returned: always
  type: dict
  sample: {method: POST, path: /api/now/table/change_request, body: {type: normal, correlation_id: "fleetpatch:r1:web"}}
"""

import sqlite3

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.change_request import apply
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_args import CHANGE_REQUEST_REQUIRED_ONE_OF, CHANGE_REQUEST_SPEC
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_errors import CRError


def main():
    module = AnsibleModule(argument_spec=CHANGE_REQUEST_SPEC, supports_check_mode=True,
                           required_one_of=CHANGE_REQUEST_REQUIRED_ONE_OF)
    try:
        output, warnings = apply(module.params, check_mode=module.check_mode, want_diff=module._diff)
    except CRError as exc:
        module.fail_json(**exc.fail_kwargs())
    except sqlite3.Error as exc:
        module.fail_json(msg="change_request: the ledger %s cannot be used: %s" % (module.params["ledger_path"], exc))
    for warning in warnings:
        module.warn(warning)
    module.exit_json(**output)


if __name__ == "__main__":
    main()
