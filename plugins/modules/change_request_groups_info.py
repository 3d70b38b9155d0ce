#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This module runs on the controller as an action plugin (plugins/action/change_request_groups_info.py).

from __future__ import annotations

DOCUMENTATION = r"""
---
module: change_request_groups_info
short_description: The change requests a patch night needs, one per patch group, from the run ledger
version_added: 0.1.0
description:
  - Reads the run's hosts from the ledger and groups the ones that got through approval (in this
    attempt or an earlier one) with approved patches into one change request per patch group -
    its hosts, owners, patches (each with its CVEs and advisories), CVEs and the span of the
    windows its hosts were judged in (their C(window_applied) record).
  - The same grouping as the P(fleetpatch.hybrid.change_request_groups#filter) filter, without
    reading the variables of every host - one query of the ledger, so its cost on the controller
    stays small at 10,000 hosts (docs/scale.md).
  - A host outside its maintenance window never reaches approval, so a patch group with no host
    in its window gets no change request.
  - Runs on the controller; changes nothing.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
options:
  path:
    description: The ledger file.
    type: path
    required: true
  run_id:
    description: The run whose hosts are grouped.
    type: str
    required: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - fleetpatch.hybrid.controller_action
"""

EXAMPLES = r"""
- name: Group the hosts with approved patches, in their window, by patch group
  fleetpatch.hybrid.change_request_groups_info:
    path: out/ledger.db
    run_id: "{{ fleetpatch_run_id }}"
  register: cr_plan

- name: Open one change request per patch group
  ansible.builtin.include_role:
    name: fleetpatch.hybrid.change_request
    tasks_from: open
  vars:
    change_request_groups: "{{ cr_plan.groups }}"
"""

RETURN = r"""
groups:
  description:
    - One entry per patch group with at least one approved host, sorted by name.
    - The change_request role's C(change_request_groups).
  returned: always
  type: list
  elements: dict
  sample:
    - name: web-prod
      hosts: [web-prod-1, web-prod-2]
      owners: [web-team@example.com]
      patches:
        - {name: openssl, version: 3.0.16-1~deb12u1, cves: [CVE-2024-12797], advisories: [DSA-5868-1]}
      cves: [CVE-2024-12797]
      window: {start: "2026-12-06T02:00:00+00:00", end: "2026-12-06T06:00:00+00:00", expression: "cron(0 2 ? * SUN *)", timezone: UTC}
"""
