# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side report of a run from the ledger (documented in plugins/modules/patch_report.py)."""

from __future__ import annotations

import json
import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import cr_model
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_local import LocalBackend
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ledger import Ledger, LedgerError
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.report import build_report, render_table


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(("path", "run_id", "dest", "plan"))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=dict(
            path=dict(type="path", required=True),
            run_id=dict(type="str", required=True),
            dest=dict(type="path"),
            plan=dict(type="dict"),
        ))
        if not os.path.exists(args["path"]):
            raise AnsibleActionFail("patch_report: no ledger at %s (path); run a patch night first" % args["path"])
        try:
            with Ledger(args["path"]) as ledger:
                report = build_report(ledger.run(args["run_id"]), ledger.hosts(args["run_id"]))
        except LedgerError as exc:
            raise AnsibleActionFail("patch_report: %s" % exc)
        report["change_requests"] = self._change_requests(args["path"], args["run_id"])
        if args["plan"] is not None:
            # a dry run: the report carries the plan (and says it is one); its file is written even
            # in check mode, as the plan is what a check run is for
            report["check_run"] = True
            report["plan"] = args["plan"]
        changed = False
        if args["dest"]:
            text = json.dumps(report, indent=2, sort_keys=True, default=str) + "\n"
            old = None
            if os.path.exists(args["dest"]):
                with open(args["dest"]) as handle:
                    old = handle.read()
            changed = old != text
            if changed and (args["plan"] is not None or not self._task.check_mode):
                directory = os.path.dirname(os.path.abspath(args["dest"]))
                if not os.path.isdir(directory):
                    os.makedirs(directory)
                tmp_path = args["dest"] + ".tmp"
                with open(tmp_path, "w") as handle:
                    handle.write(text)
                os.replace(tmp_path, args["dest"])
        result.update(changed=changed, report=report, table=render_table(report).splitlines(), dest=args["dest"])
        return result

    @staticmethod
    def _change_requests(path, run_id):
        """The run's change requests in the local backend (the same ledger file), as the report shows them."""
        prefix = "%s:%s:" % (cr_model.CORRELATION_PREFIX, run_id)
        backend = LocalBackend(path, readonly=True)
        try:
            records = backend.list(correlation_prefix=prefix, limit=None)
        finally:
            backend.close()
        keys = ("number", "patch_group", "state", "close_code", "hosts", "owners", "host_outcomes")
        return [dict((k, r.get(k)) for k in keys) for r in records]
