# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""change_request (documented in plugins/modules/change_request.py).

With the local backend (the change lives in the run ledger, a file on the controller) the change is
made here, in the controller's process: no Python start and module transfer for each patch group
and phase. ServiceNow and Jira, and any task with an `environment`, run the module itself where the
task is delegated, exactly as before.
"""

from __future__ import annotations

import sqlite3

from ansible.plugins.action import ActionBase

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.change_request import apply
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_args import CHANGE_REQUEST_REQUIRED_ONE_OF, CHANGE_REQUEST_SPEC
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_errors import CRError
from ansible_collections.fleetpatch.hybrid.plugins.plugin_utils.action import args_or_module


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        itself = (self._task.args.get("backend") or "local") == "local" and not any(self._task.environment or [])
        args = args_or_module(self, result, task_vars, "fleetpatch.hybrid.change_request", CHANGE_REQUEST_SPEC, itself,
                              required_one_of=CHANGE_REQUEST_REQUIRED_ONE_OF)
        if args is None:
            return result
        # failures are returned, not raised, so that failed_when and ignore_errors apply as to a module
        try:
            output, warnings = apply(args, check_mode=bool(self._task.check_mode), want_diff=bool(self._task.diff))
        except CRError as exc:
            result.update(failed=True, **exc.fail_kwargs())
            return result
        except sqlite3.Error as exc:
            result.update(failed=True, msg="change_request: the ledger %s cannot be used: %s" % (args["ledger_path"], exc))
            return result
        result.update(output)
        if warnings:
            result["warnings"] = warnings
        return result
