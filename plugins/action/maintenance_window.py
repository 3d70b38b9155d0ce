# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""maintenance_window (documented in plugins/modules/maintenance_window.py).

On the controller (a local connection, as patch_night.yml runs it) the window is judged in the
controller's process against its clock: no Python start per check. On any other host the module
itself runs there, against that host's clock, as before.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.maintenance_window import ARGUMENT_SPEC, WindowError, window_state
from ansible_collections.fleetpatch.hybrid.plugins.plugin_utils.action import args_or_module


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = args_or_module(self, result, task_vars, "fleetpatch.hybrid.maintenance_window", ARGUMENT_SPEC,
                              getattr(self._connection, "transport", None) == "local")
        if args is None:
            return result
        try:
            state = window_state(args)
        except WindowError as exc:
            result.update(failed=True, msg="maintenance window %s" % exc, field=exc.field)
            return result
        result.update(changed=False, **state)
        return result
