# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local change-request backend: change requests kept in the run ledger's SQLite file.

Pure Python, no Ansible import. Its tables sit beside the ledger's (ledger.py) in the same file,
created with CREATE TABLE IF NOT EXISTS, with the same WAL journal and busy timeout. Numbers
(CHG0001001, ...) come from a counter row, so they only grow, even when rows are deleted.
ensure() runs in one IMMEDIATE transaction: two runs racing for the same correlation id
serialise, and a failure half-way leaves nothing written. In check mode the file is only read
(and not created when missing).
"""

from __future__ import annotations

import json
import os
import sqlite3

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import cr_model
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.change_request import Backend
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_errors import CRBackendError, CRNotFoundError, CRValidationError
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.sqlite_file import FULL, LedgerDamaged, LedgerPathError, open_database

NUMBER_PREFIX = "CHG"
FIRST_NUMBER = 1001

SCHEMA = """
CREATE TABLE IF NOT EXISTS change_request_counters (
    prefix TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS change_requests (
    number TEXT PRIMARY KEY,
    correlation_id TEXT NOT NULL UNIQUE,
    run_id TEXT,
    patch_group TEXT,
    change_type TEXT NOT NULL,
    state TEXT NOT NULL,
    short_description TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    maintenance_window TEXT NOT NULL DEFAULT '{}',
    hosts TEXT NOT NULL DEFAULT '[]',
    owners TEXT NOT NULL DEFAULT '[]',
    patches TEXT NOT NULL DEFAULT '[]',
    cves TEXT NOT NULL DEFAULT '[]',
    assignment_group TEXT,
    close_code TEXT,
    close_notes TEXT,
    host_outcomes TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    closed_at TEXT
);
CREATE INDEX IF NOT EXISTS change_requests_run ON change_requests (run_id);
CREATE TABLE IF NOT EXISTS change_request_notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT NOT NULL REFERENCES change_requests(number),
    created_at TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS change_request_transitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT NOT NULL REFERENCES change_requests(number),
    from_state TEXT,
    to_state TEXT NOT NULL,
    at TEXT NOT NULL
);
"""

COLUMNS = ("number", "correlation_id", "run_id", "patch_group", "change_type", "state", "short_description", "description",
           "maintenance_window", "hosts", "owners", "patches", "cves", "assignment_group", "close_code", "close_notes",
           "host_outcomes", "created_at", "updated_at", "closed_at")
JSON_COLUMNS = {"maintenance_window": "window", "hosts": "hosts", "owners": "owners", "patches": "patches", "cves": "cves",
                "host_outcomes": "host_outcomes"}


class LocalBackend(Backend):
    name = "local"

    def __init__(self, path, timeout=30.0, readonly=False, check=FULL):
        """`check`: the integrity check of a writer's open (sqlite_file.py): FULL alone, HEADER within a
        night whose start checked the whole file (make_backend); a reader opens after a checked Ledger."""
        self.path = path
        self.readonly = readonly
        self.conn = None
        self.depth = 0
        try:
            if readonly:
                if os.path.exists(path):
                    self.conn = open_database(path, timeout=timeout, readonly=True, check=False)
            else:
                self.conn = open_database(path, timeout=timeout, check=check)
                self.conn.execute("PRAGMA journal_mode=WAL")
                self.conn.execute("PRAGMA synchronous=NORMAL")
                self.conn.execute("PRAGMA foreign_keys=ON")
                self.conn.executescript(SCHEMA)
        except (sqlite3.Error, OSError, LedgerPathError, LedgerDamaged) as exc:
            raise CRBackendError("cannot open the ledger %s for change requests: %s" % (path, exc), path=path)
        self.has_tables = self.conn is not None and self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='change_requests'").fetchone() is not None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def atomic(self):
        return _Transaction(self)

    def _select(self, where, args, limit=None):
        if not self.has_tables:
            return []
        sql = "SELECT %s FROM change_requests WHERE %s ORDER BY number" % (", ".join(COLUMNS), where)
        if limit:
            sql += " LIMIT %d" % int(limit)
        return [self._record(row) for row in self.conn.execute(sql, args)]

    def _record(self, row):
        record = {"backend": "local", "url": None}
        for column, value in zip(COLUMNS, row, strict=True):
            if column in JSON_COLUMNS:
                record[JSON_COLUMNS[column]] = json.loads(value)
            else:
                record[column] = value
        record["id"] = record["number"]
        record["work_notes"] = [{"created_at": at, "text": text} for at, text in self.conn.execute(
            "SELECT created_at, text FROM change_request_notes WHERE number=? ORDER BY id", (record["number"],))]
        record["transitions"] = [{"from": f, "to": t, "at": at} for f, t, at in self.conn.execute(
            "SELECT from_state, to_state, at FROM change_request_transitions WHERE number=? ORDER BY id", (record["number"],))]
        return record

    def find(self, correlation_id):
        found = self._select("correlation_id=?", (correlation_id,))
        return found[0] if found else None

    def get(self, number):
        found = self._select("number=?", (number,))
        if not found:
            raise CRNotFoundError("change request %s does not exist in the ledger %s (backend=local)" % (number, self.path),
                                  number=number)
        return found[0]

    def list(self, correlation_prefix=None, state=None, limit=100):
        where, args = ["1=1"], []
        if correlation_prefix:
            where.append("substr(correlation_id, 1, ?) = ?")
            args.extend([len(correlation_prefix), correlation_prefix])
        if state:
            where.append("state=?")
            args.append(state)
        return self._select(" AND ".join(where), args, limit)

    def create_payload(self, spec):
        return {
            "table": "change_requests", "number": "(next: %s)" % self._peek_number(),
            "correlation_id": spec["correlation_id"], "run_id": spec["run_id"], "patch_group": spec["patch_group"],
            "change_type": spec["change_type"], "state": "new", "short_description": spec["short_description"],
            "description": spec["description"], "window": spec["window"], "hosts": spec["hosts"], "owners": spec["owners"],
            "patches": spec["patches"], "cves": spec["cves"], "assignment_group": spec["assignment_group"],
        }

    def _peek_number(self):
        if not self.has_tables:
            return _format(FIRST_NUMBER)
        row = self.conn.execute("SELECT value FROM change_request_counters WHERE prefix=?", (NUMBER_PREFIX,)).fetchone()
        return _format(row[0] + 1 if row else FIRST_NUMBER)

    def create(self, spec):
        self._writable()
        now = cr_model.utcnow()
        with _Transaction(self):
            value = self.conn.execute(
                "INSERT INTO change_request_counters (prefix, value) VALUES (?, ?) "
                "ON CONFLICT(prefix) DO UPDATE SET value = value + 1 RETURNING value", (NUMBER_PREFIX, FIRST_NUMBER)).fetchone()[0]
            number = _format(value)
            self.conn.execute(
                "INSERT INTO change_requests (number, correlation_id, run_id, patch_group, change_type, state, short_description, "
                "description, maintenance_window, hosts, owners, patches, cves, assignment_group, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, 'new', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (number, spec["correlation_id"], spec["run_id"], spec["patch_group"], spec["change_type"], spec["short_description"],
                 spec["description"], _dumps(spec["window"]), _dumps(spec["hosts"]), _dumps(spec["owners"]),
                 _dumps(spec["patches"]), _dumps(spec["cves"]), spec["assignment_group"], now, now))
            self.conn.execute("INSERT INTO change_request_transitions (number, from_state, to_state, at) VALUES (?, NULL, 'new', ?)",
                              (number, now))
        return self.get(number)

    def move(self, record, state, fields=None):
        self._writable()
        cr_model.check_step(record["change_type"], record["state"], state)
        fields = fields or {}
        if state == "closed" and not (fields.get("close_code") and fields.get("close_notes")):
            raise CRValidationError("closing %s needs close_code and close_notes" % record["number"], field="close_code")
        now = cr_model.utcnow()
        with _Transaction(self):
            self.conn.execute(
                "UPDATE change_requests SET state=?, updated_at=?, close_code=COALESCE(?, close_code), "
                "close_notes=COALESCE(?, close_notes), host_outcomes=COALESCE(?, host_outcomes), "
                "closed_at=CASE WHEN ? IN ('closed', 'canceled') THEN ? ELSE closed_at END WHERE number=? AND state=?",
                (state, now, fields.get("close_code"), fields.get("close_notes"),
                 _dumps(fields["host_outcomes"]) if fields.get("host_outcomes") is not None else None,
                 state, now, record["number"], record["state"]))
            if self.conn.execute("SELECT changes()").fetchone()[0] != 1:
                raise CRBackendError("change request %s changed under us (it is no longer in state %s): rerun"
                                     % (record["number"], record["state"]), number=record["number"])
            self.conn.execute("INSERT INTO change_request_transitions (number, from_state, to_state, at) VALUES (?, ?, ?, ?)",
                              (record["number"], record["state"], state, now))
        return self.get(record["number"])

    def has_note(self, record, text):
        if not self.has_tables:
            return False
        return self.conn.execute("SELECT 1 FROM change_request_notes WHERE number=? AND text=?",
                                 (record["number"], text)).fetchone() is not None

    def add_note(self, record, text):
        self._writable()
        now = cr_model.utcnow()
        with _Transaction(self):
            self.conn.execute("INSERT INTO change_request_notes (number, created_at, text) VALUES (?, ?, ?)",
                              (record["number"], now, text))
            self.conn.execute("UPDATE change_requests SET updated_at=? WHERE number=?", (now, record["number"]))

    def _writable(self):
        if self.readonly:
            raise CRBackendError("internal: write to the ledger %s in check mode" % self.path)


class _Transaction(object):
    """BEGIN IMMEDIATE ... COMMIT, nestable: only the outermost commits or rolls back."""

    def __init__(self, backend):
        self.backend = backend

    def __enter__(self):
        if self.backend.conn is not None and not self.backend.readonly:
            if self.backend.depth == 0:
                self.backend.conn.execute("BEGIN IMMEDIATE")
            self.backend.depth += 1
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.backend.conn is None or self.backend.readonly:
            return False
        self.backend.depth -= 1
        if self.backend.depth == 0:
            self.backend.conn.execute("ROLLBACK" if exc_type else "COMMIT")
        return False


def _format(value):
    return "%s%07d" % (NUMBER_PREFIX, value)


def _dumps(value):
    return json.dumps(value, sort_keys=True)
