# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rollback of a host whose validation failed: what to do, and the exact package set (pure Python).

The package state is what the snapshot role recorded before the patch: one line per installed
package, as printed by

  apt:      dpkg-query -W -f='${db:Status-Abbrev}\\t${binary:Package}\\t${Version}\\n'
  dnf/zypp: rpm -qa --qf '%{NAME}.%{ARCH}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\n'

and the same command run now gives the state after. The plan restores every package whose
version changed, reinstalls what the patch removed, removes what it newly installed, and names
what cannot be rolled back (a version no longer available from the repositories).
"""

from __future__ import annotations

import re

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.snapshot import PROVIDERS, RESTORE

MANAGERS = ("apt", "dnf", "zypper")
ROLLBACK_POLICIES = ("on_failure", "never")
ACTIONS = ("none", "snapshot_restore", "package_downgrade", "manual")
OUTCOMES = ("rolled_back", "rollback_failed")
# rpm's pseudo packages for imported keys: never part of a rollback
_IGNORED = re.compile(r"^gpg-pubkey[.:]")


class RollbackError(ValueError):
    """Bad rollback input: the message names the field and the fix."""


def parse_package_lines(lines):
    """{package: version} from recorded lines (see the module docstring); not-installed dpkg rows are skipped.

    The key is what the package manager calls the package: ``name`` or ``name:arch`` for apt,
    ``name.arch`` for rpm.
    """
    if isinstance(lines, str):
        lines = lines.splitlines()
    state = {}
    for number, line in enumerate(lines or []):
        if not line.strip():
            continue
        fields = line.rstrip("\n").split("\t")
        if len(fields) == 3:
            status, name, version = fields
            # dpkg's abbreviated status: desired, current, error; 'i' as current means installed
            if len(status) < 2 or status[1] != "i":
                continue
        elif len(fields) == 2:
            name, version = fields
            if version.startswith("0:"):  # rpm's EPOCHNUM 0 means no epoch
                version = version[2:]
        else:
            raise RollbackError("package_state line %d %r is not 'name<TAB>version' (or dpkg's "
                                "'status<TAB>name<TAB>version')" % (number + 1, line))
        name, version = name.strip(), version.strip()
        if not name or not version:
            raise RollbackError("package_state line %d %r has an empty name or version" % (number + 1, line))
        if _IGNORED.match(name):
            continue
        state[name] = version
    return state


def parse_apt_madison(text):
    """{package: [versions]} from ``apt-cache madison PKG...`` (``name | version | source``)."""
    available = {}
    for line in (text or "").splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) >= 3 and parts[0] and parts[1]:
            versions = available.setdefault(parts[0], [])
            if parts[1] not in versions:
                versions.append(parts[1])
    return available


def base_name(package, manager="apt"):
    """The name without the architecture qualifier (``libc6:amd64`` -> ``libc6``, ``bash.x86_64`` -> ``bash``)."""
    if manager == "apt":
        return package.split(":", 1)[0]
    name, dot, arch = package.rpartition(".")
    return name if dot and arch and "-" not in arch else package


def install_spec(package, version, manager="apt"):
    """How the package manager is told to install exactly this version."""
    if manager not in MANAGERS:
        raise RollbackError("package manager %r is not one of %s" % (manager, ", ".join(MANAGERS)))
    if manager == "apt":
        return "%s=%s" % (package, version)
    name, dot, arch = package.rpartition(".")
    if not dot:
        name, arch = package, ""
    if manager == "dnf":  # NEVRA: name-[epoch:]version-release.arch
        return "%s-%s%s" % (name, version, "." + arch if arch else "")
    return "%s=%s" % (name, version)


def downgrade_plan(before, after, available=None, manager="apt"):
    """The exact set that returns a host to its recorded package state.

    ``before``/``after``: {package: version} (parse_package_lines). ``available``: {name:
    [versions]} the repositories offer now (None: do not check). Returns {downgrade: [specs of
    changed packages], reinstall: [specs of packages the patch removed], install: downgrade +
    reinstall, remove: [packages the patch newly installed], cannot_rollback: [{package,
    version, reason}], unchanged: n, complete: bool}.
    """
    if not isinstance(before, dict) or not before:
        raise RollbackError("no recorded package state before the patch: the snapshot phase must record it "
                            "(provider package_state) before a package rollback is possible")
    if not isinstance(after, dict):
        raise RollbackError("the package state now must be a {package: version} dict")
    plan = {"downgrade": [], "reinstall": [], "remove": [], "cannot_rollback": [], "unchanged": 0}
    for package in sorted(set(before) | set(after)):
        old, new = before.get(package), after.get(package)
        if old == new:
            plan["unchanged"] += 1
            continue
        if old is None:
            plan["remove"].append(package)
            continue
        offered = None if available is None else available.get(base_name(package, manager), [])
        if offered is not None and old not in offered:
            plan["cannot_rollback"].append({
                "package": package, "version": old, "now": new,
                "reason": "version %s is no longer available from the configured repositories" % old})
            continue
        plan["reinstall" if new is None else "downgrade"].append(install_spec(package, old, manager))
    plan["install"] = plan["downgrade"] + plan["reinstall"]
    plan["complete"] = not plan["cannot_rollback"]
    return plan


def _validation_passed(validation):
    if isinstance(validation, bool):
        return validation
    if isinstance(validation, dict) and isinstance(validation.get("passed"), bool):
        return validation["passed"]
    raise RollbackError("validation must be a bool or the validate role's result (a dict with 'passed'), got %r" % (validation,))


def decide(validation, policy, snapshot=None, package_state_recorded=False):
    """What to do after validation: {action, reason, provider}.

    Validation failed and the policy says on_failure: a snapshot restore when the host has a
    snapshot (``snapshot``: {provider, status, ids}) and its provider restores snapshots (ec2,
    vmware, lvm), else a package downgrade when the package state was recorded, else manual
    (nothing to roll back with: the outcome is rollback_failed).
    """
    if policy is True:
        policy = "on_failure"
    elif policy is False:
        policy = "never"
    if policy not in ROLLBACK_POLICIES:
        raise RollbackError("rollback policy %r is not one of %s" % (policy, ", ".join(ROLLBACK_POLICIES)))
    snapshot = snapshot or {}
    provider = snapshot.get("provider") or "none"
    if provider not in PROVIDERS:
        raise RollbackError("snapshot provider %r is not one of %s" % (provider, ", ".join(PROVIDERS)))
    if _validation_passed(validation):
        return {"action": "none", "reason": "validation passed", "provider": provider}
    # what failed the host: validation, unless something else asked for the rollback (the validate
    # role's result with ``cause``, e.g. a post_patch hook step under on_failure rollback)
    failed = "validation failed"
    if isinstance(validation, dict) and validation.get("cause"):
        failed = str(validation["cause"])[:300]
    if policy == "never":
        return {"action": "none", "reason": "%s; the rollback policy is never" % failed, "provider": provider}
    has_snapshot = snapshot.get("status") in ("ok", "changed") and bool(snapshot.get("ids"))
    if has_snapshot and RESTORE[provider] == "snapshot":
        return {"action": "snapshot_restore", "provider": provider,
                "reason": "%s; restoring the %s snapshot %s" % (failed, provider, ", ".join(map(str, snapshot["ids"])))}
    if package_state_recorded:
        why = "no %s snapshot" % provider if provider != "package_state" and RESTORE[provider] == "snapshot" else "no snapshot"
        if snapshot.get("platform") == "windows":
            # Windows' package-level rollback: uninstall the KBs this run installed (wusa)
            return {"action": "package_downgrade", "provider": provider, "label": "KB uninstall",
                    "reason": "%s; %s, uninstalling the KBs this run installed (%s)" % (
                        failed, why, ", ".join(map(str, snapshot.get("package_state") or [])))}
        return {"action": "package_downgrade", "provider": provider,
                "reason": "%s; %s, downgrading to the recorded package versions" % (failed, why)}
    return {"action": "manual", "provider": provider,
            "reason": "%s but there is neither a snapshot nor a recorded package state to roll back to" % failed}


def outcome(decision, action_ok, revalidation=None, plan=None):
    """The rollback outcome for the ledger: {outcome, message}; outcome None when nothing was rolled back.

    rolled_back needs the action to succeed and the checks to pass again; anything else, and a
    manual decision, is rollback_failed.
    """
    action = decision["action"]
    if action not in ACTIONS:
        raise RollbackError("decision action %r is not one of %s" % (action, ", ".join(ACTIONS)))
    if action == "none":
        return {"outcome": None, "message": decision["reason"]}
    if action == "manual":
        return {"outcome": "rollback_failed", "message": decision["reason"]}
    label = decision.get("label") or action.replace("_", " ")
    if not action_ok:
        return {"outcome": "rollback_failed", "message": "%s failed" % label}
    if revalidation is None or not _validation_passed(revalidation):
        return {"outcome": "rollback_failed", "message": "%s done but the health checks still fail" % label}
    message = "%s done and the health checks pass" % label
    if plan and plan.get("cannot_rollback"):
        message += "; not rolled back: %s" % ", ".join("%s %s" % (c["package"], c["version"]) for c in plan["cannot_rollback"])
    return {"outcome": "rolled_back", "message": message}
