# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: awx_rrule
short_description: An AWX schedule (RRULE) that starts a patch night when a maintenance window opens
version_added: 0.1.0
description:
  - From a patch group's maintenance window (SSM C(cron(...)) or 5-field cron, IANA time zone), the
    C(rrule) of C(awx.awx.schedule) (C(DTSTART;TZID=... RRULE:...)), its first start the window's next start.
  - A window an RRULE cannot express (C(L), C(W), C(#), C(rate()), C(at()), a year list, a schedule offset)
    is an error naming the patch group and asking for an explicit rrule.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
options:
  _input:
    description: The window's schedule, such as C(cron(0 3 ? * SUN *)).
    type: str
    required: true
  name:
    description: The patch group, named in errors.
    type: str
    required: true
  timezone:
    description: The window's IANA time zone.
    type: str
    default: UTC
  schedule_offset:
    description: SSM's schedule offset in days (only 0 has an RRULE form).
    type: int
    default: 0
"""

EXAMPLES = r"""
- name: A schedule per patch group
  awx.awx.schedule:
    name: "Patch night {{ item.name }}"
    unified_job_template: Patch night
    rrule: "{{ item.window | fleetpatch.hybrid.awx_rrule(item.name, item.timezone | default('UTC')) }}"
  loop: "{{ patch_groups }}"
"""

RETURN = r"""
_value:
  description: The rrule.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.awx_schedule import ScheduleError, window_rrule


def _awx_rrule(schedule, name, timezone="UTC", schedule_offset=0):
    try:
        return window_rrule(name, schedule, timezone or "UTC", int(schedule_offset or 0))
    except ScheduleError as exc:
        raise AnsibleFilterError("awx_rrule: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"awx_rrule": _awx_rrule}
