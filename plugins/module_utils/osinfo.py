# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which OS family and package manager a host has, from /etc/os-release (pure Python).

The package manager follows the OS family, not whichever binary happens to be installed:
a RHEL-family host with apt on it is still patched with dnf.
"""

from __future__ import annotations

import shlex

FAMILIES = {
    "debian": ("debian", "ubuntu", "raspbian", "linuxmint", "pop"),
    "redhat": ("rhel", "centos", "rocky", "almalinux", "ol", "fedora", "amzn", "scientific", "eurolinux"),
    "suse": ("sles", "sled", "opensuse", "opensuse-leap", "opensuse-tumbleweed", "suse"),
}
MANAGERS = {"debian": ("apt",), "redhat": ("dnf", "yum"), "suse": ("zypper",)}
BINARIES = {"apt": "apt-get", "dnf": "dnf", "yum": "yum", "zypper": "zypper"}


def read_os_release(paths=("/etc/os-release", "/usr/lib/os-release")):
    """The host's os-release(5) values: the first of `paths` that can be read, else {}."""
    for path in paths:
        try:
            with open(path) as handle:
                return parse_os_release(handle.read())
        except OSError:
            continue
    return {}


def parse_os_release(text):
    """KEY=value lines of os-release(5) into a dict (quotes and escapes handled by shlex)."""
    values = {}
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, raw = line.split("=", 1)
        try:
            parts = shlex.split(raw)
        except ValueError:
            parts = [raw.strip("\"'")]
        values[key.strip()] = parts[0] if parts else ""
    return values


def family(os_release):
    ids = [os_release.get("ID", "").lower()] + os_release.get("ID_LIKE", "").lower().split()
    for ident in ids:
        for name, members in FAMILIES.items():
            if ident in members:
                return name
    return None


def package_manager(os_release, has_binary):
    """The package manager for the host's family whose binary exists; then any that exists."""
    fam = family(os_release)
    candidates = list(MANAGERS.get(fam, ())) + [m for m in ("apt", "dnf", "yum", "zypper") if m not in MANAGERS.get(fam, ())]
    for manager in candidates:
        if has_binary(BINARIES[manager]):
            return manager
    return None
