"""Smoke test: upgrade a local host from the live Debian mirror.

The live mirror's pending set changes over time, so the test makes one upgrade certain: it
installs a stand-in `hello` at version 0.0-1, then the patch night must upgrade it to the
mirror's version with the live sources on. Needs the Debian mirror reachable.
"""

import os
import subprocess

import pytest
from fleetlib import LOCALFLEET, host_exec, localfleet, run_playbook

pytestmark = [pytest.mark.integration, pytest.mark.live_mirror]

BASELINE = '{"fleetpatch_baseline": {"name": "live-smoke", "approval_rules": [], "approved_patches": ["hello"]}}'


def build_old_hello(workdir):
    pkg = os.path.join(workdir, "hello")
    os.makedirs(os.path.join(pkg, "DEBIAN"))
    with open(os.path.join(pkg, "DEBIAN", "control"), "w") as handle:
        handle.write("Package: hello\nVersion: 0.0-1\nArchitecture: amd64\nMaintainer: Test <t@fleetpatch.invalid>\n"
                     "Description: stand-in for an outdated hello\n")
    deb = os.path.join(workdir, "hello_0.0-1_amd64.deb")
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", pkg, deb], check=True, capture_output=True)
    return deb


def test_patch_night_upgrades_from_the_live_mirror(fleet, tmp_path):
    localfleet("reset", "fp3")
    try:
        with open(build_old_hello(str(tmp_path)), "rb") as handle:
            copy = subprocess.run([LOCALFLEET, "exec", "fp3", "cat > /tmp/hello.deb && dpkg -i /tmp/hello.deb"],
                                  stdin=handle, capture_output=True, timeout=60, check=False)
        assert copy.returncode == 0, copy.stderr
        rc, out = host_exec("fp3", "mv /etc/apt/sources.list.d/debian-live.list.disabled /etc/apt/sources.list.d/debian-live.list")
        assert rc == 0, out

        night = run_playbook(str(tmp_path / "out"), "-e", "fleetpatch_targets=db-prod-1", "-e", BASELINE)
        assert night.rc == 0, night.stdout[-3000:]

        rc, version = host_exec("fp3", "dpkg-query -W -f '${Version}' hello")
        rc2, candidate = host_exec("fp3", "apt-cache policy hello | sed -n 's/ *Candidate: //p'")
        assert version.strip() == candidate.strip() and version.strip() != "0.0-1"
        rc, greeting = host_exec("fp3", "hello")
        assert rc == 0 and greeting.strip() == "Hello, world!"
        (host,) = night.report["hosts"]
        assert host["status"] == "patched"
        assert host["patched"] == [{"name": "hello", "from": "0.0-1", "to": version.strip()}]
        (origin,) = night.rows("SELECT data FROM host_phases WHERE run_id=? AND phase='scan'", night.run_id)[0]
        assert '"name": "hello"' in origin and "Debian:" in origin
    finally:
        localfleet("reset", "fp3")
