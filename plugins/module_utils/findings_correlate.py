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

from functools import lru_cache

from . import baseline as baselib

PLANS = ("patch_approved", "patch_not_approved", "fix_not_pending", "no_fix")


@lru_cache(maxsize=65536)
def _compare(manager, left, right):
    # a fleet shares its package versions: the same pair is compared on thousands of hosts
    return baselib.compare_versions(manager, left, right)


def at_or_past(manager, version, fixed):
    """True when `version` is at or past `fixed`; None when they do not order (unknown format)."""
    if not version or not fixed:
        return None
    if version == fixed:
        return True
    result = _compare(manager or "apt", version, fixed)
    return None if result is None else result >= 0


def _index(findings):
    by_package, by_cve = {}, {}
    for position, finding in enumerate(findings):
        if finding.get("package"):
            by_package.setdefault(finding["package"], []).append(position)
        by_cve.setdefault(finding["cve"], []).append(position)
    return by_package, by_cve


def matches(patches, findings):
    """{finding position: [(patch position, how)]}, how = fixed_version | cve_list; and short misses.

    short: {finding position: (patch position, candidate)} for a same-package patch whose candidate
    does not reach the scanner's fixed version.
    """
    by_package, by_cve = _index(findings)
    found, short = {}, {}
    for p_index, patch in enumerate(patches):
        manager = patch.get("manager") or "apt"
        name, candidate = patch["name"], patch.get("candidate_version")
        for f_index in by_package.get(name, ()):
            finding = findings[f_index]
            if finding.get("fixed_version"):
                reached = at_or_past(manager, candidate, finding["fixed_version"])
                if reached:
                    found.setdefault(f_index, []).append((p_index, "fixed_version"))
                elif reached is False:
                    short[f_index] = (p_index, candidate)
        for cve in patch.get("cves") or ():
            for f_index in by_cve.get(cve, ()):
                finding = findings[f_index]
                if finding.get("fixed_version") and finding.get("package") == name:
                    continue  # judged by version above
                if all(p != p_index for p, _how in found.get(f_index, ())):
                    found.setdefault(f_index, []).append((p_index, "cve_list"))
    return found, short


def annotate(patches, findings):
    """Copies of the patches, each with the findings it would close: findings [{cve, severity, source}].

    The baseline's approve_findings_min_severity reads them (baseline.decide).
    """
    found, _short = matches(patches, findings)
    closes = {}
    for f_index, hits in found.items():
        finding = findings[f_index]
        for p_index, _how in hits:
            closes.setdefault(p_index, []).append({"cve": finding["cve"], "severity": finding["severity"],
                                                   "source": finding.get("source")})
    out = []
    for p_index, patch in enumerate(patches):
        patch = dict(patch)
        patch["findings"] = closes.get(p_index, [])
        out.append(patch)
    return out


def correlate(patches, findings, decisions):
    """The plan of every finding of one host; `decisions` one baseline decision per patch (same order).

    Returns {findings: [finding + plan, patches, match, approved, reason, fixed_by],
             not_approved: [...], no_fix: [...], fix_not_pending: [...],
             patches_without_finding: [names], summary: {plan: count, findings, patches_closing}}.
    """
    found, short = matches(patches, findings)
    out, closing = [], set()
    for f_index, finding in enumerate(findings):
        entry = dict(finding)
        hits = found.get(f_index)
        if hits:
            names = [patches[p]["name"] for p, _how in hits]
            closing.update(p for p, _how in hits)
            approved = [p for p, _how in hits if decisions[p]["approved"]]
            chosen = approved[0] if approved else hits[0][0]
            patch = patches[chosen]
            entry.update(patches=names, match=dict(hits)[chosen], fixed_by="%s=%s" % (patch["name"], patch.get("candidate_version")),
                         fix_package=patch["name"], fix_version=finding.get("fixed_version") or patch.get("candidate_version"),
                         manager=patch.get("manager") or "apt")
            if approved:
                entry.update(plan="patch_approved", approved=True, reason=decisions[chosen]["reason"])
            else:
                entry.update(plan="patch_not_approved", approved=False,
                             reason="; ".join("%s: %s" % (patches[p]["name"], decisions[p]["reason"]) for p, _how in hits))
        elif finding.get("fixed_version"):
            miss = short.get(f_index)
            reason = ("pending %s %s does not reach the fixed version %s" % (finding["package"], miss[1], finding["fixed_version"])
                      if miss else "no pending patch of %s; the scanner says %s fixes it" % (finding.get("package") or "the package",
                                                                                          finding["fixed_version"]))
            entry.update(plan="fix_not_pending", approved=False, reason=reason, patches=[],
                         fix_package=finding.get("package"), fix_version=finding["fixed_version"],
                         manager=patches[miss[0]].get("manager") if miss else None)
        else:
            entry.update(plan="no_fix", approved=False, patches=[], fix_package=finding.get("package"), fix_version=None,
                         reason="no fix available: the scanner gives no fixed version and no pending patch names %s" % finding["cve"])
        entry["state"] = entry["plan"]  # the finding's standing in the scan phase (the ledger's state)
        out.append(entry)
    summary = dict((plan, 0) for plan in PLANS)
    for entry in out:
        summary[entry["plan"]] += 1
    summary["findings"] = len(out)
    summary["patches_closing"] = len(closing)
    return {
        "findings": out,
        "not_approved": [_brief(e) for e in out if e["plan"] == "patch_not_approved"],
        "no_fix": [_brief(e) for e in out if e["plan"] == "no_fix"],
        "fix_not_pending": [_brief(e) for e in out if e["plan"] == "fix_not_pending"],
        "patches_without_finding": [p["name"] for i, p in enumerate(patches) if i not in closing],
        "summary": summary,
    }


def _brief(entry):
    return {"cve": entry["cve"], "package": entry.get("package"), "severity": entry["severity"],
            "patches": entry.get("patches") or [], "reason": entry["reason"]}


def plan_host(patches, findings, baseline, today, product=None):
    """annotate + the baseline's decisions + correlate, for one host (the scan phase's filter)."""
    annotated = annotate(patches, findings)
    decisions = baselib.evaluate(annotated, baseline, today, product)
    result = correlate(annotated, findings, decisions)
    result["patches"] = annotated
    return result


# -- after the night -------------------------------------------------------------------------------

def judge_after(findings, installed, default_manager="apt"):
    """Each planned finding judged by what is installed now: state closed | open, and why.

    `installed`: {package: version or None (not installed)}; a package missing from it is taken
    as unchanged (its version before the night).
    """
    out = []
    for finding in findings:
        entry = dict(finding)
        package = finding.get("fix_package") or finding.get("package")
        fixed = finding.get("fix_version") or finding.get("fixed_version")
        manager = finding.get("manager") or default_manager
        before = finding.get("installed_version")
        now = installed.get(package, before) if package else None
        entry["installed_after"] = now
        if package and package in installed and installed[package] is None:
            entry.update(state="closed", state_reason="%s is no longer installed" % package)
        elif not fixed:
            entry.update(state="open", state_reason="no fixed version known")
        elif not now:
            entry.update(state="open", state_reason="installed version of %s unknown" % (package or "the package"))
        else:
            reached = at_or_past(manager, now, fixed)
            if reached:
                entry.update(state="closed", state_reason="%s %s is at or past the fixed version %s" % (package, now, fixed))
            elif reached is None:
                entry.update(state="open", state_reason="%s %s and the fixed version %s do not compare" % (package, now, fixed))
            else:
                entry.update(state="open", state_reason="%s %s is older than the fixed version %s" % (package, now, fixed))
        entry["plan_reason"] = finding.get("reason")
        entry["reason"] = entry["state_reason"]
        if entry["state"] == "open" and finding.get("plan") in ("patch_not_approved", "fix_not_pending", "no_fix"):
            entry["reason"] += "; %s" % finding.get("reason")
        entry["fixed_version"] = fixed
        out.append(entry)
    return out


def after_summary(judged):
    closed = [_after_brief(e) for e in judged if e["state"] == "closed"]
    still = [_after_brief(e) for e in judged if e["state"] == "open"]
    return {"closed": closed, "open": still, "summary": {"closed": len(closed), "open": len(still)}}


def _after_brief(entry):
    return {"cve": entry["cve"], "package": entry.get("package"), "severity": entry["severity"],
            "installed": entry.get("installed_after"), "fixed_version": entry.get("fix_version"),
            "plan": entry.get("plan"), "reason": entry.get("reason")}


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
                        "reason": entry.get("state_reason")})
    return out
