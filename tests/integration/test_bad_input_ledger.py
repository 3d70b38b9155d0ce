"""The ledger and the report on real nights: odd paths, private modes, a damaged ledger (issue #14, part B).

Runs playbooks/patch_night.yml on the local test hosts (tools/localfleet) against the local apt
archive and moto, as test_patch_night does, and reads what changed on the hosts (dpkg over ssh),
in the ledger file and in report.json.
"""

import hashlib
import os
import sqlite3
import stat

import pytest
from cr_servers.collection import run_playbook as run_local_playbook
from fleetlib import DEBIAN_TARGETS, HOSTS, TEST_PACKAGES, installed, localfleet, run_playbook

pytestmark = pytest.mark.integration

BEFORE = dict((p["name"], p["installed"]["version"]) for p in TEST_PACKAGES["packages"] if p.get("in_base", True))


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def digest(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def reset_hosts():
    for name in HOSTS.values():
        localfleet("reset", name)
        assert installed(name) == BEFORE


def test_a_night_in_a_directory_named_with_hash_and_question_mark(fleet, tmp_path):
    """The ledger is exactly <dir>/ledger.db: the change requests of the local backend are in it and in the report."""
    reset_hosts()
    outdir = tmp_path / "night#1?x=y"
    night = run_playbook(str(outdir), "-e", DEBIAN_TARGETS)
    assert night.rc == 0, night.stdout[-3000:] + night.stderr[-2000:]
    names = sorted(os.listdir(str(outdir)))
    assert "ledger.db" in names and "report.json" in names
    assert set(n for n in names if n.startswith("ledger")) <= {"ledger.db", "ledger.db-shm", "ledger.db-wal"}
    assert sorted(os.listdir(str(tmp_path))) == ["night#1?x=y"]  # no "night" ledger cut at '#'
    stored = sorted(number for (number,) in night.rows("SELECT number FROM change_requests WHERE run_id=?", night.run_id))
    assert stored and sorted(cr["number"] for cr in night.report["change_requests"]) == stored
    assert mode(str(outdir / "ledger.db")) == 0o600 and mode(str(outdir / "report.json")) == 0o600
    assert not [n for n in names if n.endswith(".tmp")]


def damage(path):
    """Overwrite a cell pointer of a b-tree page after the schema page: PRAGMA quick_check then fails."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(path, "r+b") as handle:
        handle.seek(4096 + 8)
        handle.write(b"\x07\x00\x00\x00\xff\xff")


def test_a_damaged_ledger_stops_the_night_before_any_host_is_touched(fleet, tmp_path):
    reset_hosts()
    outdir = tmp_path / "out"
    outdir.mkdir()
    ledger = str(outdir / "ledger.db")
    with sqlite3.connect(ledger) as conn:  # an earlier night's ledger, then a damaged page
        conn.execute("CREATE TABLE runs (run_id TEXT PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT, "
                     "status TEXT NOT NULL, playbook TEXT, check_mode INTEGER NOT NULL DEFAULT 0, meta TEXT NOT NULL DEFAULT '{}')")
        conn.executemany("INSERT INTO runs (run_id, started_at, status) VALUES (?, '2026-11-01T02:00:00+00:00', 'finished')",
                         [("run-%04d" % i,) for i in range(400)])
    damage(ledger)
    before = digest(ledger)
    night = run_playbook(str(outdir), "-e", DEBIAN_TARGETS)
    output = night.stdout + night.stderr
    assert night.rc != 0
    assert "is damaged (SQLite integrity check:" in output and "no host was touched" in output
    assert "Traceback" not in output
    for name in HOSTS.values():
        assert installed(name) == BEFORE, name
    assert digest(ledger) == before
    assert not os.path.exists(str(outdir / "report.json"))

    report = run_local_playbook("""
- hosts: localhost
  gather_facts: false
  tasks:
    - fleetpatch.hybrid.patch_report:
        path: %s
        run_id: run-0001
        dest: %s/report.json
""" % (ledger, outdir), tmp_path)
    assert report.returncode != 0
    assert "patch_report: the ledger %s is damaged" % ledger in report.stdout
    assert "Traceback" not in report.stdout + report.stderr and "exception" not in report.stdout.lower()
    assert digest(ledger) == before and not os.path.exists(str(outdir / "report.json"))
