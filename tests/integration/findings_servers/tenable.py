"""A Tenable Vulnerability Management (Tenable.io) stand-in for the vulns export API.

Modelled on Tenable's developer documentation (developer.tenable.com, "Export vulnerabilities"):
- auth: header ``X-ApiKeys: accessKey=...; secretKey=...;``; 401 otherwise.
- POST /vulns/export with a JSON body: num_assets (50..5000; else 400), filters (state, severity,
  ...); answers {"export_uuid": ...}.
- GET /vulns/export/{uuid}/status: {uuid, status: QUEUED | PROCESSING | FINISHED | CANCELLED |
  ERROR, chunks_available: [...], total_chunks, ...}; chunks become available one per status call
  here, FINISHED once all are; unknown uuid 404.
- GET /vulns/export/{uuid}/chunks/{chunk_id}: a JSON array of vulnerability objects (asset, plugin,
  output, severity, state, first_found, last_found); a chunk not yet available 404.
- 429 with Retry-After when rate limited (injected with fail_next).
"""

import itertools
import json
import re

from .server import ScannerServer

KEYS_RE = re.compile(r"accessKey=([^;]+);\s*secretKey=([^;]+);?")


class TenableServer(ScannerServer):
    BASE_PORT = 5610
    ROUTES = [
        ("POST", r"/vulns/export", "start"),
        ("GET", r"/vulns/export/([0-9a-f-]+)/status", "status"),
        ("GET", r"/vulns/export/([0-9a-f-]+)/chunks/(\d+)", "chunk"),
    ]

    def __init__(self, chunks, access_key="ak-test", secret_key="sk-test"):
        super(TenableServer, self).__init__()
        self.chunks = chunks  # [[vuln, ...], ...]
        self.keys = (access_key, secret_key)
        self.exports = {}
        self.ids = itertools.count(1)
        self.end_state = "FINISHED"

    def authenticate(self, headers):
        match = KEYS_RE.search(headers.get("X-ApiKeys") or "")
        return bool(match) and match.groups() == self.keys

    def start(self, query, raw, headers):
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            return 400, self.error(400, "Invalid JSON")
        num = body.get("num_assets", 50)
        if not isinstance(num, int) or not 50 <= num <= 5000:
            return 400, self.error(400, "num_assets must be between 50 and 5000")
        uuid = "00000000-0000-4000-8000-%012d" % next(self.ids)
        self.exports[uuid] = {"filters": body.get("filters") or {}, "available": 0, "status": "QUEUED"}
        return 200, {"export_uuid": uuid}

    def status(self, query, raw, headers, uuid):
        export = self.exports.get(uuid)
        if export is None:
            return 404, self.error(404, "Export not found")
        if export["status"] == "QUEUED":
            export["status"] = "PROCESSING"
        else:
            export["available"] = min(len(self.chunks), export["available"] + 1)
            if export["available"] == len(self.chunks):
                export["status"] = self.end_state
        return 200, {"uuid": uuid, "status": export["status"], "chunks_available": list(range(1, export["available"] + 1)),
                     "total_chunks": len(self.chunks), "filters": export["filters"], "num_assets_per_chunk": 50}

    def chunk(self, query, raw, headers, uuid, number):
        export = self.exports.get(uuid)
        number = int(number)
        if export is None or not 1 <= number <= export["available"]:
            return 404, self.error(404, "Chunk not found")
        states = set(export["filters"].get("state") or ["OPEN", "REOPENED"])
        return 200, [v for v in self.chunks[number - 1] if v.get("state", "OPEN") in states]
