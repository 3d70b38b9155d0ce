"""dnf, yum and zypper transactions -> the package names a simulated upgrade brings (issue 14, deliverable 2).

dnf: recorded from dnf 4.14 on the EL-like test host (fixtures/README.md); the wrapped and
yum layouts are written by hand in the table layout dnf's and yum's output code prints (no yum host
here). zypper: recorded from Debian's zypper 1.14.42 on an rpm root holding the test pair (no SUSE
host here), plus a summary written by hand in the same layout with the parts the pair cannot show
(to-install, to-remove, a patch solvable).
"""

import os

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import apt, dnf, zypper

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def test_recorded_dnf_transaction_of_an_app_that_needs_its_library():
    assert dnf.parse_transaction(fixture("dnf_assumeno_upgrade.txt")) == ["fp-depapp", "fp-deplib"]


DNF_WRAPPED = """Dependencies resolved.
================================================================================
 Package                           Arch   Version               Repository Size
================================================================================
Upgrading:
 python3-a-very-long-package-name-that-wraps
                                   noarch 1.2-3.el9             appstream  10 k
 openssl                           x86_64 1:3.0.7-28.el9_4      baseos    1.2 M
     replacing  openssl-compat.x86_64 1:3.0.7-27.el9
Installing dependencies:
 libnew                            x86_64 2.0-1.el9             baseos     50 k
Removing dependent packages:
 old-plugin                        x86_64 1.0-1.el9             @baseos    10 k

Transaction Summary
================================================================================
Install  1 Package
Upgrade  2 Packages
Remove   1 Package
"""

YUM_TABLE = """Resolving Dependencies
--> Running transaction check
---> Package openssl-libs.x86_64 1:1.0.2k-24.amzn2.0.4 will be updated
Dependencies Resolved

================================================================================
 Package            Arch       Version                     Repository     Size
================================================================================
Updating:
 openssl            x86_64     1:1.0.2k-24.amzn2.0.6       amzn2-core    494 k
Updating for dependencies:
 openssl-libs       x86_64     1:1.0.2k-24.amzn2.0.6       amzn2-core    1.2 M
Installing for dependencies:
 make               x86_64     1:3.82-24.amzn2             amzn2-core    421 k

Transaction Summary
================================================================================
Upgrade  1 Package (+2 Dependent packages)

Exiting on user command
Your transaction was saved, rerun it with:
"""


@pytest.mark.parametrize("output,expected", [
    (DNF_WRAPPED, ["python3-a-very-long-package-name-that-wraps", "openssl", "libnew"]),
    (YUM_TABLE, ["openssl", "openssl-libs", "make"]),
    ("Dependencies resolved.\nNothing to do.\nComplete!\n", []),
    ("", []),
], ids=["dnf-wrapped-replacing-removing", "yum", "nothing-to-do", "empty"])
def test_transaction_tables(output, expected):
    assert dnf.parse_transaction(output) == expected


ZYPPER_DRY_RUN = """<?xml version='1.0'?>
<stream>
<message type="info">Loading repository data...</message>
<message type="info">Reading installed packages...</message>
<message type="info">Resolving package dependencies...</message>
<install-summary download-size="1843200" space-usage-diff="4096" packages-to-change="3">
<to-upgrade>
<solvable type="package" name="openssl-3" edition="3.0.8-150500.5.20.1" arch="x86_64" edition-old="3.0.8-150500.5.14.1"
 summary="Secure Sockets and Transport Layer Security"/>
<solvable type="package" name="libopenssl3" edition="3.0.8-150500.5.20.1" arch="x86_64" edition-old="3.0.8-150500.5.14.1"
 summary="Secure Sockets and Transport Layer Security"/>
</to-upgrade>
<to-install>
<solvable type="package" name="crypto-policies" edition="20230920.570ea89-150500.3.3.1"
 arch="noarch" summary="System-wide crypto policies"/>
<solvable type="patch" name="SUSE-SLE-Module-Basesystem-15-SP5-2024-123" edition="1" arch="noarch"
 summary="Security update for openssl-3"/>
</to-install>
<to-remove>
<solvable type="package" name="openssl-1_1" edition="1.1.1l-150500.17.25.1" arch="x86_64" summary="old"/>
</to-remove>
</install-summary>
<message type="info">Nothing was changed (dry run).</message>
</stream>
"""


def test_recorded_zypper_dry_run_of_an_app_that_needs_its_library():
    assert zypper.parse_install_summary(fixture("zypper_update_dry_run.xml")) == ["fp-depapp", "fp-deplib"]
    assert zypper.parse_install_summary(fixture("zypper_update_dry_run_alone.xml")) == ["fp-deplib"]


def test_zypper_install_summary():
    assert zypper.parse_install_summary(ZYPPER_DRY_RUN) == ["openssl-3", "libopenssl3", "crypto-policies"]


def test_zypper_nothing_to_do():
    assert zypper.parse_install_summary("<stream><message type='info'>Nothing to do.</message></stream>") == []


def test_zypper_output_that_is_not_xml_is_an_error():
    with pytest.raises(zypper.ZypperOutputError):
        zypper.parse_install_summary("System management is locked by the application with pid 42 (zypper).")


def test_closures_keep_only_other_pending_patches():
    transactions = {"openssl-3": ZYPPER_DRY_RUN, "libopenssl3": "<stream/>"}
    closures = apt.dependency_closures(
        ["openssl-3", "libopenssl3", "crypto-policies"],
        lambda name, pending: zypper.parse_install_summary(transactions.get(name, "<stream/>")))
    assert closures == {"openssl-3": ["crypto-policies", "libopenssl3"]}
