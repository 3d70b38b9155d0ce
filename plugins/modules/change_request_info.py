#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: change_request_info
short_description: List or read the change requests of patch nights (local ledger, ServiceNow, Jira)
version_added: 0.1.0
description:
  - Reads one change by O(number), by O(correlation_id) (or O(run_id) and O(patch_group)), or lists the changes of
    a run (O(run_id)) or all changes raised by fleetpatch, optionally in one O(state).
  - Never writes; with O(backend=local) a missing ledger gives an empty list.
  - Takes the same connection options as M(fleetpatch.hybrid.change_request).
author:
  - fleetpatch.hybrid developers (@fleetpatch)
options:
  number:
    description: Read this change; it must exist.
    type: str
  correlation_id:
    description: Read the change raised for this correlation id (an empty list when there is none).
    type: str
  run_id:
    description: List the changes of this run; with O(patch_group), read that group's change.
    type: str
  patch_group:
    description: With O(run_id), the patch group whose change to read.
    type: str
  state:
    description: Only changes in this state, when listing.
    type: str
    choices: [new, assess, authorize, scheduled, implement, review, closed, canceled]
  limit:
    description: At most this many changes when listing.
    type: int
    default: 100
extends_documentation_fragment:
  - fleetpatch.hybrid.change_request
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: all
"""

EXAMPLES = r"""
- name: The changes of a run
  fleetpatch.hybrid.change_request_info:
    ledger_path: out/ledger.db
    run_id: "{{ fleetpatch_run_id }}"
  register: crs

- name: One change in ServiceNow
  fleetpatch.hybrid.change_request_info:
    backend: servicenow
    number: CHG0030001
"""

RETURN = r"""
change_requests:
  description: The changes found, each as M(fleetpatch.hybrid.change_request) returns it.
  returned: always
  type: list
  elements: dict
  sample:
    - backend: local
      number: CHG0001001
      state: closed
      correlation_id: "fleetpatch:run-20261129T020000Z:web-prod"
      hosts: [web-prod-1]
      close_code: successful
      host_outcomes: {web-prod-1: patched}
      work_notes: [{created_at: "2026-11-29T02:30:00+00:00", text: "patched: web-prod-1"}]
"""

import sqlite3

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.change_request import info, make_backend
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_args import INFO_SPEC
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_errors import CRError


def run(module, backend):
    return info(backend, module.params)


def main():
    module = AnsibleModule(argument_spec=INFO_SPEC, supports_check_mode=True, required_by={"patch_group": "run_id"})
    backend = None
    try:
        backend = make_backend(module.params, check_mode=True)
        records = run(module, backend)
    except CRError as exc:
        module.fail_json(**exc.fail_kwargs())
    except sqlite3.Error as exc:
        module.fail_json(msg="change_request_info: the ledger %s cannot be read: %s" % (module.params["ledger_path"], exc))
    finally:
        if backend is not None:
            backend.close()
    module.exit_json(changed=False, change_requests=records)


if __name__ == "__main__":
    main()
