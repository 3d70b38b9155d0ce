#!/usr/bin/env python3
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller-side plays of playbooks/patch_night.yml at fleet scale (issue 12).

For each size N (default 1,000, 5,000 and 10,000 hosts in 20 patch groups) it writes an inventory
for the collection's own plugin (fleetpatch.hybrid.patch_groups, on-prem YAML source: no AWS calls,
so the plugin and ansible-core are measured, not a simulator) and runs patch_night.yml exactly as
shipped, with -e fleetpatch_targets matching no host so that the per-host plays (preflight, scan,
the rolling batches: the remote phases) are skipped. What those plays leave behind is put in place
by a BENCHMARK-ONLY STAND-IN (this file, outside timing):
  - each host's recorded preflight and scan results - fleetpatch_ready and scan_approved, 10
    approved patches each with a CVE and an advisory - as group_vars of its patch group in the
    benchmark inventory (the CR play reads them through hostvars, as it reads the facts);
  - the ledger rows the remote phases would have written (preflight .. rescan, 10 package changes
    per host), through module_utils/ledger.py, so the report and the CR close work on N hosts.
It then prints wall time and peak RSS (controller process, per play) of the plays that ran:
open the night, raise the change requests (grouping + 20 CRs in the local backend), report and
close. And, on the largest inventory, the controller's cost per host per task (forks 50): a
play of two `debug` tasks over every host (no connection), the second task's time / N, under
ansible-core's linear strategy (the peer) and under the collection's fleetpatch.hybrid.fleet_linear
(plugins/strategy/fleet_linear.py: the linear strategy without ansible-core's walks over every
host of the play per queued host), side by side with the ratio (--strategies).

Targets (issue 12): every play linear (N=10k no more than 12x N=1k); grouping + opening the
CRs for 10k hosts under 10 s; report + CR close for 10k under 15 s; at most 15 ms per host per task.

    .venv/bin/python benchmarks/fleet_scale.py                       # 1k, 5k, 10k (+ task cost at 10k)
    .venv/bin/python benchmarks/fleet_scale.py --sizes 1000 --task-cost-size 1000,5000,10000   # the task cost as hosts grow
    .venv/bin/python benchmarks/fleet_scale.py --sizes 1000 --task-cost-size 1000   # quick
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
sys.path.insert(0, os.path.join(ROOT, ".cache", "collections"))

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ledger import Ledger  # noqa: E402

RUN_ID = "bench-fleet-scale"
OPEN_WINDOW = "cron(0 0 * * ? *); timezone=UTC; duration=24; cutoff=0"
PLAYS = {"Open the patch night": "open", "Raise the change requests": "raise CRs",
         "Report the patch night and close the change requests": "report + close"}


def patches(group, count):
    return [{"name": "pkg-%02d" % k, "arch": "amd64", "installed_version": "1.0-1", "candidate_version": "1.0-2",
             "classification": "security", "severity": "important", "cves": ["CVE-2026-%02d%03d" % (group, k)],
             "advisories": ["DSA-%d%02d-1" % (5000 + group, k)]} for k in range(count)]


def write_inventory(directory, n, groups, count):
    """The plugin's configuration, an on-prem file of n hosts, and the stand-in's group_vars."""
    os.makedirs(os.path.join(directory, "group_vars"))
    with open(os.path.join(directory, "fleet.patch_groups.yml"), "w") as handle:
        handle.write("plugin: fleetpatch.hybrid.patch_groups\nsources:\n  onprem:\n    files: [hosts.yml]\n")
    with open(os.path.join(directory, "hosts.yml"), "w") as handle:
        handle.write("defaults:\n  environment: Prod\n  window: '%s'\nhosts:\n" % OPEN_WINDOW)
        for i in range(n):
            g = i % groups
            handle.write("  - {name: host-%05d, address: 127.0.0.1, patch_group: pg-%02d, owner: team-%02d@example.com}\n"
                         % (i, g, g))
    for g in range(groups):
        with open(os.path.join(directory, "group_vars", "patch_group_pg_%02d.yml" % g), "w") as handle:
            handle.write("# BENCHMARK-ONLY STAND-IN (benchmarks/fleet_scale.py): the results the preflight and scan\n"
                         "# plays would have recorded for each host of this patch group.\n")
            json.dump({"fleetpatch_ready": True, "scan_approved": patches(g, count)}, handle)


def write_ledger(path, n, groups, count):
    """BENCHMARK-ONLY STAND-IN: the rows the remote phases of a good night would have written."""
    started = time.time()
    with Ledger(path) as ledger:
        ledger.start_run(RUN_ID, playbook="fleetpatch.hybrid.patch_night")
        for i in range(n):
            host, g = "host-%05d" % i, i % groups
            approved = patches(g, count)
            cves = [c for p in approved for c in p["cves"]]
            ledger.record_host(RUN_ID, host, "pg-%02d" % g, {"environment": "Prod", "owner": "team-%02d@example.com" % g})
            for phase, status, data in (("preflight", "ok", {}),
                                        ("scan", "ok", {"pending": count, "cves": cves, "patches": approved}),
                                        ("approve", "ok", {"approved": [p["name"] for p in approved]}), ("snapshot", "ok", {}),
                                        ("patch", "changed", {}), ("reboot", "skipped", {}), ("validate", "ok", {}),
                                        ("rescan", "ok", {"pending": 0, "cves": []})):
                ledger.record_phase(RUN_ID, host, phase, status, None, data)
            ledger.record_changes(RUN_ID, host, [{"name": p["name"], "arch": "amd64", "from": "1.0-1", "to": "1.0-2",
                                                  "classification": "security", "cves": p["cves"],
                                                  "advisories": p["advisories"]} for p in approved])
    return time.time() - started


def ansible(directory, playbook, forks, extra=(), strategy=None):
    profile = os.path.join(directory, "profile-%d.json" % time.time_ns())
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ["PATH"], ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_CALLBACK_PLUGINS=os.path.join(ROOT, "benchmarks", "callback_plugins"),
               ANSIBLE_CALLBACKS_ENABLED="fleet_profile", FLEET_PROFILE_OUT=profile, ANSIBLE_NOCOLOR="1",
               ANSIBLE_INVENTORY_UNPARSED_FAILED="true", ANSIBLE_HOST_PATTERN_MISMATCH="ignore")
    if strategy:
        env["ANSIBLE_STRATEGY"] = strategy
    started = time.time()
    result = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", os.path.join(directory, "fleet.patch_groups.yml"),
                             "-f", str(forks), playbook] + list(extra), cwd=ROOT, env=env, capture_output=True, text=True,
                            check=False)
    wall = time.time() - started
    if result.returncode != 0:
        sys.exit("ansible-playbook failed (rc %d):\n%s\n%s" % (result.returncode, result.stdout[-4000:], result.stderr[-2000:]))
    with open(profile) as handle:
        return wall, json.load(handle)


def night(n, groups, count, forks, keep):
    directory = tempfile.mkdtemp(prefix="fleet-scale-%d-" % n)
    try:
        write_inventory(directory, n, groups, count)
        out = os.path.join(directory, "out")
        os.makedirs(out)
        seeded = write_ledger(os.path.join(out, "ledger.db"), n, groups, count)
        wall, profile = ansible(directory, "playbooks/patch_night.yml", forks, [
            "-e", "fleetpatch_targets=fleetpatch_benchmark_no_host", "-e", "fleetpatch_run_id=%s" % RUN_ID,
            "-e", "fleetpatch_output_dir=%s" % out])
        with open(os.path.join(out, "report.json")) as handle:
            report = json.load(handle)
        assert report["summary"]["hosts"] == n, report["summary"]
        crs = report.get("change_requests") or []
        assert len(crs) == groups and all(cr.get("close_code") for cr in crs), crs
        return {"n": n, "wall": wall, "seeded": seeded, "startup": wall - profile["total"] + profile["startup"],
                "plays": dict((PLAYS.get(p["name"], p["name"]), p) for p in profile["plays"]), "dir": directory}
    finally:
        if not keep:
            shutil.rmtree(directory, ignore_errors=True)


def task_cost(n, groups, forks, keep, strategy):
    directory = tempfile.mkdtemp(prefix="fleet-task-cost-%d-" % n)
    try:
        write_inventory(directory, n, groups, 1)
        book = os.path.join(directory, "two_tasks.yml")
        with open(book, "w") as handle:
            handle.write("- hosts: all\n  gather_facts: false\n  tasks:\n"
                         "    - {name: first, ansible.builtin.debug: {msg: one}}\n"
                         "    - {name: second, ansible.builtin.debug: {msg: two}}\n")
        wall, profile = ansible(directory, book, forks, strategy=strategy)
        tasks = dict((t["name"], t) for t in profile["plays"][0]["tasks"])
        return {"n": n, "wall": wall, "first": tasks["first"]["wall"], "second": tasks["second"]["wall"],
                "second_cpu": tasks["second"]["cpu"], "second_controller_cpu": tasks["second"]["controller_cpu"],
                "peak_rss_mb": profile["plays"][0]["peak_rss_mb"]}
    finally:
        if not keep:
            shutil.rmtree(directory, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,5000,10000")
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--patches", type=int, default=10)
    parser.add_argument("--forks", type=int, default=50)
    parser.add_argument("--task-cost-size", default="10000",
                        help="inventory size(s), comma-separated, of the per-task cost (e.g. 1000,5000,10000); 0: skip it")
    parser.add_argument("--strategies", default="ansible.builtin.linear,fleetpatch.hybrid.fleet_linear",
                        help="strategies of the per-task cost play, comma-separated: ansible-core's (the peer) and ours")
    parser.add_argument("--keep", action="store_true", help="keep the temporary inventories and ledgers")
    parser.add_argument("--tasks", type=int, default=0, help="also print the N slowest tasks of each size")
    args = parser.parse_args()
    load = os.getloadavg()
    print("fleet_scale: %s, forks %d, %d patch groups, %d approved patches per host; load average %.1f (%d cores)"
          % (args.sizes, args.forks, args.groups, args.patches, load[0], os.cpu_count()))
    print("remote phases: skipped (fleetpatch_targets matches no host); their results: the benchmark-only stand-in "
          "(group_vars + ledger rows) in this file")
    results = [night(int(n), args.groups, args.patches, args.forks, args.keep) for n in args.sizes.split(",")]
    names = list(PLAYS.values())
    print("\n%-8s %-16s %10s %10s %12s %14s" % ("hosts", "play", "wall s", "CPU s", "peak RSS MB", "ms per host"))
    for r in results:
        print("%-8d %-16s %10.1f %10s %12s %14s" % (r["n"], "inventory+start", r["startup"], "-", "-",
                                                    "%.2f" % (1000 * r["startup"] / r["n"])))
        for name in names:
            play = r["plays"].get(name)
            if play:
                print("%-8d %-16s %10.1f %10.1f %12.0f %14.2f" % (r["n"], name, play["wall"], play["cpu"], play["peak_rss_mb"],
                                                                  1000 * play["wall"] / r["n"]))
        print("%-8d %-16s %10.1f   (ledger stand-in seeded in %.0f s, not counted)" % (r["n"], "whole run", r["wall"], r["seeded"]))
    if args.tasks:
        for r in results:
            tasks = sorted(((t["wall"], play, t["name"]) for play, p in r["plays"].items() for t in p["tasks"]), reverse=True)
            print("\n%d hosts, the %d slowest tasks:" % (r["n"], args.tasks))
            for wall, play, name in tasks[:args.tasks]:
                print("  %7.2f s  %-16s %s" % (wall, play, name))
    first, last = results[0], results[-1]
    if last["n"] > first["n"]:
        scale = float(last["n"]) / first["n"]
        print("\nlinearity (%dk vs %dk hosts, %.0fx the hosts; target: at most %.0fx the time):"
              % (last["n"] // 1000, first["n"] // 1000, scale, scale * 1.2))
        for name in names:
            a, b = first["plays"].get(name), last["plays"].get(name)
            if a and b:
                ratio = b["wall"] / max(a["wall"], 1e-9)
                print("  %-16s %6.1fx wall (%s), %6.1fx CPU" % (name, ratio, "MET" if ratio <= scale * 1.2 else "NOT MET",
                                                               b["cpu"] / max(a["cpu"], 1e-9)))
    for r in results:
        if r["n"] == 10000:
            raise_crs, report = r["plays"]["raise CRs"], r["plays"]["report + close"]
            print("\n10k hosts: grouping + opening the CRs %.1f s wall, %.1f s CPU (target < 10 s: %s); report + CR close %.1f s "
                  "wall, %.1f s CPU (target < 15 s: %s); judged on wall time on a quiet machine"
                  % (raise_crs["wall"], raise_crs["cpu"], "MET" if raise_crs["wall"] < 10 else "NOT MET",
                     report["wall"], report["cpu"], "MET" if report["wall"] < 15 else "NOT MET"))
    sizes = [int(n) for n in str(args.task_cost_size).split(",") if int(n)]
    if sizes:
        strategies = [name for name in args.strategies.split(",") if name]
        print("\ncontroller cost per host per task, forks %d, inventory from fleetpatch.hybrid.patch_groups (two debug tasks, "
              "no connection; the second task's time / hosts); target <= 15 ms, judged on wall time on a quiet machine:"
              % args.forks)
        for n in sizes:
            walls = {}
            for strategy in strategies:
                cost = task_cost(n, args.groups, args.forks, args.keep, strategy)
                per_host, per_host_cpu = 1000 * cost["second"] / n, 1000 * cost["second_cpu"] / n
                walls[strategy] = per_host
                print("  %6d hosts, %s: %.1f ms wall per host per task (%s); CPU %.1f ms per host per task (controller "
                      "%.1f ms + its forks %.1f ms); whole run %.1f s, peak RSS %.0f MB, load average %.1f"
                      % (n, strategy, per_host, "MET" if per_host <= 15 else "NOT MET", per_host_cpu,
                         1000 * cost["second_controller_cpu"] / n, per_host_cpu - 1000 * cost["second_controller_cpu"] / n,
                         cost["wall"], cost["peak_rss_mb"], os.getloadavg()[0]))
            if len(walls) == 2:
                peer, ours = (walls[name] for name in strategies)
                print("  %6d hosts: %s / %s = %.2f (wall per host per task)" % (n, strategies[1], strategies[0], ours / peer))
    print("\nmeasured on a machine shared with other jobs (load average %.1f at the start, %.1f at the end): figures are "
          "upper bounds" % (load[0], os.getloadavg()[0]))


if __name__ == "__main__":
    main()
