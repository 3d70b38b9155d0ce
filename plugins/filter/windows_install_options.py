# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: windows_install_options
short_description: win_updates options that install exactly the approved KBs
version_added: 0.1.0
description:
  - C(state=installed), C(category_names=*), an C(accept_list) of anchored regexes that each match
    one approved KB (win_updates matches entries unanchored against titles and KBs), and
    C(reboot=false); the role reboots, with the policy's timeout.
  - Refuses an empty approved list, which would make win_updates install every update it finds.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: server_selection
options:
  _input:
    description: The approved patch records (or KB names).
    type: list
    elements: raw
    required: true
  server_selection:
    description: win_updates' C(server_selection).
    type: str
    default: default
"""

EXAMPLES = r"""
- name: Options for the install
  ansible.builtin.set_fact:
    options: "{{ scan_approved | fleetpatch.hybrid.windows_install_options('managed_server') }}"
"""

RETURN = r"""
_value:
  description: The win_updates options.
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import windows_updates as wu


def windows_install_options(approved, server_selection="default"):
    try:
        return wu.install_options(approved, server_selection=server_selection)
    except wu.WindowsUpdatesError as exc:
        raise AnsibleFilterError("windows_install_options: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"windows_install_options": windows_install_options}
