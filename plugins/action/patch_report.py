# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side report of a run from the ledger (documented in plugins/modules/patch_report.py)."""

from __future__ import annotations

import json
import os
import sqlite3

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_errors import CRError
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.dashboard import trend_point
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ledger import Ledger, LedgerError
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.redact import excerpt
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.report import load_report, render_table
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.safe_write import write_atomic

REPORT_MODE = 0o600


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(("path", "run_id", "dest", "plan", "integrity_check"))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=dict(
            path=dict(type="path", required=True),
            run_id=dict(type="str", required=True),
            dest=dict(type="path"),
            plan=dict(type="dict"),
            integrity_check=dict(type="str", choices=["full", "header"], default="full"),
        ))
        if not os.path.exists(args["path"]):
            raise AnsibleActionFail("patch_report: no ledger at %s (path); run a patch night first" % args["path"])
        try:
            report, changed = self._report(args)
        except AnsibleActionFail:
            raise
        except LedgerError as exc:
            raise AnsibleActionFail("patch_report: %s" % exc)
        except (sqlite3.Error, CRError) as exc:
            raise AnsibleActionFail("patch_report: the ledger %s cannot be read (%s): it may be damaged; nothing was "
                                    "written" % (args["path"], excerpt(str(exc), 300)))
        except OSError as exc:
            raise AnsibleActionFail("patch_report: cannot write the report %s (dest): %s" % (args["dest"], exc.strerror or exc))
        except Exception as exc:  # noqa: BLE001 - a report must end in a message, never a traceback
            raise AnsibleActionFail("patch_report: the run %s in %s could not be reported (%s: %s); the ledger is unchanged"
                                    % (args["run_id"], args["path"], type(exc).__name__, excerpt(str(exc), 300)))
        result.update(changed=changed, report=report, table=render_table(report).splitlines(), dest=args["dest"])
        return result

    def _report(self, args):
        with Ledger(args["path"], check=args["integrity_check"]) as ledger:
            # with its change requests and findings: module_utils/report.py load_report
            report = load_report(ledger, args["run_id"])[0]
            # a finished run's summary figures, kept for the dashboard's trend (one row per run)
            ledger.record_figures(args["run_id"], trend_point(report))
        if args["plan"] is not None:
            # a dry run: the report carries the plan (and says it is one); its file is written even
            # in check mode, as the plan is what a check run is for
            report["check_run"] = True
            report["plan"] = args["plan"]
        changed = False
        if args["dest"]:
            text = json.dumps(report, indent=2, sort_keys=True, default=str) + "\n"
            old = None
            if os.path.isfile(args["dest"]) and not os.path.islink(args["dest"]):
                with open(args["dest"]) as handle:
                    old = handle.read()
            changed = old != text or (os.stat(args["dest"]).st_mode & 0o777) != REPORT_MODE
            if changed and (args["plan"] is not None or not self._task.check_mode):
                # private temp file in dest's directory, fsync, rename; the report is 0600 (docs/security.md)
                write_atomic(args["dest"], text, mode=REPORT_MODE)
        return report, changed
