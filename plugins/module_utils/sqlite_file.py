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
- its integrity is checked at open, at one of two levels (CHECKS), and a damaged file is refused
  with a LedgerDamaged that says how to recover, before the run writes to it or touches a host:
  - ``full``: ``PRAGMA quick_check`` reads every page (time grows with the file: ~0.5 s for 77 MB).
    Once per night, when the night opens the ledger (patch_ledger start_run), by the standalone
    report playbook's first step, and by default by every reader called on its own;
  - ``header``: the 100-byte file header (SQLite's magic, a valid page size, a file size that is a
    whole number of pages and not shorter than the header says) and the schema parsed: a few
    kilobytes read whatever the file's size. Every other open during a night (each record, each
    change request, each report of the night) after its start checked the whole file;
  SQLite itself still refuses to read or write a page it finds damaged ("malformed").
"""

from __future__ import annotations

import os
import sqlite3
import stat
import urllib.parse

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.redact import excerpt, shorten

MODE = 0o600
MAX_PATH = 4096
MAGIC = b"SQLite format 3\x00"
FULL = "full"
HEADER = "header"
CHECKS = (FULL, HEADER)


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


def check_level(check):
    """`check` as one of CHECKS or None (no check); True is ``full``, False ``None``."""
    if check is True:
        return FULL
    if check is False or check is None:
        return None
    if check not in CHECKS:
        raise ValueError("integrity_check must be one of %s, got %s" % (", ".join(CHECKS), excerpt(check)))
    return check


def header_problems(path):
    """What is wrong with the file's SQLite header (an empty list when none; an empty file is a new database)."""
    size = os.path.getsize(path)
    if size == 0:
        return []
    with open(path, "rb") as handle:
        header = handle.read(100)
    if len(header) < 100 or not header.startswith(MAGIC):
        return ["file is not a database (no SQLite header)"]
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        return ["the header's page size %d is not a power of two from 512 to 65536" % page_size]
    if size % page_size:
        return ["the file is %d bytes, not a whole number of %d-byte pages (truncated or overwritten)" % (size, page_size)]
    pages = int.from_bytes(header[28:32], "big")
    valid = header[24:28] == header[92:96]  # the in-header size is current (SQLite >= 3.7.0 wrote it)
    wal = path + "-wal"
    if valid and pages * page_size > size and not (os.path.exists(wal) and os.path.getsize(wal) > 0):
        return ["the file holds %d pages of the %d its header counts (truncated)" % (size // page_size, pages)]
    return []


def _problems(conn, path, level):
    try:
        if level == FULL:
            return [row[0] for row in conn.execute("PRAGMA quick_check(5)")]
        problems = header_problems(path)
        if not problems:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # reads and parses the schema
        return problems or ["ok"]
    except (sqlite3.DatabaseError, OSError) as exc:
        return [str(exc)]


def open_database(path, timeout=30.0, readonly=False, check=FULL, what="ledger"):
    """A sqlite3 connection (autocommit) to the file at `path`, checked at level `check` (CHECKS, None for none).

    Raises LedgerPathError (an unusable path) or LedgerDamaged (the check failed; the file is unchanged).
    """
    level = check_level(check)
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
    if level is not None:
        problems = _problems(conn, path, level)
        if problems != ["ok"]:
            conn.close()
            raise LedgerDamaged(
                "the %s %s is damaged (SQLite %s: %s): nothing was written to it and no host was touched; "
                "keep the file for the record, restore the last good copy or start a new ledger path, and rerun"
                % (what, shorten(path), "integrity check" if level == FULL else "header and schema check",
                   shorten("; ".join(problems))))
    return conn
