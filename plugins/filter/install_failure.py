# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: install_failure
short_description: Why an install failed, and what it left on the host
version_added: 0.1.0
description:
  - With O(mode=reason), the input is the failed install task's result (apt, dnf, zypper) and the
    filter returns C(package), C(step) (a dpkg maintainer script such as C(postinst), an rpm
    scriptlet such as C(%post), C(download)) and C(message), one line without the warnings around it.
  - With O(mode=installed), the input is the install task's result and the filter returns the
    ledger package rows of the approved packages the transaction's own output says it set up.
  - With O(mode=judge), the input is the output of the repair probe (roles/patch_linux/tasks/repair.yml)
    and the filter returns C(consistent), C(broken), C(restore) (C(name=version) to put back under
    O(policy=restore)), C(changes) (read from the host) and C(needs_attention) (what is wrong, or null).
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: mode
options:
  _input:
    description: The failed task result (O(mode=reason)) or the probe's stdout (O(mode=judge)).
    type: raw
    required: true
  mode:
    description: What to compute.
    type: str
    choices: [reason, judge, installed]
    default: reason
  manager:
    description: apt, dnf, yum or zypper.
    type: str
    default: apt
  approved:
    description: The approved patch records the install was asked for, with O(mode=judge) and O(mode=installed).
    type: list
    elements: dict
  policy:
    description: restore (put back what stays broken) or finish (only finish), with O(mode=judge).
    type: str
    default: restore
  probe:
    description:
      - With O(mode=reason), the repair probe's stdout. On dnf and yum its C(===LOG) section (the last
        transaction of /var/log/dnf.rpm.log) names the failing package and scriptlet when the task
        result says only "Transaction failed".
    type: str
"""

EXAMPLES = r"""
- name: Name the failing package and script
  ansible.builtin.set_fact:
    why: "{{ install_result | fleetpatch.hybrid.install_failure('reason', manager='apt') }}"
"""

RETURN = r"""
_value:
  description: The reason, or the judgement (see O(mode)).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import install_failure


def _install_failure(value, mode="reason", manager="apt", approved=None, policy="restore", probe=None):
    try:
        if mode == "reason":
            value = value or {}
            output = "\n".join(str(value.get(k) or "") for k in ("stdout", "stderr", "msg", "module_stdout", "module_stderr"))
            # ansible.builtin.dnf: failures is a list of rpm's messages per failed transaction
            output += "\n" + "\n".join(_flat(value.get("failures")))
            return install_failure.reason(output, manager, log=install_failure.state(probe)["log"] if probe else None)
        if mode == "installed":
            value = value or {}
            output = "\n".join(str(value.get(k) or "") for k in ("stdout", "msg")) + "\n" + "\n".join(
                str(r) for r in value.get("results") or [] if isinstance(r, str))
            return install_failure.installed_by(output, approved or [])
        if mode == "judge":
            return install_failure.judge(approved or [], install_failure.state(value), policy)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise AnsibleFilterError("install_failure(%s): %s" % (mode, exc))
    raise AnsibleFilterError("install_failure: mode %r is not one of reason, judge, installed" % (mode,))


def _flat(value):
    if isinstance(value, (list, tuple)):
        return [line for item in value for line in _flat(item)]
    return [str(value)] if value else []


class FilterModule(object):
    def filters(self):
        return {"install_failure": _install_failure}
