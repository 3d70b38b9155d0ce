# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: notify_webhook_url
short_description: A patch group's Slack or Teams webhook URL, else the default one
version_added: 0.1.0
description:
  - Looks the group up by name in the notify groups and returns its C(slack_webhook_url) or C(teams_webhook_url),
    else O(default).
  - The notify plan only says that a group has its own webhook (C(slack_webhook), C(teams_webhook)), so the URL,
    a secret, is in no fact; use this filter only in a task with C(no_log).
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: name, channel, default
options:
  _input:
    description: The notify groups (C(notify_groups)).
    type: list
    elements: dict
    required: true
  name:
    description: The patch group.
    type: str
    required: true
  channel:
    description: The channel.
    type: str
    choices: [slack, teams]
    required: true
  default:
    description: The URL when the group has none of its own.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Post to Slack
  ansible.builtin.uri:
    url: "{{ notify_groups | fleetpatch.hybrid.notify_webhook_url(notice.group.name, 'slack', notify_slack_webhook_url) }}"
    method: POST
    body_format: json
    body: "{{ notice.text | fleetpatch.hybrid.notify_payload('slack') }}"
  no_log: true
"""

RETURN = r"""
_value:
  description: The webhook URL, or an empty string.
  type: str
"""

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import notify  # noqa: E402
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_errors import CRError  # noqa: E402


def notify_webhook_url(groups, name, channel, default=""):
    try:
        return notify.webhook_url(groups, name, channel, default)
    except CRError as exc:
        raise AnsibleFilterError("notify_webhook_url: %s" % exc.message)


class FilterModule(object):
    def filters(self):
        return {"notify_webhook_url": notify_webhook_url}
