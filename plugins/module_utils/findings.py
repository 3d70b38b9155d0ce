# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Vulnerability findings from scanners, normalized per host, CVE and package (pure Python).

One record shape for every source (see DESIGN.md, Findings):

  host             the inventory host the finding was matched to (None: unmatched)
  identity         how the scanner named the host: name, fqdn, ip, instance_id (what it gave)
  matched_by       instance_id | fqdn | name | ip | host (the source's configured host) | None
  cve              CVE id (or the scanner's own id when it names no CVE: GHSA-..., QID-...)
  package          package name, or None when the scanner did not name one
  installed_version, fixed_version (None: the scanner knows no fix)
  severity         critical | high | medium | low | informational | unknown (the scanner's scale)
  cvss             base score (float) or None
  first_seen, last_seen   ISO 8601 strings as the scanner wrote them, or None
  source           inspector2 | tenable | tenable_io | tenable_sc | qualys | qualys_api | trivy | grype | osv
  source_ref       the scanner's own id of the finding (finding ARN, plugin id, QID)
  status           the scanner's state, normalized: open | closed

This file holds the record, the identity index that matches hosts to the inventory, the
de-duplication, and the readers of exported files (Trivy, Grype and osv-scanner JSON, Tenable
.nessus v2 XML, Qualys host detection XML and scan CSV). The API clients live in
findings_sources.py, the correlation with pending patches in findings_correlate.py.

Bad input raises FindingsError naming the file and the line (JSON syntax, CSV) or the element
(a JSON path like Results[0].Vulnerabilities[3], an XML path like ReportHost[2]/ReportItem[5]).
"""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import re
import xml.etree.ElementTree as ET

SEVERITIES = ("critical", "high", "medium", "low", "informational", "unknown")
SEVERITY_RANK = dict((word, len(SEVERITIES) - 1 - index) for index, word in enumerate(SEVERITIES))
_SEVERITY_WORDS = {
    "critical": "critical", "urgent": "critical",
    "high": "high", "important": "high",
    "medium": "medium", "moderate": "medium",
    "low": "low", "negligible": "low",
    "informational": "informational", "info": "informational", "none": "informational",
    "untriaged": "unknown", "unknown": "unknown", "unspecified": "unknown", "": "unknown",
}
# Tenable's numeric severity (.nessus severity attribute, Tenable.sc severity.id)
TENABLE_SEVERITY = {"0": "informational", "1": "low", "2": "medium", "3": "high", "4": "critical"}
# Qualys' five levels: 5 urgent, 4 critical, 3 serious, 2 medium, 1 minimal
QUALYS_SEVERITY = {"5": "critical", "4": "high", "3": "medium", "2": "low", "1": "informational"}
FORMATS = ("trivy", "grype", "osv", "nessus", "qualys_xml", "qualys_csv", "tenable_io_json")
_CVE_RE = re.compile(r"CVE-\d{4}-\d{4,}", re.IGNORECASE)


class FindingsError(ValueError):
    """A findings source that cannot be read: names the file and the line or element."""


# -- the record ------------------------------------------------------------------------------------

def severity_of(value):
    """A scanner's severity word -> ours (unknown when it is not one we know)."""
    return _SEVERITY_WORDS.get(str(value or "").strip().lower(), "unknown")


def severity_at_least(severity, minimum):
    return SEVERITY_RANK.get(severity, 0) >= SEVERITY_RANK.get(minimum, 0)


def highest(severities):
    return max(severities, key=lambda s: SEVERITY_RANK.get(s, 0), default="unknown")


def _float(value):
    if value in (None, ""):
        return None
    try:
        return round(float(value), 1)
    except (TypeError, ValueError):
        return None


def record(source, identity, cve, package=None, installed=None, fixed=None, severity=None, cvss=None,
           first_seen=None, last_seen=None, source_ref=None, status="open"):
    """One normalized finding (host is filled in by match())."""
    fixed = (fixed or "").strip() or None
    return {
        "host": None, "identity": dict((k, v) for k, v in identity.items() if v), "matched_by": None,
        "cve": (cve or "").strip().upper() if _CVE_RE.fullmatch((cve or "").strip()) else (cve or "").strip(),
        "package": (package or "").strip() or None,
        "installed_version": (installed or "").strip() or None,
        "fixed_version": fixed,
        "severity": severity_of(severity), "cvss": _float(cvss),
        "first_seen": first_seen or None, "last_seen": last_seen or None,
        "source": source, "source_ref": None if source_ref is None else str(source_ref),
        "status": status,
    }


# -- matching hosts to the inventory ---------------------------------------------------------------

def _is_ip(value):
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


class IdentityIndex(object):
    """Inventory hosts by instance id, FQDN, name and IP.

    `hosts`: [{name, instance_id, fqdn, ip (str or list), aliases}]. A key several hosts share (the
    local test hosts all answer on 127.0.0.1) matches none of them: a finding is never given to
    the wrong host. Match order: instance id, FQDN, name (also the short name of an FQDN when it
    is unique), IP.
    """

    def __init__(self, hosts):
        self.by = {"instance_id": {}, "fqdn": {}, "name": {}, "ip": {}}
        self.ambiguous = {"instance_id": set(), "fqdn": set(), "name": set(), "ip": set()}
        self.names = []
        for host in hosts or []:
            name = host.get("name")
            if not name:
                continue
            self.names.append(name)
            self._add("instance_id", host.get("instance_id"), name)
            fqdn = (host.get("fqdn") or "").lower().rstrip(".")
            self._add("fqdn", fqdn, name)
            self._add("name", name.lower(), name)
            for alias in host.get("aliases") or []:
                self._add("name", str(alias).lower(), name)
            if fqdn and "." in fqdn:
                self._add("name", fqdn.split(".", 1)[0], name)
            ips = host.get("ip") or []
            for ip in [ips] if isinstance(ips, str) else ips:
                if ip and _is_ip(ip):
                    self._add("ip", str(ipaddress.ip_address(ip)), name)

    def _add(self, kind, key, name):
        if not key:
            return
        table = self.by[kind]
        if key in table and table[key] != name:
            self.ambiguous[kind].add(key)
        else:
            table[key] = name

    def _get(self, kind, key):
        if not key or key in self.ambiguous[kind]:
            return None
        return self.by[kind].get(key)

    def match(self, identity):
        """(inventory name, matched_by) or (None, None)."""
        host = self._get("instance_id", identity.get("instance_id"))
        if host:
            return host, "instance_id"
        for field in ("fqdn", "name"):
            value = (identity.get(field) or "").lower().rstrip(".")
            if not value:
                continue
            if _is_ip(value):
                host = self._get("ip", str(ipaddress.ip_address(value)))
                if host:
                    return host, "ip"
                continue
            host = self._get("fqdn", value) or self._get("name", value)
            if host:
                return host, "fqdn" if self._get("fqdn", value) else "name"
            if "." in value:
                host = self._get("name", value.split(".", 1)[0])
                if host:
                    return host, "name"
        for ip in _as_list(identity.get("ip")):
            if ip and _is_ip(ip):
                host = self._get("ip", str(ipaddress.ip_address(ip)))
                if host:
                    return host, "ip"
        return None, None


def _as_list(value):
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def assign(findings, index, host=None):
    """Match every finding to an inventory host (or to `host`, a source configured for one host)."""
    for finding in findings:
        if host:
            finding["host"], finding["matched_by"] = host, "host"
        else:
            finding["host"], finding["matched_by"] = index.match(finding["identity"])
    return findings


def _later(left, right):
    return right if (right or "") > (left or "") else left


def dedupe(findings):
    """One record per host (or unmatched identity), CVE and package.

    Duplicates (the same finding in two exports, or from two scanners) merge: the earliest first
    seen, the latest last seen, the highest severity and CVSS, the fixed version any of them
    knows, every source in `sources`; open wins over closed.
    """
    merged = {}
    order = []
    for finding in findings:
        who = finding["host"] or json.dumps(finding["identity"], sort_keys=True)
        key = (who, finding["cve"], finding["package"])
        seen = merged.get(key)
        if seen is None:
            finding = dict(finding)
            finding["sources"] = [finding["source"]]
            merged[key] = finding
            order.append(key)
            continue
        if finding["source"] not in seen["sources"]:
            seen["sources"].append(finding["source"])
        if finding["first_seen"] and (not seen["first_seen"] or finding["first_seen"] < seen["first_seen"]):
            seen["first_seen"] = finding["first_seen"]
        seen["last_seen"] = _later(seen["last_seen"], finding["last_seen"])
        if SEVERITY_RANK.get(finding["severity"], 0) > SEVERITY_RANK.get(seen["severity"], 0):
            seen["severity"] = finding["severity"]
        if finding["cvss"] is not None and (seen["cvss"] is None or finding["cvss"] > seen["cvss"]):
            seen["cvss"] = finding["cvss"]
        for field in ("fixed_version", "installed_version"):
            if not seen[field] and finding[field]:
                seen[field] = finding[field]
        if finding["status"] == "open":
            seen["status"] = "open"
    return [merged[key] for key in order]


def by_host(findings):
    """({host: [findings]}, [unmatched findings])."""
    hosts, unmatched = {}, []
    for finding in findings:
        if finding["host"]:
            hosts.setdefault(finding["host"], []).append(finding)
        else:
            unmatched.append(finding)
    return hosts, unmatched


def unmatched_hosts(unmatched):
    """The distinct scanner identities no inventory host matched, with their finding count."""
    seen = {}
    for finding in unmatched:
        key = json.dumps(finding["identity"], sort_keys=True)
        entry = seen.setdefault(key, {"identity": finding["identity"], "sources": [], "findings": 0})
        entry["findings"] += 1
        if finding["source"] not in entry["sources"]:
            entry["sources"].append(finding["source"])
    return list(seen.values())


# -- reading files ---------------------------------------------------------------------------------

def read_text(path):
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise FindingsError("%s: cannot read (%s)" % (path, exc.strerror or exc))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise FindingsError("%s: line %d: not UTF-8 (byte 0x%02x)" % (path, line, raw[exc.start]))


def _load_json(path, text):
    try:
        return json.loads(text)
    except ValueError as exc:
        raise FindingsError("%s: line %d column %d: not JSON (%s)" % (
            path, getattr(exc, "lineno", 0), getattr(exc, "colno", 0), getattr(exc, "msg", exc)))


def _need(mapping, key, where, path, kind=str):
    value = mapping.get(key) if isinstance(mapping, dict) else None
    if not isinstance(value, kind) or (kind is str and not value.strip()):
        raise FindingsError("%s: %s.%s: expected %s, got %r" % (
            path, where, key, "a non-empty string" if kind is str else kind.__name__, value))
    return value


def detect_format(path, text):
    """The export format of a file, from its content."""
    head = text.lstrip()[:4096]
    if head.startswith("<"):
        if "NessusClientData_v2" in head:
            return "nessus"
        if "HOST_LIST_VM_DETECTION_OUTPUT" in head:
            return "qualys_xml"
        raise FindingsError("%s: line 1: XML, but neither a .nessus v2 export (NessusClientData_v2) nor a Qualys "
                            "host detection output (HOST_LIST_VM_DETECTION_OUTPUT); set format" % path)
    if head.startswith("{") or head.startswith("["):
        data = _load_json(path, text)
        if isinstance(data, dict) and "matches" in data:
            return "grype"
        if isinstance(data, dict) and ("Results" in data or "SchemaVersion" in data):
            return "trivy"
        if isinstance(data, dict) and "results" in data and isinstance(data["results"], list):
            return "osv"
        if isinstance(data, list) and (not data or isinstance(data[0], dict) and "plugin" in data[0]):
            return "tenable_io_json"
        raise FindingsError("%s: JSON, but not Trivy (Results), Grype (matches), osv-scanner (results) or a Tenable.io "
                            "vulns export chunk; set format" % path)
    if "QID" in head and ("IP" in head or "DNS" in head):
        return "qualys_csv"
    raise FindingsError("%s: line 1: not a findings export this collection reads (%s); set format" % (path, ", ".join(FORMATS)))


def read_file(path, fmt=None):
    """The normalized findings of one exported file (host not yet matched)."""
    text = read_text(path)
    fmt = fmt or detect_format(path, text)
    reader = READERS.get(fmt)
    if reader is None:
        raise FindingsError("%s: format %r is not one of %s" % (path, fmt, ", ".join(FORMATS)))
    return reader(path, text)


# Trivy: {ArtifactName, ArtifactType, Metadata, Results: [{Target, Class, Type, Vulnerabilities: [...]}]}
def parse_trivy(path, text):
    data = _load_json(path, text)
    if isinstance(data, list):  # Trivy < 0.20 wrote the Results list alone
        data = {"Results": data}
    if not isinstance(data, dict):
        raise FindingsError("%s: top level: expected a Trivy report object, got %s" % (path, type(data).__name__))
    artifact = data.get("ArtifactName") or ""
    identity = _artifact_identity(artifact, data.get("Metadata") or {})
    out = []
    results = data.get("Results") or []
    if not isinstance(results, list):
        raise FindingsError("%s: Results: expected a list, got %s" % (path, type(results).__name__))
    for r_index, result in enumerate(results):
        where = "Results[%d]" % r_index
        if not isinstance(result, dict):
            raise FindingsError("%s: %s: expected an object" % (path, where))
        for v_index, vuln in enumerate(result.get("Vulnerabilities") or []):
            at = "%s.Vulnerabilities[%d]" % (where, v_index)
            cve = _need(vuln, "VulnerabilityID", at, path)
            package = _need(vuln, "PkgName", at, path)
            status = (vuln.get("Status") or "").lower()
            fixed = vuln.get("FixedVersion") if status not in ("will_not_fix", "fix_deferred", "affected") else None
            out.append(record("trivy", identity, cve, package, vuln.get("InstalledVersion"), _first_version(fixed),
                              vuln.get("Severity"), _trivy_cvss(vuln.get("CVSS")), vuln.get("PublishedDate"),
                              vuln.get("LastModifiedDate"), source_ref="%s:%s" % (result.get("Target", ""), cve)))
    return out


def _artifact_identity(artifact, metadata):
    identity = {"name": artifact}
    if artifact and _is_ip(artifact):
        identity = {"ip": artifact}
    elif artifact and "." in artifact and "/" not in artifact and ":" not in artifact:
        identity = {"fqdn": artifact}
    for key in ("InstanceID", "InstanceId"):
        if metadata.get(key):
            identity["instance_id"] = metadata[key]
    return identity


def _first_version(value):
    """Trivy and Grype may give several fixed versions ('1.2.3, 1.3.1'); the lowest fixes the line."""
    if not value:
        return None
    parts = [p.strip().lstrip(">=").strip() for p in re.split(r"[,|]", value) if p.strip()]
    return parts[0] if parts else None


def _trivy_cvss(cvss):
    if not isinstance(cvss, dict):
        return None
    for vendor in ("nvd", "redhat", "ghsa") + tuple(sorted(cvss)):
        entry = cvss.get(vendor) or {}
        score = entry.get("V3Score") or entry.get("V40Score") or entry.get("V2Score")
        if score:
            return score
    return None


# Grype: {matches: [{vulnerability: {id, severity, fix: {versions, state}, cvss}, relatedVulnerabilities,
#                    artifact: {name, version, type}}], source: {type, target}, distro}
def parse_grype(path, text):
    data = _load_json(path, text)
    if not isinstance(data, dict) or not isinstance(data.get("matches"), list):
        raise FindingsError("%s: top level: expected a Grype report with a matches list" % path)
    target = (data.get("source") or {}).get("target")
    name = target.get("userInput") if isinstance(target, dict) else target
    identity = _artifact_identity(name or "", {})
    out = []
    for index, match in enumerate(data["matches"]):
        at = "matches[%d]" % index
        vuln = match.get("vulnerability") if isinstance(match, dict) else None
        artifact = match.get("artifact") if isinstance(match, dict) else None
        if not isinstance(vuln, dict) or not isinstance(artifact, dict):
            raise FindingsError("%s: %s: expected vulnerability and artifact objects" % (path, at))
        vuln_id = _need(vuln, "id", at + ".vulnerability", path)
        package = _need(artifact, "name", at + ".artifact", path)
        ids = [vuln_id] if vuln_id.upper().startswith("CVE-") else [
            r.get("id") for r in match.get("relatedVulnerabilities") or [] if str(r.get("id", "")).upper().startswith("CVE-")
        ] or [vuln_id]
        fix = vuln.get("fix") or {}
        fixed = (fix.get("versions") or [None])[0] if fix.get("state", "fixed") == "fixed" else None
        score = None
        for entry in vuln.get("cvss") or []:
            score = (entry.get("metrics") or {}).get("baseScore") or score
        for cve in ids:
            out.append(record("grype", identity, cve, package, artifact.get("version"), fixed, vuln.get("severity"), score,
                              source_ref=vuln_id))
    return out


# osv-scanner: {results: [{source: {path, type}, packages: [{package: {name, version, ecosystem},
#                vulnerabilities: [OSV records], groups: [{ids, aliases, max_severity}]}]}]}
def parse_osv(path, text):
    data = _load_json(path, text)
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise FindingsError("%s: top level: expected osv-scanner output with a results list" % path)
    out = []
    for r_index, result in enumerate(data["results"]):
        source = (result or {}).get("source") or {}
        identity = {"name": source.get("path") or ""}
        for p_index, entry in enumerate((result or {}).get("packages") or []):
            at = "results[%d].packages[%d]" % (r_index, p_index)
            package = entry.get("package") if isinstance(entry, dict) else None
            if not isinstance(package, dict):
                raise FindingsError("%s: %s.package: expected an object" % (path, at))
            name = _need(package, "name", at + ".package", path)
            groups = dict((i, g) for g in entry.get("groups") or [] for i in g.get("ids") or [])
            for v_index, vuln in enumerate(entry.get("vulnerabilities") or []):
                v_at = "%s.vulnerabilities[%d]" % (at, v_index)
                vuln_id = _need(vuln, "id", v_at, path)
                cves = [a for a in [vuln_id] + list(vuln.get("aliases") or []) if str(a).upper().startswith("CVE-")]
                fixed = _osv_fixed(vuln, name)
                group = groups.get(vuln_id) or {}
                severity = (vuln.get("database_specific") or {}).get("severity") or _cvss_word(group.get("max_severity"))
                for cve in sorted(set(cves)) or [vuln_id]:
                    out.append(record("osv", identity, cve, name, package.get("version"), fixed, severity,
                                      group.get("max_severity"), vuln.get("published"), vuln.get("modified"), vuln_id))
    return out


def _osv_fixed(vuln, name):
    for affected in vuln.get("affected") or []:
        if (affected.get("package") or {}).get("name") not in (None, name):
            continue
        for rng in affected.get("ranges") or []:
            for event in rng.get("events") or []:
                if event.get("fixed"):
                    return event["fixed"]
    return None


def _cvss_word(score):
    value = _float(score)
    if value is None:
        return None
    if value >= 9.0:
        return "critical"
    if value >= 7.0:
        return "high"
    if value >= 4.0:
        return "medium"
    return "low" if value > 0 else "informational"


# Tenable .nessus v2: NessusClientData_v2/Report/ReportHost[@name]/{HostProperties/tag[@name], ReportItem}
_TENABLE_PKG_RE = re.compile(r"Remote package installed\s*:\s*(\S+)\s*\n\s*Should be\s*:\s*(\S+)", re.IGNORECASE)


def tenable_packages(output):
    """[(package, installed, fixed)] from a Tenable local-check plugin output (dpkg or rpm style)."""
    out = []
    for installed, fixed in _TENABLE_PKG_RE.findall(output or ""):
        name, inst = _split_pkg(installed)
        dummy, fix = _split_pkg(fixed)
        out.append((name, inst, fix))
    return out


def _split_pkg(text):
    if "_" in text:  # Debian: name_version (the version may itself hold no underscore)
        name, version = text.split("_", 1)
        return name, version
    parts = text.rsplit("-", 2)  # rpm: name-version-release[.arch]
    if len(parts) == 3:
        return parts[0], "%s-%s" % (parts[1], parts[2])
    return text, None


def parse_nessus(path, text):
    try:
        root = ET.fromstring(text.encode("utf-8"))
    except ET.ParseError as exc:
        line, column = exc.position
        raise FindingsError("%s: line %d column %d: not well-formed XML (%s)" % (path, line, column, exc))
    if root.tag != "NessusClientData_v2":
        raise FindingsError("%s: root element %s: expected NessusClientData_v2" % (path, root.tag))
    out = []
    for h_index, host in enumerate(root.iter("ReportHost"), 1):
        where = "ReportHost[%d]" % h_index
        name = host.get("name")
        if not name:
            raise FindingsError("%s: %s: the name attribute is missing" % (path, where))
        tags = dict((t.get("name"), (t.text or "").strip()) for t in host.iter("tag"))
        identity = {"name": tags.get("hostname") or name, "fqdn": tags.get("host-fqdn"),
                    "ip": tags.get("host-ip") or (name if _is_ip(name) else None),
                    "instance_id": tags.get("aws-instance-instanceId")}
        for i_index, item in enumerate(host.findall("ReportItem"), 1):
            at = "%s (%s)/ReportItem[%d]" % (where, name, i_index)
            plugin = item.get("pluginID")
            if not plugin:
                raise FindingsError("%s: %s: the pluginID attribute is missing" % (path, at))
            cves = [(c.text or "").strip() for c in item.findall("cve")]
            bad = [c for c in cves if not _CVE_RE.fullmatch(c)]
            if bad:
                raise FindingsError("%s: %s (plugin %s)/cve: %r is not a CVE id" % (path, at, plugin, bad[0]))
            if not cves:
                continue  # not a CVE finding (informational plugins, configuration checks)
            severity = TENABLE_SEVERITY.get(item.get("severity", ""), None) or item.findtext("risk_factor")
            cvss = item.findtext("cvss3_base_score") or item.findtext("cvss_base_score")
            packages = tenable_packages(item.findtext("plugin_output")) or [(None, None, None)]
            for cve in cves:
                for package, installed, fixed in packages:
                    out.append(record("tenable", identity, cve, package, installed, fixed, severity, cvss,
                                      item.findtext("vuln_publication_date"), tags.get("HOST_END"), plugin))
    return out


# Tenable.io vulns export chunk: [{asset: {hostname, fqdn, ipv4, ...}, plugin: {id, cve, cvss3_base_score},
#                                  severity, state, first_found, last_found, output}]
def parse_tenable_io(path, text):
    data = _load_json(path, text)
    if not isinstance(data, list):
        raise FindingsError("%s: top level: expected a list of vulnerabilities (a vulns export chunk)" % path)
    return tenable_io_records(data, path)


def tenable_io_records(vulns, where_from):
    out = []
    for index, vuln in enumerate(vulns):
        at = "[%d]" % index
        if not isinstance(vuln, dict) or not isinstance(vuln.get("asset"), dict) or not isinstance(vuln.get("plugin"), dict):
            raise FindingsError("%s: %s: expected an object with asset and plugin" % (where_from, at))
        asset, plugin = vuln["asset"], vuln["plugin"]
        ipv4 = asset.get("ipv4")
        identity = {"name": asset.get("hostname") or asset.get("netbios_name"), "fqdn": asset.get("fqdn"),
                    "ip": ipv4 if isinstance(ipv4, (str, list)) else None,
                    "instance_id": asset.get("aws_ec2_instance_id")}
        identity = dict((k, v[0] if isinstance(v, list) and k != "ip" else v) for k, v in identity.items())
        cves = plugin.get("cve") or []
        if not isinstance(cves, list):
            raise FindingsError("%s: %s.plugin.cve: expected a list, got %r" % (where_from, at, cves))
        state = "closed" if str(vuln.get("state", "")).upper() == "FIXED" else "open"
        packages = tenable_packages(vuln.get("output")) or [(None, None, None)]
        for cve in cves:
            for package, installed, fixed in packages:
                out.append(record("tenable_io", identity, cve, package, installed, fixed, vuln.get("severity"),
                                  plugin.get("cvss3_base_score") or plugin.get("cvss_base_score"),
                                  vuln.get("first_found"), vuln.get("last_found"), plugin.get("id"), state))
    return out


# Qualys host detection: HOST_LIST_VM_DETECTION_OUTPUT/RESPONSE/HOST_LIST/HOST/{ID, IP, DNS, EC2_INSTANCE_ID,
#   DETECTION_LIST/DETECTION/{QID, SEVERITY, STATUS, RESULTS, FIRST_FOUND_DATETIME, LAST_FOUND_DATETIME}}
def qualys_packages(results):
    """[(package, installed, fixed)] from a Qualys detection's RESULTS table (Package / Installed / Required)."""
    out = []
    lines = [line for line in (results or "").splitlines() if line.strip()]
    for number, line in enumerate(lines):
        cells = [c.strip() for c in line.split("\t")]
        if cells and cells[0].lower() == "package" and len(cells) >= 3:
            for row in lines[number + 1:]:
                values = [c.strip() for c in row.split("\t")]
                if len(values) < 3 or values[0].lower() == "package":
                    break
                out.append((values[0], values[1] or None, values[2] or None))
            break
    return out


def parse_qualys_xml(path, text, knowledge=None):
    """Findings of a host detection XML; `knowledge` {QID: {cves, cvss, title}} from the KnowledgeBase.

    Without knowledge, the CVEs come from a detection's own CVE list when present (some
    exports carry it) and the QID stands in for the CVE otherwise ("QID-12345").
    """
    try:
        root = ET.fromstring(text.encode("utf-8"))
    except ET.ParseError as exc:
        line, column = exc.position
        raise FindingsError("%s: line %d column %d: not well-formed XML (%s)" % (path, line, column, exc))
    if root.tag != "HOST_LIST_VM_DETECTION_OUTPUT":
        raise FindingsError("%s: root element %s: expected HOST_LIST_VM_DETECTION_OUTPUT" % (path, root.tag))
    error = root.find("RESPONSE/CODE")
    if error is not None:
        raise FindingsError("%s: RESPONSE: Qualys error %s: %s" % (path, error.text, root.findtext("RESPONSE/TEXT")))
    out = []
    for h_index, host in enumerate(root.iter("HOST"), 1):
        where = "HOST[%d]" % h_index
        host_id = host.findtext("ID")
        if not host_id:
            raise FindingsError("%s: %s: the ID element is missing" % (path, where))
        identity = {"name": host.findtext("DNS_DATA/HOSTNAME") or host.findtext("NETBIOS"),
                    "fqdn": host.findtext("DNS_DATA/FQDN") or host.findtext("DNS"), "ip": host.findtext("IP"),
                    "instance_id": host.findtext("EC2_INSTANCE_ID") or host.findtext("CLOUD_RESOURCE_ID")}
        for d_index, detection in enumerate(host.iter("DETECTION"), 1):
            at = "%s (ID %s)/DETECTION[%d]" % (where, host_id, d_index)
            qid = (detection.findtext("QID") or "").strip()
            if not qid.isdigit():
                raise FindingsError("%s: %s/QID: expected a number, got %r" % (path, at, qid))
            known = (knowledge or {}).get(qid) or {}
            cves = known.get("cves") or [(c.text or "").strip() for c in detection.iter("ID") if _CVE_RE.fullmatch((c.text or "").strip())]
            state = "closed" if (detection.findtext("STATUS") or "").strip().lower() == "fixed" else "open"
            packages = qualys_packages(detection.findtext("RESULTS")) or [(None, None, None)]
            for cve in cves or ["QID-%s" % qid]:
                for package, installed, fixed in packages:
                    out.append(record("qualys", identity, cve, package, installed, fixed,
                                      QUALYS_SEVERITY.get((detection.findtext("SEVERITY") or "").strip()), known.get("cvss"),
                                      detection.findtext("FIRST_FOUND_DATETIME"), detection.findtext("LAST_FOUND_DATETIME"),
                                      qid, state))
    return out


def qualys_warning_url(text):
    """The next page's URL of a truncated host detection answer (WARNING/URL), or None."""
    root = ET.fromstring(text.encode("utf-8"))
    return root.findtext("RESPONSE/WARNING/URL")


# Qualys scan report CSV: a preamble, then a header row with IP, DNS, QID, CVE ID, Severity, Results, ...
def parse_qualys_csv(path, text):
    reader = csv.reader(io.StringIO(text))
    header = None
    out = []
    try:
        for row in reader:
            if header is None:
                cells = [c.strip() for c in row]
                if "QID" in cells and ("IP" in cells or "DNS" in cells):
                    header = cells
                continue
            if not any(c.strip() for c in row):
                continue
            if len(row) != len(header):
                raise FindingsError("%s: line %d: %d fields, the header has %d" % (path, reader.line_num, len(row), len(header)))
            values = dict(zip(header, row, strict=True))
            qid = values.get("QID", "").strip()
            if not qid.isdigit():
                raise FindingsError("%s: line %d: QID %r is not a number" % (path, reader.line_num, qid))
            identity = {"ip": values.get("IP"), "fqdn": values.get("FQDN") or values.get("DNS"),
                        "name": values.get("NetBIOS") or values.get("DNS"), "instance_id": values.get("Instance ID")}
            cves = _CVE_RE.findall(values.get("CVE ID", "")) or ["QID-%s" % qid]
            packages = qualys_packages(values.get("Results")) or [(None, None, None)]
            cvss = (values.get("CVSS3.1 Base") or values.get("CVSS3 Base") or values.get("CVSS Base") or "").split(" ")[0]
            for cve in cves:
                for package, installed, fixed in packages:
                    out.append(record("qualys", identity, cve.upper(), package, installed, fixed,
                                      QUALYS_SEVERITY.get(values.get("Severity", "").strip()), cvss,
                                      values.get("First Detected"), values.get("Last Detected"), qid,
                                      "closed" if values.get("Vuln Status", "").strip().lower() == "fixed" else "open"))
    except csv.Error as exc:
        raise FindingsError("%s: line %d: %s" % (path, reader.line_num, exc))
    if header is None:
        raise FindingsError("%s: no header row with QID and IP/DNS columns (a Qualys scan report CSV)" % path)
    return out


READERS = {
    "trivy": parse_trivy,
    "grype": parse_grype,
    "osv": parse_osv,
    "nessus": parse_nessus,
    "qualys_xml": parse_qualys_xml,
    "qualys_csv": parse_qualys_csv,
    "tenable_io_json": parse_tenable_io,
}
