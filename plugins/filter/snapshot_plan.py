# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: snapshot_plan
short_description: The snapshot provider of a host and the provider's plan
version_added: 0.1.0
description:
  - Chooses the snapshot provider of a host (ec2, vmware, lvm, package_state, none) from its
    host vars and the snapshot policy, with the reason, and what a rollback can restore from it.
  - With O(lvm_lvs), the LVM snapshots to take (C(lvm.create)) and the requested volumes the
    host does not have (C(lvm.missing)); with O(vmware_connection), the arguments for
    M(community.vmware.vmware_guest_snapshot) (C(vmware)).
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: policy, run_id
options:
  _input:
    description: >-
      The host's vars that matter - fleetpatch_snapshot_provider, fleetpatch_source,
      fleetpatch_instance_id, fleetpatch_platform, fleetpatch_snapshot_lvm_volumes and
      fleetpatch_vmware_datacenter/name/folder/uuid/moid.
    type: dict
    required: true
  policy:
    description: The snapshot policy.
    type: str
    choices: [required, best_effort, none]
    required: true
  run_id:
    description: The run id.
    type: str
    required: true
  lvm_lvs:
    description: The host's logical volumes as VG/LV strings.
    type: list
    elements: str
  lvm_default_size:
    description: Size of an LVM snapshot that does not set its own.
    type: str
    default: 10%ORIGIN
  vmware_connection:
    description: vCenter hostname, username, password, port, validate_certs.
    type: dict
  vmware_state:
    description: present, revert or absent.
    type: str
    default: present
  cr_number:
    description: The change request, written in the VMware snapshot's description.
    type: str
  retention_days:
    description: Days until the snapshot expires.
    type: int
    default: 7
"""

EXAMPLES = r"""
- name: Choose the provider
  ansible.builtin.set_fact:
    plan: "{{ {'fleetpatch_source': 'ec2', 'fleetpatch_instance_id': 'i-0abc1234'}
              | fleetpatch.hybrid.snapshot_plan('required', 'run-1') }}"
"""

RETURN = r"""
_value:
  description: provider, reason, restore (snapshot, package_downgrade or null), lvm, vmware.
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.snapshot import SnapshotError, host_plan


def _snapshot_plan(hostvars, policy, run_id, lvm_lvs=None, lvm_default_size="10%ORIGIN", vmware_connection=None,
                   vmware_state="present", cr_number=None, retention_days=7):
    try:
        return host_plan(dict(hostvars or {}), policy, run_id, lvm_lvs=lvm_lvs, lvm_default_size=lvm_default_size,
                         vmware_connection=vmware_connection, vmware_state=vmware_state, cr_number=cr_number or None,
                         retention_days=int(retention_days))
    except SnapshotError as exc:
        raise AnsibleFilterError("snapshot_plan: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"snapshot_plan": _snapshot_plan}
