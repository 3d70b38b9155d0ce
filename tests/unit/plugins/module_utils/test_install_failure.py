"""A failed install: the reason parsed from the package manager's real output, and what it left.

The apt/dpkg fixtures were recorded from apt-get 2.6 / dpkg 1.21 on a Debian bookworm root (the
local hosts' base image): a package whose postinst fails in the same transaction as one that
sets the reboot-required flag, then `dpkg --configure -a`, `dpkg --audit` and dpkg-query.
The rpm/zypper lines are rpm 4.x's and zypper's message formats (no SUSE host ran here);
dnf_rpm_prein.log is /var/log/dnf.rpm.log as Debian's dnf 4.14 / rpm 4.18 wrote it on the local
EL-like host after a transaction whose Lua %pre failed (one older, unrelated transaction prepended),
and the "Transaction failed" result is what ansible.builtin.dnf returned for it.
"""

import os

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.filter.install_failure import FilterModule
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.install_failure import judge, reason, state

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "install_failure")
install_failure = FilterModule().filters()["install_failure"]


def fixture(name):
    with open(os.path.join(HERE, name)) as handle:
        return handle.read()


def test_a_failing_postinst_is_named_without_the_warnings():
    result = {"msg": "'/usr/bin/apt-get -y -o \"Dpkg::Options::=--force-confdef\" install 'fp-hook=1.0-2' 'fp-kern=2'' failed: "
                     "E: Sub-process /usr/bin/dpkg returned an error code (1)\n",
              "stdout": fixture("apt_postinst.stdout"), "stderr": fixture("apt_postinst.stderr")}
    why = install_failure(result, "reason", manager="apt")
    assert why == {"package": "fp-hook", "step": "postinst", "message": (
        "fp-hook: postinst (configure) failed with exit status 1: fp-hook 1.0-2: cannot configure (test marker /etc/fp-hook-fail-1.0-2)")}
    assert "debconf" not in why["message"] and "apt-get" not in why["message"]


def test_state_and_judge_after_the_repair():
    probe = "===FINISH\n%s===AUDIT\n%s" % (fixture("dpkg_configure_again.out"), fixture("dpkg_audit_state.out").replace(
        "\n===\n", "\n===STATE\n"))
    seen = state(probe)
    assert seen["packages"] == {"fp-hook": {"version": "1.0-2", "status": "iF"}, "fp-kern": {"version": "2", "status": "ii"}}
    assert "half configured" in seen["audit"]
    approved = [{"name": "fp-hook", "installed_version": "1.0-1", "candidate_version": "1.0-2", "cves": ["CVE-1"]},
                {"name": "fp-kern", "installed_version": "1", "candidate_version": "2", "cves": ["CVE-2"], "arch": "all"}]
    judged = judge(approved, seen, "restore")
    assert judged["consistent"] is False and judged["broken"] == ["fp-hook"] and judged["restore"] == ["fp-hook=1.0-1"]
    assert judged["changes"] == [{"name": "fp-kern", "arch": "all", "from": "1", "to": "2", "classification": None,
                                  "cves": ["CVE-2"], "advisories": []}]
    assert judged["needs_attention"].startswith("not fully installed: fp-hook (iF 1.0-2); package manager check: The following")
    assert judge(approved, seen, "finish")["restore"] == []
    # after the restore: consistent, the failing package back at its version, the other one kept
    restored = state("===AUDIT\n===STATE\nfp-hook\t1.0-1\tii \nfp-kern\t2\tii \n")
    judged = judge(approved, restored)
    assert judged["consistent"] is True and judged["needs_attention"] is None and [c["name"] for c in judged["changes"]] == ["fp-kern"]


@pytest.mark.parametrize("output,manager,expected", [
    ("Err:1 http://127.0.0.1:8180 bookworm-security/main all fp-tools all 1.1\n  404  Not Found [IP: 127.0.0.1 8180]\n"
     "E: Failed to fetch http://127.0.0.1:8180/pool/main/f/fp-tools/fp-tools_1.1_all.deb  404  Not Found [IP: 127.0.0.1 8180]\n"
     "E: Unable to fetch some archives, maybe run apt-get update or try with --fix-missing?",
     "apt", ("fp-tools", "download", "fp-tools: download failed: 404  Not Found [IP: 127.0.0.1 8180]")),
    ("E: dpkg was interrupted, you must manually run 'dpkg --configure -a' to correct the problem.", "apt",
     (None, "dpkg interrupted", "dpkg was interrupted by an earlier run (its configure step was not done)")),
    ("dpkg: error processing archive /var/cache/apt/archives/fp-x_2_all.deb (--unpack):\n"
     " new fp-x package pre-installation script subprocess returned error exit status 2\n", "apt",
     ("fp-x", "preinst", "fp-x: preinst (unpack) failed with exit status 2")),
    ("  Running scriptlet: fp-el-1.1-1.noarch\nwarning: %post(fp-el-1.1-1.noarch) scriptlet failed, exit status 1\n"
     "Error in POSTIN scriptlet in rpm package fp-el\n", "dnf",
     ("fp-el", "%post", "fp-el: %post scriptlet failed with exit status 1 (fp-el-1.1-1.noarch)")),
    ("Error downloading packages:\n  openssl-libs-1:3.0.7-27.el9.x86_64: Cannot download, all mirrors were already tried without success",
     "dnf", ("openssl-libs", "download", "openssl-libs: download failed: Cannot download, all mirrors were already tried without success")),
    ("Installation of libfoo1-1.2-3.1.x86_64 failed:\nError: Subprocess failed. Error: RPM failed: warning: "
     "%post(libfoo1-1.2-3.1.x86_64) scriptlet failed, exit status 3\n", "zypper",
     ("libfoo1", "%post", "libfoo1: %post scriptlet failed with exit status 3 (libfoo1-1.2-3.1.x86_64)")),
    ("debconf: delaying package configuration, since apt-utils is not installed\nE: Some index files failed to download.", "apt",
     (None, None, "E: Some index files failed to download.")),
])
def test_reasons(output, manager, expected):
    found = reason(output, manager)
    assert (found["package"], found["step"], found["message"]) == expected


def test_a_failed_rpm_scriptlet_is_named_from_the_dnf_log():
    """ansible.builtin.dnf says only "Transaction failed"; the probe's ===LOG (the last transaction of
    dnf.rpm.log, not an older one and not the empty run of dnf check) names the package and scriptlet."""
    result = {"msg": "Unknown Error occurred: Transaction failed", "failures": [], "results": []}
    # what ansible-core 2.19's dnf module returned for it on the EL-like host: rpm's errors, no scriptlet named
    returned = {"msg": "Failed to install some of the specified packages", "rc": 1, "results": [], "failures": [[
        "error: lua script failed: fp-hook 1.0-2.el9: cannot install", "error: fp-hook-1.0-2.el9.noarch: install failed",
        "error: fp-hook-1.0-1.el9.noarch: erase skipped"]]}
    assert install_failure(returned, "reason", manager="dnf") == {"package": "fp-hook", "step": "install", "message": (
        "fp-hook: install failed (lua script failed: fp-hook 1.0-2.el9: cannot install)")}
    probe = "===FINISH\n===LOG\n%s===AUDIT\n===STATE\nfp-hook\t1.0-1.el9\tii\n" % fixture("dnf_rpm_prein.log")
    seen = state(probe)
    assert seen["log"].splitlines()[0].endswith("SUBDEBUG Upgrade: fp-hook-1.0-2.el9.noarch")
    assert "fp-old" not in seen["log"]
    assert install_failure(returned, "reason", manager="dnf", probe=probe) == {
        "package": "fp-hook", "step": "%pre", "message": "fp-hook: %pre scriptlet failed (lua script failed: fp-hook: cannot install)"}
    assert install_failure(result, "reason", manager="dnf", probe=probe) == {
        "package": "fp-hook", "step": "%pre", "message": "fp-hook: %pre scriptlet failed (lua script failed: fp-hook: cannot install)"}
    # without the log, or when the transaction never ran (a depsolve error), the log is not blamed
    assert install_failure(result, "reason", manager="dnf")["package"] is None
    depsolve = {"msg": "Depsolve Error occurred: nothing provides fp-lib needed by fp-app"}
    assert install_failure(depsolve, "reason", manager="dnf", probe=probe) == {
        "package": None, "step": None, "message": "Depsolve Error occurred: nothing provides fp-lib needed by fp-app"}
    assert install_failure(result, "reason", manager="apt", probe=probe)["package"] is None


def test_bad_input():
    from ansible.errors import AnsibleFilterError
    with pytest.raises(AnsibleFilterError, match="policy 'later' is not one of restore, finish"):
        install_failure("", "judge", approved=[], policy="later")
    with pytest.raises(AnsibleFilterError, match="mode 'why' is not one of"):
        install_failure({}, "why")


def test_what_the_transaction_set_up_is_recorded_from_its_output():
    approved = [{"name": "fp-hook", "installed_version": "1.0-1", "candidate_version": "1.0-2", "cves": ["CVE-1"]},
                {"name": "fp-kern", "installed_version": "1", "candidate_version": "2", "cves": ["CVE-2"]},
                {"name": "fp-none", "installed_version": "1", "candidate_version": "2"}]
    changes = install_failure({"stdout": fixture("apt_postinst.stdout")}, "installed", approved=approved)
    assert [(c["name"], c["from"], c["to"], c["cves"]) for c in changes] == [("fp-hook", "1.0-1", "1.0-2", ["CVE-1"]),
                                                                             ("fp-kern", "1", "2", ["CVE-2"])]
    dnf = {"results": ["Installed: fp-el-1.1-1.noarch", "Removed: fp-el-1.0-1.noarch"]}
    assert install_failure(dnf, "installed", approved=[{"name": "fp-el", "installed_version": "1.0-1"}])[0]["to"] == "1.1-1"
