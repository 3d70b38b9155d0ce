# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    # What every module that runs on the controller through its action plugin supports (the ledger,
    # report, dashboard, state store, CR grouping and mail steps): one place instead of six copies.
    # Listed after ansible.builtin.action_common_attributes and its .flow, which describe these attributes.
    DOCUMENTATION = r"""
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  platform:
    platforms: all
"""
