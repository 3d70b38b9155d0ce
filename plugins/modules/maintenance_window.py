#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: maintenance_window
short_description: Whether a maintenance window is open, when it ends, its cutoff and the next one
version_added: 0.1.0
description:
  - Evaluates a maintenance window defined as AWS Systems Manager defines one (a schedule, a
    time zone, a duration and a cutoff in hours) at an instant, by default now.
  - Says whether the instant is inside a window, when that window started and ends, the cutoff
    after which no new host may start, and when the next window opens and ends.
  - Reads nothing but the clock and changes nothing; it can run on the controller or on any host.
  - A wall-clock start that does not exist on a daylight saving day (clocks go forward) opens the
    window when the clocks jump; one that occurs twice (clocks go back) opens it once, at the first
    occurrence. Durations and cutoffs are elapsed hours.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
requirements:
  - Python 3.9 or newer (zoneinfo) and the system time zone database (tzdata).
options:
  schedule:
    description:
      - V(cron(minutes hours day-of-month month day-of-week year\)) as SSM writes it (one of the day
        fields must be V(?); C(L), C(W), C(#), names such as C(SUN) and C(JAN), ranges, steps, lists).
      - V(rate(N minutes\)), V(rate(N hours\)) or V(rate(N days\)), repeating from O(start_date).
      - V(at(YYYY-MM-DDThh:mm:ss\)) for one window.
      - A plain 5-field cron expression (V(minutes hours day-of-month month day-of-week), Sunday 0 or 7).
      - V(patch_tuesday(+N HH:MM\)) - N days (-30 to +30) from the second Tuesday of each month
        (Microsoft's Patch Tuesday, in O(timezone)'s calendar) at HH:MM in O(timezone), for example
        V(patch_tuesday(+1 02:00\)) for Dev and V(patch_tuesday(+8 03:00\)) for Prod.
    type: str
    required: true
  timezone:
    description: IANA time zone the schedule's wall-clock times are in (SSM's ScheduleTimezone).
    type: str
    default: UTC
  duration:
    description: Hours each window stays open, 1 to 24.
    type: int
    required: true
  cutoff:
    description: Hours before the end of a window when no new host may start, 0 to O(duration) - 1.
    type: int
    default: 0
  schedule_offset:
    description: Days after the cron date that the window opens, 0 to 6 (SSM's ScheduleOffset), for example
      two days after the second Tuesday with V(cron(0 2 ? * TUE#2 *\)).
    type: int
    default: 0
  start_date:
    description:
      - ISO 8601 instant before which no window opens (SSM's StartDate). Required with V(rate(...\)),
        whose windows repeat from it.
      - Without a UTC offset it is read in O(timezone).
    type: str
  end_date:
    description: ISO 8601 instant after which no window opens (SSM's EndDate). Without a UTC offset it is read in O(timezone).
    type: str
  at:
    description: The ISO 8601 instant to evaluate, for example V(2026-11-27T23:30:00+01:00); now when omitted.
      Without a UTC offset it is read in O(timezone).
    type: str
  force:
    description: Report RV(allowed_to_start) true even outside the window or past its cutoff; the other values do not change.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: It only reads the clock, so check mode returns the same answer.
  diff_mode:
    support: none
  platform:
    platforms: all
seealso:
  - name: Maintenance window scheduling and active period options
    description: How SSM combines schedule, time zone, start and end dates.
    link: https://docs.aws.amazon.com/systems-manager/latest/userguide/maintenance-windows-schedule-options.html
notes:
  - A window is open from its start (included) to its end (excluded); new hosts may start from its
    start to RV(cutoff_at) (excluded), which is O(cutoff) hours before the end. When windows overlap,
    the latest one that has started is reported.
"""

EXAMPLES = r"""
- name: Is the Saturday night window of the web servers open?
  fleetpatch.hybrid.maintenance_window:
    schedule: cron(0 22 ? * SAT *)
    timezone: Europe/Berlin
    duration: 4
    cutoff: 1
  register: window

- name: Refuse to start outside the window unless forced
  ansible.builtin.fail:
    msg: "{{ window.reason }}"
  when: not window.allowed_to_start

- name: Two days after Patch Tuesday, 02:00 New York time
  fleetpatch.hybrid.maintenance_window:
    schedule: cron(0 2 ? * TUE#2 *)
    schedule_offset: 2
    timezone: America/New_York
    duration: 6
    cutoff: 2
    at: "2026-11-12T03:00:00-05:00"
  register: thursday

- name: Every 8 hours from a start date, evaluated now, started anyway when forced
  fleetpatch.hybrid.maintenance_window:
    schedule: rate(8 hours)
    start_date: "2026-01-01T00:00:00Z"
    duration: 2
    force: "{{ fleetpatch_force | default(false) | bool }}"
  register: window
"""

RETURN = r"""
at:
  description: The instant evaluated, in O(timezone).
  returned: always
  type: str
  sample: "2026-11-27T23:30:00+01:00"
inside:
  description: Whether RV(at) is inside a window.
  returned: always
  type: bool
  sample: true
before_cutoff:
  description: Whether RV(at) is inside a window and before its cutoff.
  returned: always
  type: bool
  sample: true
allowed_to_start:
  description: Whether a new host may start now (inside and before the cutoff), or O(force) is set.
  returned: always
  type: bool
  sample: true
forced:
  description: Whether RV(allowed_to_start) is true only because O(force) is set.
  returned: always
  type: bool
  sample: false
window_start:
  description: When the current window opened, in O(timezone); null outside a window.
  returned: always
  type: str
  sample: "2026-11-27T22:00:00+01:00"
window_end:
  description: When the current window closes; null outside a window.
  returned: always
  type: str
  sample: "2026-11-28T02:00:00+01:00"
cutoff_at:
  description: The instant after which no new host may start in the current window; null outside a window.
  returned: always
  type: str
  sample: "2026-11-28T01:00:00+01:00"
next_start:
  description: When the next window opens (strictly after RV(at)); null when the schedule has no later window.
  returned: always
  type: str
  sample: "2026-12-04T22:00:00+01:00"
next_end:
  description: When the next window closes; null when there is no next window.
  returned: always
  type: str
  sample: "2026-12-05T02:00:00+01:00"
seconds_until_cutoff:
  description: Whole seconds from RV(at) to RV(cutoff_at), 0 past the cutoff; null outside a window.
  returned: always
  type: int
  sample: 5400
seconds_until_end:
  description: Whole seconds from RV(at) to RV(window_end); null outside a window.
  returned: always
  type: int
  sample: 9000
seconds_until_next_start:
  description: Whole seconds from RV(at) to RV(next_start); null when there is no next window.
  returned: always
  type: int
  sample: 599400
timezone:
  description: The time zone the instants are given in.
  returned: always
  type: str
  sample: Europe/Berlin
reason:
  description: One sentence an operator can read, with the times that matter.
  returned: always
  type: str
  sample: "inside the window 2026-11-27T22:00:00+01:00 to 2026-11-28T02:00:00+01:00; new hosts may start until the cutoff at
    2026-11-28T01:00:00+01:00"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.maintenance_window import ARGUMENT_SPEC, WindowError, window_state


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        state = window_state(module.params)
    except WindowError as exc:
        module.fail_json(msg="maintenance window %s" % exc, field=exc.field)
    module.exit_json(changed=False, **state)


if __name__ == "__main__":
    main()
