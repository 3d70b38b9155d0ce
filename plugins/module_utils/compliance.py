# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Patch compliance of one host in SSM's terms, as a pure function of what the scan found.

States, as SSM reports them (InstancePatchState):
  installed                 an approved patch is installed
  installed_other           a patch the baseline does not approve is installed (also a rejected
                            one when rejected_patches_action is allow_as_dependency)
  installed_pending_reboot  an approved patch is installed but the host has not rebooted since
  installed_rejected        a rejected patch is installed (rejected_patches_action: block)
  missing                   an approved patch is pending
  failed                    an approved patch failed to install
  not_applicable            an approved_patches name that is not installed on the host at all
A host is compliant when nothing is missing, failed, installed_rejected or pending a reboot.
Pending patches the baseline does not approve do not count against compliance (as in SSM); their
CVEs are still open and reported.
"""

from __future__ import annotations

from .baseline import COMPLIANCE_LEVELS, approved_patches, decide, validate
from .patch import highest_severity

STATES = ("installed", "installed_other", "installed_pending_reboot", "installed_rejected", "missing", "failed",
          "not_applicable")
_LEVEL_RANK = dict((level, len(COMPLIANCE_LEVELS) - i) for i, level in enumerate(COMPLIANCE_LEVELS))


def _names(items):
    return [item["name"] if isinstance(item, dict) else str(item) for item in items or []]


def host_compliance(scan_patches, approved, baseline, installed=None, failed=None, pending_reboot=False,
                    inventory=None, today=None, product=None):
    """Compliance of one host.

    scan_patches: patch records still pending (the scan, or the rescan after patching).
    approved: the approved records (approved_patches) or names; None to approve here (needs today).
    baseline: the baseline (validated or raw).
    installed: what is installed that a baseline judges: patch records or proof changes
      ({name, to, classification, cves}) of what this run installed.
    failed: names (or records) of approved patches whose installation failed.
    pending_reboot: the host has not rebooted since installing.
    inventory: names of every installed package, to count approved_patches names not installed
      at all as not_applicable (without it not_applicable is 0).
    """
    checked = validate(baseline)
    if approved is None:
        if today is None:
            raise ValueError("compliance: give the approved patches or the date to approve on")
        approved = approved_patches(scan_patches, checked, today, product)
    approved_names = set(_names(approved))
    failed_names = set(_names(failed))
    lists = dict((state, []) for state in STATES)
    non_compliant = []

    levels = {}
    for patch in scan_patches:
        if patch["name"] not in approved_names:
            continue
        level = _level(patch, checked, today, product)
        levels[patch["name"]] = level
        state = "failed" if patch["name"] in failed_names else "missing"
        lists[state].append(patch["name"])
        non_compliant.append((patch, level, state))
    pending_names = set(p["name"] for p in scan_patches)
    for name in sorted(failed_names - pending_names):
        lists["failed"].append(name)
        non_compliant.append(({"name": name}, "unspecified", "failed"))

    for item in installed or []:
        record = item if isinstance(item, dict) else {"name": str(item)}
        name = record["name"]
        version = record.get("to") or record.get("candidate_version") or record.get("version")
        if checked.rejected.match(dict(record, name=name, candidate_version=version)) is not None:
            if checked["rejected_patches_action"] == "block":
                lists["installed_rejected"].append(name)
                non_compliant.append((record, "unspecified", "installed_rejected"))
            else:
                lists["installed_other"].append(name)
        elif name in approved_names:
            if pending_reboot:
                lists["installed_pending_reboot"].append(name)
                non_compliant.append((record, levels.get(name, "unspecified"), "installed_pending_reboot"))
            else:
                lists["installed"].append(name)
        else:
            lists["installed_other"].append(name)

    if inventory is not None:
        present = set(inventory) | pending_names | set(lists["installed"]) | set(lists["installed_pending_reboot"])
        for name in sorted(checked.approved.exact):
            if name not in present:
                lists["not_applicable"].append(name)

    return _summary(lists, non_compliant, scan_patches, approved_names)


def _level(patch, baseline, today, product):
    if today is None:
        return "unspecified"
    decision = decide(patch, baseline, today, product)
    return decision["compliance_level"] or "unspecified"


def _summary(lists, non_compliant, scan_patches, approved_names):
    counts = dict((state, len(lists[state])) for state in STATES)
    compliant = not (counts["missing"] or counts["failed"] or counts["installed_rejected"] or counts["installed_pending_reboot"])
    severities = [p["severity"] for p, dummy, state in non_compliant if state in ("missing", "failed") and p.get("severity")]
    critical = security = other = 0
    for patch, level, _state in non_compliant:
        if level == "critical":
            critical += 1
        elif patch.get("classification") == "security":
            security += 1
        else:
            other += 1
    levels = [entry[1] for entry in non_compliant]
    missing = set(lists["missing"]) | set(lists["failed"])
    return {
        "compliant": compliant,
        "status": "COMPLIANT" if compliant else "NON_COMPLIANT",
        "counts": counts,
        "critical_non_compliant": critical,
        "security_non_compliant": security,
        "other_non_compliant": other,
        "highest_severity_missing": highest_severity(severities) if severities else None,
        "compliance_level": max(levels, key=_LEVEL_RANK.get) if levels else None,
        "cves_open": sorted(set(c for p in scan_patches for c in p.get("cves") or [])),
        "cves_missing": sorted(set(c for p in scan_patches if p["name"] in missing for c in p.get("cves") or [])),
        "not_approved": sum(1 for p in scan_patches if p["name"] not in approved_names),
        "patches": dict((state, sorted(lists[state])) for state in STATES if lists[state]),
    }
