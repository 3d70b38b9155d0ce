# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Windows: the result of ansible.windows.win_updates in search mode, as patch records.

Pure Python, no Ansible import. Run `ansible.windows.win_updates` with `state: searched` and
`category_names: ['*']` (its default only searches three categories), register the result and
hand it here (the role does it through a filter).

win_updates returns per update: id, title, kb (numbers without "KB"), categories (classification
and product names mixed), downloaded, installed. It returns no MSRC severity, CVEs or release
date; those come from `details` (keyed by KB, e.g. built from Microsoft's security update guide)
when given. Without them the severity is `unspecified` and the release date is derived from the
`YYYY-MM` prefix of the title: Microsoft ships a month's updates on Patch Tuesday (the second
Tuesday) and the optional previews on the fourth Tuesday.
"""

from __future__ import annotations

import calendar
import re
from datetime import date

from .patch import highest_classification

# Windows Update classifications (SSM's names, spaces removed, lower case) -> ours.
CLASSIFICATION_MAP = {
    "securityupdates": "security",
    "criticalupdates": "security",
    "updaterollups": "bugfix",
    "updates": "bugfix",
    "featurepacks": "enhancement",
    "servicepacks": "enhancement",
    "definitionupdates": "other",
    "drivers": "other",
    "tools": "other",
    "upgrades": "other",
}
SEVERITY_MAP = {
    "critical": "critical",
    "important": "important",
    "moderate": "moderate",
    "low": "low",
    "unspecified": "unspecified",
    "": "unspecified",
}
_MONTH_RE = re.compile(r"^(?P<year>20\d\d)-(?P<month>0[1-9]|1[0-2])\b")
_ARCH_RE = re.compile(r"\b(?:(x64|x86|ARM64|arm64)-based|for (x64|x86|ARM64|arm64)\b)")
_REBOOT_TITLE_RE = re.compile(r"Cumulative Update|Monthly Rollup|Security Only|Servicing Stack|Security Monthly Quality Rollup",
                              re.IGNORECASE)


def category_key(name):
    return re.sub(r"\s+", "", str(name or "")).lower()


def classify(categories):
    """Our classification from win_updates categories (the best one wins)."""
    found = [CLASSIFICATION_MAP[category_key(c)] for c in categories or [] if category_key(c) in CLASSIFICATION_MAP]
    return highest_classification(found)


def products(categories):
    """The categories that name a product rather than a classification."""
    return [c for c in categories or [] if category_key(c) not in CLASSIFICATION_MAP]


def _nth_tuesday(year, month, nth):
    first_weekday = calendar.monthrange(year, month)[0]
    first_tuesday = 1 + (calendar.TUESDAY - first_weekday) % 7
    return date(year, month, first_tuesday + 7 * (nth - 1))


def release_date_from_title(title):
    """'2024-01 Cumulative Update ...' -> '2024-01-09' (Patch Tuesday), previews the fourth Tuesday."""
    match = _MONTH_RE.match(title or "")
    if not match:
        return None
    nth = 4 if "preview" in title.lower() else 2
    return _nth_tuesday(int(match.group("year")), int(match.group("month")), nth).isoformat()


def kb_ids(update):
    return ["KB%s" % str(k)[2:] if str(k).upper().startswith("KB") else "KB%s" % k for k in update.get("kb") or []]


def build_patches(result, make_patch, details=None, include_installed=False):
    """Patch records from a registered win_updates result (its `updates` dict).

    `details`: {KB: {msrc_severity, release_date, cves, reboot_required}} to complete what
    win_updates does not return. Updates already installed are left out unless asked for.
    """
    details = dict((str(k).upper() if str(k).upper().startswith("KB") else "KB%s" % k, v) for k, v in (details or {}).items())
    updates = (result or {}).get("updates") or {}
    records = []
    for key in sorted(updates):
        update = updates[key]
        if update.get("installed") and not include_installed:
            continue
        kbs = kb_ids(update)
        extra = {}
        for kb in kbs:
            extra.update(details.get(kb) or {})
        title = update.get("title") or ""
        arch = _ARCH_RE.search(title)
        severity = update.get("msrc_severity") or extra.get("msrc_severity") or ""
        record = make_patch(
            name=kbs[0] if kbs else title,
            arch=(arch.group(1) or arch.group(2)).lower() if arch else None,
            installed_version=None,
            candidate_version=update.get("id") or key,
            origin="Windows Update: %s" % ", ".join(products(update.get("categories")) or ["unknown product"]),
            classification=classify(update.get("categories")),
            severity=SEVERITY_MAP.get(str(severity).strip().lower(), "unspecified"),
            release_date=extra.get("release_date") or update.get("release_date") or release_date_from_title(title),
            advisories=kbs,
            cves=sorted(set(extra.get("cves") or [])),
            manager="windows",
        )
        reboot = update.get("reboot_required", extra.get("reboot_required"))
        if reboot is None:
            reboot = bool(_REBOOT_TITLE_RE.search(title)) or any(
                category_key(c) in ("servicepacks", "upgrades", "drivers") for c in update.get("categories") or [])
        record["reboot_hint"] = bool(reboot)
        records.append(record)
    return records
