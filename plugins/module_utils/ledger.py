# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run ledger: every phase's outcome for every host, written as it happens (SQLite, WAL).

Pure Python, no Ansible import. A crash of the controller loses nothing that was recorded,
and a rerun with the same run id overwrites a host's phase rows instead of adding new ones.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.lifecycle import PHASE_STATUSES, PHASES
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.sqlite_file import LedgerDamaged, LedgerPathError, open_database

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
CREATE TABLE IF NOT EXISTS run_hosts (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    host TEXT NOT NULL,
    patch_group TEXT,
    attrs TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, host)
);
CREATE TABLE IF NOT EXISTS host_phases (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    host TEXT NOT NULL,
    phase TEXT NOT NULL,
    status TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    message TEXT,
    data TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, host, phase)
);
CREATE TABLE IF NOT EXISTS package_changes (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    host TEXT NOT NULL,
    name TEXT NOT NULL,
    arch TEXT NOT NULL,
    from_version TEXT,
    to_version TEXT NOT NULL,
    classification TEXT,
    cves TEXT NOT NULL DEFAULT '[]',
    advisories TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (run_id, host, name, arch)
);
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
    def __init__(self, path, timeout=30.0, check=True):
        self.path = path
        try:
            # exactly this file (any characters), created 0600, refused when damaged (sqlite_file.py);
            # check=False for the many per-host writes of a night whose start_run checked the file
            self.conn = open_database(path, timeout=timeout, check=check)
        except (LedgerPathError, LedgerDamaged) as exc:
            raise LedgerError(str(exc)) from exc
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.executescript(SCHEMA)

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
        """Open a run, or reopen it: a rerun with the same id resumes it."""
        _require("run_id", run_id)
        self._write(
            "INSERT INTO runs (run_id, started_at, status, playbook, check_mode, meta) VALUES (?, ?, 'running', ?, ?, ?) "
            "ON CONFLICT(run_id) DO UPDATE SET status='running', finished_at=NULL",
            (run_id, utcnow(), playbook, int(bool(check_mode)), json.dumps(meta or {}, sort_keys=True)))

    def _require_run(self, run_id):
        _require("run_id", run_id)
        if self.conn.execute("SELECT 1 FROM runs WHERE run_id=?", (run_id,)).fetchone() is None:
            raise LedgerError("run_id %r is not in the ledger %s: start the run first (action=start_run)" % (run_id, self.path))

    def record_host(self, run_id, host, patch_group=None, attrs=None):
        self._require_run(run_id)
        _require("host", host)
        self._write(
            "INSERT INTO run_hosts (run_id, host, patch_group, attrs) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(run_id, host) DO UPDATE SET patch_group=excluded.patch_group, attrs=excluded.attrs",
            (run_id, host, patch_group, json.dumps(attrs or {}, sort_keys=True)))

    def record_phase(self, run_id, host, phase, status, message=None, data=None):
        self._require_run(run_id)
        _require("host", host)
        if phase not in PHASES:
            raise LedgerError("phase %r is not one of %s" % (phase, ", ".join(PHASES)))
        if status not in PHASE_STATUSES:
            raise LedgerError("status %r is not one of %s" % (status, ", ".join(PHASE_STATUSES)))
        self._write(
            "INSERT INTO host_phases (run_id, host, phase, status, recorded_at, message, data) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(run_id, host, phase) DO UPDATE SET status=excluded.status, recorded_at=excluded.recorded_at, "
            "message=excluded.message, data=excluded.data",
            (run_id, host, phase, status, utcnow(), message, json.dumps(data or {}, sort_keys=True)))

    def record_changes(self, run_id, host, changes):
        """Package changes a host received: name, arch, from, to, classification, cves, advisories."""
        self._require_run(run_id)
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            for change in changes:
                self.conn.execute(
                    "INSERT INTO package_changes (run_id, host, name, arch, from_version, to_version, classification, cves, advisories) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(run_id, host, name, arch) DO UPDATE SET "
                    "to_version=excluded.to_version, classification=excluded.classification, cves=excluded.cves, "
                    "advisories=excluded.advisories",
                    (run_id, host, change["name"], change.get("arch") or "all", change.get("from"), change["to"],
                     change.get("classification"), json.dumps(change.get("cves") or []),
                     json.dumps(change.get("advisories") or [])))

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
        self._require_run(run_id)
        self._write("UPDATE runs SET status=?, finished_at=? WHERE run_id=?", (status, utcnow(), run_id))

    def phase(self, run_id, host, phase):
        row = self.conn.execute("SELECT status, message, data FROM host_phases WHERE run_id=? AND host=? AND phase=?",
                                (run_id, host, phase)).fetchone()
        if row is None:
            return None
        return {"status": row[0], "message": row[1], "data": json.loads(row[2])}

    def run(self, run_id):
        row = self.conn.execute("SELECT run_id, started_at, finished_at, status, playbook, check_mode, meta FROM runs WHERE run_id=?",
                                (run_id,)).fetchone()
        if row is None:
            raise LedgerError("run_id %r is not in the ledger %s" % (run_id, self.path))
        keys = ("run_id", "started_at", "finished_at", "status", "playbook", "check_mode", "meta")
        run = dict(zip(keys, row, strict=True))
        run["meta"] = json.loads(run["meta"])
        run["check_mode"] = bool(run["check_mode"])
        return run

    def hosts(self, run_id):
        """Every host of a run with its attributes, phases and package changes."""
        hosts = {}
        for host, group, attrs in self.conn.execute(
                "SELECT host, patch_group, attrs FROM run_hosts WHERE run_id=? ORDER BY host", (run_id,)):
            hosts[host] = {"name": host, "patch_group": group, "attrs": json.loads(attrs), "phases": {}, "changes": []}
        for host, phase, status, at, message, data in self.conn.execute(
                "SELECT host, phase, status, recorded_at, message, data FROM host_phases WHERE run_id=?", (run_id,)):
            entry = hosts.setdefault(host, {"name": host, "patch_group": None, "attrs": {}, "phases": {}, "changes": []})
            entry["phases"][phase] = {"status": status, "recorded_at": at, "message": message, "data": json.loads(data)}
        for row in self.conn.execute(
                "SELECT host, name, arch, from_version, to_version, classification, cves, advisories FROM package_changes "
                "WHERE run_id=? ORDER BY host, name", (run_id,)):
            entry = hosts.setdefault(row[0], {"name": row[0], "patch_group": None, "attrs": {}, "phases": {}, "changes": []})
            entry["changes"].append({"name": row[1], "arch": row[2], "from": row[3], "to": row[4], "classification": row[5],
                                     "cves": json.loads(row[6]), "advisories": json.loads(row[7])})
        return [hosts[name] for name in sorted(hosts)]


def _require(field, value):
    if not value or not isinstance(value, str):
        raise LedgerError("%s is required (a non-empty string), got %r" % (field, value))
