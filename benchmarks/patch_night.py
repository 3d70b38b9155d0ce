#!/usr/bin/env python3
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The whole patch night against a bare apt upgrade, on the same local hosts and pending set.

For each size (default 3 and 6 hosts) it boots a benchmark host set (tools/localfleet,
LOCALFLEET_HOSTS=bench, ports 2401...) fresh from the base image, then alternately runs
  bare:  one play, `apt-get update` + `apt-get dist-upgrade` on every host (no reboot)
  ours:  playbooks/patch_night.yml (preflight, scan with CVEs, approval, CR, health baseline,
         package-state snapshot, exact-version patch, reboot where the kernel asks, validate,
         rescan, report), every phase in the ledger
resetting the hosts before each run, and prints both wall times and the ratio.

Two pending sets, each the same for both sides:
  kernel:     every test package, including the kernel stand-in whose update asks for a reboot
              (ours reboots, as a patch night must; the bare run leaves the reboot pending)
  no-reboot:  the same set with the kernel stand-in already current (installed before timing),
              so neither side has a reason to reboot: the like-for-like cost of the lifecycle

    sudo .venv/bin/python benchmarks/patch_night.py [--sizes 3,6] [--rounds 1]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, LOCALFLEET_HOSTS="bench", LOCALFLEET_BASE_PORT="2401",
           PATH=os.path.join(ROOT, ".venv", "bin") + os.pathsep + os.environ["PATH"],
           ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
STATE = os.path.join(ROOT, ".cache", "localfleet")
BARE = """- name: Bare upgrade
  hosts: all
  gather_facts: false
  tasks:
    - name: Upgrade everything
      ansible.builtin.apt:
        upgrade: dist
        update_cache: true
"""


def localfleet(*args, quiet=False):
    subprocess.run([os.path.join(ROOT, "tools", "localfleet")] + list(args), env=ENV, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL if quiet else None)


def inventory(count, workdir):
    path = os.path.join(workdir, "bench.ini")
    with open(path, "w") as handle:
        handle.write("[bench]\n")
        for index in range(1, count + 1):
            handle.write("bench-%d ansible_host=127.0.0.1 ansible_port=%d fleetpatch_patch_group=bench "
                         "fleetpatch_snapshot_provider=package_state\n" % (index, 2400 + index))
        handle.write("\n[bench:vars]\nansible_user=root\nansible_python_interpreter=/usr/bin/python3\n"
                     "ansible_ssh_private_key_file=%s/keys/id_ed25519\n"
                     "ansible_ssh_common_args='-o UserKnownHostsFile=%s/bench/known_hosts -o StrictHostKeyChecking=yes'\n"
                     % (STATE, STATE))
    return path


def fresh_hosts(size, pending):
    localfleet("up", str(size), "--fresh")
    if pending == "no-reboot":
        for index in range(1, size + 1):
            localfleet("exec", "fp%d" % index, "apt-get -qq update && apt-get -qq install -y fp-kernel >/dev/null "
                       "&& rm -f /var/run/reboot-required /var/run/reboot-required.pkgs", quiet=True)


def timed(cmd, workdir):
    start = time.monotonic()
    result = subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, check=False)
    wall = time.monotonic() - start
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-3000:] + result.stderr[-2000:])
        raise SystemExit("benchmark run failed: %s" % " ".join(cmd))
    return wall


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="3,6")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--pending", default="kernel,no-reboot", help="pending sets to run: kernel,no-reboot")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="fp-bench-")
    bare = os.path.join(workdir, "bare.yml")
    with open(bare, "w") as handle:
        handle.write(BARE)
    print("patch night vs bare apt dist-upgrade, local test hosts (pending: the repo's test archive)")
    print("%6s %10s %10s %10s %8s" % ("hosts", "pending", "bare s", "ours s", "ratio"))
    try:
        for size in [int(s) for s in args.sizes.split(",")]:
            inv = inventory(size, workdir)
            for pending in args.pending.split(","):
                bare_times, our_times = [], []
                for round_ in range(args.rounds):
                    fresh_hosts(size, pending)
                    bare_times.append(timed(["ansible-playbook", "-i", inv, bare], workdir))
                    fresh_hosts(size, pending)
                    out = os.path.join(workdir, "out-%d-%s-%d" % (size, pending, round_))
                    our_times.append(timed(["ansible-playbook", "-i", inv, "playbooks/patch_night.yml",
                                            "-e", "fleetpatch_output_dir=%s" % out], workdir))
                b, o = min(bare_times), min(our_times)
                print("%6d %10s %10.1f %10.1f %7.2fx" % (size, pending, b, o, o / b), flush=True)
    finally:
        localfleet("down")
    print("(best of %d round(s); with pending=kernel ours includes the reboot the kernel stand-in asks for, the bare "
          "run reboots nothing)" % args.rounds)


if __name__ == "__main__":
    main()
