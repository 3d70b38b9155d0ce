# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: fleet_linear
short_description: The linear strategy, without ansible-core's walks over every host of the play per queued host
version_added: 0.1.0
author:
  - fleetpatch.hybrid developers (@fleetpatch)
description:
  - "Runs a play exactly as C(ansible.builtin.linear) does (task by task, all hosts of the batch in lockstep; C(serial),
    C(max_fail_percentage), C(run_once), handlers, includes and the task debugger behave the same), with a controller
    cost per host per task that does not grow with the number of hosts in the play."
  - "ansible-core's linear strategy does three walks over every host of the play for each host it queues: it copies the
    play iterator's host states (to serve the task debugger), and it builds the lists C(ansible_play_hosts_all),
    C(ansible_play_hosts), C(ansible_play_batch), C(play_hosts), C(ansible_current_hosts) and C(ansible_failed_hosts)
    anew. ansible-core forks one worker per host per task, and after each fork every write to a page of the controller
    is a page fault, so each walk costs page faults in proportion to the hosts in the play: quadratic per task."
  - "This strategy copies only the host states of the hosts with a result pending (all of them when the task debugger
    can trigger: the C(ENABLE_TASK_DEBUGGER) setting or a C(debugger) keyword on a queued task), and builds those six lists once per
    task and batch, again whenever a host fails, becomes unreachable or leaves the play. Every host is given lists
    equal to the ones ansible-core builds; hosts share them, so a task must not change them in place (no Ansible code
    does)."
  - "Measured by C(benchmarks/fleet_scale.py) (docs/scale.md): the controller cost per host per task at 10,000 hosts is
    about half of C(ansible.builtin.linear)'s. Exercised against ansible-core 2.19 only. If ansible-core's internals it
    relies on are not there, it warns once and runs as C(ansible.builtin.linear)."
  - "Select it with C(strategy = fleetpatch.hybrid.fleet_linear) in the C([defaults]) section of ansible.cfg (as this
    collection's own ansible.cfg does), the environment variable C(ANSIBLE_STRATEGY), or the play keyword C(strategy).
    ansible-core 2.19 prints a deprecation warning for any strategy plugin outside ansible.builtin (third party
    strategies carry no compatibility guarantee); the plays of the collection do not depend on it."
notes:
  - "Hosts of one task share the lists named above, so the list a task sees is equal, not identical, to the one
    ansible-core would have built for it; templates, conditionals and modules cannot tell the difference."
"""

EXAMPLES = r"""
# ansible.cfg: every play of the run (the collection's own ansible.cfg does this)
# [defaults]
# strategy = fleetpatch.hybrid.fleet_linear

# or one play
- name: Patch the fleet
  hosts: patch_group_web_prod
  strategy: fleetpatch.hybrid.fleet_linear
  serial: "10%"
  gather_facts: false
  tasks:
    - name: Check each host
      ansible.builtin.ping:
"""

import inspect

from ansible.plugins.strategy import StrategyBase
from ansible.plugins.strategy.linear import StrategyModule as LinearStrategyModule
from ansible.utils.display import Display

display = Display()

# debug_closure (ansible/plugins/strategy/__init__.py) wraps _process_pending_results with functools.wraps: the plain
# function is its __wrapped__. Without it (another ansible-core), the plain method is the only one there is.
_PLAIN_PROCESS_PENDING_RESULTS = getattr(StrategyBase._process_pending_results, "__wrapped__", None)
_SENTINEL_HOSTS = ["fleetpatch-fleet-linear-sentinel"]
_MAGIC_PARAMETERS = ("play", "host", "task", "include_hostvars", "_hosts", "_hosts_all")
_DEBUGGER_OFF = (None, "", "never")


def play_host_lists(hosts_all, hosts, removed_hosts, tag=None):
    """The play's host lists as ansible-core's VariableManager._get_magic_variables builds them.

    hosts_all: every host of the play (names); hosts: the current batch; removed_hosts: the hosts that left the play.
    Returns {name: list}; play_hosts is the batch, tagged deprecated when ansible-core gives the tag.
    """
    removed = set(removed_hosts)
    every = list(hosts_all)
    batch = [name for name in hosts if name not in removed]
    return {
        "ansible_play_hosts_all": every,
        "ansible_play_hosts": [name for name in every if name not in removed],
        "ansible_play_batch": batch,
        "play_hosts": tag.tag(list(batch)) if tag is not None else list(batch),
    }


def queue_host_lists(hosts, failed_hosts, unreachable_hosts):
    """ansible_current_hosts and ansible_failed_hosts as StrategyBase.add_tqm_variables builds them."""
    ignore = set(failed_hosts).union(unreachable_hosts)
    return {
        "ansible_current_hosts": [name for name in hosts if name not in ignore],
        "ansible_failed_hosts": [name for name in hosts if name in failed_hosts],
    }


class PlayHostListsCache(object):
    """Builds the play host lists once per (play, batch, removed hosts) instead of once per host and task.

    Called in place of VariableManager._get_magic_variables (bound on the instance for the strategy's run only). A call
    without the strategy's host caches goes to ansible-core's own function unchanged.
    """

    def __init__(self, variable_manager, original):
        self._variable_manager = variable_manager
        self._original = original
        self._tag = getattr(variable_manager, "_PLAY_HOSTS_DEPRECATED_TAG", None)
        self._key = None
        self._lists = None
        self.builds = 0

    def __call__(self, play, host, task, include_hostvars, _hosts=None, _hosts_all=None):
        if play is None or not _hosts or not _hosts_all or getattr(self._variable_manager, "_inventory", None) is None:
            return self._original(play, host, task, include_hostvars, _hosts=_hosts, _hosts_all=_hosts_all)
        # one-entry sentinels: ansible-core's list comprehensions run over one name, and the real lists replace them
        variables = self._original(play, host, task, include_hostvars, _hosts=_SENTINEL_HOSTS, _hosts_all=_SENTINEL_HOSTS)
        removed = play._removed_hosts
        key = self._key
        # identity for the lists the strategy owns (replaced, never changed, on a new batch); equality for the removed
        # hosts (a list that grows; list equality compares identical items without taking references)
        if key is None or key[0] is not play or key[1] is not _hosts or key[2] is not _hosts_all or key[3] != removed:
            self._lists = play_host_lists(_hosts_all, _hosts, removed, self._tag)
            self._key = (play, _hosts, _hosts_all, list(removed))
            self.builds += 1
        variables.update(self._lists)
        return variables


def _internals_missing(variable_manager):
    """What this strategy needs from ansible-core and does not find (empty when all is there)."""
    missing = []
    if _PLAIN_PROCESS_PENDING_RESULTS is None:
        missing.append("StrategyBase._process_pending_results.__wrapped__")
    original = getattr(variable_manager, "_get_magic_variables", None)
    try:
        parameters = tuple(inspect.signature(original).parameters) if original is not None else ()
    except (TypeError, ValueError):
        parameters = ()
    if parameters != _MAGIC_PARAMETERS:
        missing.append("VariableManager._get_magic_variables%s" % (_MAGIC_PARAMETERS,))
    return missing


class StrategyModule(LinearStrategyModule):
    """ansible.builtin.linear with O(1) controller work per queued host (plus the host's own variables)."""

    def __init__(self, tqm):
        super(StrategyModule, self).__init__(tqm)
        self._fleet_ready = False
        self._fleet_queue_lists = None
        self._fleet_debugger_tasks = {}

    def run(self, iterator, play_context):
        variable_manager = self._variable_manager
        missing = _internals_missing(variable_manager)
        if missing:
            display.warning("fleetpatch.hybrid.fleet_linear runs as ansible.builtin.linear: this ansible-core has no %s"
                            % ", ".join(missing))
            return super(StrategyModule, self).run(iterator, play_context)
        original = variable_manager._get_magic_variables
        variable_manager._get_magic_variables = PlayHostListsCache(variable_manager, original)
        self._fleet_ready = True
        try:
            return super(StrategyModule, self).run(iterator, play_context)
        finally:
            self._fleet_ready = False
            # the instance attribute goes; the class's method is what every other caller sees again
            variable_manager.__dict__.pop("_get_magic_variables", None)

    def _fleet_debugger_possible(self):
        """True when a result now pending could start the task debugger (then the full host state copy is needed)."""
        if self.debugger_active:
            return True
        for entry in self._queued_task_cache.values():
            task = entry["task"]
            possible = self._fleet_debugger_tasks.get(task._uuid)
            if possible is None:
                possible = self._fleet_debugger_tasks[task._uuid] = task.debugger not in _DEBUGGER_OFF
            if possible:
                return True
        return False

    def _process_pending_results(self, iterator, one_pass=False, max_passes=None):
        if not self._fleet_ready or self._fleet_debugger_possible():
            return super(StrategyModule, self)._process_pending_results(iterator, one_pass=one_pass, max_passes=max_passes)
        # what debug_closure does when no result needs the debugger: drop each result's queued task arguments
        results = _PLAIN_PROCESS_PENDING_RESULTS(self, iterator, one_pass=one_pass, max_passes=max_passes)
        for result in results:
            self._queued_task_cache.pop((result.host.name, result.task._uuid), None)
        return results

    def add_tqm_variables(self, vars, play):
        if not self._fleet_ready:
            return super(StrategyModule, self).add_tqm_variables(vars, play)
        self._set_hosts_cache(play, refresh=False)
        failed, unreachable = self._tqm._failed_hosts, self._tqm._unreachable_hosts
        key = self._fleet_queue_lists
        if key is None or key[0] is not self._hosts_cache or key[1] != failed or key[2] != unreachable:
            key = self._fleet_queue_lists = (self._hosts_cache, dict(failed), dict(unreachable),
                                             queue_host_lists(self._hosts_cache, failed, unreachable))
        vars.update(key[3])
