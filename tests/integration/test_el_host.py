"""A patch night on the EL-like host: dnf, a local rpm repository with updateinfo advisories."""

import json

import pytest
from fleetlib import host_exec, localfleet, run_playbook

pytestmark = pytest.mark.integration


def rpm_versions():
    rc, out = host_exec("el1", "rpm -qa --qf '%{NAME} %{VERSION}-%{RELEASE}\\n' 'fp-*'")
    assert rc == 0, out
    return dict(line.split(" ", 1) for line in out.strip().splitlines())


def test_patch_night_on_an_el_host(fleet, tmp_path):
    localfleet("reset", "el1")
    before = rpm_versions()
    assert before["fp-openssl"] == "3.0.7-27.el9"
    night = run_playbook(str(tmp_path), "-e", "fleetpatch_targets=app-el-1")
    assert night.rc == 0, night.stdout[-3000:]
    after = rpm_versions()
    # the default baseline approves security and bugfix advisories, not enhancements or un-advised updates
    assert after == dict(before, **{"fp-openssl": "3.0.7-28.el9", "fp-kernel": "5.14.0-503.el9", "fp-tzdata": "2026b-1.el9"})
    (host,) = night.report["hosts"]
    assert host["status"] == "patched"
    assert host["cves_closed"] == ["CVE-2026-10001", "CVE-2026-10002", "CVE-2026-50001"]
    (data,) = night.rows("SELECT data FROM host_phases WHERE run_id=? AND phase='preflight'", night.run_id)[0]
    assert '"package_manager": "dnf"' in data
    (approve,) = night.rows("SELECT data FROM host_phases WHERE run_id=? AND phase='approve'", night.run_id)[0]
    assert sorted(json.loads(approve)["not_approved"]) == ["fp-plain", "fp-tools"]
    # dnf's own resolver was asked (docs/policy.md); none of these updates needs another
    assert json.loads(approve)["dependency_resolver"] == "python3-dnf"
    assert json.loads(approve)["dependencies"] == {}
