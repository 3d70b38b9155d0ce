import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import reboot

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
