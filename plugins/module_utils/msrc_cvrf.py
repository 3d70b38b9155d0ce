# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Microsoft's monthly security update documents (MSRC CVRF JSON) as KB -> CVE details, offline.

Pure Python, no Ansible import. The documents are what `https://api.msrc.microsoft.com/cvrf/v3.0/cvrf/2024-Jan`
serves with `Accept: application/json` (one per month). The keys read here are the ones the API's
published schema (its swagger `cvrfReturnTypes200`) and Microsoft's own MsrcSecurityUpdates module use:

- `DocumentTracking.Identification.ID.Value` (`2024-Jan`) and `DocumentTracking.InitialReleaseDate`
  (Patch Tuesday: the release date of the month's KBs);
- `ProductTree.FullProductName[]`: `{ProductID, Value}` (product names);
- `Vulnerability[]`: `CVE`, `Threats[]` (`Type` 3 = severity, `Description.Value` `Critical`...,
  `ProductID[]`), `Remediations[]` (`Type` 2 = vendor fix, `Description.Value` the KB number,
  `ProductID[]`, optional `RestartRequired.Value` `Yes`/`No`/`Maybe`, `Supercedence`).

The result, {"KB5034127": {cves, msrc_severity, release_date, reboot_required, products, documents}},
is the `details` windows_updates.build_patches takes. A KB's severity is the highest severity any
of its CVEs has on a product the KB fixes.
"""

from __future__ import annotations

import re

REMEDIATION_VENDOR_FIX = 2
THREAT_SEVERITY = 3
# MSRC's severity ratings, most severe first
SEVERITY_ORDER = ("critical", "important", "moderate", "low")
_KB_RE = re.compile(r"^(?:KB)?(\d{4,8})$", re.IGNORECASE)


class CvrfError(ValueError):
    """A document that is not an MSRC CVRF JSON document: says which part is missing."""


def _value(node):
    """CVRF wraps most strings as {"Value": text}; some fields are plain strings."""
    if isinstance(node, dict):
        node = node.get("Value")
    return "" if node is None else str(node).strip()


def kb_of(remediation):
    """'KB5034127' of a vendor-fix remediation, or None (release notes, 'Monthly Rollup' texts)."""
    match = _KB_RE.match(_value(remediation.get("Description")))
    return "KB%s" % match.group(1) if match else None


def _more_severe(left, right):
    ranks = dict((name, index) for index, name in enumerate(SEVERITY_ORDER))
    if not left:
        return right
    if not right:
        return left
    return left if ranks.get(left, 99) <= ranks.get(right, 99) else right


def _restart(value):
    text = _value(value).lower()
    return {"yes": True, "no": False}.get(text)   # Maybe and blank say nothing


def document_id(document):
    tracking = document.get("DocumentTracking") or {}
    return _value((tracking.get("Identification") or {}).get("ID")) or _value(document.get("DocumentTitle")) or "unknown"


def kb_details(document, into=None):
    """Add one CVRF document's KBs to `into` (a dict, returned) and return it."""
    if not isinstance(document, dict) or not isinstance(document.get("Vulnerability"), list):
        raise CvrfError("not an MSRC CVRF JSON document: no Vulnerability list (fetch it with Accept: application/json)")
    result = {} if into is None else into
    doc_id = document_id(document)
    tracking = document.get("DocumentTracking") or {}
    released = str(tracking.get("InitialReleaseDate") or tracking.get("CurrentReleaseDate") or "")[:10] or None
    names = dict((str(p.get("ProductID")), _value(p)) for p in (document.get("ProductTree") or {}).get("FullProductName") or []
                 if isinstance(p, dict))
    for vuln in document["Vulnerability"]:
        if not isinstance(vuln, dict) or not vuln.get("CVE"):
            continue
        severity_of = {}
        for threat in vuln.get("Threats") or []:
            if threat.get("Type") == THREAT_SEVERITY:
                severity = _value(threat.get("Description")).lower()
                for product in threat.get("ProductID") or []:
                    severity_of[str(product)] = _more_severe(severity_of.get(str(product)), severity)
        for remediation in vuln.get("Remediations") or []:
            if remediation.get("Type") != REMEDIATION_VENDOR_FIX:
                continue
            kb = kb_of(remediation)
            if kb is None:
                continue
            products = [str(p) for p in remediation.get("ProductID") or []]
            entry = result.setdefault(kb, {"cves": [], "msrc_severity": None, "release_date": released,
                                           "reboot_required": None, "products": [], "documents": []})
            if vuln["CVE"] not in entry["cves"]:
                entry["cves"].append(vuln["CVE"])
            for product in products:
                entry["msrc_severity"] = _more_severe(entry["msrc_severity"], severity_of.get(product))
                name = names.get(product)
                if name and name not in entry["products"]:
                    entry["products"].append(name)
            restart = _restart(remediation.get("RestartRequired"))
            if restart is not None:
                entry["reboot_required"] = bool(entry["reboot_required"]) or restart
            if released and (entry["release_date"] is None or released < entry["release_date"]):
                entry["release_date"] = released
            if doc_id not in entry["documents"]:
                entry["documents"].append(doc_id)
    for entry in result.values():
        entry["cves"].sort()
        entry["products"].sort()
    return result


def merge(documents):
    """The details of several documents (months) in one KB map."""
    result = {}
    for document in documents:
        kb_details(document, result)
    return result
