#!/usr/bin/env python3
"""Findings correlation: 10,000 hosts x 200 scanner findings against their pending patches.

Each host has 200 findings (packages drawn from a shared pool of 3,000, as a fleet shares its
packages) and 60 pending patches; about a third of the findings name a pending package whose
candidate reaches the fixed version, some only the patch's CVE list, the rest have no pending fix
or no fix at all. Per host the night's own code path is timed, the functions its filters call:
findings_plan (findings_correlate.plan_host: the patch index, the patches annotated with the
findings they close, the baseline's decision for every patch - approve_findings_min_severity set -
which is also the night's approval, and the correlation) and, after the night, findings_after
(judge_after: closed/open against the installed versions).

Prints CPU seconds (process time), wall seconds, peak memory (max RSS) and the load average for
  * ours, "as the night runs it" (THE FIGURE THE TARGET IS JUDGED ON): the version-comparison
    cache emptied before each host's plan and again before its verdict, because ansible-core
    templates each host's task in a worker process of its own (the scan phase's findings_plan and
    the rescan's findings_after are two tasks), so nothing learnt on one host or phase helps
    the next;
  * ours, one process for the fleet: the cache kept across hosts (for comparison only);
  * peer: the straightforward way - every finding compared with every pending patch, no index, no
    version-comparison cache - on the first --peer-hosts hosts, scaled to the fleet.
Target: ours (as the night runs it) under 10 CPU seconds for 10,000 x 200; the line "target" says
MET or NOT MET. CPU seconds are the figure judged (wall time on a shared machine grows with the load).
Usage: benchmarks/findings.py [--hosts N] [--findings N] [--patches N] [--peer-hosts N] [--seed N]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time
from datetime import date

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import conftest  # noqa: E402,F401  (puts ansible_collections.fleetpatch.hybrid on sys.path)

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import baseline as bl  # noqa: E402
from ansible_collections.fleetpatch.hybrid.plugins.module_utils import findings as F  # noqa: E402
from ansible_collections.fleetpatch.hybrid.plugins.module_utils import findings_correlate as C  # noqa: E402

TODAY = date(2026, 12, 4)
BASELINE = {"approval_rules": [{"classifications": ["security"], "severities": ["critical", "important"], "approve_after_days": 7},
                               {"classifications": ["bugfix"], "approve_after_days": 14}],
            "rejected_patches": ["linux-image-*"], "approve_findings_min_severity": "high"}
SEVERITY = ["critical", "high", "high", "medium", "medium", "low", "unknown"]


def make_pool(seed, size=3000):
    rng = random.Random(seed)
    pool = []
    for i in range(size):
        major, minor = rng.randint(1, 9), rng.randint(0, 30)
        installed = "%d.%d-1~deb12u%d" % (major, minor, rng.randint(1, 3))
        candidate = "%d.%d-1~deb12u%d" % (major, minor, rng.randint(4, 6))
        pool.append({"name": "%spkg%d" % (rng.choice(["lib", "python3-", "linux-image-", ""]), i),
                     "installed": installed, "candidate": candidate,
                     "cves": ["CVE-2026-%05d" % (i * 3 + k) for k in range(rng.randint(0, 3))]})
    return pool


def host_data(rng, pool, n_findings, n_patches):
    pending = rng.sample(pool, n_patches)
    patches = [{"name": p["name"], "installed_version": p["installed"], "candidate_version": p["candidate"], "cves": p["cves"],
                "classification": rng.choice(["security", "security", "bugfix"]), "severity": rng.choice(["critical", "important", "low"]),
                "release_date": "2026-11-%02d" % rng.randint(1, 30), "manager": "apt"} for p in pending]
    findings = []
    for i in range(n_findings):
        kind = i % 6
        if kind < 2 and pending:  # a pending package, fixed version reached (or not, by one)
            p = pending[i % len(pending)]
            fixed = p["candidate"] if kind == 0 else p["candidate"].replace("deb12u", "deb12u9")
            findings.append(F.record("inspector2", {}, "CVE-2026-9%04d" % i, p["name"], p["installed"], fixed, rng.choice(SEVERITY), 7.5))
        elif kind == 2 and pending and pending[i % len(pending)]["cves"]:  # only the CVE list names it
            p = pending[i % len(pending)]
            findings.append(F.record("tenable", {}, p["cves"][0], "src-" + p["name"], None, None, rng.choice(SEVERITY)))
        else:
            p = rng.choice(pool)
            findings.append(F.record("trivy", {}, "CVE-2025-%05d" % i, p["name"], p["installed"],
                                     None if kind == 5 else p["candidate"], rng.choice(SEVERITY)))
    for f in findings:
        f["host"] = "h"
    installed = dict((p["name"], p["candidate"] if rng.random() < 0.8 else p["installed"]) for p in pending)
    return patches, findings, installed


def ours(hosts, n_findings, n_patches, seed, fresh):
    """(cpu seconds of the scan phase's findings_plan, cpu seconds of the after-the-night verdict, plan counts, closed)."""
    rng = random.Random(seed)
    pool = make_pool(seed)
    counts = dict((plan, 0) for plan in C.PLANS)
    closed = 0
    plan_cpu = after_cpu = 0.0
    C._compare.cache_clear()
    for _ in range(hosts):
        patches, findings, installed = host_data(rng, pool, n_findings, n_patches)
        if fresh:
            C._compare.cache_clear()
        start = time.process_time()
        plan = C.plan_host(patches, findings, BASELINE, TODAY)
        middle = time.process_time()
        if fresh:
            C._compare.cache_clear()  # the rescan's findings_after runs in another worker process
        resumed = time.process_time()
        after = C.judge_after(plan["findings"], installed)
        plan_cpu += middle - start
        after_cpu += time.process_time() - resumed
        for plan_name in C.PLANS:
            counts[plan_name] += plan["summary"][plan_name]
        closed += sum(1 for f in after if f["state"] == "closed")
    return plan_cpu, after_cpu, counts, closed


def peer(hosts, n_findings, n_patches, seed):
    """Every finding against every patch, no index, no comparison cache; approval with evaluate()."""
    rng = random.Random(seed)
    pool = make_pool(seed)
    checked = bl.validate(BASELINE)
    spent = 0.0
    for _ in range(hosts):
        patches, findings, installed = host_data(rng, pool, n_findings, n_patches)
        start = time.process_time()
        decisions = bl.evaluate(patches, checked, TODAY)
        for finding in findings:
            fixers = []
            for index, patch in enumerate(patches):
                if finding["package"] == patch["name"] and finding["fixed_version"]:
                    if bl.compare_versions("apt", patch["candidate_version"], finding["fixed_version"]) >= 0:
                        fixers.append(index)
                elif finding["cve"] in patch["cves"]:
                    fixers.append(index)
            finding["approved"] = any(decisions[i]["approved"] for i in fixers)
            now = installed.get(finding["package"], finding["installed_version"])
            finding["closed"] = bool(now and finding["fixed_version"] and bl.compare_versions("apt", now, finding["fixed_version"]) >= 0)
        spent += time.process_time() - start
    return spent


def _cpu():
    """CPU seconds of this process and its children so far."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10000)
    parser.add_argument("--findings", type=int, default=200)
    parser.add_argument("--patches", type=int, default=60)
    parser.add_argument("--peer-hosts", type=int, default=500)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    load_before = os.getloadavg()
    total = args.hosts * args.findings
    figures = {}
    for fresh, label in ((True, "as the night runs it (cache emptied per host and phase)"),
                         (False, "one process for the fleet (cache kept across hosts)")):
        wall, cpu = time.perf_counter(), _cpu()
        plan_cpu, after_cpu, counts, closed = ours(args.hosts, args.findings, args.patches, args.seed, fresh)
        wall, cpu = time.perf_counter() - wall, _cpu() - cpu
        seconds = figures[fresh] = plan_cpu + after_cpu
        print("ours, %s:\n      %d hosts x %d findings (%d pending patches each): findings_plan %.2f s + after-the-night "
              "verdict %.2f s = %.2f s CPU (%.0f findings/s); the whole loop with the synthetic data's generation: "
              "%.1f s wall, %.1f s CPU" % (label, args.hosts, args.findings, args.patches, plan_cpu, after_cpu, seconds,
                                         total / seconds, wall, cpu))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    seconds = figures[True]
    print("      plans: %s; closed after the night: %d; peak memory (max RSS of the process) %.0f MiB"
          % (", ".join("%s %d" % kv for kv in counts.items()), closed, peak))
    C._compare.cache_clear()
    peer_hosts = min(args.peer_hosts, args.hosts)
    peer_seconds = peer(peer_hosts, args.findings, args.patches, args.seed) * args.hosts / peer_hosts
    print("peer: every finding against every patch, no index or cache: %.2f s CPU (measured on %d hosts, scaled to %d)"
          % (peer_seconds, peer_hosts, args.hosts))
    print("ratio: ours (as the night runs it) / peer CPU time %.2f; one process for the fleet %.2f s CPU"
          % (seconds / peer_seconds, figures[False]))
    print("load average (1, 5, 15 min) %.1f %.1f %.1f at the start, %.1f %.1f %.1f at the end, on %d cores; peak memory %.0f MiB"
          % (load_before + os.getloadavg() + (os.cpu_count(), peak)))
    print("target: %d hosts x %d findings under 10 s CPU, as the night runs it: %.2f s CPU -> %s"
          % (args.hosts, args.findings, seconds, "MET" if seconds < 10 else "NOT MET"))


if __name__ == "__main__":
    main()
