# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Opening the run ledger's SQLite file safely (pure Python, no Ansible import).

One way for every reader and writer of the ledger (ledger.py, cr_local.py, patch_report):
- the path is passed as a file: URI with every special character percent-quoted, so a `#`,
  `?` or `%` in a directory name opens that file and no other (a plain `file:%s` URI cut the
  path at `#` and opened another ledger);
- a new ledger is created with mode 0600 in a directory created 0700 (it holds the night's
  hosts, versions and change requests); SQLite gives its -wal and -shm files the same mode;
- its integrity is checked at open (PRAGMA quick_check): a damaged file is refused with a
  LedgerDamaged that says how to recover, before the run writes to it or touches a host.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import urllib.parse

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.redact import excerpt, shorten

MODE = 0o600
MAX_PATH = 4096


class LedgerPathError(ValueError):
    """The ledger path itself is unusable (empty, NUL byte, too long, a directory, not a regular file)."""


class LedgerDamaged(ValueError):
    """The file is not an intact SQLite database."""


def database_uri(path, readonly=False):
    """The file: URI naming exactly `path` (absolute), whatever characters it holds."""
    quoted = urllib.parse.quote(os.path.abspath(path), safe="/")
    return "file:%s?mode=%s" % (quoted, "ro" if readonly else "rwc")


def check_path(path, what="ledger"):
    if not isinstance(path, str) or not path:
        raise LedgerPathError("%s path is required (a file path such as out/ledger.db), got %s" % (what, excerpt(path)))
    if "\x00" in path or len(path) > MAX_PATH:
        raise LedgerPathError("%s path %s is not a usable file path (NUL byte or longer than %d characters)"
                              % (what, excerpt(path), MAX_PATH))
    if os.path.lexists(path):
        mode = os.stat(path).st_mode if os.path.exists(path) else None
        if mode is None or not stat.S_ISREG(mode):
            raise LedgerPathError("%s path %s is not a regular file (a directory, a device or a dangling link): "
                                  "give the ledger file's path" % (what, excerpt(path)))


def _create_private(path):
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        os.makedirs(directory, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), MODE)
    except FileExistsError:
        return
    os.close(fd)


def open_database(path, timeout=30.0, readonly=False, check=True, what="ledger"):
    """A sqlite3 connection (autocommit) to the file at `path`, checked; raises LedgerPathError/LedgerDamaged."""
    check_path(path, what)
    if readonly and not os.path.exists(path):
        raise LedgerPathError("no %s at %s" % (what, shorten(path)))
    if not readonly:
        _create_private(path)
        if os.stat(path).st_mode & 0o077 and os.stat(path).st_uid == os.geteuid():
            os.chmod(path, MODE)  # a ledger made by an older version or another tool: make it private
    try:
        conn = sqlite3.connect(database_uri(path, readonly), uri=True, timeout=timeout, isolation_level=None)
    except sqlite3.Error as exc:
        raise LedgerPathError("cannot open the %s %s: %s" % (what, shorten(path), exc))
    if check:
        try:
            problems = [row[0] for row in conn.execute("PRAGMA quick_check(5)")]
        except sqlite3.DatabaseError as exc:
            problems = [str(exc)]
        if problems != ["ok"]:
            conn.close()
            raise LedgerDamaged(
                "the %s %s is damaged (SQLite integrity check: %s): nothing was written to it and no host was touched; "
                "keep the file for the record, restore the last good copy or start a new ledger path, and rerun"
                % (what, shorten(path), shorten("; ".join(problems))))
    return conn
