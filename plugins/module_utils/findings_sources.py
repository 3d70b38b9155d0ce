# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Findings from scanner APIs and files, one source at a time (no Ansible import).

* inspector2: AWS Inspector2 ``list_findings``, filtered by the fleet's instance ids (10 per
  request, the API's limit for resourceId), by type PACKAGE_VULNERABILITY and by status;
  paginated by nextToken; each host in its region through its account's role (the inventory's
  fleetpatch_aws_role_arn, or the source's role_arn), one assumed session per role.
* tenable_io: the Tenable Vulnerability Management vulns export: POST /vulns/export, poll
  GET /vulns/export/{uuid}/status until FINISHED, GET each chunk of chunks_available.
* tenable_sc: Tenable Security Center's analysis API, POST /rest/analysis (tool vulndetails,
  cumulative), paged by startOffset/endOffset against totalRecords.
* qualys: the host detection API GET /api/2.0/fo/asset/host/vm/detection/?action=list, paged by
  the truncation WARNING's URL (id_min), and the KnowledgeBase for each QID's CVEs.
* file: an exported file (findings.read_file; the format is detected or given).

429 answers are retried after Retry-After (http_client); Qualys' 409 "concurrency limit" is
retried after X-RateLimit-ToWait-Sec-like waits by the same backoff. Every failure becomes a
SourceError naming the source and the reason; a source's keys never appear in a message.
"""

from __future__ import annotations

import time
import urllib.parse
from datetime import datetime, timezone

from . import aws
from . import findings as findingslib
from .http_client import HttpClient, HttpError

SOURCE_TYPES = ("file", "inspector2", "tenable_io", "tenable_sc", "qualys")
INSPECTOR_STATUSES = ("ACTIVE", "SUPPRESSED", "CLOSED")


class SourceError(Exception):
    """A source that could not be read: which one and why."""


def source_name(spec):
    return spec.get("name") or "%s%s" % (spec.get("type"), ":" + spec["path"] if spec.get("path") else "")


# -- Inspector2 ------------------------------------------------------------------------------------

def inspector2_version(package):
    """A vulnerable package's installed version as the package manager writes it: [epoch:]version[-release]."""
    version = package.get("version") or ""
    release = package.get("release")
    epoch = package.get("epoch")
    text = "%s-%s" % (version, release) if release else version
    return "%s:%s" % (epoch, text) if epoch not in (None, 0, "0", "") else text


def _fixed(value):
    if not value or value in ("NotAvailable", "None"):
        return None
    return value[2:] if value.startswith("0:") else value


def inspector2_records(finding):
    """The normalized records of one Inspector2 finding (one per vulnerable package)."""
    details = finding.get("packageVulnerabilityDetails") or {}
    cve = details.get("vulnerabilityId")
    if not cve:
        return []
    scores = [c.get("baseScore") for c in details.get("cvss") or [] if c.get("baseScore") is not None]
    status = "closed" if finding.get("status") == "CLOSED" else "open"
    out = []
    for resource in finding.get("resources") or []:
        if resource.get("type") not in (None, "AWS_EC2_INSTANCE"):
            continue
        ec2 = (resource.get("details") or {}).get("awsEc2Instance") or {}
        identity = {"instance_id": resource.get("id"), "ip": ec2.get("ipV4Addresses") or None}
        for package in details.get("vulnerablePackages") or [{}]:
            out.append(findingslib.record(
                "inspector2", identity, cve, package.get("name"), inspector2_version(package) if package else None,
                _fixed(package.get("fixedInVersion")), finding.get("severity"), max(scores) if scores else None,
                _iso(finding.get("firstObservedAt")), _iso(finding.get("lastObservedAt")), finding.get("findingArn"), status))
    return out


def _iso(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def inspector2_filter(instance_ids, statuses):
    return {
        "resourceId": [{"comparison": "EQUALS", "value": i} for i in instance_ids],
        "findingType": [{"comparison": "EQUALS", "value": "PACKAGE_VULNERABILITY"}],
        "findingStatus": [{"comparison": "EQUALS", "value": s} for s in statuses],
    }


def inspector2_list(client, instance_ids, statuses=("ACTIVE",), page_size=100, sleep=None, max_attempts=None):
    """Every finding of the instances, 10 instance ids per request, following nextToken."""
    out = []
    ids = sorted(set(i for i in instance_ids if i))
    for start in range(0, len(ids), 10):
        params = {"filterCriteria": inspector2_filter(ids[start:start + 10], statuses), "maxResults": page_size}
        while True:
            page = aws.call(client.list_findings, sleep=sleep, max_attempts=max_attempts or aws.DEFAULT_MAX_ATTEMPTS, **params)
            for finding in page.get("findings") or []:
                out.extend(inspector2_records(finding))
            token = page.get("nextToken")
            if not token:
                break
            params["nextToken"] = token
    return out


def inspector2_groups(spec, hosts):
    """{(role_arn, region): [instance ids]}: each host asked in its own region through its account's role.

    The source's role_arn, when set, is used for every host; else a host's own (the inventory's
    fleetpatch_aws_role_arn, passed by findings_identities). A host without a region is asked in
    each of the source's regions.
    """
    groups = {}
    for host in hosts:
        instance = host.get("instance_id")
        if not instance:
            continue
        role = spec.get("role_arn") or host.get("role_arn") or None
        for region in [host["region"]] if host.get("region") else (spec.get("regions") or ["us-east-1"]):
            groups.setdefault((role, region), []).append(instance)
    return groups


def inspector2_clients(spec, groups):
    """[(instance ids, client)], one client per role and region, one assumed session per role."""
    base = aws.new_session(spec.get("access_key"), spec.get("secret_key"), spec.get("session_token"), spec.get("profile"))
    sessions, out = {None: base}, []
    for (role, region), ids in sorted(groups.items(), key=lambda item: (item[0][0] or "", item[0][1])):
        if role not in sessions:
            sessions[role] = aws.assume_role(base, role, "fleetpatch-findings", region,
                                             spec.get("sts_endpoint_url") or spec.get("endpoint_url"))
        out.append((ids, aws.client(sessions[role], "inspector2", region, spec.get("endpoint_url"))))
    return out


def read_inspector2(spec, hosts, statuses=None, clients=None, sleep=None):
    """Findings of the hosts' instances; `clients` [(region, client)] to use instead of building them (tests)."""
    groups = inspector2_groups(spec, hosts)
    if not groups:
        return []
    if clients is not None:
        ids = sorted(set(i for group in groups.values() for i in group))
        asks = [(ids, client) for _region, client in clients]
    else:
        asks = inspector2_clients(spec, groups)
    out = []
    for ids, client in asks:
        out.extend(inspector2_list(client, ids, statuses or spec.get("statuses") or ("ACTIVE",), sleep=sleep))
    return out


# -- Tenable Vulnerability Management (Tenable.io) vulns export ------------------------------------

def tenable_client(spec, sleep=time.sleep):
    keys = "accessKey=%s; secretKey=%s;" % (spec.get("access_key") or "", spec.get("secret_key") or "")
    return HttpClient(spec.get("url") or "https://cloud.tenable.com", validate_certs=spec.get("validate_certs", True),
                      ca_path=spec.get("ca_path"), timeout=spec.get("timeout", 60), sleep=sleep,
                      headers={"X-ApiKeys": keys})


def read_tenable_io(spec, hosts=None, client=None, sleep=time.sleep, clock=time.monotonic):
    client = client or tenable_client(spec, sleep)
    body = {"num_assets": int(spec.get("num_assets", 500)),
            "filters": {"state": list(spec.get("states") or ["OPEN", "REOPENED"])}}
    if spec.get("severities"):
        body["filters"]["severity"] = list(spec["severities"])
    started = client.post("/vulns/export", body, retry_server_errors=False)
    uuid = (started or {}).get("export_uuid")
    if not uuid:
        raise SourceError("POST /vulns/export answered without an export_uuid: %r" % (started,))
    deadline = clock() + float(spec.get("export_timeout", 600))
    fetched, out = set(), []
    while True:
        status = client.get("/vulns/export/%s/status" % uuid) or {}
        state = status.get("status")
        for chunk in status.get("chunks_available") or []:
            if chunk in fetched:
                continue
            vulns = client.get("/vulns/export/%s/chunks/%s" % (uuid, chunk))
            out.extend(findingslib.tenable_io_records(vulns or [], "vulns export %s chunk %s" % (uuid, chunk)))
            fetched.add(chunk)
        if state == "FINISHED":
            return out
        if state in ("CANCELLED", "ERROR"):
            raise SourceError("vulns export %s ended %s" % (uuid, state))
        if clock() > deadline:
            raise SourceError("vulns export %s still %s after %ss (export_timeout)" % (uuid, state, spec.get("export_timeout", 600)))
        sleep(float(spec.get("poll_interval", 5)))


# -- Tenable Security Center (Tenable.sc) analysis API ---------------------------------------------

def tenable_sc_client(spec, sleep=time.sleep):
    keys = "accesskey=%s; secretkey=%s;" % (spec.get("access_key") or "", spec.get("secret_key") or "")
    return HttpClient(spec["url"], validate_certs=spec.get("validate_certs", True), ca_path=spec.get("ca_path"),
                      timeout=spec.get("timeout", 60), sleep=sleep, headers={"x-apikey": keys})


def tenable_sc_records(results, where_from):
    out = []
    for index, vuln in enumerate(results):
        if not isinstance(vuln, dict) or not vuln.get("pluginID"):
            raise findingslib.FindingsError("%s: results[%d]: expected an object with pluginID" % (where_from, index))
        identity = {"ip": vuln.get("ip"), "fqdn": vuln.get("dnsName"), "name": vuln.get("netbiosName")}
        severity = vuln.get("severity")
        severity = findingslib.TENABLE_SEVERITY.get(str(severity.get("id"))) if isinstance(severity, dict) else severity
        cves = [c.strip() for c in (vuln.get("cve") or "").split(",") if c.strip()]
        packages = findingslib.tenable_packages(vuln.get("pluginText")) or [(None, None, None)]
        for cve in cves:
            for package, installed, fixed in packages:
                out.append(findingslib.record("tenable_sc", identity, cve, package, installed, fixed, severity,
                                              vuln.get("cvssV3BaseScore") or vuln.get("baseScore"), _epoch(vuln.get("firstSeen")),
                                              _epoch(vuln.get("lastSeen")), vuln["pluginID"]))
    return out


def _epoch(value):
    if value in (None, "", "0"):
        return None
    try:
        return datetime.fromtimestamp(int(value), timezone.utc).isoformat()
    except (TypeError, ValueError):
        return str(value)


def read_tenable_sc(spec, hosts=None, client=None, sleep=time.sleep):
    """Cumulative vulnerability details (POST /rest/analysis, tool vulndetails), paged by startOffset/endOffset."""
    client = client or tenable_sc_client(spec, sleep)
    page = int(spec.get("page_size", 1000))
    start, out = 0, []
    while True:
        body = {"type": "vuln", "sourceType": "cumulative",
                "query": {"type": "vuln", "tool": "vulndetails", "startOffset": start, "endOffset": start + page,
                          "filters": [{"filterName": "severity", "operator": "=", "value": "1,2,3,4"}]}}
        answer = client.post("/rest/analysis", body, retry_server_errors=True) or {}
        if answer.get("error_code"):
            raise SourceError("POST /rest/analysis: error %s: %s" % (answer["error_code"], answer.get("error_msg")))
        response = answer.get("response") or {}
        results = response.get("results") or []
        out.extend(tenable_sc_records(results, "analysis records %d-%d" % (start, start + len(results))))
        start += len(results)
        if not results or start >= int(response.get("totalRecords") or 0):
            return out


# -- Qualys host detection API ---------------------------------------------------------------------

DETECTION_PATH = "/api/2.0/fo/asset/host/vm/detection/"
KB_PATH = "/api/2.0/fo/knowledge_base/vuln/"


def qualys_client(spec, sleep=time.sleep):
    return HttpClient(spec["url"], username=spec.get("username"), password=spec.get("password"),
                      validate_certs=spec.get("validate_certs", True), ca_path=spec.get("ca_path"),
                      timeout=spec.get("timeout", 120), sleep=sleep,
                      headers={"X-Requested-With": "fleetpatch.hybrid", "Accept": "application/xml"})


def _qualys_get(client, path, query, sleep, attempts=5):
    # Qualys answers 409 when the account's concurrency limit is reached: wait and ask again
    for attempt in range(1, attempts + 1):
        try:
            return client.request("GET", path, query=query).body.decode("utf-8")
        except HttpError as exc:
            if exc.status != 409 or attempt == attempts:
                raise
            sleep(min(60.0, 2.0 ** attempt))
    raise SourceError("unreachable")  # pragma: no cover


def read_qualys(spec, hosts=None, client=None, sleep=time.sleep):
    client = client or qualys_client(spec, sleep)
    query = {"action": "list", "show_results": "1", "output_format": "XML",
             "truncation_limit": str(int(spec.get("truncation_limit", 1000))),
             "status": "New,Active,Re-Opened"}
    if hosts and spec.get("filter_by_ip", False):
        query["ips"] = ",".join(sorted(set(h["ip"] for h in hosts if isinstance(h.get("ip"), str))))
    pages, path = [], DETECTION_PATH
    for _page in range(int(spec.get("max_pages", 10000))):
        text = _qualys_get(client, path, query, sleep)
        pages.append(text)
        try:
            url = findingslib.qualys_warning_url(text)
        except findingslib.ET.ParseError as exc:
            raise SourceError("%s answered XML that is not well-formed: %s" % (DETECTION_PATH, exc))
        if not url:
            break
        parsed = urllib.parse.urlparse(url)
        path, query = parsed.path, dict(urllib.parse.parse_qsl(parsed.query))
    qids = set()
    for text in pages:
        root = findingslib.ET.fromstring(text.encode("utf-8"))
        qids.update((q.text or "").strip() for q in root.iter("QID"))
    knowledge = qualys_knowledge(client, sorted(q for q in qids if q), sleep)
    out = []
    for number, text in enumerate(pages, 1):
        out.extend(findingslib.parse_qualys_xml("host detection page %d" % number, text, knowledge))
    return out


def qualys_knowledge(client, qids, sleep, batch=500):
    """{QID: {cves, cvss}} from the KnowledgeBase (VULN/CVE_LIST/CVE/ID, CVSS_V3/BASE)."""
    out = {}
    for start in range(0, len(qids), batch):
        text = _qualys_get(client, KB_PATH, {"action": "list", "ids": ",".join(qids[start:start + batch])}, sleep)
        root = findingslib.ET.fromstring(text.encode("utf-8"))
        for vuln in root.iter("VULN"):
            qid = (vuln.findtext("QID") or "").strip()
            cves = [(c.findtext("ID") or "").strip() for c in vuln.iter("CVE")]
            out[qid] = {"cves": [c for c in cves if c], "cvss": vuln.findtext("CVSS_V3/BASE") or vuln.findtext("CVSS/BASE")}
    return out


# -- all sources -----------------------------------------------------------------------------------

def read_source(spec, hosts, sleep=time.sleep):
    kind = spec.get("type")
    if kind == "file":
        return findingslib.read_file(spec["path"], spec.get("format"))
    if kind == "inspector2":
        return read_inspector2(spec, hosts, sleep=sleep)
    if kind == "tenable_io":
        return read_tenable_io(spec, hosts, sleep=sleep)
    if kind == "tenable_sc":
        return read_tenable_sc(spec, hosts, sleep=sleep)
    if kind == "qualys":
        return read_qualys(spec, hosts, sleep=sleep)
    raise SourceError("type %r is not one of %s" % (kind, ", ".join(SOURCE_TYPES)))


def collect(specs, hosts, reader=read_source):
    """Read every source; match, de-duplicate and group the findings.

    Returns {by_host: {host: [findings]}, unmatched: [findings], unmatched_hosts: [...],
    errors: [{source, type, reason}], sources: [{source, type, findings}]}. A source that fails
    is reported in errors; the others still count.
    """
    index = findingslib.IdentityIndex(hosts)
    everything, errors, summary = [], [], []
    for spec in specs:
        name = source_name(spec)
        try:
            found = reader(spec, hosts)
        except (findingslib.FindingsError, SourceError, HttpError, aws.AwsError, ValueError, OSError) as exc:
            errors.append({"source": name, "type": spec.get("type"), "reason": str(exc)})
            continue
        findingslib.assign(found, index, spec.get("host"))
        everything.extend(found)
        summary.append({"source": name, "type": spec.get("type"), "findings": len(found)})
    merged = findingslib.dedupe(everything)
    by_host, unmatched = findingslib.by_host(merged)
    return {"by_host": by_host, "unmatched": unmatched, "unmatched_hosts": findingslib.unmatched_hosts(unmatched),
            "errors": errors, "sources": summary}
