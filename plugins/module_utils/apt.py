# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""apt: pending upgrades from `apt-get -s dist-upgrade`, classified by the archive they come from.

Pure Python, no Ansible import; the module runs the commands and hands their output here.
"""

from __future__ import annotations

import re

_INST_RE = re.compile(
    r"^Inst (?P<name>[^\s:]+)(?::(?P<qualifier>\S+))?"
    r"(?: \[(?P<installed>[^\]]+)\])?"
    r" \((?P<candidate>\S+)(?P<releases>.*?) \[(?P<arch>[^\]]+)\]\)"
)
_REMV_RE = re.compile(r"^Remv (?P<name>[^\s:]+)(?::\S+)?(?: \[(?P<installed>[^\]]+)\])?")


def parse_release(text):
    """'Debian-Security:12/stable-security' -> {'label': 'Debian-Security', 'version': '12', 'archive': ...}."""
    text = text.strip()
    label, version, archive = None, None, text
    if "/" in text:
        head, archive = text.rsplit("/", 1)
        if ":" in head:
            label, version = head.split(":", 1)
        else:
            version = head
    elif ":" in text:
        label, archive = text.split(":", 1)
    return {"label": label, "version": version, "archive": archive}


def classify(releases):
    """Classification from the archives a candidate is offered by (the best one wins)."""
    ranks = {"security": 3, "bugfix": 2, "enhancement": 1, "other": 0}
    best = "other"
    for release in releases:
        label = (release.get("label") or "").lower()
        archive = (release.get("archive") or "").lower()
        if label.endswith("-security") or archive.endswith("-security"):
            found = "security"
        elif archive.endswith("-updates") or archive.endswith("-proposed-updates"):
            found = "bugfix"
        elif archive in ("stable", "oldstable", "testing", "unstable") or label in ("debian", "ubuntu"):
            found = "bugfix"
        elif archive.endswith("-backports"):
            found = "enhancement"
        else:
            found = "other"
        if ranks[found] > ranks[best]:
            best = found
    return best


def parse_simulation(output):
    """Parse `apt-get -s dist-upgrade` output into (upgrades, removals)."""
    upgrades, removals = [], []
    for line in output.splitlines():
        inst = _INST_RE.match(line)
        if inst:
            releases = [parse_release(part) for part in inst.group("releases").split(",") if part.strip()]
            upgrades.append({
                "name": inst.group("name"),
                "arch": inst.group("qualifier") or inst.group("arch"),
                "installed_version": inst.group("installed"),
                "candidate_version": inst.group("candidate"),
                "releases": releases,
                "origin": ", ".join(_release_text(r) for r in releases),
                "classification": classify(releases),
            })
            continue
        remv = _REMV_RE.match(line)
        if remv:
            removals.append({"name": remv.group("name"), "installed_version": remv.group("installed")})
    return upgrades, removals


def _release_text(release):
    parts = [release.get("label"), release.get("archive")]
    return ":".join(p for p in parts if p)


def build_patches(upgrades, changelog_summary, make_patch):
    """Turn parsed upgrades into patch records; `changelog_summary(upgrade)` gives cves etc."""
    patches = []
    for upgrade in upgrades:
        info = changelog_summary(upgrade) or {}
        patches.append(make_patch(
            name=upgrade["name"],
            arch=upgrade["arch"],
            installed_version=upgrade["installed_version"],
            candidate_version=upgrade["candidate_version"],
            origin=upgrade["origin"],
            classification=upgrade["classification"],
            release_date=info.get("release_date"),
            advisories=info.get("advisories"),
            cves=info.get("cves"),
            manager="apt",
        ))
    return patches


def changelog_groups(upgrades, source_of):
    """The upgrades that share one changelog: built from the same source package, at the same version.

    Debian's binary packages of one source carry the same changelog (and some carry none of their
    own: their doc directory links to a sibling's), so one changelog is read per group. `source_of`
    is {binary: source} for the binaries whose source has another name.
    """
    groups, order = {}, []
    for upgrade in upgrades:
        key = (source_of.get(upgrade["name"], upgrade["name"]), upgrade["candidate_version"])
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(upgrade)
    return [groups[key] for key in order]


def changelog_member_names(name):
    """Where a .deb carries its changelog (non-native, then native)."""
    return ("./usr/share/doc/%s/changelog.Debian.gz" % name, "./usr/share/doc/%s/changelog.gz" % name)


def dependency_closures(names, resolver):
    """{name: sorted pending names it needs} for each pending name, from a resolver.

    `resolver(name, pending)` returns the names the package manager would install or upgrade to
    upgrade `name` alone (its simulated transaction); only other pending names are kept, as those
    are the patches the approval engine decides on. One pending patch needs no walk.
    """
    pending = set(names)
    closures = {}
    if len(pending) < 2:
        return closures
    for name in names:
        needed = sorted(set(resolver(name, pending)) & pending - {name})
        if needed:
            closures[name] = needed
    return closures


def simulated_names(output):
    """Names apt would install or upgrade, from `apt-get -s install ...` output."""
    upgrades, dummy = parse_simulation(output)
    return [u["name"] for u in upgrades]


def apt_pkg_resolver(lists_dir=None):
    """A resolver over python3-apt's depcache (apt's own solver, in memory: nothing is locked or
    changed), or None when python3-apt cannot be imported by this interpreter. `lists_dir`: the
    package lists to read instead of the host's (a check-mode scan's private copy)."""
    try:
        import apt_pkg  # pylint: disable=import-error
    except ImportError:
        return None
    apt_pkg.init()
    if lists_dir:
        apt_pkg.config.set("Dir::State::Lists", lists_dir)
    cache = apt_pkg.Cache(None)
    depcache = apt_pkg.DepCache(cache)

    def resolve(name, pending):
        depcache.init()
        try:
            depcache.mark_install(cache[name], True, True)
        except KeyError:
            return []
        found = []
        for other in pending:
            try:
                package = cache[other]
            except KeyError:
                continue
            if depcache.marked_upgrade(package) or depcache.marked_install(package):
                found.append(other)
        return found

    return resolve
