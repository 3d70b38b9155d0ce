# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side compliance dashboard from the ledger (documented in plugins/modules/compliance_dashboard.py)."""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import dashboard
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ledger import Ledger, LedgerError
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.report_outputs import dashboard_page, write_page


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(("path", "run_id", "dest", "trend_runs", "integrity_check"))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=dict(
            path=dict(type="path", required=True),
            run_id=dict(type="str"),
            dest=dict(type="path", required=True),
            trend_runs=dict(type="int", default=dashboard.TREND_RUNS),
            integrity_check=dict(type="str", choices=["full", "header"], default="full"),
        ))
        if not os.path.exists(args["path"]):
            raise AnsibleActionFail("compliance_dashboard: no ledger at %s (path); run a patch night first" % args["path"])
        if args["trend_runs"] < 1:
            raise AnsibleActionFail("compliance_dashboard: trend_runs must be 1 or more, got %d" % args["trend_runs"])
        try:
            page, figures = build(args["path"], args["run_id"], args["trend_runs"], keep=not self._task.check_mode,
                                  check=args["integrity_check"])
        except LedgerError as exc:
            raise AnsibleActionFail("compliance_dashboard: %s" % exc)
        old = None
        if os.path.exists(args["dest"]):
            with open(args["dest"], encoding="utf-8") as handle:
                old = handle.read()
        changed = old != page
        if changed and not self._task.check_mode:
            write(args["dest"], page)
        result.update(changed=changed, dest=args["dest"], run_id=figures["run_id"], summary=figures["summary"],
                      bytes=len(page.encode("utf-8")))
        return result


def build(path, run_id=None, trend_runs=dashboard.TREND_RUNS, keep=True, check="full"):
    """(html, report) of a run (the newest when run_id is None) with the trend of the runs up to it
    (module_utils/report_outputs.py dashboard_page)."""
    with Ledger(path, check=check) as ledger:
        return dashboard_page(ledger, run_id, trend_runs, keep)


def write(dest, text):
    write_page(dest, text)
