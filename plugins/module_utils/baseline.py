# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Patch baselines, SSM-compatible, and approval as a pure function of (patch, baseline, date)."""

from __future__ import annotations

import fnmatch
from datetime import date, datetime

from .patch import CLASSIFICATIONS, SEVERITIES

REJECT_ACTIONS = ("allow_as_dependency", "block")
RULE_KEYS = ("classifications", "severities", "approve_after_days", "approve_until_date", "compliance_level",
             "enable_non_security", "products")
BASELINE_KEYS = ("name", "operating_system", "approval_rules", "approved_patches", "rejected_patches",
                 "rejected_patches_action", "description")
COMPLIANCE_LEVELS = ("critical", "high", "medium", "low", "informational", "unspecified")


class BaselineError(ValueError):
    """A baseline that cannot be right: names the field, the value and what is allowed."""


def _as_date(value, field):
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime):
        return value.date()
    try:
        return datetime.strptime(str(value)[:10], "%Y-%m-%d").date()
    except ValueError:
        raise BaselineError("%s: %r is not a date (YYYY-MM-DD)" % (field, value))


def validate(baseline):
    """Check a baseline and return it normalised; raise BaselineError naming the field."""
    if not isinstance(baseline, dict):
        raise BaselineError("baseline: expected a mapping, got %s" % type(baseline).__name__)
    unknown = sorted(set(baseline) - set(BASELINE_KEYS))
    if unknown:
        raise BaselineError("baseline: unknown key(s) %s; allowed: %s" % (", ".join(unknown), ", ".join(BASELINE_KEYS)))
    rules = []
    for index, rule in enumerate(baseline.get("approval_rules") or []):
        rules.append(_validate_rule(rule, "approval_rules[%d]" % index))
    action = baseline.get("rejected_patches_action", "block")
    if action not in REJECT_ACTIONS:
        raise BaselineError("rejected_patches_action: %r is not one of %s" % (action, ", ".join(REJECT_ACTIONS)))
    approved = list(baseline.get("approved_patches") or [])
    rejected = list(baseline.get("rejected_patches") or [])
    both = sorted(set(approved) & set(rejected))
    if both:
        raise BaselineError("approved_patches and rejected_patches both list %s: keep each patch in one list" % ", ".join(both))
    return {"name": baseline.get("name", "default"), "approval_rules": rules, "approved_patches": approved,
            "rejected_patches": rejected, "rejected_patches_action": action,
            "operating_system": baseline.get("operating_system")}


def _validate_rule(rule, field):
    if not isinstance(rule, dict):
        raise BaselineError("%s: expected a mapping" % field)
    unknown = sorted(set(rule) - set(RULE_KEYS))
    if unknown:
        raise BaselineError("%s: unknown key(s) %s; allowed: %s" % (field, ", ".join(unknown), ", ".join(RULE_KEYS)))
    classes = [str(c).lower() for c in rule.get("classifications", ["*"])]
    for value in classes:
        if value != "*" and value not in CLASSIFICATIONS:
            raise BaselineError("%s.classifications: %r is not one of %s or *" % (field, value, ", ".join(CLASSIFICATIONS)))
    severities = [str(s).lower() for s in rule.get("severities", ["*"])]
    for value in severities:
        if value != "*" and value not in SEVERITIES:
            raise BaselineError("%s.severities: %r is not one of %s or *" % (field, value, ", ".join(SEVERITIES)))
    after = rule.get("approve_after_days")
    until = _as_date(rule.get("approve_until_date"), field + ".approve_until_date")
    if after is not None and until is not None:
        raise BaselineError("%s: set approve_after_days or approve_until_date, not both" % field)
    if after is not None and (not isinstance(after, int) or isinstance(after, bool) or not 0 <= after <= 360):
        raise BaselineError("%s.approve_after_days: %r must be a whole number from 0 to 360" % (field, after))
    level = str(rule.get("compliance_level", "unspecified")).lower()
    if level not in COMPLIANCE_LEVELS:
        raise BaselineError("%s.compliance_level: %r is not one of %s" % (field, level, ", ".join(COMPLIANCE_LEVELS)))
    return {"classifications": classes, "severities": severities,
            "approve_after_days": after if until is None else None, "approve_until_date": until,
            "compliance_level": level, "enable_non_security": bool(rule.get("enable_non_security", False))}


def _listed(patch, patterns):
    """A pattern is a name glob, optionally with =version (exact) as in apt."""
    for pattern in patterns:
        name, sep, version = str(pattern).partition("=")
        if fnmatch.fnmatchcase(patch["name"], name) and (not sep or version == patch.get("candidate_version")):
            return pattern
    return None


def approve(patch, baseline, today):
    """(approved, reason) for one patch; `baseline` as returned by validate()."""
    today = _as_date(today, "today")
    hit = _listed(patch, baseline["rejected_patches"])
    if hit:
        return False, "rejected by rejected_patches entry %r (%s)" % (hit, baseline["rejected_patches_action"])
    hit = _listed(patch, baseline["approved_patches"])
    if hit:
        return True, "approved by approved_patches entry %r" % hit
    classification = patch.get("classification", "other")
    severity = patch.get("severity", "unspecified")
    for index, rule in enumerate(baseline["approval_rules"]):
        if "*" not in rule["classifications"] and classification not in rule["classifications"]:
            continue
        if classification != "security" and "*" in rule["classifications"] and not rule["enable_non_security"]:
            continue
        if "*" not in rule["severities"] and severity not in rule["severities"]:
            continue
        released = _as_date(patch.get("release_date"), "release_date") if patch.get("release_date") else None
        if rule["approve_until_date"] is not None:
            if released is None or released > rule["approve_until_date"]:
                continue
            return True, "rule %d: released %s, on or before %s" % (index, released, rule["approve_until_date"])
        after = rule["approve_after_days"] or 0
        if after:
            if released is None:
                continue
            age = (today - released).days
            if age < after:
                continue
            return True, "rule %d: %s, released %d day(s) ago (>= %d)" % (index, classification, age, after)
        return True, "rule %d: %s/%s" % (index, classification, severity)
    return False, "no approval rule matches (classification %s, severity %s)" % (classification, severity)


def approved_patches(patches, baseline, today):
    """The approved subset, each patch with its approval reason."""
    checked = validate(baseline)
    result = []
    for patch in patches:
        ok, reason = approve(patch, checked, today)
        if ok:
            result.append(dict(patch, approval_reason=reason))
    return result
