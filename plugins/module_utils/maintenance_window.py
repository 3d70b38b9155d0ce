# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Maintenance windows as SSM defines them: schedule, time zone, duration and cutoff.

Schedules: ``cron(...)`` (AWS 6-field cron), ``rate(N minutes|hours|days)``, ``at(...)`` and
plain 5-field cron. A window opens at each start of the schedule, lasts ``duration`` elapsed
hours, and no new task may start in its last ``cutoff`` hours.

Wall-clock times are resolved in the window's time zone with one rule: a window opens at the
first instant the local clock shows its scheduled time or has passed it. A time that occurs
twice (clocks go back) opens once, at its first occurrence; a time that does not exist (clocks
go forward) opens at the instant the clocks jump, as cron does. See docs/maintenance_windows.md.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = timezone.utc
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
AWS_YEARS = (1970, 2199)
# Every combination of month length and weekday of the 1st occurs in any 29 consecutive years.
PROBE_YEARS = range(2000, 2029)
WINDOW_KEYS = ("schedule", "timezone", "duration", "cutoff", "schedule_offset", "start_date", "end_date")
LABEL_KEYS = ("name", "description")  # allowed in a window mapping, not used to evaluate it
RATE_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
MAX_RATE_SECONDS = 100 * 366 * 86400


class WindowError(ValueError):
    """A maintenance window that cannot be right: names the field, the value and the fix."""

    def __init__(self, field, value, problem):
        self.field = field
        self.value = value
        super().__init__("%s: %r %s" % (field, value, problem))


# ---------------------------------------------------------------------------------------------
# Cron fields
# ---------------------------------------------------------------------------------------------

class _Field(object):
    """Range and names of one cron field; `offset` maps names to numbers (SUN=1 in AWS, 0 in cron)."""

    def __init__(self, name, low, high, names=(), first=1, cyclic=True):
        self.name, self.low, self.high, self.cyclic = name, low, high, cyclic
        self.names = dict((n, i + first) for i, n in enumerate(names))


AWS_FIELDS = (
    _Field("minutes", 0, 59), _Field("hours", 0, 23), _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, MONTHS), _Field("day-of-week", 1, 7, DAYS, first=1),
    _Field("year", AWS_YEARS[0], AWS_YEARS[1], cyclic=False),
)
CRON5_FIELDS = (
    _Field("minutes", 0, 59), _Field("hours", 0, 23), _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, MONTHS), _Field("day-of-week", 0, 7, DAYS, first=0),
)


class _FieldParser(object):
    """Parses one field of one expression; every error names the field, its text and the schedule."""

    def __init__(self, field, text, schedule):
        self.field, self.text, self.schedule = field, text, schedule

    def fail(self, problem, item=None):
        if item is not None and item != self.text:
            problem = "%r %s" % (item, problem)
        raise WindowError("schedule", self.schedule, "has a bad %s field %r: %s" % (self.field.name, self.text, problem))

    def number(self, token):
        token = token.upper()
        if token in self.field.names:
            return self.field.names[token]
        if not token.isdigit():
            names = " or names %s-%s" % (min(self.field.names, key=self.field.names.get),
                                         max(self.field.names, key=self.field.names.get)) if self.field.names else ""
            self.fail("%r is not a number%s" % (token, names))
        value = int(token)
        if not self.field.low <= value <= self.field.high:
            self.fail("%d is out of range %d-%d" % (value, self.field.low, self.field.high))
        return value

    def values(self, item):
        """Numbers of one list item: *, n, a-b, with an optional /step (n/step means n-max/step)."""
        base, slash, step = item.partition("/")
        if slash:
            if not step.isdigit() or int(step) < 1:
                self.fail("step %r must be a whole number of 1 or more" % step)
        step = int(step) if slash else 1
        if not base:
            self.fail("has an empty item: remove the extra comma or fill in a value")
        if base == "*":
            first, last = self.field.low, self.field.high
        elif "-" in base:
            first, dash, last = base.partition("-")
            first, last = self.number(first), self.number(last)
        else:
            first = self.number(base)
            last = self.field.high if slash else first
        if first <= last:
            seq = list(range(first, last + 1))
        elif self.field.cyclic:
            seq = list(range(first, self.field.high + 1)) + list(range(self.field.low, last + 1))
        else:
            self.fail("range %s runs backwards" % base)
        return set(seq[::step])

    def plain(self):
        if not self.text:
            self.fail("it is empty")
        found = set()
        for item in self.text.split(","):
            found |= self.values(item)
        return found


def _parse_day_of_month(parser, aws):
    """(plain days, specials); specials are ('L', n) for L-n, ('LW',) and ('W', n)."""
    days, specials = set(), []
    for item in parser.text.upper().split(","):
        match = re.fullmatch(r"L(?:-(\d+))?", item)
        if match and aws:
            back = int(match.group(1) or 0)
            if back > 30:
                parser.fail("reaches before the 1st: use L-0 to L-30", item)
            specials.append(("L", back))
        elif item == "LW" and aws:
            specials.append(("LW",))
        elif item.endswith("W") and aws:
            specials.append(("W", parser.number(item[:-1])))
        elif re.search(r"[LW#?]", item):
            parser.fail("uses L, W or ?, which only cron(...) knows; write the schedule as cron(...)" if not aws else
                        "is not a day, range, step, L, L-n, nW or LW", item)
        else:
            days |= parser.values(item)
    return days, specials


def _parse_day_of_week(parser, aws):
    """(weekdays, nth, last) as Python weekdays (Monday 0): plain days, (day, k) for d#k, days for dL."""
    to_python = (lambda d: (d - 2) % 7) if aws else (lambda d: (d - 1) % 7)
    days, nth, last = set(), [], []
    for item in parser.text.upper().split(","):
        if aws and item == "L":
            last_day = parser.number("SAT")
            days.add(to_python(last_day))
        elif aws and "#" in item:
            day, dummy, k = item.partition("#")
            if not k.isdigit() or not 1 <= int(k) <= 5:
                parser.fail("names week %r after #: use 1 to 5" % k, item)
            nth.append((to_python(parser.number(day)), int(k)))
        elif aws and len(item) > 1 and item.endswith("L"):
            last.append(to_python(parser.number(item[:-1])))
        elif "#" in item or "?" in item or item.endswith("L"):
            parser.fail("uses L, # or ?, which only cron(...) knows; write the schedule as cron(...)", item)
        else:
            days |= set(to_python(d) for d in parser.values(item))
    return days, nth, last


def _nearest_weekday(year, month, day, last):
    weekday = calendar.weekday(year, month, day)
    if weekday == 5:
        return day - 1 if day > 1 else day + 2
    if weekday == 6:
        return day + 1 if day < last else day - 2
    return day


def _dom_days(year, month, dom):
    days, specials = dom
    last = calendar.monthrange(year, month)[1]
    found = set(d for d in days if d <= last)
    for special in specials:
        if special[0] == "L" and last - special[1] >= 1:
            found.add(last - special[1])
        elif special[0] == "W" and special[1] <= last:
            found.add(_nearest_weekday(year, month, special[1], last))
        elif special[0] == "LW":
            found.add(_nearest_weekday(year, month, last, last))
    return found


def _dow_days(year, month, dow):
    weekdays, nth, lasts = dow
    first_weekday, last = calendar.monthrange(year, month)
    found = set()
    for day in range(1, last + 1):
        weekday = (first_weekday + day - 1) % 7
        if weekday in weekdays:
            found.add(day)
        if (weekday, (day - 1) // 7 + 1) in nth:
            found.add(day)
        if weekday in lasts and day + 7 > last:
            found.add(day)
    return found


# ---------------------------------------------------------------------------------------------
# Schedules: each gives the start instants (aware, UTC) in a span and the first one after an instant
# ---------------------------------------------------------------------------------------------

def wall_to_instant(wall, zone):
    """The first instant at which the clock in `zone` shows `wall` (naive) or has passed it."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    # In a gap (clocks jumped forward over `wall`): the instant of the jump.
    low, high = sorted((first, wall.replace(tzinfo=zone, fold=1).astimezone(UTC)))
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


class CronSchedule(object):
    """AWS cron (`cron(m h dom mon dow year)`) or 5-field cron; `offset_days` is SSM's ScheduleOffset."""

    def __init__(self, text, zone, offset_days=0):
        self.text, self.zone, self.offset = text, zone, timedelta(days=offset_days)
        match = re.fullmatch(r"cron\((.*)\)", text.strip(), re.IGNORECASE | re.DOTALL)
        self.aws = bool(match)
        fields = (match.group(1) if match else text).split()
        specs = AWS_FIELDS if self.aws else CRON5_FIELDS
        if len(fields) != len(specs):
            names = " ".join(f.name for f in specs)
            raise WindowError("schedule", text, "has %d fields where cron(...) needs 6: %s" % (len(fields), names) if self.aws else
                              "is neither cron(...), rate(...), at(...) nor 5-field cron (%s): it has %d fields" % (
                                  names, len(fields)))
        parsers = [_FieldParser(specs[i], fields[i], text) for i in range(len(specs))]
        self.minutes = sorted(parsers[0].plain())
        self.hours = sorted(parsers[1].plain())
        self.months = sorted(parsers[3].plain())
        self.years = sorted(parsers[5].plain()) if self.aws and fields[5] != "*" else None
        self.year_set = set(self.years or ())
        self._parse_days(parsers)
        self._month_cache = {}
        self._check_fires()

    def _parse_days(self, parsers):
        dom_text, dow_text = parsers[2].text, parsers[4].text
        if self.aws and (dom_text == "?") == (dow_text == "?"):
            raise WindowError("schedule", self.text, "sets day-of-month %r and day-of-week %r: in cron(...) exactly one "
                              "of them must be ?, for example cron(0 2 ? * SUN *) or cron(0 2 1 * ? *)" % (dom_text, dow_text))
        self.dom = None if self.aws and dom_text == "?" else _parse_day_of_month(parsers[2], self.aws)
        self.dow = None if self.aws and dow_text == "?" else _parse_day_of_week(parsers[4], self.aws)
        # Plain cron (Vixie/cronie): when both day fields are restricted (neither starts with *),
        # a day matches either one; otherwise it must match both.
        self.either = not self.aws and not dom_text.startswith("*") and not dow_text.startswith("*")

    def _check_fires(self):
        for year in self.years or PROBE_YEARS:
            for month in self.months:
                if self.days_of(year, month):
                    return
        raise WindowError("schedule", self.text, "never fires: no date has day-of-month %r in month %r%s%s" % (
            self._field_text(2), self._field_text(3),
            "" if self.dow is None else " on day-of-week %r" % self._field_text(4),
            "" if self.years is None else " in year %r" % self._field_text(5)))

    def _field_text(self, index):
        match = re.fullmatch(r"cron\((.*)\)", self.text.strip(), re.IGNORECASE | re.DOTALL)
        return (match.group(1) if match else self.text).split()[index]

    def days_of(self, year, month):
        """Days of the month the cron expression matches (before any schedule offset)."""
        key = (year, month)
        if key not in self._month_cache:
            if month not in self.months or (self.years is not None and year not in self.year_set):
                found = set()
            elif self.dom is None:
                found = _dow_days(year, month, self.dow)
            elif self.dow is None:
                found = _dom_days(year, month, self.dom)
            elif self.either:
                found = _dom_days(year, month, self.dom) | _dow_days(year, month, self.dow)
            else:
                found = _dom_days(year, month, self.dom) & _dow_days(year, month, self.dow)
            self._month_cache[key] = sorted(found)
        return self._month_cache[key]

    def _cron_dates(self, start):
        """Matching cron dates from `start` on, ascending, until the year field (or 400 years) ends."""
        last_year = self.years[-1] if self.years else start.year + 400
        for year in range(start.year, last_year + 1):
            if self.years is not None and year not in self.year_set:
                continue
            for month in self.months:
                for day in self.days_of(year, month):
                    found = date(year, month, day)
                    if found >= start:
                        yield found

    def _starts_on(self, run_date):
        starts = set()
        for hour in self.hours:
            for minute in self.minutes:
                wall = datetime(run_date.year, run_date.month, run_date.day, hour, minute)
                starts.add(wall_to_instant(wall, self.zone))
        return sorted(starts)

    def _first_day(self, instant):
        # One day of slack each side: a start resolved across a DST jump can land on the next day.
        return instant.astimezone(self.zone).date() - timedelta(days=1) - self.offset

    def starts_between(self, low, high):
        """Start instants s with low < s <= high."""
        found = []
        last_day = high.astimezone(self.zone).date() + timedelta(days=1)
        for cron_date in self._cron_dates(self._first_day(low)):
            run_date = cron_date + self.offset
            if run_date > last_day:
                break
            found.extend(s for s in self._starts_on(run_date) if low < s <= high)
        return sorted(set(found))

    def next_after(self, instant):
        """The first start instant strictly after `instant`, or None."""
        best, best_date = None, None
        for cron_date in self._cron_dates(self._first_day(instant)):
            run_date = cron_date + self.offset
            if best_date is not None and run_date > best_date + timedelta(days=1):
                break
            later = [s for s in self._starts_on(run_date) if s > instant]
            if later and (best is None or later[0] < best):
                best = later[0]
            if later and best_date is None:
                best_date = run_date
        return best


class RateSchedule(object):
    """`rate(N unit)`: starts every N units of elapsed time from the window's start date."""

    def __init__(self, text, anchor):
        match = re.fullmatch(r"rate\(\s*(\d+)\s+(minute|hour|day)s?\s*\)", text.strip(), re.IGNORECASE)
        if not match:
            raise WindowError("schedule", text, "is not a rate expression: write rate(N minutes), rate(N hours) or "
                              "rate(N days) with N a whole number")
        seconds = int(match.group(1)) * RATE_UNITS[match.group(2).lower()]
        if not 1 <= seconds <= MAX_RATE_SECONDS:
            raise WindowError("schedule", text, "has a rate of %s: N must be 1 or more, and at most 100 years" % match.group(1))
        if anchor is None:
            raise WindowError("start_date", None, "is required with %s: a rate window repeats from its start date "
                              "(set start_date to the instant the first window opens)" % text.strip())
        self.text, self.anchor = text, anchor
        self.every = timedelta(seconds=seconds)

    def _index_at_or_before(self, instant):
        return (instant - self.anchor) // self.every

    def starts_between(self, low, high):
        first = max(self._index_at_or_before(low) + 1, 0)
        last = self._index_at_or_before(high)
        return [self.anchor + k * self.every for k in range(first, last + 1)]

    def next_after(self, instant):
        return self.anchor + max(self._index_at_or_before(instant) + 1, 0) * self.every


class AtSchedule(object):
    """`at(YYYY-MM-DDThh:mm:ss)`: one window at that wall-clock time in the window's time zone."""

    def __init__(self, text, zone):
        match = re.fullmatch(r"at\(\s*(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)\s*\)", text.strip(), re.IGNORECASE)
        if not match:
            raise WindowError("schedule", text, "is not an at expression: write at(YYYY-MM-DDThh:mm:ss)")
        try:
            wall = datetime.fromisoformat(match.group(1))
        except ValueError:
            raise WindowError("schedule", text, "names a date that does not exist")
        self.text, self.start = text, wall_to_instant(wall, zone)

    def starts_between(self, low, high):
        return [self.start] if low < self.start <= high else []

    def next_after(self, instant):
        return self.start if self.start > instant else None


class PatchTuesdaySchedule(object):
    """`patch_tuesday(+N HH:MM)`: N days (-30 to +30) from the second Tuesday of each month (Microsoft's
    Patch Tuesday), at HH:MM wall time in the window's time zone. The second Tuesday is taken in
    that time zone's calendar; a negative N opens the window before it (a pre-stage run)."""

    PATTERN = re.compile(r"patch_tuesday\(\s*([+-]?\s*\d{1,3})\s*(?:,\s*|\s+)(\d{1,2}):(\d{2})\s*\)", re.IGNORECASE)
    MAX_OFFSET = 30

    def __init__(self, text, zone):
        match = self.PATTERN.fullmatch(text.strip())
        if not match:
            raise WindowError("schedule", text, "is not a patch_tuesday expression: write patch_tuesday(+N HH:MM), N the "
                              "days from the second Tuesday of the month (-30 to +30), for example patch_tuesday(+8 03:00)")
        offset = int(match.group(1).replace(" ", ""))
        hour, minute = int(match.group(2)), int(match.group(3))
        if not -self.MAX_OFFSET <= offset <= self.MAX_OFFSET:
            raise WindowError("schedule", text, "has an offset of %+d days: it must be -30 to +30" % offset)
        if hour > 23 or minute > 59:
            raise WindowError("schedule", text, "has a start time %02d:%02d that is not a time of day (00:00 to 23:59)"
                              % (hour, minute))
        self.text, self.zone = text, zone
        self.offset, self.hour, self.minute = timedelta(days=offset), hour, minute

    @staticmethod
    def second_tuesday(year, month):
        first = date(year, month, 1)
        return first + timedelta(days=(1 - first.weekday()) % 7 + 7)

    def start_in(self, year, month):
        """The start instant of the window that belongs to the Patch Tuesday of year/month."""
        day = self.second_tuesday(year, month) + self.offset
        return wall_to_instant(datetime(day.year, day.month, day.day, self.hour, self.minute), self.zone)

    def _months_from(self, instant):
        # the month whose Patch Tuesday can open a window 30 days after `instant`'s date, and on
        local = instant.astimezone(self.zone).date() - timedelta(days=self.MAX_OFFSET + 2)
        year, month = local.year, local.month
        while year <= AWS_YEARS[1]:
            yield year, month
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    def starts_between(self, low, high):
        """Start instants s with low < s <= high."""
        last = high.astimezone(self.zone).date() + timedelta(days=self.MAX_OFFSET + 2)
        found = []
        for year, month in self._months_from(low):
            if (year, month) > (last.year, last.month):
                break
            start = self.start_in(year, month)
            if low < start <= high:
                found.append(start)
        return found

    def next_after(self, instant):
        for year, month in self._months_from(instant):
            start = self.start_in(year, month)
            if start > instant:
                return start
        return None


# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------

def parse_zone(name):
    if not isinstance(name, str) or not name:
        raise WindowError("timezone", name, "is not a time zone name: use an IANA name such as UTC, Europe/Berlin")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise WindowError("timezone", name, "is not a known IANA time zone (for example UTC, Europe/Berlin, "
                          "America/New_York)")


def parse_instant(value, zone, field):
    """An aware UTC datetime from ISO 8601 text or a datetime; without an offset it is wall time in `zone`."""
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip()
        if text[-1:] in ("z", "Z"):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise WindowError(field, value, "is not an ISO 8601 date and time, for example 2026-11-27T22:00:00+01:00 "
                              "(without an offset it is read in the window's time zone)")
    if not AWS_YEARS[0] <= moment.year <= AWS_YEARS[1]:
        raise WindowError(field, value, "is outside the years %d-%d that schedules cover" % AWS_YEARS)
    if moment.tzinfo is None:
        return wall_to_instant(moment, zone)
    return moment.astimezone(UTC)


def _whole(field, value, low, high, why):
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value).strip())
        except ValueError:
            raise WindowError(field, value, "is not a whole number: %s" % why)
    if not low <= value <= high:
        raise WindowError(field, value, "is out of range: %s" % why)
    return value


def parse_schedule(text, zone, offset_days=0, start=None):
    if not isinstance(text, str) or not text.strip():
        raise WindowError("schedule", text, "is empty: write cron(...), rate(...), at(...), patch_tuesday(+N HH:MM) or a "
                          "5-field cron expression")
    head = text.strip().split("(", 1)[0].strip().lower()
    if head == "patch_tuesday":
        schedule = PatchTuesdaySchedule(text, zone)
    elif head == "rate":
        schedule = RateSchedule(text, start)
    elif head == "at":
        schedule = AtSchedule(text, zone)
    elif head == "cron" or "(" not in text:
        return CronSchedule(text, zone, offset_days)
    else:
        raise WindowError("schedule", text, "is not cron(...), rate(...), at(...), patch_tuesday(+N HH:MM) or a 5-field "
                          "cron expression")
    if offset_days:
        raise WindowError("schedule_offset", offset_days, "only applies to cron schedules; set it to 0 with %s" % head)
    return schedule


# ---------------------------------------------------------------------------------------------
# The window
# ---------------------------------------------------------------------------------------------

def _iso(instant, zone):
    return None if instant is None else instant.astimezone(zone).isoformat()


class MaintenanceWindow(object):
    """A schedule with a time zone, a duration and a cutoff (hours), as an SSM maintenance window."""

    def __init__(self, schedule, timezone="UTC", duration=None, cutoff=0, schedule_offset=0, start_date=None,
                 end_date=None):
        self.zone = parse_zone(timezone)
        self.timezone = timezone
        if duration is None:
            raise WindowError("duration", None, "is required: the number of hours the window stays open, 1 to 24")
        self.duration_hours = _whole("duration", duration, 1, 24, "the window lasts 1 to 24 hours")
        self.cutoff_hours = _whole("cutoff", cutoff, 0, 23, "no new task starts in the last 0 to 23 hours of the window")
        if self.cutoff_hours >= self.duration_hours:
            raise WindowError("cutoff", cutoff, "must be less than duration (%d): it is the number of hours before "
                              "the end when no new task may start" % self.duration_hours)
        offset = _whole("schedule_offset", schedule_offset or 0, 0, 6, "the days after the cron date, 0 to 6")
        self.start_date = None if start_date in (None, "") else parse_instant(start_date, self.zone, "start_date")
        self.end_date = None if end_date in (None, "") else parse_instant(end_date, self.zone, "end_date")
        if self.start_date and self.end_date and self.end_date <= self.start_date:
            raise WindowError("end_date", end_date, "is not after start_date %r" % start_date)
        self.schedule = parse_schedule(schedule, self.zone, offset, self.start_date)
        self.duration = timedelta(hours=self.duration_hours)
        self.cutoff = timedelta(hours=self.cutoff_hours)

    def _valid(self, start):
        return (self.start_date is None or start >= self.start_date) and (self.end_date is None or start <= self.end_date)

    def current_start(self, at):
        """The start of the window `at` is in (the latest one when windows overlap), or None."""
        starts = [s for s in self.schedule.starts_between(at - self.duration, at) if self._valid(s) and at < s + self.duration]
        return starts[-1] if starts else None

    def next_start(self, at):
        """The first window start strictly after `at`, or None when the schedule has no more."""
        after = at
        if self.start_date is not None and self.start_date > at:
            after = self.start_date - timedelta(microseconds=1)
        start = self.schedule.next_after(after)
        return start if start is not None and self._valid(start) else None

    def state(self, at=None, force=False):
        """Everything a patch night needs to know about the window at instant `at` (default: now)."""
        at = datetime.now(UTC) if at is None else parse_instant(at, self.zone, "at")
        current, upcoming = self.current_start(at), self.next_start(at)
        cutoff_at = current + self.duration - self.cutoff if current else None
        before_cutoff = bool(current) and at < cutoff_at
        result = {
            "at": _iso(at, self.zone),
            "inside": current is not None,
            "before_cutoff": before_cutoff,
            "allowed_to_start": before_cutoff or bool(force),
            "forced": bool(force) and not before_cutoff,
            "window_start": _iso(current, self.zone),
            "window_end": _iso(current + self.duration if current else None, self.zone),
            "cutoff_at": _iso(cutoff_at, self.zone),
            "next_start": _iso(upcoming, self.zone),
            "next_end": _iso(upcoming + self.duration if upcoming else None, self.zone),
            "seconds_until_cutoff": max(0, int((cutoff_at - at).total_seconds())) if current else None,
            "seconds_until_end": int((current + self.duration - at).total_seconds()) if current else None,
            "seconds_until_next_start": int((upcoming - at).total_seconds()) if upcoming else None,
            "timezone": self.timezone,
        }
        result["reason"] = self._reason(result)
        return result

    @staticmethod
    def _reason(state):
        nxt = "the next window opens at %s" % state["next_start"] if state["next_start"] else "the schedule has no later window"
        if state["before_cutoff"]:
            return "inside the window %s to %s; new hosts may start until the cutoff at %s" % (
                state["window_start"], state["window_end"], state["cutoff_at"])
        if state["inside"]:
            reason = "inside the window %s to %s but past its cutoff at %s: no new host may start; %s" % (
                state["window_start"], state["window_end"], state["cutoff_at"], nxt)
        else:
            reason = "outside the maintenance window; %s" % nxt
        return "forced: " + reason + "; starting anyway because force is set" if state["forced"] else reason


def window_from_dict(spec):
    """A MaintenanceWindow from a mapping with the keys of WINDOW_KEYS (as in a policy or module options)."""
    if not isinstance(spec, dict):
        raise WindowError("window", spec, "is not a mapping with schedule, timezone, duration and cutoff")
    unknown = sorted(set(spec) - set(WINDOW_KEYS) - set(LABEL_KEYS))
    if unknown:
        raise WindowError("window", ", ".join(unknown), "names unknown key(s); allowed: %s" % ", ".join(WINDOW_KEYS + LABEL_KEYS))
    if not spec.get("schedule"):
        raise WindowError("schedule", spec.get("schedule"), "is required: cron(...), rate(...), at(...) or 5-field cron")
    kwargs = dict((k, v) for k, v in spec.items() if v is not None and k in WINDOW_KEYS)
    return MaintenanceWindow(**kwargs)


# The maintenance_window module's options (plain data: the module and the controller-side action
# plugin validate against the same spec).
ARGUMENT_SPEC = dict(
    schedule=dict(type="str", required=True),
    timezone=dict(type="str", default="UTC"),
    duration=dict(type="int", required=True),
    cutoff=dict(type="int", default=0),
    schedule_offset=dict(type="int", default=0),
    start_date=dict(type="str"),
    end_date=dict(type="str"),
    at=dict(type="str"),
    force=dict(type="bool", default=False),
)


def window_state(params):
    """The window's state for the module's parameters; raises WindowError on bad input."""
    spec = dict((key, params.get(key)) for key in ("schedule", "timezone", "duration", "cutoff", "schedule_offset",
                                                   "start_date", "end_date"))
    return window_from_dict(spec).state(params.get("at"), force=params.get("force"))


# ---------------------------------------------------------------------------------------------
# Each host in its own window: the effective window of a host and one decision per host
# ---------------------------------------------------------------------------------------------

WINDOW_VAR = "fleetpatch_maintenance_window"
TAG_VAR = "fleetpatch_window"
TAG_DEFAULTS_VAR = "fleetpatch_window_defaults"
TAG_NAME = "MaintenanceWindow"
TAG_OPTION_KEYS = ("timezone", "duration", "cutoff", "schedule_offset", "start_date", "end_date")
# what a tag value that gives only the schedule means (docs/maintenance_windows.md)
TAG_DEFAULTS = {"timezone": "UTC", "duration": 4, "cutoff": 1}


def window_from_tag(value, defaults=None):
    """The window mapping of a tag value: `SCHEDULE[; key=value ...]` (keys of TAG_OPTION_KEYS).

    `cron(0 3 ? * SUN *); timezone=Europe/Berlin; duration=3; cutoff=1`. What the tag leaves out
    comes from `defaults` (the fleetpatch_window_defaults variable), then from TAG_DEFAULTS.
    """
    if not isinstance(value, str) or not value.strip():
        raise WindowError("schedule", value, "is empty: the tag's value starts with cron(...), rate(...), at(...) or patch_tuesday(...)")
    spec = dict(TAG_DEFAULTS)
    if defaults:
        if not isinstance(defaults, dict):
            raise WindowError(TAG_DEFAULTS_VAR, defaults, "is not a mapping of %s" % ", ".join(TAG_OPTION_KEYS))
        unknown = sorted(set(defaults) - set(TAG_OPTION_KEYS))
        if unknown:
            raise WindowError(TAG_DEFAULTS_VAR, ", ".join(unknown), "names unknown key(s); allowed: %s" % ", ".join(TAG_OPTION_KEYS))
        spec.update((k, v) for k, v in defaults.items() if v is not None)
    parts = value.split(";")
    for part in parts[1:]:
        key, equals, option = (s.strip() for s in part.partition("="))
        if not part.strip():
            continue
        if not equals or key not in TAG_OPTION_KEYS or not option:
            raise WindowError("tag option", part.strip(), "is not key=value with a key of %s (separate options with ;)"
                              % ", ".join(TAG_OPTION_KEYS))
        spec[key] = option
    spec["schedule"] = parts[0].strip()
    return spec


def effective_window(host):
    """(source, field, value, spec) of a host's window: its variable, else its tag, else (None, ...)."""
    spec = host.get(WINDOW_VAR)
    if spec is not None:
        return "vars", WINDOW_VAR, spec, spec
    tag = host.get(TAG_VAR)
    if tag not in (None, ""):
        return "tag", TAG_VAR, tag, window_from_tag(tag, host.get(TAG_DEFAULTS_VAR))
    return None, None, None, None


def _spec_key(spec):
    if not isinstance(spec, dict):
        return repr(spec)
    return repr(sorted((str(k), str(v)) for k, v in spec.items()))


class _Windows(object):
    """Parses each distinct window once and judges it once per instant: linear in the hosts."""

    def __init__(self, at, force):
        self.at, self.force, self.cache = at, force, {}

    def state(self, spec):
        key = _spec_key(spec)
        if key not in self.cache:
            try:
                self.cache[key] = (window_from_dict(spec).state(self.at, force=self.force), None)
            except WindowError as exc:
                self.cache[key] = (None, exc)
        return self.cache[key]


def _no_window():
    return {"status": "none", "allowed_to_start": True, "forced": False, "source": "none",
            "applied": {"source": "none", "status": "none"},
            "reason": "no maintenance window set (%s or the %s tag): patched whenever the night runs" % (WINDOW_VAR, TAG_NAME)}


def _invalid(source, field, value, exc):
    if source == "tag":
        what = "the maintenance window tag %s (host variable %s) %r" % (TAG_NAME, field, value)
        fix = "fix the tag: SCHEDULE[; timezone=...; duration=H; cutoff=H], see docs/maintenance_windows.md"
    else:
        what = "the maintenance window in %s" % field
        fix = "fix the variable, see docs/maintenance_windows.md"
    return {"status": "invalid", "allowed_to_start": False, "forced": False, "source": source, "field": field,
            "value": value if isinstance(value, str) else None,
            "applied": {"source": source, "status": "invalid", "field": field},
            "reason": "%s is malformed: %s; %s" % (what, exc, fix)}


def host_decision(host, windows):
    """One host's window decision: status open | deferred | invalid | none, with the window's times."""
    try:
        source, field, value, spec = effective_window(host)
    except WindowError as exc:
        return _invalid("tag", TAG_VAR, host.get(TAG_VAR), exc)
    if source is None:
        return _no_window()
    state, error = windows.state(spec)
    if error is not None:
        return _invalid(source, field, value, error)
    decision = dict((k, state[k]) for k in ("allowed_to_start", "forced", "window_start", "window_end", "cutoff_at",
                                            "next_start", "next_end", "seconds_until_cutoff", "timezone"))
    decision.update(status="open" if state["allowed_to_start"] else "deferred", source=source, field=field,
                    window=spec, schedule=spec.get("schedule"),
                    reason=("deferred: " if not state["allowed_to_start"] else "") + state["reason"])
    if source == "tag":
        decision["value"] = value
    decision["applied"] = applied_window(decision)
    return decision


def applied_window(decision):
    """What the ledger records as the host's `window_applied` attribute: which window governed it.

    source (vars | tag | none), status (open | deferred | invalid | none), the schedule and time
    zone, and the open window's start, end and cutoff (None when it was not open; then next_start).
    """
    applied = {"source": decision["source"], "status": decision["status"], "field": decision.get("field"),
               "expression": decision.get("schedule"), "timezone": decision.get("timezone"),
               "start": decision.get("window_start"), "end": decision.get("window_end"),
               "cutoff_at": decision.get("cutoff_at")}
    if decision.get("forced"):
        applied["forced"] = True
    if decision["status"] == "deferred":
        applied["next_start"] = decision.get("next_start")
    return applied


def _instant(at):
    return datetime.now(UTC) if at in (None, "") else parse_instant(at, UTC, "at")


def plan_windows(hosts, at=None, force=False):
    """{host: decision} for every host (mappings with inventory_hostname), judged at one instant `at`."""
    windows = _Windows(_instant(at), bool(force))
    plan = {}
    for host in hosts:
        plan[host.get("inventory_hostname")] = host_decision(host, windows)
    return plan


def recheck_windows(names, plan, at=None, force=False):
    """Before a batch: each named host's window judged again now.

    Returns {hosts: {host: {allowed_to_start, reason, cutoff_at, next_start, seconds_until_cutoff}},
    seconds_until_cutoff: the least left among them (None when none has a window)}.
    """
    windows = _Windows(_instant(at), bool(force))
    out, least = {}, None
    for name in names:
        decision = (plan or {}).get(name) or {}
        if not decision.get("window"):
            continue
        state, error = windows.state(decision["window"])
        if error is not None:
            continue  # judged invalid at the start: the host never reaches a batch
        out[name] = dict((k, state[k]) for k in ("allowed_to_start", "reason", "window_start", "cutoff_at", "next_start",
                                                 "seconds_until_cutoff"))
        if state["allowed_to_start"] and state["seconds_until_cutoff"] is not None:
            least = state["seconds_until_cutoff"] if least is None else min(least, state["seconds_until_cutoff"])
    return {"hosts": out, "seconds_until_cutoff": least}
