#!/usr/bin/env python3
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Why ansible-core's cost per host per task grows with the hosts in the play (issue 12, docs/scale.md).

ansible-core forks one worker process per host per task (WorkerProcess, multiprocessing fork). After a
fork every page of the controller is shared copy-on-write with the child, so the first write to each
page after it is a page fault. Per queued host, the linear strategy's parent then walks structures of
ALL the play's hosts: StrategyBase._process_pending_results (its debug_closure wrapper copies
iterator.host_states, one entry per host) and VariableManager._get_magic_variables (the lists
ansible_play_hosts_all / ansible_play_hosts / ansible_play_batch of every host's name). Taking a
reference to an object writes its reference count, so each walk touches O(hosts) pages: O(hosts) work
per host per task, O(hosts^2) per task.

This script shows the mechanism without Ansible: a dict of N host-state objects is copied (as
debug_closure does) with and without a fork before each copy, and the fork itself is timed with N
hosts' worth of controller memory (~80 KB per host, the order of a 10,000-host inventory's controller).

    .venv/bin/python benchmarks/fork_walk_cost.py [--sizes 1000,4000,10000] [--rounds 200]
"""

import argparse
import os
import resource
import time


class HostState(object):
    def __init__(self, i):
        self.name = "host-%05d" % i
        self.blocks = [object() for _ in range(5)]
        self.pad = "x" * 200


def _cpu():
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def measure(n, rounds, fork):
    states = dict(("host-%05d" % i, HostState(i)) for i in range(n))
    ballast = [bytearray(4096) for _ in range(n * 20)]  # the rest of the controller's memory
    copy_s = fork_s = 0.0
    faults, cpu = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, _cpu()
    children = []
    for _ in range(rounds):
        if fork:
            started = time.perf_counter()
            pid = os.fork()
            if pid == 0:
                time.sleep(0.05)  # a short-lived worker, as a debug task's
                os._exit(0)
            fork_s += time.perf_counter() - started
            children.append(pid)
            if len(children) > 50:  # forks 50
                os.waitpid(children.pop(0), 0)
        started = time.perf_counter()
        states.copy()
        copy_s += time.perf_counter() - started
    for pid in children:
        os.waitpid(pid, 0)
    del ballast
    return {"copy_ms": 1000 * copy_s / rounds, "fork_ms": 1000 * fork_s / rounds, "cpu_ms": 1000 * (_cpu() - cpu) / rounds,
            "faults": (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / float(rounds)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,4000,10000")
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    print("fork_walk_cost: load average %.1f (%d cores); per round (one host's task): ms of the parent"
          % (os.getloadavg()[0], os.cpu_count()))
    print("%8s %22s %22s %10s %16s %12s" % ("hosts", "copy, no fork (ms)", "copy after fork (ms)", "fork (ms)", "page faults", "CPU (ms)"))
    for n in [int(x) for x in args.sizes.split(",")]:
        alone, forked = measure(n, args.rounds, False), measure(n, args.rounds, True)
        print("%8d %22.3f %22.3f %10.2f %16.0f %12.2f" % (n, alone["copy_ms"], forked["copy_ms"], forked["fork_ms"], forked["faults"],
                                                         forked["cpu_ms"]))
    print("a walk over every host after each fork costs page faults in proportion to the hosts: O(hosts) per host per task "
          "(load average at the end %.1f)" % os.getloadavg()[0])


if __name__ == "__main__":
    main()
