# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dnf/yum: pending updates and their advisories (RHEL, Rocky, Alma, Oracle, Amazon Linux, Fedora).

Pure Python, no Ansible import; the module runs the commands and hands their output here.

What the module runs (three calls on dnf, four on yum; see docs/scan.md):
  dnf -q check-update                    every pending update: name.arch, candidate EVR, repo
  dnf -q -v updateinfo info --updates    the advisories of those updates: id, type, severity,
                                         date, CVEs and (with -v) the package files they ship
  rpm -qa --qf ...                       installed versions (check-update does not print them)
yum (EL7, Amazon Linux 2) prints no files in `updateinfo info`, so there the advisory to
package link comes from `yum -q updateinfo list updates` instead.

dnf 4 prints one date per advisory, labelled `Updated`: libsolv keeps the later of the issued
and updated dates. yum and dnf 5 print `Issued`; when present it is preferred.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from .patch import highest_classification, highest_severity

# updateinfo types -> our classifications (DESIGN.md: security, bugfix, enhancement, other).
TYPE_MAP = {
    "security": "security",
    "bugfix": "bugfix",
    "recommended": "bugfix",
    "enhancement": "enhancement",
    "newpackage": "enhancement",
    "unknown": "other",
}
# updateinfo severities (RHEL/Rocky/Alma/Oracle: Critical..Low; Amazon Linux: Medium;
# Fedora/Bodhi: Urgent, High, Medium) -> our severities.
SEVERITY_MAP = {
    "critical": "critical",
    "urgent": "critical",
    "important": "important",
    "high": "important",
    "moderate": "moderate",
    "medium": "moderate",
    "low": "low",
    "none": "unspecified",
    "unknown": "unspecified",
    "unspecified": "unspecified",
    "": "unspecified",
}

_CVE_RE = re.compile(r"\bCVE-\d{4}-\d{4,7}\b")
_PKG_LINE_RE = re.compile(r"^(?P<na>\S+)\s+(?P<evr>\S+)\s+(?P<repo>\S+)\s*$")
_LIST_RE = re.compile(
    r"^(?:i |  )?(?P<id>\S+)\s+(?P<label>\S+)\s+(?P<nevra>\S+?)(?:\s+(?P<date>\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2}(?::\d{2})?)?))?\s*$"
)
_KV_RE = re.compile(r"^\s*(?P<key>[A-Za-z][A-Za-z ]*?)?\s*: ?(?P<value>.*)$")
ARCHES = ("noarch", "x86_64", "i686", "i386", "aarch64", "ppc64le", "s390x", "armv7hl", "src")


def normalize_severity(value):
    return SEVERITY_MAP.get((value or "").strip().lower(), "unspecified")


def normalize_type(value):
    return TYPE_MAP.get((value or "").strip().lower(), "other")


# -- rpm version comparison (rpmvercmp, with ~ and ^ as rpm >= 4.15 treats them) ---------------

def _isdigit(char):
    return "0" <= char <= "9"


def _isalpha(char):
    return "a" <= char <= "z" or "A" <= char <= "Z"


def rpmvercmp(left, right):
    """<0, 0, >0 as rpm version (or release) string `left` is older, equal or newer than `right`."""
    if left == right:
        return 0
    one, two = left or "", right or ""
    i = j = 0
    while i < len(one) or j < len(two):
        while i < len(one) and not (_isdigit(one[i]) or _isalpha(one[i])) and one[i] not in "~^":
            i += 1
        while j < len(two) and not (_isdigit(two[j]) or _isalpha(two[j])) and two[j] not in "~^":
            j += 1
        a = one[i] if i < len(one) else ""
        b = two[j] if j < len(two) else ""
        if a == "~" or b == "~":
            if a != "~":
                return 1
            if b != "~":
                return -1
            i, j = i + 1, j + 1
            continue
        if a == "^" or b == "^":
            if not a:
                return -1
            if not b:
                return 1
            if a != "^":
                return 1
            if b != "^":
                return -1
            i, j = i + 1, j + 1
            continue
        if not a or not b:
            break
        test = _isdigit if _isdigit(a) else _isalpha
        start_i, start_j = i, j
        while i < len(one) and test(one[i]):
            i += 1
        while j < len(two) and test(two[j]):
            j += 1
        seg1, seg2 = one[start_i:i], two[start_j:j]
        if not seg2:
            return 1 if test is _isdigit else -1
        if test is _isdigit:
            seg1, seg2 = seg1.lstrip("0"), seg2.lstrip("0")
            if len(seg1) != len(seg2):
                return 1 if len(seg1) > len(seg2) else -1
        if seg1 != seg2:
            return 1 if seg1 > seg2 else -1
    if i >= len(one) and j >= len(two):
        return 0
    return -1 if i >= len(one) else 1


def split_evr(evr):
    """'1:3.0.7-18.el9_2' -> (1, '3.0.7', '18.el9_2'); epoch 0 and release '' when absent."""
    text = (evr or "").strip()
    epoch = 0
    if ":" in text:
        head, text = text.split(":", 1)
        epoch = int(head) if head.isdigit() else 0
    version, dash, release = text.rpartition("-")
    if not dash:
        version, release = text, ""
    return epoch, version, release


def compare_evr(left, right):
    """Compare two [epoch:]version[-release] strings the way rpm does."""
    le, lv, lr = split_evr(left)
    re_, rv, rr = split_evr(right)
    if le != re_:
        return -1 if le < re_ else 1
    result = rpmvercmp(lv, rv)
    if result or not lr or not rr:
        return result
    return rpmvercmp(lr, rr)


def format_evr(epoch, version, release):
    epoch = "" if epoch in (None, "", "0", 0, "(none)") else "%s:" % epoch
    return "%s%s-%s" % (epoch, version, release) if release else "%s%s" % (epoch, version)


def nevra(name, evr, arch=None):
    """'fp-openssl', '1:3.0.7-28.el9', 'noarch' -> 'fp-openssl-1:3.0.7-28.el9.noarch'."""
    if not name or not evr:
        raise ValueError("an rpm spec needs a name and a version (got %r, %r)" % (name, evr))
    if "-" not in evr.split(":")[-1]:
        raise ValueError("rpm version %r of %s has no release (expected [epoch:]version-release)" % (evr, name))
    spec = "%s-%s" % (name, evr)
    return "%s.%s" % (spec, arch) if arch else spec


def split_name_arch(text):
    name, dot, arch = text.rpartition(".")
    if dot and arch in ARCHES:
        return name, arch
    return text, None


def split_nevra(text):
    """'openssl-1:3.0.7-18.el9_2.x86_64' (or a .rpm file name) -> (name, epoch, version, release, arch)."""
    text = text.strip()
    if text.endswith(".rpm"):
        text = text[:-4]
    body, arch = split_name_arch(text)
    name_version, dummy, release = body.rpartition("-")
    name, dummy, version = name_version.rpartition("-")
    epoch = None
    if ":" in version:
        epoch, version = version.split(":", 1)
    return name, epoch, version, release, arch


# -- parsers -------------------------------------------------------------------------------------

def parse_check_update(output):
    """`dnf/yum -q check-update` -> (updates, obsoletes).

    updates: [{name, arch, candidate_version, repo}]; obsoletes: [{name, arch, installed_version,
    obsoleted_by}]. Long names wrap onto the next line on a narrow terminal; both layouts parse.
    """
    updates, obsoletes = [], []
    section = "updates"
    pending, pending_indented = "", False
    current_obsoleter = None
    for raw in output.splitlines():
        if not raw.strip():
            continue
        if raw.startswith("Obsoleting Packages"):
            section, pending = "obsoletes", ""
            continue
        if raw.startswith(("Loaded plugins", "Last metadata", "Security:", "Repodata is over", "Loading mirror")):
            continue
        indented = pending_indented if pending else raw[:1].isspace()
        line = (pending + " " + raw.strip()) if pending else raw.strip()
        match = _PKG_LINE_RE.match(line)
        if not match:
            # a wrapped name: the version and repo follow on the next line
            pending = line if len(line.split()) == 1 and "." in line else ""
            pending_indented = raw[:1].isspace()
            continue
        pending = ""
        name, arch = split_name_arch(match.group("na"))
        if section == "obsoletes" and indented and current_obsoleter:
            obsoletes.append({"name": name, "arch": arch, "installed_version": match.group("evr"),
                              "obsoleted_by": current_obsoleter})
            continue
        record = {"name": name, "arch": arch, "candidate_version": match.group("evr"), "repo": match.group("repo")}
        if section == "obsoletes":
            current_obsoleter = name
            record["obsoletes"] = True
        updates.append(record)
    return updates, obsoletes


def parse_updateinfo_info(output):
    """`dnf updateinfo info` / `yum updateinfo info` -> advisories.

    Each: id, title, type (ours), severity (ours), vendor_type, vendor_severity, date (ISO 8601 or
    None), cves, bugs, files [(name, epoch, version, release, arch)].
    """
    advisories = []
    blocks = re.split(r"^={20,}\s*$", output, flags=re.MULTILINE)
    # blocks alternate: preamble, title, body, title, body ...
    for index in range(1, len(blocks) - 1, 2):
        title = blocks[index].strip()
        fields = _parse_fields(blocks[index + 1])
        if "update id" not in fields:
            continue
        vendor_type = (fields.get("type") or [""])[0]
        vendor_severity = (fields.get("severity") or [""])[0]
        date = _iso((fields.get("issued") or fields.get("updated") or [None])[0])
        cves = sorted(set(c for line in fields.get("cves", []) for c in _CVE_RE.findall(line)))
        files = [split_nevra(f) for line in fields.get("files", []) for f in line.split() if f.endswith(".rpm")]
        advisories.append({
            "id": fields["update id"][0].strip(),
            "title": title,
            "type": normalize_type(vendor_type),
            "severity": normalize_severity(vendor_severity),
            "vendor_type": vendor_type,
            "vendor_severity": vendor_severity,
            "date": date,
            "cves": cves,
            "bugs": [b.split(" - ", 1)[0].strip() for b in fields.get("bugs", []) if b.strip()],
            "files": files,
            "reboot_suggested": (fields.get("reboot suggested") or fields.get("reboot") or [""])[0].strip().lower()
            in ("true", "yes", "1"),
        })
    return advisories


def _parse_fields(block):
    fields, key = {}, None
    for line in block.splitlines():
        if not line.strip():
            continue
        match = _KV_RE.match(line)
        if not match:
            if key:
                fields[key].append(line.strip())
            continue
        name = (match.group("key") or "").strip().lower()
        if name:
            key = name
            fields.setdefault(key, [])
        if key:
            fields[key].append(match.group("value").strip())
    return fields


def _iso(text):
    if not text:
        return None
    text = text.strip()
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc).isoformat()
        except ValueError:
            continue
    return None


def parse_updateinfo_list(output):
    """`updateinfo list` lines -> [{id, type, severity, nevra (tuple), date}].

    Labels: `Important/Sec.` (security with severity), `bugfix`, `enhancement`, `newpackage`;
    yum writes them in lower case (`important/Sec.`). With -v dnf adds the advisory date.
    """
    entries = []
    for line in output.splitlines():
        match = _LIST_RE.match(line)
        if not match:
            continue
        label = match.group("label")
        if label.endswith("/Sec."):
            kind, severity = "security", normalize_severity(label[:-5])
        elif label.lower() in TYPE_MAP:
            kind, severity = normalize_type(label), "unspecified"
        else:
            continue
        nevra = split_nevra(match.group("nevra"))
        if not nevra[0] or not nevra[4]:
            continue
        entries.append({"id": match.group("id"), "type": kind, "severity": severity, "nevra": nevra,
                        "date": _iso(match.group("date"))})
    return entries


def parse_rpm_qa(output):
    """`rpm -qa --qf '%{NAME}\\t%{ARCH}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\n'` -> {(name, arch): newest EVR}."""
    installed = {}
    for line in output.splitlines():
        parts = line.split("\t")
        if len(parts) != 5 or parts[1] in ("(none)", ""):
            continue
        name, arch, epoch, version, release = parts
        evr = format_evr(epoch, version, release)
        known = installed.get((name, arch))
        if known is None or compare_evr(evr, known) > 0:
            installed[(name, arch)] = evr
    return installed


RPM_QA_FORMAT = "%{NAME}\\t%{ARCH}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\n"


def installed_by_name(installed):
    """{(name, arch): evr} -> {name: newest evr over arches}."""
    by_name = {}
    for (name, _arch), evr in installed.items():
        if name not in by_name or compare_evr(evr, by_name[name]) > 0:
            by_name[name] = evr
    return by_name


# -- records ---------------------------------------------------------------------------------------

def _applies(adv_version, adv_release, adv_epoch, candidate, installed):
    """An advisory package applies when installed < advisory EVR <= candidate (epoch from the candidate)."""
    epoch = adv_epoch if adv_epoch not in (None, "") else split_evr(candidate)[0]
    evr = format_evr(epoch, adv_version, adv_release)
    if compare_evr(evr, candidate) > 0:
        return False
    return installed is None or compare_evr(evr, installed) > 0


def build_patches(updates, advisories, installed, make_patch, list_entries=None, manager="dnf"):
    """Patch records for `updates` (parse_check_update), enriched with the advisories that apply.

    `advisories`: parse_updateinfo_info; `list_entries`: parse_updateinfo_list (yum, where the
    info output names no files); `installed`: parse_rpm_qa. A package with several applicable
    advisories takes the most important type and the highest severity, the union of their CVEs
    and ids, and the newest advisory date. A package no advisory covers is classified `other`.
    """
    by_id = dict((a["id"], a) for a in advisories)
    links = {}
    for advisory in advisories:
        for name, epoch, version, release, arch in advisory["files"]:
            links.setdefault((name, arch), []).append((advisory["id"], epoch, version, release))
    for entry in list_entries or []:
        name, epoch, version, release, arch = entry["nevra"]
        links.setdefault((name, arch), []).append((entry["id"], epoch, version, release))
        if entry["id"] not in by_id:
            by_id[entry["id"]] = {"id": entry["id"], "type": entry["type"], "severity": entry["severity"],
                                  "date": entry["date"], "cves": [], "reboot_suggested": False}
    newest = installed_by_name(installed)
    patches = []
    for update in updates:
        key = (update["name"], update["arch"])
        current = installed.get(key)
        if current is None and not update.get("obsoletes"):
            current = newest.get(update["name"])
        found = []
        for adv_id, epoch, version, release in links.get(key, []):
            if adv_id in by_id and _applies(version, release, epoch, update["candidate_version"], current):
                if by_id[adv_id] not in found:
                    found.append(by_id[adv_id])
        patch = make_patch(
            name=update["name"],
            arch=update["arch"],
            installed_version=current,
            candidate_version=update["candidate_version"],
            origin=update["repo"],
            classification=highest_classification(a["type"] for a in found),
            severity=highest_severity(a["severity"] for a in found),
            release_date=max((a["date"] for a in found if a.get("date")), default=None),
            advisories=sorted(a["id"] for a in found),
            cves=sorted(set(c for a in found for c in a["cves"])),
            manager=manager,
        )
        if any(a.get("reboot_suggested") for a in found):
            patch["reboot_hint"] = True
        patches.append(patch)
    return patches


# --------------------------------------------------------------------------- dependency closure

# Sections of a dnf/yum transaction table whose packages would come in or change version.
_TRANSACTION_SECTIONS = ("install", "upgrad", "updat", "downgrad", "reinstall")


def parse_transaction(output):
    """Names dnf or yum would install, upgrade or downgrade, from the transaction table that
    `dnf --assumeno upgrade NAME` (yum: `yum --assumeno update NAME`) prints before it aborts.

    A package line starts with one space and its name; a long name sits alone on its line and the
    rest follows on an indented one; ` replacing  OLD` lines (obsoletes) name no new package.
    Sections: dnf's `Upgrading:`, `Installing dependencies:`, yum's `Updating for dependencies:`...;
    `Removing:` and `Obsoleting ...` are not kept. The table ends at `Transaction Summary`.
    """
    names, keep = [], False
    for line in (output or "").splitlines():
        if line.startswith("Transaction Summary"):
            break
        if line and not line[0].isspace() and line.rstrip().endswith(":"):
            keep = line.strip().lower().startswith(_TRANSACTION_SECTIONS)
            continue
        if not keep or not line.startswith(" ") or line.startswith("  "):
            continue
        name = line.split()[0]
        if name != "replacing" and name not in names:
            names.append(name)
    return names


def dnf_api_resolver():
    """A resolver over dnf's own solver through its Python API (python3-dnf; cache only, nothing is
    downloaded, locked or changed), or None when this interpreter cannot import dnf.

    `resolver(name, pending)` returns the names dnf would install or upgrade to upgrade `name` alone.
    """
    try:
        import dnf  # pylint: disable=import-error
        import dnf.exceptions  # pylint: disable=import-error
        import dnf.rpm  # pylint: disable=import-error
    except ImportError:
        return None
    base = dnf.Base()
    conf = base.conf
    conf.read()
    conf.substitutions.update_from_etc(conf.installroot)
    if not conf.substitutions.get("releasever"):
        conf.substitutions["releasever"] = dnf.rpm.detect_releasever(conf.installroot) or ""
    conf.cacheonly = True
    base.read_all_repos()
    base.fill_sack(load_system_repo=True, load_available_repos=True)

    def resolve(name, pending):
        base.reset(goal=True)
        try:
            base.upgrade(name)
        except dnf.exceptions.Error:
            return []
        if not base.resolve():
            return []
        return sorted(set(p.name for p in base.transaction.install_set))

    return resolve
