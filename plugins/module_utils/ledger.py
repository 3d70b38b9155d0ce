# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run ledger: every phase's outcome for every host, written as it happens (SQLite, WAL).

Pure Python, no Ansible import. Append-only: each attempt of a run (the first night and every
rerun with the same run id) adds its own rows, phase rows and package rows keyed by the attempt;
nothing recorded is overwritten. A host's outcome is judged from the latest row of each phase
(module_utils/lifecycle.py), and a rerun continues each host from there (``resume``).

Schema version 3 (PRAGMA user_version). A ledger of version 1 (one row per host and phase,
upserted) is migrated in place, its rows becoming attempt 1; version 2 gains the run_figures
table (each finished run's summary figures, as its report computed them, so a trend over many
runs reads one row per run); a ledger of a newer version than this code knows is refused with a
clear error.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import lifecycle
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.lifecycle import PHASE_STATUSES, PHASES
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.sqlite_file import FULL, LedgerDamaged, LedgerPathError, open_database

SCHEMA_VERSION = 4

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,
    playbook TEXT,
    check_mode INTEGER NOT NULL DEFAULT 0,
    meta TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS run_attempts (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    attempt INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,
    PRIMARY KEY (run_id, attempt)
);
CREATE TABLE IF NOT EXISTS run_hosts (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    host TEXT NOT NULL,
    patch_group TEXT,
    attrs TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, host)
);
CREATE TABLE IF NOT EXISTS host_phases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    attempt INTEGER NOT NULL,
    host TEXT NOT NULL,
    phase TEXT NOT NULL,
    status TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    message TEXT,
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS host_phases_run ON host_phases (run_id, host, phase);
CREATE TABLE IF NOT EXISTS package_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    attempt INTEGER NOT NULL,
    host TEXT NOT NULL,
    name TEXT NOT NULL,
    arch TEXT NOT NULL,
    from_version TEXT,
    to_version TEXT NOT NULL,
    classification TEXT,
    cves TEXT NOT NULL DEFAULT '[]',
    advisories TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS package_changes_run ON package_changes (run_id, host);
CREATE TABLE IF NOT EXISTS findings_checks (
    check_id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    host TEXT NOT NULL,
    stage TEXT NOT NULL,
    status TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    message TEXT,
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS findings (
    check_id INTEGER NOT NULL REFERENCES findings_checks(check_id),
    run_id TEXT NOT NULL,
    host TEXT NOT NULL,
    stage TEXT NOT NULL,
    cve TEXT NOT NULL,
    package TEXT,
    installed_version TEXT,
    fixed_version TEXT,
    severity TEXT,
    cvss REAL,
    source TEXT,
    state TEXT NOT NULL,
    reason TEXT
);
CREATE INDEX IF NOT EXISTS findings_by_run ON findings (run_id, host, stage);
CREATE TABLE IF NOT EXISTS run_figures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    stamp TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    figures TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS run_figures_run ON run_figures (run_id, id);
CREATE TABLE IF NOT EXISTS run_hooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    attempt INTEGER NOT NULL,
    point TEXT NOT NULL,
    status TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    message TEXT,
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS run_hooks_run ON run_hooks (run_id, id);
"""
# version 3 -> 4: the run_hooks table (created by SCHEMA's IF NOT EXISTS)
# run-level hook points (pre_night, post_night): one row per step, then the point's outcome
RUN_HOOK_POINTS = ("pre_night", "post_night")

# version 1 -> 2: keyed rows become attempt 1 of their run
MIGRATE_1 = """
ALTER TABLE host_phases RENAME TO host_phases_v1;
ALTER TABLE package_changes RENAME TO package_changes_v1;
DROP INDEX IF EXISTS host_phases_run;
DROP INDEX IF EXISTS package_changes_run;
""" + SCHEMA + """
INSERT INTO run_attempts (run_id, attempt, started_at, finished_at, status)
    SELECT run_id, 1, started_at, finished_at, status FROM runs;
INSERT INTO host_phases (run_id, attempt, host, phase, status, recorded_at, message, data)
    SELECT run_id, 1, host, phase, status, recorded_at, message, data FROM host_phases_v1 ORDER BY recorded_at, rowid;
INSERT INTO package_changes (run_id, attempt, host, name, arch, from_version, to_version, classification, cves, advisories)
    SELECT run_id, 1, host, name, arch, from_version, to_version, classification, cves, advisories FROM package_changes_v1;
DROP TABLE host_phases_v1;
DROP TABLE package_changes_v1;
"""
# Scanner findings (findings_correlate.py), appended, never updated: stage `scan` (state = the plan:
# patch_approved, patch_not_approved, fix_not_pending, no_fix) and stage `after` (state closed | open);
# each recording is one findings_checks row (status ok | failed | skipped, why) with its finding rows.
FINDINGS_STAGES = ("scan", "after", "source_check")
FINDINGS_CHECK_STATUSES = ("ok", "failed", "skipped")


class LedgerError(ValueError):
    """Bad input to the ledger: names the field and the allowed values."""


def utcnow():
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


class Ledger(object):
    def __init__(self, path, timeout=30.0, check=FULL):
        self.path = path
        try:
            # exactly this file (any characters), created 0600, refused when damaged (sqlite_file.py):
            # check FULL reads every page (once per night, at its start), HEADER the header and schema
            # (every later open of the night), None nothing
            self.conn = open_database(path, timeout=timeout, check=check)
        except (LedgerPathError, LedgerDamaged) as exc:
            raise LedgerError(str(exc)) from exc
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self._schema()

    def _schema(self):
        """Create, migrate (version 1) or refuse (newer) the ledger's tables."""
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            self.conn.close()
            raise LedgerError("the ledger %s has schema version %d, newer than this collection knows (%d): "
                              "use the fleetpatch.hybrid version that wrote it, or another path" % (self.path, version, SCHEMA_VERSION))
        tables = set(r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'"))
        script = SCHEMA
        if "host_phases" in tables:
            columns = set(r[1] for r in self.conn.execute("PRAGMA table_info(host_phases)"))
            if "attempt" not in columns:
                script = MIGRATE_1
        try:
            self.conn.executescript("BEGIN IMMEDIATE;\n%s\nPRAGMA user_version=%d;\nCOMMIT;" % (script, SCHEMA_VERSION))
        except sqlite3.Error as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            self.conn.close()
            raise LedgerError("the ledger %s could not be %s to schema version %d (%s); it was left as it was: "
                              "keep a copy and start with a new path" % (
                                  self.path, "migrated" if script is MIGRATE_1 else "created", SCHEMA_VERSION, exc))

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _write(self, sql, args):
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute(sql, args)

    def start_run(self, run_id, playbook=None, check_mode=False, meta=None):
        """Open a run, or its next attempt: a rerun with the same id continues it.

        Returns {run_id, attempt, state}: state ``new`` (first attempt), ``resumed`` (a later
        attempt of a run that did not finish) or ``finished`` (the run finished before: no
        attempt is added and nothing is written).
        """
        _require("run_id", run_id)
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            row = self.conn.execute("SELECT status, finished_at FROM runs WHERE run_id=?", (run_id,)).fetchone()
            last = self.conn.execute("SELECT MAX(attempt) FROM run_attempts WHERE run_id=?", (run_id,)).fetchone()[0] or 0
            if row is not None and row[1] is not None:
                return {"run_id": run_id, "attempt": last, "state": "finished", "finished_at": row[1], "status": row[0]}
            now = utcnow()
            if row is None:
                self.conn.execute(
                    "INSERT INTO runs (run_id, started_at, status, playbook, check_mode, meta) VALUES (?, ?, 'running', ?, ?, ?)",
                    (run_id, now, playbook, int(bool(check_mode)), json.dumps(meta or {}, sort_keys=True)))
            self.conn.execute("UPDATE run_attempts SET status='interrupted' WHERE run_id=? AND finished_at IS NULL", (run_id,))
            self.conn.execute("INSERT INTO run_attempts (run_id, attempt, started_at, status) VALUES (?, ?, ?, 'running')",
                              (run_id, last + 1, now))
        return {"run_id": run_id, "attempt": last + 1, "state": "new" if row is None else "resumed"}

    def _require_run(self, run_id):
        """The run's current attempt (it must have been started)."""
        _require("run_id", run_id)
        row = self.conn.execute("SELECT MAX(attempt) FROM run_attempts WHERE run_id=?", (run_id,)).fetchone()
        if row is None or row[0] is None:
            raise LedgerError("run_id %r is not in the ledger %s: start the run first (action=start_run)" % (run_id, self.path))
        return row[0]

    def record_host(self, run_id, host, patch_group=None, attrs=None):
        """The host's description in the run (patch group, environment, owner...): not an outcome."""
        self._require_run(run_id)
        _require("host", host)
        self._write(
            "INSERT INTO run_hosts (run_id, host, patch_group, attrs) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(run_id, host) DO UPDATE SET patch_group=excluded.patch_group, attrs=excluded.attrs",
            (run_id, host, patch_group, json.dumps(attrs or {}, sort_keys=True)))

    def record_phase(self, run_id, host, phase, status, message=None, data=None):
        """Add a phase row for the run's current attempt (never replaces an earlier one)."""
        attempt = self._require_run(run_id)
        _require("host", host)
        if phase not in PHASES:
            raise LedgerError("phase %r is not one of %s" % (phase, ", ".join(PHASES)))
        if status not in PHASE_STATUSES:
            raise LedgerError("status %r is not one of %s" % (status, ", ".join(PHASE_STATUSES)))
        self._write(
            "INSERT INTO host_phases (run_id, attempt, host, phase, status, recorded_at, message, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, attempt, host, phase, status, utcnow(), message, json.dumps(data or {}, sort_keys=True)))

    def record_changes(self, run_id, host, changes):
        """Package changes a host received (name, arch, from, to, classification, cves, advisories),
        read from its real package state; added for the current attempt unless the host's latest
        row for the package already says the same."""
        attempt = self._require_run(run_id)
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            for change in changes:
                row = (change["name"], change.get("arch") or "all", change.get("from"), change["to"], change.get("classification"),
                       json.dumps(change.get("cves") or []), json.dumps(change.get("advisories") or []))
                latest = self.conn.execute(
                    "SELECT name, arch, from_version, to_version, classification, cves, advisories FROM package_changes "
                    "WHERE run_id=? AND host=? AND name=? AND arch=? ORDER BY id DESC LIMIT 1", (run_id, host, row[0], row[1])).fetchone()
                if latest == row:
                    continue  # the same change proved again (the rescan after the patch, a resumed rescan): nothing new
                self.conn.execute(
                    "INSERT INTO package_changes (run_id, attempt, host, name, arch, from_version, to_version, classification, "
                    "cves, advisories) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (run_id, attempt, host) + row)

    def record_findings(self, run_id, host, stage, status, findings=(), message=None, data=None):
        """Append one findings check of a host (a stage's outcome and its findings); never rewrites."""
        self._require_run(run_id)
        _require("host", host)
        if stage not in FINDINGS_STAGES:
            raise LedgerError("findings stage %r is not one of %s" % (stage, ", ".join(FINDINGS_STAGES)))
        if status not in FINDINGS_CHECK_STATUSES:
            raise LedgerError("findings status %r is not one of %s" % (status, ", ".join(FINDINGS_CHECK_STATUSES)))
        rows = []
        for index, finding in enumerate(findings or ()):
            if not finding.get("cve") or not finding.get("state"):
                raise LedgerError("findings[%d]: cve and state are required, got %r" % (index, finding))
            rows.append((run_id, host, stage, finding["cve"], finding.get("package"), finding.get("installed_version"),
                         finding.get("fixed_version"), finding.get("severity"), finding.get("cvss"), finding.get("source"),
                         finding["state"], finding.get("reason")))
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            check = self.conn.execute(
                "INSERT INTO findings_checks (run_id, host, stage, status, recorded_at, message, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (run_id, host, stage, status, utcnow(), message, json.dumps(data or {}, sort_keys=True))).lastrowid
            self.conn.executemany(
                "INSERT INTO findings (check_id, run_id, host, stage, cve, package, installed_version, fixed_version, severity, "
                "cvss, source, state, reason) VALUES (%d, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" % check, rows)
        return check

    def findings(self, run_id):
        """{host: {stage: {status, message, data, recorded_at, findings}}}, the latest check of each stage."""
        latest = {}
        for check_id, host, stage, status, at, message, data in self.conn.execute(
                "SELECT check_id, host, stage, status, recorded_at, message, data FROM findings_checks WHERE run_id=? "
                "ORDER BY check_id", (run_id,)):
            latest.setdefault(host, {})[stage] = {"check_id": check_id, "status": status, "recorded_at": at,
                                                  "message": message, "data": json.loads(data), "findings": []}
        wanted = dict((entry["check_id"], entry) for stages in latest.values() for entry in stages.values())
        keys = ("cve", "package", "installed_version", "fixed_version", "severity", "cvss", "source", "state", "reason")
        for row in self.conn.execute(
                "SELECT check_id, cve, package, installed_version, fixed_version, severity, cvss, source, state, reason "
                "FROM findings WHERE run_id=? ORDER BY rowid", (run_id,)):
            entry = wanted.get(row[0])
            if entry is not None:
                entry["findings"].append(dict(zip(keys, row[1:], strict=True)))
        return latest

    def finish_run(self, run_id, status):
        attempt = self._require_run(run_id)
        now = utcnow()
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute("UPDATE runs SET status=?, finished_at=? WHERE run_id=?", (status, now, run_id))
            self.conn.execute("UPDATE run_attempts SET status=?, finished_at=? WHERE run_id=? AND attempt=?",
                              (status, now, run_id, attempt))

    def record_figures(self, run_id, figures):
        """Keep a finished run's summary figures (a JSON object, computed by the report from the
        run's rows), so a trend over many runs reads one row per run instead of every host of each.

        Append-only: the row carries the run's stamp (status and finish time); a run resumed and
        finished again gets a new row, and the same figures for the same stamp are not added twice.
        An unfinished run's figures are not kept (they can still change). Returns True when a row
        was added.
        """
        row = self.conn.execute("SELECT status, finished_at FROM runs WHERE run_id=?", (run_id,)).fetchone()
        if row is None:
            raise LedgerError("run_id %r is not in the ledger %s" % (run_id, self.path))
        if row[1] is None:
            return False
        stamp, text = _stamp(*row), json.dumps(figures, sort_keys=True)
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            latest = self.conn.execute("SELECT stamp, figures FROM run_figures WHERE run_id=? ORDER BY id DESC LIMIT 1",
                                       (run_id,)).fetchone()
            if latest == (stamp, text):
                return False
            self.conn.execute("INSERT INTO run_figures (run_id, stamp, recorded_at, figures) VALUES (?, ?, ?, ?)",
                              (run_id, stamp, utcnow(), text))
        return True

    def run_figures(self, run_ids=None):
        """{run_id: figures} of the finished runs (of run_ids, or all) whose latest kept figures
        belong to the run as it stands (same stamp); a run left out must be computed from its rows."""
        out = {}
        wanted = None if run_ids is None else set(run_ids)
        for run_id, stamp, figures, status, finished_at in self.conn.execute(
                "SELECT f.run_id, f.stamp, f.figures, r.status, r.finished_at FROM run_figures f JOIN runs r ON r.run_id = f.run_id "
                "WHERE f.id IN (SELECT MAX(id) FROM run_figures GROUP BY run_id)"):
            if (wanted is None or run_id in wanted) and finished_at is not None and stamp == _stamp(status, finished_at):
                out[run_id] = json.loads(figures)
        return out

    def record_run_hook(self, run_id, point, status, message=None, data=None):
        """Add a row of a run-level hook point (pre_night, post_night) for the run's current attempt:
        a step's outcome or the point's own (never replaces an earlier one)."""
        attempt = self._require_run(run_id)
        if point not in RUN_HOOK_POINTS:
            raise LedgerError("run hook point %r is not one of %s" % (point, ", ".join(RUN_HOOK_POINTS)))
        if status not in PHASE_STATUSES:
            raise LedgerError("status %r is not one of %s" % (status, ", ".join(PHASE_STATUSES)))
        self._write("INSERT INTO run_hooks (run_id, attempt, point, status, recorded_at, message, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (run_id, attempt, point, status, utcnow(), message, json.dumps(data or {}, sort_keys=True)))

    def run_hooks(self, run_id):
        """The run-level hook points of a run, in order: [{point, status, message, data, attempt, recorded_at}]."""
        keys = ("point", "status", "message", "data", "attempt", "recorded_at")
        rows = self.conn.execute("SELECT point, status, message, data, attempt, recorded_at FROM run_hooks WHERE run_id=? ORDER BY id",
                                 (run_id,)).fetchall()
        return [dict(zip(keys, r[:3] + (json.loads(r[3]),) + r[4:], strict=True)) for r in rows]

    def phase(self, run_id, host, phase):
        """The latest row of a host's phase, or None."""
        row = self.conn.execute("SELECT status, message, data, attempt FROM host_phases WHERE run_id=? AND host=? AND phase=? "
                                "ORDER BY id DESC LIMIT 1", (run_id, host, phase)).fetchone()
        if row is None:
            return None
        return {"status": row[0], "message": row[1], "data": json.loads(row[2]), "attempt": row[3]}

    def run(self, run_id):
        row = self.conn.execute("SELECT run_id, started_at, finished_at, status, playbook, check_mode, meta FROM runs WHERE run_id=?",
                                (run_id,)).fetchone()
        if row is None:
            raise LedgerError("run_id %r is not in the ledger %s" % (run_id, self.path))
        keys = ("run_id", "started_at", "finished_at", "status", "playbook", "check_mode", "meta")
        run = dict(zip(keys, row, strict=True))
        run["meta"] = json.loads(run["meta"])
        run["check_mode"] = bool(run["check_mode"])
        run["attempts"] = [dict(zip(("attempt", "started_at", "finished_at", "status"), r, strict=True)) for r in self.conn.execute(
            "SELECT attempt, started_at, finished_at, status FROM run_attempts WHERE run_id=? ORDER BY attempt", (run_id,))]
        return run

    def hosts(self, run_id, phases=None, changes=True, host=None):
        """Every host of a run with its attributes, the latest row of each phase and its package
        changes (the latest row of each package: a resumed rescan proves the same change again).

        `phases` (names) reads only those phases' rows and `changes=False` no package changes:
        a controller step that needs less of 10,000 hosts decodes less. `host` reads that one
        host's rows only (through the tables' (run_id, host) indexes).
        """
        hosts = {}
        one = " AND host=?" if host else ""
        key = [run_id, host] if host else [run_id]

        def entry(name):
            return hosts.setdefault(name, {"name": name, "patch_group": None, "attrs": {}, "phases": {}, "changes": []})

        for host, group, attrs in self.conn.execute(
                "SELECT host, patch_group, attrs FROM run_hosts WHERE run_id=?" + one + " ORDER BY host", key):
            entry(host).update(patch_group=group, attrs=json.loads(attrs))
        only = list(phases or ())
        for host, phase, status, at, message, data, attempt in self.conn.execute(
                "SELECT host, phase, status, recorded_at, message, data, attempt FROM host_phases WHERE run_id=?" + one
                + (" AND phase IN (%s)" % ", ".join("?" * len(only)) if only else "") + " ORDER BY id", key + only):
            entry(host)["phases"][phase] = {"status": status, "recorded_at": at, "message": message, "data": json.loads(data),
                                            "attempt": attempt}
        latest = {}
        for row in self.conn.execute(
                "SELECT host, name, arch, from_version, to_version, classification, cves, advisories, attempt FROM package_changes "
                "WHERE run_id=?" + one + " ORDER BY id", key) if changes else ():
            latest[(row[0], row[1], row[2])] = row
        for key in sorted(latest):
            row = latest[key]
            entry(row[0])["changes"].append({"name": row[1], "arch": row[2], "from": row[3], "to": row[4], "classification": row[5],
                                             "cves": json.loads(row[6]), "advisories": json.loads(row[7]), "attempt": row[8]})
        return [hosts[name] for name in sorted(hosts)]

    def resume(self, run_id, host=None):
        """Where each host of an unfinished run goes on: {host: state} (see resume_state); with
        `host`, that host alone ({} when the ledger has no row of it)."""
        return dict((entry["name"], resume_state(entry)) for entry in self.hosts(run_id, changes=False, host=host))


def _stamp(status, finished_at):
    return "%s|%s" % (status, finished_at)


def resume_state(host):
    """A host's place in its run, from the latest row of each phase.

    status: its outcome so far; next: the phase it goes on with (None when final); skip: the
    phases it completed, which a rerun does not run again; ready: it got through approval (its
    patch group's change request is found again); approved: the approved patch records the
    scan recorded (reused, never re-judged); package_manager; snapshot: what the rollback needs.
    """
    phases = host["phases"]
    status = lifecycle.host_status(phases)
    nxt = lifecycle.next_phase(phases)
    order = lifecycle.PREPARE_PHASES + lifecycle.BATCH_PHASES
    if nxt is None:
        skip = list(order)
    elif nxt == "rollback":
        skip = list(order[:order.index("validate")])
    else:
        skip = list(order[:order.index(nxt)])
    if nxt == "reboot" and (phases.get("patch") or {}).get("status") != "changed":
        skip.append("reboot")  # nothing was installed: nothing to reboot for
    scan = (phases.get("scan") or {}).get("data") or {}
    approve = phases.get("approve") or {}
    names = set((approve.get("data") or {}).get("approved") or [])
    approved = [p for p in scan.get("patches") or [] if p.get("name") in names]
    snap = phases.get("snapshot") or {}
    snapshot = None
    if snap:
        data = snap.get("data") or {}
        snapshot = {"provider": data.get("provider"), "restore": data.get("restore"), "status": snap["status"],
                    "ids": data.get("ids") or [], "details": data.get("details") or {},
                    "package_manager": data.get("package_manager"), "package_state": data.get("package_state") or []}
    return {"status": status, "next": nxt, "skip": skip, "ready": approve.get("status") in lifecycle.PHASE_DONE,
            "approved": approved, "package_manager": scan.get("package_manager"), "snapshot": snapshot}


def _require(field, value):
    if not value or not isinstance(value, str):
        raise LedgerError("%s is required (a non-empty string), got %r" % (field, value))
