"""A threaded HTTP server on 127.0.0.1 answering JSON or XML, with auth, injected faults and a request log."""

import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cr_servers.base import Fault, free_port


class ScannerServer(object):
    """Subclasses set ROUTES [(method, regex, handler name)] and authenticate(headers) -> bool.

    A handler returns (status, body[, headers]); a str body is sent as XML, anything else as JSON.
    """

    ROUTES = []
    BASE_PORT = 5600

    def __init__(self):
        self.port = free_port(self.BASE_PORT)
        self.faults = []
        self.log = []
        self.lock = threading.RLock()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def __enter__(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                server.dispatch(self)

            do_GET = do_POST = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def fail_next(self, method, path, status, times=1, retry_after=None):
        self.faults.append(Fault(method, path, status, times, retry_after))

    def calls(self, path=None):
        return [e for e in self.log if path is None or re.search(path, e["path"])]

    def dispatch(self, handler):
        parsed = urllib.parse.urlsplit(handler.path)
        query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        method, path = handler.command, parsed.path
        entry = {"method": method, "path": path, "query": query, "headers": dict(handler.headers.items()), "body": raw}
        status, body, headers = 404, {"error": "no such resource"}, {}
        with self.lock:
            self.log.append(entry)
            fault = next((f for f in self.faults if f.matches(method, path)), None)
            if fault is not None:
                fault.times -= 1
                status, body = fault.status, self.error(fault.status, "injected %s" % fault.status)
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(fault.retry_after)
            elif not self.authenticate(handler.headers):
                status, body = 401, self.error(401, "Invalid credentials")
            else:
                for route_method, pattern, name in self.ROUTES:
                    match = re.fullmatch(pattern, path)
                    if match and route_method == method:
                        result = getattr(self, name)(query, raw, handler.headers, *match.groups())
                        status, body = result[0], result[1]
                        headers.update(result[2] if len(result) > 2 else {})
                        break
        entry["status"] = status
        if isinstance(body, str):
            payload, kind = body.encode("utf-8"), "text/xml;charset=UTF-8"
        else:
            payload, kind = json.dumps(body).encode("utf-8"), "application/json"
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(payload)))
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(payload)

    def error(self, status, message):
        return {"statusCode": status, "error": message}
