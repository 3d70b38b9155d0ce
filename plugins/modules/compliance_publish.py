#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: compliance_publish
short_description: Export patch-night runs as partitioned JSON Lines (S3 or a folder) and SSM compliance
version_added: 0.1.0
description:
  - Reads runs from the run ledger and writes each as JSON Lines in two tables, partitioned for Athena/Glue
    (the DDL is in C(docs/compliance_export.md))
    C(<prefix>/hosts/run_date=YYYY-MM-DD/patch_group=<group>/<run_id>.jsonl) (one line per host - compliance in
    SSM's terms, patches installed and missing with CVEs and severities, snapshot, change request, phase outcomes
    and timings) and C(<prefix>/groups/...) (one line per patch group - the run's figures).
  - To S3 (O(bucket), O(prefix), SSE-KMS with O(kms_key_id)) or to a local folder (O(dest)).
  - Idempotent per run - a run's objects carry its run id under its own run date; a rerun rewrites only objects
    whose content changed (a sha256 in the object metadata), removes this run's objects it no longer has, and never
    touches another run's.
  - With O(ssm_compliance), writes each SSM-managed host's patch compliance with C(PutComplianceItems) (one
    NON_COMPLIANT item per approved patch missing or failed, one COMPLIANT item per patch installed), so the SSM
    console and resource data sync show it. Each host is written in its own account and region - the role
    (C(fleetpatch_aws_role_arn)) and region the preflight role recorded for it in the ledger - with one SSM client
    per account and region; a host whose role cannot be assumed is reported in RV(ssm) with its error and the
    others are still written.
  - The figures are those of report.json (module_utils/accounting.py). Runs on the controller.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
options:
  path:
    description: The ledger file.
    type: path
    required: true
  run_id:
    description: The run to publish; every run of the ledger when omitted.
    type: str
  dest:
    description: A local folder to write the tables under (instead of, or as well as, S3).
    type: path
  bucket:
    description: The S3 bucket to write the tables to.
    type: str
  prefix:
    description: The key prefix in O(bucket) (the Athena tables' LOCATION is C(s3://bucket/prefix/hosts/) and C(.../groups/)).
    type: str
    default: fleetpatch
  kms_key_id:
    description: The KMS key (id, alias or ARN) the objects are encrypted with (SSE-KMS); the bucket's default when omitted.
    type: str
  ssm_compliance:
    description: Write each SSM-managed host's patch compliance with PutComplianceItems.
    type: bool
    default: false
  ssm_compliance_type:
    description: The compliance type, V(Patch) or C(Custom:<name>).
    type: str
    default: Patch
  ssm_sources:
    description: The host sources (C(fleetpatch_source)) SSM manages; hosts whose instance id starts with C(mi-) always count.
    type: list
    elements: str
    default: [ssm]
extends_documentation_fragment:
  - fleetpatch.hybrid.ledger_integrity
  - ansible.builtin.action_common_attributes
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    details: Returns what would be written, removed and sent; writes nothing.
  diff_mode:
    support: none
  platform:
    platforms: all
"""

EXAMPLES = r"""
- name: Publish the night to S3 for Athena, encrypted with the compliance key
  fleetpatch.hybrid.compliance_publish:
    path: out/ledger.db
    run_id: "{{ fleetpatch_run_id }}"
    bucket: patch-compliance
    prefix: fleetpatch
    kms_key_id: alias/patch-compliance
    region: eu-west-1

- name: Every run of the ledger to a folder, and SSM compliance for the SSM-managed hosts
  fleetpatch.hybrid.compliance_publish:
    path: out/ledger.db
    dest: out/compliance
    ssm_compliance: true
    region: eu-west-1
"""

RETURN = r"""
runs:
  description: Per run, the keys written, removed (this run's objects it no longer has) and unchanged.
  returned: always
  type: list
  elements: dict
  sample:
    - run_id: run-20261206T020000Z
      written: [fleetpatch/hosts/run_date=2026-12-06/patch_group=web-prod/run-20261206T020000Z.jsonl]
      removed: []
      unchanged: [fleetpatch/groups/run_date=2026-12-06/patch_group=web-prod/run-20261206T020000Z.jsonl]
      hosts: 12
ssm:
  description: The hosts whose compliance was (or, in check mode, would be) written to SSM.
  returned: always
  type: list
  elements: dict
  sample: [{host: web-prod-1, instance_id: mi-0123456789abcdef0, items: 5, status: NON_COMPLIANT}]
"""

import os

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import aws_roles
from ansible_collections.fleetpatch.hybrid.plugins.module_utils import compliance_export as export
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ledger import Ledger, LedgerError
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.report import load_report, run_ids

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:  # AnsibleAWSModule reports the missing library
    BotoCoreError = ClientError = Exception


def run(module, params, s3=None, ssm_for=None):
    """Publish the chosen runs; returns (changed, runs, ssm)."""
    if not os.path.exists(params["path"]):
        raise export.ExportError("no ledger at %s (path): run a patch night first" % params["path"])
    out_runs, sent, changed = [], [], False
    with Ledger(params["path"], check=params.get("integrity_check") or "full") as ledger:
        chosen = [params["run_id"]] if params["run_id"] else run_ids(ledger)
        for run_id in chosen:
            report, hosts = load_report(ledger, run_id)
            rows = export.host_rows(report, hosts)
            entry = {"run_id": run_id, "written": [], "removed": [], "unchanged": [], "hosts": len(rows)}
            if params["dest"]:
                written, removed, unchanged = export.publish_local(params["dest"], export.objects(report, hosts), report,
                                                                   module.check_mode)
                entry["written"] += written
                entry["removed"] += removed
                entry["unchanged"] += unchanged
            if params["bucket"]:
                written, removed, unchanged = export.publish_s3(
                    s3, params["bucket"], params["prefix"], export.objects(report, hosts, params["prefix"]), report,
                    params["kms_key_id"], module.check_mode)
                entry["written"] += written
                entry["removed"] += removed
                entry["unchanged"] += unchanged
            if params["ssm_compliance"]:
                identities = dict((h["name"], h.get("attrs") or {}) for h in hosts)
                sent += export.put_ssm_compliance(ssm_for, rows, params["ssm_compliance_type"], params["ssm_sources"],
                                                  module.check_mode, identities)
            changed = changed or bool(entry["written"] or entry["removed"])
            out_runs.append(entry)
    return changed or bool(sent), out_runs, sent


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            run_id=dict(type="str"),
            dest=dict(type="path"),
            bucket=dict(type="str"),
            prefix=dict(type="str", default="fleetpatch"),
            kms_key_id=dict(type="str", no_log=False),
            ssm_compliance=dict(type="bool", default=False),
            ssm_compliance_type=dict(type="str", default="Patch"),
            ssm_sources=dict(type="list", elements="str", default=["ssm"]),
            integrity_check=dict(type="str", choices=["full", "header"], default="full"),
        ),
        required_one_of=[("dest", "bucket", "ssm_compliance")],
        supports_check_mode=True,
    )
    params = module.params
    if params["bucket"] and params["prefix"].strip("/") == "":
        module.fail_json(msg="prefix must not be empty: the tables need their own folder in the bucket (default fleetpatch)")
    s3 = module.client("s3") if params["bucket"] else None

    def ssm_for(spec, region):  # each host's account (its role) and region; the module's own when unknown
        return aws_roles.module_client(module, "ssm", spec, region=region or None)

    try:
        changed, runs, sent = run(module, params, s3, ssm_for if params["ssm_compliance"] else None)
    except (export.ExportError, LedgerError) as exc:
        module.fail_json(msg="compliance_publish: %s" % exc)
    except (BotoCoreError, ClientError) as exc:
        module.fail_json_aws(exc, msg="compliance_publish: writing to %s failed" % (
            "s3://%s/%s" % (params["bucket"], params["prefix"]) if params["bucket"] else "SSM compliance"))
    for failed in [item for item in sent if item.get("error")]:
        module.warn("SSM compliance of %s not written: %s" % (failed["host"], failed["error"]))
    module.exit_json(changed=changed, runs=runs, ssm=sent)


if __name__ == "__main__":
    main()
