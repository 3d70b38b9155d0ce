# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one patch record shared by apt, dnf, zypper and Windows (see DESIGN.md, Data model)."""

from __future__ import annotations

import re

CLASSIFICATIONS = ("security", "bugfix", "enhancement", "other")
SEVERITIES = ("critical", "important", "moderate", "low", "unspecified")
# Higher is more: security 3 .. other 0, critical 4 .. unspecified 0.
CLASSIFICATION_RANK = dict((word, len(CLASSIFICATIONS) - 1 - index) for index, word in enumerate(CLASSIFICATIONS))
SEVERITY_RANK = dict((word, len(SEVERITIES) - 1 - index) for index, word in enumerate(SEVERITIES))


def highest_classification(values):
    """The most pressing classification among values (other when there is none)."""
    return max(values, key=CLASSIFICATION_RANK.get, default="other")


def highest_severity(values):
    """The highest severity among values (unspecified when there is none)."""
    return max(values, key=SEVERITY_RANK.get, default="unspecified")


# Packages whose new version only takes effect after a reboot.
_REBOOT_RE = re.compile(
    r"^(linux-image-|linux-(?:signed|modules)-|kernel(?:-core|-modules)?$|"
    r"libc6$|glibc$|systemd$|libsystemd0$|dbus$|microcode|intel-microcode$|amd64-microcode$)"
)


def reboot_hint(name):
    return bool(_REBOOT_RE.match(name or ""))


def make_patch(name, arch, installed_version, candidate_version, origin, classification,
               severity="unspecified", release_date=None, advisories=None, cves=None, manager="apt"):
    if classification not in CLASSIFICATIONS:
        raise ValueError("classification %r is not one of %s" % (classification, ", ".join(CLASSIFICATIONS)))
    if severity not in SEVERITIES:
        raise ValueError("severity %r is not one of %s" % (severity, ", ".join(SEVERITIES)))
    return {
        "name": name,
        "arch": arch,
        "installed_version": installed_version,
        "candidate_version": candidate_version,
        "origin": origin,
        "classification": classification,
        "severity": severity,
        "release_date": release_date,
        "advisories": list(advisories or []),
        "cves": list(cves or []),
        "reboot_hint": reboot_hint(name),
        "manager": manager,
    }
