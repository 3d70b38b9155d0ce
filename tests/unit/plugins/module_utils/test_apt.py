import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import apt
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.patch import make_patch

# Recorded from a bookworm host (local archive) and from a host on the live mirror.
SIMULATION = """NOTE: This is only a simulation!
Reading package lists...
Building dependency tree...
Calculating upgrade...
The following packages will be upgraded:
Inst fp-libdemo [1.2-1] (1.2-1+deb12u2 Debian-Security:12/stable-security [all])
Inst fp-tzdata [2026a-0+deb12u1] (2026b-0+deb12u1 Debian:12-updates/stable-updates [all])
Inst libc6 [2.36-9+deb12u9] (2.36-9+deb12u10 Debian:12.10/stable, Debian-Security:12/stable-security [amd64])
Inst libssl3:i386 [3.0.15-1~deb12u1] (3.0.16-1~deb12u1 Debian-Security:12/stable-security [i386])
Inst newdep (1.0-1 Debian:12.10/stable [amd64])
Inst foo [1.0] (1.1 local-archive [all]) []
Inst bar [1.0] (2.0 Debian Backports:bookworm-backports [amd64])
Remv oldpkg [0.9-1]
Conf fp-libdemo (1.2-1+deb12u2 Debian-Security:12/stable-security [all])
"""


def test_parse_simulation():
    upgrades, removals = apt.parse_simulation(SIMULATION)
    by_name = dict((u["name"], u) for u in upgrades)
    assert list(by_name) == ["fp-libdemo", "fp-tzdata", "libc6", "libssl3", "newdep", "foo", "bar"]
    assert by_name["fp-libdemo"]["installed_version"] == "1.2-1"
    assert by_name["fp-libdemo"]["candidate_version"] == "1.2-1+deb12u2"
    assert by_name["fp-libdemo"]["classification"] == "security"
    assert by_name["fp-tzdata"]["classification"] == "bugfix"
    assert by_name["libc6"]["classification"] == "security"
    assert by_name["libc6"]["origin"] == "Debian:stable, Debian-Security:stable-security"
    assert by_name["libssl3"]["arch"] == "i386"
    assert by_name["newdep"]["installed_version"] is None
    assert by_name["foo"]["classification"] == "other"
    assert by_name["bar"]["classification"] == "enhancement"
    assert removals == [{"name": "oldpkg", "installed_version": "0.9-1"}]


@pytest.mark.parametrize("release,expected", [
    ("Debian-Security:12/stable-security", {"label": "Debian-Security", "version": "12", "archive": "stable-security"}),
    ("Ubuntu:22.04/jammy-security", {"label": "Ubuntu", "version": "22.04", "archive": "jammy-security"}),
    ("bookworm-security", {"label": None, "version": None, "archive": "bookworm-security"}),
    ("Local:stable", {"label": "Local", "version": None, "archive": "stable"}),
])
def test_parse_release(release, expected):
    assert apt.parse_release(release) == expected


@pytest.mark.parametrize("releases,expected", [
    ([{"label": "Ubuntu", "archive": "jammy-security"}], "security"),
    ([{"label": "Debian-Security", "archive": "stable"}], "security"),
    ([{"label": "Debian", "archive": "stable-updates"}], "bugfix"),
    ([{"label": "Debian", "archive": "stable"}, {"label": "Debian-Security", "archive": "stable-security"}], "security"),
    ([{"label": "Debian Backports", "archive": "bookworm-backports"}], "enhancement"),
    ([{"label": "Docker CE", "archive": "bookworm"}], "other"),
    ([], "other"),
])
def test_classification_from_archive(releases, expected):
    assert apt.classify(releases) == expected


def test_build_patches_record_shape():
    upgrades, dummy = apt.parse_simulation(SIMULATION)
    patches = apt.build_patches(upgrades[:3], lambda u: {"cves": ["CVE-2026-1"], "advisories": ["DSA-1-1"],
                                                         "release_date": "2026-11-02T09:00:00+00:00"}, make_patch)
    assert set(patches[0]) == {"name", "arch", "installed_version", "candidate_version", "origin", "classification",
                               "severity", "release_date", "advisories", "cves", "reboot_hint", "manager"}
    assert patches[0]["severity"] == "unspecified"
    assert patches[2]["reboot_hint"] is True  # libc6
    assert patches[0]["reboot_hint"] is False


def test_make_patch_rejects_unknown_classification():
    with pytest.raises(ValueError, match="classification 'hotfix' is not one of"):
        make_patch("a", "all", "1", "2", "x", "hotfix")


def _upgrade(name, version):
    return {"name": name, "candidate_version": version}


@pytest.mark.parametrize("upgrades, source_of, expected", [
    ([], {}, []),
    # python3.11's binaries share one changelog; perl-base is its own source name's group
    ([_upgrade("python3.11", "3.11.2-6+deb12u9"), _upgrade("perl-base", "5.36.0-7+deb12u4"),
      _upgrade("libpython3.11-stdlib", "3.11.2-6+deb12u9"), _upgrade("python3.11-minimal", "3.11.2-6+deb12u9")],
     {"libpython3.11-stdlib": "python3.11", "python3.11-minimal": "python3.11", "perl-base": "perl"},
     [["python3.11", "libpython3.11-stdlib", "python3.11-minimal"], ["perl-base"]]),
    # a binNMU (+b1) of one binary is another version of the source build: its own group
    ([_upgrade("libfoo1", "1.0-1+b1"), _upgrade("foo-utils", "1.0-1")], {"libfoo1": "foo", "foo-utils": "foo"},
     [["libfoo1"], ["foo-utils"]]),
    # no source known: every binary is its own group
    ([_upgrade("apt", "2.6.2"), _upgrade("libapt-pkg6.0", "2.6.2")], {}, [["apt"], ["libapt-pkg6.0"]]),
])
def test_changelog_groups(upgrades, source_of, expected):
    assert [[u["name"] for u in group] for group in apt.changelog_groups(upgrades, source_of)] == expected


SIM_INSTALL_APP = """Reading package lists...
Building dependency tree...
The following packages will be upgraded:
  fp-depapp fp-deplib
2 upgraded, 0 newly installed, 0 to remove and 5 not upgraded.
Inst fp-deplib [1.0-1] (1.0-1+deb12u1 Debian-Security:12/stable-security [all])
Inst fp-depapp [1.0-1] (1.0-1+deb12u1 Debian-Security:12/stable-security [all])
Conf fp-deplib (1.0-1+deb12u1 Debian-Security:12/stable-security [all])
Conf fp-depapp (1.0-1+deb12u1 Debian-Security:12/stable-security [all])
"""


def test_simulated_install_names():
    assert apt.simulated_names(SIM_INSTALL_APP) == ["fp-deplib", "fp-depapp"]


def test_dependency_closures_keep_other_pending_names_only():
    transactions = {"fp-depapp": ["fp-deplib", "fp-depapp", "libnew"], "fp-deplib": ["fp-deplib"], "openssl": ["openssl"]}
    asked = []

    def resolver(name, pending):
        asked.append(name)
        return transactions[name]

    closures = apt.dependency_closures(["fp-depapp", "fp-deplib", "openssl"], resolver)
    assert closures == {"fp-depapp": ["fp-deplib"]}   # libnew is not a pending patch: not the engine's to decide
    assert asked == ["fp-depapp", "fp-deplib", "openssl"]
    assert apt.dependency_closures(["openssl"], resolver) == {}   # one pending patch needs nothing
