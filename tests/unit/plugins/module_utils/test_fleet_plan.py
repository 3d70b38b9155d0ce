"""Controller-side decisions over the fleet: CR grouping, CR result folds, batches and progress."""

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.fleet_plan import (
    PlanError,
    batch_progress,
    close_plan,
    fold_closed,
    fold_opened,
    group_change_requests,
    serial_batches,
)


def patch(name, version, cves=(), advisories=()):
    return {"name": name, "candidate_version": version, "cves": list(cves), "advisories": list(advisories)}


def host(name, group=None, owner=None, approved=(), ready=True):
    out = {"inventory_hostname": name, "scan_approved": list(approved)}
    if ready:
        out["fleetpatch_ready"] = True
    if group:
        out["fleetpatch_patch_group"] = group
    if owner:
        out["fleetpatch_owner"] = owner
    return out


def test_groups_keep_each_patch_with_its_cves_and_advisories():
    hosts = [
        host("web-2", "web", "ann@example.com", [patch("openssl", "3.0.16", ["CVE-2024-1"], ["DSA-1"])]),
        host("web-1", "web", "bob@example.com", [patch("openssl", "3.0.16", ["CVE-2024-2"], ["DSA-1"]),
                                                 patch("tzdata", "2025b")]),
        host("db-1", "db", None, [patch("libpq5", "15.9", ["CVE-2024-3"], ["DSA-2"])]),
        host("web-3", "web", "ann@example.com", []),                       # nothing approved: no CR entry
        host("web-4", "web", "x@example.com", [patch("openssl", "3.0.16")], ready=False),  # not through scan
        host("lone", None, None, [patch("zlib1g", "1.2.13")]),
    ]
    groups = group_change_requests(hosts)
    assert [g["name"] for g in groups] == ["db", "ungrouped", "web"]
    web = groups[2]
    assert web["hosts"] == ["web-1", "web-2"]
    assert web["owners"] == ["ann@example.com", "bob@example.com"]
    assert web["patches"] == [
        {"name": "openssl", "version": "3.0.16", "cves": ["CVE-2024-1", "CVE-2024-2"], "advisories": ["DSA-1"]},
        {"name": "tzdata", "version": "2025b", "cves": [], "advisories": []},
    ]
    assert web["cves"] == ["CVE-2024-1", "CVE-2024-2"]
    assert groups[0]["patches"][0]["advisories"] == ["DSA-2"] and "window" not in groups[0]


def test_a_group_with_no_host_in_its_window_gets_no_change():
    hosts = [host("web-1", "web", approved=[patch("a", "1")]), host("db-1", "db", approved=[patch("b", "1")]),
             host("db-2", "db", approved=[patch("b", "1")])]
    windows = {
        "web-1": {"allowed_to_start": True, "window_start": "2026-12-04T02:00:00+00:00",
                  "window_end": "2026-12-04T06:00:00+00:00", "schedule": "cron(0 2 * * ? *)", "timezone": "UTC"},
        "db-1": {"allowed_to_start": False, "next_start": "2026-12-06T03:00:00+00:00"},
        "db-2": {"allowed_to_start": False, "next_start": "2026-12-06T03:00:00+00:00"},
    }
    groups = group_change_requests(hosts, windows)
    assert [g["name"] for g in groups] == ["web"]
    assert groups[0]["window"] == {"start": "2026-12-04T02:00:00+00:00", "end": "2026-12-04T06:00:00+00:00",
                                   "expression": "cron(0 2 * * ? *)", "timezone": "UTC"}


def test_group_window_spans_different_host_windows():
    hosts = [host("a", "g", approved=[patch("p", "1")]), host("b", "g", approved=[patch("p", "1")])]
    windows = {"a": {"allowed_to_start": True, "window_start": "2026-12-04T01:00:00+00:00", "window_end": "2026-12-04T03:00:00+00:00",
                     "schedule": "cron(0 1 * * ? *)", "timezone": "UTC"},
               "b": {"allowed_to_start": True, "window_start": "2026-12-04T00:00:00+00:00", "window_end": "2026-12-04T02:00:00+00:00",
                     "schedule": "cron(0 0 * * ? *)", "timezone": "UTC"}}
    window = group_change_requests(hosts, windows)[0]["window"]
    assert window == {"start": "2026-12-04T00:00:00+00:00", "end": "2026-12-04T03:00:00+00:00", "timezone": "UTC"}


def test_bad_patch_record_names_the_host():
    with pytest.raises(PlanError, match="scan_approved\\[0\\] of host web-1"):
        group_change_requests([host("web-1", "web", approved=["openssl"])])


def fleet(n, groups=20, patches=10):
    return [host("host-%05d" % i, "pg-%02d" % (i % groups), "owner-%02d@example.com" % (i % groups),
                 [patch("pkg-%d" % k, "1.%d" % k, ["CVE-2026-%05d" % (k * 7 + i % groups)], ["DSA-%d" % k])
                  for k in range(patches)]) for i in range(n)]


class CountingHost(dict):
    """A host's variables that count how often they are read (hostvars template on every read)."""

    reads = 0

    def get(self, key, default=None):
        CountingHost.reads += 1
        return super().get(key, default)


def test_grouping_10000_hosts_reads_each_host_a_fixed_number_of_times():
    """The Jinja loop it replaces re-read the growing result once per host (63 s at 1,000 hosts);
    here each host's variables are read a fixed number of times, whatever the fleet size (the
    wall time is measured in benchmarks/fleet_scale.py, not here)."""
    reads = {}
    for n in (1000, 10000):
        hosts = [CountingHost(h) for h in fleet(n)]
        CountingHost.reads = 0
        groups = group_change_requests(hosts)
        reads[n] = CountingHost.reads
        assert len(groups) == 20 and sum(len(g["hosts"]) for g in groups) == n
        assert all(len(g["hosts"]) == n // 20 and len(g["patches"]) == 10 for g in groups)
        assert all(len(p["cves"]) == 1 and p["advisories"] for g in groups for p in g["patches"])
    assert reads[10000] == 10 * reads[1000]


def test_fold_opened_keeps_previous_and_blocks_hosts_only_when_required():
    results = [
        {"__change_request_group": {"name": "web", "hosts": ["web-1", "web-2"]}, "number": "CHG1", "state": "implement",
         "change_request": {"number": "CHG1"}},
        {"__change_request_group": {"name": "db", "hosts": ["db-1"]}, "failed": True, "msg": "HTTP 503"},
    ]
    previous = {"old": {"number": "CHG0", "state": "implement", "ok": True, "error": None, "backend": "local", "hosts": ["o-1"]}}
    folded = fold_opened(results, "local", required=True, previous=previous)
    assert folded["opened"]["web"] == {"number": "CHG1", "state": "implement", "ok": True, "error": None, "backend": "local",
                                       "hosts": ["web-1", "web-2"]}
    assert folded["opened"]["db"]["ok"] is False and folded["opened"]["db"]["error"] == "HTTP 503"
    assert folded["host_map"] == {"web-1": "web", "web-2": "web", "db-1": "db", "o-1": "old"}
    assert folded["failed_groups"] == ["db"] and folded["blocked_hosts"] == ["db-1"]
    assert fold_opened(results, "local", required=False)["blocked_hosts"] == []
    with pytest.raises(PlanError):
        fold_opened([{"number": "x"}], "local")


def test_close_plan_gives_each_change_only_its_own_hosts():
    opened = {"web": {"number": "CHG1", "backend": "local", "hosts": ["web-1", "web-2"]},
              "db": {"number": None, "backend": "local", "hosts": ["db-1"]}}
    outcomes = {"web-1": "patched", "web-2": "failed", "db-1": "patched", "other": "patched"}
    plan = close_plan(opened, outcomes, {"web-2": "patch: dpkg error", "db-1": "x"})
    assert plan == [{"key": "web", "number": "CHG1", "backend": "local", "hosts": ["web-1", "web-2"],
                     "host_outcomes": {"web-1": "patched", "web-2": "failed"}, "outcome_details": {"web-2": "patch: dpkg error"}}]


def test_close_plan_with_the_report_carries_each_changes_close_notes():
    """The notes are the cr_close_notes filter's for the group, worked out in one pass over the report."""
    from ansible_collections.fleetpatch.hybrid.plugins.filter.cr_close_notes import FilterModule

    cr_close_notes = FilterModule().filters()["cr_close_notes"]
    entry = {"patched": [], "cves_open_before": [], "cves_closed": [], "cves_still_open": []}
    report = {"hosts": [dict(entry, name="web-1", patch_group="web", status="patched", cves_closed=["CVE-1"]),
                        dict(entry, name="web-2", patch_group="web", status="rolled_back", rollback_reason="health check"),
                        dict(entry, name="db-1", patch_group="db", status="patched")]}
    opened = {"web": {"number": "CHG1", "backend": "local", "hosts": ["web-1", "web-2"]},
              "db": {"number": "CHG2", "backend": "local", "hosts": ["db-1"]},
              "gone": {"number": "CHG3", "backend": "local", "hosts": ["x-1"]}}
    plan = dict((p["key"], p) for p in close_plan(opened, {}, None, report))
    assert plan["web"]["close_notes"] == cr_close_notes(report, "web")
    assert plan["web"]["close_notes"].startswith("Close code: successful_issues.") and "health check" in plan["web"]["close_notes"]
    assert plan["db"]["close_notes"] == cr_close_notes(report, "db")
    assert "close_notes" not in plan["gone"]  # no host of it in the report: the module writes its own notes
    with pytest.raises(PlanError, match="report must be report.json's content"):
        close_plan(opened, {}, None, ["not", "a", "report"])


def test_fold_closed():
    results = [{"__change_request_item": {"key": "web", "number": "CHG1"}, "state": "closed",
                "change_request": {"close_code": "successful"}},
               {"__change_request_item": {"key": "db", "number": "CHG2"}, "msg": "timeout"}]
    closed = fold_closed(results)
    assert closed == {"web": {"number": "CHG1", "state": "closed", "close_code": "successful", "error": None},
                      "db": {"number": "CHG2", "state": None, "close_code": None, "error": "timeout"}}


def test_fold_and_close_10000_hosts():
    hosts = ["h%05d" % i for i in range(10000)]
    results = [{"__change_request_group": {"name": "g%02d" % g, "hosts": hosts[g::20]}, "number": "CHG%d" % g,
                "state": "implement", "change_request": {}} for g in range(20)]
    folded = fold_opened(results, "local")
    report = {"hosts": [{"name": h, "patch_group": "g%02d" % (i % 20), "status": "patched", "patched": [], "cves_open_before": [],
                         "cves_closed": ["CVE-%d" % i], "cves_still_open": []} for i, h in enumerate(hosts)]}
    plan = close_plan(folded["opened"], dict((h, "patched") for h in hosts), None, report)
    assert len(folded["host_map"]) == 10000 and sum(len(p["host_outcomes"]) for p in plan) == 10000
    assert all(p["close_notes"].startswith("Close code: successful. 500 host(s): patched 500.") for p in plan)


@pytest.mark.parametrize("total,serial,sizes", [
    (10, None, [10]), (10, "100%", [10]), (10, 3, [3, 3, 3, 1]), (10, "30%", [3, 3, 3, 1]),
    (10, [1, "50%"], [1, 5, 4]), (3, "10%", [1, 1, 1]), (5, 0, [5]), (4, "4", [4]),
])
def test_serial_batches_as_ansible_makes_them(total, serial, sizes):
    assert serial_batches(total, serial) == sizes


def test_serial_batches_bad_input():
    with pytest.raises(PlanError, match="fleetpatch_serial: 'many'"):
        serial_batches(10, "many")


def test_progress_counts_the_previous_batch():
    first = batch_progress(None, ["a", "b"], {}, 5, 2, 5400)
    assert first["line"] == "batch 1 of 3: 2 host(s) [a, b]; so far 0 done, 0 failed; 1h30m to the cutoff"
    second = batch_progress(first, ["c", "d"], {"a": "done", "b": None}, 5, 2, 59)
    assert second["line"] == "batch 2 of 3: 2 host(s) [c, d]; so far 1 done, 1 failed; 0m59s to the cutoff"
    third = batch_progress(second, ["e"], {"c": "failed", "d": "not_started"}, 5, 2, None)
    assert (third["done"], third["failed"]) == (1, 2)
    assert third["line"].endswith("no cutoff") and third["line"].startswith("batch 3 of 3: 1 host(s) [e]")


def test_progress_shortens_a_long_batch():
    line = batch_progress(None, ["h%d" % i for i in range(50)], {}, 50)["line"]
    assert "h9, ... (40 more)" in line and "h10" not in line


# ---------------------------------------------------------------- the same grouping from the run ledger

def _ledger_night(path, hosts):
    """A ledger as the scan play leaves it: each host with its attributes, scan and approval rows."""
    from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ledger import Ledger

    with Ledger(str(path)) as ledger:
        ledger.start_run("r1", playbook="fleetpatch.hybrid.patch_night")
        for name, group, owner, approved, rows, applied in hosts:
            ledger.record_host("r1", name, group, {"owner": owner, "window_applied": applied})
            for phase, status in rows:
                data = {"patches": approved + [patch("rejected-pkg", "9")]} if phase == "scan" else {}
                if phase == "approve":
                    data = {"approved": [p["name"] for p in approved]}
                ledger.record_phase("r1", name, phase, status, None, data)
            ledger.record_changes("r1", name, [{"name": p["name"], "to": p["candidate_version"]} for p in approved])
    return Ledger(str(path))


def test_the_ledger_gives_the_same_groups_as_the_hosts_variables(tmp_path):
    from ansible_collections.fleetpatch.hybrid.plugins.module_utils.fleet_plan import LEDGER_PHASES, ledger_change_request_groups

    applied = {"source": "tag", "status": "open", "expression": "cron(0 2 * * ? *)", "timezone": "UTC",
               "start": "2026-12-04T02:00:00+00:00", "end": "2026-12-04T06:00:00+00:00"}
    done = [("preflight", "ok"), ("scan", "ok"), ("approve", "ok")]
    web1 = [patch("openssl", "3.0.16", ["CVE-2024-2"], ["DSA-1"]), patch("tzdata", "2025b")]
    web2 = [patch("openssl", "3.0.16", ["CVE-2024-1"], ["DSA-1"])]
    db1 = [patch("libpq5", "15.9", ["CVE-2024-3"], ["DSA-2"])]
    ledger = _ledger_night(tmp_path / "ledger.db", [
        ("web-1", "web", "bob@example.com", web1, done, applied),
        ("web-2", "web", "ann@example.com", web2, done + [("snapshot", "ok"), ("patch", "changed")], applied),
        ("web-3", "web", "x@example.com", web1, [("preflight", "ok"), ("scan", "ok"), ("approve", "failed")], applied),
        ("web-4", "web", "y@example.com", [], done, applied),                        # nothing approved
        ("db-1", "db", None, db1, done, {"source": "none", "status": "none"}),
        ("db-2", "db", None, db1, [("preflight", "skipped")], dict(applied, status="deferred", start=None)),
    ])
    with ledger:
        read = ledger.hosts("r1", phases=LEDGER_PHASES, changes=False)
    assert all(set(h["phases"]) <= {"scan", "approve"} and h["changes"] == [] for h in read)
    from_ledger = ledger_change_request_groups(read)
    from_vars = group_change_requests(
        [host("web-1", "web", "bob@example.com", web1), host("web-2", "web", "ann@example.com", web2),
         host("db-1", "db", None, db1)],
        {"web-1": dict(allowed_to_start=True, window_start=applied["start"], window_end=applied["end"],
                       schedule=applied["expression"], timezone="UTC")})
    assert from_ledger == from_vars
    assert [g["name"] for g in from_ledger] == ["db", "web"] and from_ledger[1]["hosts"] == ["web-1", "web-2"]
    assert from_ledger[1]["window"] == {"start": applied["start"], "end": applied["end"], "expression": "cron(0 2 * * ? *)",
                                        "timezone": "UTC"}
    assert "window" not in from_ledger[0]
    assert all(p["name"] != "rejected-pkg" for g in from_ledger for p in g["patches"])


def test_the_ledger_grouping_at_10000_hosts(tmp_path):
    """10,000 hosts in 20 patch groups, 10 approved patches each (the unit-level half of benchmarks/fleet_scale.py)."""
    from ansible_collections.fleetpatch.hybrid.plugins.module_utils import fleet_plan

    rows = [{"name": "h%05d" % i, "patch_group": "pg-%02d" % (i % 20), "attrs": {"owner": "t%02d@example.com" % (i % 20)},
             "phases": {"scan": {"status": "ok", "data": {"patches": [patch("p%d" % k, "1", ["CVE-%d-%d" % (i % 20, k)])
                                                                      for k in range(10)]}},
                        "approve": {"status": "ok", "data": {"approved": ["p%d" % k for k in range(10)]}}}}
            for i in range(10000)]
    groups = fleet_plan.ledger_change_request_groups(rows)
    assert len(groups) == 20 and sum(len(g["hosts"]) for g in groups) == 10000
    assert all(len(g["patches"]) == 10 and len(g["cves"]) == 10 and len(g["owners"]) == 1 for g in groups)
