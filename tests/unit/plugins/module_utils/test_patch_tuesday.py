"""patch_tuesday(+N HH:MM) windows (issue #19): N days from the second Tuesday of the month.

Every expected date below was worked out by hand from the calendar (the weekday of the 1st, the
first Tuesday, +7 days, then the offset), not by the code under test:
  2026-01-01 is a Thursday -> Tuesdays 6, 13: Patch Tuesday 2026-01-13
  2026-02-01 is a Sunday   -> Tuesdays 3, 10: 2026-02-10;  2026-03-01 Sunday -> 2026-03-10
  2026-11-01 is a Sunday   -> 2026-11-10;  2026-12-01 is a Tuesday -> Tuesdays 1, 8: 2026-12-08
  2027-01-01 is a Friday   -> Tuesdays 5, 12: 2027-01-12
  2028-02-01 is a Tuesday  -> Tuesdays 1, 8: 2028-02-08 (2028 is a leap year: +21 is 2028-02-29)
A large offset makes the previous month's window the next one for a while: it is in the table too.
"""

from datetime import datetime, timezone

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import maintenance_window as mw

UTC = timezone.utc


def window(schedule, tz="UTC", duration=4, cutoff=0):
    return mw.MaintenanceWindow(schedule, timezone=tz, duration=duration, cutoff=cutoff)


def utc(text):
    return datetime.fromisoformat(text).replace(tzinfo=UTC) if "+" not in text else datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize("schedule, tz, after, expected", [
    # Dev at +1, Prod at +8 (the usual Patch-Tuesday-relative rings)
    ("patch_tuesday(+1 02:00)", "UTC", "2026-01-01T00:00:00", "2026-01-14T02:00:00+00:00"),
    ("patch_tuesday(+8 03:00)", "UTC", "2026-01-01T00:00:00", "2026-01-21T03:00:00+00:00"),
    ("patch_tuesday(0 00:00)", "UTC", "2026-01-13T00:00:00", "2026-02-10T00:00:00+00:00"),   # strictly after
    # month ends: +30 from 2026-12-08 is 2027-01-07 (November's, 2026-11-10 +30 = 2026-12-10, has passed
    # on the 11th); +20 from 2026-12-08 is 2026-12-28 (November's +20 is 2026-11-30)
    ("patch_tuesday(+30 01:00)", "UTC", "2026-12-11T00:00:00", "2027-01-07T01:00:00+00:00"),
    ("patch_tuesday(+30 01:00)", "UTC", "2026-12-01T00:00:00", "2026-12-10T01:00:00+00:00"),
    ("patch_tuesday(+20 01:00)", "UTC", "2026-12-01T00:00:00", "2026-12-28T01:00:00+00:00"),
    # negative offsets reach into the month before: -30 from 2026-03-10 is 2026-02-08
    ("patch_tuesday(-30 22:00)", "UTC", "2026-02-01T00:00:00", "2026-02-08T22:00:00+00:00"),
    ("patch_tuesday(-1 22:00)", "UTC", "2026-11-09T23:00:00", "2026-12-07T22:00:00+00:00"),
    # leap year: +21 from 2028-02-08 is 2028-02-29, +22 is 2028-03-01 (January's Patch Tuesday is
    # 2028-01-11, 2028-01-01 being a Saturday: its +21 is 2028-02-01 and its +22 2028-02-02)
    ("patch_tuesday(+21 02:00)", "UTC", "2028-02-01T00:00:00", "2028-02-01T02:00:00+00:00"),
    ("patch_tuesday(+21 02:00)", "UTC", "2028-02-02T00:00:00", "2028-02-29T02:00:00+00:00"),
    ("patch_tuesday(+22 02:00)", "UTC", "2028-02-03T00:00:00", "2028-03-01T02:00:00+00:00"),
    # time zones: the wall time in the window's zone (Berlin CET +01:00 in winter, CEST +02:00 in summer)
    ("patch_tuesday(+1 02:00)", "Europe/Berlin", "2026-01-01T00:00:00", "2026-01-14T01:00:00+00:00"),
    ("patch_tuesday(+1 02:00)", "Europe/Berlin", "2026-07-01T00:00:00", "2026-07-15T00:00:00+00:00"),
    # the second Tuesday in the zone's own calendar: 2026-11-10 in Auckland (+13:00) is 2026-11-09 UTC
    ("patch_tuesday(0 09:00)", "Pacific/Auckland", "2026-11-01T00:00:00", "2026-11-09T20:00:00+00:00"),
    # comma form
    ("patch_tuesday(+8, 03:00)", "UTC", "2026-11-01T00:00:00", "2026-11-18T03:00:00+00:00"),
])
def test_next_opening(schedule, tz, after, expected):
    assert window(schedule, tz).next_start(utc(after)) == datetime.fromisoformat(expected)


def test_the_next_five_openings_of_the_documented_example():
    """docs/maintenance_windows.md shows these for patch_tuesday(+8 03:00) in Europe/Berlin from 2026-12-04."""
    win = window("patch_tuesday(+8 03:00)", "Europe/Berlin")
    at, opens = utc("2026-12-04T00:00:00"), []
    for _round in range(5):
        at = win.next_start(at)
        opens.append(at.astimezone(win.zone).isoformat())
    # Patch Tuesdays 2026-12-08, 2027-01-12, 2027-02-09, 2027-03-09, 2027-04-13 (+8 days each)
    assert opens == ["2026-12-16T03:00:00+01:00", "2027-01-20T03:00:00+01:00", "2027-02-17T03:00:00+01:00",
                     "2027-03-17T03:00:00+01:00", "2027-04-21T03:00:00+02:00"]


def test_inside_the_window_and_its_cutoff():
    win = window("patch_tuesday(+1 02:00)", duration=4, cutoff=1)
    inside = win.state(utc("2026-01-14T03:30:00"))
    assert inside["inside"] and inside["allowed_to_start"]
    assert inside["window_start"].startswith("2026-01-14T02:00:00")
    past_cutoff = win.state(utc("2026-01-14T05:30:00"))
    assert past_cutoff["inside"] and not past_cutoff["allowed_to_start"]
    outside = win.state(utc("2026-01-15T03:00:00"))
    assert not outside["inside"]
    assert outside["next_start"].startswith("2026-02-11T02:00:00")


def test_a_window_that_spans_a_month_end_is_found_from_inside():
    """+30 from 2026-12-08 opens 2027-01-07 01:00: from 02:00 that day the window is open."""
    win = window("patch_tuesday(+30 01:00)", duration=6)
    assert win.state(utc("2027-01-07T02:00:00"))["inside"]


@pytest.mark.parametrize("schedule, fragment", [
    ("patch_tuesday(+31 02:00)", "offset of +31 days: it must be -30 to +30"),
    ("patch_tuesday(-31 02:00)", "offset of -31 days"),
    ("patch_tuesday(+1 24:00)", "start time 24:00 that is not a time of day"),
    ("patch_tuesday(+1)", "write patch_tuesday(+N HH:MM)"),
    ("patch_tuesday(second 02:00)", "write patch_tuesday(+N HH:MM)"),
])
def test_bad_expressions_name_the_field_and_the_form(schedule, fragment):
    with pytest.raises(mw.WindowError) as err:
        window(schedule)
    assert "schedule" in str(err.value) and fragment in str(err.value)


def test_schedule_offset_does_not_combine_with_patch_tuesday():
    with pytest.raises(mw.WindowError, match="schedule_offset"):
        mw.MaintenanceWindow("patch_tuesday(+1 02:00)", duration=4, schedule_offset=2)


def test_the_maintenance_window_tag_accepts_the_same_form():
    """The MaintenanceWindow tag (`SCHEDULE[; key=value ...]`) takes patch_tuesday(+N HH:MM) as its schedule:
    the same openings as the documented example."""
    spec = mw.window_from_tag("patch_tuesday(+8 03:00); timezone=Europe/Berlin; duration=3; cutoff=1")
    assert spec == {"schedule": "patch_tuesday(+8 03:00)", "timezone": "Europe/Berlin", "duration": "3", "cutoff": "1"}
    win = mw.window_from_dict(spec)
    first = win.next_start(utc("2026-12-04T00:00:00"))
    assert first.astimezone(win.zone).isoformat() == "2026-12-16T03:00:00+01:00"
    assert win.next_start(first).astimezone(win.zone).isoformat() == "2027-01-20T03:00:00+01:00"
    with pytest.raises(mw.WindowError, match="patch_tuesday"):
        mw.window_from_dict(mw.window_from_tag("patch_tuesday(+31 03:00)"))
