# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Preflight checks of a host before it is touched (pure Python, runs on the target)."""

from __future__ import annotations

import fcntl
import os
import struct

# The lock files a package manager holds while it works.
LOCK_FILES = {
    "apt": ("/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock", "/var/lib/apt/lists/lock", "/var/cache/apt/archives/lock"),
    "dnf": ("/var/run/dnf.pid", "/var/lib/rpm/.rpm.lock"),
    "yum": ("/var/run/yum.pid", "/var/lib/rpm/.rpm.lock"),
    "zypper": ("/var/run/zypp.pid",),
}
REBOOT_FLAGS = ("/var/run/reboot-required", "/run/reboot-required")


def lock_holder(path):
    """PID holding a POSIX write lock on `path` (how dpkg and apt lock), 0 when free, None when absent."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        request = struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 0, 0)
        answer = fcntl.fcntl(fd, fcntl.F_GETLK, request)
        l_type, dummy, dummy, dummy, pid = struct.unpack("hhqqi", answer)
        return 0 if l_type == fcntl.F_UNLCK else pid
    except OSError:
        return None
    finally:
        os.close(fd)


def held_locks(manager):
    held = []
    for path in LOCK_FILES.get(manager, ()):
        if path.endswith(".pid"):
            pid = _read_pid(path)
            if pid and os.path.exists("/proc/%d" % pid):
                held.append({"path": path, "pid": pid})
            continue
        pid = lock_holder(path)
        if pid:
            held.append({"path": path, "pid": pid})
    return held


def _read_pid(path):
    try:
        with open(path) as handle:
            return int(handle.read().strip() or 0)
    except (OSError, ValueError):
        return 0


def free_space(paths):
    """Free MiB of the file system holding each path that exists."""
    result = []
    for path in paths:
        if not os.path.exists(path):
            continue
        st = os.statvfs(path)
        result.append({"path": path, "free_mb": st.f_bavail * st.f_frsize // (1024 * 1024)})
    return result


def pending_reboot():
    return any(os.path.exists(path) for path in REBOOT_FLAGS)


def evaluate(locks, disks, min_free_mb, reboot_pending, fail_on_pending_reboot):
    """The reasons a host must not be patched now; empty when it may."""
    reasons = []
    for lock in locks:
        reasons.append("package manager locked: %s held by pid %s" % (lock["path"], lock["pid"]))
    for disk in disks:
        if disk["free_mb"] < min_free_mb:
            reasons.append("only %d MiB free on %s (need %d MiB)" % (disk["free_mb"], disk["path"], min_free_mb))
    if reboot_pending and fail_on_pending_reboot:
        reasons.append("a reboot from an earlier change is pending")
    return reasons
