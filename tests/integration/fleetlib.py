"""Helpers for integration tests: the local test hosts and the AWS simulation, for real.

The hosts are booted fresh from the base image once per session (tools/localfleet), the
moto server is seeded with the demo EC2 instances, and every test reads what really changed:
package versions on the hosts over ssh, rows in the SQLite ledger, report.json.
"""

import json
import os
import re
import sqlite3
import subprocess
import uuid

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


def run_playbook(outdir, *extra, run_id=None, playbook="playbooks/patch_night.yml"):
    """ansible-playbook against the demo inventory, its ledger and report in `outdir`."""
    run_id = run_id or "test-" + uuid.uuid4().hex[:8]
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ["PATH"],
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_INVENTORY_UNPARSED_FAILED="true")
    env.pop("ANSIBLE_FORCE_COLOR", None)
    cmd = ["ansible-playbook", "-i", os.path.join(ROOT, "inventories", "demo"), playbook, "-e", "fleetpatch_output_dir=%s" % outdir,
           "-e", "fleetpatch_run_id=%s" % run_id] + list(extra)
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)
    return PlaybookRun(result, outdir, run_id)
