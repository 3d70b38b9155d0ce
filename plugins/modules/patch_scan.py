#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: patch_scan
short_description: Pending patches of a host, with classification, advisories and CVEs
version_added: 0.1.0
description:
  - Lists the updates a host is missing in one record shape for every OS family
    (name, arch, installed and candidate version, origin, classification, severity,
    release date, advisory ids, CVE ids, reboot hint).
  - On apt hosts the classification comes from the archive the candidate is published in
    (its Release C(Label) and suite, for example C(Debian-Security) and C(stable-security)),
    and the CVE and advisory ids from the changelog entries of the candidate package that
    are newer than the installed version (the candidate C(.deb) is downloaded and its
    changelog read; results are cached per package version under O(cache_dir)). The severity
    comes from O(vulnerability_data) when given, else it is C(unspecified).
  - On dnf and yum hosts (RHEL, Rocky, Alma, Oracle Linux, Amazon Linux, Fedora) the pending
    updates come from C(check-update) and their classification, severity, advisory ids, CVEs
    and dates from the repositories' updateinfo (C(updateinfo info)).
  - On zypper hosts (SUSE) the package updates are matched to the needed patches, which give
    category, severity, CVEs and date; a needed patch none of whose packages could be matched
    is returned as a record named C(patch:NAME).
  - It never changes installed packages. Refreshing the package lists (O(update_cache)) and
    the changelog cache are not reported as a change; in check mode neither is written (apt
    reads fresh lists from a private temporary directory instead, see O(update_cache)).
author:
  - fleetpatch.hybrid developers (@fleetpatch)
options:
  update_cache:
    description:
      - Refresh the package lists before scanning (C(apt-get update)).
      - In check mode on apt hosts the lists are refreshed into a private temporary directory
        that is removed when the scan ends, so a dry run sees what the real night will see while
        the host's own lists stay untouched. On dnf/yum/zypper hosts check mode skips the refresh.
    type: bool
    default: true
  changelogs:
    description: Read the candidate packages' changelogs for CVE and advisory ids.
    type: bool
    default: true
  cache_dir:
    description: Where parsed changelogs are kept between scans, per package version.
    type: path
    default: /var/cache/fleetpatch
  packages:
    description: Names whose installed version to report in RV(installed), to prove what a patch installed.
    type: list
    elements: str
    default: []
  lock_timeout:
    description: Seconds to wait for the package manager lock when refreshing the lists.
    type: int
    default: 60
  package_manager:
    description:
      - The package manager to scan with. V(auto) picks it from C(/etc/os-release) (C(ID) and
        C(ID_LIKE)), falling back to the first of apt-get, dnf, yum and zypper found.
    type: str
    choices: [auto, apt, dnf, yum, zypper]
    default: auto
  dependencies:
    description:
      - Ask the package manager which other pending patches each pending patch needs (its
        simulated upgrade by the package manager's own resolver), returned in
        RV(dependencies) for the approval engine, so that
        C(rejected_patches_action=block) also blocks a patch that needs a rejected one.
      - apt, python3-apt's depcache, else C(apt-get -s install NAME); dnf, its Python API (python3-dnf, cache only),
        else C(dnf -C --assumeno upgrade NAME); yum, C(yum -C --assumeno update NAME); zypper,
        C(zypper --no-refresh update --dry-run NAME).
      - Nothing is installed, locked or downloaded (zypper's dry run takes the zypp lock while it runs).
    type: bool
    default: true
  vulnerability_data:
    description:
      - Path on the target to a vulnerability data file giving apt patches their severity,
        the Debian security tracker JSON (U(https://security-tracker.debian.org/tracker/data/json))
        or an Ubuntu OVAL XML file, plain or compressed with gzip, bzip2 or xz.
      - With the tracker JSON the patch also gets the CVEs the tracker marks fixed by its
        candidate version in the host's release (C(VERSION_CODENAME) of C(/etc/os-release)).
      - Ignored on other package managers, whose repositories carry severities.
    type: path
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Supports apt (Debian, Ubuntu), dnf and yum (RHEL family, Amazon Linux, Fedora) and zypper
    (SUSE). Windows hosts are scanned with M(ansible.windows.win_updates) in search mode.
  - On dnf/yum/zypper O(changelogs) and O(cache_dir) do not apply (their metadata names the CVEs).
  - The commands run and how their output maps to the record are in docs/scan.md.
"""

EXAMPLES = r"""
- name: Scan for pending patches
  fleetpatch.hybrid.patch_scan:
  register: scan

- name: Prove what a patch installed, without refreshing the lists
  fleetpatch.hybrid.patch_scan:
    update_cache: false
    packages: "{{ scan.patches | map(attribute='name') | list }}"
  register: rescan

- name: Scan a Debian host with severities from the security tracker
  fleetpatch.hybrid.patch_scan:
    vulnerability_data: /var/lib/fleetpatch/debian-tracker.json.gz
  register: scan
"""

RETURN = r"""
product:
  description: The host's product as SSM names it (from /etc/os-release), for baseline rules that name products; null when unknown.
  returned: always
  type: str
  sample: Debian12
package_manager:
  description: The package manager that was scanned (apt, dnf, yum or zypper).
  returned: always
  type: str
  sample: apt
patches:
  description: Pending patches, one record each.
  returned: always
  type: list
  elements: dict
  sample:
    - name: openssl
      arch: amd64
      installed_version: 3.0.15-1~deb12u1
      candidate_version: 3.0.16-1~deb12u1
      origin: Debian-Security:stable-security
      classification: security
      severity: unspecified
      release_date: "2025-02-12T19:30:00+00:00"
      advisories: [DSA-5865-1]
      cves: [CVE-2024-12797]
      reboot_hint: false
      manager: apt
dependencies:
  description:
    - For each pending patch that needs other pending patches, their names (from its simulated upgrade by the host's
      package manager; see RV(dependency_resolver)).
    - Empty when O(dependencies=false), when fewer than two patches are pending, or when the resolver failed (with a warning).
  returned: always
  type: dict
  sample: {fp-depapp: [fp-deplib]}
dependency_resolver:
  description:
    - What resolved RV(dependencies); null when nothing did.
    - C(python3-apt) or C(apt-get -s install) on apt hosts, C(python3-dnf) or C(dnf --assumeno upgrade) on dnf hosts,
      C(yum --assumeno update) on yum hosts, C(zypper update --dry-run) on zypper hosts.
  returned: always
  type: str
  sample: python3-apt
removals:
  description: Packages the upgrade would remove (on dnf/yum, the packages obsoleted by an update).
  returned: always
  type: list
  elements: dict
  sample: []
installed:
  description: Installed version of each name asked for in O(packages); null when not installed.
  returned: always
  type: dict
  sample: {openssl: 3.0.16-1~deb12u1}
summary:
  description: Counts of the pending set.
  returned: always
  type: dict
  sample: {pending: 5, security: 4, cves: 6, reboot_hint: false}
cache_updated:
  description: Whether the package lists were refreshed.
  returned: always
  type: bool
  sample: true
vulnerability_data:
  description: The vulnerability data applied to the apt patches.
  returned: when O(vulnerability_data) is set on an apt host
  type: dict
  sample: {path: /var/lib/fleetpatch/debian-tracker.json.gz, format: debian_tracker, release: bookworm}
"""

import atexit
import json
import os
import shlex
import shutil
import tempfile
import zlib

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import apt as aptlib
from ansible_collections.fleetpatch.hybrid.plugins.module_utils import changelog as changeloglib
from ansible_collections.fleetpatch.hybrid.plugins.module_utils import dnf as dnflib
from ansible_collections.fleetpatch.hybrid.plugins.module_utils import osinfo
from ansible_collections.fleetpatch.hybrid.plugins.module_utils import vulndata as vulnlib
from ansible_collections.fleetpatch.hybrid.plugins.module_utils import zypper as zypperlib
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.baseline import product_from_os_release
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.patch import make_patch
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.safe_write import write_atomic

APT_ENV = {"LANG": "C", "LC_ALL": "C", "DEBIAN_FRONTEND": "noninteractive"}
RPM_ENV = {"LANG": "C", "LC_ALL": "C"}
CACHE_FORMAT = 1
# ["-o", "Dir::State::Lists=DIR"] while a check-mode scan works on private package lists
APT_LISTS = []


def private_apt_lists(module):
    lists = tempfile.mkdtemp(prefix="fleetpatch-lists-")
    os.mkdir(os.path.join(lists, "partial"))
    atexit.register(shutil.rmtree, lists, True)
    APT_LISTS[:] = ["-o", "Dir::State::Lists=%s/" % lists]


def run_checked(module, cmd, what, cwd=None):
    rc, out, err = module.run_command(cmd, environ_update=APT_ENV, cwd=cwd)
    if rc != 0:
        module.fail_json(msg="%s failed (rc=%s): %s" % (what, rc, (err or out).strip()[-500:]), cmd=cmd)
    return out


def installed_versions(module, names):
    if not names:
        return {}
    rc, out, dummy = module.run_command(["dpkg-query", "-W", "-f", "${Package}\\t${db:Status-Abbrev}\\t${Version}\\n"] + list(names),
                                        environ_update=APT_ENV)
    found = {}
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[1].startswith("ii"):
            found[parts[0]] = parts[2]
    return dict((name, found.get(name)) for name in names)


def cache_path(cache_dir, upgrade):
    return os.path.join(cache_dir, "changelogs", "%s_%s_%s.json" % (
        upgrade["name"], upgrade["candidate_version"].replace(":", "%3a"), upgrade["arch"]))


def read_cached(filename):
    try:
        with open(filename) as handle:
            data = json.load(handle)
        return data if data.get("format") == CACHE_FORMAT else None
    except (OSError, ValueError):
        return None


def changelog_from_deb(module, deb, name):
    """The changelog text carried in a .deb, or None when it has none of its own.

    Only the changelog member is extracted (tar streams the package), whatever the
    package's compression (dpkg-deb handles xz, gzip and zstd).
    """
    members = " ".join(shlex.quote(m) for m in aptlib.changelog_member_names(name))
    cmd = "dpkg-deb --fsys-tarfile %s | tar -xOf - %s 2>/dev/null" % (shlex.quote(deb), members)
    dummy, data, dummy = module.run_command(cmd, use_unsafe_shell=True, encoding=None, environ_update=APT_ENV)
    if not data:
        return None
    try:
        return zlib.decompress(data, 16 + zlib.MAX_WBITS).decode("utf-8", "replace")
    except zlib.error:
        return None


def fetch_changelogs(module, upgrades, cache_dir):
    """Parsed changelog entries per upgrade, downloading the candidates not cached yet."""
    found, missing = {}, []
    for upgrade in upgrades:
        cached = read_cached(cache_path(cache_dir, upgrade))
        if cached is not None:
            found[upgrade["name"]] = cached["entries"]
        else:
            missing.append(upgrade)
    if not missing:
        return found
    workdir = tempfile.mkdtemp(prefix="fleetpatch-scan-")
    try:
        specs = ["%s:%s=%s" % (u["name"], u["arch"], u["candidate_version"]) if u["arch"] != "all"
                 else "%s=%s" % (u["name"], u["candidate_version"]) for u in missing]
        rc, out, err = module.run_command(["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root"] + APT_LISTS + specs,
                                          environ_update=APT_ENV, cwd=workdir)
        if rc != 0:
            module.warn("could not download every candidate package for its changelog: %s" % (err or out).strip()[-300:])
        debs = dict((f.split("_", 1)[0], os.path.join(workdir, f)) for f in os.listdir(workdir) if f.endswith(".deb"))
        # one changelog per source package and version, read from its smallest .deb that has one
        for group in aptlib.changelog_groups(missing, source_packages(module, [u["name"] for u in missing])):
            downloaded = sorted((u for u in group if u["name"] in debs), key=lambda u: os.path.getsize(debs[u["name"]]))
            if not downloaded:
                continue
            entries = []
            for upgrade in downloaded:
                text = changelog_from_deb(module, debs[upgrade["name"]], upgrade["name"])
                if text:
                    entries = changeloglib.parse_changelog(text, limit=200)
                    break
            for upgrade in group:
                found[upgrade["name"]] = entries
                if not module.check_mode:
                    store_cache(cache_path(cache_dir, upgrade), entries)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return found


def store_cache(filename, entries):
    try:
        os.makedirs(os.path.dirname(filename), mode=0o755, exist_ok=True)
        write_atomic(filename, json.dumps({"format": CACHE_FORMAT, "entries": entries}), mode=0o644)
    except OSError:
        pass


def scan_apt(module):
    params = module.params
    cache_updated = False
    if params["update_cache"] and not module.check_mode:
        run_checked(module, ["apt-get", "update", "-q", "-o", "DPkg::Lock::Timeout=%d" % params["lock_timeout"]],
                    "apt-get update")
        cache_updated = True
    elif params["update_cache"]:
        # check mode (a dry run): fresh lists, as the real night will see them, in a private
        # directory removed when the module ends; the host's own lists and locks stay untouched
        private_apt_lists(module)
        run_checked(module, ["apt-get", "update", "-q", "-o", "Debug::NoLocking=1", "-o", "APT::Sandbox::User=root"] + APT_LISTS,
                    "apt-get update (private lists, check mode)")
        cache_updated = True
    out = run_checked(module, ["apt-get", "-s", "-o", "Debug::NoLocking=1", "dist-upgrade"] + APT_LISTS, "apt-get -s dist-upgrade")
    upgrades, removals = aptlib.parse_simulation(out)
    entries = fetch_changelogs(module, upgrades, params["cache_dir"]) if params["changelogs"] else {}

    def summary_for(upgrade):
        return changeloglib.summarize(entries.get(upgrade["name"], []), upgrade["installed_version"], upgrade["candidate_version"])

    patches = aptlib.build_patches(upgrades, summary_for, make_patch)
    return patches, removals, cache_updated


def source_packages(module, names):
    """{binary: source} for installed packages whose source package has another name."""
    if not names:
        return {}
    dummy, out, dummy = module.run_command(["dpkg-query", "-W", "-f", "${Package}\\t${source:Package}\\n"] + list(names),
                                           environ_update=APT_ENV)
    found = {}
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) == 2 and parts[1] and parts[1] != parts[0]:
            found[parts[0]] = parts[1]
    return found


def apply_vulnerability_data(module, patches, path, os_release):
    try:
        with open(path, "rb") as handle:
            text = vulnlib.read_text(handle.read())
        kind = vulnlib.detect(text)
        source_of = source_packages(module, [p["name"] for p in patches]) if kind == "debian_tracker" else {}
        sources = sorted(set(source_of.get(p["name"], p["name"]) for p in patches))
        data = vulnlib.load(text, sources)
    except (OSError, EOFError, ValueError) as exc:
        module.fail_json(msg="vulnerability_data: cannot use %s: %s" % (path, exc))
    release = os_release.get("VERSION_CODENAME") or None
    info = {"path": path, "format": data["format"], "release": release}
    return vulnlib.apply(patches, data, release, source_of), info


def run_rpm_query(module):
    rc, out, err = module.run_command(["rpm", "-qa", "--qf", dnflib.RPM_QA_FORMAT], environ_update=RPM_ENV)
    if rc != 0:
        module.fail_json(msg="rpm -qa failed (rc=%s): %s" % (rc, (err or out).strip()[-500:]))
    return dnflib.parse_rpm_qa(out)


def scan_rpm(module, manager):
    """dnf or yum: check-update, the advisories of the updates, installed versions."""
    params = module.params
    binary = module.get_bin_path(manager, required=True)
    refresh = params["update_cache"] and not module.check_mode
    cmd = [binary, "-q", "check-update"]
    if refresh and manager == "dnf":
        cmd.append("--refresh")
    elif refresh:
        run_checked(module, [binary, "-q", "clean", "expire-cache"], "yum clean expire-cache")
    rc, out, err = module.run_command(cmd, environ_update=RPM_ENV)
    if rc not in (0, 100):
        module.fail_json(msg="%s check-update failed (rc=%s): %s" % (manager, rc, (err or out).strip()[-500:]), cmd=cmd)
    updates, obsoletes = dnflib.parse_check_update(out)
    advisories, entries = [], []
    if updates:
        if manager == "dnf":
            info_cmd = [binary, "-q", "-v", "updateinfo", "info", "--updates"]
        else:
            info_cmd = [binary, "-q", "updateinfo", "info", "updates"]
        rc, out, err = module.run_command(info_cmd, environ_update=RPM_ENV)
        if rc == 0:
            advisories = dnflib.parse_updateinfo_info(out)
        else:
            module.warn("%s updateinfo failed (rc=%s), updates are not classified: %s" % (manager, rc, (err or out).strip()[-300:]))
        if manager == "yum" and rc == 0:
            rc, out, err = module.run_command([binary, "-q", "updateinfo", "list", "updates"], environ_update=RPM_ENV)
            entries = dnflib.parse_updateinfo_list(out) if rc == 0 else []
    installed = run_rpm_query(module)
    patches = dnflib.build_patches(updates, advisories, installed, make_patch, entries, manager=manager)
    removals = [{"name": o["name"], "installed_version": o["installed_version"]} for o in obsoletes]
    return patches, removals, refresh, dnflib.installed_by_name(installed)


ZYPPER_OK = (0, 100, 101, 102, 103, 106)


def run_zypper(module, args, what):
    env = dict(RPM_ENV, ZYPP_LOCK_TIMEOUT=str(module.params["lock_timeout"]))
    rc, out, err = module.run_command(args, environ_update=env)
    if rc not in ZYPPER_OK:
        problems = "; ".join(text for _kind, text in zypperlib.messages(out)) or (err or out).strip()[-500:]
        module.fail_json(msg="%s failed (rc=%s): %s" % (what, rc, problems), cmd=args)
    if rc == 106:
        module.warn("%s: some repositories could not be refreshed; the scan may miss updates" % what)
    return out


def scan_zypper(module):
    params = module.params
    binary = module.get_bin_path("zypper", required=True)
    refresh = params["update_cache"] and not module.check_mode
    if refresh:
        run_zypper(module, [binary, "-n", "refresh"], "zypper refresh")
    base = [binary, "-n", "--no-refresh"]
    try:
        patches = zypperlib.parse_patches(run_zypper(module, base + ["--xmlout", "list-patches"], "zypper list-patches"))
        updates = zypperlib.parse_updates(run_zypper(module, base + ["--xmlout", "list-updates"], "zypper list-updates"))
    except zypperlib.ZypperOutputError as exc:
        module.fail_json(msg=str(exc))
    patch_packages = {}
    if patches:
        rc, out, err = module.run_command(base + ["info", "-t", "patch"] + [p["name"] for p in patches],
                                          environ_update=RPM_ENV)
        if rc not in (0, 104):
            module.warn("zypper info -t patch failed (rc=%s); patches are reported as patch:NAME records: %s"
                        % (rc, (err or out).strip()[-300:]))
        patch_packages = zypperlib.parse_patch_info(out)
    installed = run_rpm_query(module)
    records = zypperlib.build_patches(updates, patches, patch_packages, make_patch)
    return records, [], refresh, dnflib.installed_by_name(installed)


def apt_simulation_resolver(module):
    def resolve(name, pending):
        rc, out, dummy = module.run_command(["apt-get", "-s", "-o", "Debug::NoLocking=1"] + APT_LISTS + ["install", name],
                                            environ_update=APT_ENV)
        return aptlib.simulated_names(out) if rc == 0 else []
    return resolve


def rpm_cli_resolver(module, manager):
    """`dnf -C --assumeno upgrade NAME` (yum: `update`): the transaction it prints, from the cache only."""
    binary = module.get_bin_path(manager, required=True)
    verb = "upgrade" if manager == "dnf" else "update"

    def resolve(name, pending):
        dummy, out, dummy_err = module.run_command([binary, "-C", "--assumeno", verb, name], environ_update=RPM_ENV)
        return dnflib.parse_transaction(out)
    return resolve


def zypper_resolver(module):
    """`zypper update --dry-run NAME`: its install summary (no refresh, nothing changes)."""
    binary = module.get_bin_path("zypper", required=True)

    def resolve(name, pending):
        env = dict(RPM_ENV, ZYPP_LOCK_TIMEOUT=str(module.params["lock_timeout"]))
        rc, out, err = module.run_command([binary, "-n", "--no-refresh", "--xmlout", "update", "--dry-run", name],
                                          environ_update=env)
        if rc == 104:  # ZYPPER_EXIT_INF_CAP_NOT_FOUND: no such package now; it needs nothing
            return []
        if rc not in ZYPPER_OK:
            raise RuntimeError("zypper update --dry-run %s: rc=%s %s" % (name, rc, (err or out).strip()[-300:]))
        return zypperlib.parse_install_summary(out)
    return resolve


def resolver_for(module, manager):
    """(resolver, how) for this host's package manager: its own solver, simulated."""
    if manager == "apt":
        resolver = aptlib.apt_pkg_resolver(APT_LISTS[1].partition("=")[2] if APT_LISTS else None)
        return (resolver, "python3-apt") if resolver else (apt_simulation_resolver(module), "apt-get -s install")
    if manager == "dnf":
        resolver = dnflib.dnf_api_resolver()
        return (resolver, "python3-dnf") if resolver else (rpm_cli_resolver(module, manager), "dnf --assumeno upgrade")
    if manager == "yum":
        return rpm_cli_resolver(module, manager), "yum --assumeno update"
    return zypper_resolver(module), "zypper update --dry-run"


def dependencies_of(module, manager, patches):
    """{patch: [pending patches it needs]}: each pending patch's simulated upgrade, by the package
    manager's own resolver (apt: python3-apt's depcache, else `apt-get -s install NAME`; dnf: its
    Python API, else `dnf --assumeno upgrade NAME`; yum: `yum --assumeno update NAME`; zypper:
    `zypper update --dry-run NAME`). The approval engine uses it so a patch needing a rejected one
    is blocked (rejected_patches_action)."""
    names = [p["name"] for p in patches if not p["name"].startswith("patch:")]
    if len(names) < 2 or not module.params["dependencies"]:
        return {}, None
    how = manager
    try:
        resolver, how = resolver_for(module, manager)
        return aptlib.dependency_closures(names, resolver), how
    except Exception as exc:  # a resolver that breaks must not lose the scan; say so
        module.warn("could not resolve the pending patches' dependencies with %s: %s" % (how, exc))
        return {}, None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            update_cache=dict(type="bool", default=True),
            changelogs=dict(type="bool", default=True),
            cache_dir=dict(type="path", default="/var/cache/fleetpatch"),
            packages=dict(type="list", elements="str", default=[]),
            lock_timeout=dict(type="int", default=60),
            package_manager=dict(type="str", default="auto", choices=["auto", "apt", "dnf", "yum", "zypper"]),
            vulnerability_data=dict(type="path"),
            dependencies=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    os_release = osinfo.read_os_release()
    manager = module.params["package_manager"]
    if manager == "auto":
        manager = osinfo.package_manager(os_release, module.get_bin_path)
    elif not module.get_bin_path(osinfo.BINARIES[manager]):
        module.fail_json(msg="package_manager=%s but %s is not on this host" % (manager, osinfo.BINARIES[manager]))
    if manager is None:
        module.fail_json(msg="patch_scan supports apt (Debian, Ubuntu), dnf/yum (RHEL family, Amazon Linux, Fedora) "
                             "and zypper (SUSE); none of apt-get, dnf, yum, zypper is on this host")
    extra = {}
    if manager == "apt":
        patches, removals, cache_updated = scan_apt(module)
        if module.params["vulnerability_data"]:
            patches, extra["vulnerability_data"] = apply_vulnerability_data(module, patches, module.params["vulnerability_data"],
                                                                            os_release)
        installed = installed_versions(module, module.params["packages"])
    else:
        if manager == "zypper":
            patches, removals, cache_updated, by_name = scan_zypper(module)
        else:
            patches, removals, cache_updated, by_name = scan_rpm(module, manager)
        installed = dict((name, by_name.get(name)) for name in module.params["packages"])
    cves = sorted(set(c for p in patches for c in p["cves"]))
    dependencies, resolver = dependencies_of(module, manager, patches)
    module.exit_json(
        dependencies=dependencies,
        dependency_resolver=resolver,
        changed=False,
        package_manager=manager,
        product=product_from_os_release(os_release),
        patches=patches,
        removals=removals,
        installed=installed,
        cache_updated=cache_updated,
        summary={
            "pending": len(patches),
            "security": sum(1 for p in patches if p["classification"] == "security"),
            "cves": len(cves),
            "reboot_hint": any(p["reboot_hint"] for p in patches),
        },
        **extra
    )


if __name__ == "__main__":
    main()
