# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A run's ledger as partitioned JSON Lines, and its compliance in SSM's terms (pure Python).

Layout (Athena/Glue partitions, docs/compliance_export.md has the DDL):
  <prefix>/hosts/run_date=YYYY-MM-DD/patch_group=<group>/<run_id>.jsonl    one line per host
  <prefix>/groups/run_date=YYYY-MM-DD/patch_group=<group>/<run_id>.jsonl   one line: the group's figures
A run's objects are named by its run id under its own run date, so a rerun replaces exactly its
own objects (and removes those of a patch group the rerun no longer has), never another run's.

The figures are the report's (module_utils/accounting.py); nothing is counted here.
No Ansible import; the S3 and SSM clients are passed in (boto3 clients).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import datetime

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import aws_roles
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.lifecycle import PHASES
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.safe_write import write_atomic

TABLES = ("hosts", "groups")
_SAFE = re.compile(r"[^A-Za-z0-9._-]")
SSM_STATUS = {True: "COMPLIANT", False: "NON_COMPLIANT"}
# SSM's severities for a compliance item (ComplianceItemEntry.Severity)
SSM_SEVERITY = {"critical": "CRITICAL", "important": "HIGH", "moderate": "MEDIUM", "low": "LOW", "unspecified": "UNSPECIFIED"}


class ExportError(ValueError):
    """Bad input or a failed write: the message names the field or the object."""


def partition_value(value):
    """A patch group name as a partition value: unsafe characters become '_' ('ungrouped' when empty)."""
    return _SAFE.sub("_", value or "ungrouped") or "ungrouped"


def run_date(report):
    started = report.get("started_at") or ""
    try:
        return datetime.fromisoformat(started).date().isoformat()
    except ValueError:
        raise ExportError("run %s has no valid started_at (%r): the ledger's run row is damaged" % (report.get("run_id"), started))


def host_rows(report, ledger_hosts):
    """One record per host: compliance, patches installed and missing with CVEs and severities,
    snapshots, change request, phase outcomes with timings."""
    raw = dict((h["name"], h) for h in ledger_hosts)
    crs = dict((cr.get("patch_group"), cr) for cr in report.get("change_requests") or [])
    date = run_date(report)
    rows = []
    for entry in report["hosts"]:
        host = raw.get(entry["name"]) or {"phases": {}, "changes": [], "attrs": {}}
        phases = host["phases"]
        scan_patches = dict((p.get("name"), p) for p in (phases.get("scan", {}).get("data") or {}).get("patches") or []
                            if isinstance(p, dict))
        after = entry.get("compliance_after") or {}
        missing_names = set((after.get("patches") or {}).get("missing") or []) | set((after.get("patches") or {}).get("failed") or [])
        cr = crs.get(entry.get("patch_group")) or {}
        rows.append({
            "run_id": report["run_id"],
            "run_date": date,
            "run_started_at": report.get("started_at"),
            "host": entry["name"],
            "patch_group": entry.get("patch_group") or "ungrouped",
            "environment": entry.get("environment"),
            "os": entry.get("os"),
            "source": entry.get("source"),
            "instance_id": entry.get("instance_id"),
            "owner": entry.get("owner"),
            "status": entry["status"],
            "reason": entry.get("rollback_reason") or entry.get("reason"),
            "compliance_status": after.get("status"),
            "compliant": after.get("compliant"),
            "compliance_counts": after.get("counts"),
            "highest_severity_missing": after.get("highest_severity_missing"),
            "cves_open_before": entry["cves_open_before"],
            "cves_closed": entry["cves_closed"],
            "cves_still_open": entry["cves_still_open"],
            "patches_installed": [_installed(c, scan_patches.get(c["name"])) for c in entry_changes(entry, host)],
            "patches_missing": [_missing(scan_patches[n], "failed" if n in set((after.get("patches") or {}).get("failed") or [])
                                         else "missing") for n in sorted(missing_names) if n in scan_patches],
            "snapshot": _snapshots(phases.get("snapshot")),
            "change_request": cr.get("number"),
            "change_request_state": cr.get("state"),
            "window_start": (entry.get("window_applied") or {}).get("start"),
            "window_end": (entry.get("window_applied") or {}).get("end"),
            "phases": _phases(phases),
        })
    return rows


def entry_changes(entry, host):
    """The ledger's package changes the report counts as patched (none after a rollback)."""
    kept = set(p["name"] for p in entry["patched"])
    return [c for c in host.get("changes") or [] if c["name"] in kept]


def _installed(change, scanned):
    scanned = scanned or {}
    return {"name": change["name"], "arch": change.get("arch"), "from_version": change.get("from"),
            "to_version": change.get("to"), "classification": change.get("classification"),
            "severity": scanned.get("severity") or "unspecified", "cves": change.get("cves") or [],
            "advisories": change.get("advisories") or []}


def _missing(patch, state):
    return {"name": patch["name"], "arch": patch.get("arch"), "version": patch.get("candidate_version"),
            "state": state, "classification": patch.get("classification"),
            "severity": patch.get("severity") or "unspecified", "cves": patch.get("cves") or [],
            "advisories": patch.get("advisories") or []}


def _snapshots(entry):
    """The snapshot phase: provider, policy, outcome and the snapshot ids it took."""
    if not entry:
        return None
    data = entry.get("data") or {}
    ids = data.get("ids") or []
    return {"status": entry.get("status"), "provider": data.get("provider"), "policy": data.get("policy"),
            "ids": [str(i) for i in ids] if isinstance(ids, list) else [str(ids)]}


def _phases(phases):
    """Each phase's outcome, when it was recorded and the seconds since the phase before it."""
    out, previous = [], None
    for name in PHASES:
        entry = phases.get(name)
        if not entry:
            continue
        at = entry.get("recorded_at")
        seconds = None
        if at and previous:
            try:
                seconds = (datetime.fromisoformat(at) - datetime.fromisoformat(previous)).total_seconds()
            except ValueError:
                seconds = None
        out.append({"phase": name, "status": entry.get("status"), "recorded_at": at, "seconds_after_previous": seconds,
                    "message": entry.get("message")})
        previous = at or previous
    return out


def group_rows(report):
    """One record per patch group: the report's figures of that group."""
    date = run_date(report)
    rows = []
    for name, figures in sorted((report.get("patch_groups") or {}).items()):
        cr = figures.get("change_request") or {}
        row = {"run_id": report["run_id"], "run_date": date, "run_started_at": report.get("started_at"),
               "run_finished_at": report.get("finished_at"), "patch_group": name}
        row.update((k, v) for k, v in figures.items() if k != "change_request")
        row["change_request"] = cr.get("number")
        row["change_request_state"] = cr.get("state")
        row["change_request_close_code"] = cr.get("close_code")
        rows.append(row)
    return rows


def objects(report, ledger_hosts, prefix=""):
    """{key: JSON Lines text} of one run: the hosts and groups tables, partitioned."""
    date = run_date(report)
    run_name = partition_value(report["run_id"])
    by_key = {}
    for table, rows in (("hosts", host_rows(report, ledger_hosts)), ("groups", group_rows(report))):
        for row in rows:
            key = _join(prefix, table, "run_date=%s" % date, "patch_group=%s" % partition_value(row["patch_group"]),
                        run_name + ".jsonl")
            by_key.setdefault(key, []).append(json.dumps(row, sort_keys=True, separators=(",", ":")))
    return dict((key, "\n".join(lines) + "\n") for key, lines in by_key.items())


def own_keys(keys, report, prefix=""):
    """The keys among `keys` that belong to this run (its run date, its run id): the only ones a rerun may replace."""
    date = run_date(report)
    name = partition_value(report["run_id"]) + ".jsonl"
    heads = [_join(prefix, table, "run_date=%s" % date) + "/" for table in TABLES]
    return sorted(k for k in keys if any(k.startswith(h) for h in heads) and k.rsplit("/", 1)[-1] == name)


def _join(*parts):
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


def digest(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def publish_local(folder, wanted, report, check_mode=False):
    """Write the run's objects under a folder; remove this run's objects it no longer has.

    Returns (written, removed, unchanged) key lists.
    """
    written, removed, unchanged = [], [], []
    existing = []
    for table in TABLES:
        base = os.path.join(folder, table)
        for root, _dirs, files in os.walk(base):
            existing.extend(os.path.relpath(os.path.join(root, f), folder).replace(os.sep, "/") for f in files)
    for key in sorted(wanted):
        path = os.path.join(folder, *key.split("/"))
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                if handle.read() == wanted[key]:
                    unchanged.append(key)
                    continue
        written.append(key)
        if not check_mode:
            write_atomic(path, wanted[key], mode=0o644, dir_mode=0o755)
    for key in own_keys(existing, report):
        if key not in wanted:
            removed.append(key)
            if not check_mode:
                os.remove(os.path.join(folder, *key.split("/")))
    return written, removed, unchanged


def publish_s3(client, bucket, prefix, wanted, report, kms_key_id=None, check_mode=False):
    """Put the run's objects (SSE-KMS when a key is given), skipping those whose content is already
    there (sha256 in the object's metadata); delete this run's objects it no longer has.

    Returns (written, removed, unchanged) key lists.
    """
    written, removed, unchanged = [], [], []
    date = run_date(report)
    existing = []
    for table in TABLES:
        head = _join(prefix, table, "run_date=%s" % date) + "/"
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=head):
            existing.extend(obj["Key"] for obj in page.get("Contents") or [])
    mine = set(own_keys(existing, report, prefix))
    for key in sorted(wanted):
        body = wanted[key]
        sha = digest(body)
        if key in mine:
            meta = client.head_object(Bucket=bucket, Key=key).get("Metadata") or {}
            if meta.get("sha256") == sha:
                unchanged.append(key)
                continue
        written.append(key)
        if not check_mode:
            extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id} if kms_key_id else {}
            client.put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"), ContentType="application/x-ndjson",
                              Metadata={"sha256": sha, "run_id": report["run_id"]}, **extra)
    for key in sorted(mine - set(wanted)):
        removed.append(key)
        if not check_mode:
            client.delete_object(Bucket=bucket, Key=key)
    return written, removed, unchanged


def ssm_compliance_items(row, compliance_type="Patch"):
    """The put_compliance_items request of one host record (host_rows), in SSM's Patch terms.

    Each approved patch still missing or failed is one NON_COMPLIANT item; each installed patch one
    COMPLIANT item. The execution summary names the run, so SSM's console and resource data sync
    show which patch night set it.
    """
    if not row.get("instance_id"):
        raise ExportError("host %s has no instance_id: SSM compliance needs the managed instance id (i-... or mi-...)"
                          % row["host"])
    if compliance_type != "Patch" and not compliance_type.startswith("Custom:"):
        raise ExportError("ssm_compliance_type must be Patch or Custom:<name>, got %r" % compliance_type)
    items = []
    for patch in row["patches_missing"]:
        items.append(_ssm_item(patch, "NON_COMPLIANT", patch["state"].upper()))
    for patch in row["patches_installed"]:
        items.append(_ssm_item(patch, "COMPLIANT", "INSTALLED"))
    started = datetime.fromisoformat(row["run_started_at"]) if row.get("run_started_at") else None
    summary = {"ExecutionTime": started, "ExecutionId": row["run_id"][:100], "ExecutionType": "Command"}
    return {
        "ResourceId": row["instance_id"],
        "ResourceType": "ManagedInstance",
        "ComplianceType": compliance_type,
        "ExecutionSummary": summary,
        "Items": items,
        "ItemContentHash": digest(json.dumps(items, sort_keys=True)),
        # Complete: the items replace what SSM had for this type, so a patch installed tonight leaves the list
        "UploadType": "COMPLETE",
    }


def _ssm_item(patch, status, state):
    details = {"PatchState": state, "Classification": patch.get("classification") or "", "PatchSeverity": patch["severity"],
               "CVEIds": ",".join(patch["cves"])[:4096], "Advisories": ",".join(patch["advisories"])[:4096],
               "Version": patch.get("to_version") or patch.get("version") or ""}
    return {"Id": patch["name"][:100], "Title": patch["name"][:500], "Severity": SSM_SEVERITY.get(patch["severity"], "UNSPECIFIED"),
            "Status": status, "Details": details}


def put_ssm_compliance(client_for, rows, compliance_type="Patch", sources=("ssm",), check_mode=False, identities=None):
    """put_compliance_items for each host record SSM manages (its source, or an mi- id), each in
    its own account and region (issue #18).

    ``client_for(role spec or None, region or None)`` gives the SSM client of an account and region
    (one per pair, made once); ``identities`` maps a host to its ledger attributes (region,
    aws_role_arn, aws_external_id, aws_role_session_name, as the preflight role records them).
    Returns [{host, instance_id, items, status}] of what was (or would be) sent; a host whose
    account cannot be reached gets {host, instance_id, error} and the others are still sent.
    """
    sent, clients = [], {}
    for row in rows:
        managed = row.get("source") in sources or str(row.get("instance_id") or "").startswith("mi-")
        if not managed or not row.get("instance_id") or row.get("compliant") is None:
            continue
        request = ssm_compliance_items(row, compliance_type)
        who = (identities or {}).get(row["host"]) or {}
        try:
            spec = aws_roles.role_spec(who.get("aws_role_arn"), who.get("aws_external_id"), who.get("aws_role_session_name"),
                                       where="%s's fleetpatch_aws_role_arn" % row["host"])
            key = (repr(spec), who.get("region"))
            if not check_mode:
                if key not in clients:
                    clients[key] = client_for(spec, who.get("region"))
                clients[key].put_compliance_items(**request)
        except aws_roles.RoleError as exc:
            sent.append({"host": row["host"], "instance_id": row["instance_id"], "error": str(exc)})
            continue
        sent.append({"host": row["host"], "instance_id": row["instance_id"], "items": len(request["Items"]),
                     "status": row["compliance_status"]})
    return sent
