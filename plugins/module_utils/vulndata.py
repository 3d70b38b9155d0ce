# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Severity of apt patches from a local vulnerability data file.

Pure Python, no Ansible import. Two formats, told apart by their first byte (gzip, bzip2 and xz
compressed files are read as well):

* Debian security tracker JSON (https://security-tracker.debian.org/tracker/data/json):
  {source package: {CVE: {scope, releases: {codename: {status, urgency, fixed_version, ...}}}}}.
  A patch's CVEs are those its changelog names plus those the tracker marks resolved in the
  host's release by a version newer than the installed one and not newer than the candidate.
  Urgency -> severity: high -> important (critical when the tracker's scope is `remote`, see
  below), medium -> moderate, low and unimportant -> low, not yet assigned / end-of-life ->
  unspecified. The release's own entry wins; when it says `not yet assigned` the highest
  urgency of the same CVE in the other releases is used (Debian assesses an issue once; the
  per-release field is often left unassigned for point-release fixes).
  Critical: Debian has no such urgency. We call a CVE critical when Debian rates it `high`
  and its scope is `remote` (reachable over the network), the closest match in this data to
  Red Hat's and Microsoft's definition (remotely exploitable without local access). Pass
  `remote_high_is_critical=False` to keep those at important.
* Ubuntu OVAL XML (https://security-metadata.canonical.com/oval/, the `cve` or `usn` files):
  each `<cve priority="...">` element gives Ubuntu's priority for a CVE: critical -> critical,
  high -> important, medium -> moderate, low and negligible -> low, untriaged -> unspecified.
  Ubuntu's USN JSON database carries no priority, so it cannot give a severity and is not read.

A patch's severity is the highest over its CVEs. The tracker is keyed by source package: pass
{binary name: source name} for the patches whose binary and source names differ.
"""

from __future__ import annotations

import gzip
import json
import re
import xml.etree.ElementTree as ET

from . import debversion
from .patch import highest_severity

# Debian tracker urgency -> ours ("**" marks an urgency taken over from NVD in older data).
URGENCY_MAP = {
    "high": "important",
    "medium": "moderate",
    "low": "low",
    "unimportant": "low",
    "not yet assigned": "unspecified",
    "end-of-life": "unspecified",
    "": "unspecified",
}
# Ubuntu CVE priority -> ours.
PRIORITY_MAP = {
    "critical": "critical",
    "high": "important",
    "medium": "moderate",
    "low": "low",
    "negligible": "low",
    "untriaged": "unspecified",
    "": "unspecified",
}
_NO_FIX = ("", "0", "<unfixed>", "undetermined", "<not-affected>", "<removed>")
_FULL_LOAD_LIMIT = 8 * 1024 * 1024
_PACKAGE_KEY_RE = re.compile(r'[{,]\s*"((?:[^"\\]|\\.)+)"\s*:\s*\{\s*"(?:CVE|TEMP)-')


class VulnDataError(ValueError):
    """A vulnerability data file that cannot be read or is in no known format."""


def highest(severities):
    return highest_severity(severities)


def urgency_severity(urgency, scope=None, remote_high_is_critical=True):
    level = URGENCY_MAP.get((urgency or "").replace("*", "").strip().lower(), "unspecified")
    if level == "important" and remote_high_is_critical and (scope or "").lower() == "remote":
        return "critical"
    return level


def read_text(data):
    """Bytes of a (possibly compressed) file -> text."""
    try:
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        elif data[:3] == b"BZh":
            import bz2  # some minimal Pythons lack it; only needed for such files
            data = bz2.decompress(data)
        elif data[:6] == b"\xfd7zXZ\x00":
            import lzma
            try:
                data = lzma.decompress(data)
            except lzma.LZMAError as exc:
                raise ValueError(str(exc))
    except (OSError, EOFError, ImportError, ValueError) as exc:
        raise VulnDataError("cannot decompress: %s" % exc)
    return data.decode("utf-8", "replace")


def detect(text):
    head = text.lstrip()[:1]
    if head == "{":
        return "debian_tracker"
    if head == "<":
        return "oval"
    raise VulnDataError("neither Debian security tracker JSON nor OVAL XML (starts with %r)" % text.lstrip()[:40])


def load(text, sources=None):
    """Parse vulnerability data; `sources` (source package names) limits what a tracker file yields.

    Returns {"format": "debian_tracker", "packages": {...}} or {"format": "oval", "cves": {CVE: severity}}.
    """
    kind = detect(text)
    if kind == "oval":
        return {"format": "oval", "cves": parse_oval(text)}
    return {"format": "debian_tracker", "packages": parse_tracker(text, sources)}


def parse_tracker(text, sources=None):
    """The tracker JSON, whole or (for a large file and given `sources`) only those packages.

    A full tracker file is ~70 MB; decoding it whole costs about a gigabyte of memory on the
    target, so for the handful of packages a host has pending only their entries are decoded.
    """
    if sources is None or len(text) <= _FULL_LOAD_LIMIT:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise VulnDataError("tracker JSON does not parse: %s" % exc)
        if not isinstance(data, dict):
            raise VulnDataError("tracker JSON: expected an object keyed by source package")
        return data if sources is None else dict((s, data[s]) for s in sources if s in data)
    wanted = set(sources)
    decoder = json.JSONDecoder()
    found = {}
    for match in _PACKAGE_KEY_RE.finditer(text):
        name = match.group(1)
        if name not in wanted or name in found:
            continue
        start = text.index("{", match.end(1))
        try:
            value = decoder.raw_decode(text, start)[0]
        except ValueError:
            continue
        if isinstance(value, dict):
            found[name] = value
    return found


def parse_oval(text):
    """Ubuntu OVAL (cve or usn flavour) -> {CVE: severity}, the highest where a CVE recurs.

    Parsed as a stream, one definition at a time (a release's CVE OVAL runs to 100 MB).
    """
    cves = {}
    parser = ET.XMLPullParser(events=("end",))
    try:
        for offset in range(0, len(text), 1 << 20):
            parser.feed(text[offset:offset + (1 << 20)])
            for _event, node in parser.read_events():
                if _local(node.tag) == "definition":
                    _oval_definition(node, cves)
                    node.clear()
        parser.close()
    except ET.ParseError as exc:
        raise VulnDataError("OVAL XML does not parse: %s" % exc)
    return cves


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def _oval_definition(definition, cves):
    fallback = ""
    for node in definition.iter():
        if _local(node.tag) == "severity":
            fallback = (node.text or "").strip()
    for node in definition.iter():
        if _local(node.tag) != "cve":
            continue
        cve = (node.text or "").strip()
        if cve.startswith("CVE-"):
            level = PRIORITY_MAP.get((node.get("priority") or node.get("severity") or fallback).strip().lower(), "unspecified")
            cves[cve] = highest([cves.get(cve, "unspecified"), level])


def _fixed_between(fixed, installed, candidate):
    try:
        return debversion.compare(fixed, installed) > 0 and debversion.compare(fixed, candidate) <= 0
    except debversion.VersionError:
        return False


def tracker_assessment(entries, release, patch, remote_high_is_critical=True):
    """(cves, severity) for one patch from its source package's tracker entries."""
    cves = set(patch.get("cves") or [])
    installed, candidate = patch.get("installed_version"), patch.get("candidate_version")
    if release and installed and candidate:
        for cve, info in entries.items():
            rel = ((info or {}).get("releases") or {}).get(release) or {}
            fixed = str(rel.get("fixed_version") or "")
            if cve.startswith("CVE-") and rel.get("status") == "resolved" and fixed not in _NO_FIX \
                    and _fixed_between(fixed, installed, candidate):
                cves.add(cve)
    levels = []
    for cve in cves:
        info = entries.get(cve)
        if not info:
            continue
        releases = info.get("releases") or {}
        own = urgency_severity((releases.get(release) or {}).get("urgency"), info.get("scope"), remote_high_is_critical) \
            if release else "unspecified"
        if own == "unspecified":
            own = highest([urgency_severity(r.get("urgency"), info.get("scope"), remote_high_is_critical)
                           for r in releases.values() if isinstance(r, dict)])
        levels.append(own)
    return sorted(cves), highest(levels)


def apply(patches, data, release=None, source_of=None, remote_high_is_critical=True):
    """Copies of apt `patches` with severity (and, from a tracker, the CVEs it knows) filled in.

    `data`: load(); `release`: the host's codename (bookworm); `source_of`: {binary: source}.
    A patch keeps a severity it already had when that is higher.
    """
    source_of = source_of or {}
    result = []
    for patch in patches:
        patch = dict(patch)
        if data["format"] == "oval":
            level = highest([data["cves"].get(c, "unspecified") for c in patch.get("cves") or []])
        else:
            entries = data["packages"].get(source_of.get(patch["name"]) or patch["name"]) or {}
            cves, level = tracker_assessment(entries, release, patch, remote_high_is_critical)
            patch["cves"] = cves
        patch["severity"] = highest([patch.get("severity") or "unspecified", level])
        result.append(patch)
    return result
