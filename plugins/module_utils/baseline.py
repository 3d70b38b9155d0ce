# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Patch baselines, SSM-compatible, and approval as a pure function of (patch, baseline, date).

docs/policy.md is the reference for every key. In short: operating_system (SSM's names) picks
the vendor vocabulary a baseline may use for classifications and severities; each name is
normalised to ours (patch.py) or rejected naming the field. Approval order: rejected patches,
then approved patches, then the approval rules in order (first match wins); an approved
manifest, when set, then admits only the exact versions it lists.

validate() returns a Baseline: a plain dict of the normalised keys that also carries its
compiled patterns, so approving many patches against it costs no re-validation.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
from datetime import date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from functools import lru_cache

from . import debversion, lifecycle, vulndata, windows_updates
from . import dnf as dnflib
from . import findings as findingslib
from . import zypper as zypperlib
from .patch import CLASSIFICATIONS, SEVERITIES

REJECT_ACTIONS = ("allow_as_dependency", "block")
RULE_KEYS = ("classifications", "severities", "approve_after_days", "approve_until_date", "compliance_level",
             "enable_non_security", "products")
BASELINE_KEYS = ("name", "operating_system", "approval_rules", "approved_patches", "rejected_patches",
                 "rejected_patches_action", "description", "approved_patches_compliance_level", "approved_manifest",
                 "approve_findings_min_severity")
# approve_findings_min_severity: the scanners' scale (findings.py), from which a finding's patch is approved
FINDING_SEVERITIES = ("critical", "high", "medium", "low")
COMPLIANCE_LEVELS = ("critical", "high", "medium", "low", "informational", "unspecified")

# SSM's operating systems -> the package manager family that patches them.
OPERATING_SYSTEMS = {
    "AMAZON_LINUX": "dnf", "AMAZON_LINUX_2": "dnf", "AMAZON_LINUX_2022": "dnf", "AMAZON_LINUX_2023": "dnf",
    "REDHAT_ENTERPRISE_LINUX": "dnf", "CENTOS": "dnf", "ORACLE_LINUX": "dnf", "ROCKY_LINUX": "dnf",
    "ALMA_LINUX": "dnf",
    "DEBIAN": "apt", "UBUNTU": "apt", "RASPBIAN": "apt",
    "SUSE": "zypper",
    "WINDOWS": "windows",
}
FAMILY_MANAGERS = {"apt": ("apt",), "dnf": ("dnf", "yum"), "zypper": ("zypper",), "windows": ("windows",)}


def _without_blank(table):
    return dict((k, v) for k, v in table.items() if k)


# Vendor names a baseline may use, per family, and what they mean in our vocabulary.
CLASSIFICATION_NAMES = {
    "apt": {},
    "dnf": _without_blank(dnflib.TYPE_MAP),
    "zypper": _without_blank(zypperlib.CATEGORY_MAP),
    "windows": dict(windows_updates.CLASSIFICATION_MAP),
}
SEVERITY_NAMES = {
    "apt": dict(_without_blank(vulndata.PRIORITY_MAP), **_without_blank(vulndata.URGENCY_MAP)),
    "dnf": _without_blank(dnflib.SEVERITY_MAP),
    "zypper": _without_blank(zypperlib.SEVERITY_MAP),
    "windows": _without_blank(windows_updates.SEVERITY_MAP),
}
# Debian's `high` urgency is where our `critical` comes from (high + remote scope, vulndata.py),
# so on DEBIAN a rule asking for `high` means both.
OS_SEVERITY_OVERRIDES = {"DEBIAN": {"high": ("critical", "important")}}
_GLOB_CHARS = re.compile(r"[*?\[]")


class BaselineError(ValueError):
    """A baseline that cannot be right: names the field, the value and what is allowed."""


_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _shown(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "...(%d characters)" % len(text)


def _as_day(value, field):
    """A calendar date written YYYY-MM-DD (SSM's ApproveUntilDate format); anything else is an error."""
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    text = value.strip() if isinstance(value, str) else None
    if text is not None and _DAY_RE.match(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise BaselineError("%s: %s is not a date (YYYY-MM-DD, e.g. 2026-11-25)" % (field, _shown(value)))


def as_instant(value, field):
    """A UTC datetime from a datetime (naive = UTC), a date (00:00 UTC that day), seconds since the
    epoch, or text: ISO 8601 (a date, or a date and time with Z, +hh:mm or -hh:mm; none = UTC) or
    RFC 2822 (Debian changelog trailers). Anything else raises BaselineError naming `field`.

    SSM compares release dates and the approval moment as UTC instants (PatchRule.ApproveAfterDays).
    """
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    if isinstance(value, str) and value.strip():
        instant = _instant_from_text(value.strip())
        if instant is not None:
            return instant
        raise BaselineError("%s: %s is not a date or date and time (ISO 8601, e.g. 2026-11-20T23:30:00-05:00, "
                            "or RFC 2822)" % (field, _shown(value.strip())))
    raise BaselineError("%s: %s is not a date or date and time (ISO 8601, e.g. 2026-11-20T23:30:00-05:00)" % (field, _shown(value)))


@lru_cache(maxsize=8192)
def _instant_from_text(text):
    """The UTC instant a text names, or None (kept per text: a night sees the same dates on every host)."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


def _release_instant(patch):
    value = patch.get("release_date")
    if value in (None, ""):
        return None
    if isinstance(value, str):
        instant = _instant_from_text(value.strip())
        if instant is not None:
            return instant
    return as_instant(value, "release_date of patch %s" % _shown(patch.get("name"), 60))


@lru_cache(maxsize=8192)
def _utc_text(instant):
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


class Matcher(object):
    """Approved or rejected patch entries, compiled once: exact entries in a set, globs in one regex.

    An entry names a patch by any identifier SSM documents for the patch's package manager
    (identifiers()): the package name and its name/version/arch forms, the patch's advisory ids
    (RHSA-..., ALAS-..., DSA-/DLA-..., SUSE patch names, MS bulletins) and CVE ids; plus our
    `name=version` for one exact candidate version on every OS. Globs (`*`, `?`, `[...]`) match
    any of these forms.
    """

    def __init__(self, patterns):
        self.patterns = list(patterns)
        self.exact = {}
        self.versioned = []
        globs = []
        for pattern in self.patterns:
            text = str(pattern).strip()
            name, sep, version = text.partition("=")
            if sep:
                self.versioned.append((re.compile(fnmatch.translate(name)), version, pattern))
            elif _GLOB_CHARS.search(text):
                globs.append((re.compile(fnmatch.translate(text)), pattern))
            else:
                self.exact.setdefault(text, pattern)
        self.globs = globs
        self.any_glob = re.compile("|".join("(?:%s)" % regex.pattern for regex, dummy in globs)) if globs else None

    def match(self, patch, keys=None):
        """The first entry naming this patch, or None. `keys`: identifiers(patch), when already known."""
        if keys is None:
            keys = identifiers(patch)
        exact = self.exact
        if exact:
            for key in keys:
                hit = exact.get(key)
                if hit is not None:
                    return hit
        if self.any_glob is not None:
            for key in keys:
                if self.any_glob.match(key):
                    for regex, pattern in self.globs:
                        if regex.match(key):
                            return pattern
        if self.versioned:
            name, version = patch["name"], patch.get("candidate_version")
            for regex, wanted, pattern in self.versioned:
                if wanted == version and regex.match(name):
                    return pattern
        return None


def _rpm_forms(name, arch, evr):
    """SSM's package name constructions for yum/dnf (dbus.x86_64:1:1.12.28-1.amzn2023.0.1)."""
    epoch, sep, vr = (evr or "").partition(":")
    if not sep:
        epoch, vr = "0", evr or ""
    version, dummy, release = vr.rpartition("-")
    if not version:
        version, release = vr, ""
    forms = [name]
    if arch:
        forms.append("%s.%s" % (name, arch))
    if version:
        forms += ["%s-%s" % (name, version), version]
    if release:
        forms += ["%s-%s" % (name, vr), vr, "%s:%s" % (epoch, vr), "%s-%s:%s" % (name, epoch, vr)]
        if arch:
            forms += ["%s-%s.%s" % (name, vr, arch), "%s-%s:%s.%s" % (name, epoch, vr, arch),
                      "%s:%s-%s.%s" % (epoch, name, vr, arch), "%s.%s:%s:%s" % (name, arch, epoch, vr)]
    return forms


def identifiers(patch):
    """Every string an approved/rejected entry may name this patch by, per SSM's package name
    formats (docs/policy.md, "Patch names"): apt name (and name:arch); yum/dnf NEVRA constructions;
    zypper name, name-version-release.arch[.rpm]; advisory ids and CVE ids on every OS."""
    name = patch["name"]
    manager = patch.get("manager", "apt")
    arch = patch.get("arch")
    if manager in ("dnf", "yum"):
        keys = _rpm_forms(name, arch, patch.get("candidate_version"))
    elif manager == "zypper":
        keys = _rpm_forms(name, arch, patch.get("candidate_version"))
        vr = (patch.get("candidate_version") or "").partition(":")[2] or patch.get("candidate_version")
        if arch and vr:
            keys.append("%s-%s.%s.rpm" % (name, vr, arch))
    else:
        keys = [name]
        if arch and manager == "apt":
            keys.append("%s:%s" % (name, arch))
    keys.extend(patch.get("advisories") or ())
    keys.extend(patch.get("cves") or ())
    if patch.get("title"):
        # Windows updates also answer to title globs ('*Preview*'), as win_updates' own lists do
        keys.append(patch["title"])
    return keys


class Baseline(dict):
    """The normalised baseline (a dict, as validate() always returned) plus its compiled matchers."""

    approved = rejected = manifest = None
    managers = None
    action_defaulted = False
    rule_products = ()


def _family(baseline, field="operating_system"):
    value = baseline.get("operating_system")
    if value in (None, ""):
        return None, None
    name = str(value).strip().upper().replace("-", "_").replace(" ", "_")
    if name == "MACOS":
        raise BaselineError("%s: MACOS is not patched by fleetpatch; allowed: %s" % (field, ", ".join(sorted(OPERATING_SYSTEMS))))
    if name not in OPERATING_SYSTEMS:
        raise BaselineError("%s: %r is not one of %s" % (field, value, ", ".join(sorted(OPERATING_SYSTEMS))))
    return name, OPERATING_SYSTEMS[name]


_VALIDATED = {}
_VALIDATED_MAX = 64


def validate(baseline):
    """Check a baseline and return it normalised (a Baseline); raise BaselineError naming the field.

    A filter receives the same baseline for every host of a night; the result is kept per
    baseline content (and the mtime of a manifest report), so it is validated once.
    """
    if isinstance(baseline, Baseline):
        return baseline
    key = _cache_key(baseline)
    result = _VALIDATED.get(key) if key is not None else None
    if result is None:
        result = _validate(baseline)
        if key is not None:
            if len(_VALIDATED) >= _VALIDATED_MAX:
                _VALIDATED.clear()
            _VALIDATED[key] = result
    return result


def _cache_key(baseline):
    if not isinstance(baseline, dict):
        return None
    try:
        key = json.dumps(baseline, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return None
    manifest = baseline.get("approved_manifest")
    if isinstance(manifest, dict) and isinstance(manifest.get("report"), str):
        try:
            stat = os.stat(manifest["report"])
        except OSError:
            return None
        key += "|%d|%d" % (stat.st_size, stat.st_mtime_ns)
    return key


def _validate(baseline):
    if not isinstance(baseline, dict):
        raise BaselineError("baseline: expected a mapping, got %s" % type(baseline).__name__)
    unknown = sorted(set(baseline) - set(BASELINE_KEYS))
    if unknown:
        raise BaselineError("baseline: unknown key(s) %s; allowed: %s" % (", ".join(unknown), ", ".join(BASELINE_KEYS)))
    os_name, family = _family(baseline)
    rules = []
    for index, rule in enumerate(baseline.get("approval_rules") or []):
        rules.append(_validate_rule(rule, "approval_rules[%d]" % index, os_name, family))
    action = str(baseline.get("rejected_patches_action") or "block").lower()
    if action not in REJECT_ACTIONS:
        raise BaselineError("rejected_patches_action: %r is not one of %s"
                            % (baseline.get("rejected_patches_action"), ", ".join(REJECT_ACTIONS)))
    approved = _pattern_list(baseline.get("approved_patches"), "approved_patches")
    rejected = _pattern_list(baseline.get("rejected_patches"), "rejected_patches")
    level = _compliance_level(baseline.get("approved_patches_compliance_level", "unspecified"),
                              "approved_patches_compliance_level")
    result = Baseline(name=baseline.get("name", "default"), approval_rules=rules, approved_patches=approved,
                      rejected_patches=rejected, rejected_patches_action=action, operating_system=os_name,
                      approved_patches_compliance_level=level)
    minimum = baseline.get("approve_findings_min_severity")
    if minimum is not None:
        if str(minimum).lower() not in FINDING_SEVERITIES:
            raise BaselineError("approve_findings_min_severity: %r is not one of %s (the scanners' severity of a finding "
                                "whose patch is then approved)" % (minimum, ", ".join(FINDING_SEVERITIES)))
        result["approve_findings_min_severity"] = str(minimum).lower()
    manifest = None
    if baseline.get("approved_manifest") is not None:
        manifest = load_manifest(baseline["approved_manifest"], "approved_manifest")
        result["approved_manifest"] = [{"name": name, "version": version}
                                       for name in sorted(manifest) for version in sorted(manifest[name])]
    result.rule_products = [None if "*" in rule["products"] else
                            re.compile("|".join(fnmatch.translate(p) for p in rule["products"]), re.IGNORECASE)
                            for rule in rules]
    result.approved = Matcher(approved)
    result.rejected = Matcher(rejected)
    result.manifest = manifest
    result.managers = FAMILY_MANAGERS[family] if family else None
    # our default is block where SSM's is ALLOW_AS_DEPENDENCY (docs/policy.md): say so when it decides
    result.action_defaulted = baseline.get("rejected_patches_action") in (None, "")
    return result


def _pattern_list(value, field):
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise BaselineError("%s: expected a list of name globs (name=version for an exact version), got %r" % (field, value))
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise BaselineError("%s: %r is not a name glob" % (field, item))
    return list(value)


def _compliance_level(value, field):
    level = str(value).lower()
    if level not in COMPLIANCE_LEVELS:
        raise BaselineError("%s: %r is not one of %s" % (field, value, ", ".join(COMPLIANCE_LEVELS)))
    return level


def _names(values, field, ours, vendor, overrides=None, os_name=None):
    """Normalise a list of names to ours; '*' stays. Unknown names raise naming the field."""
    if isinstance(values, str) or not isinstance(values, (list, tuple)):
        raise BaselineError("%s: expected a list, got %r" % (field, values))
    result = []
    for raw in values:
        value = str(raw).strip().lower()
        squeezed = re.sub(r"[\s_]+", "", value)
        if value == "*" or value in ours:
            mapped = (value,)
        elif overrides and value in overrides:
            mapped = overrides[value]
        elif value in vendor or squeezed in vendor:
            mapped = (vendor.get(value) or vendor[squeezed],)
        else:
            message = "%s: %r is not one of %s or *" % (field, value, ", ".join(ours))
            if vendor:
                message += ", nor a %s name (%s)" % (os_name, ", ".join(sorted(vendor)))
            elif os_name is None:
                message += "; vendor names (e.g. Important, SecurityUpdates) need operating_system"
            raise BaselineError(message)
        for item in mapped:
            if item not in result:
                result.append(item)
    return result


def _validate_rule(rule, field, os_name=None, family=None):
    if not isinstance(rule, dict):
        raise BaselineError("%s: expected a mapping" % field)
    unknown = sorted(set(rule) - set(RULE_KEYS))
    if unknown:
        raise BaselineError("%s: unknown key(s) %s; allowed: %s" % (field, ", ".join(unknown), ", ".join(RULE_KEYS)))
    classes = _names(rule.get("classifications", ["*"]), field + ".classifications", CLASSIFICATIONS,
                     CLASSIFICATION_NAMES.get(family, {}), os_name=os_name)
    severities = _names(rule.get("severities", ["*"]), field + ".severities", SEVERITIES,
                        SEVERITY_NAMES.get(family, {}), OS_SEVERITY_OVERRIDES.get(os_name), os_name=os_name)
    after = rule.get("approve_after_days")
    until = _as_day(rule.get("approve_until_date"), field + ".approve_until_date")
    if after is not None and until is not None:
        raise BaselineError("%s: set approve_after_days or approve_until_date, not both" % field)
    if after is not None and (not isinstance(after, int) or isinstance(after, bool) or not 0 <= after <= 360):
        raise BaselineError("%s.approve_after_days: %r must be a whole number from 0 to 360" % (field, after))
    level = _compliance_level(rule.get("compliance_level", "unspecified"), field + ".compliance_level")
    non_security = rule.get("enable_non_security", False)
    if not isinstance(non_security, bool):
        raise BaselineError("%s.enable_non_security: %r must be true or false" % (field, non_security))
    products = rule.get("products", ["*"])
    if isinstance(products, str) or not isinstance(products, (list, tuple)) or not all(isinstance(p, str) and p for p in products):
        raise BaselineError("%s.products: %r must be a list of product names or globs (e.g. Debian12, "
                            "RedhatEnterpriseLinux9.*, WindowsServer2022, *)" % (field, products))
    return {"classifications": classes, "severities": severities,
            "approve_after_days": after if until is None else None, "approve_until_date": until,
            "compliance_level": level, "enable_non_security": non_security, "products": list(products)}


# -- approved manifest -------------------------------------------------------------------------------

_MANIFEST_FILES = {}


def load_manifest(spec, field="approved_manifest"):
    """{name: set(versions)} from a list of {name, version} or {report: path[, patch_group, hosts]}.

    A report is a previous run's report.json; the versions its hosts' `patched` entries went to
    (`to`) are what was tested. Files are read once per (path, size, mtime).
    """
    if isinstance(spec, dict):
        unknown = sorted(set(spec) - {"report", "patch_group", "hosts"})
        if unknown or "report" not in spec:
            raise BaselineError("%s: expected a list of {name, version} or {report: PATH[, patch_group, hosts]}, "
                                "got keys %s" % (field, ", ".join(sorted(spec)) or "none"))
        return manifest_from_report(_read_report(spec["report"], field + ".report"), spec.get("patch_group"),
                                    spec.get("hosts"), field)
    if isinstance(spec, str) or not isinstance(spec, (list, tuple)):
        raise BaselineError("%s: expected a list of {name, version} or {report: PATH}, got %r" % (field, spec))
    manifest = {}
    for index, entry in enumerate(spec):
        where = "%s[%d]" % (field, index)
        if not isinstance(entry, dict) or not entry.get("name") or not entry.get("version"):
            raise BaselineError("%s: %r needs name and version (the exact version a previous run installed)" % (where, entry))
        extra = sorted(set(entry) - {"name", "version", "arch"})
        if extra:
            raise BaselineError("%s: unknown key(s) %s; allowed: name, version, arch" % (where, ", ".join(extra)))
        manifest.setdefault(str(entry["name"]), set()).add(str(entry["version"]))
    return manifest


def _read_report(path, field):
    try:
        stat = os.stat(path)
        key = (path, stat.st_size, stat.st_mtime_ns)
        if key not in _MANIFEST_FILES:
            if len(_MANIFEST_FILES) >= 16:
                _MANIFEST_FILES.clear()
            with open(path) as handle:
                _MANIFEST_FILES[key] = json.load(handle)
        return _MANIFEST_FILES[key]
    except (OSError, ValueError) as exc:
        raise BaselineError("%s: cannot read report %r: %s" % (field, path, exc))


def manifest_from_report(report, patch_group=None, hosts=None, field="approved_manifest"):
    """The versions a report's hosts were patched to, optionally of one patch group or some hosts."""
    if not isinstance(report, dict) or not isinstance(report.get("hosts"), list):
        raise BaselineError("%s.report: not a fleetpatch report.json (no hosts list)" % field)
    manifest = {}
    for host in report["hosts"]:
        if patch_group is not None and host.get("patch_group") != patch_group:
            continue
        if hosts is not None and host.get("name") not in hosts:
            continue
        if host.get("status") not in lifecycle.SUCCEEDED:
            continue
        for change in host.get("patched") or []:
            if change.get("name") and change.get("to"):
                manifest.setdefault(change["name"], set()).add(change["to"])
    if not manifest:
        raise BaselineError("%s.report: no patched package in the report%s; nothing would be approved" % (
            field, " for patch group %r" % patch_group if patch_group else ""))
    return manifest


def compare_versions(manager, left, right):
    """Version order of the patch's package manager; None when versions do not order (Windows)."""
    try:
        if manager == "apt":
            return debversion.compare(left, right)
        if manager in ("dnf", "yum", "zypper"):
            return dnflib.compare_evr(left, right)
    except debversion.VersionError:
        return None
    return None


def _manifest_check(patch, manifest):
    versions = manifest.get(patch["name"])
    candidate = patch.get("candidate_version")
    if not versions:
        return "not in the approved manifest"
    if candidate in versions:
        return None
    manager = patch.get("manager", "apt")
    newest = None
    for version in versions:
        if compare_versions(manager, version, version) is None:
            continue
        if newest is None or compare_versions(manager, version, newest) > 0:
            newest = version
    if newest is not None and (compare_versions(manager, candidate, newest) or 0) > 0:
        return "candidate %s is newer than the approved manifest's %s (nothing newer than what was tested)" % (candidate, newest)
    return "candidate %s is not a version in the approved manifest (%s)" % (candidate, ", ".join(sorted(versions)))


# -- approval ------------------------------------------------------------------------------------------

def decide(patch, baseline, today, product=None):
    """The decision for one patch: {approved, reason, rule, compliance_level, rejected}.

    `baseline` as returned by validate() (a raw dict is validated first); `today` the moment
    approval is judged at (a datetime, a date = 00:00 UTC that day, or ISO 8601 text; see
    as_instant); `product` the host's product name (e.g. Debian12) for rules that set products.
    """
    return _decide(patch, validate(baseline), as_instant(today, "today"), product)


def _decide(patch, baseline, now, product):
    if baseline.managers is not None and patch.get("manager", "apt") not in baseline.managers:
        return _decision(False, "baseline is for %s, not for %s patches" % (baseline["operating_system"], patch.get("manager")))
    keys = identifiers(patch) if baseline.rejected.patterns or baseline.approved.patterns else ()
    hit = baseline.rejected.match(patch, keys) if baseline.rejected.patterns else None
    if hit is not None:
        # SSM: a patch in both lists is rejected
        return _decision(False, "rejected by rejected_patches entry %r (%s)" % (hit, _action_text(baseline)), rejected=True)
    hit = baseline.approved.match(patch, keys) if baseline.approved.patterns else None
    if hit is not None:
        result = _decision(True, "approved by approved_patches entry %r" % hit,
                           level=baseline["approved_patches_compliance_level"])
    else:
        result = _by_rules(patch, baseline, now, product)
    if not result["approved"] and baseline.get("approve_findings_min_severity"):
        result = _by_findings(patch, baseline, result)
    if result["approved"] and baseline.manifest is not None:
        problem = _manifest_check(patch, baseline.manifest)
        if problem:
            return _decision(False, "%s, but %s" % (result["reason"], problem), rule=result["rule"], manifest=True)
    return result


def _action_text(baseline):
    if baseline.action_defaulted and baseline["rejected_patches_action"] == "block":
        return "block, the default here; SSM's default is allow_as_dependency"
    return baseline["rejected_patches_action"]


def _by_findings(patch, baseline, result):
    """approve_findings_min_severity: a patch that closes a scanner finding at or above it is approved."""
    minimum = baseline["approve_findings_min_severity"]
    closing = [f for f in patch.get("findings") or () if findingslib.severity_at_least(f.get("severity"), minimum)]
    if not closing:
        return result
    named = ", ".join(sorted(set("%s (%s)" % (f["cve"], f["severity"]) for f in closing)))
    return _decision(True, "closes finding(s) %s at or above %s (approve_findings_min_severity); without it: %s"
                     % (named, minimum, result["reason"]), level=baseline["approved_patches_compliance_level"])


def _decision(approved, reason, rule=None, level=None, rejected=False, manifest=False, dependency_blocked=False):
    return {"approved": approved, "reason": reason, "rule": rule, "compliance_level": level,
            "rejected": rejected, "manifest_blocked": manifest, "dependency_blocked": dependency_blocked}


def _rule_matches(rule, classification, severity):
    """SSM's PatchFilterGroup: CLASSIFICATION and SEVERITY must both match. An explicit
    classification always matches; '*' takes non-security patches only with enable_non_security."""
    classes = rule["classifications"]
    if classification not in classes:
        if "*" not in classes:
            return False
        if classification != "security" and not rule["enable_non_security"]:
            return False
    severities = rule["severities"]
    return severity in severities or "*" in severities


def _by_rules(patch, baseline, now, product):
    classification = patch.get("classification", "other")
    severity = patch.get("severity", "unspecified")
    product_missing = False
    undated = []
    released = False  # not looked at yet: a bad date only matters to a rule that needs it
    for index, rule in enumerate(baseline["approval_rules"]):
        if not _rule_matches(rule, classification, severity):
            continue
        products = baseline.rule_products[index]
        if products is not None:
            if product is None:
                product_missing = True
                continue
            if not products.match(product):
                continue
        level = rule["compliance_level"]
        until, after = rule["approve_until_date"], rule["approve_after_days"] or 0
        if until is None and not after:
            return _decision(True, "rule %d: %s/%s" % (index, classification, severity), index, level)
        if released is False:
            released = _release_instant(patch)
        if released is None:
            undated.append(index)
            continue
        if until is not None:
            # inclusive: released at any moment of that UTC day
            if released >= datetime(until.year, until.month, until.day, tzinfo=timezone.utc) + timedelta(days=1):
                continue
            return _decision(True, "rule %d: %s, released %s, on or before %s (UTC)" % (
                index, classification, _utc_text(released), until), index, level)
        due = released + timedelta(days=after)
        if now < due:
            continue
        return _decision(True, "rule %d: %s, released %s, approved from %s (%d day(s) after release)" % (
            index, classification, _utc_text(released), _utc_text(due), after), index, level)
    reason = "no approval rule matches (classification %s, severity %s)" % (classification, severity)
    if undated:
        reason += "; rule(s) %s need a release date and none is known" % ", ".join(str(i) for i in undated)
    elif released and baseline["approval_rules"]:
        reason += "; released %s" % _utc_text(released)
    if product_missing:
        reason += "; rules that name products need the host's product"
    return _decision(False, reason)


def approve(patch, baseline, today, product=None):
    """(approved, reason) for one patch; `baseline` as returned by validate()."""
    result = decide(patch, baseline, today, product)
    return result["approved"], result["reason"]


def evaluate(patches, baseline, today, product=None, dependencies=None):
    """A decision for every patch, in order, dependencies applied (see apply_dependencies)."""
    checked = validate(baseline)
    now = as_instant(today, "today")
    decisions = [_decide(patch, checked, now, product) for patch in patches]
    if dependencies:
        apply_dependencies(patches, decisions, checked, dependencies)
    return decisions


def apply_dependencies(patches, decisions, baseline, dependencies):
    """Let approved patches bring what they need, as the package manager will install it anyway.

    `dependencies`: {patch name: [names of pending patches it needs]} (the package manager's
    simulated install of each patch, from patch_scan). A needed patch no rule approved is approved
    as a dependency; a rejected one is approved as a dependency when rejected_patches_action is
    allow_as_dependency, and with `block` the patch needing it is not approved (SSM: packages that
    include a blocked package as a dependency are not installed). A needed patch whose version the
    approved manifest does not admit blocks its dependant too.
    """
    index = dict((p["name"], i) for i, p in enumerate(patches))
    base = [dict(d) for d in decisions]
    blocked = {}
    while True:
        added, changed = {}, False
        for i, decision in enumerate(base):
            if decision["approved"] and i not in blocked:
                problem = _closure(i, patches, base, index, dependencies, baseline, added, blocked)
                if problem:
                    blocked[i], changed = problem, True
        if not changed:
            break
    for i, problem in blocked.items():
        decisions[i] = _decision(False, "%s, but %s needs %s" % (base[i]["reason"], patches[i]["name"], problem),
                                 base[i]["rule"], dependency_blocked=True)
    for j, needed_by in added.items():
        what = "rejected, allowed as a dependency" if base[j]["rejected"] else "dependency"
        decisions[j] = _decision(True, "%s of %s" % (what, needed_by), rejected=base[j]["rejected"])
    return decisions


def _closure(start, patches, base, index, dependencies, baseline, added, blocked):
    """Walk what patch `start` needs; record dependency approvals in `added`; return a blocking problem."""
    seen, stack, local = set(), [start], {}
    while stack:
        i = stack.pop()
        for need in dependencies.get(patches[i]["name"]) or []:
            j = index.get(need)
            if j is None or j in seen or j == start:
                continue
            seen.add(j)
            decision = base[j]
            if j in blocked:
                return "%s, which cannot be installed (%s)" % (need, blocked[j])
            if decision["approved"]:
                stack.append(j)
                continue
            if decision["rejected"] and baseline["rejected_patches_action"] == "block":
                return "%s, which is %s" % (need, decision["reason"])
            if decision["manifest_blocked"]:
                return "%s, not admitted by the approved manifest" % need
            if decision["reason"].startswith("baseline is for"):
                return "%s, %s" % (need, decision["reason"])
            local.setdefault(j, patches[start]["name"])
            stack.append(j)
    for j, name in local.items():
        added.setdefault(j, name)
    return None


def warnings(patches, decisions, baseline):
    """What an operator should hear about these decisions: a dependency blocked only by our default action."""
    checked = validate(baseline)
    if not checked.action_defaulted or checked["rejected_patches_action"] != "block":
        return []
    blocked = [patches[i]["name"] for i, d in enumerate(decisions) if d.get("dependency_blocked")]
    if not blocked:
        return []
    return ["rejected_patches_action is not set, so fleetpatch's default 'block' kept %s from being installed "
            "(SSM's default, allow_as_dependency, would install the rejected dependency); set "
            "rejected_patches_action in the baseline to say which you mean" % ", ".join(sorted(blocked))]


def approved_patches(patches, baseline, today, product=None, dependencies=None):
    """The approved subset, each patch with its approval reason."""
    decisions = evaluate(patches, baseline, today, product, dependencies)
    return [dict(patch, approval_reason=decisions[i]["reason"]) for i, patch in enumerate(patches) if decisions[i]["approved"]]


# -- products --------------------------------------------------------------------------------------------

_PRODUCT_PREFIX = {
    "debian": ("Debian", "major"), "ubuntu": ("Ubuntu", "full"), "redhat": ("RedhatEnterpriseLinux", "full"),
    "rocky": ("RockyLinux", "full"), "almalinux": ("AlmaLinux", "full"), "oraclelinux": ("OracleLinux", "full"),
    "centos": ("CentOS", "full"), "amazon": ("AmazonLinux", "major"), "sles": ("Suse", "full"),
    "sles_sap": ("Suse", "full"), "suse": ("Suse", "full"), "opensuse leap": ("OpenSuseLeap", "full"),
    "raspbian": ("Raspbian", "major"),
}


# os-release IDs whose Ansible distribution name differs from the ID
_OS_RELEASE_DISTRIBUTION = {"rhel": "redhat", "ol": "oraclelinux", "amzn": "amazon", "opensuse-leap": "opensuse leap"}


def product_from_os_release(os_release):
    """SSM's product name from /etc/os-release values (ID, VERSION_ID): Debian12, RockyLinux9.4, ..."""
    ident = str(os_release.get("ID", "")).lower()
    return product_name(_OS_RELEASE_DISTRIBUTION.get(ident, ident), os_release.get("VERSION_ID"))


def product_name(distribution, version):
    """SSM's product name for a host from its Ansible facts: ('Debian', '12.5') -> 'Debian12',
    ('RedHat', '9.3') -> 'RedhatEnterpriseLinux9.3', ('Microsoft Windows Server 2022 Datacenter', ...)
    -> 'WindowsServer2022'. None when unknown."""
    text = str(distribution or "").strip()
    windows = re.search(r"Windows Server (\d{4}(?: R2)?)", text)
    if windows:
        return "WindowsServer" + windows.group(1).replace(" ", "")
    known = _PRODUCT_PREFIX.get(text.lower())
    if not known or not version:
        return None
    prefix, part = known
    version = str(version).strip()
    return prefix + (version.split(".", 1)[0] if part == "major" else version)
