"""rejected_patches_action on real hosts, dependencies included (issue 14, deliverable 2).

fp-depapp's security update (1.0-1+deb12u1) Depends on fp-deplib (>= 1.0-1+deb12u1), fp-deplib's own
security update (tools/testpackages.json). Both start at 1.0-1 (installed from the archive's main
suite). fp-deplib is rejected. The scan asks apt's resolver (python3-apt on these hosts) what
installing each pending patch brings, and the approval engine decides with it:
- block: neither package changes, the reason of fp-depapp names both; everything else is patched;
- allow_as_dependency: fp-deplib comes in, only because fp-depapp needs it;
- allow_as_dependency with fp-depapp not approved either: fp-deplib stays (only as a dependency).

The same pair as rpms on the EL-like host (Debian's dnf 4.14; fp-depapp 1.0-2.el9 Requires
fp-deplib >= 1.0-2.el9), resolved by dnf's Python API. The rpms are built here (RPM_PAIR, with
tools/localfleet's own rpm and repository builders) into a second repository on the host, not in
tools/testpackages.json: a change there rebuilds every checkout's base image by debootstrap.
"""

import json

import pytest
from fleetlib import _localfleet_tool, host_exec, installed, localfleet, run_playbook

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


# ----------------------------------------------------------------- the same on the EL-like host (dnf)

RPM_PAIR = [
    {"name": "fp-deplib", "summary": "Library whose security update an application's update needs (fleetpatch test package)",
     "installed": "1.0-1.el9",
     "updates": [{"version": "1.0-2.el9", "advisory": {
         "id": "RLSA-2026:1020", "type": "security", "severity": "Important", "issued": "2026-11-03 09:00:00",
         "title": "Important: fp-deplib security update", "cves": ["CVE-2026-20001"]}}]},
    {"name": "fp-depapp", "summary": "Application whose security update needs fp-deplib's update (fleetpatch test package)",
     "installed": "1.0-1.el9", "installed_requires": ["fp-deplib >= 1.0-1.el9"],
     "updates": [{"version": "1.0-2.el9", "requires": ["fp-deplib >= 1.0-2.el9"], "advisory": {
         "id": "RLSA-2026:1021", "type": "security", "severity": "Important", "issued": "2026-11-04 09:00:00",
         "title": "Important: fp-depapp security update", "cves": ["CVE-2026-20002"]}}]},
]
RPM_OLD = {"fp-depapp": "1.0-1.el9", "fp-deplib": "1.0-1.el9"}
RPM_NEW = {"fp-depapp": "1.0-2.el9", "fp-deplib": "1.0-2.el9"}
EL_REPO = "[fp-deps]\nname=fleetpatch dependency pair\nbaseurl=file:///srv/fp-dep-repo\nenabled=1\ngpgcheck=0\nmetadata_expire=0\n"


@pytest.fixture(scope="module")
def rpm_pair_repo(tmp_path_factory):
    return _localfleet_tool().write_rpm_repo(RPM_PAIR, str(tmp_path_factory.mktemp("rpm-pair") / "repo"), with_installed=True)


def rpm_versions():
    rc, out = host_exec("el1", "rpm -qa --qf '%{NAME} %{VERSION}-%{RELEASE}\\n' 'fp-*'")
    assert rc == 0, out
    return dict(line.split(" ", 1) for line in out.strip().splitlines())


def el_prepare(repo):
    localfleet("reset", "el1")
    localfleet("copy", "el1", repo, "/srv/fp-dep-repo")
    rc, out = host_exec("el1", "printf '%s' > /etc/yum.repos.d/fp-deps.repo && dnf -q -y install %s >/dev/null" % (
        EL_REPO, " ".join("%s-%s" % item for item in sorted(RPM_OLD.items()))))
    assert rc == 0, out
    assert dict((k, v) for k, v in rpm_versions().items() if k in RPM_OLD) == RPM_OLD


def el_night(tmp_path, action, **kwargs):
    night = run_playbook(str(tmp_path), "-e", "fleetpatch_targets=app-el-1", "-e", baseline(action, **kwargs))
    assert night.rc == 0, night.stdout[-3000:]
    (data,) = night.rows("SELECT data FROM host_phases WHERE run_id=? AND host='app-el-1' AND phase='approve'",
                         night.run_id)[0]
    return night, json.loads(data)


def test_dnf_block_keeps_the_rejected_package_and_what_needs_it(fleet, tmp_path, rpm_pair_repo):
    el_prepare(rpm_pair_repo)
    night, data = el_night(tmp_path, "block")
    after = rpm_versions()
    assert dict((k, after[k]) for k in RPM_OLD) == RPM_OLD, "nothing of the pair was installed"
    assert after["fp-openssl"] == "3.0.7-28.el9", "the rest of the night went on"
    assert data["dependency_resolver"] == "python3-dnf"
    assert data["dependencies"] == {"fp-depapp": ["fp-deplib"]}
    reason = data["reasons"]["fp-depapp"]
    assert "fp-depapp needs fp-deplib" in reason and "rejected" in reason, reason
    (host,) = night.report["hosts"]
    assert host["status"] == "patched"


def test_dnf_allow_as_dependency_brings_the_rejected_package_only_as_a_dependency(fleet, tmp_path, rpm_pair_repo):
    el_prepare(rpm_pair_repo)
    dummy, data = el_night(tmp_path, "allow_as_dependency")
    after = rpm_versions()
    assert dict((k, after[k]) for k in RPM_NEW) == RPM_NEW
    assert data["reasons"]["fp-deplib"] == "rejected, allowed as a dependency of fp-depapp"
    # and not on its own: with fp-depapp rejected too, fp-deplib stays
    el_prepare(rpm_pair_repo)
    dummy, data = el_night(tmp_path / "alone", "allow_as_dependency", extra_rejected=["fp-depapp"])
    after = rpm_versions()
    assert dict((k, after[k]) for k in RPM_OLD) == RPM_OLD
    assert after["fp-openssl"] == "3.0.7-28.el9"
