import re
from datetime import datetime, timezone

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.awx_schedule import ScheduleError, window_rrule

NOW = datetime(2026, 12, 4, 3, 0, tzinfo=timezone.utc)   # a Friday


@pytest.mark.parametrize("schedule,tz,expected", [
    ("cron(0 3 ? * SUN *)", "UTC", "DTSTART;TZID=UTC:20261206T030000 RRULE:FREQ=WEEKLY;BYDAY=SU;BYHOUR=3;BYMINUTE=0;INTERVAL=1"),
    ("cron(30 22 ? * MON-FRI *)", "Europe/Berlin",
     "DTSTART;TZID=Europe/Berlin:20261204T223000 RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=22;BYMINUTE=30;INTERVAL=1"),
    ("cron(0 2 1 * ? *)", "UTC", "DTSTART;TZID=UTC:20270101T020000 RRULE:FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=2;BYMINUTE=0;INTERVAL=1"),
    ("0 4 * * *", "UTC", "DTSTART;TZID=UTC:20261204T040000 RRULE:FREQ=DAILY;BYHOUR=4;BYMINUTE=0;INTERVAL=1"),
    ("0 1 * 1,7 6", "UTC",
     "DTSTART;TZID=UTC:20270102T010000 RRULE:FREQ=WEEKLY;BYDAY=SA;BYMONTH=1,7;BYHOUR=1;BYMINUTE=0;INTERVAL=1"),
])
def test_cron_windows_become_rrules(schedule, tz, expected):
    assert window_rrule("web", schedule, tz, now=NOW) == expected


@pytest.mark.parametrize("schedule,offset,message", [
    ("cron(0 3 ? * SUN#2 *)", 0, "patch group web, window 'cron(0 3 ? * SUN#2 *)': L, W, #"),
    ("rate(7 days)", 0, "only cron windows repeat as an RRULE; give this group's schedule as awx_configure_schedules['web']"),
    ("cron(0 3 ? * SUN *)", 2, "a schedule offset (2 days) has no RRULE form"),
    ("cron(0 3 * * SUN *)", 0, "exactly one of them must be ?"),
])
def test_windows_without_an_rrule_form_say_what_to_do(schedule, offset, message):
    with pytest.raises(ScheduleError, match=re.escape(message)):
        window_rrule("web", schedule, "UTC", offset_days=offset, now=NOW)
