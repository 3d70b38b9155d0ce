# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan of a dry run (`--check` or fleetpatch_dry_run): what the night would do, per host.

Pure Python. The input per host is what the scan play left (every pending patch with its
decision, from the patch_decisions filter) and the host's policies; the output is the plan
report.json carries and the text the playbook prints. Nothing here touches a host.
"""

from __future__ import annotations

from . import reboot as rebootlib
from . import snapshot as snapshotlib


def _patch_line(patch):
    return {
        "name": patch["name"],
        "from": patch.get("installed_version"),
        "to": patch.get("candidate_version"),
        "classification": patch.get("classification"),
        "severity": patch.get("severity"),
        "cves": sorted(patch.get("cves") or []),
        "advisories": sorted(patch.get("advisories") or []),
        "reason": patch.get("approval_reason"),
    }


def _reboot(policy, install):
    hinted = [p["name"] for p in install if p.get("reboot_hint")]
    reasons = rebootlib.reasons_to_reboot(None, False, None, None, hinted)
    would, why = rebootlib.decide(policy, reasons)
    if not install:
        would, why = False, "nothing to install"
    elif not would and policy == "if_needed":
        why = "only if the host asks for one after the install (reboot-required, needs-restarting, needrestart)"
        would = "if_requested"
    return {"policy": policy, "would_reboot": would, "why": why}


def _snapshot(hostvars, policy, install):
    if not install:
        return None
    try:
        chosen = snapshotlib.choose_provider(hostvars, policy)
    except snapshotlib.SnapshotError as exc:
        return {"policy": policy, "provider": None, "reason": str(exc)}
    return {"policy": policy, "provider": chosen["provider"], "reason": chosen["reason"]}


def host_plan(host):
    """One host's plan.

    `host`: {name, patch_group, ready (passed preflight and scan), failure (why not, when known),
    decisions (patch_decisions output), reboot_policy, snapshot_policy, hostvars (for the
    snapshot provider), window}.
    """
    entry = {"name": host["name"], "patch_group": host.get("patch_group"), "window": host.get("window")}
    if not host.get("ready"):
        entry.update(status="not_ready", reason=host.get("failure") or "did not get through preflight and scan")
        return entry
    decisions = host.get("decisions") or []
    install = [p for p in decisions if p.get("approved")]
    held = [p for p in decisions if not p.get("approved")]
    entry.update(
        status="would_patch" if install else "nothing_to_install",
        install=[_patch_line(p) for p in install],
        not_installed=[_patch_line(p) for p in held],
        cves_closed=sorted(set(c for p in install for c in p.get("cves") or [])),
        cves_remaining=sorted(set(c for p in held for c in p.get("cves") or [])),
        snapshot=_snapshot(host.get("hostvars") or {}, host.get("snapshot_policy") or "best_effort", install),
        reboot=_reboot(host.get("reboot_policy") or "if_needed", install),
    )
    return entry


def build_plan(hosts, run_id, window=None, generated_at=None):
    """The whole plan: complete when every targeted host got through preflight and scan."""
    entries = [host_plan(h) for h in sorted(hosts, key=lambda h: h["name"])]
    not_ready = [e["name"] for e in entries if e["status"] == "not_ready"]
    return {
        "run_id": run_id,
        "check_run": True,
        "generated_at": generated_at,
        "window": window,
        "complete": bool(entries) and not not_ready,
        "not_ready": not_ready,
        "totals": {
            "hosts": len(entries),
            "would_patch": sum(1 for e in entries if e["status"] == "would_patch"),
            "patches": sum(len(e.get("install", [])) for e in entries),
            "held_back": sum(len(e.get("not_installed", [])) for e in entries),
            "cves_closed": len(set(c for e in entries for c in e.get("cves_closed", []))),
        },
        "hosts": entries,
    }


def _ids(patch):
    ids = patch["advisories"] + patch["cves"]
    return " [%s]" % ", ".join(ids) if ids else ""


def _window_text(window):
    if not isinstance(window, dict):
        return str(window)
    return ", ".join("%s %s" % (k, window[k]) for k in ("status", "source", "expression", "timezone", "start", "end", "cutoff_at",
                                                        "next_start", "reason") if window.get(k) not in (None, ""))


def render_plan(plan):
    """The plan as the lines the playbook prints."""
    totals = plan["totals"]
    lines = ["DRY RUN %s: nothing was changed on any host and no change request was opened" % plan["run_id"],
             "%d host(s), %d would be patched: %d patch(es), %d held back, %d CVE(s) closed" % (
                 totals["hosts"], totals["would_patch"], totals["patches"], totals["held_back"], totals["cves_closed"])]
    window = plan.get("window")
    if window:
        lines.append("window: %s" % ", ".join("%s %s" % (k, window[k]) for k in sorted(window) if window[k] is not None))
    for host in plan["hosts"]:
        lines.append("")
        lines.append("%s (%s): %s" % (host["name"], host.get("patch_group") or "no patch group", host["status"]))
        if host.get("window"):
            lines.append("  window: %s" % _window_text(host["window"]))
        if host["status"] == "not_ready":
            lines.append("  not ready: %s" % host["reason"])
            continue
        for patch in host["install"]:
            lines.append("  install %s %s -> %s%s" % (patch["name"], patch["from"], patch["to"], _ids(patch)))
            lines.append("    because %s" % patch["reason"])
        for patch in host["not_installed"]:
            lines.append("  hold    %s %s -> %s%s" % (patch["name"], patch["from"], patch["to"], _ids(patch)))
            lines.append("    because %s" % patch["reason"])
        if host.get("snapshot"):
            snap = host["snapshot"]
            lines.append("  snapshot: %s (policy %s; %s)" % (snap["provider"], snap["policy"], snap["reason"]))
        reboot = host["reboot"]
        lines.append("  reboot: %s (policy %s; %s)" % (reboot["would_reboot"], reboot["policy"], reboot["why"]))
    if not plan["complete"]:
        lines.append("")
        lines.append("INCOMPLETE: no plan for %s" % (", ".join(plan["not_ready"]) or "any host (none targeted)"))
    return lines
