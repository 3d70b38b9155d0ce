# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Windows hosts: preflight and health checks from ansible.windows module results, and the wusa rollback.

Pure Python, no Ansible import. The roles run ansible.windows modules (win_powershell,
win_service_info, win_uri, win_wait_for, win_command) and hand their registered results here,
so a Windows host gets the same preflight record, health verdict and rollback outcome as a Linux
host (preflight.py, health.py, rollback.py).
"""

from __future__ import annotations

import re

from . import health
from .preflight import evaluate
from .windows_updates import WUSA_EXIT, approved_kbs, uninstall_outcome

# Registry keys and values whose presence means a reboot from an earlier change is pending.
REBOOT_PENDING_KEYS = (
    r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending",
    r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired",
    r"HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager\PendingFileRenameOperations",
    r"HKLM:\SOFTWARE\Microsoft\Updates\UpdateExeVolatile",
)
# win_service_info states that count as running / stopped
_RUNNING = ("started", "running")


def _failed(result):
    return bool(result and (result.get("failed") or result.get("unreachable")))


def preflight_info(facts_result, services_result, required_services, min_free_mb, fail_on_pending_reboot):
    """What preflight_info returns on Linux, from Windows module results.

    `facts_result`: the registered win_powershell result whose first output object is
    {system_drive, free_mb, reboot_pending_keys} (roles/preflight/files/windows_facts.ps1);
    `services_result`: the registered win_service_info result; `required_services`: service names
    that must be running (Windows Update, the SSM agent where SSM is used).
    """
    for result in (facts_result, services_result):
        if _failed(result):
            return {"unreachable": bool(result.get("unreachable")), "failed": not result.get("unreachable"),
                    "msg": str(result.get("msg") or "no answer")}
    output = (facts_result or {}).get("output") or [{}]
    facts = output[0] if isinstance(output[0], dict) else {}
    disks = [{"path": str(facts.get("system_drive") or "C:"), "free_mb": int(facts.get("free_mb") or 0)}]
    keys = [str(k) for k in facts.get("reboot_pending_keys") or []]
    found = dict((str(s.get("name", "")).lower(), s) for s in (services_result or {}).get("services") or [])
    services = []
    for spec in required_services or []:
        # "name" must be running; "name:startable" may be stopped but not disabled (Windows Update
        # runs on demand: its service is stopped between searches)
        name, dummy, need = str(spec).partition(":")
        service = found.get(name.lower())
        state = "not installed" if service is None else str(service.get("state") or "unknown")
        mode = None if service is None else str(service.get("start_mode") or "")
        if need == "startable":
            active = service is not None and mode.lower() != "disabled"
            state = "%s, start mode %s" % (state, mode) if service is not None else state
        else:
            active = state in _RUNNING
        services.append({"name": name, "active": active, "state": state, "start_mode": mode})
    reasons = evaluate([], disks, int(min_free_mb), bool(keys), bool(fail_on_pending_reboot), services)
    return {"changed": False, "ready": not reasons, "reasons": reasons, "package_manager": "windows", "locks": [],
            "disks": disks, "reboot_pending": bool(keys), "reboot_pending_keys": keys, "services": services,
            "python_version": None}


# -- health checks -------------------------------------------------------------------------------------

WINDOWS_CHECK_TYPES = ("http", "tcp", "service", "powershell")


def windows_checks(checks):
    """The target checks a Windows host runs, normalised; command checks have no Windows form (use powershell)."""
    result = []
    for index, check in enumerate(checks or []):
        if not isinstance(check, dict):
            raise health.CheckError("checks[%d]: expected a mapping" % index)
        kind = check.get("type")
        if kind == "powershell":
            script = check.get("script")
            if not isinstance(script, str) or not script.strip():
                raise health.CheckError("checks[%d] (powershell) needs script: a PowerShell script that throws when unhealthy"
                                        % index)
            result.append({"name": check.get("name") or "powershell check %d" % index, "type": "powershell",
                           "script": script})
            continue
        if kind == "command":
            raise health.CheckError("checks[%d]: a command check cannot run on a Windows host; use type powershell" % index)
        if kind not in WINDOWS_CHECK_TYPES:
            raise health.CheckError("checks[%d].type %r is not one of %s on Windows" % (index, kind, ", ".join(WINDOWS_CHECK_TYPES)))
        normalised = health.normalize_check(dict((k, v) for k, v in check.items() if k != "run_on"), index)
        result.append(normalised)
    return result


def _loop_results(registered):
    """{check name: result} of a registered loop whose loop item (loop_var __validate_check or item) is the check."""
    found = {}
    for result in (registered or {}).get("results") or []:
        if isinstance(result, dict):
            check = result.get("__validate_check") or result.get("item") or {}
            found[check.get("name")] = result
    return found


def health_results(checks, services_result=None, http_results=None, tcp_results=None, powershell_results=None):
    """[{name, ok, message}] of each normalised Windows check from the module results.

    `services_result`: one win_service_info result (all services); the others are registered
    loops over the checks of their type (win_uri, win_wait_for, win_powershell) whose loop item is the check.
    """
    services = dict((str(s.get("name", "")).lower(), s) for s in (services_result or {}).get("services") or [])
    by_type = {"http": _loop_results(http_results), "tcp": _loop_results(tcp_results),
               "powershell": _loop_results(powershell_results)}
    results = []
    for check in checks:
        name, kind = check["name"], check["type"]
        if kind == "service":
            service = services.get(check["service"].lower())
            state = "not installed" if service is None else str(service.get("state"))
            running = state in _RUNNING
            ok = running if check["state"] == "active" else not running and service is not None
            results.append({"name": name, "ok": ok, "message": "service %s is %s" % (check["service"], state)})
            continue
        result = by_type[kind].get(name)
        if result is None or result.get("skipped"):
            results.append({"name": name, "ok": False, "message": "did not run"})
        elif result.get("unreachable") or result.get("failed"):
            errors = result.get("error") or []
            detail = (errors[0].get("message") if errors and isinstance(errors[0], dict) else None) or result.get("msg")
            results.append({"name": name, "ok": False, "message": str(detail or "failed")})
        elif kind == "http":
            body_ok = not check.get("body") or re.search(check["body"], str(result.get("content") or "")) is not None
            results.append({"name": name, "ok": body_ok, "message": "HTTP %s%s" % (
                result.get("status_code"), "" if body_ok else ", body does not match %r" % check["body"])})
        elif kind == "tcp":
            results.append({"name": name, "ok": True, "message": "port %s open" % check["port"]})
        else:
            results.append({"name": name, "ok": True, "message": "script passed"})
    return results


def health_verdict(results, before=None, strict=False):
    """The health_check module's {results, verdict} for a Windows host's results."""
    return {"results": results, "verdict": health.compare(before or [], results, strict)}


# -- rollback (wusa) ----------------------------------------------------------------------------------

def uninstall_argv(installed):
    """argv of each `wusa.exe /uninstall /kb:N /quiet /norestart`, newest KB first, with its KB."""
    return [{"kb": kb, "argv": ["wusa.exe", "/uninstall", "/kb:%s" % kb[2:], "/quiet", "/norestart"]}
            for kb in reversed(approved_kbs(installed))]


def uninstall_plan(registered):
    """What the wusa loop did: {removed, not_installed, failed, reboot_required, complete, outcomes}."""
    outcomes = []
    for result in (registered or {}).get("results") or []:
        item = result.get("__rollback_kb") or result.get("item") or {}
        if result.get("unreachable"):
            outcomes.append({"kb": item.get("kb"), "status": "failed", "reboot_required": False,
                             "message": "unreachable: %s" % result.get("msg")})
            continue
        rc = result.get("rc")
        outcomes.append(uninstall_outcome(item.get("kb"), rc if rc in WUSA_EXIT or isinstance(rc, int) else -1,
                                          result.get("stderr") or result.get("msg") or ""))

    def pick(status):
        return [o["kb"] for o in outcomes if o["status"] == status]

    return {"removed": pick("removed"), "not_installed": pick("not_installed"), "failed": pick("failed"),
            "reboot_required": any(o["reboot_required"] for o in outcomes), "complete": not pick("failed"),
            "outcomes": outcomes,
            # the shape the rollback role's ledger record and report read (rollback.downgrade_plan)
            "cannot_rollback": [{"package": o["kb"], "version": o["message"]} for o in outcomes if o["status"] == "failed"]}
