# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of the action plugins that do their module's work themselves when they can."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail


def args_or_module(action, result, task_vars, module_name, argument_spec, itself, **validation):
    """The validated args when the action does the work `itself`; None when `result` is already
    final: the module ran instead (not `itself`), or the args were refused. `validation` takes the
    rest of validate_argument_spec's arguments (required_one_of, ...)."""
    if not itself:
        result.update(action._execute_module(module_name=module_name, task_vars=task_vars))
        return None
    try:
        dummy, args = action.validate_argument_spec(argument_spec=argument_spec, **validation)
    except AnsibleActionFail as exc:  # returned, not raised: failed_when and ignore_errors apply as to a module
        result.update(failed=True, msg=exc.message)
        return None
    return args
