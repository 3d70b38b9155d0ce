"""patch_scan's dnf, yum and zypper paths (and apt with vulnerability data) with a fake run_command.

The commands' output is the recorded output under tests/unit/plugins/module_utils/fixtures; the fake
fails on any command the test did not expect, so the module cannot run more than it should.
"""

import json
import os
import tempfile

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.fleetpatch.hybrid.plugins.modules import patch_scan

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "module_utils", "fixtures")


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


class Exited(Exception):
    def __init__(self, result):
        Exception.__init__(self, result)
        self.result = result


class Failed(Exception):
    def __init__(self, result):
        Exception.__init__(self, result)
        self.result = result


class Host(object):
    """A fake target: which binaries exist, what each command prints, and the calls made."""

    def __init__(self, binaries, commands, os_release=None):
        self.binaries = binaries
        self.commands = commands
        self.os_release = os_release or {}
        self.calls = []
        self.warnings = []

    def run(self, module, args, **kwargs):
        text = " ".join(args) if isinstance(args, list) else args
        self.calls.append(text)
        for needle, result in self.commands:
            if needle in text:
                return result
        raise AssertionError("unexpected command: %s" % text)


@pytest.fixture
def scan(monkeypatch):
    def run(host, args=None, check_mode=False):
        def get_bin_path(module, name, required=False, opt_dirs=None):
            if name in host.binaries:
                return "/usr/bin/" + name
            if required:
                module.fail_json(msg="%s not found" % name)
            return None

        def exit_json(module, **result):
            raise Exited(result)

        def fail_json(module, **result):
            raise Failed(result)

        def run_command(module, args, **kwargs):
            return host.run(module, args, **kwargs)

        monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
        monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", get_bin_path)
        monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
        monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
        monkeypatch.setattr(basic.AnsibleModule, "warn", lambda module, text: host.warnings.append(text))
        monkeypatch.setattr(patch_scan.osinfo, "read_os_release", lambda: host.os_release)
        with patch_module_args(dict(args or {}, _ansible_check_mode=check_mode)):
            with pytest.raises(Exited) as caught:
                patch_scan.main()
        return caught.value
    return run


ROCKY = {"ID": "rocky", "ID_LIKE": "rhel centos fedora", "VERSION_ID": "9.3"}


def dnf_host(check_update=None, info=None):
    check_update = check_update or (100, fixture("dnf_check_update.txt"), "")
    info = info or (0, fixture("dnf_updateinfo_info.txt"), "")
    return Host(["dnf", "rpm", "apt-get"], [
        ("check-update", check_update),
        ("updateinfo info --updates", info),
        ("rpm -qa", (0, fixture("rpm_qa.txt"), "")),
    ], ROCKY)


def test_dnf_scan(scan):
    host = dnf_host()
    result = scan(host, {"packages": ["fp-openssl", "absent"], "dependencies": False}).result
    assert host.calls == ["/usr/bin/dnf -q check-update --refresh", "/usr/bin/dnf -q -v updateinfo info --updates",
                          "rpm -qa --qf %{NAME}\\t%{ARCH}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\n"]
    assert result["package_manager"] == "dnf" and result["changed"] is False and result["cache_updated"] is True
    patches = dict((p["name"], p) for p in result["patches"])
    assert patches["fp-openssl"]["severity"] == "important"
    assert patches["fp-openssl"]["advisories"] == ["RLSA-2023:1200", "RLSA-2023:1405"]
    assert patches["fp-curl"]["cves"] == ["CVE-2023-38545", "CVE-2023-38546"]
    assert result["removals"] == [{"name": "fp-oldtool", "installed_version": "1.0-1.el9"}]
    assert result["installed"] == {"fp-openssl": "1:3.0.7-16.el9", "absent": None}
    assert result["summary"] == {"pending": 8, "security": 4, "cves": 8, "reboot_hint": False}
    assert "vulnerability_data" not in result


def test_dnf_check_mode_does_not_refresh(scan):
    host = dnf_host()
    result = scan(host, check_mode=True).result
    assert host.calls[0] == "/usr/bin/dnf -q check-update"
    assert result["cache_updated"] is False


def test_dnf_nothing_pending_asks_for_no_advisories(scan):
    host = dnf_host(check_update=(0, "\n", ""))
    result = scan(host, {"update_cache": False}).result
    assert [c.split()[2] if c.startswith("/usr/bin/dnf") else c.split()[0] for c in host.calls] == ["check-update", "rpm"]
    assert result["patches"] == [] and result["summary"]["pending"] == 0


def test_dnf_check_update_error_fails_clearly(scan):
    host = dnf_host(check_update=(1, "", "Error: Failed to download metadata for repo 'baseos'"))
    with pytest.raises(Failed) as caught:
        scan(host)
    assert caught.value.result["msg"] == ("dnf check-update failed (rc=1): "
                                          "Error: Failed to download metadata for repo 'baseos'")


def test_dnf_without_updateinfo_warns_and_still_lists(scan):
    host = dnf_host(info=(1, "", "No such command: updateinfo"))
    result = scan(host).result
    assert len(result["patches"]) == 8
    assert all(p["classification"] == "other" for p in result["patches"])
    assert host.warnings and "updates are not classified" in host.warnings[0]


YUM_INFO = """===============================================================================
  Amazon Linux 2 2023-02-14 - ALAS2-2023-1908 openssl
===============================================================================
  Update ID : ALAS2-2023-1908
       Type : security
     Issued : 2023-02-08 22:12
       CVEs : CVE-2023-0286
   Severity : important
"""


def test_yum_scan(scan):
    host = Host(["yum", "rpm"], [
        ("clean expire-cache", (0, "", "")),
        ("check-update", (100, "\nopenssl-libs.x86_64   1:1.0.2k-24.amzn2.0.6   amzn2-core\n", "")),
        ("updateinfo info updates", (0, YUM_INFO, "")),
        ("updateinfo list updates", (0, "ALAS2-2023-1908 important/Sec. openssl-libs-1:1.0.2k-24.amzn2.0.6.x86_64\n", "")),
        ("rpm -qa", (0, "openssl-libs\tx86_64\t1\t1.0.2k\t24.amzn2.0.4\n", "")),
    ], {"ID": "amzn", "VERSION_ID": "2"})
    result = scan(host).result
    assert [c.replace("/usr/bin/yum -q ", "") for c in host.calls[:4]] == [
        "clean expire-cache", "check-update", "updateinfo info updates", "updateinfo list updates"]
    record = result["patches"][0]
    assert result["package_manager"] == "yum"
    assert (record["installed_version"], record["advisories"], record["cves"], record["severity"], record["manager"]) == (
        "1:1.0.2k-24.amzn2.0.4", ["ALAS2-2023-1908"], ["CVE-2023-0286"], "important", "yum")


def zypper_host(list_patches=None):
    list_patches = list_patches or (100, fixture("zypper_list_patches.xml"), "")
    return Host(["zypper", "rpm"], [
        ("zypper -n refresh", (0, "All repositories have been refreshed.", "")),
        ("list-patches", list_patches),
        ("list-updates", (0, fixture("zypper_list_updates.xml"), "")),
        ("info -t patch", (104, fixture("zypper_info_patches.txt"), "")),
        ("rpm -qa", (0, "curl\tx86_64\t(none)\t8.0.1\t150400.5.36.1\n", "")),
    ], {"ID": "sles", "ID_LIKE": "suse", "VERSION_ID": "15.5"})


def test_zypper_scan(scan):
    host = zypper_host()
    result = scan(host, {"packages": ["curl"]}).result
    assert host.calls[0] == "/usr/bin/zypper -n refresh"
    assert host.calls[1] == "/usr/bin/zypper -n --no-refresh --xmlout list-patches"
    assert host.calls[3].startswith("/usr/bin/zypper -n --no-refresh info -t patch SUSE-SLE-Module-Basesystem-15-SP5-2024-123 ")
    assert len(host.calls[3].split()) == 6 + 5          # one call for all five pending patches
    patches = dict((p["name"], p) for p in result["patches"])
    assert result["package_manager"] == "zypper"
    assert patches["curl"]["severity"] == "critical" and patches["kernel-default"]["reboot_hint"] is True
    assert "patch:SUSE-SLE-Module-Server-Applications-15-SP5-2024-420" in patches
    assert result["installed"] == {"curl": "8.0.1-150400.5.36.1"}
    assert result["summary"]["reboot_hint"] is True


def test_zypper_check_mode_does_not_refresh(scan):
    host = zypper_host()
    scan(host, check_mode=True)
    assert not any(c.endswith(" refresh") for c in host.calls)


def test_zypper_error_names_zypper_message(scan):
    broken = ('<?xml version="1.0"?><stream><message type="error">Repository \'SLES15-SP5-Updates\' is invalid.</message>'
              '</stream>')
    with pytest.raises(Failed) as caught:
        scan(zypper_host(list_patches=(4, broken, "")), {"update_cache": False})
    assert caught.value.result["msg"] == "zypper list-patches failed (rc=4): Repository 'SLES15-SP5-Updates' is invalid."


APT_SIMULATION = """Inst libcurl4 [7.88.1-10+deb12u3] (7.88.1-10+deb12u5 Debian-Security:12/stable-security [amd64])
Inst fp-tools [1.0] (1.1 local [all])
"""


def apt_host():
    return Host(["apt-get", "dpkg-query"], [
        ("apt-get -s", (0, APT_SIMULATION, "")),
        ("${source:Package}", (1, "libcurl4\tcurl\nfp-tools\tfp-tools\n", "dpkg-query: no packages found matching x")),
    ], {"ID": "debian", "VERSION_CODENAME": "bookworm"})


def test_apt_with_tracker_data(scan, tmp_path):
    path = tmp_path / "tracker.json"
    path.write_text(fixture("debian_tracker.json"))
    host = apt_host()
    result = scan(host, {"update_cache": False, "changelogs": False, "vulnerability_data": str(path)}).result
    patches = dict((p["name"], p) for p in result["patches"])
    assert result["package_manager"] == "apt"
    assert patches["libcurl4"]["severity"] == "critical"
    assert patches["libcurl4"]["cves"] == ["CVE-2023-38545", "CVE-2023-38546", "CVE-2023-46218"]
    assert patches["fp-tools"]["severity"] == "unspecified"
    assert result["vulnerability_data"] == {"path": str(path), "format": "debian_tracker", "release": "bookworm"}
    assert result["summary"]["cves"] == 3


def test_apt_without_vulnerability_data_is_unchanged(scan):
    host = apt_host()
    result = scan(host, {"update_cache": False, "changelogs": False, "dependencies": False}).result
    assert sorted(result) == sorted(["changed", "package_manager", "product", "patches", "removals", "installed",
                                     "cache_updated", "summary", "dependencies", "dependency_resolver"])
    assert [p["severity"] for p in result["patches"]] == ["unspecified", "unspecified"]
    assert host.calls == ["apt-get -s -o Debug::NoLocking=1 dist-upgrade"]
    assert result["dependencies"] == {} and result["dependency_resolver"] is None


def test_apt_dependencies_from_simulated_installs_without_python3_apt(scan, monkeypatch):
    monkeypatch.setattr(patch_scan.aptlib, "apt_pkg_resolver", lambda lists_dir=None: None)
    host = Host(["apt-get", "dpkg-query"], [
        ("install libcurl4", (0, "Inst libcurl4 [1] (2 Debian-Security:12/stable-security [amd64])\n"
                                 "Inst fp-tools [1.0] (1.1 local [all])\n", "")),
        ("install fp-tools", (0, "Inst fp-tools [1.0] (1.1 local [all])\n", "")),
        ("apt-get -s", (0, APT_SIMULATION, "")),
    ], {"ID": "debian"})
    result = scan(host, {"update_cache": False, "changelogs": False}).result
    assert result["dependencies"] == {"libcurl4": ["fp-tools"]}
    assert result["dependency_resolver"] == "apt-get -s install"
    assert "apt-get -s -o Debug::NoLocking=1 install libcurl4" in host.calls


def test_apt_check_mode_reads_private_lists(scan, monkeypatch):
    monkeypatch.setattr(patch_scan.aptlib, "apt_pkg_resolver", lambda lists_dir=None: None)
    host = Host(["apt-get", "dpkg-query"], [("apt-get update", (0, "", "")), ("apt-get -s", (0, APT_SIMULATION, ""))],
                {"ID": "debian"})
    result = scan(host, {"changelogs": False, "dependencies": False}, check_mode=True).result
    update, simulate = host.calls
    lists = update.split("Dir::State::Lists=")[1].split()[0]
    assert lists.startswith(tempfile.gettempdir()) and "/var/lib/apt/lists" not in update
    assert "Dir::State::Lists=" + lists in simulate      # the simulation reads the same private lists
    assert result["cache_updated"] is True


def test_apt_unreadable_vulnerability_data(scan, tmp_path):
    with pytest.raises(Failed) as caught:
        scan(apt_host(), {"update_cache": False, "changelogs": False, "vulnerability_data": str(tmp_path / "missing.json")})
    assert caught.value.result["msg"].startswith("vulnerability_data: cannot use %s" % (tmp_path / "missing.json"))
    path = tmp_path / "notes.txt"
    path.write_text("not data")
    with pytest.raises(Failed) as caught:
        scan(apt_host(), {"update_cache": False, "changelogs": False, "vulnerability_data": str(path)})
    assert "neither Debian security tracker JSON nor OVAL XML" in caught.value.result["msg"]


def test_no_package_manager(scan):
    with pytest.raises(Failed) as caught:
        scan(Host([], [], {"ID": "alpine"}))
    assert "none of apt-get, dnf, yum, zypper is on this host" in caught.value.result["msg"]


def test_forced_package_manager_must_exist(scan):
    with pytest.raises(Failed) as caught:
        scan(Host(["apt-get"], [], {"ID": "debian"}), {"package_manager": "zypper"})
    assert caught.value.result["msg"] == "package_manager=zypper but zypper is not on this host"


@pytest.mark.parametrize("os_release,binaries,expected", [
    ({"ID": "debian"}, ["apt-get", "dnf"], "apt"),
    ({"ID": "rocky", "ID_LIKE": "rhel centos fedora"}, ["apt-get", "dnf", "yum"], "dnf"),   # an EL-like host with apt too
    ({"ID": "amzn", "ID_LIKE": "centos rhel fedora"}, ["yum"], "yum"),                       # Amazon Linux 2
    ({"ID": "amzn"}, ["dnf", "yum"], "dnf"),                                                   # AL2023
    ({"ID": "opensuse-leap", "ID_LIKE": "suse opensuse"}, ["zypper"], "zypper"),
    ({"ID": "sles", "ID_LIKE": "suse"}, ["zypper", "rpm"], "zypper"),
    ({"ID": "linuxmint", "ID_LIKE": "ubuntu debian"}, ["apt-get"], "apt"),
    ({"ID": "pop", "ID_LIKE": "ubuntu debian"}, ["apt-get"], "apt"),                          # through ID_LIKE
    ({}, ["zypper", "dnf"], "dnf"),                                                            # no os-release: first binary
    ({"ID": "alpine"}, [], None),
])
def test_detect_manager(scan, os_release, binaries, expected):
    """auto: the package manager follows the os-release family (osinfo), else the first binary found."""
    commands = [("check-update", (0, "", "")), ("rpm -qa", (0, "", "")), ("apt-get -s", (0, "", "")),
                ("--xmlout", (0, "<stream/>", ""))]
    if expected is None:
        with pytest.raises(Failed):
            scan(Host(binaries, commands, os_release), {"update_cache": False, "changelogs": False})
        return
    result = scan(Host(binaries + ["rpm"], commands, os_release), {"update_cache": False, "changelogs": False}).result
    assert result["package_manager"] == expected


def test_documented_return_keys_are_returned(scan):
    from ansible.module_utils.common.yaml import yaml_load
    documented = set(yaml_load(patch_scan.RETURN))
    result = scan(dnf_host()).result
    assert documented - {"vulnerability_data"} <= set(result)
    json.dumps(result)


def test_zypper_without_patch_info_keeps_patches_whole(scan):
    host = zypper_host()
    host.commands = [c if c[0] != "info -t patch" else ("info -t patch", (1, "", "System management is locked")) for c in host.commands]
    result = scan(host, {"update_cache": False}).result
    names = [p["name"] for p in result["patches"]]
    assert sum(1 for n in names if n.startswith("patch:")) == 5      # every needed patch kept, none lost
    assert host.warnings and "zypper info -t patch failed (rc=1)" in host.warnings[0]


def test_dnf_dependencies_from_its_simulated_upgrades_without_python3_dnf(scan, monkeypatch):
    monkeypatch.setattr(patch_scan.dnflib, "dnf_api_resolver", lambda: None)
    host = dnf_host()
    host.commands.insert(0, ("--assumeno upgrade fp-openssl", (1, fixture("dnf_assumeno_upgrade.txt").replace(
        "fp-depapp", "fp-openssl").replace("fp-deplib", "fp-tools"), "")))
    host.commands.insert(1, ("--assumeno upgrade", (1, "Dependencies resolved.\nNothing to do.\n", "")))
    result = scan(host, {"update_cache": False}).result
    assert result["dependencies"] == {"fp-openssl": ["fp-tools"]}
    assert result["dependency_resolver"] == "dnf --assumeno upgrade"
    assert "/usr/bin/dnf -C --assumeno upgrade fp-openssl" in host.calls   # -C: the cache only
    assert host.warnings == []


def test_dnf_dependencies_through_its_python_api(scan, monkeypatch):
    asked = []

    def resolver(name, pending):
        asked.append(name)
        return ["fp-openssl", "fp-tools"] if name == "fp-openssl" else [name]
    monkeypatch.setattr(patch_scan.dnflib, "dnf_api_resolver", lambda: resolver)
    host = dnf_host()
    result = scan(host, {"update_cache": False}).result
    assert result["dependencies"] == {"fp-openssl": ["fp-tools"]}
    assert result["dependency_resolver"] == "python3-dnf"
    assert sorted(asked) == sorted(p["name"] for p in result["patches"])
    assert not any("assumeno" in call for call in host.calls)


def test_a_resolver_that_breaks_warns_and_keeps_the_scan(scan, monkeypatch):
    def broken():
        raise RuntimeError("Cache-only enabled but no cache for 'fleetpatch-test'")
    monkeypatch.setattr(patch_scan.dnflib, "dnf_api_resolver", broken)
    result = scan(dnf_host(), {"update_cache": False})
    assert result.result["dependencies"] == {} and result.result["dependency_resolver"] is None
    assert result.result["patches"]


YUM_UPDATE_OPENSSL = ("Updating:\n openssl  x86_64  1:1.0.2k-24.amzn2.0.6  amzn2-core  494 k\n"
                      "Updating for dependencies:\n openssl-libs  x86_64  1:1.0.2k-24.amzn2.0.6  amzn2-core  1.2 M\n"
                      "\nTransaction Summary\n")


def test_yum_dependencies_from_its_simulated_updates(scan):
    host = Host(["yum", "rpm"], [
        ("--assumeno update openssl-libs", (1, "Updating:\n openssl-libs  x86_64  1:1.0.2k-24.amzn2.0.6  amzn2-core  1 M\n", "")),
        ("--assumeno update openssl", (1, YUM_UPDATE_OPENSSL, "")),
        ("check-update", (100, "\nopenssl.x86_64   1:1.0.2k-24.amzn2.0.6   amzn2-core\n"
                               "openssl-libs.x86_64   1:1.0.2k-24.amzn2.0.6   amzn2-core\n", "")),
        ("updateinfo info updates", (0, YUM_INFO, "")),
        ("updateinfo list updates", (0, "ALAS2-2023-1908 important/Sec. openssl-libs-1:1.0.2k-24.amzn2.0.6.x86_64\n", "")),
        ("rpm -qa", (0, "openssl-libs\tx86_64\t1\t1.0.2k\t24.amzn2.0.4\nopenssl\tx86_64\t1\t1.0.2k\t24.amzn2.0.4\n", "")),
    ], {"ID": "amzn", "VERSION_ID": "2"})
    result = scan(host, {"update_cache": False}).result
    assert result["dependencies"] == {"openssl": ["openssl-libs"]}
    assert result["dependency_resolver"] == "yum --assumeno update"
    assert "/usr/bin/yum -C --assumeno update openssl" in host.calls


ZYPPER_SUMMARY = """<?xml version='1.0'?><stream><install-summary packages-to-change="2"><to-upgrade>
<solvable type="package" name="curl" edition="8.0.1-150400.5.41.1" arch="x86_64" edition-old="8.0.1-150400.5.36.1"/>
<solvable type="package" name="libcurl4" edition="8.0.1-150400.5.41.1" arch="x86_64" edition-old="8.0.1-150400.5.36.1"/>
</to-upgrade></install-summary></stream>"""


def test_zypper_dependencies_from_its_dry_runs(scan):
    host = zypper_host()
    host.commands.insert(0, ("update --dry-run curl", (0, ZYPPER_SUMMARY, "")))
    host.commands.insert(1, ("update --dry-run", (0, "<stream><message type='info'>Nothing to do.</message></stream>", "")))
    result = scan(host, {"update_cache": False}).result
    assert result["dependencies"] == {"curl": ["libcurl4"]}
    assert result["dependency_resolver"] == "zypper update --dry-run"
    assert "/usr/bin/zypper -n --no-refresh --xmlout update --dry-run curl" in host.calls
    assert not any("--dry-run patch:" in call for call in host.calls)   # a patch record is not a package
    assert host.warnings == []


def test_zypper_a_name_it_cannot_find_needs_nothing(scan):
    host = zypper_host()
    not_found = "<stream><message type='error'>No provider of 'curl' found.</message></stream>"
    host.commands.insert(0, ("update --dry-run curl", (104, not_found, "")))
    host.commands.insert(1, ("update --dry-run libcurl4", (0, ZYPPER_SUMMARY, "")))
    host.commands.insert(2, ("update --dry-run", (0, "<stream/>", "")))
    result = scan(host, {"update_cache": False}).result
    assert result["dependencies"] == {"libcurl4": ["curl"]}
    assert host.warnings == []


def test_zypper_locked_during_the_dry_run_warns(scan):
    host = zypper_host()
    host.commands.insert(0, ("update --dry-run", (7, "", "System management is locked by the application with pid 42")))
    result = scan(host, {"update_cache": False}).result
    assert result["dependencies"] == {} and result["dependency_resolver"] is None
    assert any("locked" in w and "zypper update --dry-run" in w for w in host.warnings), host.warnings
