"""A patch that breaks the host's web service: validation fails, the rollback puts the recorded
package versions back, the service is healthy again and the run says rolled_back."""

import json

import pytest
from fleetlib import host_exec, installed, localfleet, run_playbook

pytestmark = pytest.mark.integration

HEALTH = json.dumps({"fleetpatch_health_checks": [
    {"name": "webapp", "type": "http", "url": "http://127.0.0.1:8101/health", "status": 200, "body": "^OK",
     "retries": 2, "delay": 1}]})
PROBE = "python3 -c 'import urllib.request as u; print(u.urlopen(\"http://127.0.0.1:8101/health\").read().decode().strip())'"


def test_broken_service_is_rolled_back(fleet, tmp_path):
    localfleet("reset", "fp1")
    rc, out = host_exec("fp1", "apt-get update -qq && apt-get install -y -qq fp-webapp=1.0-1 >/dev/null && " + PROBE)
    assert rc == 0 and out.strip() == "OK 1.0-1", out
    before = installed("fp1")

    night = run_playbook(str(tmp_path), "-e", "fleetpatch_targets=web-dev-1", "-e", HEALTH)

    assert night.rc != 0, "a rolled-back host must fail the run"
    assert installed("fp1") == before, "every package is back at its recorded version"
    rc, out = host_exec("fp1", PROBE)
    assert rc == 0 and out.strip() == "OK 1.0-1"
    phases = dict((p, (s, m)) for p, s, m in night.rows(
        "SELECT phase, status, message FROM host_phases WHERE run_id=? AND host='web-dev-1'", night.run_id))
    assert phases["patch"][0] == "changed"
    assert phases["validate"][0] == "failed" and "webapp" in phases["validate"][1]
    assert phases["rollback"] == ("changed", "package downgrade done and the health checks pass")
    assert "rescan" not in phases
    (host,) = night.report["hosts"]
    assert host["status"] == "rolled_back"
    (plan,) = night.rows("SELECT json_extract(data, '$.plan.install') FROM host_phases WHERE run_id=? AND phase='rollback'",
                         night.run_id)[0]
    assert "fp-webapp=1.0-1" in json.loads(plan)


def test_failure_threshold_stops_the_next_batches(fleet, tmp_path):
    """Batch 1 (web-dev-1) is rolled back; with fleetpatch_max_fail_percentage=0 batch 2 never starts."""
    localfleet("reset", "fp1")
    localfleet("reset", "fp2")
    rc, out = host_exec("fp1", "apt-get update -qq && apt-get install -y -qq fp-webapp=1.0-1 >/dev/null && " + PROBE)
    assert rc == 0, out
    before = installed("fp2")
    night = run_playbook(str(tmp_path), "-e", "fleetpatch_targets=web-dev-1:web-prod-1", "-e", "fleetpatch_serial=1",
                         "-e", "fleetpatch_max_fail_percentage=0", "-e", HEALTH)
    assert night.rc != 0
    statuses = dict((h["name"], h["status"]) for h in night.report["hosts"])
    assert statuses == {"web-dev-1": "rolled_back", "web-prod-1": "not_started"}, night.stdout[-2000:]
    assert installed("fp2") == before
    (message,) = night.rows("SELECT message FROM host_phases WHERE run_id=? AND host='web-prod-1' AND phase='preflight' "
                            "ORDER BY id DESC LIMIT 1",
                            night.run_id)[0]
    assert "1 of 1 host(s) tried so far failed" in message
