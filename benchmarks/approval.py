#!/usr/bin/env python3
"""Approval throughput: 1,000 hosts x 300 pending patches against 5 baselines.

Prints, for each way, the wall-clock and CPU seconds and the rate in decisions (patches decided)
per second of each (the machine may be shared: CPU time is the steadier figure), and how many of
the decisions approved the patch (a count, not a rate), for
  * per call:   approved_patches(patches, raw baseline, today) for every host, as the
                approved_patches filter does (validate() keeps its result per baseline
                content, so only the first host pays for validation); also shown with that
                cache turned off;
  * compiled:   the baseline validated once (validate() compiles its patterns) and reused;
  * previous:   the last committed implementation that matched patterns one by one and
                re-validated on every call (found in git history), same workload.
Usage: benchmarks/approval.py [--hosts N] [--patches N] [--seed N]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import subprocess
import sys
import time
from datetime import date, timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import conftest  # noqa: E402,F401  (puts ansible_collections.fleetpatch.hybrid on sys.path)

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import baseline as bl  # noqa: E402

TODAY = date(2026, 11, 27)
CLASSES = ["security"] * 5 + ["bugfix"] * 3 + ["enhancement", "other"]
SEVERITIES = ["critical", "important", "important", "moderate", "moderate", "low", "unspecified", "unspecified"]
PREFIXES = ["lib", "python3-", "linux-image-", "perl-", "fonts-", "node-", "golang-", "x11-", "", ""]


def make_fleet(hosts, per_host, seed):
    rng = random.Random(seed)
    pool = ["%s%s%d" % (rng.choice(PREFIXES), rng.choice(["ssl", "curl", "xml", "z", "gtk", "db", "ssh", "util"]), i)
            for i in range(3000)]
    fleet = []
    for _ in range(hosts):
        names = rng.sample(pool, per_host)
        fleet.append([{
            "name": name, "arch": "amd64", "manager": "apt",
            "installed_version": "1.%d-1" % (i % 7), "candidate_version": "1.%d-1+deb12u%d" % (i % 7, 1 + i % 3),
            "classification": rng.choice(CLASSES), "severity": rng.choice(SEVERITIES),
            "release_date": (TODAY - timedelta(days=rng.randint(0, 60))).isoformat() + "T09:00:00+00:00",
            "cves": [], "advisories": [], "reboot_hint": False, "origin": "Debian-Security:stable-security",
        } for i, name in enumerate(names)])
    return pool, fleet


def make_baselines(pool, seed):
    rng = random.Random(seed + 1)
    manifest = [{"name": name, "version": "1.%d-1+deb12u1" % (i % 7)} for i, name in enumerate(rng.sample(pool, 300))]
    return [
        {"name": "security-7d", "approval_rules": [{"classifications": ["security"], "approve_after_days": 7}],
         "rejected_patches": ["linux-image-*"]},
        {"name": "tiered", "operating_system": "DEBIAN",
         "approval_rules": [{"classifications": ["security"], "severities": ["critical", "important"], "compliance_level": "critical"},
                            {"classifications": ["security"], "approve_after_days": 3, "compliance_level": "high"},
                            {"classifications": ["bugfix"], "approve_after_days": 14, "compliance_level": "medium"}],
         "approved_patches": rng.sample(pool, 20)},
        {"name": "until-date", "approval_rules": [{"classifications": ["*"], "enable_non_security": True,
                                                   "approve_until_date": "2026-11-15"}]},
        {"name": "per-product", "operating_system": "DEBIAN",
         "approval_rules": [{"products": ["Debian12"], "classifications": ["*"], "enable_non_security": True,
                             "approve_after_days": 1},
                            {"products": ["Debian11"], "classifications": ["security"]}]},
        {"name": "prod-manifest", "approval_rules": [{"classifications": ["*"], "enable_non_security": True}],
         "rejected_patches": ["%s*" % p for p in ("fonts-", "x11-", "golang-")] + rng.sample(pool, 27),
         "rejected_patches_action": "allow_as_dependency", "approved_manifest": manifest},
    ]


def _git(*args):
    return subprocess.run(["git", "-C", ROOT] + list(args), check=True, capture_output=True, text=True).stdout


def previous_module():
    """The newest committed baseline.py from before patterns were compiled (no Matcher), or None."""
    try:
        revisions = _git("log", "--format=%H", "--", "plugins/module_utils/baseline.py").split()
        for revision in revisions:
            source = _git("show", "%s:plugins/module_utils/baseline.py" % revision)
            if "class Matcher" not in source:
                break
        else:
            return None, None
    except (OSError, subprocess.CalledProcessError):
        return None, None
    name = "ansible_collections.fleetpatch.hybrid.plugins.module_utils._baseline_previous"
    spec = importlib.util.spec_from_loader(name, loader=None)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "ansible_collections.fleetpatch.hybrid.plugins.module_utils"
    exec(compile(source, "%s:baseline.py" % revision[:10], "exec"), module.__dict__)
    return module, revision[:10]


def run(label, approve_host, fleet, baselines):
    start, cpu = time.perf_counter(), time.process_time()
    approved = 0
    for base in baselines:
        for patches in fleet:
            approved += len(approve_host(patches, base))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    total = len(fleet) * len(fleet[0]) * len(baselines)
    print("%-34s %7.2f s wall %9.0f decisions/s   %7.2f s CPU %9.0f decisions/CPU s   %d approved" % (
        label, seconds, total / seconds, cpu, total / cpu, approved))
    return cpu, approved


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--patches", type=int, default=300)
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()
    print("load average at start: %.1f %.1f %.1f on %d CPUs" % (os.getloadavg() + (os.cpu_count(),)))
    pool, fleet = make_fleet(args.hosts, args.patches, args.seed)
    baselines = make_baselines(pool, args.seed)
    print("approval of %d hosts x %d pending patches against %d baselines (%d decisions), Python %s" % (
        args.hosts, args.patches, len(baselines), args.hosts * args.patches * len(baselines), sys.version.split()[0]))

    start = time.perf_counter()
    compiled = [bl.validate(b) for b in baselines]
    print("validate + compile 5 baselines once: %.1f ms" % ((time.perf_counter() - start) * 1000))

    cache_key = bl._cache_key
    bl._cache_key = lambda baseline: None
    try:
        uncached, approved = run("per call, validated every time", lambda p, b: bl.approved_patches(p, b, TODAY),
                                 fleet, baselines)
    finally:
        bl._cache_key = cache_key
    per_call, approved_call = run("per call (as the filter does)", lambda p, b: bl.approved_patches(p, b, TODAY), fleet, baselines)
    once, approved_once = run("compiled once", lambda p, b: bl.approved_patches(p, b, TODAY), fleet, compiled)
    assert approved == approved_call == approved_once, "every path must decide exactly the same"
    print("ratio (CPU time) validated every time / compiled: %.2f; per call (validation cache) / compiled: %.2f" % (
        uncached / once, per_call / once))

    head, revision = previous_module()
    if head is None:
        print("previous implementation: not available (no git history)")
        return
    comparable = [dict((k, v) for k, v in b.items() if k in head.BASELINE_KEYS) for b in baselines]
    unsupported = [b["name"] for b, c in zip(baselines, comparable, strict=True) if c != b]
    old, _ = run("previous (%s)" % revision, lambda p, b: head.approved_patches(p, b, TODAY), fleet, comparable)
    print("ratio (CPU time) previous / compiled: %.2f%s" % (old / once, "  (previous ignores: %s of %s)" % (
        "approved_manifest/products/vendor names", ", ".join(unsupported)) if unsupported else ""))


if __name__ == "__main__":
    main()
