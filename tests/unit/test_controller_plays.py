"""Every playbook's controller steps run under a plain --limit (AWX's Limit field).

A `hosts: localhost` play is skipped by `--limit PATTERN` when the pattern does not name localhost. So
a play of controller steps targets the pattern of filter fleetpatch.hybrid.controller_hosts
(localhost without a limit, localhost and the targeted hosts under one), runs each step once, and
runs on localhost every step that executes something. The night under a plain limit runs for real in
tests/integration/test_awx_runner.py; this test keeps every play of every playbook in that shape.
"""

import glob
import os

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOKS = sorted(glob.glob(os.path.join(ROOT, "playbooks", "*.yml")))
CONTROLLER = "{{ fleetpatch_targets | default('all') | fleetpatch.hybrid.controller_hosts(ansible_limit | default(none)) }}"
# steps that run on the controller whatever host they run for
IN_PROCESS = {"ansible.builtin.set_fact", "ansible.builtin.debug", "ansible.builtin.assert", "ansible.builtin.meta",
              "ansible.builtin.set_stats", "ansible.builtin.fail"}
# configures an AWX server from the patch groups' variables: it targets no host, so no limit applies to it
NOT_A_NIGHT = {"awx_configure.yml"}
KEYWORDS = {"name", "when", "vars", "register", "loop", "loop_control", "delegate_to", "delegate_facts", "run_once",
            "check_mode", "changed_when", "failed_when", "ignore_errors", "ignore_unreachable", "no_log", "tags",
            "args", "become", "environment", "until", "retries", "delay", "notify", "block", "rescue", "always"}


def plays():
    for path in PLAYBOOKS:
        with open(path) as handle:
            for play in yaml.safe_load(handle) or []:
                if "hosts" in play:
                    yield os.path.basename(path), play


def steps(play):
    for section in ("pre_tasks", "tasks", "post_tasks"):
        stack = list(play.get(section) or [])
        while stack:
            task = stack.pop(0)
            if "block" in task:
                stack = list(task["block"]) + list(task.get("rescue") or []) + list(task.get("always") or []) + stack
                continue
            yield task


def action(task):
    return next(key for key in task if key not in KEYWORDS)


def test_no_play_is_localhost_alone():
    found = [(name, play["name"]) for name, play in plays()
             if str(play["hosts"]).strip() in ("localhost", "127.0.0.1") and name not in NOT_A_NIGHT]
    assert not found, "use hosts: \"%s\" with run_once (docs/awx.md): %s" % (CONTROLLER, found)


@pytest.mark.parametrize("name,play", [(n, p) for n, p in plays() if "controller_hosts" in str(p["hosts"])],
                         ids=lambda value: value if isinstance(value, str) else value["name"])
def test_a_controller_play_runs_each_step_once_on_localhost(name, play):
    assert play["hosts"] == CONTROLLER
    assert play.get("run_once") is True
    assert "roles" not in play, "play roles cannot be delegated: include_role with apply: {delegate_to: localhost}"
    for task in steps(play):
        module = action(task)
        if module in IN_PROCESS:
            continue
        if module in ("ansible.builtin.include_role", "ansible.builtin.include_tasks"):
            assert (task[module].get("apply") or {}).get("delegate_to") == "localhost", task["name"]
        else:
            assert task.get("delegate_to"), task["name"]


def test_the_check_finds_a_step_left_on_the_targeted_host():
    play = {"hosts": CONTROLLER, "run_once": True,
            "tasks": [{"name": "Write", "ansible.builtin.copy": {"dest": "x", "content": "y"}}]}
    with pytest.raises(AssertionError, match="Write"):
        test_a_controller_play_runs_each_step_once_on_localhost("x.yml", play)
