"""Maintenance windows: schedules as SSM writes them, time zones and DST, month ends, cutoffs.

Expected instants are worked out by hand from the calendar and the tz database (for example
New York springs forward on 2026-03-08 at 02:00 EST and falls back on 2026-11-01 at 02:00 EDT;
Berlin on 2026-03-29 at 02:00 CET and 2026-10-25 at 03:00 CEST; Lord Howe by 30 minutes on
2026-10-04 at 02:00 and 2026-04-05 at 02:00).
"""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import maintenance_window as mw


def state(schedule, at, timezone="UTC", duration=4, cutoff=1, force=False, **extra):
    window = mw.window_from_dict(dict(schedule=schedule, timezone=timezone, duration=duration, cutoff=cutoff, **extra))
    return window.state(at, force=force)


def subset(result, expected):
    return dict((key, result[key]) for key in expected)


# --- inside / cutoff / next, to the second ---------------------------------------------------

DAILY = "cron(0 22 * * ? *)"


@pytest.mark.parametrize("at,expected", [
    ("2026-11-27T21:59:59Z", {"inside": False, "allowed_to_start": False, "window_start": None, "cutoff_at": None,
                              "seconds_until_cutoff": None, "next_start": "2026-11-27T22:00:00+00:00",
                              "next_end": "2026-11-28T02:00:00+00:00", "seconds_until_next_start": 1}),
    ("2026-11-27T22:00:00Z", {"inside": True, "allowed_to_start": True, "window_start": "2026-11-27T22:00:00+00:00",
                              "window_end": "2026-11-28T02:00:00+00:00", "cutoff_at": "2026-11-28T01:00:00+00:00",
                              "seconds_until_cutoff": 10800, "seconds_until_end": 14400,
                              "next_start": "2026-11-28T22:00:00+00:00"}),
    ("2026-11-28T00:59:59Z", {"inside": True, "allowed_to_start": True, "seconds_until_cutoff": 1}),
    ("2026-11-28T01:00:00Z", {"inside": True, "before_cutoff": False, "allowed_to_start": False, "seconds_until_cutoff": 0,
                              "seconds_until_end": 3600}),
    ("2026-11-28T01:59:59Z", {"inside": True, "allowed_to_start": False, "window_start": "2026-11-27T22:00:00+00:00"}),
    ("2026-11-28T02:00:00Z", {"inside": False, "allowed_to_start": False, "window_end": None,
                              "next_start": "2026-11-28T22:00:00+00:00"}),
    # an instant given with another offset is the same instant
    ("2026-11-27T23:30:00+01:00", {"inside": True, "at": "2026-11-27T22:30:00+00:00"}),
    # without an offset `at` is wall time in the window's time zone
    ("2026-11-27T22:30:00", {"inside": True, "at": "2026-11-27T22:30:00+00:00"}),
])
def test_inside_cutoff_and_next_edges(at, expected):
    assert subset(state(DAILY, at), expected) == expected


def test_cutoff_zero_lets_hosts_start_until_the_end():
    result = state(DAILY, "2026-11-28T01:59:59Z", cutoff=0)
    assert result["cutoff_at"] == result["window_end"] == "2026-11-28T02:00:00+00:00"
    assert result["allowed_to_start"] is True and result["seconds_until_cutoff"] == 1


def test_full_day_windows_follow_each_other():
    result = state(DAILY, "2026-11-28T21:59:59Z", duration=24, cutoff=23)
    assert result["window_start"] == "2026-11-27T22:00:00+00:00" and result["allowed_to_start"] is False
    assert state(DAILY, "2026-11-28T22:00:00Z", duration=24, cutoff=23)["window_start"] == "2026-11-28T22:00:00+00:00"


@pytest.mark.parametrize("at,force,allowed,forced,reason", [
    ("2026-11-27T12:00:00Z", False, False, False, "outside the maintenance window; the next window opens at 2026-11-27T22:00"),
    ("2026-11-27T12:00:00Z", True, True, True, "forced: outside the maintenance window"),
    ("2026-11-28T01:30:00Z", False, False, False, "past its cutoff at 2026-11-28T01:00:00+00:00: no new host may start"),
    ("2026-11-28T01:30:00Z", True, True, True, "starting anyway because force is set"),
    ("2026-11-27T23:00:00Z", True, True, False, "new hosts may start until the cutoff at 2026-11-28T01:00:00+00:00"),
])
def test_force_and_reason(at, force, allowed, forced, reason):
    result = state(DAILY, at, force=force)
    assert (result["allowed_to_start"], result["forced"]) == (allowed, forced)
    assert reason in result["reason"]
    assert result["reason"].startswith("forced:") is forced


# --- DST both ways ---------------------------------------------------------------------------

@pytest.mark.parametrize("zone,schedule,duration,cutoff,at,expected", [
    # New York springs forward 02:00 EST -> 03:00 EDT: 02:30 does not exist; the window opens at the jump
    # and still lasts 4 elapsed hours.
    ("America/New_York", "cron(30 2 ? * SUN *)", 4, 1, "2026-03-08T01:59:59-05:00",
     {"inside": False, "next_start": "2026-03-08T03:00:00-04:00", "next_end": "2026-03-08T07:00:00-04:00"}),
    ("America/New_York", "cron(30 2 ? * SUN *)", 4, 1, "2026-03-08T03:00:00-04:00",
     {"inside": True, "window_start": "2026-03-08T03:00:00-04:00", "cutoff_at": "2026-03-08T06:00:00-04:00",
      "next_start": "2026-03-15T02:30:00-04:00"}),
    ("America/New_York", "cron(30 2 ? * SUN *)", 4, 1, "2026-03-01T04:00:00-05:00",
     {"inside": True, "window_start": "2026-03-01T02:30:00-05:00", "next_start": "2026-03-08T03:00:00-04:00"}),
    # New York falls back 02:00 EDT -> 01:00 EST: 01:30 happens twice; the window opens once, at the first.
    ("America/New_York", "cron(30 1 ? * SUN *)", 2, 1, "2026-11-01T01:29:59-05:00",
     {"inside": True, "allowed_to_start": True, "window_start": "2026-11-01T01:30:00-04:00",
      "window_end": "2026-11-01T02:30:00-05:00", "cutoff_at": "2026-11-01T01:30:00-05:00", "seconds_until_cutoff": 1}),
    ("America/New_York", "cron(30 1 ? * SUN *)", 2, 1, "2026-11-01T01:30:00-05:00",
     {"inside": True, "allowed_to_start": False, "window_start": "2026-11-01T01:30:00-04:00",
      "next_start": "2026-11-08T01:30:00-05:00"}),
    # Berlin springs forward 02:00 CET -> 03:00 CEST
    ("Europe/Berlin", "cron(0 2 ? * SUN *)", 3, 0, "2026-03-29T01:59:59+01:00",
     {"inside": False, "next_start": "2026-03-29T03:00:00+02:00", "next_end": "2026-03-29T06:00:00+02:00"}),
    ("Europe/Berlin", "cron(0 2 ? * SUN *)", 3, 0, "2026-03-23T00:00:00+01:00",
     {"inside": False, "next_start": "2026-03-29T03:00:00+02:00"}),
    ("Europe/Berlin", "cron(0 2 ? * SUN *)", 3, 0, "2026-03-30T00:00:00+02:00",
     {"inside": False, "next_start": "2026-04-05T02:00:00+02:00"}),
    # Berlin falls back 03:00 CEST -> 02:00 CET: a 1-hour window from the first 02:30 ends at the second 02:30
    ("Europe/Berlin", "cron(30 2 ? * SUN *)", 1, 0, "2026-10-25T02:15:00+01:00",
     {"inside": True, "window_start": "2026-10-25T02:30:00+02:00", "window_end": "2026-10-25T02:30:00+01:00"}),
    ("Europe/Berlin", "cron(30 2 ? * SUN *)", 1, 0, "2026-10-25T02:45:00+01:00",
     {"inside": False, "next_start": "2026-11-01T02:30:00+01:00"}),
    # Lord Howe shifts by 30 minutes: 02:00 -> 02:30 in October, 02:00 -> 01:30 in April
    ("Australia/Lord_Howe", "cron(15 2 ? * SUN *)", 2, 1, "2026-10-04T01:59:00+10:30",
     {"inside": False, "next_start": "2026-10-04T02:30:00+11:00", "next_end": "2026-10-04T04:30:00+11:00"}),
    ("Australia/Lord_Howe", "cron(45 1 ? * SUN *)", 1, 0, "2026-04-05T01:50:00+10:30",
     {"inside": True, "window_start": "2026-04-05T01:45:00+11:00", "window_end": "2026-04-05T02:15:00+10:30",
      "next_start": "2026-04-12T01:45:00+10:30"}),
    # plain cron follows the same rule
    ("Europe/Berlin", "30 2 * * 0", 3, 1, "2026-03-29T00:00:00+01:00",
     {"next_start": "2026-03-29T03:00:00+02:00"}),
])
def test_dst_changes(zone, schedule, duration, cutoff, at, expected):
    assert subset(state(schedule, at, timezone=zone, duration=duration, cutoff=cutoff), expected) == expected


@pytest.mark.parametrize("zone,wall,utc", [
    ("America/New_York", datetime(2026, 3, 8, 1, 59), datetime(2026, 3, 8, 6, 59)),
    ("America/New_York", datetime(2026, 3, 8, 2, 0), datetime(2026, 3, 8, 7, 0)),    # gap: the jump
    ("America/New_York", datetime(2026, 3, 8, 2, 59), datetime(2026, 3, 8, 7, 0)),   # gap: the jump
    ("America/New_York", datetime(2026, 3, 8, 3, 0), datetime(2026, 3, 8, 7, 0)),
    ("America/New_York", datetime(2026, 11, 1, 1, 0), datetime(2026, 11, 1, 5, 0)),  # twice: the first
    ("America/New_York", datetime(2026, 11, 1, 2, 0), datetime(2026, 11, 1, 7, 0)),
    ("Australia/Lord_Howe", datetime(2026, 10, 4, 2, 15), datetime(2026, 10, 3, 15, 30)),
    ("Australia/Lord_Howe", datetime(2026, 4, 5, 1, 45), datetime(2026, 4, 4, 14, 45)),
    ("UTC", datetime(2028, 2, 29, 0, 0), datetime(2028, 2, 29, 0, 0)),
])
def test_wall_to_instant(zone, wall, utc):
    assert mw.wall_to_instant(wall, ZoneInfo(zone)) == utc.replace(tzinfo=timezone.utc)


# --- calendar: month ends, leap days, L, W, #, names, ranges, steps, years --------------------

@pytest.mark.parametrize("schedule,at,next_start", [
    ("cron(0 22 31 * ? *)", "2026-04-01T00:00:00Z", "2026-05-31T22:00:00+00:00"),   # no 31 April
    ("cron(0 22 31 * ? *)", "2026-01-31T23:00:00Z", "2026-03-31T22:00:00+00:00"),   # no 31 February
    ("cron(0 22 30 * ? *)", "2026-01-31T00:00:00Z", "2026-03-30T22:00:00+00:00"),
    ("cron(0 22 L * ? *)", "2026-02-01T00:00:00Z", "2026-02-28T22:00:00+00:00"),
    ("cron(0 22 L * ? *)", "2028-02-01T00:00:00Z", "2028-02-29T22:00:00+00:00"),    # leap year
    ("cron(0 22 L-2 * ? *)", "2026-02-01T00:00:00Z", "2026-02-26T22:00:00+00:00"),
    ("cron(0 1 29 2 ? *)", "2026-03-01T00:00:00Z", "2028-02-29T01:00:00+00:00"),    # leap day only
    ("0 1 29 2 *", "2024-02-29T01:00:00Z", "2028-02-29T01:00:00+00:00"),
    ("cron(0 22 LW * ? *)", "2026-05-01T00:00:00Z", "2026-05-29T22:00:00+00:00"),   # 31 May 2026 is a Sunday
    ("cron(0 22 15W * ? *)", "2026-08-01T00:00:00Z", "2026-08-14T22:00:00+00:00"),  # 15 Aug is a Saturday
    ("cron(0 22 1W * ? *)", "2026-07-31T00:00:00Z", "2026-08-03T22:00:00+00:00"),   # 1 Aug Saturday: Monday 3rd
    ("cron(0 2 ? * TUE#2 *)", "2026-11-01T00:00:00Z", "2026-11-10T02:00:00+00:00"),  # Patch Tuesday
    ("cron(0 2 ? * 3#2 *)", "2026-11-01T00:00:00Z", "2026-11-10T02:00:00+00:00"),    # AWS: 3 = TUE
    ("cron(0 2 ? * THU#5 *)", "2026-01-01T00:00:00Z", "2026-01-29T02:00:00+00:00"),
    ("cron(0 2 ? * THU#5 *)", "2026-02-01T00:00:00Z", "2026-04-30T02:00:00+00:00"),  # no 5th Thursday in Feb/Mar
    ("cron(0 2 ? * 6L *)", "2026-11-01T00:00:00Z", "2026-11-27T02:00:00+00:00"),     # last Friday
    ("cron(0 2 ? * 2L *)", "2026-11-01T00:00:00Z", "2026-11-30T02:00:00+00:00"),     # last Monday, not the 23rd
    ("cron(0 2 ? * L *)", "2026-11-01T00:00:00Z", "2026-11-07T02:00:00+00:00"),      # L alone: Saturday
    ("cron(0 2 ? * FRI-MON *)", "2026-11-24T00:00:00Z", "2026-11-27T02:00:00+00:00"),  # wraps over the weekend
    ("cron(0 2 ? * FRI-MON *)", "2026-11-30T00:00:00Z", "2026-11-30T02:00:00+00:00"),
    ("cron(0 2 ? * MON-FRI *)", "2026-11-28T00:00:00Z", "2026-11-30T02:00:00+00:00"),
    ("cron(0 2 ? * 2-6 *)", "2026-11-28T00:00:00Z", "2026-11-30T02:00:00+00:00"),
    ("cron(0/15 * * * ? *)", "2026-11-27T10:07:00Z", "2026-11-27T10:15:00+00:00"),
    ("cron(10-50/20 9 * * ? *)", "2026-11-27T09:31:00Z", "2026-11-27T09:50:00+00:00"),
    ("cron(0 22-2/2 * * ? *)", "2026-11-27T22:30:00Z", "2026-11-28T00:00:00+00:00"),  # hours wrap past midnight
    ("cron(0 2 1 JAN,jul ? *)", "2026-02-01T00:00:00Z", "2026-07-01T02:00:00+00:00"),
    ("cron(0 2 1 JAN ? 2027-2028)", "2026-06-01T00:00:00Z", "2027-01-01T02:00:00+00:00"),
    ("cron(0 2 1 JAN ? 2027-2028)", "2028-01-02T00:00:00Z", None),                     # the years are over
    ("cron(0 2 ? * SUN 2030)", "2026-06-01T00:00:00Z", "2030-01-06T02:00:00+00:00"),
    ("0 2 * * 0", "2026-11-27T00:00:00Z", "2026-11-29T02:00:00+00:00"),                 # cron: Sunday is 0
    ("0 2 * * 7", "2026-11-27T00:00:00Z", "2026-11-29T02:00:00+00:00"),                 # ... and 7
    ("0 2 * * sat-sun", "2026-11-27T00:00:00Z", "2026-11-28T02:00:00+00:00"),
    ("0 2 1 * 1", "2026-11-27T00:00:00Z", "2026-11-30T02:00:00+00:00"),                 # both restricted: either
    ("0 2 1 * 1", "2026-11-30T03:00:00Z", "2026-12-01T02:00:00+00:00"),
    ("0 2 */2 * 1", "2026-11-01T00:00:00Z", "2026-11-09T02:00:00+00:00"),               # * first: both (Vixie cron)
    ("at(2026-12-24T20:00:00)", "2026-11-27T00:00:00Z", "2026-12-24T20:00:00+00:00"),
    ("at(2026-12-24T20:00:00)", "2026-12-24T20:00:00Z", None),
])
def test_next_start(schedule, at, next_start):
    assert state(schedule, at, duration=2)["next_start"] == next_start


def test_schedule_offset_counts_days_after_the_cron_date():
    # two days after the second Tuesday, in Berlin
    result = state("cron(0 2 ? * TUE#2 *)", "2026-11-27T12:00:00Z", timezone="Europe/Berlin", schedule_offset=2)
    assert result["next_start"] == "2026-12-10T02:00:00+01:00"
    result = state("cron(0 2 ? * TUE#2 *)", "2026-11-12T03:00:00+01:00", timezone="Europe/Berlin", schedule_offset=2)
    assert result["window_start"] == "2026-11-12T02:00:00+01:00"


def test_an_every_minute_schedule_reports_the_latest_window():
    result = state("cron(* * * * ? *)", "2026-11-27T10:00:30Z", duration=24, cutoff=0)
    assert (result["window_start"], result["next_start"]) == ("2026-11-27T10:00:00+00:00", "2026-11-27T10:01:00+00:00")


# --- rate(...) and at(...) --------------------------------------------------------------------

@pytest.mark.parametrize("schedule,zone,start,at,expected", [
    ("rate(8 hours)", "UTC", "2026-01-01T00:00:00Z", "2026-01-01T09:30:00Z",
     {"inside": True, "allowed_to_start": False, "window_start": "2026-01-01T08:00:00+00:00",
      "cutoff_at": "2026-01-01T09:00:00+00:00", "next_start": "2026-01-01T16:00:00+00:00"}),
    ("rate(8 hours)", "UTC", "2026-01-01T00:00:00Z", "2025-12-31T12:00:00Z",
     {"inside": False, "next_start": "2026-01-01T00:00:00+00:00"}),
    ("rate(1 hour)", "UTC", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z",
     {"inside": True, "window_start": "2026-01-01T00:00:00+00:00", "next_start": "2026-01-01T01:00:00+00:00"}),
    # elapsed days: 22:00 CET becomes 23:00 CEST after the change
    ("rate(1 day)", "Europe/Berlin", "2026-03-27T22:00:00", "2026-03-29T12:00:00+02:00",
     {"inside": False, "next_start": "2026-03-29T23:00:00+02:00"}),
    ("rate(2 days)", "UTC", "2026-02-27T22:00:00Z", "2026-03-01T00:00:00Z",
     {"inside": False, "next_start": "2026-03-01T22:00:00+00:00"}),
    # overlapping windows: the latest that started
    ("rate(30 minutes)", "UTC", "2026-01-01T00:00:00Z", "2026-01-01T10:40:00Z",
     {"inside": True, "window_start": "2026-01-01T10:30:00+00:00", "window_end": "2026-01-01T12:30:00+00:00"}),
])
def test_rate_windows(schedule, zone, start, at, expected):
    assert subset(state(schedule, at, timezone=zone, duration=2, cutoff=1, start_date=start), expected) == expected


def test_at_window_in_its_zone():
    result = state("at(2026-11-27T22:00:00)", "2026-11-27T23:30:00+01:00", timezone="Europe/Berlin", duration=2)
    assert (result["inside"], result["window_start"], result["next_start"]) == (True, "2026-11-27T22:00:00+01:00", None)
    assert "the schedule has no later window" in state("at(2026-11-27T22:00:00)", "2027-01-01T00:00:00Z")["reason"]


@pytest.mark.parametrize("extra,at,expected", [
    ({"start_date": "2026-12-01T00:00:00Z"}, "2026-11-27T23:00:00Z", {"inside": False, "next_start": "2026-12-01T22:00:00+00:00"}),
    ({"start_date": "2026-11-27T22:00:00Z"}, "2026-11-27T23:00:00Z", {"inside": True}),
    ({"end_date": "2026-12-05T00:00:00Z"}, "2026-12-05T01:00:00Z", {"inside": True, "next_start": None}),
    ({"end_date": "2026-12-05T00:00:00Z"}, "2026-12-05T03:00:00Z", {"inside": False, "next_start": None}),
    ({"end_date": "2026-12-04T22:00:00Z"}, "2026-12-04T12:00:00Z", {"next_start": "2026-12-04T22:00:00+00:00"}),
])
def test_start_and_end_dates(extra, at, expected):
    assert subset(state(DAILY, at, **extra), expected) == expected


def test_now_is_the_default_instant():
    result = mw.MaintenanceWindow("cron(0 2 * * ? *)", duration=1).state()
    moment = datetime.fromisoformat(result["at"])
    assert abs((datetime.now(timezone.utc) - moment).total_seconds()) < 60
    assert result["next_start"] is not None


# --- bad input: one clear error naming the field and the value --------------------------------

@pytest.mark.parametrize("spec,field,words", [
    ({"schedule": "cron(0 2 30 2 ? *)"}, "schedule", ["never fires", "'30'", "'2'"]),
    ({"schedule": "cron(0 2 30 FEB ? *)"}, "schedule", ["never fires", "'FEB'"]),
    ({"schedule": "cron(0 2 31 4,6,9,11 ? *)"}, "schedule", ["never fires"]),
    ({"schedule": "cron(0 2 29 2 ? 2027)"}, "schedule", ["never fires", "'2027'"]),
    ({"schedule": "0 2 30 2 *"}, "schedule", ["never fires"]),
    ({"schedule": "cron(60 2 ? * SUN *)"}, "schedule", ["minutes field '60'", "out of range 0-59"]),
    ({"schedule": "cron(0 24 ? * SUN *)"}, "schedule", ["hours field '24'", "0-23"]),
    ({"schedule": "cron(0 2 32 * ? *)"}, "schedule", ["day-of-month field '32'", "1-31"]),
    ({"schedule": "cron(0 2 1 13 ? *)"}, "schedule", ["month field '13'", "1-12"]),
    ({"schedule": "cron(0 2 ? * 0 *)"}, "schedule", ["day-of-week field '0'", "out of range 1-7"]),
    ({"schedule": "cron(0 2 ? * FUN *)"}, "schedule", ["'FUN' is not a number or names SUN-SAT"]),
    ({"schedule": "cron(0 2 1 * ? 1969)"}, "schedule", ["year field '1969'", "1970-2199"]),
    ({"schedule": "cron(0 2 1 * ? 2030-2027)"}, "schedule", ["runs backwards"]),
    ({"schedule": "cron(0 2 ? * TUE#6 *)"}, "schedule", ["TUE#6", "1 to 5"]),
    ({"schedule": "cron(0/0 2 ? * SUN *)"}, "schedule", ["step '0'"]),
    ({"schedule": "cron(0 2 * * * *)"}, "schedule", ["exactly one", "must be ?"]),
    ({"schedule": "cron(0 2 ? * ? *)"}, "schedule", ["exactly one"]),
    ({"schedule": "cron(0 2 * * ?)"}, "schedule", ["has 5 fields where cron(...) needs 6"]),
    ({"schedule": "cron(0 2 1, * ? *)"}, "schedule", ["day-of-month field '1,'"]),
    ({"schedule": "0 2 * * * *"}, "schedule", ["5-field cron", "6 fields"]),
    ({"schedule": "0 2 L * *"}, "schedule", ["only cron(...) knows"]),
    ({"schedule": "0 2 * * 5#2"}, "schedule", ["only cron(...) knows"]),
    ({"schedule": "every night"}, "schedule", ["neither cron(...)"]),
    ({"schedule": "weekly(SUN)"}, "schedule", ["is not cron(...), rate(...)"]),
    ({"schedule": "rate(0 hours)", "start_date": "2026-01-01T00:00:00Z"}, "schedule", ["rate of 0"]),
    ({"schedule": "rate(99999999999 days)", "start_date": "2026-01-01T00:00:00Z"}, "schedule", ["at most 100 years"]),
    ({"schedule": "rate(1 day)", "start_date": "9999-12-31T00:00:00Z"}, "start_date", ["outside the years 1970-2199"]),
    ({"schedule": "rate(2 weeks)", "start_date": "2026-01-01T00:00:00Z"}, "schedule", ["rate(N days)"]),
    ({"schedule": "rate(1 day)"}, "start_date", ["required with rate(1 day)"]),
    ({"schedule": "at(2026-02-30T02:00:00)"}, "schedule", ["does not exist"]),
    ({"schedule": "at(tomorrow)"}, "schedule", ["at(YYYY-MM-DDThh:mm:ss)"]),
    ({"schedule": ""}, "schedule", ["required"]),
    ({"timezone": "Mars/Olympus"}, "timezone", ["'Mars/Olympus'", "IANA"]),
    ({"timezone": "../etc/passwd"}, "timezone", ["IANA"]),
    ({"duration": 0}, "duration", ["1 to 24"]),
    ({"duration": 25}, "duration", ["1 to 24"]),
    ({"duration": "four"}, "duration", ["'four'", "not a whole number"]),
    ({"duration": None}, "duration", ["required"]),
    ({"duration": 4, "cutoff": 4}, "cutoff", ["less than duration (4)"]),
    ({"cutoff": -1}, "cutoff", ["out of range"]),
    ({"schedule_offset": 7}, "schedule_offset", ["0 to 6"]),
    ({"schedule": "rate(1 day)", "start_date": "2026-01-01T00:00:00Z", "schedule_offset": 2}, "schedule_offset", ["only applies to cron"]),
    ({"start_date": "next tuesday"}, "start_date", ["ISO 8601"]),
    ({"start_date": "2026-12-01T00:00:00Z", "end_date": "2026-11-01T00:00:00Z"}, "end_date", ["not after start_date"]),
    ({"windo": "x"}, "window", ["'windo'", "unknown key"]),
])
def test_bad_input_names_the_field_and_the_value(spec, field, words):
    full = {"schedule": "cron(0 2 ? * SUN *)", "duration": 4, "cutoff": 1}
    full.update(spec)
    if full["duration"] is None:
        del full["duration"]
    with pytest.raises(mw.WindowError) as caught:
        mw.window_from_dict(full)
    message = str(caught.value)
    assert isinstance(caught.value, ValueError) and caught.value.field == field
    assert message.startswith(field + ": "), message
    for word in words:
        assert word in message, message


@pytest.mark.parametrize("at,words", [
    ("yesterday", "^at: 'yesterday' is not an ISO 8601"),
    ("", "^at: '' is not an ISO 8601"),
    ("9999-12-31T23:00:00Z", "^at: '9999-12-31T23:00:00Z' is outside the years 1970-2199"),
    ("0001-01-01T00:00:00", "^at: '0001-01-01T00:00:00' is outside"),
])
def test_bad_instant_names_at(at, words):
    with pytest.raises(mw.WindowError, match=words):
        mw.MaintenanceWindow(DAILY, duration=2).state(at)


def test_label_keys_are_allowed_and_strings_are_accepted_for_numbers():
    window = mw.window_from_dict({"name": "web-prod", "description": "Saturday night", "schedule": DAILY,
                                  "duration": "4", "cutoff": "1", "timezone": None})
    assert (window.duration_hours, window.cutoff_hours, window.timezone) == (4, 1, "UTC")
