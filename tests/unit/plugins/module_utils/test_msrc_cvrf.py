"""MSRC CVRF JSON (cvrf/v3.0 shape) -> KB details, on a small document written from the API's schema."""

import json
import os

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import msrc_cvrf
from ansible_collections.fleetpatch.hybrid.plugins.module_utils import windows_updates as wu
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.patch import make_patch

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


@pytest.fixture(scope="module")
def document():
    with open(os.path.join(FIXTURES, "msrc_cvrf_2024-Jan.json")) as handle:
        return json.load(handle)


def test_kb_to_cves_severity_date_and_restart(document):
    details = msrc_cvrf.kb_details(document)
    # release notes, workarounds and a remediation without a CVE give no KB
    assert sorted(details) == ["KB5033907", "KB5034127", "KB5034129"]
    cu = details["KB5034127"]
    assert cu["cves"] == ["CVE-2024-20674", "CVE-2024-20699"]
    # Critical on Windows Server 2019 (the products KB5034127 fixes) beats Moderate
    assert cu["msrc_severity"] == "critical"
    assert cu["release_date"] == "2024-01-09"          # InitialReleaseDate, not CurrentReleaseDate
    assert cu["reboot_required"] is True
    assert cu["products"] == ["Windows Server 2019", "Windows Server 2019 (Server Core installation)"]
    assert cu["documents"] == ["2024-Jan"]
    # the same CVE is only Important on Windows Server 2022, which KB5034129 fixes
    assert details["KB5034129"]["msrc_severity"] == "important"
    assert details["KB5034129"]["reboot_required"] is True   # Yes on one CVE; Maybe on the other says nothing
    assert details["KB5033907"] == {"cves": ["CVE-2024-21312"], "msrc_severity": "low", "release_date": "2024-01-09",
                                    "reboot_required": False, "products": ["Windows Server 2019"], "documents": ["2024-Jan"]}


def test_two_months_merge_and_keep_the_first_release(document):
    later = json.loads(json.dumps(document))
    later["DocumentTracking"]["Identification"]["ID"]["Value"] = "2024-Feb"
    later["DocumentTracking"]["InitialReleaseDate"] = "2024-02-13T08:00:00"
    later["Vulnerability"] = [{"CVE": "CVE-2024-99999", "Threats": [],
                               "Remediations": [{"Description": {"Value": "5034127"}, "ProductID": ["11571"], "Type": 2}]}]
    details = msrc_cvrf.merge([later, document])
    assert details["KB5034127"]["release_date"] == "2024-01-09"
    assert details["KB5034127"]["documents"] == ["2024-Feb", "2024-Jan"]
    assert "CVE-2024-99999" in details["KB5034127"]["cves"]


@pytest.mark.parametrize("bad", [{}, {"Vulnerability": "none"}, [], "text"])
def test_not_a_cvrf_document(bad):
    with pytest.raises(msrc_cvrf.CvrfError, match="not an MSRC CVRF JSON document"):
        msrc_cvrf.kb_details(bad)


def test_details_complete_the_scanned_records(document):
    """What the scan does: win_updates' search result + the CVRF details -> patch records with CVEs."""
    with open(os.path.join(FIXTURES, "win_updates_searched.json")) as handle:
        searched = json.load(handle)
    records = dict((r["name"], r) for r in wu.build_patches(searched, make_patch, details=msrc_cvrf.kb_details(document)))
    cu = records["KB5034127"]
    assert (cu["severity"], cu["cves"], cu["release_date"]) == ("critical", ["CVE-2024-20674", "CVE-2024-20699"], "2024-01-09")
    # an update the document does not name keeps what its title says
    assert records["KB5034863"]["severity"] == "unspecified" and records["KB5034863"]["cves"] == []
    assert records["KB5034863"]["release_date"] == "2024-01-09"
