# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: run_verdict
short_description: Whether a patch night succeeded, from its report
version_added: 0.1.0
description:
  - A run fails when a host was not patched as planned (failed, unreachable, rolled_back,
    rollback_failed, needs_attention, incomplete, not_started; the status sets of
    module_utils/lifecycle.py) or when it targeted no host. A host C(deferred) outside its
    window does not fail the run.
  - Returns C(ok), C(not_done) (host names) and C(message).
author:
  - fleetpatch.hybrid developers (@fleetpatch)
options:
  _input:
    description: The report's host entries (each with C(name) and C(status)).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Fail the run when a host was not patched
  ansible.builtin.assert:
    that: (report.hosts | fleetpatch.hybrid.run_verdict).ok
"""

RETURN = r"""
_value:
  description: ok, not_done, message.
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.lifecycle import verdict


def _run_verdict(hosts):
    try:
        return verdict(hosts or [])
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError("run_verdict: the input must be the report's host entries with name and status (missing %s)" % exc)


class FilterModule(object):
    def filters(self):
        return {"run_verdict": _run_verdict}
