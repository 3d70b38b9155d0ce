"""No reboot needed, but a service still runs replaced code: the night restarts it (and only then).

needrestart is not installed on the test hosts; a stand-in at /usr/sbin/needrestart prints the batch
output (`needrestart -b`) a real one prints when a library a service uses was replaced and the
kernel is current. The restart itself is real: the service's init script runs and its pid changes.
"""

import json

import pytest
from fleetlib import host_exec, localfleet, run_playbook

pytestmark = pytest.mark.integration

NEEDRESTART = ("printf '#!/bin/sh\\necho NEEDRESTART-VER: 3.6\\necho NEEDRESTART-KCUR: 6.1.0-1\\n"
               "echo NEEDRESTART-KEXP: 6.1.0-1\\necho NEEDRESTART-KSTA: 1\\necho NEEDRESTART-SVC: fp-webapp.service\\n'"
               " > /usr/sbin/needrestart && chmod 755 /usr/sbin/needrestart")
# the kernel and the web app itself stay as they are: no reboot, and no postinst restarts the app
BASELINE = json.dumps({"fleetpatch_baseline": {
    "name": "no-kernel-no-webapp", "approval_rules": [{"classifications": ["security", "bugfix"], "approve_after_days": 0}],
    "rejected_patches": ["fp-kernel", "fp-webapp"], "rejected_patches_action": "block"}})


def webapp_pid(host):
    rc, out = host_exec(host, "cat /run/fp-webapp.pid")
    assert rc == 0, out
    return out.strip()


@pytest.mark.parametrize("needrestart", [True, False], ids=["needrestart-names-it", "nothing-to-restart"])
def test_services_restarted_instead_of_a_reboot(fleet, tmp_path, needrestart):
    localfleet("reset", "fp1")
    rc, out = host_exec("fp1", "apt-get update -qq && apt-get install -y -qq fp-webapp=1.0-1 >/dev/null"
                        + (" && " + NEEDRESTART if needrestart else ""))
    assert rc == 0, out
    pid_before = webapp_pid("fp1")
    boot_before = host_exec("fp1", "cat /proc/sys/kernel/random/boot_id")[1]

    night = run_playbook(str(tmp_path), "-e", "fleetpatch_targets=web-dev-1", "-e", BASELINE)

    assert night.rc == 0, night.stdout[-3000:]
    assert host_exec("fp1", "cat /proc/sys/kernel/random/boot_id")[1] == boot_before, "no reboot was needed"
    (data,) = night.rows("SELECT data FROM host_phases WHERE run_id=? AND host='web-dev-1' AND phase='reboot'",
                         night.run_id)[0]
    data = json.loads(data)
    assert data["rebooted"] is False
    if needrestart:
        assert data["services_to_restart"] == ["fp-webapp.service"]
        assert data["services_restarted"] == ["fp-webapp"]
        assert webapp_pid("fp1") != pid_before, "the service was restarted"
    else:
        assert data["services_restarted"] == []
        assert webapp_pid("fp1") == pid_before, "nothing asked for a restart"
