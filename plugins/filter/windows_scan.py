# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: windows_scan
short_description: A win_updates search result as the scan result of a host
version_added: 0.1.0
description:
  - Maps each update of a registered M(ansible.windows.win_updates) result (O(_input), C(state=searched))
    to the collection's patch record (KB, title, classification from the categories, MSRC severity,
    release date, CVEs), completed with the KB details from MSRC CVRF documents (see the
    P(fleetpatch.hybrid.msrc_cvrf#lookup) lookup).
  - Returns the shape M(fleetpatch.hybrid.patch_scan) returns (C(patches), C(summary), C(package_manager)),
    so the approval, ledger and report treat Windows and Linux hosts alike.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: details
options:
  _input:
    description: The registered win_updates result.
    type: dict
    required: true
  details:
    description: "KB details, C({KB: {cves, msrc_severity, release_date, reboot_required}})."
    type: dict
  approved:
    description:
      - For a rescan, the approved patch records. The result then also has C(installed), a mapping of each approved
        KB to its update id when the search no longer lists it (win_updates searches updates not installed) or to
        null when it is still pending, the shape P(fleetpatch.hybrid.patch_proof#filter) reads.
    type: list
    elements: dict
"""

EXAMPLES = r"""
- name: Turn the search into patch records
  ansible.builtin.set_fact:
    scan_result: "{{ searched | fleetpatch.hybrid.windows_scan(lookup('fleetpatch.hybrid.msrc_cvrf', '/srv/msrc/2024-Jan.json')) }}"
"""

RETURN = r"""
_value:
  description: The scan result, with keys C(patches), C(summary) (C(pending), C(security)) and C(package_manager) (V(windows)).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import windows_updates
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.patch import make_patch


def windows_scan(result, details=None, approved=None):
    if not isinstance(result, dict) or result.get("failed") or result.get("unreachable"):
        raise AnsibleFilterError("windows_scan: the win_updates search did not succeed: %s"
                                 % (result.get("msg") if isinstance(result, dict) else result))
    patches = windows_updates.build_patches(result, make_patch, details=details or {})
    scan = {"patches": patches, "package_manager": "windows",
            "summary": {"pending": len(patches), "security": len([p for p in patches if p["classification"] == "security"])}}
    if approved is not None:
        pending = set(p["name"] for p in patches)
        scan["installed"] = dict((p["name"], None if p["name"] in pending else p.get("candidate_version")) for p in approved)
    return scan


class FilterModule(object):
    def filters(self):
        return {"windows_scan": windows_scan}
