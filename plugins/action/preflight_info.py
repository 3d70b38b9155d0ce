# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""preflight_info (documented in plugins/modules/preflight_info.py).

The checks run on the host as one light probe (module_utils/probe.py): the stdlib-only
module_utils/preflight.py and osinfo.py sent to the host's Python on stdin, ~0.1 s instead of a
~0.4 s module run, with the same functions and the same answer. It is still the connection and
Python check: a host that does not answer is unreachable, one without Python fails. A connection
that cannot take a script on stdin (no pipelining, a Windows shell) runs the module.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import osinfo, preflight
from ansible_collections.fleetpatch.hybrid.plugins.plugin_utils import probe
from ansible_collections.fleetpatch.hybrid.plugins.plugin_utils.action import args_or_module

_SOURCES = []


def sources():
    if not _SOURCES:
        for name, module in (("osinfo", osinfo), ("preflight", preflight)):
            with open(module.__file__) as handle:
                _SOURCES.append((name, handle.read()))
    return _SOURCES


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = args_or_module(self, result, task_vars, "fleetpatch.hybrid.preflight_info", preflight.ARGUMENT_SPEC,
                              probe.can_probe(self))
        if args is None:
            return result
        try:
            preflight.parse_service_specs(args["agent_services"])
        except ValueError as exc:
            result.update(failed=True, msg=str(exc))
            return result
        answer, rc, stderr = probe.run_python(self, task_vars, sources(), "preflight.probe", args)
        if answer is None:
            result.update(failed=True, rc=rc, msg="preflight checks did not run on the host (exit code %s): %s"
                          % (rc, (stderr or "no output").strip()[-500:]))
            return result
        result.update(answer)
        return result
