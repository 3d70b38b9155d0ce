"""A Qualys VMDR stand-in for the host detection and KnowledgeBase APIs (API v2, XML).

Modelled on the Qualys API (VM, PC) User Guide:
- auth: HTTP basic; every request needs the X-Requested-With header (else 400 with a
  SIMPLE_RETURN error); a wrong password answers 401.
- GET /api/2.0/fo/asset/host/vm/detection/?action=list: HOST_LIST_VM_DETECTION_OUTPUT, hosts sorted
  by ID; truncation_limit hosts per answer, the rest announced by RESPONSE/WARNING (CODE 1980)
  whose URL carries id_min for the next page; show_results=1 adds RESULTS; status filters the
  detections (New, Active, Re-Opened, Fixed).
- GET /api/2.0/fo/knowledge_base/vuln/?action=list&ids=...: KNOWLEDGE_BASE_VULN_LIST_OUTPUT with each
  VULN's QID, CVE_LIST/CVE/ID and CVSS_V3/BASE.
- concurrency and rate limits: 409 (concurrency limit) and 429 with Retry-After, injected with fail_next.
"""

from xml.sax.saxutils import escape

from .server import ScannerServer

DETECTION = "/api/2.0/fo/asset/host/vm/detection/"
KB = "/api/2.0/fo/knowledge_base/vuln/"


class QualysServer(ScannerServer):
    BASE_PORT = 5620
    ROUTES = [("GET", DETECTION, "detections"), ("GET", KB, "kb_list")]

    def __init__(self, hosts, knowledge, username="qapi", password="qsecret"):
        super(QualysServer, self).__init__()
        self.hosts = sorted(hosts, key=lambda h: int(h["id"]))  # [{id, ip, dns, ec2, detections: [{qid, severity, status, results}]}]
        self.knowledge = knowledge  # {qid: {cves, cvss}}
        self.credentials = (username, password)

    def authenticate(self, headers):
        from cr_servers.base import ContractServer
        return ContractServer.basic_user(headers) == self.credentials

    def error(self, status, message):
        return ("<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<SIMPLE_RETURN><RESPONSE><CODE>%d</CODE><TEXT>%s</TEXT>"
                "</RESPONSE></SIMPLE_RETURN>" % (status, escape(message)))

    def _simple(self, code, text):
        return 400, self.error(code, text)

    def detections(self, query, raw, headers):
        if not headers.get("X-Requested-With"):
            return self._simple(1901, "Missing X-Requested-With header")
        if query.get("action") != "list":
            return self._simple(1903, "Missing required parameter action")
        limit = int(query.get("truncation_limit", "1000") or 0)
        id_min = int(query.get("id_min", "0"))
        wanted = set((query.get("status") or "New,Active,Re-Opened,Fixed").split(","))
        hosts = [h for h in self.hosts if int(h["id"]) >= id_min]
        page, rest = (hosts[:limit], hosts[limit:]) if limit else (hosts, [])
        parts = ["<?xml version=\"1.0\" encoding=\"UTF-8\" ?>", "<HOST_LIST_VM_DETECTION_OUTPUT><RESPONSE>",
                 "<DATETIME>2026-12-04T01:00:00Z</DATETIME><HOST_LIST>"]
        for host in page:
            parts.append("<HOST><ID>%s</ID><IP>%s</IP><TRACKING_METHOD>QAGENT</TRACKING_METHOD>" % (host["id"], host["ip"]))
            if host.get("dns"):
                parts.append("<DNS><![CDATA[%s]]></DNS>" % host["dns"])
            if host.get("ec2"):
                parts.append("<EC2_INSTANCE_ID><![CDATA[%s]]></EC2_INSTANCE_ID>" % host["ec2"])
            parts.append("<DETECTION_LIST>")
            for det in host["detections"]:
                if det["status"] not in wanted:
                    continue
                parts.append("<DETECTION><QID>%s</QID><TYPE>Confirmed</TYPE><SEVERITY>%s</SEVERITY><STATUS>%s</STATUS>"
                             % (det["qid"], det["severity"], det["status"]))
                if query.get("show_results") == "1" and det.get("results"):
                    parts.append("<RESULTS><![CDATA[%s]]></RESULTS>" % det["results"])
                parts.append("<FIRST_FOUND_DATETIME>2026-11-01T00:00:00Z</FIRST_FOUND_DATETIME></DETECTION>")
            parts.append("</DETECTION_LIST></HOST>")
        parts.append("</HOST_LIST>")
        if rest:
            nxt = dict(query, id_min=rest[0]["id"])
            url = self.url + DETECTION + "?" + "&amp;".join("%s=%s" % kv for kv in sorted(nxt.items()))
            parts.append("<WARNING><CODE>1980</CODE><TEXT>%d record limit exceeded. Use URL to get next batch of results."
                         "</TEXT><URL><![CDATA[%s]]></URL></WARNING>" % (limit, url.replace("&amp;", "&")))
        parts.append("</RESPONSE></HOST_LIST_VM_DETECTION_OUTPUT>")
        return 200, "".join(parts)

    def kb_list(self, query, raw, headers):
        if not headers.get("X-Requested-With"):
            return self._simple(1901, "Missing X-Requested-With header")
        parts = ["<?xml version=\"1.0\" encoding=\"UTF-8\" ?>", "<KNOWLEDGE_BASE_VULN_LIST_OUTPUT><RESPONSE><VULN_LIST>"]
        for qid in (query.get("ids") or "").split(","):
            known = self.knowledge.get(qid)
            if not known:
                continue
            parts.append("<VULN><QID>%s</QID><VULN_TYPE>Vulnerability</VULN_TYPE><CVE_LIST>" % qid)
            for cve in known["cves"]:
                parts.append("<CVE><ID><![CDATA[%s]]></ID><URL><![CDATA[https://nvd.nist.gov/vuln/detail/%s]]></URL></CVE>" % (cve, cve))
            parts.append("</CVE_LIST><CVSS_V3><BASE>%s</BASE></CVSS_V3></VULN>" % known.get("cvss", ""))
        parts.append("</VULN_LIST></RESPONSE></KNOWLEDGE_BASE_VULN_LIST_OUTPUT>")
        return 200, "".join(parts)
