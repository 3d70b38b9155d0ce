# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""RPM package specs: the exact build a patch approved, as dnf and yum take it (pure Python)."""

from __future__ import annotations


def nevra(name, evr, arch=None):
    """'fp-openssl', '1:3.0.7-28.el9', 'noarch' -> 'fp-openssl-1:3.0.7-28.el9.noarch'."""
    if not name or not evr:
        raise ValueError("an rpm spec needs a name and a version (got %r, %r)" % (name, evr))
    if "-" not in evr.split(":")[-1]:
        raise ValueError("rpm version %r of %s has no release (expected [epoch:]version-release)" % (evr, name))
    spec = "%s-%s" % (name, evr)
    return "%s.%s" % (spec, arch) if arch else spec
