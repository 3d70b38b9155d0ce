# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: controller_hosts
short_description: The host pattern of a play of controller steps that a plain --limit does not skip
version_added: 0.1.0
description:
  - A play of controller steps (open the run, raise the change requests, report) on C(localhost) alone is skipped by a
    plain C(--limit PATTERN), which is what AWX's Limit field passes, because localhost is not in the pattern.
  - Without a limit this returns C(localhost), as before. Under a limit it returns C(localhost) followed by the targeted
    hosts, so the limit keeps the targeted hosts it names; the play then runs each step once (C(run_once)), delegated
    to localhost. With C(--limit 'PATTERN:localhost') localhost comes first and runs the steps itself.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
options:
  _input:
    description: The night's host pattern (C(fleetpatch_targets)), a string or a list of patterns.
    type: raw
    required: true
  limit:
    description: The run's C(--limit) (C(ansible_limit)); C(none) or empty without one.
    type: str
"""

EXAMPLES = r"""
- name: Open the night on the controller
  hosts: "{{ fleetpatch_targets | default('all') | fleetpatch.hybrid.controller_hosts(ansible_limit | default(none)) }}"
  gather_facts: false
  run_once: true
  tasks:
    - name: Open the run
      fleetpatch.hybrid.patch_ledger:
        path: out/ledger.db
        run_id: run-1
        action: start_run
      delegate_to: localhost
"""

RETURN = r"""
_value:
  description: C(localhost) without a limit, else C(localhost:) followed by the targets.
  type: str
  sample: "localhost:patch_group_dev"
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.controller import controller_hosts


def _controller_hosts(targets, limit=None):
    try:
        return controller_hosts(targets, limit)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"controller_hosts": _controller_hosts}
