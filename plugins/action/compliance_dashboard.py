# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side compliance dashboard from the ledger (documented in plugins/modules/compliance_dashboard.py)."""

from __future__ import annotations

import json
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
    _VALID_ARGS = frozenset(("path", "run_id", "dest", "trend_runs"))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=dict(
            path=dict(type="path", required=True),
            run_id=dict(type="str"),
            dest=dict(type="path", required=True),
            trend_runs=dict(type="int", default=dashboard.TREND_RUNS),
        ))
        if not os.path.exists(args["path"]):
            raise AnsibleActionFail("compliance_dashboard: no ledger at %s (path); run a patch night first" % args["path"])
        if args["trend_runs"] < 1:
            raise AnsibleActionFail("compliance_dashboard: trend_runs must be 1 or more, got %d" % args["trend_runs"])
        try:
            page, figures = build(args["path"], args["run_id"], args["trend_runs"], cache=args["dest"] + ".trend.json")
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


def build(path, run_id=None, trend_runs=dashboard.TREND_RUNS, cache=None):
    """(html, report) of a run (the newest when run_id is None) with the trend of the runs up to it.

    cache: a JSON file keeping the trend point of each finished run (keyed by run id and finish
    time, so a rerun of a run recomputes it); the ledger is append-only, so a finished run's point
    never changes, and a nightly dashboard reads one run instead of thirty.
    """
    known = _read_cache(cache)
    with Ledger(path) as ledger:
        runs = run_ids(ledger)
        if not runs:
            raise LedgerError("the ledger %s holds no run yet" % path)
        run_id = run_id or runs[-1]
        if run_id not in runs:
            raise LedgerError("run_id %r is not in the ledger %s" % (run_id, path))
        earlier = runs[:runs.index(run_id)][-(trend_runs - 1):] if trend_runs > 1 else []
        trend, fresh = [], {}
        for rid in earlier:
            run = ledger.run(rid)
            stamp = "%s|%s" % (run["status"], run["finished_at"])
            entry = known.get(rid)
            if not entry or entry.get("stamp") != stamp:
                entry = {"stamp": stamp, "point": dashboard.trend_point(load_report(ledger, rid)[0])}
            fresh[rid] = entry
            trend.append(entry["point"])
        report = load_report(ledger, run_id)[0]
    trend.append(dashboard.trend_point(report))
    if cache and fresh != dict((k, v) for k, v in known.items() if k in fresh):
        write(cache, json.dumps(dict(known, **fresh), sort_keys=True))
    # the page says when it was written, to the minute: a rerun within the minute changes nothing
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return dashboard.render(report, trend, generated_at=stamp), report


def _read_cache(cache):
    if not cache or not os.path.exists(cache):
        return {}
    try:
        with open(cache, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):  # a damaged cache is rebuilt from the ledger
        return {}
    return data if isinstance(data, dict) else {}


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
