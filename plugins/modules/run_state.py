#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This module runs on the controller as an action plugin (plugins/action/run_state.py).

from __future__ import annotations

DOCUMENTATION = r"""
---
module: run_state
short_description: Keep a patch night's ledger, report and approved manifest off the runner (S3 or a path)
version_added: 0.1.0
description:
  - "AWX and Automation Platform throw the runner's disk away after every job. This module keeps a run's
    files at O(url) (C(fleetpatch_state_url)), in a folder per run id, C(<url>/<run id>/):
    C(ledger.db) (the SQLite ledger), C(report.json), C(manifest.json) (the approved manifest, the exact
    versions the night's hosts were patched to) and C(claim.json) (which night holds the run)."
  - V(open) claims the run and, on S3, fetches its ledger into O(workdir), so a night on a new runner
    resumes the run. V(sync) renews the claim and uploads the ledger (a consistent SQLite copy), and the
    report and manifest when given; the night calls it after every batch and at the end (O(finish)).
    V(fetch) reads another run's files (a Dev night's manifest for Prod, a report for a notice).
  - "Every write is conditional (S3 If-None-Match / If-Match): two nights on one run id cannot overwrite
    each other's ledger. A night finding the run held by a live night fails at V(open), naming it; a night
    whose claim was taken over fails at its next V(sync) without writing."
  - With a local directory as O(url), the ledger lives there and SQLite works on it in place; the claim
    guards it the same way (a lock file).
  - Runs on the controller. Secrets are never returned.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
requirements:
  - boto3 >= 1.36 and botocore >= 1.36 for S3 (conditional writes)
options:
  url:
    description: C(s3://bucket/prefix) or a local directory.
    type: str
    required: true
  run_id:
    description: The run; its files are in C(<url>/<run_id>/).
    type: str
    required: true
  action:
    description: What to do.
    type: str
    choices: [open, sync, fetch]
    default: sync
  workdir:
    description: Where the working copy of an S3 run goes (C(<workdir>/<run_id>/)). Not used for a local O(url).
    type: path
    default: out/state
  holder:
    description: Who this night is, named to a second night that finds the run held (an AWX job id, a host).
    type: str
  lease_seconds:
    description:
      - How long a claim holds without a sign of life (a V(sync)); after it, another night may take the run over
        (a killed job). Make it longer than the longest batch.
    type: int
    default: 3600
  takeover:
    description: Take the run over from a night that still holds it (the operator knows it is dead).
    type: bool
    default: false
  report:
    description:
      - With V(sync), the night's report (the dict C(fleetpatch.hybrid.patch_report) returns) to keep as
        C(report.json), with the approved manifest made from it as C(manifest.json).
    type: dict
  finish:
    description: With V(sync), mark the claim finished, so the next night on this run id starts at once.
    type: bool
    default: false
  names:
    description: With V(fetch), the files to read.
    type: list
    elements: str
    choices: [ledger.db, report.json, manifest.json]
    default: [report.json, manifest.json]
  region:
    description: The region of the S3 client. Default from C(AWS_REGION) / C(AWS_DEFAULT_REGION), else us-east-1.
    type: str
  endpoint_url:
    description: An S3 endpoint (a local AWS for tests). Default from C(AWS_ENDPOINT_URL_S3) / C(AWS_ENDPOINT_URL).
    type: str
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - fleetpatch.hybrid.controller_action
attributes:
  check_mode:
    support: full
    details: The state is kept in check mode too, as the ledger records a check run.
notes:
  - Credentials come from the usual AWS chain (environment, profile, instance or pod role); in AWX, an
    Amazon Web Services credential on the job template.
  - "IAM: s3:GetObject and s3:PutObject on C(<bucket>/<prefix>/*)."
"""

EXAMPLES = r"""
- name: Claim the run and fetch its ledger
  fleetpatch.hybrid.run_state:
    url: s3://patching-state/nights
    run_id: "{{ fleetpatch_run_id }}"
    action: open
    holder: "AWX job {{ awx_job_id | default('?') }}"
  register: state

- name: Keep the ledger after a batch
  fleetpatch.hybrid.run_state:
    url: s3://patching-state/nights
    run_id: "{{ fleetpatch_run_id }}"

- name: Read the Dev night's approved manifest
  fleetpatch.hybrid.run_state:
    url: s3://patching-state/nights
    run_id: "{{ fleetpatch_promote_from }}"
    action: fetch
    names: [manifest.json]
  register: dev
"""

RETURN = r"""
location:
  description: The run's folder.
  returned: always
  type: str
  sample: s3://patching-state/nights/run-20261204T020000Z
resumed:
  description: With V(open), whether the run had a ledger already (this night continues it).
  returned: when action is open
  type: bool
  sample: true
took_over:
  description: With V(open), the claim of the night this one took over (lapsed or O(takeover)), else null.
  returned: when action is open
  type: dict
  sample: {holder: AWX job 41, heartbeat_at: "2026-12-04T02:10:00+00:00"}
paths:
  description: With V(open), the local ledger, report and manifest files of the night.
  returned: when action is open
  type: dict
  sample: {ledger.db: out/state/run-1/ledger.db, report.json: out/state/run-1/report.json}
written:
  description: With V(sync), what was written.
  returned: when action is sync
  type: list
  elements: str
  sample: [s3://patching-state/nights/run-1/ledger.db]
files:
  description: With V(fetch), the local copy of each file asked for, null when the run has none.
  returned: when action is fetch
  type: dict
  sample: {manifest.json: out/state/run-dev/manifest.json}
manifest:
  description: With V(fetch) of C(manifest.json), its entries (an C(approved_manifest) for a baseline).
  returned: when action is fetch and the run has a manifest
  type: list
  elements: dict
  sample: [{name: openssl, version: 3.0.17-1~deb12u1}]
report:
  description: With V(fetch) of C(report.json), the report.
  returned: when action is fetch and the run has a report
  type: dict
  sample: {run_id: run-1, hosts: []}
"""
