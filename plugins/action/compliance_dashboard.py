# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side compliance dashboard from the ledger (documented in plugins/modules/compliance_dashboard.py)."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime, timezone

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import dashboard
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ledger import Ledger, LedgerError
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.report import load_report, run_ids


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
    """(html, report) of a run (the newest when run_id is None) with the trend of the runs up to it.

    The earlier runs' trend points are the summary figures their reports kept in the ledger (one
    query); a finished run without them is computed from its rows and, with keep, its figures are
    kept for the next dashboard (the ledger is append-only: a finished run's figures never change).
    """
    with Ledger(path, check=check) as ledger:
        runs = run_ids(ledger)
        if not runs:
            raise LedgerError("the ledger %s holds no run yet" % path)
        run_id = run_id or runs[-1]
        if run_id not in runs:
            raise LedgerError("run_id %r is not in the ledger %s" % (run_id, path))
        earlier = runs[:runs.index(run_id)][-(trend_runs - 1):] if trend_runs > 1 else []
        kept = ledger.run_figures(earlier)
        trend = []
        for rid in earlier:
            point = kept.get(rid)
            if point is None:
                point = dashboard.trend_point(load_report(ledger, rid)[0])
                if keep:
                    ledger.record_figures(rid, point)
            trend.append(point)
        report = load_report(ledger, run_id)[0]
    trend.append(dashboard.trend_point(report))
    # the page says when it was written, to the minute: a rerun within the minute changes nothing
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return dashboard.render(report, trend, generated_at=stamp), report


def write(dest, text):
    directory = os.path.dirname(os.path.abspath(dest))
    os.makedirs(directory, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=directory, prefix=".dashboard-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
