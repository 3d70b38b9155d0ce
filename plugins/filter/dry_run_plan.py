# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: dry_run_plan
short_description: The plan of a dry run, per host, from what the scan play left
version_added: 0.1.0
description:
  - For each host of the run (as the ledger's report lists them), what the patch night would do
    (docs/dry_run.md) - the patches it would install (from -> to) with the CVEs and advisories each
    closes and why it is approved, the pending patches it would hold back and why, the snapshot
    and reboot that would happen, and the window.
  - Each host's window is the one the night judged for it (C(hostvars['localhost'].fleetpatch_windows), what the ledger
    records as C(window_applied)), with the reason when it would not let the host start; else its C(fleetpatch_window).
  - The plan is complete when every host got through preflight and scan.
  - With O(as_text=true), the plan as the lines the playbook prints.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: hosts, run_id
options:
  _input:
    description: C(hostvars).
    type: raw
    required: true
  hosts:
    description: The run's hosts, the C(hosts) of M(fleetpatch.hybrid.patch_report)'s report (name, status, reason).
    type: list
    elements: dict
    required: true
  run_id:
    description: The run id.
    type: str
    required: true
  window:
    description: A run-wide maintenance window to show (start, end); patch_night sets none, each host carries its own.
    type: dict
  generated_at:
    description: When the plan was made (shown as given).
    type: str
  as_text:
    description: Return the plan as lines of text instead.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Build the plan
  ansible.builtin.set_fact:
    plan: "{{ hostvars | fleetpatch.hybrid.dry_run_plan(report.report.hosts, fleetpatch_night.run_id) }}"
"""

RETURN = r"""
_value:
  description: The plan (run_id, check_run, complete, not_ready, totals, hosts), or its lines with O(as_text).
  type: raw
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.plan import build_plan, render_plan

_HOSTVARS = ("fleetpatch_snapshot_provider", "fleetpatch_source", "fleetpatch_instance_id", "fleetpatch_platform",
             "fleetpatch_snapshot_lvm_volumes", "fleetpatch_vmware_name", "fleetpatch_vmware_uuid", "fleetpatch_vmware_moid")


def _get(hostvars, key, default=None):
    try:
        return hostvars[key] if key in hostvars else default
    except Exception:  # an undefined or failing template in one var must not lose the plan
        return default


def _window(decision):
    """The window that applies to the host (the night's window_plan decision: what the ledger records
    as window_applied), with the reason when it would not let the host start."""
    if not isinstance(decision, dict) or not isinstance(decision.get("applied"), dict):
        return None
    window = dict(decision["applied"])
    if not decision.get("allowed_to_start", True) and decision.get("reason"):
        window["reason"] = decision["reason"]
    return window


def dry_run_plan(hostvars, hosts, run_id, window=None, generated_at=None, as_text=False):
    if not isinstance(hosts, list) or not all(isinstance(h, dict) and "name" in h for h in hosts):
        raise AnsibleFilterError("dry_run_plan: hosts must be the report's list of hosts (each with a name)")
    try:
        windows = _get(hostvars["localhost"], "fleetpatch_windows", {}) or {}
    except KeyError:
        windows = {}
    entries = []
    for host in hosts:
        name = host["name"]
        try:
            hv = hostvars[name]
        except KeyError:
            hv = {}
        ready = bool(_get(hv, "fleetpatch_ready", False))
        unready = None if ready else "did not get through preflight and scan (status %s)" % host.get("status")
        entries.append({
            "name": name,
            "patch_group": host.get("patch_group") or _get(hv, "fleetpatch_patch_group"),
            "ready": ready,
            "failure": host.get("reason") or unready,
            "decisions": _get(hv, "scan_decisions", []),
            "reboot_policy": _get(hv, "fleetpatch_reboot_policy", "if_needed"),
            "snapshot_policy": _get(hv, "fleetpatch_snapshot_policy", "best_effort"),
            "hostvars": dict((k, _get(hv, k)) for k in _HOSTVARS if _get(hv, k) is not None),
            "window": _window(windows.get(name)) or _get(hv, "fleetpatch_window"),
        })
    plan = build_plan(entries, run_id, window=window or None, generated_at=generated_at)
    return render_plan(plan) if as_text else plan


class FilterModule(object):
    def filters(self):
        return {"dry_run_plan": dry_run_plan}
