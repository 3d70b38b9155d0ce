# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Debian version comparison (dpkg's algorithm), pure Python.

Used to decide which changelog entries lie between the installed and the candidate
version, so the CVEs a patch closes are exactly those of the versions it brings.
"""

from __future__ import annotations

import re

_VERSION_RE = re.compile(r"^(?:(\d+):)?([A-Za-z0-9.+~:-]+?)(?:-([A-Za-z0-9.+~]+))?$")


class VersionError(ValueError):
    """A string that is not a Debian version."""


def parse(version):
    """Split 'epoch:upstream-revision' into (epoch, upstream, revision)."""
    text = (version or "").strip()
    match = _VERSION_RE.match(text)
    if not match:
        raise VersionError("not a Debian version: %r" % (version,))
    epoch, upstream, revision = match.groups()
    return int(epoch or 0), upstream, revision or "0"


def _order(char):
    if char == "~":
        return -1
    if char.isdigit():
        return 0
    if char.isalpha():
        return ord(char)
    return ord(char) + 256


def _compare_part(left, right):
    i = j = 0
    while i < len(left) or j < len(right):
        first_diff = 0
        while (i < len(left) and not left[i].isdigit()) or (j < len(right) and not right[j].isdigit()):
            lc = _order(left[i]) if i < len(left) and not left[i].isdigit() else 0
            rc = _order(right[j]) if j < len(right) and not right[j].isdigit() else 0
            if lc != rc:
                return lc - rc
            i += 1
            j += 1
        while i < len(left) and left[i] == "0":
            i += 1
        while j < len(right) and right[j] == "0":
            j += 1
        while i < len(left) and left[i].isdigit() and j < len(right) and right[j].isdigit():
            if not first_diff:
                first_diff = ord(left[i]) - ord(right[j])
            i += 1
            j += 1
        if i < len(left) and left[i].isdigit():
            return 1
        if j < len(right) and right[j].isdigit():
            return -1
        if first_diff:
            return first_diff
    return 0


def compare(left, right):
    """Return <0, 0 or >0 as Debian version `left` is older, equal or newer than `right`."""
    le, lu, lr = parse(left)
    re_, ru, rr = parse(right)
    if le != re_:
        return le - re_
    result = _compare_part(lu, ru)
    if result:
        return result
    return _compare_part(lr, rr)
