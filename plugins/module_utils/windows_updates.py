# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Windows: the result of ansible.windows.win_updates in search mode, as patch records.

Pure Python, no Ansible import. Run `ansible.windows.win_updates` with `state: searched` and
`category_names: ['*']` (its default only searches three categories), register the result and
hand it here (the role does it through a filter).

win_updates returns per update: id, title, kb (numbers without "KB"), categories (classification
and product names mixed), downloaded, installed. It returns no MSRC severity, CVEs or release
date; those come from `details` (keyed by KB, e.g. built from Microsoft's security update guide)
when given. Without them the severity is `unspecified` and the release date is derived from the
`YYYY-MM` prefix of the title: Microsoft ships a month's updates on Patch Tuesday (the second
Tuesday) and the optional previews on the fourth Tuesday.
"""

from __future__ import annotations

import calendar
import re
from datetime import date

from .patch import highest_classification

# Windows Update classifications (SSM's names, spaces removed, lower case) -> ours.
CLASSIFICATION_MAP = {
    "securityupdates": "security",
    "criticalupdates": "security",
    "updaterollups": "bugfix",
    "updates": "bugfix",
    "featurepacks": "enhancement",
    "servicepacks": "enhancement",
    "definitionupdates": "other",
    "drivers": "other",
    "tools": "other",
    "upgrades": "other",
}
SEVERITY_MAP = {
    "critical": "critical",
    "important": "important",
    "moderate": "moderate",
    "low": "low",
    "unspecified": "unspecified",
    "": "unspecified",
}
_MONTH_RE = re.compile(r"^(?P<year>20\d\d)-(?P<month>0[1-9]|1[0-2])\b")
_ARCH_RE = re.compile(r"\b(?:(x64|x86|ARM64|arm64)-based|for (x64|x86|ARM64|arm64)\b)")
_REBOOT_TITLE_RE = re.compile(r"Cumulative Update|Monthly Rollup|Security Only|Servicing Stack|Security Monthly Quality Rollup",
                              re.IGNORECASE)


def category_key(name):
    return re.sub(r"\s+", "", str(name or "")).lower()


def classify(categories):
    """Our classification from win_updates categories (the best one wins)."""
    found = [CLASSIFICATION_MAP[category_key(c)] for c in categories or [] if category_key(c) in CLASSIFICATION_MAP]
    return highest_classification(found)


def products(categories):
    """The categories that name a product rather than a classification."""
    return [c for c in categories or [] if category_key(c) not in CLASSIFICATION_MAP]


def _nth_tuesday(year, month, nth):
    first_weekday = calendar.monthrange(year, month)[0]
    first_tuesday = 1 + (calendar.TUESDAY - first_weekday) % 7
    return date(year, month, first_tuesday + 7 * (nth - 1))


def release_date_from_title(title):
    """'2024-01 Cumulative Update ...' -> '2024-01-09' (Patch Tuesday), previews the fourth Tuesday."""
    match = _MONTH_RE.match(title or "")
    if not match:
        return None
    nth = 4 if "preview" in title.lower() else 2
    return _nth_tuesday(int(match.group("year")), int(match.group("month")), nth).isoformat()


def kb_ids(update):
    return ["KB%s" % str(k)[2:] if str(k).upper().startswith("KB") else "KB%s" % k for k in update.get("kb") or []]


def build_patches(result, make_patch, details=None, include_installed=False):
    """Patch records from a registered win_updates result (its `updates` dict).

    `details`: {KB: {msrc_severity, release_date, cves, reboot_required}} to complete what
    win_updates does not return. Updates already installed are left out unless asked for.
    """
    details = dict((str(k).upper() if str(k).upper().startswith("KB") else "KB%s" % k, v) for k, v in (details or {}).items())
    updates = (result or {}).get("updates") or {}
    records = []
    for key in sorted(updates):
        update = updates[key]
        if update.get("installed") and not include_installed:
            continue
        kbs = kb_ids(update)
        extra = {}
        for kb in kbs:
            extra.update(details.get(kb) or {})
        title = update.get("title") or ""
        arch = _ARCH_RE.search(title)
        severity = update.get("msrc_severity") or extra.get("msrc_severity") or ""
        record = make_patch(
            name=kbs[0] if kbs else title,
            arch=(arch.group(1) or arch.group(2)).lower() if arch else None,
            installed_version=None,
            candidate_version=update.get("id") or key,
            origin="Windows Update: %s" % ", ".join(products(update.get("categories")) or ["unknown product"]),
            classification=classify(update.get("categories")),
            severity=SEVERITY_MAP.get(str(severity).strip().lower(), "unspecified"),
            release_date=extra.get("release_date") or update.get("release_date") or release_date_from_title(title),
            advisories=kbs,
            cves=sorted(set(extra.get("cves") or [])),
            manager="windows",
        )
        reboot = update.get("reboot_required", extra.get("reboot_required"))
        if reboot is None:
            reboot = bool(_REBOOT_TITLE_RE.search(title)) or any(
                category_key(c) in ("servicepacks", "upgrades", "drivers") for c in update.get("categories") or [])
        record["reboot_hint"] = bool(reboot)
        # the title is what a baseline's title globs match (approved/rejected patches)
        record["title"] = title
        records.append(record)
    return records


# -- baseline -> win_updates options ------------------------------------------------------------------

# Windows Update's category strings (what win_updates compares, case-insensitively) of each of our
# classifications; a search limited to a baseline asks for these.
WINDOWS_CATEGORIES = {
    "security": ["Security Updates", "Critical Updates"],
    "bugfix": ["Update Rollups", "Updates"],
    "enhancement": ["Feature Packs", "Service Packs"],
    "other": ["Definition Updates", "Drivers", "Tools", "Upgrades"],
}
SERVER_SELECTIONS = ("default", "managed_server", "windows_update")


class WindowsUpdatesError(ValueError):
    """Options that cannot be right: names the field and the fix."""


def kb_regex(kb):
    """An accept/reject_list entry matching exactly one KB.

    win_updates matches each entry as an unanchored, case-insensitive regex against the title and
    the `KB<number>` strings of an update: a bare `KB50341` would also take KB5034127.
    """
    match = re.match(r"^(?:KB)?(\d+)$", str(kb).strip(), re.IGNORECASE)
    if not match:
        raise WindowsUpdatesError("%r is not a KB number (KB1234567)" % (kb,))
    return "^KB%s$" % match.group(1)


def search_categories(baseline):
    """category_names for a search: '*' unless asked to search only what the baseline's rules approve.

    `baseline` is a validated baseline (baseline.validate); the scan searches everything by
    default (compliance counts every missing update, as SSM does), this is for a narrower search.
    """
    if baseline.get("approved_patches"):
        return ["*"]
    names = []
    for rule in baseline.get("approval_rules") or []:
        classes = rule.get("classifications") or ["*"]
        if "*" in classes:
            return ["*"]
        for cls in classes:
            for name in WINDOWS_CATEGORIES.get(cls, []):
                if name not in names:
                    names.append(name)
    return names or ["*"]


def search_options(baseline=None, scope="all", server_selection="default"):
    """win_updates options to find the pending updates (state searched, no reboot)."""
    if scope not in ("all", "baseline"):
        raise WindowsUpdatesError("scope: %r is not one of all, baseline" % (scope,))
    if server_selection not in SERVER_SELECTIONS:
        raise WindowsUpdatesError("server_selection: %r is not one of %s" % (server_selection, ", ".join(SERVER_SELECTIONS)))
    categories = search_categories(baseline or {}) if scope == "baseline" else ["*"]
    return {"state": "searched", "category_names": categories, "server_selection": server_selection}


def approved_kbs(approved):
    """The KBs of approved patch records (names or advisories), sorted, each once."""
    kbs = set()
    for patch in approved or []:
        names = [patch.get("name")] + list(patch.get("advisories") or []) if isinstance(patch, dict) else [patch]
        found = [n for n in names if n and re.match(r"^KB\d+$", str(n), re.IGNORECASE)]
        if not found:
            raise WindowsUpdatesError("approved patch %r has no KB number: win_updates installs by KB"
                                      % ((patch.get("name") if isinstance(patch, dict) else patch),))
        kbs.add(str(found[0]).upper())
    return sorted(kbs, key=lambda kb: int(kb[2:]))


def install_options(approved, server_selection="default", log_path=None):
    """win_updates options that install exactly the approved KBs and never reboot on their own.

    An empty accept_list makes win_updates install everything it finds: refuse it.
    """
    kbs = approved_kbs(approved)
    if not kbs:
        raise WindowsUpdatesError("approved: no KB to install (an empty accept_list would install every update found)")
    if server_selection not in SERVER_SELECTIONS:
        raise WindowsUpdatesError("server_selection: %r is not one of %s" % (server_selection, ", ".join(SERVER_SELECTIONS)))
    options = {"state": "installed", "category_names": ["*"], "accept_list": [kb_regex(kb) for kb in kbs],
               "reboot": False, "server_selection": server_selection}
    if log_path:
        options["log_path"] = log_path
    return options


# -- win_updates results --------------------------------------------------------------------------------

def _update_kbs(update):
    return kb_ids(update) or [update.get("title") or update.get("id") or "unknown"]


def install_summary(result, approved=None):
    """What one win_updates install call did, from its registered result (any shape).

    Returns {status, installed, failed, reboot_required, rebooted, unexpected, message} where
    status is one of: nothing_found, installed, failed (a KB or the call failed),
    connection_lost (the task came back unreachable: WinRM dropped, often the update's own
    network reset). `unexpected` lists KBs installed that were not approved (must stay empty).
    """
    result = result or {}
    wanted = set(approved_kbs(approved)) if approved else None
    installed, failed = [], []
    for key in sorted(result.get("updates") or {}):
        update = result["updates"][key]
        kbs = _update_kbs(update)
        if update.get("failure_hresult_code") is not None or update.get("failure_msg"):
            failed.append({"kb": kbs[0], "title": update.get("title") or "", "update_id": update.get("id") or key,
                           "hresult": update.get("failure_hresult_code"),
                           "message": update.get("failure_msg") or "failed (HRESULT %s)" % update.get("failure_hresult_code")})
        elif update.get("installed"):
            installed.append({"kb": kbs[0], "title": update.get("title") or "", "update_id": update.get("id") or key})
    unexpected = sorted(i["kb"] for i in installed if wanted is not None and i["kb"] not in wanted)
    message = str(result.get("msg") or "")
    if result.get("unreachable"):
        status = "connection_lost"
    elif failed or result.get("failed"):
        status = "failed"
        # win_updates' own msg is generic ("Failed to install updates"): name each failed KB and why
        message = "; ".join([message] * bool(message) + ["%s: %s" % (f["kb"], f["message"]) for f in failed])
    elif installed:
        status = "installed"
    else:
        status = "nothing_found"
    return {"status": status, "installed": installed, "failed": failed,
            "reboot_required": bool(result.get("reboot_required")), "rebooted": bool(result.get("rebooted")),
            "unexpected": unexpected, "message": message}


def pending_kbs(search_result, approved):
    """The approved KBs a search still finds pending (not installed), sorted."""
    wanted = set(approved_kbs(approved))
    pending = set()
    for update in ((search_result or {}).get("updates") or {}).values():
        if update.get("installed"):
            continue
        pending.update(kb for kb in kb_ids(update) if kb in wanted)
    return sorted(pending, key=lambda kb: int(kb[2:]))


def loop_decision(round_number, round_limit, pending, summary, cutoff_passed=False, reboot_pending=False):
    """After a round (install [-> reboot] -> search): go on, or stop and why.

    Returns {again, outcome, reason}; outcome is done, failed or stopped (loop limit, cutoff,
    no progress) and only means something when again is false.
    """
    if summary and summary.get("unexpected"):
        return {"again": False, "outcome": "failed",
                "reason": "installed KBs that were not approved: %s" % ", ".join(summary["unexpected"])}
    if not pending:
        if reboot_pending:
            return {"again": False, "outcome": "stopped",
                    "reason": "every approved KB is installed but a reboot is still pending (reboot policy)"}
        return {"again": False, "outcome": "done", "reason": "no approved KB left pending after %d round(s)" % round_number}
    left = ", ".join(pending)
    if summary and summary.get("status") == "failed":
        return {"again": False, "outcome": "failed", "reason": "round %d failed: %s; still pending: %s"
                % (round_number, summary.get("message") or "win_updates failed", left)}
    if summary and summary.get("status") == "nothing_found" and not summary.get("reboot_required") and not summary.get("rebooted"):
        return {"again": False, "outcome": "failed", "reason": "round %d installed nothing and needs no reboot, "
                "but %s still pending (hidden, superseded or blocked by policy on the host?)" % (round_number, left)}
    if reboot_pending:
        return {"again": False, "outcome": "stopped",
                "reason": "a reboot is needed before %s can install, and the reboot policy forbids it" % left}
    if cutoff_passed:
        return {"again": False, "outcome": "stopped", "reason": "the window's cutoff passed; still pending: %s" % left}
    if round_number >= round_limit:
        return {"again": False, "outcome": "stopped",
                "reason": "loop limit (%d rounds) reached; still pending: %s" % (round_limit, left)}
    return {"again": True, "outcome": "continue", "reason": "still pending after round %d: %s" % (round_number, left)}


def round_status(summary, decision):
    """The ledger status of a round's patch row, and a note for its message.

    failed when the round failed; changed when it installed a KB, and also when it installed
    nothing but left no approved KB pending: the KBs were pending at the scan, so they changed in
    this run all the same (an earlier attempt of the run, killed after installing them but before
    recording it, put them in place); a host is never re-judged compliant for that. ok otherwise.
    """
    outcome = (decision or {}).get("outcome")
    if outcome == "failed":
        return {"status": "failed", "note": None}
    if (summary or {}).get("installed"):
        return {"status": "changed", "note": None}
    if outcome == "done":
        return {"status": "changed",
                "note": "the approved KBs were already installed when the round began (by an earlier attempt of the run)"}
    return {"status": "ok", "note": None}


def uninstall_commands(installed):
    """`wusa` command lines that remove the KBs a run installed, newest KB first."""
    kbs = approved_kbs(installed)
    return ["wusa.exe /uninstall /kb:%s /quiet /norestart" % kb[2:] for kb in reversed(kbs)]


# wusa exit codes: 0 done, 3010 done and a reboot is needed, 2359303 (0x240007) the KB is not
# installed, 87 the package cannot be removed (e.g. a servicing stack or a combined SSU+LCU package)
WUSA_EXIT = {0: ("removed", False), 3010: ("removed", True), 2359303: ("not_installed", False),
             1641: ("removed", True)}


def uninstall_outcome(kb, rc, stderr=""):
    """{kb, status (removed | not_installed | failed), reboot_required, message} of one wusa run."""
    status, reboot = WUSA_EXIT.get(rc, ("failed", False))
    message = {"removed": "removed", "not_installed": "was not installed"}.get(
        status, "wusa exited %s%s" % (rc, ": %s" % stderr.strip() if stderr and stderr.strip() else ""))
    if rc == 87:
        message += " (this package cannot be uninstalled with wusa, e.g. a servicing stack update)"
    return {"kb": str(kb).upper() if str(kb).upper().startswith("KB") else "KB%s" % kb, "status": status,
            "reboot_required": reboot, "message": message}
