# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: notify_plan
short_description: The patch notices to send now, one per patch group
version_added: 0.1.0
description:
  - With O(kind=impending), the groups whose maintenance window starts in (O(hours_before) - O(interval_minutes),
    O(hours_before)] from O(now), so a notify playbook scheduled every O(interval_minutes) sends each notice once.
  - With O(kind=result), one entry per patch group of a report.json (the input), with each host's outcome, the
    counts, the close code they give (all patched or compliant - successful, some failed - successful_issues,
    all failed - unsuccessful) and the CVEs closed and still open.
  - Returns C(due) (the facts each notice template gets as C(notify_group)) and C(skipped) (name and reason).
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: kind, now, hours_before, interval_minutes, force, groups, change_requests, records
options:
  _input:
    description: The patch groups (impending) or report.json's content (result).
    type: raw
    required: true
  kind:
    description: Which notice.
    type: str
    choices: [impending, result]
    required: true
  now:
    description: The time windows are compared with (ISO 8601); now when empty.
    type: str
  hours_before:
    description: Hours before the window an impending notice goes (a group's C(hours_before) wins).
    type: float
    default: 24
  interval_minutes:
    description: How often the notify playbook runs.
    type: float
    default: 60
  force:
    description: Send impending notices for every group with a window, due or not.
    type: bool
    default: false
  groups:
    description: With O(kind=result), the patch groups (owners, channels) the report's groups are matched with.
    type: list
    elements: dict
  change_requests:
    description: Patch group -> change number, or the change_request role's C(change_request_opened).
    type: dict
  records:
    description: Change records from M(fleetpatch.hybrid.change_request_info) (their C(patch_group) and C(number)).
    type: list
    elements: dict
"""

EXAMPLES = r"""
- name: The groups to tell 24 hours ahead
  ansible.builtin.set_fact:
    plan: "{{ groups | fleetpatch.hybrid.notify_plan('impending', hours_before=24) }}"
"""

RETURN = r"""
_value:
  description: C(due), the groups to tell with their facts, and C(skipped), the others with the reason.
  type: dict
"""

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import notify  # noqa: E402
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_errors import CRError  # noqa: E402


def notify_plan(data, kind, now=None, hours_before=24, interval_minutes=60, force=False, groups=None, change_requests=None,
                records=None):
    try:
        if kind == "result":
            return notify.plan(kind, groups=groups, report=data, change_requests=change_requests, records=records)
        return notify.plan(kind, groups=data, now=now or None, hours_before=float(hours_before),
                           interval_minutes=float(interval_minutes), force=bool(force), change_requests=change_requests,
                           records=records)
    except CRError as exc:
        raise AnsibleFilterError("notify_plan: %s" % exc.message)


class FilterModule(object):
    def filters(self):
        return {"notify_plan": notify_plan}
