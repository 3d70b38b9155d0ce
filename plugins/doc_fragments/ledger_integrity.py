# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    # The ledger's integrity check on open (module_utils/sqlite_file.py), for every module that reads
    # a night's ledger after its start: one description instead of one per module.
    DOCUMENTATION = r"""
options:
  integrity_check:
    description:
      - How much of the ledger file is checked before it is read; a damaged file is refused with a message saying how to recover.
      - V(full) reads every page (C(PRAGMA quick_check); its time grows with the file, about 0.5 s for 77 MB).
      - V(header) checks the file header and the schema only, whatever the file's size. For the steps of a night whose
        start (M(fleetpatch.hybrid.patch_ledger) C(action=start_run)) already checked the whole file (docs/security.md).
    type: str
    choices: [full, header]
    default: full
"""
