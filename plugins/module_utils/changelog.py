# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Debian changelog parsing: which CVEs and advisories a candidate version closes.

Pure Python, no Ansible import. The entries newer than the installed version are the
ones a patch brings; their CVE and advisory ids are what the patch closes.
"""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime

from . import debversion

_HEADER_RE = re.compile(r"^(?P<source>[a-z0-9][a-z0-9+.-]*) \((?P<version>[^)]+)\) (?P<dists>[^;]*);(?P<meta>.*)$")
_TRAILER_RE = re.compile(r"^ -- (?P<maintainer>.*?) {1,2}(?P<date>[A-Z][a-z]{2}, .*)$")
_URGENCY_RE = re.compile(r"urgency=(\w+)", re.IGNORECASE)
CVE_RE = re.compile(r"\bCVE-\d{4}-\d{4,7}\b")
ADVISORY_RE = re.compile(r"\b(?:DSA|DLA|USN|ELA)-\d+(?:-\d+)?\b")


def _unique(items):
    seen = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def parse_changelog(text, limit=None):
    """Parse changelog text into entry records, newest first.

    Each record: version, distributions, urgency, date (ISO 8601 or None), cves, advisories.
    `limit` stops after that many entries (changelogs of old packages run to thousands).
    """
    entries = []
    current, body = None, []

    def close():
        if current is not None:
            joined = "\n".join(body)
            current["cves"] = _unique(CVE_RE.findall(joined))
            current["advisories"] = _unique(ADVISORY_RE.findall(joined))

    for line in text.splitlines():
        header = _HEADER_RE.match(line)
        if header:
            close()
            if limit is not None and len(entries) >= limit:
                current = None
                break
            urgency = _URGENCY_RE.search(header.group("meta"))
            current, body = {
                "version": header.group("version").strip(),
                "distributions": header.group("dists").split(),
                "urgency": urgency.group(1).lower() if urgency else "unknown",
                "date": None,
            }, []
            entries.append(current)
            continue
        if current is None:
            continue
        trailer = _TRAILER_RE.match(line)
        if trailer:
            current["date"] = _iso_date(trailer.group("date"))
        else:
            body.append(line)
    close()
    return entries


def _iso_date(text):
    try:
        return parsedate_to_datetime(text.strip()).isoformat()
    except (TypeError, ValueError, IndexError):
        return None


def entries_between(entries, installed, candidate):
    """The entries newer than `installed` and not newer than `candidate` (newest first)."""
    selected = []
    for entry in entries:
        try:
            if debversion.compare(entry["version"], candidate) > 0:
                continue
            if installed and debversion.compare(entry["version"], installed) <= 0:
                break
        except debversion.VersionError:
            continue
        selected.append(entry)
    return selected


def summarize(entries, installed, candidate):
    """What a candidate brings over `installed`: CVEs, advisories, urgency and its release date."""
    selected = entries_between(entries, installed, candidate)
    cves, advisories = [], []
    for entry in selected:
        cves.extend(entry["cves"])
        advisories.extend(entry["advisories"])
    newest = selected[0] if selected else None
    return {
        "cves": sorted(set(cves)),
        "advisories": sorted(set(advisories)),
        "urgency": newest["urgency"] if newest else "unknown",
        "release_date": newest["date"] if newest else None,
        "entries": len(selected),
    }
