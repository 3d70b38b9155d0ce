# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side report of a run from the ledger (documented in plugins/modules/patch_report.py)."""

from __future__ import annotations

import json
import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ledger import Ledger, LedgerError
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.report import load_report, render_table


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(("path", "run_id", "dest"))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=dict(
            path=dict(type="path", required=True),
            run_id=dict(type="str", required=True),
            dest=dict(type="path"),
        ))
        if not os.path.exists(args["path"]):
            raise AnsibleActionFail("patch_report: no ledger at %s (path); run a patch night first" % args["path"])
        try:
            with Ledger(args["path"]) as ledger:
                report = load_report(ledger, args["run_id"])[0]
        except LedgerError as exc:
            raise AnsibleActionFail("patch_report: %s" % exc)
        changed = False
        if args["dest"]:
            text = json.dumps(report, indent=2, sort_keys=True) + "\n"
            old = None
            if os.path.exists(args["dest"]):
                with open(args["dest"]) as handle:
                    old = handle.read()
            changed = old != text
            if changed and not self._task.check_mode:
                directory = os.path.dirname(os.path.abspath(args["dest"]))
                if not os.path.isdir(directory):
                    os.makedirs(directory)
                tmp_path = args["dest"] + ".tmp"
                with open(tmp_path, "w") as handle:
                    handle.write(text)
                os.replace(tmp_path, args["dest"])
        result.update(changed=changed, report=report, table=render_table(report).splitlines(), dest=args["dest"])
        return result
