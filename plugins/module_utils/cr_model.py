# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The change-request model shared by every backend (pure Python, no Ansible import).

States and transitions follow ServiceNow's change models (normal, standard, emergency):
new -> assess -> authorize -> scheduled -> implement -> review -> closed, plus canceled.
Standard changes are pre-authorized and skip assess/authorize; emergency changes skip assess.
A change is never moved backwards implicitly, and a move is always walked one allowed step at
a time. Also here: the correlation id that makes opening idempotent, the input normalisation
(hosts, owners, window, patches, CVEs), and the close code derived from the hosts' outcomes.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import lifecycle
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_errors import CRTransitionError, CRValidationError

STATES = ("new", "assess", "authorize", "scheduled", "implement", "review", "closed", "canceled")
TERMINAL = ("closed", "canceled")
CHANGE_TYPES = ("normal", "standard", "emergency")
CLOSE_CODES = ("successful", "successful_issues", "unsuccessful")

# ServiceNow's stored values of the change_request.state choices.
SERVICENOW_STATE_VALUES = {
    "new": "-5", "assess": "-4", "authorize": "-3", "scheduled": "-2",
    "implement": "-1", "review": "0", "closed": "3", "canceled": "4",
}
SERVICENOW_STATE_NAMES = dict((v, k) for k, v in SERVICENOW_STATE_VALUES.items())

# The forward path of each model and the transitions it allows (ServiceNow's defaults: a change can
# be reverted to new before it is implemented, canceled at any point before review, never reopened).
MAIN_LINE = {
    "normal": ("new", "assess", "authorize", "scheduled", "implement", "review", "closed"),
    "standard": ("new", "scheduled", "implement", "review", "closed"),
    "emergency": ("new", "authorize", "scheduled", "implement", "review", "closed"),
}
TRANSITIONS = {
    "normal": {
        "new": ("assess", "canceled"),
        "assess": ("authorize", "new", "canceled"),
        "authorize": ("scheduled", "new", "canceled"),
        "scheduled": ("implement", "new", "canceled"),
        "implement": ("review", "canceled"),
        "review": ("closed",),
        "closed": (),
        "canceled": (),
    },
    "standard": {
        "new": ("scheduled", "canceled"),
        "scheduled": ("implement", "canceled"),
        "implement": ("review", "canceled"),
        "review": ("closed",),
        "closed": (),
        "canceled": (),
    },
    "emergency": {
        "new": ("authorize", "canceled"),
        "authorize": ("scheduled", "new", "canceled"),
        "scheduled": ("implement", "canceled"),
        "implement": ("review", "canceled"),
        "review": ("closed",),
        "closed": (),
        "canceled": (),
    },
}

# Host outcomes (module_utils/lifecycle.py, plus the words other callers of the module use) and those that count as a success.
SUCCESS_OUTCOMES = lifecycle.SUCCEEDED
KNOWN_OUTCOMES = lifecycle.HOST_STATUSES + ("skipped", "not_patched")

CORRELATION_PREFIX = "fleetpatch"
# The characters of AWS tag values (a patch group is a `Patch Group` tag), less what breaks queries: ^ (ServiceNow), quotes.
_CORRELATION_RE = re.compile(r"^[A-Za-z0-9._:@/+= -]{1,100}$")
_CVE_RE = re.compile(r"^CVE-\d{4}-\d{4,}$")


def model_states(change_type):
    _require_type(change_type)
    return tuple(TRANSITIONS[change_type])


def allowed_next(change_type, state):
    _require_type(change_type)
    if state not in TRANSITIONS[change_type]:
        raise CRTransitionError("state %r is not in the %s change model (%s)" % (
            state, change_type, ", ".join(TRANSITIONS[change_type])), state=state)
    return TRANSITIONS[change_type][state]


def check_step(change_type, current, target):
    """Raise unless the model allows moving from current to target in one step."""
    if target not in allowed_next(change_type, current):
        allowed = allowed_next(change_type, current)
        raise CRTransitionError("the %s change model does not allow %s -> %s (from %s: %s)" % (
            change_type, current, target, current, ", ".join(allowed) or "no transition, it is final"),
            state=target, current_state=current)


def plan_transitions(change_type, current, target):
    """The steps to walk from current to target, and whether the change is already past target.

    Returns (steps, past). Moving forward walks every intermediate state of the model; a change
    already further along its forward path than target is left alone (past=True): a rerun of the
    night's opening step never drags a change back. Reopening a closed or canceled change, or
    canceling one under review, is refused.
    """
    _require_type(change_type)
    states = TRANSITIONS[change_type]
    for name, value in (("state", target), ("current state", current)):
        if value not in states:
            raise CRTransitionError("%s %r is not in the %s change model (%s)" % (
                name, value, change_type, ", ".join(states)), state=value)
    if current == target:
        return [], False
    line = MAIN_LINE[change_type]
    if target == "canceled":
        check_step(change_type, current, "canceled")
        return ["canceled"], False
    if current == "canceled":
        raise CRTransitionError("the change was canceled; a canceled change cannot move to %s. Open a new one "
                                "(a new run id gives a new correlation id)" % target, state=target, current_state=current)
    if line.index(target) < line.index(current):
        return [], True
    steps = list(line[line.index(current) + 1:line.index(target) + 1])
    previous = current
    for step in steps:
        check_step(change_type, previous, step)
        previous = step
    return steps, False


def correlation_id(run_id, patch_group):
    """The id that makes a change unique per run and patch group: reruns find it instead of raising another."""
    for field, value in (("run_id", run_id), ("patch_group", patch_group)):
        if not value or not isinstance(value, str):
            raise CRValidationError("%s is required (a non-empty string) to build the correlation id, got %r; "
                                    "or give correlation_id or number" % (field, value), field=field)
    return check_correlation_id("%s:%s:%s" % (CORRELATION_PREFIX, run_id, patch_group))


def check_correlation_id(value):
    if not isinstance(value, str) or not _CORRELATION_RE.match(value):
        raise CRValidationError(
            "correlation_id %r must be 1-100 characters of letters, digits, space and ._:@/+=- "
            "(ServiceNow's correlation_id holds 100; ^ would break its queries)" % (value,), field="correlation_id")
    return value


def parse_time(field, value):
    """An ISO 8601 time (naive means UTC) as an aware UTC datetime; a clear error otherwise."""
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value).strip()
        try:
            parsed = datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
        except ValueError:
            raise CRValidationError("%s %r is not an ISO 8601 time such as 2026-11-29T02:00:00Z" % (field, value), field=field)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def iso(value):
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def normalize_window(window):
    """{start, end, expression, timezone}: start/end as UTC ISO strings; end after start."""
    if not window:
        return {}
    if not isinstance(window, dict):
        raise CRValidationError("window must be a dict with start, end (ISO 8601) and optionally expression, "
                                "timezone; got %r" % (window,), field="window")
    unknown = sorted(set(window) - set(("start", "end", "expression", "timezone")))
    if unknown:
        raise CRValidationError("window has unknown keys %s (allowed: start, end, expression, timezone)" % ", ".join(unknown),
                                field="window")
    out = {}
    start = parse_time("window.start", window["start"]) if window.get("start") else None
    end = parse_time("window.end", window["end"]) if window.get("end") else None
    if start and end and end <= start:
        raise CRValidationError("window.end %s is not after window.start %s" % (iso(end), iso(start)), field="window")
    if start:
        out["start"] = iso(start)
    if end:
        out["end"] = iso(end)
    for key in ("expression", "timezone"):
        if window.get(key):
            out[key] = str(window[key])
    return out


def normalize_patches(patches):
    """Patch records (dicts as patch_scan returns them, or 'name=version' strings) as {name, version, cves, advisories}.

    The same name and version given twice (approved on several hosts) is one patch with the CVEs of both.
    """
    out = {}
    for index, patch in enumerate(patches or []):
        if isinstance(patch, str):
            name, dummy, version = patch.partition("=")
            entry = {"name": name.strip(), "version": version.strip() or None, "cves": [], "advisories": []}
        elif isinstance(patch, dict):
            entry = {
                "name": patch.get("name"),
                "version": patch.get("version") or patch.get("candidate_version"),
                "cves": sorted(set(patch.get("cves") or [])),
                "advisories": sorted(set(patch.get("advisories") or [])),
            }
        else:
            entry = {"name": None}
        if not entry["name"] or not isinstance(entry["name"], str):
            raise CRValidationError("patches[%d] needs a name (a dict with name and version/candidate_version, "
                                    "or a 'name=version' string), got %r" % (index, patch), field="patches")
        key = (entry["name"], entry["version"])
        if key in out:  # the same patch approved on several hosts of the group
            out[key]["cves"] = sorted(set(out[key]["cves"]) | set(entry["cves"]))
            out[key]["advisories"] = sorted(set(out[key]["advisories"]) | set(entry["advisories"]))
        else:
            out[key] = entry
    return [out[key] for key in sorted(out, key=lambda k: (k[0], k[1] or ""))]


def normalize_cves(cves, patches=()):
    found = set()
    for cve in list(cves or []) + [c for p in patches for c in p.get("cves", [])]:
        if not isinstance(cve, str) or not _CVE_RE.match(cve.strip()):
            raise CRValidationError("cves: %r is not a CVE id such as CVE-2026-10001" % (cve,), field="cves")
        found.add(cve.strip())
    return sorted(found)


def _names(field, values):
    out = []
    for value in values or []:
        if not isinstance(value, str) or not value.strip():
            raise CRValidationError("%s must be a list of non-empty strings, got %r" % (field, value), field=field)
        out.append(value.strip())
    return sorted(set(out))


def make_spec(params):
    """The backend-independent description of one change request, validated.

    params: run_id, patch_group, correlation_id, change_type, short_description, description,
    hosts, owners, window, patches, cves, assignment_group, template.
    """
    change_type = params.get("change_type") or "normal"
    _require_type(change_type)
    if params.get("correlation_id"):
        cid = check_correlation_id(params["correlation_id"])
    elif params.get("run_id") or params.get("patch_group"):
        cid = correlation_id(params.get("run_id"), params.get("patch_group"))
    else:
        cid = None
    patches = normalize_patches(params.get("patches"))
    spec = {
        "correlation_id": cid,
        "run_id": params.get("run_id"),
        "patch_group": params.get("patch_group"),
        "change_type": change_type,
        "hosts": _names("hosts", params.get("hosts")),
        "owners": _names("owners", params.get("owners")),
        "window": normalize_window(params.get("window")),
        "patches": patches,
        "cves": normalize_cves(params.get("cves"), patches),
        "assignment_group": params.get("assignment_group"),
        "template": params.get("template"),
    }
    spec["short_description"] = params.get("short_description") or default_short_description(spec)
    spec["description"] = params.get("description") or describe(spec)
    return spec


def default_short_description(spec):
    group = spec.get("patch_group") or "fleet"
    when = (" on %s" % spec["window"]["start"][:10]) if spec.get("window", {}).get("start") else ""
    return "Patch night: patch group %s, %d host(s)%s" % (group, len(spec.get("hosts") or []), when)


def describe(spec):
    """The body of the change: what will be patched where, when, for whom, and what it closes."""
    lines = ["Patch night raised by fleetpatch.hybrid."]
    if spec.get("run_id"):
        lines.append("Run: %s" % spec["run_id"])
    if spec.get("patch_group"):
        lines.append("Patch group: %s" % spec["patch_group"])
    window = spec.get("window") or {}
    if window:
        parts = [window.get("start", "?"), "->", window.get("end", "?")]
        if window.get("expression"):
            parts.append("(%s%s)" % (window["expression"], (" " + window["timezone"]) if window.get("timezone") else ""))
        lines.append("Window: %s" % " ".join(parts))
    lines.append("Owners: %s" % (", ".join(spec.get("owners") or []) or "-"))
    lines.append("Hosts (%d): %s" % (len(spec.get("hosts") or []), ", ".join(spec.get("hosts") or []) or "-"))
    patches = spec.get("patches") or []
    lines.append("Approved patches (%d):" % len(patches))
    for patch in patches:
        extra = ", ".join(patch.get("advisories", []) + patch.get("cves", []))
        lines.append("  - %s%s%s" % (patch["name"], ("=" + patch["version"]) if patch.get("version") else "",
                                     (" (%s)" % extra) if extra else ""))
    # the plan, not the outcome: what closed is stated in the close notes
    lines.append("CVEs the approved patches fix, once installed (%d): %s" % (
        len(spec.get("cves") or []), ", ".join(spec.get("cves") or []) or "-"))
    if spec.get("correlation_id"):
        lines.append("Correlation id: %s" % spec["correlation_id"])
    return "\n".join(lines)


def host_outcomes(outcomes, hosts=()):
    """{host: outcome} for every host of the change; a host with no outcome is incomplete."""
    if outcomes is None:
        outcomes = {}
    if not isinstance(outcomes, dict):
        raise CRValidationError("host_outcomes must be a dict of host -> outcome (patched, compliant, failed, ...), "
                                "got %r" % (outcomes,), field="host_outcomes")
    out = {}
    for host, outcome in outcomes.items():
        if not isinstance(outcome, str) or not outcome:
            raise CRValidationError("host_outcomes[%s] must be an outcome word such as %s, got %r" % (
                host, ", ".join(KNOWN_OUTCOMES), outcome), field="host_outcomes")
        out[str(host)] = outcome
    for host in hosts or ():
        out.setdefault(host, "incomplete")
    return dict(sorted(out.items()))


def derive_close_code(outcomes, hosts=()):
    """successful when every host is patched or compliant, unsuccessful when none is, else successful_issues."""
    outcomes = host_outcomes(outcomes, hosts)
    if not outcomes:
        raise CRValidationError("no host outcome to derive a close code from: give host_outcomes (host -> outcome) "
                                "or close_code", field="host_outcomes")
    good = sum(1 for outcome in outcomes.values() if outcome in SUCCESS_OUTCOMES)
    if good == len(outcomes):
        return "successful"
    if good == 0:
        return "unsuccessful"
    return "successful_issues"


def close_notes(outcomes, hosts=(), details=None, correlation=None):
    """Close notes a reviewer can read: the count per outcome, then one line per host."""
    outcomes = host_outcomes(outcomes, hosts)
    details = details or {}
    counts = {}
    for outcome in outcomes.values():
        counts[outcome] = counts.get(outcome, 0) + 1
    lines = ["Close code: %s. %d host(s): %s." % (
        derive_close_code(outcomes) if outcomes else "n/a", len(outcomes),
        ", ".join("%s %d" % (k, v) for k, v in sorted(counts.items())) or "none")]
    for host, outcome in outcomes.items():
        detail = details.get(host)
        lines.append("- %s: %s%s" % (host, outcome, (" (%s)" % detail) if detail else ""))
    if correlation:
        lines.append("Correlation id: %s" % correlation)
    return "\n".join(lines)


def check_close_code(value):
    if value not in CLOSE_CODES:
        raise CRValidationError("close_code %r is not one of %s" % (value, ", ".join(CLOSE_CODES)), field="close_code")
    return value


def _require_type(change_type):
    if change_type not in CHANGE_TYPES:
        raise CRValidationError("change_type %r is not one of %s" % (change_type, ", ".join(CHANGE_TYPES)), field="change_type")


def utcnow():
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()
