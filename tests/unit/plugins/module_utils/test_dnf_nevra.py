import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.dnf import nevra


@pytest.mark.parametrize("args,spec", [
    (("fp-openssl", "3.0.7-28.el9", "noarch"), "fp-openssl-3.0.7-28.el9.noarch"),
    (("openssl", "1:3.0.7-28.el9", "x86_64"), "openssl-1:3.0.7-28.el9.x86_64"),
    (("tzdata", "2026b-1.el9", None), "tzdata-2026b-1.el9"),
])
def test_nevra(args, spec):
    assert nevra(*args) == spec


@pytest.mark.parametrize("args,message", [
    (("a", "1.0", None), "has no release"),
    (("", "1-1", None), "needs a name and a version"),
    (("a", None, None), "needs a name and a version"),
])
def test_bad_specs(args, message):
    with pytest.raises(ValueError, match=message):
        nevra(*args)
