# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: hook_steps
short_description: The checked steps of one hook point of the operator's hooks
version_added: 0.1.0
description:
  - Takes C(fleetpatch_hooks) (per-host points C(pre_patch), C(post_patch), C(on_rollback)) or, with
    O(night=true), C(fleetpatch_night_hooks) (C(pre_night), C(post_night)) and returns the steps of
    O(point) with their defaults (timeout 300 s, allowed exit codes [0], on_failure fail_host / cancel).
  - A step has exactly one of C(command) (argv; C(shell=true) with a string), C(tasks) (a task file)
    or C(http) (url, method, body, headers, status, validate_certs). Bad input fails with the field named.
  - The same file holds the filters C(hook_judge) (what one step's registered result means),
    C(hook_fold) (the outcome of a hook point), C(hook_records) (a hook point's ledger rows - one per
    step with its trimmed output, then the point's outcome; a run-level point's rows are the run's), C(hook_cancel_reason) (why a pre_night
    gate canceled the night, or none) and C(hook_cancel_plan) (the hosts and the patch groups' changes
    of a canceled night, from the hosts' variables), over plugins/module_utils/hooks.py.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: point
options:
  _input:
    description: The hooks mapping (C(fleetpatch_hooks) or C(fleetpatch_night_hooks)).
    type: dict
    required: true
  point:
    description: The hook point.
    type: str
    required: true
  night:
    description: Whether these are run-level hooks (C(pre_night), C(post_night)).
    type: bool
    default: false
  dry_run:
    description:
      - Whether the steps run in a dry run (C(--check) or C(fleetpatch_dry_run)). Each step then also has
        C(dry_run) - V(run) (an http GET or HEAD, which only reads), V(check_mode) (a task file, run in
        check mode) or V(skip) (a command or an http call that may change state is not run).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: The pre_patch steps of this host's patch group
  ansible.builtin.set_fact:
    steps: "{{ fleetpatch_hooks | default({}) | fleetpatch.hybrid.hook_steps('pre_patch') }}"
"""

RETURN = r"""
_value:
  description: The steps of the point (name, kind, timeout, on_failure, argv / tasks / http, allowed_exit_codes, dry_run).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import hooks


def _steps(definition, point, night=False, dry_run=False):
    try:
        normalized = hooks.normalize(definition, "fleetpatch_night_hooks" if night else "fleetpatch_hooks", bool(night),
                                     bool(dry_run))
    except hooks.HookError as exc:
        raise AnsibleFilterError(str(exc))
    if point not in normalized:
        raise AnsibleFilterError("hook point %r is not one of %s" % (point, ", ".join(normalized)))
    return normalized[point]


def _judge(step, result, windows=False):
    return hooks.judge(step, result, bool(windows))


def _fold(judged, point):
    return hooks.fold(point, judged or [])


def _records(result, dry_run=False):
    try:
        return hooks.ledger_records(result, bool(dry_run))
    except hooks.HookError as exc:
        raise AnsibleFilterError(str(exc))


def _cancel_reason(result):
    return hooks.cancel_reason(result or {})


def _cancel_plan(hosts, reason, resume=None, settled=None):
    try:
        return hooks.cancel_plan(hosts, reason, resume, settled=settled)
    except hooks.HookError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"hook_steps": _steps, "hook_judge": _judge, "hook_fold": _fold, "hook_records": _records,
                "hook_cancel_reason": _cancel_reason, "hook_cancel_plan": _cancel_plan}
