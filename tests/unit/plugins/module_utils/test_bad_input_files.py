"""Bad input for the files the controller keeps: the ledger (path, mode, integrity) and the report (issue #14, part B).

Real SQLite files in tmp_path, damaged on purpose by overwriting a b-tree page; the report
written through write_atomic next to a planted symlink.
"""

import hashlib
import os
import sqlite3
import stat

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.change_request import make_backend
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_errors import CRBackendError
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_local import LocalBackend
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ledger import Ledger, LedgerError
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.safe_write import write_atomic
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.sqlite_file import FULL, HEADER, check_level, database_uri, header_problems

SPEC = {"short_description": "Patch web", "description": "d", "correlation_id": "fleetpatch:run-1:web", "run_id": "run-1",
        "patch_group": "web", "change_type": "normal", "hosts": ["web-1"], "owners": [], "patches": [], "cves": [],
        "window": {}, "assignment_group": None}


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def digest(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def files_under(directory):
    return sorted(os.path.relpath(os.path.join(d, f), directory) for d, dummy, fs in os.walk(directory) for f in fs)


@pytest.mark.parametrize("name", ["led#ger.db", "led?ger.db", "a%20b.db", "dir#1/ledger.db", "x?mode=ro#.db", "ünï cødé.db"])
def test_a_ledger_path_opens_exactly_that_file_whatever_it_holds(tmp_path, name):
    path = str(tmp_path / name)
    with Ledger(path) as ledger:
        ledger.start_run("run-1")
    backend = LocalBackend(path)
    try:
        backend.create(SPEC)
    finally:
        backend.close()
    assert files_under(str(tmp_path)) == [name]  # no "led" cut at '#', no second file
    reader = LocalBackend(path, readonly=True)
    try:
        assert [r["correlation_id"] for r in reader.list(correlation_prefix="fleetpatch:run-1:")] == ["fleetpatch:run-1:web"]
    finally:
        reader.close()
    with Ledger(path) as ledger:
        assert ledger.run("run-1")["run_id"] == "run-1"


def test_database_uri_quotes_what_sqlite_would_read_as_uri_syntax():
    assert database_uri("/srv/a#b?c%d e.db") == "file:/srv/a%23b%3Fc%25d%20e.db?mode=rwc"
    assert database_uri("/srv/l.db", readonly=True) == "file:/srv/l.db?mode=ro"


def test_a_new_ledger_is_private_and_an_old_one_is_made_private(tmp_path):
    path = str(tmp_path / "out" / "ledger.db")
    with Ledger(path) as ledger:
        ledger.start_run("run-1")
        assert mode(path) == 0o600
        assert mode(path + "-wal") == 0o600  # SQLite gives the WAL the database's mode
    assert mode(str(tmp_path / "out")) == 0o700
    os.chmod(path, 0o644)
    with Ledger(path):
        pass
    assert mode(path) == 0o600


def damage(path):
    """Overwrite a cell pointer of the first table page after the schema: quick_check then fails."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(path, "r+b") as handle:
        handle.seek(4096 + 8)
        handle.write(b"\x07\x00\x00\x00\xff\xff")


def night(path, hosts=40):
    with Ledger(path) as ledger:
        ledger.start_run("run-1")
        for index in range(hosts):
            ledger.record_host("run-1", "web-%02d" % index, "web", {"why": "x" * 100})
            ledger.record_phase("run-1", "web-%02d" % index, "scan", "ok", "m" * 50)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=DELETE")


@pytest.mark.parametrize("damaged", ["page", "garbage", "truncated"])
def test_a_damaged_ledger_is_refused_at_open_and_left_as_it_was(tmp_path, damaged):
    path = str(tmp_path / "ledger.db")
    night(path)
    if damaged == "page":
        damage(path)
    elif damaged == "garbage":
        with open(path, "wb") as handle:
            handle.write(b"this is not a database, it is a planted file" * 100)
    else:
        with open(path, "r+b") as handle:
            handle.truncate(4096 + 100)
    before = digest(path)
    with pytest.raises(LedgerError) as caught:
        Ledger(path)
    message = str(caught.value)
    assert message.startswith("the ledger %s is damaged (SQLite integrity check: " % path)
    assert "nothing was written to it and no host was touched" in message and "restore the last good copy" in message
    with pytest.raises(CRBackendError, match="is damaged"):
        LocalBackend(path)
    assert digest(path) == before and files_under(str(tmp_path)) == ["ledger.db"]


@pytest.mark.parametrize("damaged", ["garbage", "truncated", "short", "page_size"])
def test_the_header_check_of_a_nights_later_opens_refuses_a_broken_file(tmp_path, damaged):
    """Each open of a night after start_run checks the header and schema only: a file that is not
    a database, or is cut short, is still refused with the same message, by the ledger and by the
    local change-request backend the change_request module makes, and left as it was."""
    path = str(tmp_path / "ledger.db")
    night(path)
    with open(path, "r+b") as handle:
        if damaged == "garbage":
            handle.write(b"this is not a database, it is a planted file" * 100)
        elif damaged == "truncated":
            handle.truncate(4096 + 100)
        elif damaged == "short":  # whole pages, fewer than the header counts
            handle.truncate(4096)
        else:
            handle.seek(16)
            handle.write(b"\x03\x00")  # a page size of 768
    before = digest(path)
    with pytest.raises(LedgerError) as caught:
        Ledger(path, check=HEADER)
    message = str(caught.value)
    assert message.startswith("the ledger %s is damaged (SQLite header and schema check: " % path), message
    assert "nothing was written to it and no host was touched" in message and "restore the last good copy" in message
    with pytest.raises(CRBackendError, match="is damaged"):
        make_backend({"backend": "local", "ledger_path": path})
    assert digest(path) == before and files_under(str(tmp_path)) == ["ledger.db"]


def test_the_header_check_reads_the_header_and_schema_not_every_page(tmp_path):
    """What is checked when (docs/security.md): a damaged table page after the schema passes the
    header check of a night's later opens and is refused by the full check of its start."""
    path = str(tmp_path / "ledger.db")
    night(path)
    damage(path)
    Ledger(path, check=HEADER).close()
    make_backend({"backend": "local", "ledger_path": path}).close()
    with pytest.raises(LedgerError, match=r"is damaged \(SQLite integrity check: "):
        Ledger(path, check=FULL)


def test_the_header_check_accepts_a_new_file_and_a_ledger_being_written(tmp_path):
    path = str(tmp_path / "new" / "ledger.db")
    with Ledger(path, check=HEADER) as ledger:  # created empty, then its schema
        ledger.start_run("run-1")
        ledger.record_host("run-1", "web-1", "web", {})
        # a second writer while the first holds its WAL (not checkpointed): the header is the old one
        with Ledger(path, check=HEADER) as other:
            other.record_phase("run-1", "web-1", "scan", "ok", "m")
        assert os.path.getsize(path + "-wal") > 0
        backend = make_backend({"backend": "local", "ledger_path": path})
        try:
            backend.create(SPEC)
        finally:
            backend.close()
    assert header_problems(path) == []
    with Ledger(path, check=FULL) as ledger:
        assert [h["name"] for h in ledger.hosts("run-1")] == ["web-1"]


def test_an_unknown_check_level_is_named():
    with pytest.raises(ValueError, match="integrity_check must be one of full, header, got 'quick'"):
        check_level("quick")
    assert check_level(True) == FULL and check_level(False) is None and check_level(HEADER) == HEADER


def test_a_sound_ledger_passes_the_check(tmp_path):
    path = str(tmp_path / "ledger.db")
    night(path)
    with Ledger(path) as ledger:
        assert len(ledger.hosts("run-1")) == 40


@pytest.mark.parametrize("bad,message", [
    ("", "ledger path is required"),
    ("a\x00b", "is not a usable file path"),
    ("x" * 5000, "is not a usable file path"),
])
def test_an_unusable_ledger_path_is_named(bad, message):
    with pytest.raises(LedgerError, match=message) as caught:
        Ledger(bad)
    assert len(str(caught.value)) < 300


def test_a_directory_or_dangling_link_is_not_a_ledger(tmp_path):
    with pytest.raises(LedgerError, match="is not a regular file"):
        Ledger(str(tmp_path))
    os.symlink(str(tmp_path / "gone.db"), str(tmp_path / "link.db"))
    with pytest.raises(LedgerError, match="is not a regular file"):
        Ledger(str(tmp_path / "link.db"))
    assert not os.path.exists(str(tmp_path / "gone.db"))


# -- writing the report


def test_write_atomic_replaces_a_planted_symlink_and_never_writes_through_it(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    dest = tmp_path / "report.json"
    os.symlink(str(victim), str(dest))
    os.symlink(str(victim), str(tmp_path / "report.json.tmp"))  # the old fixed temp name, planted
    write_atomic(str(dest), '{"ok": true}\n')
    assert victim.read_text() == "precious"
    assert not os.path.islink(str(dest)) and dest.read_text() == '{"ok": true}\n' and mode(str(dest)) == 0o600
    assert sorted(os.listdir(str(tmp_path))) == ["report.json", "report.json.tmp", "victim.txt"]


def test_write_atomic_leaves_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    dest = tmp_path / "report.json"
    dest.write_text("old")

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(str(dest), "new")
    assert dest.read_text() == "old" and os.listdir(str(tmp_path)) == ["report.json"]


def test_write_atomic_keeps_a_mode_it_is_given(tmp_path):
    write_atomic(str(tmp_path / "cache" / "entry.json"), b"{}", mode=0o644, dir_mode=0o755)
    assert mode(str(tmp_path / "cache" / "entry.json")) == 0o644
