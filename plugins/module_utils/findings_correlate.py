# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scanner findings against pending patches, before and after the night (pure Python).

Before (the scan phase), for one host:
  * each finding -> the pending patch(es) that fix it: the same package whose candidate is at or
    past the scanner's fixed version, or, when the scanner gives no fixed version or names
    another package (a source package, a library inside it), a patch whose own CVE list names
    the finding's CVE;
  * plan of each finding: ``patch_approved`` | ``patch_not_approved`` (the baseline's reason is
    kept) | ``fix_not_pending`` (the scanner knows a fixed version no pending patch reaches) |
    ``no_fix`` (neither the scanner nor a pending patch knows a fix);
  * the pending patches that close no finding.
After the night: a finding is closed only when the package's installed version is at or past
the fixed version (the scanner's, else the candidate of the patch that named its CVE); open
otherwise. Versions compare in the package manager's order (baseline.compare_versions: dpkg's
for apt, rpm's for dnf/yum/zypper).
"""

from __future__ import annotations

import re
from itertools import zip_longest

from . import baseline as baselib
from . import debversion as _debversion
from .collector import collector

_VERSION_RE = _debversion._VERSION_RE

PLANS = ("patch_approved", "patch_not_approved", "fix_not_pending", "no_fix")


_ORDER = {}
_ORDER_MAX = 200000

# dpkg's order of the characters of a version's non-digit runs, as one string comparison: '~' sorts
# before the end of the run ("\x02", appended), the end before letters, letters before the rest.
_WEIGHTS = str.maketrans(dict([("~", "\x01")] + [(chr(c), chr(c + 256)) for c in range(128) if not chr(c).isalnum() and chr(c) != "~"]))
_RUNS = re.compile(r"(\D*)(\d*)")
_NO_RUN = ("", "")
_DIGITS = "0123456789"
_VERSION_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.+~:-"


def _runs_compare(left, right):
    """dpkg's verrevcmp (-1, 0, 1) of two upstream versions or two revisions: their runs of non-digits
    and digits compared in turn, non-digits by the weights above, digits as numbers. The runs come
    from one regular expression each; only the first differing pair is looked at closely."""
    if left == right:
        return 0
    for (l_text, l_digits), (r_text, r_digits) in zip_longest(_RUNS.findall(left), _RUNS.findall(right), fillvalue=_NO_RUN):
        if l_text != r_text:
            l_text, r_text = l_text.translate(_WEIGHTS) + "\x02", r_text.translate(_WEIGHTS) + "\x02"
            return -1 if l_text < r_text else 1
        if l_digits != r_digits:
            l_number, r_number = int(l_digits or 0), int(r_digits or 0)
            if l_number != r_number:
                return -1 if l_number < r_number else 1
    return 0


def _apt_order(left, right):
    """dpkg's order of two Debian versions (-1, 0, 1); baseline.compare_versions' verdict (None) when
    either is not a Debian version."""
    l_match, r_match = _VERSION_RE.match(left), _VERSION_RE.match(right)
    if l_match is None or r_match is None:  # baseline's (it strips blanks first), or None
        result = baselib.compare_versions("apt", left, right)
        return None if result is None else (result > 0) - (result < 0)
    l_epoch, l_upstream, l_revision = l_match.groups()
    r_epoch, r_upstream, r_revision = r_match.groups()
    l_epoch, r_epoch = int(l_epoch or 0), int(r_epoch or 0)
    if l_epoch != r_epoch:
        return -1 if l_epoch < r_epoch else 1
    return _runs_compare(l_upstream, r_upstream) or _runs_compare(l_revision or "0", r_revision or "0")


def _compare(manager, left, right):
    if manager == "apt":
        head = left.rstrip(_DIGITS)
        size = len(head)
        if size < len(left) and size < len(right) and right.rstrip(_DIGITS) == head and not head.strip(_VERSION_CHARS):
            # the same Debian version but for its last run of digits ("1.2-1~deb12u2", "1.2-1~deb12u5"),
            # the commonest pair in a fleet: the same epoch, upstream version and revision up to that
            # run, so that run decides. Any non-empty text of these characters matches _VERSION_RE.
            l_number, r_number = int(left[size:]), int(right[size:])
            return 0 if l_number == r_number else -1 if l_number < r_number else 1
    # a fleet shares its package versions: the same pair is compared on thousands of hosts
    key = (manager, left, right)
    result = _ORDER.get(key, _ORDER)
    if result is _ORDER:
        if len(_ORDER) >= _ORDER_MAX:
            _ORDER.clear()
        result = _ORDER[key] = _apt_order(left, right) if manager == "apt" else baselib.compare_versions(manager, left, right)
    return result


_compare.cache_clear = _ORDER.clear


def at_or_past(manager, version, fixed):
    """True when `version` is at or past `fixed`; None when they do not order (unknown format)."""
    if not version or not fixed:
        return None
    if version == fixed:
        return True
    result = _compare(manager or "apt", version, fixed)
    return None if result is None else result >= 0


def _patch_index(patches):
    """{name: [patch positions]}, {cve: [patch positions]} (a CVE a patch names twice counts once)."""
    by_name, by_cve = {}, {}
    for position, patch in enumerate(patches):
        name = patch["name"]
        if name in by_name:
            by_name[name].append(position)
        else:
            by_name[name] = [position]
        for cve in patch.get("cves") or ():
            if cve not in by_cve:
                by_cve[cve] = [position]
            elif by_cve[cve][-1] != position:
                by_cve[cve].append(position)
    return by_name, by_cve


def matches(patches, findings):
    """{finding position: [(patch position, how)]} in patch order, how = fixed_version | cve_list; and short misses.

    A finding with a package and a fixed version is fixed by a patch of that package whose
    candidate is at or past it; any finding is fixed by a patch whose CVE list names its CVE
    (unless that patch is of the finding's package and the fixed version decided already).
    short: {finding position: (patch position, candidate)} for a same-package patch whose candidate
    does not reach the scanner's fixed version. One pass over the findings against an index of the
    patches by name and by CVE.
    """
    by_name, by_cve = _patch_index(patches)
    found, short = {}, {}
    # only the findings a pending patch may fix are looked at closely
    for f_index in [i for i, f in enumerate(findings) if f.get("package") in by_name or f["cve"] in by_cve]:
        finding = findings[f_index]
        package = finding.get("package")
        fixed = finding.get("fixed_version")
        hits = None
        if fixed and package:
            for p_index in by_name.get(package, ()):
                patch = patches[p_index]
                candidate = patch.get("candidate_version")
                reached = at_or_past(patch.get("manager") or "apt", candidate, fixed)
                if reached:
                    if hits is None:
                        hits = [(p_index, "fixed_version")]
                    else:
                        hits.append((p_index, "fixed_version"))
                elif reached is False:
                    short[f_index] = (p_index, candidate)
        naming = by_cve.get(finding["cve"])
        if naming:
            by_version = hits
            for p_index in naming:
                if fixed and patches[p_index]["name"] == package:
                    continue  # judged by version above
                if hits is None:
                    hits = [(p_index, "cve_list")]
                else:
                    hits.append((p_index, "cve_list"))
            if by_version and len(hits) > len(by_version):
                hits.sort()
        if hits:
            found[f_index] = hits
    return found, short


def _first_hit(patches, findings, f_index, hit):
    """The order a patch lists the findings it closes: by the first patch that fixes them, those it
    fixes by version first, then by its CVE list's order, then as the scanner listed them."""
    p_index, how = hit
    if how == "fixed_version":
        return p_index, 0, 0, f_index
    return p_index, 1, patches[p_index]["cves"].index(findings[f_index]["cve"]), f_index


def annotate(patches, findings, found=None):
    """Copies of the patches, each with the findings it would close: findings [{cve, severity, source}].

    The baseline's approve_findings_min_severity reads them (baseline.decide). `found`: matches()'s
    first result when the caller has it already.
    """
    if found is None:
        found = matches(patches, findings)[0]
    closes = {}
    for f_index, hits in found.items():
        finding = findings[f_index]
        brief = {"cve": finding["cve"], "severity": finding["severity"], "source": finding.get("source")}
        for p_index, _how in hits:
            if p_index in closes:
                closes[p_index].append((f_index, brief))
            else:
                closes[p_index] = [(f_index, brief)]
    out = list(patches)
    for p_index, closing in closes.items():  # the others stay as they are: they close none
        if len(closing) == 1:
            out[p_index] = dict(patches[p_index], findings=[closing[0][1]])
        else:
            closing.sort(key=lambda item: _first_hit(patches, findings, item[0], found[item[0]][0]))
            out[p_index] = dict(patches[p_index], findings=[brief for _f_index, brief in closing])
    return out


def correlate(patches, findings, decisions, matched=None):
    """The plan of every finding of one host; `decisions` one baseline decision per patch (same order).

    Returns {findings: [finding + plan (also as state), patches, match, approved, reason, fixed_by,
             fix_package, fix_version, manager], not_approved: [...], no_fix: [...], fix_not_pending: [...],
             patches_without_finding: [names], summary: {plan: count, findings, patches_closing}}.
    `matched`: matches()'s result when the caller has it already. Each finding's record is built
    once, in one step, from the finding and its plan.
    """
    found, short = matched or matches(patches, findings)
    out, closing = [], set()
    not_approved, no_fix, not_pending = [], [], []
    for f_index, finding in enumerate(findings):
        hits = found.get(f_index)
        if hits:
            chosen = how = None
            names = []
            for p_index, p_how in hits:
                names.append(patches[p_index]["name"])
                closing.add(p_index)
                if chosen is None and decisions[p_index]["approved"]:
                    chosen, how = p_index, p_how
            if chosen is not None:
                plan, reason, approved = "patch_approved", decisions[chosen]["reason"], True
            else:
                chosen, how = hits[0]
                plan, approved = "patch_not_approved", False
                reason = "; ".join("%s: %s" % (patches[p]["name"], decisions[p]["reason"]) for p, _how in hits)
            patch = patches[chosen]
            name, candidate = patch["name"], patch.get("candidate_version")
            # plan is also the state: the finding's standing in the scan phase (the ledger's)
            entry = {**finding, "patches": names, "match": how, "fixed_by": "%s=%s" % (name, candidate), "fix_package": name,
                     "fix_version": finding.get("fixed_version") or candidate, "manager": patch.get("manager") or "apt",
                     "approved": approved, "plan": plan, "state": plan, "reason": reason}
            if not approved:
                not_approved.append(entry)
        else:
            fixed = finding.get("fixed_version")
            if fixed:
                plan = "fix_not_pending"
                miss = short.get(f_index)
                if miss:
                    manager = patches[miss[0]].get("manager")
                    reason = "pending %s %s does not reach the fixed version %s" % (finding["package"], miss[1], fixed)
                else:
                    manager = None
                    reason = "no pending patch of %s; the scanner says %s fixes it" % (finding.get("package") or "the package", fixed)
                entry = {**finding, "patches": [], "approved": False, "fix_package": finding.get("package"), "fix_version": fixed,
                         "manager": manager, "plan": plan, "state": plan, "reason": reason}
                not_pending.append(entry)
            else:  # no manager: nothing to compare with
                entry = {**finding, "patches": [], "approved": False, "fix_package": finding.get("package"), "fix_version": None,
                         "plan": "no_fix", "state": "no_fix",
                         "reason": "no fix available: the scanner gives no fixed version and no pending patch names %s" % finding["cve"]}
                no_fix.append(entry)
        out.append(entry)
    summary = {"patch_approved": len(out) - len(not_approved) - len(not_pending) - len(no_fix),
               "patch_not_approved": len(not_approved), "fix_not_pending": len(not_pending), "no_fix": len(no_fix),
               "findings": len(out), "patches_closing": len(closing)}
    return {
        "findings": out,
        # the same records as in findings, by plan
        "not_approved": not_approved,
        "no_fix": no_fix,
        "fix_not_pending": not_pending,
        "patches_without_finding": [p["name"] for i, p in enumerate(patches) if i not in closing],
        "summary": summary,
    }


def plan_host(patches, findings, baseline, today, product=None, dependencies=None):
    """annotate + the baseline's decisions + correlate, for one host (the scan phase's filter).

    `dependencies`: patch_scan's {patch: [pending patches it needs]}, so that the plan's decisions are
    the approval's own (a patch that needs a blocked one is not approved: baseline.apply_dependencies).
    Adds to correlate()'s result: patches (annotated), decisions (each annotated patch with approved and
    approval_reason, as the patch_decisions filter returns them) and warnings (baseline.warnings).
    """
    with collector(False):  # builds no reference cycles (module_utils/collector.py)
        matched = matches(patches, findings)
        annotated = annotate(patches, findings, matched[0])
        decisions = baselib.evaluate(annotated, baseline, today, product, dependencies or None)
        result = correlate(annotated, findings, decisions, matched)
        result["patches"] = annotated
        # the approval's decisions, as patch_decisions gives them: the night approves from these instead
        # of judging every patch against the baseline a second time
        result["decisions"] = [{**patch, "approved": decision["approved"], "approval_reason": decision["reason"]}
                               for patch, decision in zip(annotated, decisions, strict=True)]
        result["warnings"] = baselib.warnings(annotated, decisions, baseline)
    return result


# -- after the night -------------------------------------------------------------------------------

def judge_after(findings, installed, default_manager="apt"):
    """Each planned finding judged by what is installed now: state closed | open, and why.

    `installed`: {package: version or None (not installed)}; a package missing from it is taken
    as unchanged (its version before the night). Returns compact records: cve, package, severity,
    cvss, source, installed_before, installed_version (now), fixed_version (the one judged
    against), plan, state, reason.
    """
    with collector(False):  # builds no reference cycles (module_utils/collector.py)
        return _judge_after(findings, installed, default_manager)


def _judge_after(findings, installed, default_manager):
    out = []
    append = out.append
    missing = installed.get  # bound once: called for every finding
    for finding in findings:
        get = finding.get
        package = get("fix_package") or get("package")
        fixed = get("fix_version") or get("fixed_version")
        before = get("installed_version")
        if package:
            now = missing(package, before)
            gone = now is None and package in installed
        else:
            now, gone = None, False
        if gone:
            state, reason = "closed", "%s is no longer installed" % package
        elif not fixed:
            state, reason = "open", "no fixed version known"
        elif not now:
            state, reason = "open", "installed version of %s unknown" % (package or "the package")
        else:
            reached = True if now == fixed else _compare(get("manager") or default_manager or "apt", now, fixed)
            if reached is True or (reached is not None and reached >= 0):
                state, reason = "closed", "%s %s is at or past the fixed version %s" % (package, now, fixed)
            elif reached is None:
                state, reason = "open", "%s %s and the fixed version %s do not compare" % (package, now, fixed)
            else:
                state, reason = "open", "%s %s is older than the fixed version %s" % (package, now, fixed)
        plan = get("plan")
        if state == "open" and plan in _OPEN_WITH_REASON:
            reason = "%s; %s" % (reason, get("reason"))
        append({"cve": finding["cve"], "package": get("package"), "severity": get("severity"), "cvss": get("cvss"),
                "source": get("source"), "installed_before": before, "installed_version": now, "fixed_version": fixed,
                "plan": plan, "state": state, "reason": reason})
    return out


_OPEN_WITH_REASON = frozenset(("patch_not_approved", "fix_not_pending", "no_fix"))


def after_summary(judged):
    closed = [e for e in judged if e["state"] == "closed"]
    still = [e for e in judged if e["state"] == "open"]
    return {"closed": closed, "open": still, "summary": {"closed": len(closed), "open": len(still)}}


def agreement(judged, source_open):
    """Where the source's own rescan disagrees with the installed-version verdicts.

    `source_open`: set of (cve, package) the source still reports open for the host. Returns
    [{cve, package, ours, source}].
    """
    out = []
    for entry in judged:
        key = (entry["cve"], entry.get("package"))
        theirs = "open" if key in source_open else "closed"
        if theirs != entry["state"]:
            out.append({"cve": entry["cve"], "package": entry.get("package"), "ours": entry["state"], "source": theirs,
                        "reason": entry.get("reason")})
    return out


def to_confirm(afters, source="inspector2"):
    """What to ask a source that rescans on its own, from each host's after-the-night verdicts.

    `afters`: {host: findings_after()'s result}. Returns {closed: {host: [{cve, package, reason}]},
    open: {host: [...]}}: every finding judged closed (the source must not report it any more,
    whoever reported it first), and the findings judged open that `source` itself reported (only
    those can be closed there; another scanner's finding is not the source's to close).
    """
    closed, still = {}, {}
    for host, after in afters.items():
        if not after:
            continue
        closed[host] = [{"cve": f["cve"], "package": f.get("package"), "reason": f.get("reason")} for f in after.get("closed") or ()]
        mine = [{"cve": f["cve"], "package": f.get("package"), "reason": f.get("reason")} for f in after.get("open") or ()
                if f.get("source") == source]
        if mine:
            still[host] = mine
    return {"closed": closed, "open": still}


def disagreement_records(disagreements):
    """The ledger records of a host's source check: state source_open (closed here, still open at the
    source) or source_closed (open here, the source no longer reports it)."""
    return [{"cve": d["cve"], "package": d.get("package"), "state": "source_%s" % d["source"], "reason": d.get("reason")}
            for d in disagreements or ()]
