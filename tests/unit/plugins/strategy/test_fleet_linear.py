"""The fleet_linear strategy's host lists: equal to ansible-core's, built once per batch, not once per host.

Against ansible-core's own VariableManager and StrategyBase code (the installed ansible-core), no playbook run:
tests/integration/test_strategy.py runs playbooks under both strategies and compares what every host saw.
"""

import time

import pytest
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play import Play
from ansible.plugins.strategy import StrategyBase
from ansible.vars.manager import VariableManager

from ansible_collections.fleetpatch.hybrid.plugins.strategy import fleet_linear

LISTS = ("ansible_play_hosts_all", "ansible_play_hosts", "ansible_play_batch", "play_hosts")


def fleet(n):
    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=[])
    for i in range(n):
        inventory.add_host("h%05d" % i, group="all")
    variable_manager = VariableManager(loader=loader, inventory=inventory)
    play = Play.load({"hosts": "all", "gather_facts": False, "tasks": []}, variable_manager=variable_manager, loader=loader)
    names = ["h%05d" % i for i in range(n)]
    return variable_manager, play, names


def lists(variables):
    return dict((name, list(variables[name])) for name in LISTS)


def test_the_lists_equal_ansible_cores_for_every_host_batch_and_removed_hosts():
    variable_manager, play, names = fleet(12)
    original = variable_manager._get_magic_variables
    cache = fleet_linear.PlayHostListsCache(variable_manager, original)
    batches = [names[:5], names[5:]]
    for batch in batches:
        for removed in ([], [batch[0]], [batch[0], names[-1]]):
            play._removed_hosts[:] = removed
            for name in batch:
                host = variable_manager._inventory.get_host(name)
                ours = cache(play, host, None, False, _hosts=batch, _hosts_all=names)
                theirs = original(play, host, None, False, _hosts=batch, _hosts_all=names)
                assert lists(ours) == lists(theirs)
                assert set(ours) == set(theirs)
                assert dict((k, v) for k, v in ours.items() if k not in LISTS) == \
                    dict((k, v) for k, v in theirs.items() if k not in LISTS)
    # one build per (batch, removed hosts): 2 batches x 3 removed sets, not 12 hosts x 3
    assert cache.builds == 6


def test_a_host_leaving_the_play_is_seen_by_the_next_host_at_once():
    variable_manager, play, names = fleet(4)
    cache = fleet_linear.PlayHostListsCache(variable_manager, variable_manager._get_magic_variables)
    first = cache(play, None, None, False, _hosts=names, _hosts_all=names)
    play._removed_hosts.append("h00001")
    second = cache(play, None, None, False, _hosts=names, _hosts_all=names)
    assert "h00001" in first["ansible_play_hosts"] and "h00001" not in second["ansible_play_hosts"]
    assert second["ansible_play_batch"] == ["h00000", "h00002", "h00003"]
    assert second["ansible_play_hosts_all"] == names
    # a removal undone (the debugger's redo) is seen too, although the list has its old length again
    play._removed_hosts.remove("h00001")
    play._removed_hosts.append("h00002")
    third = cache(play, None, None, False, _hosts=names, _hosts_all=names)
    assert third["ansible_play_batch"] == ["h00000", "h00001", "h00003"]


def test_a_call_without_the_strategys_host_caches_is_ansible_cores_own():
    variable_manager, play, names = fleet(3)
    cache = fleet_linear.PlayHostListsCache(variable_manager, variable_manager._get_magic_variables)
    variables = cache(play, None, None, False)
    assert variables["ansible_play_hosts_all"] == names and cache.builds == 0


def test_10000_hosts_cost_one_build_per_batch():
    variable_manager, play, names = fleet(10000)
    original = variable_manager._get_magic_variables
    cache = fleet_linear.PlayHostListsCache(variable_manager, original)
    started = time.process_time()
    for _name in names:
        variables = cache(play, None, None, False, _hosts=names, _hosts_all=names)
    ours = time.process_time() - started
    assert cache.builds == 1 and variables["ansible_play_batch"] == names
    started = time.process_time()
    for _name in names[:1000]:
        original(play, None, None, False, _hosts=names, _hosts_all=names)
    theirs_per_host = (time.process_time() - started) / 1000
    # the per-host cost no longer holds four 10,000-entry lists: far below ansible-core's (one list build per host)
    assert ours / len(names) < theirs_per_host / 3, (ours / len(names), theirs_per_host)


def test_queue_host_lists_equal_add_tqm_variables():
    class Tqm(object):
        _failed_hosts = {"b": True}
        _unreachable_hosts = {"c": True}

    class Strategy(StrategyBase):
        def __init__(self):
            self._tqm = Tqm()
            self._hosts_cache = ["a", "b", "c", "d"]
            self._hosts_cache_all = list(self._hosts_cache)

    theirs = {}
    Strategy().add_tqm_variables(theirs, play=None)
    assert fleet_linear.queue_host_lists(["a", "b", "c", "d"], {"b": True}, {"c": True}) == theirs
    assert theirs == {"ansible_current_hosts": ["a", "d"], "ansible_failed_hosts": ["b"]}


def test_this_ansible_core_has_what_the_strategy_needs():
    variable_manager, play, names = fleet(1)
    # on an ansible-core without them the strategy warns and runs as ansible.builtin.linear; here they must be there
    assert fleet_linear._internals_missing(variable_manager) == []
    assert fleet_linear._PLAIN_PROCESS_PENDING_RESULTS is StrategyBase._process_pending_results.__wrapped__


def test_missing_internals_are_named():
    class Bare(object):
        def _get_magic_variables(self, play, host):
            return {}

    assert fleet_linear._internals_missing(Bare()) == [
        "VariableManager._get_magic_variables('play', 'host', 'task', 'include_hostvars', '_hosts', '_hosts_all')"]


@pytest.mark.parametrize("debugger,expected", [(None, False), ("never", False), ("on_failed", True), ("always", True),
                                               ("{{ dbg }}", True)])
def test_the_full_host_state_copy_is_kept_when_the_debugger_can_start(debugger, expected):
    class Task(object):
        _uuid = "t-1"

    class Strategy(fleet_linear.StrategyModule):
        def __init__(self):
            self.debugger_active = False
            self._fleet_debugger_tasks = {}
            self._queued_task_cache = {}

    task = Task()
    task.debugger = debugger
    strategy = Strategy()
    assert strategy._fleet_debugger_possible() is False
    strategy._queued_task_cache[("h1", task._uuid)] = {"task": task}
    assert strategy._fleet_debugger_possible() is expected
    strategy.debugger_active = True
    assert strategy._fleet_debugger_possible() is True
