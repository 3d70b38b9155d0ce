#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: preflight_info
short_description: Whether a host may be patched now (package manager lock, free disk, pending reboot, agent services)
version_added: 0.1.0
description:
  - Reads, never changes, the state a patch depends on and says whether the host may be
    patched now, with the reasons when not.
  - The package manager lock is checked the way dpkg and apt take it (POSIX record locks on
    C(/var/lib/dpkg/lock-frontend) and friends); the holder's pid is reported.
  - The agent services in O(agent_services) (the SSM agent, a vulnerability scanner's agent) must
    be active. Under systemd one C(systemctl is-active) call answers for all of them; without
    systemd each service's init script answers C(status), and a service without an init script
    counts as active when a process of that name runs.
  - Everything is read in the one module run, so the check costs a single round trip to the host;
    a host that does not answer comes back unreachable, which is the connection check.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
options:
  min_free_mb:
    description: Free MiB needed on each of O(paths).
    type: int
    default: 500
  paths:
    description: File systems that must have O(min_free_mb) free.
    type: list
    elements: path
    default: [/, /var, /var/cache/apt/archives, /boot]
  fail_on_pending_reboot:
    description: Whether a reboot left pending by an earlier change stops the host.
    type: bool
    default: false
  agent_services:
    description:
      - Services that must be active on the host, for example V(amazon-ssm-agent) or a
        vulnerability scanner's agent such as V(nessusagent).
      - Alternatives are joined by C(|) and the first that is active counts, for example
        V(amazon-ssm-agent|snap.amazon-ssm-agent.amazon-ssm-agent) (the agent as a Debian
        package or as Ubuntu's snap).
    type: list
    elements: str
    default: []
    version_added: 0.1.0
notes:
  - With pipelining on (C(ANSIBLE_PIPELINING), as this collection's C(ansible.cfg) sets it) and a
    POSIX shell on the host, the action plugin does not send this module; the stdlib-only checks of
    C(module_utils/preflight.py) are sent to the host's Python on stdin (a light probe, about
    0.05-0.1 s instead of 0.3-0.4 s per host), and the answer is judged on the controller by the
    same functions, so it is the same. Without pipelining, or on a Windows shell, the module runs.
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
- name: May this host be patched now?
  fleetpatch.hybrid.preflight_info:
    min_free_mb: 1024
  register: preflight

- name: Also require the SSM agent and a vulnerability scanner's agent to run
  fleetpatch.hybrid.preflight_info:
    agent_services:
      - amazon-ssm-agent|snap.amazon-ssm-agent.amazon-ssm-agent
      - nessusagent
  register: preflight

- name: Stop when it may not
  ansible.builtin.fail:
    msg: "{{ preflight.reasons | join('; ') }}"
  when: not preflight.ready
"""

RETURN = r"""
ready:
  description: Whether the host may be patched now.
  returned: always
  type: bool
  sample: true
reasons:
  description: Why the host may not be patched now.
  returned: always
  type: list
  elements: str
  sample: ["package manager locked: /var/lib/dpkg/lock-frontend held by pid 4242"]
package_manager:
  description: The package manager found (apt, dnf, zypper) or null.
  returned: always
  type: str
  sample: apt
locks:
  description: Package manager locks held, with the holder's pid.
  returned: always
  type: list
  elements: dict
  sample: [{path: /var/lib/dpkg/lock-frontend, pid: 4242}]
disks:
  description: Free MiB of each checked path.
  returned: always
  type: list
  elements: dict
  sample: [{path: /, free_mb: 20480}]
reboot_pending:
  description: Whether a reboot from an earlier change is pending.
  returned: always
  type: bool
  sample: false
services:
  description: The state of each of O(agent_services); RV(services[].unit) is the alternative that answered.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The service as given in O(agent_services).
      type: str
      sample: amazon-ssm-agent|snap.amazon-ssm-agent.amazon-ssm-agent
    unit:
      description: The service that was active, or the first alternative when none was.
      type: str
      sample: amazon-ssm-agent
    state:
      description: C(active), or what systemd or the init script said (C(inactive), C(failed), ...).
      type: str
      sample: active
    active:
      description: Whether the service is active.
      type: bool
      sample: true
  sample: [{name: amazon-ssm-agent, unit: amazon-ssm-agent, state: active, active: true}]
python_version:
  description: The Python that ran the module.
  returned: always
  type: str
  sample: 3.11.2
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import osinfo, preflight


def main():
    module = AnsibleModule(argument_spec=preflight.ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result = preflight.check(module.params, osinfo.package_manager(osinfo.read_os_release(), module.get_bin_path),
                                 module.run_command)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
