"""Each host in its own maintenance window: the effective window, one decision per host, rechecks."""

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.maintenance_window import (
    TAG_DEFAULTS,
    WindowError,
    plan_windows,
    recheck_windows,
    window_from_tag,
)

# Friday 2026-12-04 00:58 UTC, when the issue saw db-prod-1 patched outside its Sunday window
FRIDAY = "2026-12-04T00:58:00+00:00"


def test_a_tag_with_only_the_schedule_takes_the_defaults():
    assert window_from_tag("cron(0 3 ? * SUN *)") == dict(TAG_DEFAULTS, schedule="cron(0 3 ? * SUN *)")


def test_a_tag_carries_time_zone_duration_and_cutoff():
    spec = window_from_tag("cron(0 22 ? * SAT *); timezone=Europe/Berlin; duration=3;cutoff=1 ;",
                           {"duration": 6, "timezone": "UTC"})
    assert spec == {"schedule": "cron(0 22 ? * SAT *)", "timezone": "Europe/Berlin", "duration": "3", "cutoff": "1"}


def test_group_defaults_fill_what_the_tag_leaves_out():
    assert window_from_tag("rate(7 days)", {"start_date": "2026-11-29T03:00:00Z", "duration": 2})["duration"] == 2


@pytest.mark.parametrize("value,defaults,words", [
    ("cron(0 3 ? * SUN *); tz=UTC", None, ["tag option: 'tz=UTC'", "timezone, duration"]),
    ("cron(0 3 ? * SUN *); duration", None, ["tag option: 'duration'"]),
    ("  ", None, ["schedule", "is empty", "patch_tuesday(...)"]),
    ("cron(0 3 ? * SUN *)", {"length": 3}, ["fleetpatch_window_defaults: 'length'"]),
])
def test_bad_tags(value, defaults, words):
    with pytest.raises(WindowError) as caught:
        window_from_tag(value, defaults)
    for word in words:
        assert word in str(caught.value)


def hostvars(name, **kw):
    return dict(kw, inventory_hostname=name)


def test_one_decision_per_host_vars_first_then_tag_then_none():
    hosts = [
        # vars win over the tag: open every day all day
        hostvars("web-dev-1", fleetpatch_window="cron(0 3 ? * SUN *)",
                 fleetpatch_maintenance_window={"schedule": "cron(0 0 * * ? *)", "duration": 24, "cutoff": 0}),
        hostvars("db-prod-1", fleetpatch_window="cron(0 3 ? * SUN *)"),              # Sunday 03:00 UTC: deferred
        hostvars("web-prod-1", fleetpatch_window="cron(0 0 ? * FRI *); duration=4"),  # Friday 00:00-04:00: open
        hostvars("bad-1", fleetpatch_window="sunday 3am"),
        hostvars("plain-1"),
    ]
    plan = plan_windows(hosts, FRIDAY)
    assert plan["web-dev-1"]["status"] == "open" and plan["web-dev-1"]["source"] == "vars"
    db = plan["db-prod-1"]
    assert (db["status"], db["allowed_to_start"], db["source"]) == ("deferred", False, "tag")
    assert db["next_start"] == "2026-12-06T03:00:00+00:00" and db["schedule"] == "cron(0 3 ? * SUN *)"
    assert db["reason"].startswith("deferred: outside the maintenance window; the next window opens at 2026-12-06T03:00")
    web = plan["web-prod-1"]
    assert (web["status"], web["cutoff_at"], web["seconds_until_cutoff"]) == ("open", "2026-12-04T03:00:00+00:00", 7320)
    bad = plan["bad-1"]
    assert bad["status"] == "invalid" and not bad["allowed_to_start"]
    assert "MaintenanceWindow" in bad["reason"] and "fleetpatch_window" in bad["reason"] and "'sunday 3am'" in bad["reason"]
    assert plan["plain-1"]["status"] == "none" and plan["plain-1"]["allowed_to_start"]


def test_each_decision_says_which_window_applied():
    """The record kept per host in the ledger (attrs.window_applied) and shown in the report."""
    hosts = [
        hostvars("vars-1", fleetpatch_window="cron(0 3 ? * SUN *)",
                 fleetpatch_maintenance_window={"schedule": "cron(0 0 * * ? *)", "timezone": "Europe/Berlin", "duration": 24,
                                                "cutoff": 0}),
        hostvars("tag-1", fleetpatch_window="cron(0 0 ? * FRI *); duration=4"),
        hostvars("late-1", fleetpatch_window="cron(0 23 ? * THU *); duration=3; cutoff=2"),  # cutoff passed at 00:00
        hostvars("bad-1", fleetpatch_maintenance_window={"schedule": "often"}),
        hostvars("plain-1"),
    ]
    plan = plan_windows(hosts, FRIDAY)
    assert plan["vars-1"]["applied"] == {
        "source": "vars", "status": "open", "field": "fleetpatch_maintenance_window", "expression": "cron(0 0 * * ? *)",
        "timezone": "Europe/Berlin", "start": "2026-12-04T00:00:00+01:00", "end": "2026-12-05T00:00:00+01:00",
        "cutoff_at": "2026-12-05T00:00:00+01:00"}
    assert plan["tag-1"]["applied"] == {
        "source": "tag", "status": "open", "field": "fleetpatch_window", "expression": "cron(0 0 ? * FRI *)", "timezone": "UTC",
        "start": "2026-12-04T00:00:00+00:00", "end": "2026-12-04T04:00:00+00:00", "cutoff_at": "2026-12-04T03:00:00+00:00"}
    late = plan["late-1"]["applied"]
    assert (late["status"], late["start"], late["cutoff_at"], late["next_start"]) == (
        "deferred", "2026-12-03T23:00:00+00:00", "2026-12-04T00:00:00+00:00", "2026-12-10T23:00:00+00:00")
    assert plan["bad-1"]["applied"] == {"source": "vars", "status": "invalid", "field": "fleetpatch_maintenance_window"}
    assert plan["plain-1"]["applied"] == {"source": "none", "status": "none"}
    forced = plan_windows(hosts[2:3], FRIDAY, force=True)["late-1"]["applied"]
    assert forced["status"] == "open" and forced["forced"] is True


def test_past_the_cutoff_is_deferred_and_force_lifts_it():
    hosts = [hostvars("h", fleetpatch_window="cron(0 0 ? * FRI *); duration=2; cutoff=1")]
    assert plan_windows(hosts, FRIDAY)["h"]["status"] == "open"
    late = plan_windows(hosts, "2026-12-04T01:10:00+00:00")["h"]
    assert late["status"] == "deferred" and "past its cutoff" in late["reason"]
    forced = plan_windows(hosts, "2026-12-04T01:10:00+00:00", force=True)["h"]
    assert forced["status"] == "open" and forced["forced"]


def test_a_malformed_window_variable_names_the_variable():
    plan = plan_windows([hostvars("h", fleetpatch_maintenance_window={"schedule": "cron(0 3 ? * SUN *)"})], FRIDAY)
    assert plan["h"]["status"] == "invalid"
    assert "fleetpatch_maintenance_window" in plan["h"]["reason"] and "duration" in plan["h"]["reason"]


def test_bad_tag_option_fails_only_that_host():
    plan = plan_windows([hostvars("a", fleetpatch_window="cron(0 0 ? * FRI *); tz=UTC"),
                         hostvars("b", fleetpatch_window="cron(0 0 ? * FRI *)")], FRIDAY)
    assert plan["a"]["status"] == "invalid" and "tz=UTC" in plan["a"]["reason"]
    assert plan["b"]["status"] == "open"


def test_recheck_before_a_batch():
    hosts = [hostvars("a", fleetpatch_window="cron(0 0 ? * FRI *); duration=3; cutoff=1"),
             hostvars("b", fleetpatch_window="cron(0 0 ? * FRI *); duration=4; cutoff=1"), hostvars("c")]
    plan = plan_windows(hosts, FRIDAY)
    later = recheck_windows(["a", "b", "c"], plan, "2026-12-04T02:30:00+00:00")
    assert later["hosts"]["a"]["allowed_to_start"] is False and "past its cutoff" in later["hosts"]["a"]["reason"]
    assert later["hosts"]["b"]["allowed_to_start"] is True and "c" not in later["hosts"]
    assert later["seconds_until_cutoff"] == 1800


def test_10000_hosts_in_20_windows_judged_once_each(monkeypatch):
    from ansible_collections.fleetpatch.hybrid.plugins.module_utils import maintenance_window

    judged = []
    real = maintenance_window.MaintenanceWindow.state

    def counting(self, at=None, force=False):
        judged.append(self)
        return real(self, at, force)

    monkeypatch.setattr(maintenance_window.MaintenanceWindow, "state", counting)
    hosts = [hostvars("h%05d" % i, fleetpatch_window="cron(0 %d ? * FRI *); duration=4" % (i % 20)) for i in range(10000)]
    plan = plan_windows(hosts, FRIDAY)
    assert sum(1 for d in plan.values() if d["status"] == "open") == 500  # the 00:00 window only
    assert len(judged) == 20
    again = recheck_windows(list(plan), plan, "2026-12-04T02:30:00+00:00")
    assert len(judged) == 40 and sum(1 for h in again["hosts"].values() if h["allowed_to_start"]) == 1500  # 00:00, 01:00, 02:00


def test_a_deferred_host_in_the_report_and_the_table(tmp_path):
    from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ledger import Ledger
    from ansible_collections.fleetpatch.hybrid.plugins.module_utils.report import build_report, render_table

    decision = plan_windows([hostvars("db-prod-1", fleetpatch_window="cron(0 3 ? * SUN *)")], FRIDAY)["db-prod-1"]
    with Ledger(str(tmp_path / "ledger.db")) as ledger:
        ledger.start_run("r1")
        ledger.record_host("r1", "db-prod-1", "db-prod", {"window": "cron(0 3 ? * SUN *)", "window_applied": decision["applied"]})
        ledger.record_phase("r1", "db-prod-1", "preflight", "skipped", decision["reason"],
                            dict(((k, decision[k]) for k in ("source", "schedule", "timezone", "next_start", "next_end")),
                                 deferred=True))
        report = build_report(ledger.run("r1"), ledger.hosts("r1"))
    (host,) = report["hosts"]
    assert host["status"] == "deferred" and report["summary"]["by_status"] == {"deferred": 1}
    assert host["deferred"]["next_start"] == "2026-12-06T03:00:00+00:00" and host["deferred"]["source"] == "tag"
    assert host["window_applied"] == {"name": "cron(0 3 ? * SUN *)", "source": "tag", "status": "deferred",
                                      "field": "fleetpatch_window", "expression": "cron(0 3 ? * SUN *)", "timezone": "UTC",
                                      "next_start": "2026-12-06T03:00:00+00:00"}
    table = render_table(report)
    assert "db-prod-1  db-prod      deferred" in table
    assert "window cron(0 3 ? * SUN *); next opens 2026-12-06T03:00:00+00:00" in table
