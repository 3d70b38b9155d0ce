# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A failed install: why (from the package manager's own output) and what it left on the host.

Pure Python, no Ansible import.

``reason(output, manager)`` names the failing package and its script or step (a maintainer
script of dpkg, an rpm scriptlet, a download), without the warnings around it (debconf,
locale, pts). ``state(probe_output)`` reads the host's package state after the repair
(roles/patch_linux/tasks/repair.yml); ``judge(...)`` says whether the host is consistent, what
to restore, the package changes that really happened and what needs attention.
"""

from __future__ import annotations

import os
import re

# dpkg's words for its maintainer scripts
DPKG_SCRIPTS = (("pre-installation", "preinst"), ("post-installation", "postinst"),
                ("pre-removal", "prerm"), ("post-removal", "postrm"))
RPM_SCRIPTLETS = {"PREIN": "%pre", "POSTIN": "%post", "PREUN": "%preun", "POSTUN": "%postun",
                  "PRETRANS": "%pretrans", "POSTTRANS": "%posttrans"}
NOISE = re.compile(r"^(debconf: |dpkg-preconfigure: |E: Can not write log|W: |perl: warning|\s+LANG|\s+LC_|\s+are supported"
                   r"|locale: |Reading |Building |Extracting templates|\(Reading database)")
PROGRESS = re.compile(r"^(Setting up|Unpacking|Preparing to unpack|Selecting previously|Processing triggers|Get:\d)")
POLICIES = ("restore", "finish")


def _lines(output):
    return [line.rstrip() for line in (output or "").splitlines() if line.strip() and not NOISE.match(line)]


def _deb_name(path):
    """fp-hook from .../fp-hook_1.0-2_all.deb (or a bare package name)."""
    base = os.path.basename(path.split("?")[0])
    return base.split("_")[0] if base.endswith(".deb") else base


def _rpm_name(nevra):
    """openssl-libs from openssl-libs-1:3.0.7-27.el9.x86_64 (or .rpm)."""
    base = os.path.basename(nevra)
    if base.endswith(".rpm"):
        base = base[:-4]
    parts = base.rsplit("-", 2)
    return parts[0] if len(parts) == 3 else base


def reason(output, manager="apt", log=None):
    """{package, step, message} of a failed install from the package manager's output.

    ``log``: the package manager's own log of the transaction (the repair probe's ``===LOG``,
    read by ``state()``), used when the install's result names no scriptlet: ansible.builtin.dnf
    returns rpm's errors ("lua script failed: ...", "NEVRA: install failed") or only
    "Transaction failed", while the scriptlet ("Error in PREIN scriptlet in rpm package NAME")
    is named in /var/log/dnf.rpm.log.
    ``package`` and ``step`` are None when neither names them; ``message`` is one line.
    """
    text = "\n".join(_lines(output))
    found = _rpm_reason(text) if manager in ("dnf", "yum", "zypper") else _apt_reason(text)
    # only a transaction that ran (and failed) is in the log; an older one must not be blamed
    if (log and manager in ("dnf", "yum") and (found is None or found["step"] == "install")
            and re.search(r"Transaction failed|scriptlet|lua script failed|: install failed", text)):
        found = _rpm_reason("\n".join(_lines(log))) or found
    if found:
        return found
    errors = [line for line in text.splitlines() if line.startswith(("E: ", "Error: ", "error: "))
              and "returned an error code" not in line]
    message = (errors or [line for line in text.splitlines() if line.strip()] or ["install failed (no output)"])[-1]
    return {"package": None, "step": None, "message": message.strip()[:300]}


def _apt_reason(text):
    lines = text.splitlines()
    for index, line in enumerate(lines):
        match = re.match(r"dpkg: error processing (package|archive) (\S+) \((--\w+)\):", line)
        if not match:
            continue
        package = match.group(2) if match.group(1) == "package" else _deb_name(match.group(2))
        detail = lines[index + 1].strip() if index + 1 < len(lines) else ""
        step = next((script for words, script in DPKG_SCRIPTS if words in detail), match.group(3).lstrip("-"))
        status = re.search(r"(exit status \d+|killed by signal \w+)", detail)
        said = None
        if index > 0 and not PROGRESS.match(lines[index - 1]) and not lines[index - 1].startswith("dpkg:"):
            said = lines[index - 1].strip()
        message = "%s: %s (%s) failed%s" % (package, step, match.group(3).lstrip("-"), (" with " + status.group(1)) if status else "")
        if said:
            message += ": " + said
        elif detail and not status:
            message += ": " + detail
        return {"package": package, "step": step, "message": message[:300]}
    match = re.search(r"^E: Failed to fetch (\S+)\s+(.*)$", text, re.M)
    if match:
        package = _deb_name(match.group(1))
        return {"package": package, "step": "download",
                "message": ("%s: download failed: %s" % (package, match.group(2).strip() or "no detail"))[:300]}
    if re.search(r"dpkg was interrupted", text):
        return {"package": None, "step": "dpkg interrupted",
                "message": "dpkg was interrupted by an earlier run (its configure step was not done)"}
    return None


def _rpm_reason(text):
    match = re.search(r"%(\w+)\(([^)]+)\) scriptlet failed, (exit status \d+|signal \d+)", text)
    if match:
        package = _rpm_name(match.group(2))
        return {"package": package, "step": "%" + match.group(1),
                "message": ("%s: %%%s scriptlet failed with %s (%s)" % (package, match.group(1), match.group(3), match.group(2)))[:300]}
    match = re.search(r"Error in (\w+) scriptlet in rpm package (\S+)", text)
    if match:
        package = _rpm_name(match.group(2))
        step = RPM_SCRIPTLETS.get(match.group(1).upper(), match.group(1))
        # what the scriptlet itself said, when rpm logged it just before (a Lua scriptlet's error)
        said = re.findall(r"^(?:\S+ INFO )?error: (.+)$", text[:match.start()], re.M)
        detail = said[-1].strip() if said and "scriptlet" not in said[-1] else match.group(2)
        return {"package": package, "step": step, "message": ("%s: %s scriptlet failed (%s)" % (package, step, detail))[:300]}
    match = re.search(r"(?:Error downloading packages:\s*\n\s*|Download \(curl\) error for '?)(\S+?)'?:\s+(.+)", text)
    if match:
        package = _rpm_name(match.group(1))
        return {"package": package, "step": "download", "message": ("%s: download failed: %s" % (package, match.group(2).strip()))[:300]}
    match = re.search(r"^error: (\S+): install failed", text, re.M)
    if match:
        # rpm's words for a package of the transaction that was not installed (a failed %pre, ...)
        package = _rpm_name(match.group(1))
        said = re.findall(r"^error: (.+)$", text[:match.start()], re.M)
        return {"package": package, "step": "install", "message": ("%s: install failed (%s)" % (
            package, said[-1].strip() if said else match.group(1)))[:300]}
    match = re.search(r"Installation of (\S+) failed", text)
    if match:
        package = _rpm_name(match.group(1))
        return {"package": package, "step": "install", "message": ("%s: installation failed" % package)[:300]}
    return None


def installed_by(output, approved):
    """The approved packages the install's own output says it set up, as ledger package rows.

    Read from the transaction's output (dpkg's ``Setting up NAME (VERSION)``, dnf's
    ``Installed: NAME-VERSION``), so the ledger holds what the host did as soon as the patch
    ends, with no extra command; the rescan proves it again later.
    """
    done = {}
    for match in re.finditer(r"^Setting up (\S+?)(?::\S+)? \(([^)]+)\)", output or "", re.M):
        done[match.group(1)] = match.group(2)
    for match in re.finditer(r"(?:^|\s)(?:Installed|Upgraded): (\S+)", output or "", re.M):
        nevra = match.group(1)
        name = _rpm_name(nevra)
        rest = nevra[len(name) + 1:]
        done.setdefault(name, rest.rsplit(".", 1)[0] if "." in rest else rest)
    changes = []
    for patch in approved:
        version = done.get(patch["name"])
        if version and version != patch.get("installed_version"):
            changes.append({"name": patch["name"], "arch": patch.get("arch"), "from": patch.get("installed_version"), "to": version,
                            "classification": patch.get("classification"),
                            "cves": patch.get("cves", []) if version == patch.get("candidate_version") else [],
                            "advisories": patch.get("advisories", [])})
    return changes


def state(output):
    """{audit: text, packages: {name: {version, status}}} from the repair probe's output.

    The probe prints ``===FINISH`` (the finishing step's output), ``===AUDIT`` (what the package
    manager says is broken: dpkg --audit, dnf check, zypper verify), ``===STATE`` (one line per
    package: name, version, status; dpkg's db:Status-Abbrev, ``ii`` when fully installed) and, on
    dnf/yum, ``===LOG`` (the tail of /var/log/dnf.rpm.log: ``log`` is its last transaction).
    """
    sections, current = {"FINISH": [], "AUDIT": [], "STATE": [], "LOG": []}, None
    for line in (output or "").splitlines():
        if line.startswith("===") and line[3:].strip() in sections:
            current = line[3:].strip()
            continue
        if current:
            sections[current].append(line)
    packages = {}
    for line in sections["STATE"]:
        fields = line.split("\t")
        if len(fields) >= 3 and fields[0]:
            packages[fields[0]] = {"version": fields[1] or None, "status": fields[2].strip()}
    audit = "\n".join(line for line in sections["AUDIT"] if line.strip()).strip()
    return {"audit": audit, "packages": packages, "finish": "\n".join(sections["FINISH"]).strip(),
            "log": _last_transaction(sections["LOG"])}


def _last_transaction(lines):
    """The lines of dnf.rpm.log's last run that did something (each run starts with a
    "--- logging initialized ---" line; a run that only read, like dnf check, adds nothing else)."""
    runs, current = [], []
    for line in lines:
        if line.rstrip().endswith("--- logging initialized ---"):
            runs.append(current)
            current = []
        elif line.strip():
            current.append(line)
    runs.append(current)
    return "\n".join(next((run for run in reversed(runs) if run), []))


def judge(approved, probe, policy="restore"):
    """What the failed install left: {consistent, broken, restore, changes, needs_attention}.

    ``approved``: the patch records the install was asked for (name, installed_version,
    candidate_version, ...). ``probe``: ``state()`` after the repair. ``restore`` lists the
    ``name=version`` installs that put back each package still broken (policy restore); the
    changes are the approved packages now fully installed at another version than before,
    read from the host, never from the plan.
    """
    if policy not in POLICIES:
        raise ValueError("policy %r is not one of %s" % (policy, ", ".join(POLICIES)))
    packages = probe["packages"]
    broken, restore, changes = [], [], []
    for patch in approved:
        name = patch["name"]
        now = packages.get(name)
        if now is None:
            continue
        if now["status"] != "ii":
            broken.append(name)
            if patch.get("installed_version"):
                restore.append("%s=%s" % (name, patch["installed_version"]))
        elif now["version"] and now["version"] != patch.get("installed_version"):
            changes.append({"name": name, "arch": patch.get("arch"), "from": patch.get("installed_version"), "to": now["version"],
                            "classification": patch.get("classification"), "cves": patch.get("cves", []) if now["version"] == patch.get(
                                "candidate_version") else [], "advisories": patch.get("advisories", [])})
    consistent = not broken and not probe["audit"]
    attention = None
    if not consistent:
        what = []
        if broken:
            listed = ["%s (%s %s)" % (n, packages[n]["status"], packages[n]["version"]) for n in broken]
            what.append("not fully installed: %s" % ", ".join(listed))
        if probe["audit"]:
            what.append("package manager check: %s" % " ".join(probe["audit"].split())[:200])
        attention = "; ".join(what)
    return {"consistent": consistent, "broken": broken, "restore": restore if policy == "restore" else [],
            "changes": changes, "needs_attention": attention}
