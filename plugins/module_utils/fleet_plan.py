# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side decisions of a patch night over the whole fleet, each linear in the hosts.

Pure Python, no Ansible import. The filters change_request_groups, change_request_opened,
change_request_close_plan, change_request_closed and batch_progress are thin fronts for these.
A host is a mapping (Ansible's hostvars of the host, or a plain dict in tests).
"""

from __future__ import annotations

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import accounting, cr_model, findings_report
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ledger import resume_state

UNGROUPED = "ungrouped"


class PlanError(ValueError):
    """Bad input to a controller-side decision: names the field and the fix."""


def _get(host, key, default=None):
    try:
        value = host.get(key, default)
    except AttributeError:
        raise PlanError("each host must be a mapping of its variables (hostvars), got %r" % (host,))
    return default if value is None else value


def _patch_key(patch, host_name, index):
    if not isinstance(patch, dict) or not patch.get("name"):
        raise PlanError("scan_approved[%d] of host %s is not a patch record with a name (as patch_scan returns it): %r"
                        % (index, host_name, patch))
    return patch["name"], patch.get("candidate_version") or patch.get("version")


def group_change_requests(hosts, windows=None):
    """One change request per patch group: [{name, hosts, owners, patches, cves, window?}], sorted by name.

    Takes the hosts that got through preflight and scan (fleetpatch_ready) with at least one
    approved patch (scan_approved). With `windows` (window_plan's answer), a host takes part only
    when its window is open now, so a patch group with no host in its window gets no change.
    Each patch keeps its CVEs and advisories (merged over the group's hosts); linear in the hosts
    and their patches.
    """
    groups = {}
    for host in hosts:
        name = _get(host, "inventory_hostname")
        approved = _get(host, "scan_approved", [])
        if not name or not _get(host, "fleetpatch_ready", False) or not approved:
            continue
        decision = (windows or {}).get(name)
        if windows is not None and decision is not None and not decision.get("allowed_to_start", True):
            continue
        group_name = _get(host, "fleetpatch_patch_group") or UNGROUPED
        group = groups.get(group_name)
        if group is None:
            group = groups[group_name] = {"hosts": [], "owners": set(), "patches": {}, "windows": []}
        group["hosts"].append(name)
        owner = _get(host, "fleetpatch_owner")
        if owner:
            group["owners"].add(owner)
        for index, patch in enumerate(approved):
            key = _patch_key(patch, name, index)
            entry = group["patches"].get(key)
            if entry is None:
                entry = group["patches"][key] = {"cves": set(), "advisories": set()}
            entry["cves"].update(patch.get("cves") or ())
            entry["advisories"].update(patch.get("advisories") or ())
        if decision and decision.get("window_start"):
            group["windows"].append(decision)
    return [_finish_group(name, groups[name]) for name in sorted(groups)]


LEDGER_PHASES = ("scan", "approve")


def ledger_change_request_groups(ledger_hosts):
    """group_change_requests over a run's ledger instead of 10,000 hosts' variables.

    `ledger_hosts` is Ledger.hosts(run_id, phases=LEDGER_PHASES, changes=False). A host takes part
    when it got through approval (resume_state's `ready`, in this attempt or an earlier one) with
    approved patches (the scan's records of the names the approval kept); its patch group and owner
    are the ones recorded with it, and its window the one that applied to it (attrs.window_applied).
    A host outside its window never reaches approval, so it has no part here either.
    """
    hosts, windows = [], {}
    for host in ledger_hosts:
        state = resume_state(host)
        attrs = host.get("attrs") or {}
        hosts.append({"inventory_hostname": host["name"], "fleetpatch_ready": state["ready"], "scan_approved": state["approved"],
                      "fleetpatch_patch_group": host.get("patch_group"), "fleetpatch_owner": attrs.get("owner")})
        applied = attrs.get("window_applied")
        if isinstance(applied, dict) and applied.get("start"):
            windows[host["name"]] = {"allowed_to_start": True, "window_start": applied["start"], "window_end": applied.get("end"),
                                     "schedule": applied.get("expression"), "timezone": applied.get("timezone")}
    return group_change_requests(hosts, windows)


def _finish_group(name, group):
    patches = [{"name": key[0], "version": key[1], "cves": sorted(entry["cves"]), "advisories": sorted(entry["advisories"])}
               for key, entry in sorted(group["patches"].items(), key=lambda item: (item[0][0], item[0][1] or ""))]
    out = {
        "name": name,
        "hosts": sorted(group["hosts"]),
        "owners": sorted(group["owners"]),
        "patches": patches,
        "cves": sorted(set(cve for patch in patches for cve in patch["cves"])),
    }
    window = _group_window(group["windows"])
    if window:
        out["window"] = window
    return out


def _group_window(decisions):
    """The span of the group's open windows; expression and time zone when the hosts share them."""
    if not decisions:
        return None
    window = {"start": min(d["window_start"] for d in decisions), "end": max(d["window_end"] for d in decisions)}
    for key, field in (("expression", "schedule"), ("timezone", "timezone")):
        values = set(d.get(field) for d in decisions)
        if len(values) == 1 and None not in values:
            window[key] = values.pop()
    return window


def fold_opened(results, backend, required=False, previous=None):
    """The results of the open loop (register.results) as the facts the night keeps.

    Returns opened {group: {number, state, ok, error, backend, hosts}}, host_map {host: group},
    failed_groups (sorted) and blocked_hosts (the failed groups' hosts when a change is required).
    """
    opened = dict(previous or {})
    for result in results or []:
        group = result.get("__change_request_group") or {}
        name = group.get("name")
        if not name:
            raise PlanError("each open result needs its loop item __change_request_group with a name, got %r" % (result,))
        ok = "change_request" in result
        opened[name] = {
            "number": result.get("number"),
            "state": result.get("state"),
            "ok": ok,
            "error": None if ok else (result.get("msg") or "failed"),
            "backend": backend,
            "hosts": list(group.get("hosts") or []),
        }
    host_map = {}
    for name in sorted(opened):
        for host in opened[name]["hosts"]:
            host_map[host] = name
    failed = sorted(name for name, entry in opened.items() if not entry["ok"])
    blocked = sorted(set(h for name in failed for h in opened[name]["hosts"])) if required else []
    return {"opened": opened, "host_map": host_map, "failed_groups": failed, "blocked_hosts": blocked}


def close_plan(opened, outcomes, details=None, report=None):
    """One close per opened change with a number: [{key, number, backend, hosts, host_outcomes, outcome_details}].

    outcomes {host: status} and details {host: reason} are restricted to each change's own hosts
    (a lookup per host, not a scan of every outcome per change). With the run's `report`, each
    item also carries its `close_notes` (accounting.close_notes over its patch group's hosts, as
    the cr_close_notes filter writes them), all worked out in one pass over the report's hosts:
    the report is read once, not once per change.
    """
    outcomes, details = outcomes or {}, details or {}
    by_group = None
    if report is not None:
        if not isinstance(report, dict) or not isinstance(report.get("hosts"), list):
            raise PlanError("report must be report.json's content (a dict with hosts), got %s" % type(report).__name__)
        by_group = {}
        for host in report["hosts"]:
            by_group.setdefault(host.get("patch_group") or accounting.UNGROUPED, []).append(host)
    plan = []
    for name in sorted(opened or {}):
        entry = opened[name]
        if not entry.get("number"):
            continue
        hosts = list(entry.get("hosts") or [])
        plan.append({
            "key": name,
            "number": entry["number"],
            "backend": entry.get("backend"),
            "hosts": hosts,
            "host_outcomes": dict((h, outcomes[h]) for h in hosts if h in outcomes),
            "outcome_details": dict((h, details[h]) for h in hosts if h in details),
        })
        group_hosts = (by_group or {}).get(name)
        if group_hosts:
            code = cr_model.derive_close_code(dict((h["name"], h.get("status") or "incomplete") for h in group_hosts))
            plan[-1]["close_notes"] = accounting.close_notes({"hosts": group_hosts}, name, code, None,
                                                             findings_report.outcome_details(group_hosts))
    return plan


def fold_closed(results, previous=None):
    """The results of the close loop as {group: {number, state, close_code, error}}."""
    closed = dict(previous or {})
    for result in results or []:
        item = result.get("__change_request_item") or {}
        if not item.get("key"):
            raise PlanError("each close result needs its loop item __change_request_item with a key, got %r" % (result,))
        record = result.get("change_request") or {}
        closed[item["key"]] = {
            "number": item.get("number"),
            "state": result.get("state"),
            "close_code": record.get("close_code"),
            "error": None if "change_request" in result else (result.get("msg") or "failed"),
        }
    return closed


# ---------------------------------------------------------------------------------------------
# Rolling batches
# ---------------------------------------------------------------------------------------------

def _batch_size(value, total):
    """Ansible's pct_to_int: '30%' of the play's hosts (at least 1), or a whole number."""
    text = str(value).strip()
    try:
        if text.endswith("%"):
            return int(float(text[:-1]) / 100.0 * total) or 1
        return int(text)
    except ValueError:
        raise PlanError("fleetpatch_serial: %r is not a number of hosts, a percentage such as 25%%, or a list of them"
                        % (value,))


def serial_batches(total, serial=None):
    """The sizes of the batches Ansible makes of `total` hosts with `serial` (as its _get_serialized_batches)."""
    steps = serial if isinstance(serial, (list, tuple)) else [serial if serial not in (None, "") else "100%"]
    sizes, left, index = [], total, 0
    while left > 0:
        size = _batch_size(steps[index], total)
        size = left if size <= 0 or size > left else size
        sizes.append(size)
        left -= size
        if index < len(steps) - 1:
            index += 1
    return sizes


def _duration(seconds):
    if seconds is None:
        return "no cutoff"
    hours, rest = divmod(int(seconds), 3600)
    return "%dh%02dm to the cutoff" % (hours, rest // 60) if hours else "%dm%02ds to the cutoff" % divmod(rest, 60)


def batch_progress(previous, batch, outcomes, total_hosts, serial=None, seconds_to_cutoff=None):
    """The tally before a batch and its one-line progress message.

    previous: this function's last answer (None before the first batch). batch: the hosts of
    the batch about to start that will be patched. outcomes: {host: 'done' | 'failed' |
    'not_started' | None} for the hosts of the previous batch (None: it left the batch early, after
    a failed phase, and counts as failed). Linear in the batch.
    """
    previous = previous or {"batch": 0, "done": 0, "failed": 0, "last": []}
    done, failed = previous["done"], previous["failed"]
    for host in previous.get("last") or []:
        outcome = (outcomes or {}).get(host)
        if outcome == "done":
            done += 1
        elif outcome != "not_started":  # failed, or left its batch early (a failed phase ends the host)
            failed += 1
    number = previous["batch"] + 1
    count = len(serial_batches(total_hosts, serial)) if total_hosts else number
    batch = list(batch or [])
    shown = ", ".join(batch[:10]) + (", ... (%d more)" % (len(batch) - 10) if len(batch) > 10 else "")
    line = "batch %d of %d: %d host(s) [%s]; so far %d done, %d failed; %s" % (
        number, max(count, number), len(batch), shown, done, failed, _duration(seconds_to_cutoff))
    return {"batch": number, "batches": max(count, number), "done": done, "failed": failed, "last": batch, "line": line}
