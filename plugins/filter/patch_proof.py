# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: patch_proof
short_description: Prove that the approved patches are installed, from a rescan
version_added: 0.1.0
description:
  - Compares the approved patch records with the result of a rescan by
    M(fleetpatch.hybrid.patch_scan) (its C(patches) and C(installed)).
  - Returns C(ok), C(still_pending) (names), C(wrong_version) (name, expected, installed),
    C(changes) (name, arch, from, to, classification, cves, advisories) and C(cves_remaining).
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: rescan
options:
  _input:
    description: The approved patch records.
    type: list
    elements: dict
    required: true
  rescan:
    description: The registered result of the rescan.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Prove the patch
  ansible.builtin.set_fact:
    proof: "{{ approved | fleetpatch.hybrid.patch_proof(rescan) }}"
"""

RETURN = r"""
_value:
  description: The proof.
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.proof import prove


def _patch_proof(approved, rescan):
    if not isinstance(rescan, dict) or "patches" not in rescan or "installed" not in rescan:
        raise AnsibleFilterError("patch_proof: rescan must be the registered result of fleetpatch.hybrid.patch_scan "
                                 "run with packages set (keys patches and installed)")
    return prove(approved or [], rescan["patches"], rescan["installed"])


class FilterModule(object):
    def filters(self):
        return {"patch_proof": _patch_proof}
