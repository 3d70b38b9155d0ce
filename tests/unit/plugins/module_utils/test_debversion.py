import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import debversion


@pytest.mark.parametrize("older,newer,sign", [
    ("1.0", "1.0", 0),
    ("1.0", "1.1", -1),
    ("1.0-1", "1.0-2", -1),
    ("1.0~rc1", "1.0", -1),
    ("1.0~rc1-1", "1.0-1", -1),
    ("1:0.9", "2.0", 1),
    ("3.0.15-1~deb12u1", "3.0.15-1~deb12u2", -1),
    ("3.0.15-1~deb12u2", "3.0.15-1", -1),
    ("1.2-1+deb12u1", "1.2-1", 1),
    ("2.36-9+deb12u10", "2.36-9+deb12u9", 1),
    ("1.0a", "1.0", 1),
    ("1.0+", "1.0.", -1),
    ("1.0-0", "1.0", 0),
    ("2026b-0+deb12u1", "2026a-0+deb12u1", 1),
    ("7.88.1-10+deb12u12", "7.88.1-10+deb12u5", 1),
])
def test_compare_matches_dpkg(older, newer, sign):
    forward = debversion.compare(older, newer)
    assert (forward > 0) - (forward < 0) == sign
    pair = (newer, older)
    backward = debversion.compare(*pair)
    assert (backward > 0) - (backward < 0) == -sign


@pytest.mark.parametrize("bad", ["", "a b", "1.0/2", None])
def test_bad_version_is_named(bad):
    with pytest.raises(debversion.VersionError, match="not a Debian version"):
        debversion.parse(bad)
