"""A threaded JSON HTTP(S) server on 127.0.0.1 with routes, auth, injected faults and a request log."""

import base64
import json
import re
import socket
import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT_RANGE = (5200, 5999)


def free_port(start=5200):
    """A free TCP port on 127.0.0.1 at or above start (this repo's helpers use 5200 and up)."""
    for port in range(max(start, PORT_RANGE[0]), PORT_RANGE[1]):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in %s-%s" % PORT_RANGE)


class Request(object):
    def __init__(self, method, path, query, body, headers, user):
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.headers = headers
        self.user = user


class Fault(object):
    """Answer `status` to the next `times` requests matching method and path regex.

    apply_first: handle the request for real, then answer the fault (a write that was stored
    but whose answer was lost). retry_after: the Retry-After header of a 429.
    """

    def __init__(self, method, path, status, times=1, retry_after=None, apply_first=False):
        self.method = method
        self.path = re.compile(path)
        self.status = status
        self.times = times
        self.retry_after = retry_after
        self.apply_first = apply_first

    def matches(self, method, path):
        return self.times > 0 and method == self.method and self.path.search(path)


class ContractServer(object):
    """Subclasses define ROUTES [(method, regex, handler_name)] and authenticate(headers) -> user or None."""

    ROUTES = []

    def __init__(self, port=None, tls=None):
        self.port = port or free_port(self.BASE_PORT)
        self.tls = tls
        self.faults = []
        self.log = []
        self.lock = threading.RLock()
        self.httpd = None
        self.thread = None

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % ("https" if self.tls else "http", self.port)

    def start(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                server.dispatch(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.tls["cert"], self.tls["key"])
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
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

    def fail_next(self, method, path, status, times=1, retry_after=None, apply_first=False):
        self.faults.append(Fault(method, path, status, times, retry_after, apply_first))

    def calls(self, method=None, path=None):
        return [entry for entry in self.log if (method is None or entry["method"] == method)
                and (path is None or re.search(path, entry["path"]))]

    @staticmethod
    def basic_user(headers):
        value = headers.get("Authorization") or ""
        if value.startswith("Basic "):
            try:
                user, dummy, secret = base64.b64decode(value[6:]).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                return None, None
            return user, secret
        return None, None

    @staticmethod
    def bearer(headers):
        value = headers.get("Authorization") or ""
        return value[7:] if value.startswith("Bearer ") else None

    def dispatch(self, handler):
        parsed = urllib.parse.urlsplit(handler.path)
        path = urllib.parse.unquote(parsed.path)
        query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        method = handler.command
        entry = {"method": method, "path": path, "query": query, "time": time.monotonic(), "body": None}
        status, body, headers = 500, {"error": "unhandled"}, {}
        try:
            with self.lock:
                self.log.append(entry)
                if raw:
                    try:
                        entry["body"] = json.loads(raw.decode("utf-8"))
                    except ValueError:
                        status, body = 400, self.error_body("request body is not JSON")
                        return
                elif method in ("POST", "PUT", "PATCH"):
                    status, body = 400, self.error_body("request body is required")
                    return
                fault = next((f for f in self.faults if f.matches(method, path)), None)
                if fault is not None:
                    fault.times -= 1
                    if fault.apply_first:
                        self.route(method, path, query, entry["body"], handler.headers)
                    status, body = fault.status, self.error_body("injected %s" % fault.status)
                    if fault.retry_after is not None:
                        headers["Retry-After"] = str(fault.retry_after)
                    return
                status, body, headers = self.route(method, path, query, entry["body"], handler.headers)
        finally:
            entry["status"] = status
            payload = b"" if body is None else json.dumps(body).encode("utf-8")
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(payload)))
            for key, value in (headers or {}).items():
                handler.send_header(key, value)
            handler.end_headers()
            handler.wfile.write(payload)

    def route(self, method, path, query, body, headers):
        user = self.authenticate(headers)
        if user is None:
            return 401, self.error_body("authentication required", kind="auth"), {"WWW-Authenticate": 'Basic realm="test"'}
        for route_method, pattern, name in self.ROUTES:
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                result = getattr(self, name)(Request(method, path, query, body, headers, user), *match.groups())
                if len(result) == 2:
                    return result[0], result[1], {}
                return result
        return 404, self.error_body("no such resource: %s %s" % (method, path)), {}

    def error_body(self, message, kind=None):
        return {"error": message}
