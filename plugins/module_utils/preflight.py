# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Preflight checks of a host before it is touched (pure Python, runs on the target)."""

from __future__ import annotations

import fcntl
import os
import platform
import struct

ARGUMENT_SPEC = dict(
    min_free_mb=dict(type="int", default=500),
    paths=dict(type="list", elements="path", default=["/", "/var", "/var/cache/apt/archives", "/boot"]),
    fail_on_pending_reboot=dict(type="bool", default=False),
    agent_services=dict(type="list", elements="str", default=[]),
)
# Where a package manager's binary may be besides PATH (root's sbin directories).
SBIN = ("/usr/local/sbin", "/usr/sbin", "/sbin")

# The lock files a package manager holds while it works.
LOCK_FILES = {
    "apt": ("/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock", "/var/lib/apt/lists/lock", "/var/cache/apt/archives/lock"),
    "dnf": ("/var/run/dnf.pid", "/var/lib/rpm/.rpm.lock"),
    "yum": ("/var/run/yum.pid", "/var/lib/rpm/.rpm.lock"),
    "zypper": ("/var/run/zypp.pid",),
}
REBOOT_FLAGS = ("/var/run/reboot-required", "/run/reboot-required")
SYSTEMD_RUNNING = "/run/systemd/system"  # exists when systemd is PID 1 (sd_booted())
INIT_DIR = "/etc/init.d"
COMM_LENGTH = 15  # the kernel truncates /proc/PID/comm to 15 characters
# LSB init script status exit codes (https://refspecs.linuxfoundation.org/LSB_5.0.0/LSB-Core-generic/LSB-Core-generic/iniscrptact.html)
LSB_STATUS = {0: "active", 1: "dead (pid file exists)", 2: "dead (lock file exists)", 3: "inactive", 4: "unknown"}


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


def parse_service_specs(specs):
    """Each spec is a service name or alternatives joined by | (the first that is active counts).

    >>> parse_service_specs(["amazon-ssm-agent|snap.amazon-ssm-agent.amazon-ssm-agent"])
    [('amazon-ssm-agent|snap.amazon-ssm-agent.amazon-ssm-agent', ['amazon-ssm-agent', 'snap.amazon-ssm-agent.amazon-ssm-agent'])]
    """
    parsed, seen = [], set()
    for index, spec in enumerate(specs or []):
        units = [u.strip() for u in str(spec).split("|") if u.strip()]
        if not units or any(u.startswith("-") or "/" in u or " " in u for u in units):
            raise ValueError("agent_services[%d] %r is not a service name (e.g. amazon-ssm-agent, or alternatives "
                             "joined by |)" % (index, spec))
        key = "|".join(units)
        if key not in seen:
            seen.add(key)
            parsed.append((key, units))
    return parsed


def parse_is_active(units, rc, stdout):
    """{unit: state} from `systemctl is-active UNIT...` (one line per unit, in order; rc is 0 only when all are active)."""
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    if len(lines) != len(units):
        return dict((u, "unknown (systemctl rc %s)" % rc) for u in units)
    return dict((unit, lines[index]) for index, unit in enumerate(units))


def lsb_state(rc):
    return LSB_STATUS.get(rc, "unknown (status rc %s)" % rc)


def choose(name, units, states):
    """The outcome of one spec: active when one of its alternatives is; else the first unit's state."""
    for unit in units:
        if states.get(unit) == "active":
            return {"name": name, "unit": unit, "state": "active", "active": True}
    return {"name": name, "unit": units[0], "state": states.get(units[0], "unknown"), "active": False}


def service_states(specs, run, systemd=None, init_dir=INIT_DIR, processes=None):
    """The state of each agent service on this host, in one systemctl call under systemd.

    `run(argv) -> (rc, stdout, stderr)` runs a command. Without systemd (SysV init, containers)
    the service's init script answers `status`; a service without an init script counts as active
    when a process of that name runs.
    """
    parsed = parse_service_specs(specs)
    if not parsed:
        return []
    units = []
    for spec in parsed:
        for unit in spec[1]:
            if unit not in units:
                units.append(unit)
    if systemd is None:
        systemd = os.path.isdir(SYSTEMD_RUNNING)
    if systemd:
        rc, out, dummy = run(["systemctl", "is-active"] + units)
        states = parse_is_active(units, rc, out)
    else:
        states = {}
        running = None
        for unit in units:
            script = os.path.join(init_dir, unit)
            if os.path.isfile(script):
                rc, dummy, dummy = run([script, "status"])
                states[unit] = lsb_state(rc)
                continue
            if running is None:
                running = process_names() if processes is None else set(processes)
            states[unit] = "active" if unit[:COMM_LENGTH] in running else "not installed or not running"
    return [choose(name, alternatives, states) for name, alternatives in parsed]


def process_names():
    """The command names (/proc/PID/comm) of the running processes."""
    names = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % entry) as handle:
                names.add(handle.read().strip())
        except OSError:
            continue
    return names


def evaluate(locks, disks, min_free_mb, reboot_pending, fail_on_pending_reboot, services=()):
    """The reasons a host must not be patched now; empty when it may."""
    reasons = []
    for service in services:
        if not service["active"]:
            reasons.append("agent service %s is not active: %s" % (service["name"], service["state"]))
    for lock in locks:
        reasons.append("package manager locked: %s held by pid %s" % (lock["path"], lock["pid"]))
    for disk in disks:
        if disk["free_mb"] < min_free_mb:
            reasons.append("only %d MiB free on %s (need %d MiB)" % (disk["free_mb"], disk["path"], min_free_mb))
    if reboot_pending and fail_on_pending_reboot:
        reasons.append("a reboot from an earlier change is pending")
    return reasons


def check(params, manager, run):
    """What preflight_info returns for this host; `manager` is its package manager (or None).

    `run(argv) -> (rc, stdout, stderr)` runs a command. ValueError for a bad agent service name.
    """
    locks = held_locks(manager)
    disks = free_space(params["paths"])
    reboot = pending_reboot()
    services = service_states(params["agent_services"], run)
    reasons = evaluate(locks, disks, params["min_free_mb"], reboot, params["fail_on_pending_reboot"], services)
    if manager is None:
        reasons.append("no supported package manager (apt, dnf, zypper) on this host")
    return dict(changed=False, ready=not reasons, reasons=reasons, package_manager=manager, locks=locks,
                disks=disks, reboot_pending=reboot, services=services, python_version=platform.python_version())


def outcome(info, ssm):
    """The preflight record of a host: {status, message, data} for the ledger.

    `ssm` is what SSM's answer means for the host (module_utils/ssm_agent.py gate()); `info` is the
    registered preflight_info result (skipped when SSM already stopped the host, unreachable or
    failed when the host did not answer). SSM's view comes first, then the connection, then the
    checks on the host.
    """
    if ssm["reason"]:
        return {"status": "failed", "message": ssm["reason"], "data": {"ssm_agent": ssm["entry"]}}
    if info.get("unreachable") or info.get("failed"):
        return {"status": "unreachable" if info.get("unreachable") else "failed",
                "message": str(info.get("msg") or "no answer"), "data": {}}
    data = dict((key, info[key]) for key in ("package_manager", "disks", "locks", "reboot_pending", "python_version",
                                             "services"))
    data["ssm_agent"] = ssm["record"]
    return {"status": "ok" if info["ready"] else "failed", "message": "; ".join(info["reasons"]), "data": data}


def probe(params, modules):
    """check() as a light probe runs it on the host (module_utils/probe.py): the stdlib and osinfo only."""
    import shutil
    import subprocess

    osinfo = modules["osinfo"]
    search = os.pathsep.join([os.environ.get("PATH", "")] + list(SBIN))

    def run(argv):
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, check=False)
        return proc.returncode, proc.stdout, proc.stderr

    return check(params, osinfo.package_manager(osinfo.read_os_release(), lambda name: shutil.which(name, path=search)), run)
