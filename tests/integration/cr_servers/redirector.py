"""Stand-ins for a hostile or misconfigured service: one that redirects, one that records what it got.

Redirector answers every request with `status` and a Location of `target` + the request's path and
query (a ServiceNow instance moved behind an SSO host, or a planted 302). Recorder answers 200
{"result": []} (or `status` with `body`) and keeps each request's method, path and headers, so a test
can say which credentials reached it.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .base import free_port


class _Server(object):
    BASE_PORT = 5600

    def __init__(self, port=None):
        self.port = port or free_port(self.BASE_PORT)
        self.log = []
        self.httpd = None
        self.thread = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def answer(self, handler):
        raise NotImplementedError

    def start(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.log.append({"method": self.command, "path": self.path, "headers": dict(self.headers.items()),
                                   "body": body})
                status, headers, payload = server.answer(self)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Redirector(_Server):
    """target None: redirect within the same origin, to /moved/<path>, which answers 200."""

    def __init__(self, target=None, status=302, port=None):
        super(Redirector, self).__init__(port)
        self.target = target.rstrip("/") if target else None
        self.status = status

    def answer(self, handler):
        if self.target is None:
            if handler.path.startswith("/moved/"):
                return 200, {"Content-Type": "application/json"}, b'{"result": []}'
            return self.status, {"Location": self.url + "/moved" + handler.path}, b"moved"
        return self.status, {"Location": self.target + handler.path, "Content-Type": "text/plain"}, b"moved"


class Recorder(_Server):
    BASE_PORT = 5650

    def __init__(self, status=200, body=None, port=None):
        super(Recorder, self).__init__(port)
        self.status = status
        self.body = body

    def answer(self, handler):
        if callable(self.body):
            payload = self.body(handler)
        else:
            payload = self.body if self.body is not None else {"result": []}
        if not isinstance(payload, bytes):
            payload = json.dumps(payload).encode("utf-8")
        return self.status, {"Content-Type": "application/json"}, payload

    def authorizations(self):
        return [entry["headers"].get("Authorization") for entry in self.log]
