"""rejected_patches_action on real hosts, dependencies included (issue 14, deliverable 2).

fp-depapp's security update (1.0-1+deb12u1) Depends on fp-deplib (>= 1.0-1+deb12u1), fp-deplib's own
security update (tools/testpackages.json). Both start at 1.0-1 (installed from the archive's main
suite). fp-deplib is rejected. The scan asks apt's resolver (python3-apt on these hosts) what
installing each pending patch brings, and the approval engine decides with it:
- block: neither package changes, the reason of fp-depapp names both; everything else is patched;
- allow_as_dependency: fp-deplib comes in, only because fp-depapp needs it;
- allow_as_dependency with fp-depapp not approved either: fp-deplib stays (only as a dependency).
"""

import json

import pytest
from fleetlib import host_exec, installed, localfleet, run_playbook

pytestmark = pytest.mark.integration

OLD = {"fp-depapp": "1.0-1", "fp-deplib": "1.0-1"}
NEW = {"fp-depapp": "1.0-1+deb12u1", "fp-deplib": "1.0-1+deb12u1"}


def baseline(action, rejected=("fp-deplib",), extra_rejected=()):
    base = {"name": "dep-test", "approval_rules": [{"classifications": ["security"], "approve_after_days": 0}],
            "rejected_patches": list(rejected) + list(extra_rejected)}
    if action:
        base["rejected_patches_action"] = action
    return json.dumps({"fleetpatch_baseline": base})


def prepare():
    localfleet("reset", "fp1")
    rc, out = host_exec("fp1", "apt-get update -qq && apt-get install -y -qq fp-deplib=1.0-1 fp-depapp=1.0-1 >/dev/null")
    assert rc == 0, out
    assert dict((k, v) for k, v in installed("fp1").items() if k in OLD) == OLD


def decisions(night):
    (data,) = night.rows("SELECT data FROM host_phases WHERE run_id=? AND host='web-dev-1' AND phase='approve'",
                         night.run_id)[0]
    return json.loads(data)


@pytest.mark.parametrize("action", ["block", None], ids=["block", "default-block"])
def test_block_keeps_the_rejected_package_and_what_needs_it(fleet, tmp_path, action):
    prepare()
    night = run_playbook(str(tmp_path), "-e", "fleetpatch_targets=web-dev-1", "-e", baseline(action))
    assert night.rc == 0, night.stdout[-3000:]
    after = installed("fp1")
    assert dict((k, after[k]) for k in OLD) == OLD, "nothing of the pair was installed"
    assert after["fp-openssl"] == "3.0.15-1~deb12u2", "the rest of the night went on"
    data = decisions(night)
    assert data["dependencies"] == {"fp-depapp": ["fp-deplib"]}
    assert data["dependency_resolver"] == "python3-apt"
    reason = data["reasons"]["fp-depapp"]
    assert "fp-depapp needs fp-deplib" in reason and "rejected" in reason, reason
    if action is None:
        assert "SSM's default is allow_as_dependency" in reason
        # the warning (Ansible wraps it to the terminal width)
        assert "rejected_patches_action is not set" in " ".join((night.stdout + night.stderr).split())


def test_allow_as_dependency_brings_the_rejected_package_as_a_dependency(fleet, tmp_path):
    prepare()
    night = run_playbook(str(tmp_path), "-e", "fleetpatch_targets=web-dev-1", "-e", baseline("allow_as_dependency"))
    assert night.rc == 0, night.stdout[-3000:]
    after = installed("fp1")
    assert dict((k, after[k]) for k in NEW) == NEW
    assert decisions(night)["reasons"]["fp-deplib"] == "rejected, allowed as a dependency of fp-depapp"


def test_allow_as_dependency_does_not_install_it_on_its_own(fleet, tmp_path):
    prepare()
    night = run_playbook(str(tmp_path), "-e", "fleetpatch_targets=web-dev-1",
                         "-e", baseline("allow_as_dependency", extra_rejected=["fp-depapp"]))
    assert night.rc == 0, night.stdout[-3000:]
    after = installed("fp1")
    assert dict((k, after[k]) for k in OLD) == OLD
    assert after["fp-openssl"] == "3.0.15-1~deb12u2"
