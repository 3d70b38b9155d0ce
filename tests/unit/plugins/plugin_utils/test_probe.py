"""When an action runs a light probe rather than its module, and with which Python."""

from types import SimpleNamespace

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.plugin_utils import probe


def action(shell_family="sh", pipelining=True):
    connection = SimpleNamespace(_shell=SimpleNamespace(SHELL_FAMILY=shell_family))
    if pipelining is not None:  # None: a connection plugin without is_pipelining_enabled
        connection.is_pipelining_enabled = lambda: pipelining
    return SimpleNamespace(_connection=connection, _templar=SimpleNamespace(template=lambda value: value))


@pytest.mark.parametrize("shell_family, pipelining, expected", [
    ("sh", True, True),
    ("sh", False, False),          # pipelining off (the ansible default): the module runs
    ("powershell", True, False),   # Windows: the module runs
    ("sh", None, False),           # an unusual connection plugin: the module runs
])
def test_can_probe(shell_family, pipelining, expected):
    assert probe.can_probe(action(shell_family, pipelining)) is expected


@pytest.mark.parametrize("task_vars, expected", [
    ({}, None),
    ({"ansible_python_interpreter": "auto_silent"}, None),
    ({"ansible_python_interpreter": "/usr/bin/python3.11"}, "/usr/bin/python3.11"),
    ({"ansible_python_interpreter": "/usr/bin/env python3"}, None),  # a command line, not a path: take the first found
    ({"ansible_python_interpreter": "auto", "ansible_facts": {"discovered_interpreter_python": "/usr/bin/python3"}},
     "/usr/bin/python3"),
    ({"ansible_facts": {"discovered_interpreter_python": "/usr/libexec/platform-python"}}, "/usr/libexec/platform-python"),
    ({"ansible_python_interpreter": "/opt/py/bin/python3",
      "ansible_facts": {"discovered_interpreter_python": "/usr/bin/python3"}}, "/opt/py/bin/python3"),
])
def test_interpreter(task_vars, expected):
    assert probe.interpreter(action(), task_vars) == expected
