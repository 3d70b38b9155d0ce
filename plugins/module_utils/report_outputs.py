# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A night's report step: read the run from the ledger once, write its outputs (pure Python, no Ansible import).

report.json, the dashboard (with the trend of the runs before it) and the JSON Lines export to a
local folder are three views of one read of the run (`write_outputs`, used by
fleetpatch.hybrid.patch_report). Reading and building the run is most of each one's cost at
10,000 hosts (docs/performance.md), so the night pays it once, not once per file.
compliance_dashboard and compliance_publish still write each on its own (`dashboard_page`,
compliance_export.py) for a playbook that wants only one of them.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import compliance_export as export
from ansible_collections.fleetpatch.hybrid.plugins.module_utils import dashboard
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ledger import Ledger, LedgerError
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.report import load_report, report_text, run_ids
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.safe_write import write_atomic

REPORT_MODE = 0o600


def newest_run(ledger, run_id=None):
    """run_id when the ledger holds it, else (None given) the newest run; LedgerError otherwise."""
    runs = run_ids(ledger)
    if not runs:
        raise LedgerError("the ledger %s holds no run yet" % ledger.path)
    run_id = run_id or runs[-1]
    if run_id not in runs:
        raise LedgerError("run_id %r is not in the ledger %s" % (run_id, ledger.path))
    return run_id, runs


def dashboard_page(ledger, run_id=None, trend_runs=dashboard.TREND_RUNS, keep=True, report=None):
    """(html, report) of a run of an open Ledger (the newest when run_id is None), with the trend of the runs up to it.

    `report` is the run's report when the caller built it already (load_report), else it is built here.
    The earlier runs' trend points are the summary figures their reports kept in the ledger (one
    query); a finished run without them is computed from its rows and, with keep, its figures are
    kept for the next dashboard (the ledger is append-only: a finished run's figures never change).
    """
    run_id, runs = newest_run(ledger, run_id)
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
    if report is None:
        report = load_report(ledger, run_id)[0]
    trend.append(dashboard.trend_point(report))
    # the page says when it was written, to the minute: a rerun within the minute changes nothing
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return dashboard.render(report, trend, generated_at=stamp), report


def write_page(dest, text):
    """The dashboard written whole (safe_write: a private temporary file in dest's directory, renamed), mode 0644."""
    return write_atomic(dest, text, mode=0o644, dir_mode=0o755)


def _unchanged(dest, text, mode=None):
    if not os.path.isfile(dest) or os.path.islink(dest):
        return False
    if mode is not None and (os.stat(dest).st_mode & 0o777) != mode:
        return False
    with open(dest, encoding="utf-8") as handle:
        return handle.read() == text


def write_outputs(path, run_id=None, dest=None, dashboard_dest=None, export_dest=None,
                  trend_runs=dashboard.TREND_RUNS, check="full", check_mode=False, plan=None):
    """Read the run once; write report.json (dest), the dashboard and the local JSON Lines export.

    Returns {report, run_id, changed, dest, dashboard: {dest, changed, bytes} | None, export:
    {dest, written, removed, unchanged} | None}. In check mode nothing is written (report.json
    is, with a dry run's `plan`: the plan is what a check run is for) and `changed` says what would
    change. The run's summary figures are kept in the ledger for the dashboard's trend (append-only).
    """
    with Ledger(path, check=check) as ledger:
        run_id = newest_run(ledger, run_id)[0]
        # with its change requests and findings: module_utils/report.py load_report
        report, hosts = load_report(ledger, run_id)
        # a finished run's summary figures, kept for the dashboard's trend (one row per run)
        ledger.record_figures(run_id, dashboard.trend_point(report))
        page = None
        if dashboard_dest:
            page = dashboard_page(ledger, run_id, trend_runs, keep=not check_mode, report=report)[0]
    out = {"run_id": run_id, "changed": False, "dest": dest, "dashboard": None, "export": None}
    if export_dest:
        written, removed, unchanged = export.publish_local(export_dest, export.objects(report, hosts), report, check_mode)
        out["export"] = {"dest": export_dest, "written": written, "removed": removed, "unchanged": unchanged}
        out["changed"] = bool(written or removed)
    if page is not None:
        changed = not _unchanged(dashboard_dest, page)
        if changed and not check_mode:
            write_page(dashboard_dest, page)
        out["dashboard"] = {"dest": dashboard_dest, "changed": changed, "bytes": len(page.encode("utf-8"))}
        out["changed"] = out["changed"] or changed
    if plan is not None:
        # a dry run: the report carries the plan (and says it is one)
        report["check_run"] = True
        report["plan"] = plan
    if dest:
        text = report_text(report)
        changed = not _unchanged(dest, text, REPORT_MODE)
        if changed and (plan is not None or not check_mode):
            # private temp file in dest's directory, fsync, rename; the report is 0600 (docs/security.md)
            write_atomic(dest, text, mode=REPORT_MODE)
        out["changed"] = out["changed"] or changed
    out["report"] = report
    return out
