# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Operators' hooks around the patching: what a step is, and what its outcome means (pure Python).

Per-host hook points (a patch group's group vars, ``fleetpatch_hooks``):
  pre_patch    after the snapshot, before the install (drain the node, stop the application)
  post_patch   after reboot and validation, before the rescan (put it back); it runs even when a
               pre_patch step failed, so what pre_patch did is undone on a host left unpatched
  on_rollback  after a rollback

Run-level points (``fleetpatch_night_hooks``), run on the controller:
  pre_night    before any host is touched; a failing step cancels the night with its reason
  post_night   after the report

A step is a mapping with exactly one of:
  command: [argv...]          run on the host without a shell (``shell: true`` with a string for one)
  tasks: path/to/file.yml     the operator's own task file, included on the host
  http: {url, method, body, headers, status, validate_certs}   an HTTP call from the controller
and optionally name, timeout (seconds, 1-86400, default 300), allowed_exit_codes (default [0]),
on_failure (fail_host, the default | warn | rollback; a run-level step: cancel | warn).
"""

from __future__ import annotations

HOST_POINTS = ("pre_patch", "post_patch", "on_rollback")
NIGHT_POINTS = ("pre_night", "post_night")
KINDS = ("command", "tasks", "http")
HOST_POLICIES = ("fail_host", "warn", "rollback")
NIGHT_POLICIES = ("cancel", "warn")
STEP_KEYS = ("name", "command", "shell", "tasks", "http", "timeout", "allowed_exit_codes", "on_failure")
HTTP_KEYS = ("url", "method", "body", "body_format", "headers", "status", "validate_certs")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
DEFAULT_TIMEOUT = 300
MAX_TIMEOUT = 86400
OUTPUT_LIMIT = 2000          # characters of a step's output kept in the ledger
TIMED_OUT = 124              # coreutils timeout's exit code, as the host reports a killed step


class HookError(ValueError):
    """A hook definition that cannot run: names the field and the fix."""


def _fail(where, problem):
    raise HookError("%s: %s" % (where, problem))


def _short(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _int(value, where, low, high, what):
    if isinstance(value, bool):
        _fail(where, "expected %s, got %s" % (what, _short(value)))
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        _fail(where, "expected %s, got %s" % (what, _short(value)))
    if not low <= number <= high:
        _fail(where, "expected %s, got %d" % (what, number))
    return number


READ_ONLY_METHODS = ("GET", "HEAD")


def dry_run_mode(step):
    """How a normalized step runs in a dry run (--check / fleetpatch_dry_run), where nothing may change
    state: ``run`` (an http GET or HEAD only reads: it runs, so a gate says whether the night would be
    canceled), ``check_mode`` (the operator's task file runs in check mode: a task that sets
    check_mode: false itself runs for real, the operator's choice for a read-only query) or ``skip``
    (a command, or an http call that may change state, is not run)."""
    if step["kind"] == "http":
        return "run" if step["http"]["method"] in READ_ONLY_METHODS else "skip"
    return "check_mode" if step["kind"] == "tasks" else "skip"


def normalize_step(step, where, night=False):
    """One step, checked and with its defaults: {name, kind, ..., timeout, allowed_exit_codes, on_failure}."""
    if not isinstance(step, dict):
        _fail(where, "a step is a mapping with one of command, tasks or http, got %s" % _short(step))
    unknown = sorted(str(k) for k in step if k not in STEP_KEYS)
    if unknown:
        _fail(where, "unknown key %s; a step takes %s" % (", ".join(unknown), ", ".join(STEP_KEYS)))
    kinds = [k for k in KINDS if step.get(k) not in (None, "", [])]
    if len(kinds) != 1:
        _fail(where, "give exactly one of command, tasks or http (got %s)" % (", ".join(kinds) or "none"))
    kind = kinds[0]
    policies = NIGHT_POLICIES if night else HOST_POLICIES
    out = {
        "name": str(step.get("name") or "%s step" % kind),
        "kind": kind,
        "timeout": _int(step.get("timeout", DEFAULT_TIMEOUT), where + ".timeout", 1, MAX_TIMEOUT,
                        "seconds, 1 to %d" % MAX_TIMEOUT),
        "on_failure": step.get("on_failure") or policies[0],
    }
    if out["on_failure"] not in policies:
        _fail(where + ".on_failure", "%s is not one of %s" % (_short(out["on_failure"]), ", ".join(policies)))
    codes = step.get("allowed_exit_codes", [0] if kind != "http" else None)
    if codes is not None:
        if not isinstance(codes, (list, tuple)) or not codes:
            _fail(where + ".allowed_exit_codes", "expected a list of exit codes such as [0, 3], got %s" % _short(codes))
        out["allowed_exit_codes"] = [_int(c, where + ".allowed_exit_codes", 0, 255, "an exit code 0-255") for c in codes]
    if kind == "command":
        shell = bool(step.get("shell", False))
        command = step["command"]
        if shell:
            if not isinstance(command, str):
                _fail(where + ".command", "with shell: true the command is one string, got %s" % _short(command))
            out["argv"] = ["/bin/sh", "-c", command]
            out["script"] = command          # on a Windows host: the string, run by PowerShell
        else:
            if isinstance(command, str) or not isinstance(command, (list, tuple)):
                _fail(where + ".command", "expected an argv list such as [systemctl, stop, app] (or shell: true with a "
                      "string), got %s" % _short(command))
            out["argv"] = [str(a) for a in command]
        if night:
            _fail(where, "a run-level step runs on the controller: use http or tasks, not command")
    elif kind == "tasks":
        if not isinstance(step["tasks"], str):
            _fail(where + ".tasks", "expected the path of a task file, got %s" % _short(step["tasks"]))
        out["tasks"] = step["tasks"]
    else:
        out["http"] = _http(step["http"], where + ".http")
        if "allowed_exit_codes" in step:
            _fail(where + ".allowed_exit_codes", "an http step is judged by http.status, not exit codes")
    return out


def _http(spec, where):
    if not isinstance(spec, dict):
        _fail(where, "expected a mapping with url (and method, body, headers, status), got %s" % _short(spec))
    unknown = sorted(str(k) for k in spec if k not in HTTP_KEYS)
    if unknown:
        _fail(where, "unknown key %s; http takes %s" % (", ".join(unknown), ", ".join(HTTP_KEYS)))
    url = spec.get("url")
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        _fail(where + ".url", "expected an http:// or https:// URL, got %s" % _short(url))
    method = str(spec.get("method") or "GET").upper()
    if method not in HTTP_METHODS:
        _fail(where + ".method", "%s is not one of %s" % (_short(method), ", ".join(HTTP_METHODS)))
    status = spec.get("status", [200, 201, 202, 204])
    status = status if isinstance(status, (list, tuple)) else [status]
    out = {"url": url, "method": method, "status": [_int(s, where + ".status", 100, 599, "an HTTP status 100-599") for s in status],
           "headers": spec.get("headers") or {}, "validate_certs": spec.get("validate_certs", True) is not False}
    if spec.get("body") is not None:
        out["body"] = spec["body"]
        out["body_format"] = spec.get("body_format") or ("json" if isinstance(spec["body"], (dict, list)) else "raw")
    return out


def normalize(hooks, where="fleetpatch_hooks", night=False, dry_run=False):
    """{point: [steps]} for every point, checked; missing points are empty lists. With ``dry_run`` each
    step also says how it runs in a dry run (``dry_run``: run, check_mode or skip; see dry_run_mode)."""
    points = NIGHT_POINTS if night else HOST_POINTS
    if hooks in (None, "", {}):
        return dict((p, []) for p in points)
    if not isinstance(hooks, dict):
        _fail(where, "expected a mapping of %s to lists of steps, got %s" % (", ".join(points), _short(hooks)))
    unknown = sorted(str(k) for k in hooks if k not in points)
    if unknown:
        _fail(where, "unknown hook point %s; use %s" % (", ".join(unknown), ", ".join(points)))
    out = {}
    for point in points:
        steps = hooks.get(point) or []
        if not isinstance(steps, (list, tuple)):
            _fail("%s.%s" % (where, point), "expected a list of steps, got %s" % _short(steps))
        out[point] = [normalize_step(step, "%s.%s[%d]" % (where, point, i), night) for i, step in enumerate(steps)]
        if dry_run:
            for one in out[point]:
                one["dry_run"] = dry_run_mode(one)
    return out


def trim(text, limit=OUTPUT_LIMIT):
    """A step's output as the ledger keeps it: the end (where errors are), at most `limit` characters."""
    text = "" if text is None else str(text)
    if len(text) <= limit:
        return text
    return "[... %d characters cut]\n%s" % (len(text) - limit, text[-limit:])


def windows_result(result):
    """A command step's result on a Windows host as judge() reads it ({rc, stdout, stderr, timed_out}):
    from ansible.windows.win_powershell running roles/hooks/files/run_step.ps1 (its ``output``: one
    object with rc, stdout, stderr, timed_out), or from the role's rescue when the runner itself failed
    ({failed, msg}; ``timedout`` when Ansible's own task timeout, the step's timeout + 60 s, ended it)."""
    result = result or {}
    if result.get("skipped"):
        return result
    output = result.get("output")
    if isinstance(output, list) and output and isinstance(output[0], dict) and "rc" in output[0]:
        found = output[0]
        return {"rc": found.get("rc"), "stdout": found.get("stdout") or "", "stderr": found.get("stderr") or "",
                "timed_out": bool(found.get("timed_out"))}
    errors = [e.get("message") if isinstance(e, dict) else str(e) for e in result.get("error") or []]
    why = "; ".join(x for x in [result.get("msg") or ""] + errors if x) or "the step's runner returned no result"
    return {"rc": None, "stderr": "the step did not run on the Windows host: %s" % why, "timed_out": bool(result.get("timedout"))}


def judge(step, result, windows=False):
    """What one step's run means: {name, kind, status (ok | failed | warned), action (go_on | stop | rollback |
    cancel), rc or http status, timed_out, message, output}.

    ``result`` is what the role registered: for a command {rc, stdout, stderr} (rc 124 when the
    host's timeout killed it, or ``timed_out``), for http {status, msg, content}, for tasks
    {failed, msg}; ``skipped`` when an earlier step stopped the point. A command on a Windows host
    is first read by windows_result (``windows``: the result of ansible.windows.win_powershell).
    """
    result = result or {}
    out = {"name": step["name"], "kind": step["kind"], "timeout": step["timeout"]}
    if result.get("skipped") and step.get("dry_run") == "skip":
        what = "an http %s" % step["http"]["method"] if step["kind"] == "http" else "a %s step" % step["kind"]
        out.update(status="skipped", action="go_on", message="not run in a dry run: %s may change state" % what)
        return out
    if result.get("skipped"):
        out.update(status="skipped", action="go_on", message="not run: an earlier step stopped this hook point")
        return out
    if step["kind"] == "command":
        if windows:
            result = windows_result(result)
        rc = result.get("rc")
        timed_out = bool(result.get("timed_out")) or rc == TIMED_OUT and TIMED_OUT not in step["allowed_exit_codes"]
        ok = rc in step["allowed_exit_codes"] and not timed_out
        out.update(rc=rc, timed_out=timed_out,
                   output=trim("\n".join(x for x in (result.get("stdout") or "", result.get("stderr") or "") if x)))
        why = ("killed after its timeout of %d s" % step["timeout"]) if timed_out else (
            "exit code %s, allowed %s" % (rc, step["allowed_exit_codes"]))
    elif step["kind"] == "http":
        status = result.get("status")
        ok = status in step["http"]["status"]
        out.update(http_status=status, output=trim(result.get("content") or result.get("msg") or ""))
        why = "HTTP %s from %s %s, allowed %s" % (status if status not in (None, -1) else "no answer (%s)" % (
            result.get("msg") or "connection failed"), step["http"]["method"], step["http"]["url"], step["http"]["status"])
    else:
        ok = not result.get("failed")
        out.update(output=trim(result.get("msg") or ""))
        why = "the task file %s %s" % (step["tasks"], "ran" if ok else "failed: %s" % (result.get("msg") or "")[:300])
    if ok:
        out.update(status="ok", action="go_on", message=why)
        return out
    policy = step["on_failure"]
    action = {"fail_host": "stop", "rollback": "rollback", "cancel": "cancel", "warn": "go_on"}[policy]
    out.update(status="warned" if policy == "warn" else "failed", action=action,
               message="%s failed (%s): %s" % (step["name"], policy, why))
    return out


def fold(point, judged):
    """The outcome of a hook point from its judged steps: {point, status, action, message, steps}.

    status: ok (every step ok or none), warned (a warn step failed), failed (a stopping step failed);
    action: the first stopping step's action, else go_on.
    """
    stopping = [j for j in judged if j["action"] != "go_on"]
    warned = [j for j in judged if j["status"] == "warned"]
    if stopping:
        status, action, message = "failed", stopping[0]["action"], stopping[0]["message"]
    elif warned:
        status, action, message = "warned", "go_on", "; ".join(j["message"] for j in warned)
    else:
        status, action = "ok", "go_on"
        message = "%d step(s) ran" % len(judged) if judged else "no steps"
    return {"point": point, "status": status, "action": action, "message": message[:1000], "steps": judged}


def ledger_records(result, dry_run=False):
    """The ledger rows of a host's hook point (module patch_ledger's ``records``): one row per step
    (status ok, skipped or failed - a warned step's row is failed; its data: the step's name, kind,
    outcome, rc or HTTP status, timeout and trimmed output), then the point's own row, which is the
    latest row of the phase and so its outcome: failed when a stopping step failed, else changed
    when a step ran (ok when none did). The phase is the hook point; the rows of a run-level point
    (pre_night, post_night) are the run's (patch_ledger writes them to its run_hooks table)."""
    point = result["point"]
    if point not in HOST_POINTS + NIGHT_POINTS:
        raise HookError("hooks_point: %s is not one of %s" % (_short(point), ", ".join(HOST_POINTS + NIGHT_POINTS)))
    rows = []
    for index, step in enumerate(result.get("steps") or []):
        data = dict((k, step[k]) for k in ("name", "kind", "status", "action", "rc", "http_status", "timed_out", "timeout", "output")
                    if k in step)
        data["step"] = index
        rows.append({"phase": point, "status": {"ok": "ok", "skipped": "skipped"}.get(step["status"], "failed"),
                     "message": ("step %d %s" % (index, step["message"]))[:500], "data": data})
    ran = [s for s in result.get("steps") or [] if s["status"] != "skipped"]
    status = "failed" if result["status"] == "failed" else ("changed" if ran else "ok")
    data = {"hook": point, "outcome": result["status"], "action": result["action"], "steps": len(ran)}
    if dry_run:
        data["dry_run"] = True        # a dry run's gate: it says what would happen, nothing was canceled
    rows.append({"phase": point, "status": status, "message": result["message"][:500], "data": data})
    return rows


def night_report(rows):
    """report.json's ``night_hooks``: each run-level hook point the ledger recorded (Ledger.run_hooks
    rows), as its latest attempt ran it: {point: {outcome, action, message, attempt, dry_run, steps:
    [{name, kind, status, message, http_status, output}]}} (a dry run's pre_night says whether it would
    have canceled the night: ``would_cancel``)."""
    out = {}
    steps = {}
    for row in rows or []:
        point, data = row["point"], row.get("data") or {}
        if "hook" in data:                                      # the point's own row ends its steps
            entry = {"outcome": data.get("outcome"), "action": data.get("action"), "message": row.get("message"),
                     "attempt": row.get("attempt"), "steps": steps.pop(point, [])}
            if data.get("dry_run"):
                entry["dry_run"] = True
                if data.get("action") == "cancel":
                    entry["would_cancel"] = "the pre_night gate would cancel the night: %s" % row.get("message")
            out[point] = entry
        else:
            step = dict((k, data[k]) for k in ("name", "kind", "status", "http_status", "rc", "timed_out", "output") if k in data)
            step["message"] = row.get("message")
            steps.setdefault(point, []).append(step)
    return out


def cancel_reason(result):
    """Why a pre_night gate canceled the night (None when it did not): the failing step's message."""
    if result.get("action") != "cancel":
        return None
    return "the pre_night gate canceled the night: %s" % result["message"]


def cancel_plan(hosts, reason, resume=None, settled=None):
    """What a canceled night does with its targeted hosts, none of which is touched: ``hosts`` are
    their variables (hostvars: inventory_hostname, fleetpatch_patch_group, fleetpatch_owner).

    Returns {hosts: [names to record as not started], groups: [{name, hosts, owners}] (one change to
    cancel per patch group), message: the ledger message of each host (preflight skipped: not started)}.
    ``resume`` is a resumed run's place of each host (patch_ledger's start_run ``hosts``): a host whose
    outcome an earlier attempt settled (``next`` None) keeps it and is not recorded again.
    ``settled`` names those hosts directly (patch_ledger's start_run ``settled``).
    """
    from ansible_collections.fleetpatch.hybrid.plugins.module_utils.fleet_plan import UNGROUPED
    if not reason:
        raise HookError("cancel_plan: a reason is required")
    groups = {}
    names = []
    done = set(settled or ())
    for host in hosts:
        if not isinstance(host, dict) and not hasattr(host, "get"):
            raise HookError("cancel_plan: each host must be a mapping of its variables (hostvars), got %s" % _short(host))
        name = host.get("inventory_hostname")
        if not name:
            continue
        if name not in done and (name not in (resume or {}) or (resume[name] or {}).get("next") is not None):
            names.append(name)
        group = groups.setdefault(host.get("fleetpatch_patch_group") or UNGROUPED, {"hosts": [], "owners": set()})
        group["hosts"].append(name)
        if host.get("fleetpatch_owner"):
            group["owners"].add(host["fleetpatch_owner"])
    return {"hosts": sorted(names),
            "groups": [{"name": g, "hosts": sorted(groups[g]["hosts"]), "owners": sorted(groups[g]["owners"])} for g in sorted(groups)],
            "message": ("not started: %s" % reason)[:500]}
