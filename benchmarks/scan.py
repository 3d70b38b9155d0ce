#!/usr/bin/env python3
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""patch_scan against the bare `apt list --upgradable`, on one local host with N pending packages.

Boots one benchmark host (tools/localfleet, LOCALFLEET_HOSTS=bench-scan, port 2451), installs N
generated packages at 1.0-1 and publishes 1.0-2 of each (changelogs naming CVEs) in an archive
inside the host, then times on the same host:
  bare:   apt list --upgradable                       (names and versions only)
  cold:   fleetpatch.hybrid.patch_scan, empty cache   (classification, CVEs from each changelog)
  warm:   fleetpatch.hybrid.patch_scan again          (changelogs from the per-version cache)
with the package lists already fresh (update_cache: false), and prints seconds and ratios.

    sudo .venv/bin/python benchmarks/scan.py [--packages 50] [--rounds 3]
"""

import argparse
import gzip
import json
import os
import shutil
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATE = os.path.join(ROOT, ".cache", "localfleet")
ENV = dict(os.environ, LOCALFLEET_HOSTS="bench-scan", LOCALFLEET_BASE_PORT="2451",
           PATH=os.path.join(ROOT, ".venv", "bin") + os.pathsep + os.environ["PATH"],
           ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
           ANSIBLE_STDOUT_CALLBACK="json")
SSH = ["ssh", "-i", os.path.join(STATE, "keys", "id_ed25519"), "-p", "2451", "-o", "BatchMode=yes",
       "-o", "UserKnownHostsFile=%s" % os.path.join(STATE, "bench-scan", "known_hosts"), "root@127.0.0.1"]


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, env=ENV, **kw)


def build(name, version, outdir, cves):
    work = tempfile.mkdtemp()
    os.makedirs(os.path.join(work, "DEBIAN"))
    doc = os.path.join(work, "usr", "share", "doc", name)
    os.makedirs(doc)
    entries = []
    for ver, date, text in (("1.0-2", "Mon, 02 Nov 2026 09:00:00 +0000", "Security fix (%s)." % ", ".join(cves)),
                            ("1.0-1", "Mon, 03 Jun 2024 10:00:00 +0000", "Initial release.")):
        if ver == "1.0-2" and version == "1.0-1":
            continue
        entries.append("%s (%s) bookworm-security; urgency=high\n\n  * %s\n\n -- Bench <b@fleetpatch.invalid>  %s\n"
                       % (name, ver, text, date))
    with gzip.open(os.path.join(doc, "changelog.Debian.gz"), "wb") as handle:
        handle.write("\n".join(entries).encode())
    with open(os.path.join(work, "DEBIAN", "control"), "w") as handle:
        handle.write("Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: Bench <b@fleetpatch.invalid>\n"
                     "Description: scan benchmark package\n" % (name, version))
    sh(["dpkg-deb", "--root-owner-group", "--build", work, os.path.join(outdir, "%s_%s_all.deb" % (name, version))])
    shutil.rmtree(work)


def prepare(count):
    work = tempfile.mkdtemp(prefix="fp-scan-bench-")
    old, repo = os.path.join(work, "old"), os.path.join(work, "repo")
    os.makedirs(old)
    os.makedirs(os.path.join(repo, "pool"))
    for i in range(count):
        name = "fp-bench-%03d" % i
        build(name, "1.0-1", old, [])
        build(name, "1.0-2", os.path.join(repo, "pool"), ["CVE-2026-%d" % (70000 + 2 * i), "CVE-2026-%d" % (70001 + 2 * i)])
    packages = sh(["apt-ftparchive", "packages", "pool"], cwd=repo).stdout
    with open(os.path.join(repo, "Packages"), "wb") as handle:
        handle.write(packages)
    release = sh(["apt-ftparchive", "-o", "APT::FTPArchive::Release::Label=Debian-Security",
                  "-o", "APT::FTPArchive::Release::Suite=stable-security", "release", "."], cwd=repo).stdout
    with open(os.path.join(repo, "Release"), "wb") as handle:
        handle.write(release)
    tar = sh(["tar", "-C", work, "-cf", "-", "old", "repo"]).stdout
    # a flat archive inside the host, trusted for this benchmark only
    subprocess.run(SSH + ["mkdir -p /srv/bench && tar -C /srv/bench -xf - && dpkg -i /srv/bench/old/*.deb >/dev/null && "
                          "echo 'deb [trusted=yes] file:/srv/bench/repo ./' > /etc/apt/sources.list.d/bench.list && "
                          "apt-get update -qq"], input=tar, check=True, capture_output=True)
    shutil.rmtree(work)


def timed(cmd):
    start = time.monotonic()
    subprocess.run(cmd, check=True, capture_output=True, env=ENV)
    return time.monotonic() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    inventory = tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False)
    inventory.write("bench ansible_host=127.0.0.1 ansible_port=2451 ansible_user=root ansible_python_interpreter=/usr/bin/python3 "
                    "ansible_ssh_private_key_file=%s ansible_ssh_common_args='-o UserKnownHostsFile=%s'\n"
                    % (os.path.join(STATE, "keys", "id_ed25519"), os.path.join(STATE, "bench-scan", "known_hosts")))
    inventory.close()
    scan = ["ansible", "bench", "-i", inventory.name, "-m", "fleetpatch.hybrid.patch_scan", "-a", "update_cache=false"]
    try:
        sh([os.path.join(ROOT, "tools", "localfleet"), "up", "1", "--fresh"])
        prepare(args.packages)
        out = subprocess.run(scan + ["-o"], check=True, capture_output=True, text=True, env=dict(ENV, ANSIBLE_STDOUT_CALLBACK="oneline"))
        pending = json.loads(out.stdout.split("=>", 1)[1])["summary"]
        bare, cold, warm = [], [], []
        for _round in range(args.rounds):
            bare.append(timed(SSH + ["apt list --upgradable >/dev/null 2>&1"]))
            subprocess.run(SSH + ["rm -rf /var/cache/fleetpatch"], check=True)
            cold.append(timed(scan))
            warm.append(timed(scan))
    finally:
        subprocess.run([os.path.join(ROOT, "tools", "localfleet"), "down"], env=ENV, capture_output=True, check=False)
        os.unlink(inventory.name)
    b, c, w = min(bare), min(cold), min(warm)
    print("patch_scan vs apt list --upgradable, one local host, %d pending (%d security, %d CVEs found)"
          % (pending["pending"], pending["security"], pending["cves"]))
    print("%-34s %8s %8s" % ("", "seconds", "ratio"))
    print("%-34s %8.2f %8s" % ("bare: apt list --upgradable (ssh)", b, "1.00x"))
    print("%-34s %8.2f %7.2fx" % ("patch_scan, cold changelog cache", c, c / b))
    print("%-34s %8.2f %7.2fx" % ("patch_scan, warm changelog cache", w, w / b))
    print("(best of %d; both include one ssh connection; patch_scan also pays Ansible's module transfer)" % args.rounds)


if __name__ == "__main__":
    main()
