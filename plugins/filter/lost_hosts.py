# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: lost_hosts
short_description: The hosts lost during their batch, and the ledger row of each
version_added: 0.1.0
description:
  - A host that stops answering during its batch leaves the play without a word in the ledger.
  - Without O(answers), returns the names of the hosts that got through preflight and scan
    (O(started)) but whose outcome is still C(incomplete), the ones to try once more.
  - With O(answers) (the results of that try), returns one ledger row per host, C(host),
    C(phase) (the first batch phase it has no outcome for), C(status) (C(unreachable) when it
    still does not answer, else C(failed)) and C(message). Linear in the number of hosts.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
options:
  _input:
    description: The report's host entries (each with C(name), C(status) and C(phases)).
    type: list
    elements: dict
    required: true
  started:
    description: The hosts that got through preflight and scan in this run.
    type: list
    elements: str
    default: []
  targeted:
    description:
      - Instead of O(started), the hosts this run targeted; of them, the ones whose approval is done
        in the ledger (their C(phases)) count as started. Lets the controller find them without
        reading every host's variables.
    type: list
    elements: str
  answers:
    description: The loop results of the try (each with the host name under O(host_key)).
    type: list
    elements: dict
  host_key:
    description: The loop variable that holds the host name in each of O(answers).
    type: str
    default: __fleetpatch_lost_host
"""

EXAMPLES = r"""
- name: Try the lost hosts once more
  ansible.builtin.ping:
  delegate_to: "{{ __fleetpatch_lost_host }}"
  ignore_unreachable: true
  ignore_errors: true
  register: lost
  loop: "{{ report.hosts | fleetpatch.hybrid.lost_hosts(started=started) }}"
  loop_control:
    loop_var: __fleetpatch_lost_host
"""

RETURN = r"""
_value:
  description: Host names, or the ledger rows (host, phase, status, message) with O(answers).
  type: list
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.lifecycle import lost_candidates, lost_host_record


def _lost_hosts(hosts, started=None, answers=None, host_key="__fleetpatch_lost_host", targeted=None):
    try:
        if answers is None:
            return [h["name"] for h in lost_candidates(hosts, started, targeted)]
        phases = dict((h["name"], h.get("phases") or {}) for h in hosts or [])
        return [lost_host_record(a[host_key], phases.get(a[host_key], {}), bool(a.get("unreachable")), a.get("msg"))
                for a in answers]
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError("lost_hosts: the input must be the report's host entries (name, status, phases) and answers "
                                 "the loop results carrying %s (missing %s)" % (host_key, exc))


class FilterModule(object):
    def filters(self):
        return {"lost_hosts": _lost_hosts}
