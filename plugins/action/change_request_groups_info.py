# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The change requests a run needs, grouped from its ledger (documented in plugins/modules/change_request_groups_info.py)."""

from __future__ import annotations

import os
import sqlite3

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.fleet_plan import LEDGER_PHASES, PlanError, ledger_change_request_groups
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ledger import Ledger, LedgerError
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.redact import excerpt


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(("path", "run_id"))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=dict(
            path=dict(type="path", required=True),
            run_id=dict(type="str", required=True),
        ))
        if not os.path.exists(args["path"]):
            raise AnsibleActionFail("change_request_groups_info: no ledger at %s (path); the night opens it first" % args["path"])
        try:
            # read only; start_run checked the file when the night opened
            with Ledger(args["path"], check=False) as ledger:
                ledger.run(args["run_id"])
                hosts = ledger.hosts(args["run_id"], phases=LEDGER_PHASES, changes=False)
            groups = ledger_change_request_groups(hosts)
        except (LedgerError, PlanError) as exc:
            raise AnsibleActionFail("change_request_groups_info: %s" % exc)
        except sqlite3.Error as exc:
            raise AnsibleActionFail("change_request_groups_info: the ledger %s cannot be read (%s): it may be damaged"
                                    % (args["path"], excerpt(str(exc), 300)))
        result.update(changed=False, groups=groups)
        return result
