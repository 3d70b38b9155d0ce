"""The run ledger under load: a night's worth of hosts writing at once, as forks do.

Each write goes the way the patch_ledger action plugin takes it in an Ansible worker process: a
fresh Ledger (connection, WAL, schema check) per task, then the host and phase rows. No row may be
lost and no write may fail with "database is locked". The first test drives that code path from
100 real processes at 10,000 hosts (ansible-core itself costs ~45 ms per host per task at that size,
see benchmarks/fleet_scale.py, so a 10k-host playbook would not fit the suite's time); the second
runs the module itself through ansible-playbook at forks 100 on 500 hosts.
"""

import multiprocessing
import os
import sqlite3
import subprocess

import pytest
from fleetlib import ROOT, VENV_BIN

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ledger import Ledger

pytestmark = pytest.mark.integration


def _write_hosts(path, run_id, hosts, barrier, errors):
    barrier.wait()  # every process starts writing at the same moment
    for host in hosts:
        try:
            with Ledger(path) as ledger:  # one task of the action plugin
                ledger.record_host(run_id, host, "pg-%s" % host[-2:], {"owner": "ops@example.com"})
                ledger.record_phase(run_id, host, "preflight", "ok", None, {"free_mb": 1024})
            with Ledger(path) as ledger:
                ledger.record_phase(run_id, host, "patch", "changed", None, {"requested": ["openssl=3.0.16"]})
                ledger.record_changes(run_id, host, [{"name": "openssl", "arch": "amd64", "from": "3.0.15", "to": "3.0.16",
                                                      "cves": ["CVE-2024-12797"]}])
        except Exception as exc:  # noqa: BLE001 - every failure is the finding
            errors.put("%s: %s: %s" % (host, type(exc).__name__, exc))


def test_10000_hosts_from_100_processes_lose_no_row(tmp_path):
    path = str(tmp_path / "ledger.db")
    with Ledger(path) as ledger:
        ledger.start_run("load")
    hosts = ["host-%05d" % i for i in range(10000)]
    forks = 100
    context = multiprocessing.get_context("fork")
    barrier, errors = context.Barrier(forks), context.Queue()
    workers = [context.Process(target=_write_hosts, args=(path, "load", hosts[i::forks], barrier, errors)) for i in range(forks)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=1800)
    assert [w.exitcode for w in workers] == [0] * forks
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    assert failures == [], "%d writes failed, e.g. %s" % (len(failures), failures[:3])
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT COUNT(*) FROM run_hosts WHERE run_id='load'").fetchone() == (10000,)
        assert conn.execute("SELECT phase, COUNT(DISTINCT host) FROM host_phases WHERE run_id='load' GROUP BY phase "
                            "ORDER BY phase").fetchall() == [("patch", 10000), ("preflight", 10000)]
        assert conn.execute("SELECT COUNT(DISTINCT host) FROM package_changes WHERE run_id='load'").fetchone() == (10000,)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        conn.close()


def test_patch_ledger_at_forks_100_through_ansible(tmp_path):
    hosts = ["load-%04d" % i for i in range(500)]
    (tmp_path / "hosts.ini").write_text("[load]\n" + "\n".join(hosts) + "\n")
    path = tmp_path / "ledger.db"
    (tmp_path / "load.yml").write_text("""
- hosts: localhost
  gather_facts: false
  tasks:
    - fleetpatch.hybrid.patch_ledger: {path: "%(path)s", run_id: load, action: start_run}
- hosts: load
  gather_facts: false
  tasks:
    - fleetpatch.hybrid.patch_ledger:
        path: "%(path)s"
        run_id: load
        patch_group: pg
        attrs: {owner: ops@example.com}
        phase: preflight
        status: ok
    - fleetpatch.hybrid.patch_ledger:
        path: "%(path)s"
        run_id: load
        records: [{phase: scan, status: ok, data: {pending: 3}}, {phase: approve, status: ok}]
""" % {"path": path})
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ["PATH"], ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_NOCOLOR="1")
    result = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", str(tmp_path / "hosts.ini"), "-f", "100",
                             str(tmp_path / "load.yml")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500,
                            check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "locked" not in result.stdout + result.stderr
    conn = sqlite3.connect(str(path))
    try:
        assert conn.execute("SELECT phase, COUNT(*) FROM host_phases GROUP BY phase ORDER BY phase").fetchall() == [
            ("approve", 500), ("preflight", 500), ("scan", 500)]
        assert conn.execute("SELECT COUNT(*) FROM run_hosts").fetchone() == (500,)
    finally:
        conn.close()
