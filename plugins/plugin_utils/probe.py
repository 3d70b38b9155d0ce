# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of the light probes (module_utils/probe.py): run one on a task's connection."""

from __future__ import annotations

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import probe as probelib

# the interpreter settings that mean "find one" rather than name one
_DISCOVERY = ("auto", "auto_legacy", "auto_silent", "auto_legacy_silent")


def can_probe(action):
    """Whether the probe can ride on the connection: pipelining on (a script on stdin, as modules are
    sent then) and a POSIX shell. Otherwise the module runs, as it would anyway."""
    connection = action._connection
    if getattr(connection._shell, "SHELL_FAMILY", "sh") != "sh":
        return False
    enabled = getattr(connection, "is_pipelining_enabled", None)
    return bool(enabled and enabled())


def run_shell(action, sections):
    """{name: (rc, text)} from running probelib.shell_script(sections) on the host, as the task's become user."""
    result = action._low_level_execute_command("/bin/sh", in_data=probelib.shell_script(sections), sudoable=True)
    return result.get("rc"), probelib.parse_sections(result.get("stdout", "")), result.get("stderr", "")


def interpreter(action, task_vars):
    """The Python the inventory names for the host, or None to take the first found."""
    value = (task_vars or {}).get("ansible_python_interpreter")
    if value:
        value = str(action._templar.template(value)).strip()
        if value not in _DISCOVERY and " " not in value:  # not discovery, nor a command line ("/usr/bin/env python3")
            return value
    discovered = ((task_vars or {}).get("ansible_facts") or {}).get("discovered_interpreter_python")
    return str(discovered) if discovered else None


def run_python(action, task_vars, modules, call, args):
    """(answer dict or None, rc, stderr) from running probelib.python_program() on the host."""
    result = action._low_level_execute_command(probelib.python_command(interpreter(action, task_vars)),
                                               in_data=probelib.python_program(modules, call, args), sudoable=True)
    return probelib.parse_python_answer(result.get("stdout", "")), result.get("rc"), result.get("stderr", "")
