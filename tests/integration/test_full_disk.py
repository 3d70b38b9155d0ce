"""A host with a full file system on a path the patch needs is stopped in preflight, untouched.

The full file system is real: an 8 MiB tmpfs mounted inside the host (in its own mount
namespace, through `tools/localfleet exec`, which runs as root in the host) over
/var/cache/apt/archives, where apt downloads the packages, and filled to the last block.
"""

import json

import pytest
from fleetlib import DEBIAN_TARGETS, HOSTS, expected_versions, host_exec, installed, localfleet, run_playbook

pytestmark = pytest.mark.integration

ARCHIVES = "/var/cache/apt/archives"
FILL = ("mount -t tmpfs -o size=8m tmpfs {d} && mkdir -p {d}/partial && "
        "(dd if=/dev/zero of={d}/filler bs=64k 2>/dev/null; true) && df -Pm {d} | tail -1").format(d=ARCHIVES)


@pytest.fixture()
def full_archives(fleet):
    for name in HOSTS.values():
        localfleet("reset", name)
    rc, out = host_exec("fp2", FILL)
    assert rc == 0, out
    fields = out.split()
    assert fields[0] == "tmpfs" and fields[3] == "0" and fields[5] == ARCHIVES, out  # no MiB free
    yield "web-prod-1"
    localfleet("reset", "fp2")


def test_full_disk_stops_the_host_in_preflight_and_the_others_are_patched(full_archives, tmp_path):
    before, after = expected_versions()
    versions_before = dict((host, installed(name)) for host, name in HOSTS.items())
    assert all(v == before for v in versions_before.values())
    night = run_playbook(str(tmp_path), "-e", DEBIAN_TARGETS)
    assert night.rc != 0, "the run must fail when a host could not be patched"

    full = full_archives
    rows = night.rows("SELECT phase, status, message, data FROM host_phases WHERE run_id=? AND host=?", night.run_id, full)
    assert [(p, s) for p, s, dummy, dummy in rows] == [("preflight", "failed")]
    message, data = rows[0][2], json.loads(rows[0][3])
    assert "only 0 MiB free on %s (need 500 MiB)" % ARCHIVES in message
    assert {"path": ARCHIVES, "free_mb": 0} in data["disks"]
    assert installed(HOSTS[full]) == versions_before[full], "nothing may change on the host that failed preflight"
    rc, out = host_exec(HOSTS[full], "ls %s" % ARCHIVES)
    assert out.split() == ["filler", "partial"], out  # apt never ran there

    report = dict((h["name"], h) for h in night.report["hosts"])
    assert report[full]["status"] == "failed" and report[full]["failed_phase"] == "preflight"
    assert "only 0 MiB free on %s" % ARCHIVES in report[full]["reason"]
    for host, name in HOSTS.items():
        if host != full:
            assert report[host]["status"] == "patched", report[host]
            assert installed(name) == after[host], host
