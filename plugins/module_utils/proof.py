# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Proof that a patch did what was approved: compare the rescan with the approved set."""

from __future__ import annotations


def prove(approved, pending_after, installed_after):
    """Return ok, still_pending, wrong_version and the verified changes (name, arch, from, to, cves).

    `approved`: patch records approved before patching; `pending_after`: patch records from
    the rescan; `installed_after`: {name: installed version or None} from the rescan.
    """
    pending_names = set(p["name"] for p in pending_after)
    still_pending, wrong_version, changes = [], [], []
    for patch in approved:
        name = patch["name"]
        now = installed_after.get(name)
        if name in pending_names and now != patch["candidate_version"]:
            still_pending.append(name)
        elif now != patch["candidate_version"]:
            wrong_version.append({"name": name, "expected": patch["candidate_version"], "installed": now})
        else:
            changes.append({"name": name, "arch": patch.get("arch"), "from": patch.get("installed_version"), "to": now,
                            "classification": patch.get("classification"), "cves": patch.get("cves", []),
                            "advisories": patch.get("advisories", [])})
    cves_remaining = sorted(set(c for p in pending_after for c in p.get("cves", [])))
    return {"ok": not still_pending and not wrong_version, "still_pending": still_pending,
            "wrong_version": wrong_version, "changes": changes, "cves_remaining": cves_remaining}
