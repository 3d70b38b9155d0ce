#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: reboot_info
short_description: Whether a Linux host needs a reboot after patching, and why
version_added: 0.1.0
description:
  - Reads every signal a Linux host gives that a reboot is needed and decides under a reboot
    policy. It never reboots; pair it with M(ansible.builtin.reboot).
  - Signals are C(/var/run/reboot-required) and its C(.pkgs) list (Debian, Ubuntu),
    C(needs-restarting -r) (RHEL family), C(needrestart -b) (kernel status), and the patched
    packages whose new version only loads at boot (kernel, libc, systemd, microcode).
author:
  - fleetpatch.hybrid developers (@fleetpatch)
options:
  policy:
    description: V(if_needed) reboots only on a signal, V(never) never (a needed reboot is reported as pending), V(always) always.
    type: str
    choices: [if_needed, never, always]
    default: if_needed
  patched:
    description: Names of the packages just patched, for the boot-time package hint.
    type: list
    elements: str
    default: []
notes:
  - With pipelining on (C(ANSIBLE_PIPELINING), as this collection's C(ansible.cfg) sets it) and a
    POSIX shell on the host, the action plugin does not send this module; one shell script reads the
    same signals (a light probe, about 0.05-0.1 s instead of 0.3-0.4 s per host), and the answer is
    judged on the controller by the same functions, so it is the same. Without pipelining, or on a
    Windows shell, the module runs.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Does the host need a reboot?
  fleetpatch.hybrid.reboot_info:
    policy: if_needed
    patched: [linux-image-amd64, openssl]
  register: reboot

- name: Reboot when it does
  ansible.builtin.reboot:
  when: reboot.reboot
"""

RETURN = r"""
reboot:
  description: Whether to reboot now under O(policy).
  returned: always
  type: bool
  sample: true
required:
  description: Whether any signal says a reboot is needed.
  returned: always
  type: bool
  sample: true
reasons:
  description: The signals found.
  returned: always
  type: list
  elements: str
  sample: ["/var/run/reboot-required (linux-image-6.1.0-28-amd64)"]
decision:
  description: One line on the decision.
  returned: always
  type: str
  sample: "/var/run/reboot-required (linux-image-6.1.0-28-amd64)"
services:
  description: Services needrestart says to restart (empty when needrestart is absent).
  returned: always
  type: list
  elements: str
  sample: [ssh.service]
boot_id:
  description: The current boot id (changes at every boot).
  returned: always
  type: str
  sample: 0b5a41c1-7c6b-4f4e-9d0c-3f0c3c2b9c61
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import reboot as rebootlib


def read_lines(path):
    try:
        with open(path) as handle:
            return [line.strip() for line in handle if line.strip()]
    except OSError:
        return []


def main():
    module = AnsibleModule(
        argument_spec=rebootlib.ARGUMENT_SPEC,
        supports_check_mode=True,
    )
    needs_restarting_rc = None
    binary = module.get_bin_path("needs-restarting")
    if binary:
        needs_restarting_rc, dummy, dummy = module.run_command([binary, "-r"])
    needrestart_output = None
    binary = module.get_bin_path("needrestart")
    if binary:
        dummy, needrestart_output, dummy = module.run_command([binary, "-b", "-r", "l"], environ_update={"LANG": "C"})
    result = rebootlib.verdict(module.params["policy"], module.params["patched"], os.path.exists(rebootlib.FLAG),
                               read_lines(rebootlib.FLAG + ".pkgs"), needs_restarting_rc, needrestart_output,
                               (read_lines(rebootlib.BOOT_ID) or [""])[0])
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
