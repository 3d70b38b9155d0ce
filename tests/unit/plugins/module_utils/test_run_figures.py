"""Each finished run's summary figures kept in the ledger (run_figures), and the dashboard's trend read from them."""

import sqlite3

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.action.compliance_dashboard import build
from ansible_collections.fleetpatch.hybrid.plugins.module_utils import dashboard
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ledger import SCHEMA_VERSION, Ledger, LedgerError
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.report import load_report

from .test_accounting import KERNEL, SSL, night


def a_night(ledger, run_id, rolled_back=False):
    """One run of two hosts (the accounting tests' rows)."""
    ledger.start_run(run_id, playbook="fleetpatch.hybrid.patch_night")
    night(ledger, "web-1", "web", [SSL, KERNEL], ["openssl", "linux-image"], ["openssl", "linux-image"], [], run_id=run_id)
    night(ledger, "db-1", "db", [SSL], ["openssl"], ["openssl"], [], status="rolled_back" if rolled_back else None,
          run_id=run_id)
    ledger.finish_run(run_id, "finished")


def figures_rows(path, run_id):
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT stamp, figures FROM run_figures WHERE run_id=? ORDER BY id", (run_id,)).fetchall()
    finally:
        conn.close()


def test_a_finished_runs_figures_are_kept_once_and_only_for_its_finish(tmp_path):
    path = str(tmp_path / "ledger.db")
    with Ledger(path) as ledger:
        ledger.start_run("r1")
        assert ledger.record_figures("r1", {"hosts": 1}) is False  # not finished: its figures can still change
        ledger.finish_run("r1", "finished")
        assert ledger.record_figures("r1", {"hosts": 1}) is True
        assert ledger.record_figures("r1", {"hosts": 1}) is False  # the same figures for the same finish: no new row
        assert ledger.run_figures() == {"r1": {"hosts": 1}} == ledger.run_figures(["r1", "r2"])
        assert ledger.run_figures(["r2"]) == {}
        # the run finished again (its report playbook closed it again): the kept figures are not its figures any more
        ledger.conn.execute("UPDATE runs SET finished_at='2099-01-01T00:00:00+00:00' WHERE run_id='r1'")
        ledger.conn.commit()
        assert ledger.run_figures() == {}
        assert ledger.record_figures("r1", {"hosts": 2}) is True
        assert ledger.run_figures() == {"r1": {"hosts": 2}}
        with pytest.raises(LedgerError, match="run_id 'r9' is not in the ledger"):
            ledger.record_figures("r9", {})
    assert len(figures_rows(path, "r1")) == 2  # append-only: the first finish's figures are still there


def test_a_version_2_ledger_gains_the_table(tmp_path):
    path = str(tmp_path / "ledger.db")
    Ledger(path).close()
    conn = sqlite3.connect(path)
    conn.executescript("DROP TABLE run_figures; PRAGMA user_version=2;")
    conn.close()
    with Ledger(path) as ledger:
        assert ledger.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
        assert ledger.run_figures() == {}


def test_the_trend_reads_the_kept_figures_and_keeps_the_missing_ones(tmp_path):
    path = str(tmp_path / "ledger.db")
    with Ledger(path) as ledger:
        for run_id, rolled_back in (("r1", True), ("r2", False), ("r3", False)):
            a_night(ledger, run_id, rolled_back)
        computed = dict((r, dashboard.trend_point(load_report(ledger, r)[0])) for r in ("r1", "r2", "r3"))
        # r1's report kept its figures, and they are what the dashboard shows for r1, not a recount
        ledger.record_figures("r1", dict(computed["r1"], hosts=41))
    assert computed["r1"]["compliance_pct"] != computed["r2"]["compliance_pct"]  # the runs differ

    page, report = build(path, keep=False)
    assert report["run_id"] == "r3"
    assert '<td class="n">41</td>' in page  # r1's kept figure
    with Ledger(path) as ledger:
        assert ledger.run_figures() == {"r1": dict(computed["r1"], hosts=41)}  # keep=False: r2 was not kept

    build(path)  # a dashboard outside check mode keeps r2's figures, computed from its rows (r3 is the shown run)
    with Ledger(path) as ledger:
        assert ledger.run_figures() == {"r1": dict(computed["r1"], hosts=41), "r2": computed["r2"]}

    page, report = build(path, run_id="r2", trend_runs=1)
    assert report["run_id"] == "r2" and 'data-figure="trend.count">1<' in page
