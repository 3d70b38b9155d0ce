# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side report of a run from the ledger (documented in plugins/modules/patch_report.py)."""

from __future__ import annotations

import os
import sqlite3

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_errors import CRError
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.dashboard import TREND_RUNS
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.findings_report import outcome_details
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.fleet_plan import PlanError, close_plan
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ledger import Ledger, LedgerError
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.lifecycle import lost_candidates, verdict
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.redact import excerpt
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.report import host_outcomes, render_table
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.report_outputs import newest_run, write_outputs
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.run_state import workflow_stats


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(("path", "run_id", "dest", "plan", "integrity_check", "dashboard_dest", "trend_runs",
                             "export_dest", "targeted", "close_plan", "return_report", "report_location", "read"))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=dict(
            path=dict(type="path", required=True),
            run_id=dict(type="str"),
            dest=dict(type="path"),
            plan=dict(type="dict"),
            integrity_check=dict(type="str", choices=["full", "header"], default="full"),
            dashboard_dest=dict(type="path"),
            trend_runs=dict(type="int", default=TREND_RUNS),
            export_dest=dict(type="path"),
            targeted=dict(type="list", elements="str"),
            close_plan=dict(type="dict"),
            return_report=dict(type="bool", default=True),
            report_location=dict(type="str"),
            read=dict(type="str", choices=["report", "outcomes"], default="report"),
        ))
        if not os.path.exists(args["path"]):
            raise AnsibleActionFail("patch_report: no ledger at %s (path); run a patch night first" % args["path"])
        if args["trend_runs"] < 1:
            raise AnsibleActionFail("patch_report: trend_runs must be 1 or more, got %d" % args["trend_runs"])
        if args["read"] == "outcomes":
            return self._outcomes(result, args)
        try:
            # one read of the run for report.json, the dashboard and the export (module_utils/report_outputs.py)
            out = write_outputs(args["path"], args["run_id"], dest=args["dest"], dashboard_dest=args["dashboard_dest"],
                                export_dest=args["export_dest"], trend_runs=args["trend_runs"],
                                check=args["integrity_check"], check_mode=bool(self._task.check_mode), plan=args["plan"])
        except LedgerError as exc:
            raise AnsibleActionFail("patch_report: %s" % exc)
        except (sqlite3.Error, CRError) as exc:
            raise AnsibleActionFail("patch_report: the ledger %s cannot be read (%s): it may be damaged; nothing was "
                                    "written" % (args["path"], excerpt(str(exc), 300)))
        except OSError as exc:
            # dest, dashboard_dest or export_dest: the file it could not write is named
            raise AnsibleActionFail("patch_report: cannot write %s: %s" % (exc.filename or args["dest"], exc.strerror or exc))
        except Exception as exc:  # noqa: BLE001 - a report must end in a message, never a traceback
            raise AnsibleActionFail("patch_report: the run %s in %s could not be reported (%s: %s); the ledger is unchanged"
                                    % (args["run_id"], args["path"], type(exc).__name__, excerpt(str(exc), 300)))
        report = out["report"]
        result.update(changed=out["changed"], table=render_table(report).splitlines(), dest=args["dest"],
                      run_id=out["run_id"], dashboard=out["dashboard"], export=out["export"],
                      # what the night's next steps need, instead of the whole report (12.5 MB at 10,000 hosts)
                      verdict=verdict(report["hosts"]), summary=report["summary"])
        if args["targeted"] is not None:
            # the hosts lost during their batch: their report entries, for the lost_hosts filter
            result["lost_hosts"] = [dict((k, h.get(k)) for k in ("name", "status", "phases"))
                                    for h in lost_candidates(report["hosts"], targeted=args["targeted"])]
        if args["close_plan"] is not None:
            try:
                # each change with its own hosts' outcomes and close notes (module_utils/fleet_plan.py)
                result["close_plan"] = close_plan(args["close_plan"], dict((h["name"], h["status"]) for h in report["hosts"]),
                                                  outcome_details(report["hosts"]), report)
            except PlanError as exc:
                raise AnsibleActionFail("patch_report: close_plan: %s" % exc)
        if args["report_location"]:
            # what set_stats hands the next AWX workflow node (the workflow_stats filter's figures)
            result["workflow_stats"] = workflow_stats(report, args["report_location"])
        if args["return_report"]:
            result["report"] = report
        return result

    def _outcomes(self, result, args):
        """read=outcomes: each host's outcome from its phase rows only; nothing is written."""
        other = [k for k in ("dest", "dashboard_dest", "export_dest", "close_plan", "report_location", "plan") if args[k] is not None]
        if other or args["return_report"]:
            raise AnsibleActionFail("patch_report: read=outcomes reads no report: leave out %s and set return_report false"
                                    % ", ".join(other or ["return_report"]))
        try:
            with Ledger(args["path"], check=args["integrity_check"]) as ledger:
                run_id = args["run_id"] or newest_run(ledger)[0]
                hosts = host_outcomes(ledger, run_id)
        except LedgerError as exc:
            raise AnsibleActionFail("patch_report: %s" % exc)
        except sqlite3.Error as exc:
            raise AnsibleActionFail("patch_report: the ledger %s cannot be read (%s): it may be damaged"
                                    % (args["path"], excerpt(str(exc), 300)))
        result.update(changed=False, run_id=run_id, verdict=verdict(hosts), dest=None)
        if args["targeted"] is not None:
            result["lost_hosts"] = lost_candidates(hosts, targeted=args["targeted"])
        return result
