#!/usr/bin/env python3
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The whole patch night against a bare apt upgrade, on the same local hosts and pending set.

For each size (default 3, 6 and 12 hosts) it boots a benchmark host set (tools/localfleet,
LOCALFLEET_HOSTS=bench, ports 2401...) fresh from the base image, then alternately runs
  bare:  one play, `apt-get update` + `apt-get dist-upgrade` on every host (no reboot)
  ours:  playbooks/patch_night.yml (preflight, scan with CVEs, approval, CR, health baseline,
         package-state snapshot, exact-version patch, reboot where the kernel asks, validate,
         rescan, report), every phase in the ledger
resetting the hosts before each run, and prints both wall times and the ratio.

Three pending sets, each the same for both sides (identical host preparation, outside timing):
  kernel:     every test package (tools/testpackages.json), including the kernel stand-in whose
              update asks for a reboot (ours reboots, as a patch night must; the bare run leaves
              the reboot pending)
  no-reboot:  the same set with the kernel stand-in already current (installed before timing),
              so neither side has a reason to reboot: the like-for-like cost of the lifecycle
  security:   the real pending Debian bookworm updates of a fresh host (the base is debootstrapped
              from the point release: perl-base, libssl3, apt, python3.11, tzdata, ...). The .debs
              are fetched once from the live mirror (through a bench host's disabled live sources)
              and frozen in .cache/bench/security/ (debs/ and manifest.json: fetch date, name=version
              list); later runs reuse them, network-free (--refresh-security fetches again). They are
              served as a signed local archive that looks like Debian's (dists/bookworm-security,
              Label Debian-Security, InRelease signed with the local test archive key the hosts
              trust), copied into each host at /srv/bench-security and the only apt source there
              (it replaces fleetpatch-test.list). Mirror unreachable and no cache: the set is skipped
              with one line saying why.

After each timed run (outside timing) it reads every host's installed packages (dpkg-query) and
what apt still has pending, and fails loudly unless ours and bare end with the same installed
versions on every host and nothing pending.

    sudo .venv/bin/python benchmarks/patch_night.py [--sizes 3,6,12] [--rounds 1]
        [--pending kernel,no-reboot,security] [--refresh-security]
"""

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, LOCALFLEET_HOSTS="bench", LOCALFLEET_BASE_PORT="2401",
           PATH=os.path.join(ROOT, ".venv", "bin") + os.pathsep + os.environ["PATH"],
           ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
LOCALFLEET = os.path.join(ROOT, "tools", "localfleet")
STATE = os.path.join(ROOT, ".cache", "localfleet")
SECURITY_CACHE = os.path.join(ROOT, ".cache", "bench", "security")
SECURITY_MOUNT = "/srv/bench-security"
SECURITY_SUITE = "bookworm-security"
KEYRING = "/etc/apt/keyrings/fleetpatch-test.gpg"
PENDING_SETS = ("kernel", "no-reboot", "security")
BARE = """- name: Bare upgrade
  hosts: all
  gather_facts: false
  tasks:
    - name: Upgrade everything
      ansible.builtin.apt:
        upgrade: dist
        update_cache: true
"""
# On a fresh bench host: refresh the lists from the live Debian sources only (the local test
# archive left out), list what a dist-upgrade would install, download it into apt's cache.
FETCH_SH = r"""set -e
grep -v '^#' /etc/apt/sources.list.d/debian-live.list.disabled > /tmp/live.list
O="-o Dir::Etc::sourcelist=/tmp/live.list -o Dir::Etc::sourceparts=/nonexistent -o Acquire::Retries=1"
O="$O -o Acquire::http::Timeout=20"
apt-get -q $O --error-on=any update >/tmp/fetch.log 2>&1 || { grep -E '^(E|W):' /tmp/fetch.log >&2; exit 3; }
rm -f /var/cache/apt/archives/*.deb
apt-get -q $O -s dist-upgrade | sed -n 's/^Inst \([^ ]*\) .*(\([^ ]*\) .*/\1=\2/p' > /tmp/fetch.list
apt-get -q $O -d -y dist-upgrade >>/tmp/fetch.log 2>&1 || { grep -E '^(E|W):' /tmp/fetch.log >&2; exit 4; }
"""


class BenchError(Exception):
    """The benchmark cannot go on, or its two sides did not do the same work."""


def localfleet(*args, quiet=False):
    subprocess.run([LOCALFLEET] + list(args), env=ENV, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL if quiet else None)


def host_exec(host, command, stdout=None):
    """Run a shell command on a bench host; (rc, stdout text or None, stderr text)."""
    result = subprocess.run([LOCALFLEET, "exec", host, command], env=ENV, stdout=stdout or subprocess.PIPE,
                            stderr=subprocess.PIPE, check=False)
    out = result.stdout.decode("utf-8", "replace") if stdout is None else None
    return result.returncode, out, result.stderr.decode("utf-8", "replace").strip()


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


# --------------------------------------------------------------------------- the security set

def read_manifest():
    try:
        with open(os.path.join(SECURITY_CACHE, "manifest.json")) as handle:
            manifest = json.load(handle)
    except (OSError, ValueError):
        return None
    debs = os.path.join(SECURITY_CACHE, "debs")
    if not manifest.get("packages") or not all(os.path.exists(os.path.join(debs, d)) for d in manifest.get("debs", [])):
        return None
    return manifest


def fetch_security():
    """The real pending Debian updates of a fresh host, downloaded once on bench host fp1."""
    localfleet("up", "1", "--fresh")
    rc, _, err = host_exec("fp1", FETCH_SH)
    if rc != 0:
        lines = err.splitlines() or ["exit %d" % rc]
        why = next((line for line in lines if "Failed to fetch" in line or "Could not" in line), lines[-1])
        raise BenchError("the live Debian mirror could not be used from a bench host (%s)" % why[:300])
    rc, listing, err = host_exec("fp1", "cat /tmp/fetch.list")
    packages = sorted(line.strip() for line in listing.splitlines() if line.strip())
    if rc != 0 or not packages:
        raise BenchError("the live mirror offers no pending update for a fresh host, nothing to benchmark")
    os.makedirs(os.path.dirname(SECURITY_CACHE), exist_ok=True)
    staging = tempfile.mkdtemp(prefix="security-", dir=os.path.dirname(SECURITY_CACHE))
    try:
        os.makedirs(os.path.join(staging, "debs"))
        with open(os.path.join(staging, "debs.tar"), "wb") as handle:
            rc, _, err = host_exec("fp1", "tar c -C /var/cache/apt/archives --exclude=partial --exclude=lock .",
                                   stdout=handle)
        if rc != 0:
            raise BenchError("copying the downloaded packages back from fp1 failed: %s" % err)
        subprocess.run(["tar", "x", "-f", os.path.join(staging, "debs.tar"), "-C", os.path.join(staging, "debs")],
                       check=True)
        os.remove(os.path.join(staging, "debs.tar"))
        debs = sorted(name for name in os.listdir(os.path.join(staging, "debs")) if name.endswith(".deb"))
        size = sum(os.path.getsize(os.path.join(staging, "debs", d)) for d in debs)
        manifest = {"fetched": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "source": "the live sources of a fresh bench host (/etc/apt/sources.list.d/debian-live.list.disabled)",
                    "packages": packages, "debs": debs, "bytes": size}
        with open(os.path.join(staging, "manifest.json"), "w") as handle:
            json.dump(manifest, handle, indent=2)
            handle.write("\n")
        shutil.rmtree(SECURITY_CACHE, ignore_errors=True)
        os.rename(staging, SECURITY_CACHE)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def security_set(refresh):
    """(manifest, note): the frozen set, fetched now if asked or missing; manifest None to skip."""
    cached = read_manifest()
    if cached and not refresh:
        return cached, None
    try:
        return fetch_security(), None
    except (BenchError, subprocess.CalledProcessError) as exc:
        if cached:
            return cached, "refresh failed, using the cache of %s: %s" % (cached["fetched"], exc)
        return None, str(exc)


def build_security_repo():
    """A signed local archive laid out like Debian's bookworm-security, from the frozen debs (signed
    with the local test archive's key, which the hosts trust)."""
    repo = os.path.join(SECURITY_CACHE, "repo")
    localfleet("archive", os.path.join(SECURITY_CACHE, "debs"), repo, "--codename", SECURITY_SUITE,
               "--label", "Debian-Security", "--origin", "Debian", "--version", "12")
    return repo


# --------------------------------------------------------------------------- hosts

def hosts(size):
    return ["fp%d" % index for index in range(1, size + 1)]


def fresh_hosts(size, pending, security_repo=None):
    localfleet("up", str(size), "--fresh")
    for host in hosts(size):
        if pending == "no-reboot":
            localfleet("exec", host, "apt-get -qq update && apt-get -qq install -y fp-kernel >/dev/null "
                       "&& rm -f /var/run/reboot-required /var/run/reboot-required.pkgs", quiet=True)
        elif pending == "security":
            localfleet("copy", host, security_repo, SECURITY_MOUNT)
            localfleet("exec", host, "rm -f /etc/apt/sources.list.d/fleetpatch-test.list && echo 'deb [signed-by=%s] "
                       "file:%s %s main' > /etc/apt/sources.list.d/bench-security.list" % (
                           KEYRING, SECURITY_MOUNT, SECURITY_SUITE))


def host_state(size):
    """Per host: {package: version} of what dpkg has installed, and the upgrades apt still offers."""
    state = {}
    for host in hosts(size):
        rc, out, err = host_exec(host, "dpkg-query -W -f '${db:Status-Abbrev} ${Package}:${Architecture} ${Version}\\n'"
                                       " && echo --- && apt-get -s -o Debug::NoLocking=1 dist-upgrade")
        if rc != 0:
            raise BenchError("reading the packages of %s failed: %s" % (host, err))
        listing, _, simulation = out.partition("\n---\n")
        installed = {}
        for line in listing.splitlines():
            fields = line.split()
            if len(fields) == 3 and fields[0] in ("ii", "hi"):
                installed[fields[1]] = fields[2]
        pending = sorted(line.split()[1] for line in simulation.splitlines() if line.startswith("Inst "))
        state[host] = {"installed": installed, "pending": pending}
    return state


def compare(before, bare, ours):
    """Fail unless both sides end with the same installed versions and nothing pending; the upgraded count."""
    problems = []
    upgraded = set()
    for host in sorted(before):
        for side, after in (("bare", bare[host]), ("ours", ours[host])):
            if after["pending"]:
                problems.append("%s on %s: still pending %s" % (side, host, ", ".join(after["pending"])))
        names = set(bare[host]["installed"]) | set(ours[host]["installed"])
        differ = sorted("%s bare=%s ours=%s" % (n, bare[host]["installed"].get(n, "-"), ours[host]["installed"].get(n, "-"))
                        for n in names if bare[host]["installed"].get(n) != ours[host]["installed"].get(n))
        if differ:
            problems.append("%s: bare and ours differ: %s" % (host, "; ".join(differ)))
        upgraded.update("%s=%s" % (n, v) for n, v in ours[host]["installed"].items()
                        if before[host]["installed"].get(n) != v)
    if problems:
        raise BenchError("the two sides did not install the same pending set:\n  " + "\n  ".join(problems))
    return upgraded


def timed(cmd, log):
    # the fresh hosts' files (the deleted and the new overlay layers) are written back first, so that
    # neither side pays for the previous run's disk writes: dpkg syncs every file it unpacks
    os.sync()
    start = time.monotonic()
    result = subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, check=False)
    wall = time.monotonic() - start
    with open(log, "w") as handle:  # each run's output stays in the work directory
        handle.write(result.stdout + result.stderr)
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-3000:] + result.stderr[-2000:])
        raise BenchError("benchmark run failed: %s" % " ".join(cmd))
    return wall


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="3,6,12")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--pending", default=",".join(PENDING_SETS),
                        help="pending sets to run, comma-separated: %s" % ",".join(PENDING_SETS))
    parser.add_argument("--refresh-security", action="store_true",
                        help="fetch the security set from the live mirror again instead of reusing the cache")
    args = parser.parse_args()
    pendings = [p.strip() for p in args.pending.split(",") if p.strip()]
    unknown = [p for p in pendings if p not in PENDING_SETS]
    if unknown:
        parser.error("unknown pending set %s; choose from %s" % (", ".join(unknown), ", ".join(PENDING_SETS)))
    workdir = tempfile.mkdtemp(prefix="fp-bench-")
    bare = os.path.join(workdir, "bare.yml")
    with open(bare, "w") as handle:
        handle.write(BARE)
    security_repo, checked = None, {}
    try:
        if "security" in pendings:
            manifest, note = security_set(args.refresh_security)
            if manifest is None:
                print("security set skipped: %s, and there is no cache in %s" % (note, SECURITY_CACHE))
                pendings.remove("security")
            else:
                security_repo = build_security_repo()
                print("security set: %d real Debian bookworm updates (%.1f MB of .debs) fetched from the live mirror on "
                      "%s, served as a signed local bookworm-security archive (Label Debian-Security); ours runs with its default "
                      "baseline, no extra vars%s" % (
                          len(manifest["packages"]), manifest["bytes"] / 1e6, manifest["fetched"],
                          "; " + note if note else ""))
                print("  %s" % " ".join(manifest["packages"]))
        print("patch night vs bare apt dist-upgrade, local test hosts (pending: kernel/no-reboot the repo's test archive, "
              "security real Debian packages)")
        print("%6s %10s %10s %10s %8s %8s   %s" % ("hosts", "pending", "bare s", "ours s", "ratio", "paired", "every round (bare/ours s)"))
        for size in [int(s) for s in args.sizes.split(",")]:
            inv = inventory(size, workdir)
            for pending in pendings:
                bare_times, our_times = [], []
                for round_ in range(args.rounds):
                    fresh_hosts(size, pending, security_repo)
                    before = host_state(size)
                    bare_times.append(timed(["ansible-playbook", "-i", inv, bare],
                                            os.path.join(workdir, "bare-%d-%s-%d.log" % (size, pending, round_))))
                    bare_state = host_state(size)
                    fresh_hosts(size, pending, security_repo)
                    out = os.path.join(workdir, "out-%d-%s-%d" % (size, pending, round_))
                    our_times.append(timed(["ansible-playbook", "-i", inv, "playbooks/patch_night.yml",
                                            "-e", "fleetpatch_output_dir=%s" % out], out + ".log"))
                    upgraded = compare(before, bare_state, host_state(size))
                    checked.setdefault(pending, set()).update(upgraded)
                b, o = min(bare_times), min(our_times)
                rounds = " ".join("%.1f/%.1f" % pair for pair in zip(bare_times, our_times, strict=True))
                paired = statistics.median(ours / bare for bare, ours in zip(bare_times, our_times, strict=True))
                print("%6d %10s %10.1f %10.1f %7.2fx %7.2fx   %s" % (size, pending, b, o, o / b, paired, rounds), flush=True)
    except BenchError as exc:
        raise SystemExit("benchmark failed: %s" % exc)
    finally:
        localfleet("down")
    print("(ratio: best ours / best bare; paired: the median over the rounds of ours / bare, each pair run back to back "
          "on the same fresh hosts)")
    print("(each run's output, ledger and report: %s)" % workdir)
    print("(best of %d round(s); with pending=kernel ours includes the reboot the kernel stand-in asks for, the bare "
          "run reboots nothing)" % args.rounds)
    if checked:
        print("(checked after every run: bare and ours left the same installed versions on every host and nothing pending; "
              "upgrades per host: %s)" % ", ".join("%s %d" % (p, len(checked[p])) for p in pendings if p in checked))


if __name__ == "__main__":
    main()
