"""Faults in the middle of a patch night, then a rerun with the same run id (issue 11).

The controller is killed (SIGKILL, by the test-only callback in callback_plugins/, loaded only
here) at each phase boundary: preflight, scan, change request opened, snapshot, patch, reboot,
validate, rescan, report, and after the change requests were closed but before the run was
finished. After every fault the host must be consistent; after the rerun the
ledger, report.json, the hosts and the change requests must agree; a further rerun changes
nothing.
"""

import os
import sqlite3
import subprocess
import time

import pytest
from fleetlib import LOCALFLEET, ROOT, TEST_PACKAGES, WhenPhase, _localfleet_tool, host_exec, installed, localfleet, run_playbook

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ledger import Ledger
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.report import load_report

pytestmark = pytest.mark.integration

HOST, NAME = "web-dev-1", "fp1"
IN_BASE = [p["name"] for p in TEST_PACKAGES["packages"] if p.get("in_base", True)]
BEFORE = dict((p["name"], p["installed"]["version"]) for p in TEST_PACKAGES["packages"] if p["name"] in IN_BASE)
AFTER = dict(BEFORE, **dict((p["name"], [u for u in p["updates"] if u.get("publish", True)][-1]["version"])
                            for p in TEST_PACKAGES["packages"] if p["updates"] and p["name"] in IN_BASE))
CALLBACKS = os.path.join(ROOT, "tests", "integration", "callback_plugins")

# (boundary, where the controller dies): after the task that records the phase, or as a play starts
BOUNDARIES = [
    ("preflight", {"FLEETPATCH_KILL_AFTER_TASK": "Record the host and its preflight outcome"}),
    ("scan", {"FLEETPATCH_KILL_AFTER_TASK": "Record the scan and the approval"}),
    ("cr_opened", {"FLEETPATCH_KILL_AT_PLAY": "Patch in rolling batches"}),
    ("snapshot", {"FLEETPATCH_KILL_AFTER_TASK": "Record the snapshot"}),
    ("patch", {"FLEETPATCH_KILL_AFTER_TASK": "Record the patch"}),
    ("reboot", {"FLEETPATCH_KILL_AFTER_TASK": "Record the reboot decision"}),
    ("validate", {"FLEETPATCH_KILL_AFTER_TASK": "Record the skipped validation"}),
    ("rescan", {"FLEETPATCH_KILL_AFTER_TASK": "Record the verified package changes"}),
    ("report", {"FLEETPATCH_KILL_AFTER_TASK": "Write the report, and work out each change request's close from it"}),
    # the change requests are closed, the run is not finished yet
    ("cr_closed", {"FLEETPATCH_KILL_AFTER_TASK": "Record how each change was closed"}),
]


def killed_at(outdir, run_id, boundary, env):
    mark = os.path.join(outdir, "killed-%s" % boundary)
    night = run_playbook(outdir, "-e", "fleetpatch_targets=%s" % HOST, run_id=run_id, env_extra=dict(
        env, ANSIBLE_CALLBACK_PLUGINS=CALLBACKS, ANSIBLE_CALLBACKS_ENABLED="fleetpatch_kill_at", FLEETPATCH_KILL_MARK=mark))
    assert night.rc == -9 and os.path.exists(mark), "the controller was not killed at %s: rc %s\n%s" % (
        boundary, night.rc, night.stdout[-3000:])
    return night


def assert_host_consistent(name):
    rc, out = host_exec(name, "dpkg --audit; dpkg-query -W -f '${db:Status-Abbrev} ${Package}\\n' | grep -v '^ii ' || true")
    assert rc == 0 and out.strip() == "", "not consistent: %s" % out


def dump(outdir):
    """Every row of the ledger file (run, phases, packages, change requests), to compare before/after."""
    conn = sqlite3.connect(os.path.join(outdir, "ledger.db"))
    try:
        tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return dict((t, conn.execute("SELECT * FROM %s" % t).fetchall()) for t in tables)
    finally:
        conn.close()


def assert_record_true(night, boundary):
    """Installed versions = the ledger's package rows; CRs closed; report.json = the ledger."""
    assert night.rc == 0, night.stdout[-4000:]
    versions = installed(NAME)
    with Ledger(os.path.join(night.outdir, "ledger.db")) as ledger:
        # what patch_report writes: the run with its change requests and findings
        expected, (host,) = load_report(ledger, night.run_id)
    rows = dict((c["name"], c["to"]) for c in host["changes"])
    assert versions == AFTER, boundary
    assert rows == dict((n, v) for n, v in AFTER.items() if BEFORE[n] != v), boundary
    assert dict((n, v) for n, v in versions.items() if n in rows) == rows
    report = night.report
    assert report == expected, boundary
    crs = report["change_requests"]
    (entry,) = report["hosts"]
    assert entry["status"] == "patched" and entry["rebooted"] is True, (boundary, entry)
    assert [(c["state"], c["close_code"]) for c in crs] == [("closed", "successful")], (boundary, crs)
    assert night.rows("SELECT state, close_code FROM change_requests WHERE run_id=?", night.run_id) == [("closed", "successful")]


def assert_rerun_changes_nothing(outdir, run_id, host=HOST, versions=lambda: installed(NAME)):
    before = dump(outdir), versions(), open(os.path.join(outdir, "report.json")).read()
    again = run_playbook(outdir, "-e", "fleetpatch_targets=%s" % host, run_id=run_id)
    assert again.rc == 0, again.stdout[-3000:]
    said = " ".join(again.stdout.split())  # the callback wraps long lines
    assert "run %s finished at" % run_id in said and "nothing to do" in said, said[-2000:]
    assert (dump(outdir), versions(), open(os.path.join(outdir, "report.json")).read()) == before
    assert all(counts.get("changed", 0) == 0 for counts in again.recap().values()), again.recap()


def test_killed_at_every_boundary_one_after_another(fleet, tmp_path):
    """One run id, each attempt killed one phase boundary further on; the host is consistent after
    every kill, and the last rerun finishes the night as if nothing had happened."""
    localfleet("reset", NAME)
    assert installed(NAME) == BEFORE
    outdir, run_id = str(tmp_path), "faults-chain"
    for attempt, (boundary, env) in enumerate(BOUNDARIES, start=1):
        killed_at(outdir, run_id, boundary, env)
        assert_host_consistent(NAME)
        attempts = sqlite3.connect(os.path.join(outdir, "ledger.db")).execute(
            "SELECT MAX(attempt) FROM run_attempts WHERE run_id=?", (run_id,)).fetchone()[0]
        assert attempts == attempt
    # killed after its change request was closed: the CR and its notes are final already
    ledger = sqlite3.connect(os.path.join(outdir, "ledger.db"))
    closed = ledger.execute("SELECT * FROM change_requests WHERE run_id=?", (run_id,)).fetchall()
    notes = ledger.execute("SELECT * FROM change_request_notes").fetchall()
    assert ledger.execute("SELECT state, close_code FROM change_requests WHERE run_id=?", (run_id,)).fetchall() == [
        ("closed", "successful")]
    assert ledger.execute("SELECT finished_at FROM runs WHERE run_id=?", (run_id,)).fetchall() == [(None,)]
    ledger.close()
    night = run_playbook(outdir, "-e", "fleetpatch_targets=%s" % HOST, run_id=run_id)
    assert "resumed (attempt %d)" % (len(BOUNDARIES) + 1) in night.stdout
    assert_record_true(night, "chain")
    assert_host_consistent(NAME)
    # the resume after the close finishes the run; the closed change request is left as it was
    assert night.rows("SELECT * FROM change_requests WHERE run_id=?", run_id) == closed
    assert night.rows("SELECT * FROM change_request_notes") == notes
    # each phase ran in exactly one attempt: nothing was done twice, nothing re-judged
    phases = night.rows("SELECT phase, attempt FROM host_phases WHERE run_id=? ORDER BY id", run_id)
    assert [p for p, dummy in phases] == ["preflight", "scan", "approve", "snapshot", "patch", "reboot", "validate", "rescan"]
    assert [a for dummy, a in phases] == [1, 2, 2, 4, 5, 6, 7, 8]
    assert_rerun_changes_nothing(outdir, run_id)


def test_killed_after_the_patch_then_resumed(fleet, tmp_path):
    """A host patched before the kill is not rescanned into compliant: it is rebooted, validated and
    rescanned by the rerun, and the change request the first attempt opened is closed by it.
    (A kill at every other boundary, report and after the CRs were closed included, is the chain above.)"""
    localfleet("reset", NAME)
    rc, boot_before = host_exec(NAME, "cat /proc/sys/kernel/random/boot_id")
    outdir, run_id = str(tmp_path), "faults-patch"
    killed_at(outdir, run_id, "patch", dict(BOUNDARIES)["patch"])
    assert_host_consistent(NAME)
    opened = sqlite3.connect(os.path.join(outdir, "ledger.db")).execute(
        "SELECT number, state FROM change_requests WHERE run_id=?", (run_id,)).fetchall()
    assert [state for dummy, state in opened] == ["implement"]
    night = run_playbook(outdir, "-e", "fleetpatch_targets=%s" % HOST, run_id=run_id)
    assert "resumed (attempt 2)" in night.stdout
    assert_record_true(night, "patch")
    assert night.rows("SELECT number FROM change_requests WHERE run_id=?", run_id) == [(opened[0][0],)]
    rc, boot_after = host_exec(NAME, "cat /proc/sys/kernel/random/boot_id")
    assert boot_after != boot_before
    assert night.rows("SELECT phase, status FROM host_phases WHERE run_id=? AND attempt=2 ORDER BY id", run_id) == [
        ("reboot", "changed"), ("validate", "skipped"), ("rescan", "ok")]
    assert_rerun_changes_nothing(outdir, run_id)


HOOK_NEW = "1.0-1+deb12u1"


def hook_installed(name):
    rc, out = host_exec(name, "apt-get update -qq && apt-get install -y -qq fp-hook=1.0-1 >/dev/null && touch /etc/fp-hook-fail-%s "
                              "&& cat /proc/sys/kernel/random/boot_id" % HOOK_NEW)
    assert rc == 0, out
    return out.strip()


@pytest.mark.parametrize("policy", ["restore", "finish"])
def test_a_failing_maintainer_script(fleet, tmp_path, policy):
    """fp-hook's postinst fails in the same apt transaction as the rest of the night's packages
    (fp-kernel's asks for a reboot). restore (the default): fp-hook goes back to 1.0-1, the rest
    stays, the host is rebooted and validated, the record says what changed and why it failed.
    finish: fp-hook stays half-configured and the host is needs_attention, in the report and the CR."""
    localfleet("reset", NAME)
    boot_before = hook_installed(NAME)
    extra = ["-e", "fleetpatch_targets=%s" % HOST] + (["-e", "fleetpatch_install_failure_policy=finish"] if policy == "finish" else [])
    night = run_playbook(str(tmp_path), *extra, run_id="faults-hook-" + policy)
    assert night.rc != 0
    (entry,) = night.report["hosts"]
    versions = installed(NAME)
    with Ledger(os.path.join(night.outdir, "ledger.db")) as ledger:
        expected, (host,) = load_report(ledger, night.run_id)
    rows = dict((c["name"], c["to"]) for c in host["changes"])
    others = dict((n, v) for n, v in AFTER.items() if BEFORE[n] != v)
    assert rows == others, "the package rows are what really changed: every package but fp-hook"
    assert dict((n, versions[n]) for n in rows) == rows
    patch = host["phases"]["patch"]
    assert patch["status"] == "failed" and patch["data"]["package"] == "fp-hook" and patch["data"]["step"] == "postinst"
    assert patch["message"] == ("fp-hook: postinst (configure) failed with exit status 1: fp-hook %s: cannot configure "
                                "(test marker /etc/fp-hook-fail-%s)" % (HOOK_NEW, HOOK_NEW))
    assert host["phases"]["reboot"]["status"] == "changed", "fp-kernel was configured: its reboot happens"
    rc, boot_after = host_exec(NAME, "cat /proc/sys/kernel/random/boot_id")
    assert boot_after.strip() != boot_before
    assert "validate" in host["phases"]
    report = night.report
    assert report == expected
    crs = report["change_requests"]
    assert sorted(p["name"] for p in entry["patched"]) == sorted(rows)
    (cr,) = crs
    assert cr["state"] == "closed" and cr["close_code"] == "unsuccessful"
    if policy == "restore":
        assert_host_consistent(NAME)
        assert versions["fp-hook"] == "1.0-1" and patch["data"]["consistent"] is True
        assert patch["data"]["restored"] == ["fp-hook=1.0-1"]
        assert entry["status"] == "failed" and entry["failed_phase"] == "patch" and entry["reason"] == patch["message"]
        assert cr["host_outcomes"] == {HOST: "failed"}
    else:
        assert entry["status"] == "needs_attention" and entry["failed_phase"] == "patch"
        assert entry["reason"].startswith("not fully installed: fp-hook (iF %s)" % HOOK_NEW)
        assert cr["host_outcomes"] == {HOST: "needs_attention"}
        notes = night.rows("SELECT close_notes FROM change_requests WHERE run_id=?", night.run_id)[0][0]
        # the close notes' host line (module_utils/accounting.py close_notes): outcome, packages, CVEs, reason
        line = next(x for x in notes.splitlines() if x.startswith("- %s: " % HOST))
        assert line.startswith("- %s: needs_attention; %d package(s) patched;" % (HOST, len(rows))), line
        assert "; reason: not fully installed: fp-hook (iF %s)" % HOOK_NEW in line, line
        rc, out = host_exec(NAME, "dpkg --audit")
        assert "fp-hook" in out
    host_exec(NAME, "rm -f /etc/fp-hook-fail-%s" % HOOK_NEW)
    assert_rerun_changes_nothing(str(tmp_path), night.run_id)


def test_the_archive_vanishes_before_the_download(fleet, tmp_path):
    """fp-tools' .deb disappears from the archive after the host's snapshot, before apt fetches it
    (the archive is the hosts' read-only bind mount of .cache/localfleet/repo). Nothing is
    installed, the host stays consistent, and the reason names the package and the download."""
    localfleet("reset", NAME)
    deb = os.path.join(ROOT, ".cache", "localfleet", "repo", "pool", "security", "fp-tools_1.1_all.deb")
    hidden = deb + ".gone"
    run_id = "faults-download"
    watcher = WhenPhase(str(tmp_path), run_id, HOST, "snapshot", lambda: os.rename(deb, hidden))
    try:
        night = run_playbook(str(tmp_path), "-e", "fleetpatch_targets=%s" % HOST, run_id=run_id)
        watcher.join()
    finally:
        if os.path.exists(hidden):
            os.rename(hidden, deb)
    assert watcher.fired.is_set() and night.rc != 0
    assert_host_consistent(NAME)
    assert installed(NAME) == BEFORE
    (entry,) = night.report["hosts"]
    assert entry["status"] == "failed" and entry["failed_phase"] == "patch" and entry["patched"] == []
    assert entry["reason"].startswith("fp-tools: download failed: "), entry["reason"]
    assert night.rows("SELECT COUNT(*) FROM package_changes WHERE run_id=?", run_id) == [(0,)]
    assert night.rows("SELECT state, close_code FROM change_requests WHERE run_id=?", run_id) == [("closed", "unsuccessful")]
    assert_rerun_changes_nothing(str(tmp_path), run_id)


def test_a_reboot_that_does_not_come_back(fleet, tmp_path):
    """Once the host's patch is recorded its power switch is set to stay off (localfleet's stop
    file): the reboot after fp-kernel shuts it down and it does not boot again within
    patch_linux_reboot_timeout. The host is recorded failed in its reboot, with the packages the
    transaction installed; once it is powered on again it is consistent and runs those versions."""
    tool = _localfleet_tool()
    localfleet("reset", NAME)
    stop = os.path.join(tool.hostdir(NAME), "stop")
    run_id = "faults-reboot"
    watcher = WhenPhase(str(tmp_path), run_id, HOST, "patch", lambda: open(stop, "w").close())
    try:
        night = run_playbook(str(tmp_path), "-e", "fleetpatch_targets=%s" % HOST, "-e", "patch_linux_reboot_timeout=20",
                             run_id=run_id)
        watcher.join()
    finally:
        tool.start_host(NAME)
    assert watcher.fired.is_set() and night.rc != 0
    (entry,) = night.report["hosts"]
    assert entry["status"] in ("failed", "unreachable") and entry["failed_phase"] == "reboot", entry
    rows = dict(night.rows("SELECT name, to_version FROM package_changes WHERE run_id=?", run_id))
    assert rows == dict((n, v) for n, v in AFTER.items() if BEFORE[n] != v)
    assert sorted(p["name"] for p in entry["patched"]) == sorted(rows)
    assert night.rows("SELECT state, close_code FROM change_requests WHERE run_id=?", run_id) == [("closed", "unsuccessful")]
    for _attempt in range(60):  # it boots again
        if host_exec(NAME, "true")[0] == 0:
            break
        time.sleep(1)
    assert_host_consistent(NAME)
    assert installed(NAME) == AFTER
    assert_rerun_changes_nothing(str(tmp_path), run_id)


EL_HOST, EL_NAME = "app-el-1", "el1"
EL_BEFORE = {"fp-hook": "1.0-1.el9", "fp-kernel": "5.14.0-427.el9", "fp-openssl": "3.0.7-27.el9", "fp-plain": "1.0-1.el9",
             "fp-stable": "5.0-1.el9", "fp-tools": "1.0-1.el9", "fp-tzdata": "2026a-1.el9"}
EL_UPGRADED = {"fp-kernel": "5.14.0-503.el9", "fp-openssl": "3.0.7-28.el9", "fp-tzdata": "2026b-1.el9"}
# rpm runs a Lua scriptlet itself: the EL-like host's rpm database has no /bin/sh for a shell one
EL_HOOK_SPEC = """Name: fp-hook
Version: %(version)s
Release: %(release)s
Summary: A package whose scriptlets fail on demand (fleetpatch test package)
License: GPL-3.0-or-later
BuildArch: noarch

%%description
Test package of fleetpatch.hybrid.

%%install
mkdir -p %%{buildroot}/usr/share/fleetpatch-test
echo "fp-hook %(version)s-%(release)s" > %%{buildroot}/usr/share/fleetpatch-test/fp-hook

%%pre -p <lua>
if io.open("/etc/fp-hook-fail-pre-%(version)s-%(release)s") then error("fp-hook %(version)s-%(release)s: cannot install", 0) end

%%files
/usr/share/fleetpatch-test/fp-hook
"""
EL_HOOK_ADVISORY = """<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="test-archive@fleetpatch.invalid" status="final" type="security" version="2">
    <id>RLSA-2026:1099</id>
    <title>Important: fp-hook security update</title>
    <issued date="2026-11-20 09:00:00"/>
    <updated date="2026-11-20 09:00:00"/>
    <severity>Important</severity>
    <summary>fp-hook security update</summary>
    <description>fp-hook security update</description>
    <references>
      <reference href="https://www.cve.org/CVERecord?id=CVE-2026-60001" id="CVE-2026-60001" type="cve" title="CVE-2026-60001"/>
    </references>
    <pkglist>
      <collection short="el9">
        <name>Rocky Linux 9 (fleetpatch test archive)</name>
        <package name="fp-hook" version="1.0" release="2.el9" epoch="0" arch="noarch">
          <filename>fp-hook-1.0-2.el9.noarch.rpm</filename>
        </package>
      </collection>
    </pkglist>
  </update>
</updates>
"""


def el_hook_repo(workdir):
    """A second rpm repository for the EL-like host: fp-hook 1.0-1.el9 and 1.0-2.el9 (a security
    advisory), built here with rpmbuild, createrepo_c and modifyrepo_c like tools/localfleet's own."""
    repo = os.path.join(workdir, "fp-hook-repo")
    os.makedirs(repo)
    for release in ("1.el9", "2.el9"):
        spec = os.path.join(workdir, "fp-hook-%s.spec" % release)
        with open(spec, "w") as handle:
            handle.write(EL_HOOK_SPEC % {"version": "1.0", "release": release})
        subprocess.run(["rpmbuild", "-bb", "--quiet", "--define", "_topdir %s" % os.path.join(workdir, "top"),
                        "--define", "_rpmdir %s" % workdir, "--define", "_build_id_links none", spec], check=True)
        os.rename(os.path.join(workdir, "noarch", "fp-hook-1.0-%s.noarch.rpm" % release),
                  os.path.join(repo, "fp-hook-1.0-%s.noarch.rpm" % release))
    subprocess.run(["createrepo_c", "--quiet", repo], check=True)
    updateinfo = os.path.join(workdir, "updateinfo.xml")
    with open(updateinfo, "w") as handle:
        handle.write(EL_HOOK_ADVISORY)
    subprocess.run(["modifyrepo_c", "--mdtype=updateinfo", updateinfo, os.path.join(repo, "repodata")], check=True, capture_output=True)
    return repo


def rpm_versions():
    rc, out = host_exec(EL_NAME, "rpm -qa --qf '%{NAME} %{VERSION}-%{RELEASE}\\n' 'fp-*'")
    assert rc == 0, out
    return dict(line.split(" ", 1) for line in out.strip().splitlines())


def test_a_failing_rpm_scriptlet_on_an_el_host(fleet, tmp_path):
    """On the EL-like host (Debian's dnf 4 and rpm 4.18), fp-hook's %pre fails in the same dnf
    transaction as the night's other updates. rpm leaves fp-hook at its old version and installs the
    rest; ansible.builtin.dnf reports only "Transaction failed". The night names fp-hook's %pre from
    dnf's rpm log, records the three packages that did change (read from the rpm database), finds
    the host consistent (dnf check), decides the reboot over those changes, validates, and closes
    the CR unsuccessful.
    (A failing %post leaves the new version installed and dnf reports success: rpm has no
    half-configured state; see docs/reliability.md.)"""
    localfleet("reset", EL_NAME)
    repo = el_hook_repo(str(tmp_path / "build"))
    tar = subprocess.run(["tar", "-C", repo, "-c", "."], capture_output=True, check=True).stdout
    setup = ("mkdir -p /srv/fp-hook-rpm-repo && tar -x -C /srv/fp-hook-rpm-repo && printf '%s' > /etc/yum.repos.d/fp-hook.repo "
             "&& rpm -i --nodeps /srv/fp-hook-rpm-repo/fp-hook-1.0-1.el9.noarch.rpm 2>/dev/null && touch /etc/fp-hook-fail-pre-1.0-2.el9 "
             "&& cat /proc/sys/kernel/random/boot_id") % (
        "[fleetpatch-hook]\\nname=fp-hook test repository\\nbaseurl=file:///srv/fp-hook-rpm-repo\\nenabled=1\\ngpgcheck=0\\n"
        "metadata_expire=0\\n")
    done = subprocess.run([LOCALFLEET, "exec", EL_NAME, setup], input=tar, capture_output=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    boot_before = done.stdout.decode().strip()
    try:
        assert rpm_versions() == EL_BEFORE
        night = run_playbook(str(tmp_path), "-e", "fleetpatch_targets=%s" % EL_HOST, run_id="faults-rpm-pre")
        assert night.rc != 0
        assert rpm_versions() == dict(EL_BEFORE, **EL_UPGRADED)
        rc, out = host_exec(EL_NAME, "dnf -q check 2>&1")
        assert rc == 0 and out.strip() == "", out
        with Ledger(os.path.join(night.outdir, "ledger.db")) as ledger:
            expected, (host,) = load_report(ledger, night.run_id)
        assert dict((c["name"], c["to"]) for c in host["changes"]) == EL_UPGRADED, (
            "the rows are what the rpm database says", host["phases"], night.stdout[-6000:])
        patch = host["phases"]["patch"]
        assert patch["status"] == "failed" and patch["data"]["package"] == "fp-hook" and patch["data"]["step"] == "%pre"
        assert patch["message"] == "fp-hook: %pre scriptlet failed (lua script failed: fp-hook 1.0-2.el9: cannot install)"
        assert patch["data"]["consistent"] is True and patch["data"]["restored"] == []
        # the reboot decision ran over the real changes (on this host no test rpm asks for a reboot:
        # no needs-restarting, no real kernel), then the validation
        assert host["phases"]["reboot"]["status"] == "skipped" and "validate" in host["phases"]
        rc, boot_after = host_exec(EL_NAME, "cat /proc/sys/kernel/random/boot_id")
        assert boot_after.strip() == boot_before
        report = night.report
        assert report == expected
        (entry,) = report["hosts"]
        assert entry["status"] == "failed" and entry["failed_phase"] == "patch" and entry["reason"] == patch["message"]
        assert sorted(p["name"] for p in entry["patched"]) == sorted(EL_UPGRADED)
        (cr,) = report["change_requests"]
        assert cr["state"] == "closed" and cr["close_code"] == "unsuccessful" and cr["host_outcomes"] == {EL_HOST: "failed"}
        host_exec(EL_NAME, "rm -f /etc/fp-hook-fail-pre-1.0-2.el9")
        assert_rerun_changes_nothing(str(tmp_path), night.run_id, host=EL_HOST, versions=rpm_versions)
    finally:
        localfleet("reset", EL_NAME)
