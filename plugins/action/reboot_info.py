# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""reboot_info (documented in plugins/modules/reboot_info.py).

The signals are read with one shell probe on the host (module_utils/probe.py: ~0.05 s instead of
a ~0.35 s module run) and judged on the controller by the same functions the module uses. A
connection that cannot take a script on stdin (no pipelining, a Windows shell) runs the module.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import reboot as rebootlib
from ansible_collections.fleetpatch.hybrid.plugins.plugin_utils import probe
from ansible_collections.fleetpatch.hybrid.plugins.plugin_utils.action import args_or_module


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = args_or_module(self, result, task_vars, "fleetpatch.hybrid.reboot_info", rebootlib.ARGUMENT_SPEC,
                              probe.can_probe(self))
        if args is None:
            return result
        rc, sections, stderr = probe.run_shell(self, rebootlib.PROBE_SECTIONS)
        try:
            result.update(changed=False, **rebootlib.from_probe(sections, args["policy"], args["patched"]))
        except ValueError as exc:
            result.update(failed=True, rc=rc, msg="%s (exit code %s): %s" % (exc, rc, (stderr or "").strip()[-300:]))
        return result
