"""Helpers for integration tests: the local test hosts and the AWS simulation, for real.

The hosts are booted fresh from the base image once per session (tools/localfleet), the
moto server is seeded with the demo EC2 instances, and every test reads what really changed:
package versions on the hosts over ssh, rows in the SQLite ledger, report.json.
"""

import contextlib
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import urllib.request
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOCALFLEET = os.path.join(ROOT, "tools", "localfleet")
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
HOSTS = {"web-dev-1": "fp1", "web-prod-1": "fp2", "db-prod-1": "fp3"}
DEBIAN_TARGETS = "fleetpatch_targets=" + ":".join(sorted(HOSTS))
TEST_PACKAGES = json.load(open(os.path.join(ROOT, "tools", "testpackages.json")))


def localfleet(*args, check=True):
    result = subprocess.run([LOCALFLEET] + list(args), capture_output=True, text=True, timeout=600, check=False)
    if check and result.returncode != 0:
        raise AssertionError("localfleet %s failed: %s%s" % (" ".join(args), result.stdout, result.stderr))
    return result


def host_exec(host, command):
    result = localfleet("exec", host, command, check=False)
    return result.returncode, result.stdout


def installed(host):
    rc, out = host_exec(host, "dpkg-query -W -f '${Package} ${Version}\\n' 'fp-*'")
    assert rc == 0, out
    return dict(line.split(" ", 1) for line in out.strip().splitlines())


class PlaybookRun(object):
    def __init__(self, result, outdir, run_id):
        self.rc = result.returncode
        self.stdout = result.stdout
        self.stderr = result.stderr
        self.outdir = outdir
        self.run_id = run_id

    @property
    def report(self):
        return self.report_at("report.json")

    def report_at(self, name):
        with open(os.path.join(self.outdir, name)) as handle:
            return json.load(handle)

    def rows(self, sql, *args):
        conn = sqlite3.connect(os.path.join(self.outdir, "ledger.db"))
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()

    def recap(self):
        """{host: {ok: n, changed: n, ...}} from the PLAY RECAP."""
        found = {}
        for host, counts in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", self.stdout, re.M):
            found[host] = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", counts))
        return found


def run_playbook(outdir, *extra, run_id=None, playbook="playbooks/patch_night.yml", env_extra=None):
    """ansible-playbook against the demo inventory, its ledger and report in `outdir`."""
    run_id = run_id or "test-" + uuid.uuid4().hex[:8]
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ["PATH"],
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_INVENTORY_UNPARSED_FAILED="true", **(env_extra or {}))
    env.pop("ANSIBLE_FORCE_COLOR", None)
    cmd = ["ansible-playbook", "-i", os.path.join(ROOT, "inventories", "demo"), playbook, "-e", "fleetpatch_output_dir=%s" % outdir,
           "-e", "fleetpatch_run_id=%s" % run_id] + list(extra)
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)
    return PlaybookRun(result, outdir, run_id)


# ----------------------------------------------------------------- additions for issue 5 (preflight, lost hosts)

def expected_versions():
    """(base image versions, {host: versions after a good night}) of the fp-* test packages.

    The same derivation as test_patch_night: the newest published update of each package in
    the base image; db-prod's baseline (inventories/demo/group_vars/patch_group_db_prod.yml)
    rejects the kernel.
    """
    in_base = [p["name"] for p in TEST_PACKAGES["packages"] if p.get("in_base", True)]
    before = dict((p["name"], p["installed"]["version"]) for p in TEST_PACKAGES["packages"] if p["name"] in in_base)
    published = dict((p["name"], [u for u in p["updates"] if u.get("publish", True)][-1]["version"])
                     for p in TEST_PACKAGES["packages"] if p["updates"] and p["name"] in in_base)
    rejected = {"db-prod-1": ["fp-kernel"]}
    after = dict((host, dict(before, **dict((n, v) for n, v in published.items() if n not in rejected.get(host, []))))
                 for host in HOSTS)
    return before, after


def _localfleet_tool():
    """tools/localfleet as a Python module (it is a script without a .py suffix)."""
    import importlib.machinery
    import importlib.util
    loader = importlib.machinery.SourceFileLoader("localfleet_tool", LOCALFLEET)
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader("localfleet_tool", loader))
    loader.exec_module(module)
    return module


def power_off(name):
    """Stop a host for good (tools/localfleet's own stop: the stop file, then SIGKILL of its namespace, so
    its supervisor does not boot it again). `localfleet reset NAME` brings it back from the base image."""
    _localfleet_tool().stop_host(name)


def recorded_phases(outdir, run_id, host):
    """The phases the ledger in `outdir` holds for `host` ([] while the ledger does not exist yet)."""
    path = os.path.join(outdir, "ledger.db")
    if not os.path.exists(path):
        return []
    try:
        conn = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=5)
        try:
            return [p for (p,) in conn.execute("SELECT phase FROM host_phases WHERE run_id=? AND host=?", (run_id, host))]
        finally:
            conn.close()
    except sqlite3.Error:  # the run has not created the table yet
        return []


class WhenPhase(object):
    """Runs `action` in a background thread once the ledger shows `host` reached `phase`."""

    def __init__(self, outdir, run_id, host, phase, action, timeout=600):
        import threading
        self.fired = threading.Event()
        self.error = None
        self.phases_then = None

        def watch():
            import time
            deadline = time.time() + timeout
            try:
                while time.time() < deadline:
                    phases = recorded_phases(outdir, run_id, host)
                    if phase in phases:
                        action()
                        self.phases_then = phases
                        self.fired.set()
                        return
                    time.sleep(0.05)
            except Exception as exc:  # reported by the test, not lost in the thread
                self.error = exc

        self.thread = threading.Thread(target=watch, daemon=True)
        self.thread.start()

    def join(self, timeout=60):
        self.thread.join(timeout)
        if self.error:
            raise self.error


# ----------------------------------------------------------------- a moto server of a test's own

@contextlib.contextmanager
def own_moto(port):
    """A moto server of the test's own on 127.0.0.1:`port` (not the fleet's on 5000), stopped after.

    Yields its URL. Fails clearly when the port is taken or the server does not answer in 30 s;
    stops it with SIGTERM, then SIGKILL when it outlives that by 10 s (werkzeug may).
    """
    url = "http://127.0.0.1:%d" % port
    with socket.socket() as sock:
        if sock.connect_ex(("127.0.0.1", port)) == 0:
            raise AssertionError("port %d on 127.0.0.1 is in use: this test starts its own moto server there" % port)
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([os.path.join(VENV_BIN, "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise AssertionError("moto server on %s did not start: %s" % (url, log.read().decode()[-2000:]))
                time.sleep(0.1)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()


# Tests that failed in the lead's final full `make test` of session 4, run after the last merges of
# that session (append-only ledger, dry run, findings, accounting, per-host windows). Not yet
# diagnosed: see the session 4 closing note. Fix each, then drop its mark: a non-strict xfail
# asserts nothing.
UNDIAGNOSED = pytest.mark.xfail(strict=False, reason="failed in session 4's final full run after the last merges; undiagnosed")
