# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one phase and status model of a patch night (pure Python, no Ansible import).

Everything that knows a phase name, a phase status or a host outcome imports it from here:
the ledger (what may be recorded), the report (one outcome per host), the max-fail gate and the
run's verdict (which outcomes count as failed), the resume (which outcomes are final, where a
host goes on), and the search for the phase a lost host was lost in.

A host's phase rows -> one outcome:
  needs_attention   a phase row says the night could not leave the host consistent
                    (data.needs_attention: what is wrong); an operator has to look
  rolled_back       validation failed, the rollback put the host back and it is healthy
  rollback_failed   validation failed and the rollback did not put it back
  deferred          kept out of the night because its window is not open (not a failure):
                    a preflight row ``skipped`` with data.deferred true
  not_started       the cutoff or the max-fail gate kept it from starting: a preflight row
                    ``skipped`` (without data.deferred)
  unreachable       a phase row ``unreachable``
  failed            a phase row ``failed``
  patched           its patch changed packages and the rescan proved them
  compliant         no approved patch was pending (or its patch changed nothing)
  non_compliant     a scan-only run: approved patches are missing
  incomplete        the night has not finished it (a rerun with the same run id goes on)
"""

from __future__ import annotations

# phases in the order a host goes through them; rollback runs only after a failed validation.
# The operator's hook points (module_utils/hooks.py) are phases too, recorded only for a host whose
# patch group has steps for them: pre_patch after the snapshot, post_patch after validation (and
# after a rollback, or a pre_patch that stopped the host: it undoes what pre_patch did), on_rollback
# after a rollback. A failed hook point makes the host failed (counted by the max-fail gate).
HOOK_PHASES = ("pre_patch", "on_rollback", "post_patch")
PHASES = ("preflight", "scan", "findings", "approve", "snapshot", "pre_patch", "patch", "reboot", "validate", "rollback",
          "on_rollback", "post_patch", "rescan")
# the phases judged for every targeted host before any host is changed
PREPARE_PHASES = ("preflight", "scan", "approve")
# findings (scanner findings read and correlated with the pending patches, only with
# fleetpatch_findings_sources) is a step of the scan role, between the scan and the approval: a
# resume runs it again with the scan, never alone, so it is in no step list above. Its failure
# (a source that cannot be read) fails the host only when its row says so (data.required):
# otherwise the night goes on without those findings.
ADVISORY_PHASES = ("findings",)
# the phases of a host's batch, in order (rollback is not among them: it happens only on failure;
# nor are the hook points: a resumed host runs them again when the phase after them is not done)
BATCH_PHASES = ("snapshot", "patch", "reboot", "validate", "rescan")

PHASE_STATUSES = ("ok", "changed", "skipped", "failed", "unreachable")
# a phase with one of these outcomes is completed: a resume does not run it again
PHASE_DONE = ("ok", "changed", "skipped")
PHASE_BAD = ("failed", "unreachable")

HOST_STATUSES = ("patched", "compliant", "non_compliant", "deferred", "not_started", "rolled_back", "rollback_failed",
                 "needs_attention", "failed", "unreachable", "incomplete")
# a change request closes successful when every host of it is one of these
SUCCEEDED = ("patched", "compliant")
# counted as failed by fleetpatch_max_fail_percentage (out of TRIED) and by the run's verdict
FAILED = ("failed", "unreachable", "rolled_back", "rollback_failed", "needs_attention")
# hosts the night tried to patch: the denominator of the max-fail percentage
TRIED = ("patched",) + FAILED
# any of these makes the run fail (after the report is written): not patched as planned.
# deferred is not among them: a host outside its window was not due tonight.
NOT_DONE = FAILED + ("incomplete", "not_started")
# a host with one of these outcomes is finished for its run: a rerun with the same run id leaves it
TERMINAL = tuple(s for s in HOST_STATUSES if s != "incomplete")


def _status(phases, phase):
    return (phases.get(phase) or {}).get("status")


def _data(phases, phase):
    return (phases.get(phase) or {}).get("data") or {}


def _counts(phases, phase):
    """Whether a phase's failure is the host's (an advisory phase's only when its row says required)."""
    return phase not in ADVISORY_PHASES or bool(_data(phases, phase).get("required"))


def attention(phases):
    """What is wrong on a host the night could not leave consistent, or None."""
    for phase in PHASES:
        what = _data(phases, phase).get("needs_attention")
        if what:
            return phase, what if isinstance(what, str) else (phases[phase].get("message") or "needs attention")
    return None


def host_status(phases, scan_only=False):
    """One outcome (one of HOST_STATUSES) for a host from its latest row of each phase.

    ``phases`` maps a phase name to {status, message, data}. A scan-only run (playbook
    fleetpatch.hybrid.scan) reports compliant or non_compliant from the approval's compliance.
    """
    if attention(phases):
        return "needs_attention"
    rollback = _status(phases, "rollback")
    if rollback in ("ok", "changed"):
        return "rolled_back"
    if rollback == "failed":
        return "rollback_failed"
    if _status(phases, "preflight") == "skipped":
        return "deferred" if _data(phases, "preflight").get("deferred") else "not_started"
    for phase in PHASES:
        status = _status(phases, phase)
        if status in PHASE_BAD and not _counts(phases, phase):
            continue
        if status == "unreachable":
            return "unreachable"
        if status == "failed":
            return "failed"
    scan = phases.get("scan")
    if scan is None:
        return "incomplete"
    patch = phases.get("patch")
    if not (scan.get("data") or {}).get("pending") or (patch and patch["status"] == "skipped"):
        return "compliant"
    compliance = _data(phases, "approve").get("compliance")
    if patch is None and scan_only and compliance is not None:
        return "compliant" if compliance.get("compliant") else "non_compliant"
    if patch is None:
        return "incomplete"
    if _status(phases, "rescan") not in ("ok", "changed"):
        return "incomplete"
    return "patched" if patch["status"] == "changed" else "compliant"


def failed_phase(phases):
    """(phase, message) of the first phase that failed or lost the host, or (None, None)."""
    found = attention(phases)
    if found:
        return found
    for phase in PHASES:
        entry = phases.get(phase)
        if entry and entry["status"] in PHASE_BAD and _counts(phases, phase):
            return phase, entry.get("message")
    return None, None


def lost_phase(phases):
    """The phase a host that left its batch without a word was lost in: the first batch phase
    it has no outcome for (its last phase when it has them all)."""
    for phase in BATCH_PHASES:
        if phase not in phases:
            return phase
    return BATCH_PHASES[-1]


def lost_candidates(hosts, started=None, targeted=None):
    """The report host entries to try once more: incomplete, and through preflight and scan (`started`
    names), or of the `targeted` hosts those whose approval is done in the ledger. Linear."""
    if targeted is not None:
        targeted = set(targeted)
        started = [h["name"] for h in hosts or [] if h["name"] in targeted and (h.get("phases") or {}).get("approve") in PHASE_DONE]
    started = set(started or [])
    return [h for h in hosts or [] if h["status"] == "incomplete" and h["name"] in started]


def lost_host_record(host, phases, unreachable, detail=None):
    """The ledger row for a host lost during its batch: phase, status, message."""
    if unreachable:
        message = "lost during its batch: %s" % (detail or "no answer")
    else:
        message = "lost during its batch: it answers again, but its batch stopped (see the task output)"
    return {"host": host, "phase": lost_phase(phases), "status": "unreachable" if unreachable else "failed",
            "message": message[:300]}


def next_phase(phases):
    """Where a host goes on in a resumed run: the first phase after its last completed one, or
    None when its outcome is final (TERMINAL). A host whose validation failed goes on to its
    rollback; a host whose packages were installed goes on to reboot, validate and rescan."""
    if _status(phases, "validate") == "failed" and "rollback" not in phases and not attention(phases):
        return "rollback"
    if host_status(phases) in TERMINAL:
        return None
    order = PREPARE_PHASES + BATCH_PHASES
    done = [p for p in order if _status(phases, p) in PHASE_DONE]
    if not done:
        return order[0]
    last = max(order.index(p) for p in done)
    return order[last + 1] if last + 1 < len(order) else None


def counts(hosts):
    """{status: n} over report host entries."""
    out = {}
    for host in hosts:
        out[host["status"]] = out.get(host["status"], 0) + 1
    return out


def max_fail_gate(hosts, percentage):
    """Whether to start no further batch: more of the hosts tried so far failed than allowed.

    ``hosts`` are report entries ({name, status}); returns {stop, reason, tried, failed}.
    """
    percentage = int(percentage)
    tried = [h["name"] for h in hosts if h["status"] in TRIED]
    failed = [h["name"] for h in hosts if h["status"] in FAILED]
    stop = bool(tried) and len(failed) * 100 > percentage * len(tried)
    reason = None
    if stop:
        reason = ("%d of %d host(s) tried so far failed or were rolled back (%s), more than "
                  "fleetpatch_max_fail_percentage=%d%%" % (len(failed), len(tried), ", ".join(failed), percentage))
    return {"stop": stop, "reason": reason, "tried": tried, "failed": failed}


def verdict(hosts):
    """The run's verdict from the report's host entries: {ok, not_done, message}.

    The run fails when a host was not patched as planned (NOT_DONE) or when no host was targeted.
    """
    not_done = [h["name"] for h in hosts if h["status"] in NOT_DONE]
    if not hosts:
        return {"ok": False, "not_done": [], "message": "no host was patched or even tried: check fleetpatch_targets and the inventory"}
    if not_done:
        return {"ok": False, "not_done": not_done, "message": "hosts not patched: %s" % ", ".join(not_done)}
    return {"ok": True, "not_done": [], "message": "every targeted host is done"}
