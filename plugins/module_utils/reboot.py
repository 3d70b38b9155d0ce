# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Does a host need a reboot after patching? Pure decisions from what the host reports."""

from __future__ import annotations

import re

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.patch import reboot_hint

FLAG = "/var/run/reboot-required"
BOOT_ID = "/proc/sys/kernel/random/boot_id"
POLICIES = ("if_needed", "never", "always")
ARGUMENT_SPEC = dict(
    policy=dict(type="str", default="if_needed", choices=list(POLICIES)),
    patched=dict(type="list", elements="str", default=[]),
)
_KSTA_RE = re.compile(r"^NEEDRESTART-KSTA:\s*(\d+)", re.M)
_SVC_RE = re.compile(r"^NEEDRESTART-SVC:\s*(\S+)", re.M)


def parse_needrestart(output):
    """`needrestart -b` batch output: (kernel outdated?, services to restart).

    KSTA 0 unknown, 1 current, 2 ABI compatible upgrade pending, 3 version upgrade pending.
    """
    match = _KSTA_RE.search(output or "")
    kernel = bool(match) and int(match.group(1)) >= 2
    return kernel, _SVC_RE.findall(output or "")


def reasons_to_reboot(flag_pkgs, flag_exists, needs_restarting_rc, needrestart_output, hinted_packages):
    """Why a reboot is needed, from every signal a Linux host gives; empty when it is not.

    flag_exists/flag_pkgs: /var/run/reboot-required(.pkgs) (Debian, Ubuntu);
    needs_restarting_rc: `needs-restarting -r` exit code (1 = reboot needed; None when absent);
    needrestart_output: `needrestart -b` output or None; hinted_packages: patched packages whose
    new version only takes effect after a reboot (kernel, libc, systemd, microcode).
    """
    reasons = []
    if flag_exists:
        pkgs = ", ".join(sorted(set(flag_pkgs))) if flag_pkgs else "no package named"
        reasons.append("/var/run/reboot-required (%s)" % pkgs)
    if needs_restarting_rc == 1:
        reasons.append("needs-restarting -r: core libraries or services updated")
    if needrestart_output is not None:
        kernel, dummy = parse_needrestart(needrestart_output)
        if kernel:
            reasons.append("needrestart: running kernel is outdated")
    if hinted_packages:
        reasons.append("patched packages that load at boot: %s" % ", ".join(sorted(set(hinted_packages))))
    return reasons


def decide(policy, reasons):
    """(reboot now?, why) for a reboot policy: if_needed | never | always."""
    if policy not in POLICIES:
        raise ValueError("reboot policy %r is not one of %s" % (policy, ", ".join(POLICIES)))
    if policy == "always":
        return True, "policy always"
    if not reasons:
        return False, "not needed"
    if policy == "never":
        return False, "needed (%s) but the policy is never: reboot pending" % "; ".join(reasons)
    return True, "; ".join(reasons)


def verdict(policy, patched, flag_exists, flag_pkgs, needs_restarting_rc, needrestart_output, boot_id):
    """What reboot_info returns, from the signals read on the host."""
    reasons = reasons_to_reboot(flag_pkgs, flag_exists, needs_restarting_rc, needrestart_output,
                                [name for name in patched or [] if reboot_hint(name)])
    reboot, decision = decide(policy, reasons)
    return dict(reboot=reboot, required=bool(reasons), reasons=reasons, decision=decision,
                services=parse_needrestart(needrestart_output)[1], boot_id=boot_id)


# The same signals as one shell probe (module_utils/probe.py): 127 = the tool is not installed.
PROBE_SECTIONS = (
    ("flag", "test -e %s" % FLAG),
    ("flag_pkgs", "cat %s.pkgs" % FLAG),
    ("needs_restarting", "command -v needs-restarting >/dev/null || exit 127; needs-restarting -r >/dev/null; echo $?"),
    ("needrestart", "command -v needrestart >/dev/null || exit 127; LANG=C needrestart -b -r l"),
    ("boot_id", "cat %s" % BOOT_ID),
)


def from_probe(sections, policy, patched):
    """verdict() from the {name: (rc, text)} answer of PROBE_SECTIONS; ValueError when the answer is cut short."""
    missing = [name for name, dummy in PROBE_SECTIONS if name not in sections]
    if missing:
        raise ValueError("the host's answer to the reboot probe lacks %s" % ", ".join(missing))
    lines = [line.strip() for line in sections["flag_pkgs"][1].splitlines() if line.strip()] if sections["flag_pkgs"][0] == 0 else []
    rc, text = sections["needs_restarting"]
    needs_restarting_rc = int(text.strip()) if rc == 0 and text.strip().isdigit() else None
    rc, text = sections["needrestart"]
    needrestart_output = None if rc == 127 else text
    boot_id = sections["boot_id"][1].strip().splitlines()[0] if sections["boot_id"][0] == 0 and sections["boot_id"][1].strip() else ""
    return verdict(policy, patched, sections["flag"][0] == 0, lines, needs_restarting_rc, needrestart_output, boot_id)
