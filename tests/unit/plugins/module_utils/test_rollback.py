import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import rollback as r

DPKG_BEFORE = """ii \tfp-web\t1.0-1
ii \tlibc6:amd64\t2.36-9+deb12u7
ii \topenssl\t3.0.14-1~deb12u2
ii \tfp-old-tool\t0.9-1
rc \tfp-removed-long-ago\t0.1-1
ii \tbash\t5.2.15-2+b7
"""
DPKG_AFTER = """ii \tfp-web\t1.1-1
ii \tlibc6:amd64\t2.36-9+deb12u9
ii \topenssl\t3.0.15-1~deb12u1
ii \tfp-new-dep\t1.0-1
ii \tbash\t5.2.15-2+b7
"""


def test_parse_dpkg_lines_keeps_installed_packages_only():
    state = r.parse_package_lines(DPKG_BEFORE)
    assert state == {"fp-web": "1.0-1", "libc6:amd64": "2.36-9+deb12u7", "openssl": "3.0.14-1~deb12u2",
                     "fp-old-tool": "0.9-1", "bash": "5.2.15-2+b7"}


def test_parse_rpm_lines_drops_zero_epoch_and_key_pseudo_packages():
    lines = ["bash.x86_64\t0:5.1.8-9.el9", "openssl.x86_64\t1:3.0.7-27.el9", "gpg-pubkey.(none)\t0:fd431d51-4ae0493b", ""]
    assert r.parse_package_lines(lines) == {"bash.x86_64": "5.1.8-9.el9", "openssl.x86_64": "1:3.0.7-27.el9"}


@pytest.mark.parametrize("lines, fragment", [
    (["just-a-name"], "package_state line 1 'just-a-name' is not"),
    (["ii \t\t1.0"], "package_state line 1 'ii \\t\\t1.0' has an empty name or version"),
    (["a\tb\tc\td"], "is not 'name<TAB>version'"),
])
def test_parse_rejects_garbage(lines, fragment):
    with pytest.raises(r.RollbackError) as err:
        r.parse_package_lines(lines)
    assert fragment in str(err.value)


def test_downgrade_plan_from_recorded_dpkg_state():
    before, after = r.parse_package_lines(DPKG_BEFORE), r.parse_package_lines(DPKG_AFTER)
    plan = r.downgrade_plan(before, after)
    assert plan["downgrade"] == ["fp-web=1.0-1", "libc6:amd64=2.36-9+deb12u7", "openssl=3.0.14-1~deb12u2"]
    assert plan["reinstall"] == ["fp-old-tool=0.9-1"]          # the patch removed it
    assert plan["install"] == plan["downgrade"] + plan["reinstall"]
    assert plan["remove"] == ["fp-new-dep"]                    # the patch newly installed it
    assert plan["cannot_rollback"] == []
    assert (plan["unchanged"], plan["complete"]) == (1, True)


def test_downgrade_plan_reports_versions_no_longer_available():
    before, after = r.parse_package_lines(DPKG_BEFORE), r.parse_package_lines(DPKG_AFTER)
    available = r.parse_apt_madison(
        "    fp-web |      1.1-1 | file:/srv/repo ./ Packages\n"
        "    fp-web |      1.0-1 | file:/srv/repo ./ Packages\n"
        "     libc6 | 2.36-9+deb12u9 | http://deb.debian.org/debian-security bookworm-security/main amd64 Packages\n"
        "   openssl | 3.0.15-1~deb12u1 | http://deb.debian.org/debian-security bookworm-security/main amd64 Packages\n"
        "   openssl | 3.0.14-1~deb12u2 | http://deb.debian.org/debian bookworm/main amd64 Packages\n"
        "fp-old-tool |      0.9-1 | file:/srv/repo ./ Packages\n")
    plan = r.downgrade_plan(before, after, available)
    assert plan["downgrade"] == ["fp-web=1.0-1", "openssl=3.0.14-1~deb12u2"]
    assert plan["cannot_rollback"] == [{"package": "libc6:amd64", "version": "2.36-9+deb12u7", "now": "2.36-9+deb12u9",
                                        "reason": "version 2.36-9+deb12u7 is no longer available from the configured repositories"}]
    assert plan["complete"] is False


@pytest.mark.parametrize("manager, before, after, install", [
    ("dnf", {"openssl.x86_64": "1:3.0.7-25.el9"}, {"openssl.x86_64": "1:3.0.7-27.el9"}, ["openssl-1:3.0.7-25.el9.x86_64"]),
    ("dnf", {"bash.x86_64": "5.1.8-6.el9"}, {"bash.x86_64": "5.1.8-9.el9"}, ["bash-5.1.8-6.el9.x86_64"]),
    ("zypper", {"bash.x86_64": "5.1.16-1.1"}, {"bash.x86_64": "5.1.16-2.1"}, ["bash=5.1.16-1.1"]),
    ("apt", {"bash": "5.2.15-2"}, {"bash": "5.2.15-2+b7"}, ["bash=5.2.15-2"]),
])
def test_install_specs_per_package_manager(manager, before, after, install):
    assert r.downgrade_plan(before, after, manager=manager)["install"] == install


def test_downgrade_plan_without_a_recorded_state_says_why():
    with pytest.raises(r.RollbackError, match="no recorded package state before the patch"):
        r.downgrade_plan({}, {"a": "1"})
    with pytest.raises(r.RollbackError, match="package manager 'pacman'"):
        r.downgrade_plan({"a": "1"}, {"a": "2"}, manager="pacman")


@pytest.mark.parametrize("package, manager, name", [
    ("libc6:amd64", "apt", "libc6"), ("bash", "apt", "bash"), ("bash.x86_64", "dnf", "bash"),
    ("python3.11.x86_64", "dnf", "python3.11"), ("nodejs", "dnf", "nodejs")])
def test_base_name(package, manager, name):
    assert r.base_name(package, manager) == name


EC2_SNAP = {"provider": "ec2", "status": "ok", "ids": ["snap-1", "snap-2"]}


@pytest.mark.parametrize("validation, policy, snapshot, pkg, action", [
    # validation passed: nothing to do, whatever else holds
    (True, "on_failure", EC2_SNAP, True, "none"),
    ({"passed": True}, "on_failure", None, False, "none"),
    # failed, policy never: leave it
    (False, "never", EC2_SNAP, True, "none"),
    (False, False, EC2_SNAP, True, "none"),
    # failed, a restorable snapshot exists: restore it
    (False, "on_failure", EC2_SNAP, True, "snapshot_restore"),
    ({"passed": False}, True, {"provider": "vmware", "status": "changed", "ids": ["fleetpatch-run-1"]}, False, "snapshot_restore"),
    (False, "on_failure", {"provider": "lvm", "status": "ok", "ids": ["vg0/root_fp_run-1"]}, False, "snapshot_restore"),
    # failed, snapshot missing or failed (best_effort): downgrade packages when recorded
    (False, "on_failure", {"provider": "ec2", "status": "skipped", "ids": []}, True, "package_downgrade"),
    (False, "on_failure", {"provider": "ec2", "status": "ok", "ids": []}, True, "package_downgrade"),
    (False, "on_failure", {"provider": "package_state", "status": "ok", "ids": []}, True, "package_downgrade"),
    # package_state is not a snapshot, even with ids
    (False, "on_failure", {"provider": "package_state", "status": "ok", "ids": ["x"]}, True, "package_downgrade"),
    # failed, nothing to roll back with
    (False, "on_failure", {"provider": "ec2", "status": "failed", "ids": []}, False, "manual"),
    (False, "on_failure", None, False, "manual"),
])
def test_decide(validation, policy, snapshot, pkg, action):
    decision = r.decide(validation, policy, snapshot, package_state_recorded=pkg)
    assert decision["action"] == action
    assert decision["reason"]


@pytest.mark.parametrize("args, fragment", [
    ((False, "sometimes"), "rollback policy 'sometimes' is not one of on_failure, never"),
    (("no", "on_failure"), "validation must be a bool or the validate role's result"),
    ((False, "on_failure", {"provider": "zfs"}), "snapshot provider 'zfs'"),
])
def test_decide_rejects_bad_input(args, fragment):
    with pytest.raises(r.RollbackError) as err:
        r.decide(*args)
    assert fragment in str(err.value)


@pytest.mark.parametrize("action, action_ok, revalidation, expected", [
    ("none", True, None, None),
    ("manual", False, None, "rollback_failed"),
    ("snapshot_restore", True, {"passed": True}, "rolled_back"),
    ("snapshot_restore", True, {"passed": False}, "rollback_failed"),     # restored but still broken
    ("snapshot_restore", False, {"passed": True}, "rollback_failed"),
    ("package_downgrade", True, True, "rolled_back"),
    ("package_downgrade", True, None, "rollback_failed"),                 # never revalidated: not proven
])
def test_outcome(action, action_ok, revalidation, expected):
    result = r.outcome({"action": action, "reason": "why"}, action_ok, revalidation)
    assert result["outcome"] == expected
    assert result["message"]


def test_outcome_names_what_could_not_be_rolled_back():
    plan = {"cannot_rollback": [{"package": "libc6:amd64", "version": "2.36-9+deb12u7"}]}
    result = r.outcome({"action": "package_downgrade", "reason": "x"}, True, True, plan)
    assert result == {"outcome": "rolled_back",
                      "message": "package downgrade done and the health checks pass; not rolled back: libc6:amd64 2.36-9+deb12u7"}


def test_windows_package_level_rollback_says_it_uninstalls_the_kbs():
    snapshot = {"provider": "none", "package_state": ["KB5033907", "KB5034127"], "platform": "windows"}
    decision = r.decide({"passed": False}, "on_failure", snapshot, True)
    assert decision["action"] == "package_downgrade"      # the role maps it to kb_uninstall.yml on Windows
    assert decision["reason"] == "validation failed; no snapshot, uninstalling the KBs this run installed (KB5033907, KB5034127)"
    assert r.outcome(decision, True, True)["message"] == "KB uninstall done and the health checks pass"
    assert r.outcome(decision, False)["message"] == "KB uninstall failed"


@pytest.mark.parametrize("snapshot,recorded,expected", [
    ({"provider": "lvm", "status": "ok", "ids": ["vg/root-snap"]}, False,
     "post_patch step smoke test failed (rollback): exit code 1, allowed [0]; restoring the lvm snapshot vg/root-snap"),
    ({"provider": "package_state"}, True,
     "post_patch step smoke test failed (rollback): exit code 1, allowed [0]; no snapshot, downgrading to the recorded package versions"),
    ({}, False, "post_patch step smoke test failed (rollback): exit code 1, allowed [0] but there is neither a snapshot nor a "
                "recorded package state to roll back to"),
])
def test_a_rollback_asked_by_a_hook_step_names_the_step_not_validation(snapshot, recorded, expected):
    cause = "post_patch step smoke test failed (rollback): exit code 1, allowed [0]"
    decision = r.decide({"passed": False, "cause": cause, "summary": "3/3 checks passed"}, "on_failure", snapshot, recorded)
    assert decision["reason"] == expected
    assert "validation" not in decision["reason"]
    assert r.decide({"passed": False, "cause": cause}, "never")["reason"] == cause + "; the rollback policy is never"
    assert r.decide({"passed": False, "cause": ""}, "never")["reason"] == "validation failed; the rollback policy is never"
