import subprocess

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import probe as probelib
from ansible_collections.fleetpatch.hybrid.plugins.module_utils import reboot
from ansible_collections.fleetpatch.hybrid.plugins.module_utils import reboot as rebootlib

NEEDRESTART_KERNEL = """NEEDRESTART-VER: 3.6
NEEDRESTART-KCUR: 6.1.0-25-amd64
NEEDRESTART-KEXP: 6.1.0-28-amd64
NEEDRESTART-KSTA: 3
NEEDRESTART-SVC: ssh.service
NEEDRESTART-SVC: cron.service
"""


def test_parse_needrestart():
    assert reboot.parse_needrestart(NEEDRESTART_KERNEL) == (True, ["ssh.service", "cron.service"])
    assert reboot.parse_needrestart("NEEDRESTART-KSTA: 1\n") == (False, [])
    assert reboot.parse_needrestart(None) == (False, [])


@pytest.mark.parametrize("args,expected", [
    ((["fp-kernel"], True, None, None, []), ["/var/run/reboot-required (fp-kernel)"]),
    (([], True, None, None, []), ["/var/run/reboot-required (no package named)"]),
    (([], False, 1, None, []), ["needs-restarting -r: core libraries or services updated"]),
    (([], False, 0, "NEEDRESTART-KSTA: 1\n", []), []),
    (([], False, None, NEEDRESTART_KERNEL, []), ["needrestart: running kernel is outdated"]),
    (([], False, None, None, ["libc6"]), ["patched packages that load at boot: libc6"]),
    (([], False, None, None, []), []),
])
def test_reasons(args, expected):
    assert reboot.reasons_to_reboot(*args) == expected


@pytest.mark.parametrize("policy,reasons,now", [
    ("if_needed", ["x"], True),
    ("if_needed", [], False),
    ("never", ["x"], False),
    ("always", [], True),
])
def test_decide(policy, reasons, now):
    assert reboot.decide(policy, reasons)[0] is now
    if policy == "never":
        assert "reboot pending" in reboot.decide(policy, reasons)[1]


def test_unknown_policy_is_named():
    with pytest.raises(ValueError, match="reboot policy 'sometimes' is not one of if_needed, never, always"):
        reboot.decide("sometimes", [])


# The reboot probe's answer ({section: (rc, text)}), as module_utils/probe.py parses it.
QUIET = {"flag": (1, ""), "flag_pkgs": (1, ""), "needs_restarting": (127, ""), "needrestart": (127, ""),
         "boot_id": (0, "6aa771ee-300a-4b01-9dc2-92f89e7ee07f")}


@pytest.mark.parametrize("changes, policy, patched, reboot, reasons, services", [
    ({}, "if_needed", [], False, [], []),
    ({"flag": (0, ""), "flag_pkgs": (0, "linux-image-amd64\nlinux-image-amd64\n")}, "if_needed", [], True,
     ["/var/run/reboot-required (linux-image-amd64)"], []),
    ({"flag": (0, "")}, "never", [], False, ["/var/run/reboot-required (no package named)"], []),
    ({"needs_restarting": (0, "1")}, "if_needed", [], True, ["needs-restarting -r: core libraries or services updated"], []),
    ({"needs_restarting": (0, "0")}, "if_needed", [], False, [], []),
    ({"needrestart": (0, "NEEDRESTART-VER: 3.6\nNEEDRESTART-KSTA: 1\nNEEDRESTART-SVC: cron.service\n")}, "if_needed", [],
     False, [], ["cron.service"]),
    ({"needrestart": (0, "NEEDRESTART-KSTA: 3\n")}, "if_needed", [], True, ["needrestart: running kernel is outdated"], []),
    ({}, "if_needed", ["libc6", "curl"], True, ["patched packages that load at boot: libc6"], []),
    ({}, "always", [], True, [], []),
])
def test_from_probe_table(changes, policy, patched, reboot, reasons, services):
    result = rebootlib.from_probe(dict(QUIET, **changes), policy, patched)
    assert (result["reboot"], result["reasons"], result["services"]) == (reboot, reasons, services)
    assert result["required"] is bool(reasons)
    assert result["boot_id"] == "6aa771ee-300a-4b01-9dc2-92f89e7ee07f"


def test_from_probe_refuses_an_answer_cut_short():
    answer = dict(QUIET)
    del answer["boot_id"]
    with pytest.raises(ValueError, match="lacks boot_id"):
        rebootlib.from_probe(answer, "if_needed", [])


def test_the_probe_script_runs_under_sh_and_answers_every_section():
    proc = subprocess.run(["/bin/sh"], input=probelib.shell_script(rebootlib.PROBE_SECTIONS), capture_output=True,
                          text=True, check=False)
    sections = probelib.parse_sections(proc.stdout)
    assert sorted(sections) == sorted(name for name, dummy in rebootlib.PROBE_SECTIONS)
    with open(rebootlib.BOOT_ID) as handle:
        assert rebootlib.from_probe(sections, "if_needed", [])["boot_id"] == handle.read().strip()
