"""A Tenable Security Center (Tenable.sc) stand-in for the analysis API.

Modelled on the Tenable.sc API documentation (docs.tenable.com, "Analysis" and "API Key Authorization"):
- auth: header ``x-apikey: accesskey=...; secretkey=...;``; 401 otherwise.
- POST /rest/analysis {type: vuln, sourceType: cumulative, query: {type: vuln, tool: vulndetails,
  startOffset, endOffset, filters}}; endOffset - startOffset at most 10,000 (else error 146); answers
  {type: regular, response: {totalRecords, returnedRecords, startOffset, endOffset, results}, error_code: 0,
  error_msg: ""}; totalRecords and the offsets are strings, as Tenable.sc writes them.
- each result: pluginID, severity {id, name}, ip, dnsName, netbiosName, cve (comma separated), pluginText,
  firstSeen, lastSeen (epoch seconds as strings), cvssV3BaseScore.
- 429 with Retry-After when rate limited (injected with fail_next).
"""

import json
import re

from .server import ScannerServer

KEYS_RE = re.compile(r"accesskey=([^;]+);\s*secretkey=([^;]+);?")


class TenableScServer(ScannerServer):
    BASE_PORT = 5630
    ROUTES = [("POST", r"/rest/analysis", "analysis")]

    def __init__(self, records, access_key="sc-ak", secret_key="sc-sk"):
        super(TenableScServer, self).__init__()
        self.records = records
        self.keys = (access_key, secret_key)

    def authenticate(self, headers):
        match = KEYS_RE.search(headers.get("x-apikey") or "")
        return bool(match) and match.groups() == self.keys

    def error(self, status, message):
        return {"type": "regular", "response": "", "error_code": 74 if status in (401, 403) else status, "error_msg": message}

    def analysis(self, query, raw, headers):
        try:
            body = json.loads(raw.decode("utf-8"))
            inner = body["query"]
            start, end = int(inner["startOffset"]), int(inner["endOffset"])
        except (ValueError, KeyError, TypeError):
            return 400, self.error(400, "Invalid analysis query")
        if body.get("type") != "vuln" or inner.get("tool") != "vulndetails":
            return 400, self.error(143, "Invalid tool")
        if end - start > 10000 or end < start:
            return 400, self.error(146, "Invalid offsets")
        page = self.records[start:end]
        return 200, {"type": "regular", "error_code": 0, "error_msg": "",
                     "response": {"totalRecords": str(len(self.records)), "returnedRecords": len(page),
                                  "startOffset": str(start), "endOffset": str(start + len(page)), "results": page}}
