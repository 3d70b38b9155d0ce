# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""zypper (SUSE): needed patches and package updates from zypper's XML output.

Pure Python, no Ansible import; the module runs the commands and hands their output here.

What the module runs (see docs/scan.md):
  zypper -n --xmlout list-patches          needed patches: category, severity, date, CVE/bugzilla issues
  zypper -n --xmlout list-updates          package updates: name, arch, edition and edition-old
  zypper -n info -t patch NAME...          which package versions each patch fixes (its Conflicts)
A record is one package update carrying the patches that fix it (their ids, CVEs, category and
severity). A needed patch none of whose packages could be matched is kept as one record named
`patch:NAME` (a name zypper installs as it is), so no needed security patch is ever dropped.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

from .dnf import compare_evr, split_name_arch
from .patch import highest_classification, highest_severity

# Patch categories (SSM's SUSE classifications) -> ours.
CATEGORY_MAP = {
    "security": "security",
    "recommended": "bugfix",
    "yast": "bugfix",
    "optional": "enhancement",
    "feature": "enhancement",
    "enhancement": "enhancement",
    "document": "other",
    "other": "other",
}
SEVERITY_MAP = {
    "critical": "critical",
    "important": "important",
    "moderate": "moderate",
    "low": "low",
    "unspecified": "unspecified",
    "": "unspecified",
}
# Patches in these states still have to be installed; applied/not-needed are done,
# unwanted ones are locked by the administrator.
PENDING_STATUSES = ("needed", "optional", "")
_CONFLICT_RE = re.compile(r"^\s*(?:(?:package|srcpackage):)?(?P<na>[A-Za-z0-9_+.-]+)\s+<=?\s+(?P<evr>\S+)\s*$")


class ZypperOutputError(ValueError):
    """zypper printed something that is not its XML output."""


def _root(text):
    text = (text or "").strip()
    start = text.find("<")
    if start < 0:
        raise ZypperOutputError("no XML in zypper output: %r" % text[:200])
    try:
        return ET.fromstring(text[start:])
    except ET.ParseError as exc:
        raise ZypperOutputError("zypper XML output does not parse: %s" % exc)


def _date(node):
    if node is None:
        return None
    stamp = node.get("time_t") or node.get("time")
    if stamp and stamp.isdigit():
        return datetime.fromtimestamp(int(stamp), tz=timezone.utc).isoformat()
    text = node.get("text") or (node.text or "").strip()
    try:
        return datetime.fromisoformat(text).astimezone(timezone.utc).isoformat() if text else None
    except ValueError:
        return None


def messages(text):
    """Error and warning messages zypper wrote into its XML stream."""
    try:
        root = _root(text)
    except ZypperOutputError:
        return []
    return [(m.get("type"), (m.text or "").strip()) for m in root.iter("message") if m.get("type") in ("error", "warning")]


def parse_patches(text):
    """`zypper --xmlout list-patches` -> [{name, edition, arch, status, category, classification,
    severity, vendor_severity, date, cves, bugs, reboot, pkgmanager, summary, repo, blocked}].

    When update-stack patches are pending zypper lists only those in update-list and the rest in
    blocked-update-list; both are pending, the blocked ones flagged.
    """
    root = _root(text)
    patches = []
    for parent in root.iter():
        if parent.tag not in ("update-list", "blocked-update-list"):
            continue
        for node in parent.findall("update"):
            if node.get("kind", "patch") != "patch":
                continue
            status = (node.get("status") or "").lower()
            if status not in PENDING_STATUSES:
                continue
            issues = node.find("issue-list")
            cves, bugs = [], []
            for issue in issues.findall("issue") if issues is not None else []:
                kind, ident = (issue.get("type") or "").lower(), issue.get("id") or ""
                if kind == "cve":
                    cves.append(ident.upper() if ident.upper().startswith("CVE-") else "CVE-" + ident)
                elif ident:
                    bugs.append("%s#%s" % (kind, ident))
            category = (node.get("category") or "").lower()
            source = node.find("source")
            patches.append({
                "name": node.get("name"),
                "edition": node.get("edition"),
                "arch": node.get("arch"),
                "status": status,
                "category": category,
                "classification": CATEGORY_MAP.get(category, "other"),
                "severity": SEVERITY_MAP.get((node.get("severity") or "").lower(), "unspecified"),
                "vendor_severity": node.get("severity"),
                "date": _date(node.find("issue-date")),
                "cves": sorted(set(cves)),
                "bugs": bugs,
                "reboot": node.get("restart") == "true",
                "pkgmanager": node.get("pkgmanager") == "true",
                "summary": (node.findtext("summary") or "").strip(),
                "repo": source.get("alias") if source is not None else None,
                "blocked": parent.tag == "blocked-update-list",
            })
    return patches


def parse_updates(text):
    """`zypper --xmlout list-updates` -> [{name, arch, candidate_version, installed_version, repo}]."""
    root = _root(text)
    updates = []
    for node in root.iter("update"):
        if node.get("kind", "package") != "package":
            continue
        source = node.find("source")
        updates.append({
            "name": node.get("name"),
            "arch": node.get("arch"),
            "candidate_version": node.get("edition"),
            "installed_version": node.get("edition-old"),
            "repo": source.get("alias") if source is not None else None,
        })
    return updates


def parse_patch_info(text):
    """`zypper info -t patch NAME...` -> {patch name: [(package, arch or None, fixed EVR)]}.

    The packages a patch fixes are its Conflicts: `openssl-3.x86_64 < 3.0.8-150500.5.20.1`.
    """
    result, current, in_conflicts = {}, None, False
    for line in (text or "").splitlines():
        header = re.match(r"^Information for patch (?P<name>\S+?):?\s*$", line)
        if header:
            current, in_conflicts = header.group("name"), False
            result.setdefault(current, [])
            continue
        if current is None:
            continue
        if re.match(r"^Conflicts\s*:", line):
            in_conflicts = True
            continue
        if in_conflicts:
            match = _CONFLICT_RE.match(line)
            if match:
                name, arch = split_name_arch(match.group("na"))
                result[current].append((name, arch, match.group("evr")))
            elif line.strip() and not line[:1].isspace():
                in_conflicts = False
    return result


def build_patches(updates, patches, patch_packages, make_patch):
    """Package records enriched with the patches that fix them; unmatched patches kept as `patch:NAME`.

    A patch fixes a package update when it conflicts with `name[.arch] < EVR`, the installed
    version is older than EVR and the candidate is at least EVR.
    """
    by_package = {}
    for patch in patches:
        for name, arch, evr in patch_packages.get(patch["name"], []):
            by_package.setdefault(name, []).append((arch, evr, patch))
    used = set()
    records = []
    for update in updates:
        found = []
        for arch, evr, patch in by_package.get(update["name"], []):
            if arch and arch != update["arch"]:
                continue
            if update["installed_version"] and compare_evr(update["installed_version"], evr) >= 0:
                continue
            if compare_evr(update["candidate_version"], evr) < 0:
                continue
            if patch not in found:
                found.append(patch)
        used.update(p["name"] for p in found)
        record = make_patch(
            name=update["name"],
            arch=update["arch"],
            installed_version=update["installed_version"],
            candidate_version=update["candidate_version"],
            origin=update["repo"],
            classification=highest_classification(p["classification"] for p in found),
            severity=highest_severity(p["severity"] for p in found),
            release_date=max((p["date"] for p in found if p["date"]), default=None),
            advisories=sorted(p["name"] for p in found),
            cves=sorted(set(c for p in found for c in p["cves"])),
            manager="zypper",
        )
        if any(p["reboot"] for p in found):
            record["reboot_hint"] = True
        records.append(record)
    for patch in patches:
        if patch["name"] in used:
            continue
        record = make_patch(
            name="patch:%s" % patch["name"],
            arch=patch["arch"],
            installed_version=None,
            candidate_version=patch["edition"],
            origin=patch["repo"],
            classification=patch["classification"],
            severity=patch["severity"],
            release_date=patch["date"],
            advisories=[patch["name"]],
            cves=patch["cves"],
            manager="zypper",
        )
        record["reboot_hint"] = record["reboot_hint"] or patch["reboot"]
        records.append(record)
    return records


# Parts of zypper's install-summary whose packages would come in or change version.
_SUMMARY_PARTS = ("to-install", "to-upgrade", "to-downgrade", "to-change-arch", "to-change-vendor")


def parse_install_summary(text):
    """Package names zypper would install or change, from `zypper -n --no-refresh --xmlout update
    --dry-run NAME` (its `install-summary`: `to-upgrade`, `to-install`, ... lists of `solvable`)."""
    root = _root(text)
    names = []
    for summary in root.iter("install-summary"):
        for part in summary:
            if part.tag not in _SUMMARY_PARTS:
                continue
            for node in part.iter("solvable"):
                name = node.get("name")
                if node.get("type", "package") == "package" and name and name not in names:
                    names.append(name)
    return names
