# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: notify_payload
short_description: What a notification channel sends for a rendered notice
version_added: 0.1.0
description:
  - The input is a rendered notice template whose first line is the subject and the rest the body.
  - V(email) gives C(subject) and C(body); V(sns) C(subject) (at most 100 printable ASCII characters) and
    C(message); V(slack) an incoming-webhook message (text and header/section blocks); V(teams) a message
    carrying an Adaptive Card with the group's facts.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: channel, group
options:
  _input:
    description: The rendered notice.
    type: str
    required: true
  channel:
    description: The channel.
    type: str
    choices: [email, sns, slack, teams]
    required: true
  group:
    description: The notice's group facts (from P(fleetpatch.hybrid.notify_plan#filter)), shown on a Teams card.
    type: dict
"""

EXAMPLES = r"""
- name: Post to Slack
  ansible.builtin.uri:
    url: "{{ slack_webhook_url }}"
    method: POST
    body_format: json
    body: "{{ rendered | fleetpatch.hybrid.notify_payload('slack') }}"
  no_log: true
"""

RETURN = r"""
_value:
  description: The channel's payload.
  type: dict
"""

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import notify  # noqa: E402
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_errors import CRError  # noqa: E402


def notify_payload(rendered, channel, group=None):
    try:
        return notify.payload(rendered, channel, group)
    except CRError as exc:
        raise AnsibleFilterError("notify_payload: %s" % exc.message)


class FilterModule(object):
    def filters(self):
        return {"notify_payload": notify_payload}
