# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: rpm_nevra
short_description: The exact rpm build of a patch record, as dnf and yum take it
version_added: 0.1.0
description:
  - Turns a patch record from M(fleetpatch.hybrid.patch_scan) into C(name-[epoch:]version-release.arch),
    so dnf installs exactly the approved build and nothing newer.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
options:
  _input:
    description: A patch record with C(name), C(candidate_version) and optionally C(arch).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Install exactly the approved builds
  ansible.builtin.dnf:
    name: "{{ approved | map('fleetpatch.hybrid.rpm_nevra') | list }}"
    state: present
"""

RETURN = r"""
_value:
  description: The package spec.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.dnf import nevra


def rpm_nevra(patch):
    try:
        return nevra(patch.get("name"), patch.get("candidate_version"), patch.get("arch"))
    except (AttributeError, ValueError) as exc:
        raise AnsibleFilterError("rpm_nevra: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"rpm_nevra": rpm_nevra}
