# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: windows_host
short_description: Preflight, health checks and the wusa rollback of a Windows host, from ansible.windows results
version_added: 0.1.0
description:
  - V(preflight) - O(_input) is the registered win_powershell result of the role's facts script
    (system drive free space, pending-reboot registry keys); returns what
    M(fleetpatch.hybrid.preflight_info) returns on Linux, so the preflight record is the same.
  - V(checks) - O(_input) is the policy's target health checks; returns them normalised for Windows
    (http, tcp, service, powershell).
  - V(health) - O(_input) is the normalised checks; returns M(fleetpatch.hybrid.health_check)'s
    C(results) and C(verdict) from the win_service_info, win_uri, win_wait_for and win_powershell results.
  - V(uninstall) - O(_input) is the KBs this run installed; returns C({kb, argv}) of each
    C(wusa.exe /uninstall /kb:N /quiet /norestart), newest first.
  - V(uninstall_plan) - O(_input) is the registered wusa loop; returns what was removed, what failed,
    and whether a reboot is needed.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: mode
options:
  _input:
    description: See O(mode).
    type: raw
    required: true
  mode:
    description: What to compute.
    type: str
    choices: [preflight, checks, health, uninstall, uninstall_plan]
    required: true
  services:
    description: The registered win_service_info result (V(preflight), V(health)).
    type: dict
  required_services:
    description: Services that must be running (V(preflight)).
    type: list
    elements: str
  min_free_mb:
    description: Free MiB the system drive needs (V(preflight)).
    type: int
  fail_on_pending_reboot:
    description: Whether a pending reboot stops the host (V(preflight)).
    type: bool
  http:
    description: The registered win_uri loop (V(health)).
    type: dict
  tcp:
    description: The registered win_wait_for loop (V(health)).
    type: dict
  powershell:
    description: The registered win_powershell loop (V(health)).
    type: dict
  before:
    description: The results before the patch (V(health)).
    type: list
    elements: dict
  strict:
    description: Already failing checks also fail the validation (V(health)).
    type: bool
"""

EXAMPLES = r"""
- name: Judge the Windows preflight
  ansible.builtin.set_fact:
    info: >-
      {{ facts | fleetpatch.hybrid.windows_host('preflight', services=services, required_services=['wuauserv'],
         min_free_mb=2048, fail_on_pending_reboot=true) }}
"""

RETURN = r"""
_value:
  description: See O(mode).
  type: raw
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import windows_host as wh
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.health import CheckError
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.windows_updates import WindowsUpdatesError


def windows_host(value, mode, services=None, required_services=None, min_free_mb=0, fail_on_pending_reboot=False,
                 http=None, tcp=None, powershell=None, before=None, strict=False):
    try:
        if mode == "preflight":
            return wh.preflight_info(value, services, required_services or [], int(min_free_mb), fail_on_pending_reboot)
        if mode == "checks":
            return wh.windows_checks(value)
        if mode == "health":
            return wh.health_verdict(wh.health_results(value, services, http, tcp, powershell), before, bool(strict))
        if mode == "uninstall":
            return wh.uninstall_argv(value)
        if mode == "uninstall_plan":
            return wh.uninstall_plan(value)
    except (CheckError, WindowsUpdatesError) as exc:
        raise AnsibleFilterError("windows_host(%s): %s" % (mode, exc))
    raise AnsibleFilterError("windows_host: mode %r is not one of preflight, checks, health, uninstall, uninstall_plan" % (mode,))


class FilterModule(object):
    def filters(self):
        return {"windows_host": windows_host}
