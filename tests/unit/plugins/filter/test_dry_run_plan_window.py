"""dry_run_plan takes each host's window from the night's window decisions (hostvars['localhost'].fleetpatch_windows)."""

from ansible_collections.fleetpatch.hybrid.plugins.filter.dry_run_plan import dry_run_plan

APPLIED = {"source": "tag", "status": "open", "expression": "Sat 01:00-05:00", "timezone": "UTC",
           "start": "2026-11-28T01:00:00+00:00", "end": "2026-11-28T05:00:00+00:00", "cutoff_at": None}


def hostvars(windows):
    return {"localhost": {"fleetpatch_windows": windows},
            "web-1": {"fleetpatch_ready": True, "scan_decisions": []},
            "web-2": {"fleetpatch_window": "Sun 02:00-04:00"}}


def test_the_window_each_host_was_judged_by_is_in_its_plan():
    windows = {"web-1": {"allowed_to_start": True, "reason": "inside", "applied": APPLIED},
               "web-2": {"allowed_to_start": False, "reason": "deferred: outside its window, next 2026-12-05",
                         "applied": dict(APPLIED, status="deferred", start=None, end=None)}}
    plan = dry_run_plan(hostvars(windows), [{"name": "web-1"}, {"name": "web-2", "status": "skipped"}], "run-1")
    by_name = dict((h["name"], h) for h in plan["hosts"])
    assert by_name["web-1"]["window"] == APPLIED
    assert by_name["web-2"]["window"]["status"] == "deferred"
    assert by_name["web-2"]["window"]["reason"] == "deferred: outside its window, next 2026-12-05"


def test_without_window_decisions_the_host_var_is_shown():
    plan = dry_run_plan(hostvars({}), [{"name": "web-2", "status": "failed"}], "run-1")
    assert plan["hosts"][0]["window"] == "Sun 02:00-04:00"
