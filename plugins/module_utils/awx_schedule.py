# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An AWX / Automation Platform schedule (iCalendar RRULE) from a patch group's maintenance window.

The window is read by module_utils.maintenance_window (SSM cron(...) or 5-field cron, IANA zone); the
schedule starts the night at the window's start. What an RRULE cannot say (L, W, #, rate(), at(), a
year list, a schedule offset) is an error naming the window and what to do instead.
Pure Python, no Ansible import.
"""

from __future__ import annotations

from datetime import datetime, timezone

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import maintenance_window as mw

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")   # Python weekday order (Monday 0)


class ScheduleError(ValueError):
    """A window an RRULE cannot express: the message names it and the fix."""


def _numbers(values):
    return ",".join(str(v) for v in sorted(values))


def window_rrule(name, schedule, tz="UTC", offset_days=0, now=None):
    """'DTSTART;TZID=<tz>:<first start> RRULE:...' for AWX's schedule module, from the window of `name`."""
    where = "patch group %s, window %r" % (name, schedule)
    if offset_days:
        raise ScheduleError("%s: a schedule offset (%d days) has no RRULE form; give this group's schedule as "
                            "awx_configure_schedules[%r] (an rrule)" % (where, offset_days, name))
    if not isinstance(schedule, str) or schedule.strip().split("(", 1)[0].strip().lower() in ("rate", "at"):
        raise ScheduleError("%s: only cron windows repeat as an RRULE; give this group's schedule as "
                            "awx_configure_schedules[%r] (an rrule)" % (where, name))
    try:
        zone = mw.parse_zone(tz)
        parsed = mw.parse_schedule(schedule, zone)
    except mw.WindowError as exc:
        raise ScheduleError("%s: %s" % (where, exc))
    dom = parsed.dom or (set(), [])
    dow = parsed.dow or (set(), [], [])
    if dom[1] or dow[1] or dow[2] or parsed.years is not None or parsed.either:
        raise ScheduleError("%s: L, W, #, a year list or both day fields have no RRULE form here; give this group's "
                            "schedule as awx_configure_schedules[%r] (an rrule)" % (where, name))
    parts = []
    if parsed.dow is not None and len(dow[0]) < 7:
        parts += ["FREQ=WEEKLY", "BYDAY=" + ",".join(WEEKDAYS[d] for d in sorted(dow[0]))]
    elif parsed.dom is not None and len(dom[0]) < 31:
        parts += ["FREQ=MONTHLY", "BYMONTHDAY=" + _numbers(dom[0])]
    else:
        parts += ["FREQ=DAILY"]
    if len(parsed.months) < 12:
        parts.append("BYMONTH=" + _numbers(parsed.months))
    parts += ["BYHOUR=" + _numbers(parsed.hours), "BYMINUTE=" + _numbers(parsed.minutes), "INTERVAL=1"]
    first = parsed.next_after(now or datetime.now(timezone.utc)).astimezone(zone)
    return "DTSTART;TZID=%s:%s RRULE:%s" % (tz, first.strftime("%Y%m%dT%H%M%S"), ";".join(parts))
