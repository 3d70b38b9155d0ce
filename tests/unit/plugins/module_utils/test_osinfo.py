import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import osinfo

ROCKY = 'NAME="Rocky Linux"\nVERSION="9.4 (Blue Onyx)"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\n'
DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'
UBUNTU = "ID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"22.04\"\n"
SLES = 'ID="sles"\nID_LIKE="suse"\nVERSION_ID="15.5"\n'
AMZN = 'ID="amzn"\nID_LIKE="fedora"\nVERSION_ID="2023"\n'


def test_parse_os_release():
    values = osinfo.parse_os_release(ROCKY + "# comment\nBROKEN\nESC=\"a \\\"b\\\"\"\n")
    assert values["ID"] == "rocky" and values["VERSION_ID"] == "9.4" and values["ID_LIKE"] == "rhel centos fedora"
    assert values["ESC"] == 'a "b"'


@pytest.mark.parametrize("text,family", [(ROCKY, "redhat"), (DEBIAN, "debian"), (UBUNTU, "debian"), (SLES, "suse"),
                                         (AMZN, "redhat"), ("ID=plan9\n", None)])
def test_family(text, family):
    assert osinfo.family(osinfo.parse_os_release(text)) == family


@pytest.mark.parametrize("text,binaries,manager", [
    (ROCKY, {"apt-get", "dnf"}, "dnf"),        # an EL host with apt installed is still a dnf host
    (ROCKY, {"yum"}, "yum"),
    (DEBIAN, {"apt-get", "dnf"}, "apt"),
    (SLES, {"zypper"}, "zypper"),
    ("ID=plan9\n", {"dnf"}, "dnf"),            # unknown family: whatever exists
    (DEBIAN, set(), None),
])
def test_package_manager_follows_the_family(text, binaries, manager):
    assert osinfo.package_manager(osinfo.parse_os_release(text), binaries.__contains__) == manager


def test_read_os_release_takes_the_first_readable_file(tmp_path):
    first, second = tmp_path / "etc-os-release", tmp_path / "usr-lib-os-release"
    second.write_text('ID=debian\nVERSION_CODENAME="bookworm"\n')
    assert osinfo.read_os_release((str(first), str(second))) == {"ID": "debian", "VERSION_CODENAME": "bookworm"}
    first.write_text("ID=rocky\n")
    assert osinfo.read_os_release((str(first), str(second))) == {"ID": "rocky"}
    assert osinfo.read_os_release((str(tmp_path / "none"),)) == {}
