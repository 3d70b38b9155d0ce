"""change_request_required: a host whose patch group's change request could not be opened is not patched."""

import pytest
from fleetlib import installed, localfleet, run_playbook

pytestmark = pytest.mark.integration


def test_no_change_request_no_patch(fleet, tmp_path):
    localfleet("reset", "fp1")
    before = installed("fp1")
    # ServiceNow without an instance or credentials: the CR cannot be opened
    night = run_playbook(str(tmp_path), "-e", "fleetpatch_targets=web-dev-1", "-e", "fleetpatch_cr_backend=servicenow",
                         "-e", "fleetpatch_cr_required=true")
    assert night.rc != 0
    assert installed("fp1") == before
    (host,) = night.report["hosts"]
    assert host["status"] == "failed" and host["failed_phase"] == "patch"
    assert host["reason"].startswith("no change request for patch group web-dev")
    phases = [p for (p,) in night.rows("SELECT phase FROM host_phases WHERE run_id=? ORDER BY phase", night.run_id)]
    assert phases == ["approve", "patch", "preflight", "scan"]
