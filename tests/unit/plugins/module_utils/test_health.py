"""Health checks against real local servers: HTTP, HTTPS (a self-signed CA made here) and TCP, on
127.0.0.1 ports from 5300 up, started and stopped by the fixtures."""

import datetime
import http.server
import socket
import ssl
import sys
import threading
import time

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import health


def free_port(start=5300, stop=5400):
    for port in range(start, stop):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in %d-%d" % (start, stop))


class Handler(http.server.BaseHTTPRequestHandler):
    hits = {}

    def do_GET(self):  # noqa: N802 (the http.server API)
        Handler.hits[self.path] = Handler.hits.get(self.path, 0) + 1
        if self.path == "/ok":
            self._send(200, b'{"status": "ok"}')
        elif self.path == "/degraded":
            self._send(200, b'{"status": "degraded"}')
        elif self.path == "/down":
            self._send(503, b"backend down")
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/ok")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/flaky":  # fails twice, then answers
            self._send(200 if Handler.hits[self.path] > 2 else 500, b"ok")
        elif self.path == "/slow":  # far longer than the 0.3 s timeout, so a loaded machine cannot blur the two
            time.sleep(5)
            self._send(200, b"late")
        else:
            self._send(404, b"no such page")

    def _send(self, status, body):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a client that timed out on /slow breaks the pipe; that is the test, not an error


def serve(server):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


@pytest.fixture(scope="module")
def web():
    server = QuietServer(("127.0.0.1", free_port()), Handler)
    serve(server)
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """An HTTPS server whose certificate (for 127.0.0.1) is signed by a CA made here, trusted by nobody."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fleetpatch test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    server = QuietServer(("127.0.0.1", free_port()), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(directory / "cert.pem"), str(directory / "key.pem"))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    serve(server)
    yield {"url": "https://127.0.0.1:%d" % server.server_address[1], "ca": str(directory / "ca.pem")}
    server.shutdown()
    server.server_close()


def check(**fields):
    fields.setdefault("retries", 0)
    fields.setdefault("delay", 0)
    fields.setdefault("timeout", 5)
    return health.normalize_check(fields)


@pytest.mark.parametrize("path, extra, ok, message", [
    ("/ok", {}, True, "HTTP 200"),
    ("/ok", {"body": r'"status":\s*"ok"'}, True, "HTTP 200"),
    ("/degraded", {"body": r'"status":\s*"ok"'}, False, "HTTP 200 but the body does not match"),
    ("/down", {}, False, "HTTP 503, expected 200"),
    ("/down", {"status": [200, 503]}, True, "HTTP 503"),
    ("/missing", {"status": 404}, True, "HTTP 404"),
    ("/redirect", {}, False, "HTTP 302, expected 200"),             # not followed unless asked
    ("/redirect", {"follow_redirects": True}, True, "HTTP 200"),
    ("/redirect", {"status": 302}, True, "HTTP 302"),
])
def test_http_check(web, path, extra, ok, message):
    result = health.run_check(check(type="http", url=web + path, use_proxy=False, **extra))
    assert result["ok"] is ok
    assert result["message"].startswith(message)
    assert result["attempts"] == 1


def test_http_check_retries_until_the_service_answers(web):
    naps = []
    result = health.run_check(check(type="http", url=web + "/flaky", use_proxy=False, retries=4, delay=7), sleep=naps.append)
    assert (result["ok"], result["attempts"], naps) == (True, 3, [7, 7])


def test_http_check_gives_up_after_its_retries(web):
    naps = []
    result = health.run_check(check(type="http", url=web + "/down", use_proxy=False, retries=2, delay=1), sleep=naps.append)
    assert (result["ok"], result["attempts"], naps) == (False, 3, [1, 1])
    assert result["details"]["status"] == 503


def test_http_check_timeout_bounds_an_attempt(web):
    started = time.monotonic()
    result = health.run_check(check(type="http", url=web + "/slow", use_proxy=False, timeout=0.3))
    assert not result["ok"]
    assert "timed out" in result["message"]
    assert time.monotonic() - started < 3.0     # the attempt was cut at its timeout, not left to the 5 s answer


@pytest.mark.parametrize("extra, ok, message", [
    ({}, False, "TLS certificate not trusted"),                    # verified by default: the CA is unknown
    ({"validate_certs": False}, True, "HTTP 200"),
    ({"ca_path": "CA"}, True, "HTTP 200"),                       # trusting the private CA
])
def test_https_check_verifies_certificates(tls, extra, ok, message):
    if extra.get("ca_path") == "CA":
        extra = {"ca_path": tls["ca"]}
    result = health.run_check(check(type="http", url=tls["url"] + "/ok", use_proxy=False, **extra))
    assert result["ok"] is ok, result
    assert result["message"].startswith(message)


def test_tcp_check_against_a_listening_and_a_closed_port():
    port = free_port()
    listener = socket.socket()
    listener.bind(("127.0.0.1", port))
    listener.listen(1)
    try:
        assert health.run_check(check(type="tcp", port=port))["ok"]
    finally:
        listener.close()
    result = health.run_check(check(type="tcp", port=port))
    assert not result["ok"]
    assert "cannot connect to 127.0.0.1:%d" % port in result["message"]


@pytest.mark.parametrize("fields, ok, message", [
    ({"argv": [sys.executable, "-c", "print('depth 3')"]}, True, "exit code 0"),
    ({"argv": [sys.executable, "-c", "print('depth 3')"], "stdout": r"depth [0-9]$"}, True, "exit code 0"),
    ({"argv": [sys.executable, "-c", "print('depth 300')"], "stdout": r"depth [0-9]$"}, False, "exit code 0 but the output"),
    ({"argv": [sys.executable, "-c", "import sys; sys.exit(3)"]}, False, "exit code 3, expected 0"),
    ({"argv": [sys.executable, "-c", "import sys; sys.exit(3)"], "rc": 3}, True, "exit code 3"),
    ({"cmd": "%s -c 'print(\"a b\")'" % sys.executable, "stdout": "^a b$"}, True, "exit code 0"),
    # no shell: a pipe is just an argument
    ({"cmd": "echo ok | false"}, True, "exit code 0"),
    ({"argv": ["/nonexistent/probe"]}, False, "exit code None"),
    ({"argv": [sys.executable, "-c", "import time; time.sleep(5)"], "timeout": 0.3}, False, "exit code None"),
])
def test_command_check(fields, ok, message):
    result = health.run_check(check(type="command", **fields))
    assert result["ok"] is ok, result
    assert result["message"].startswith(message)


SHOW_ACTIVE = "LoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\n"
SHOW_FAILED = "LoadState=loaded\nActiveState=failed\nSubState=failed\nUnitFileState=enabled\n"
SHOW_MISSING = "LoadState=not-found\nActiveState=inactive\nSubState=dead\nUnitFileState=\n"


@pytest.mark.parametrize("answer, state, ok, message", [
    ((0, SHOW_ACTIVE, ""), "active", True, "nginx is active (running)"),
    ((0, SHOW_FAILED, ""), "active", False, "nginx is failed (failed), expected active"),
    ((0, SHOW_FAILED, ""), "failed", True, "nginx is failed"),
    ((0, SHOW_MISSING, ""), "active", False, "unit nginx not found"),
    ((1, "", "System has not been booted with systemd"), "active", False, "systemctl show nginx failed (rc 1)"),
    ((None, "", "cannot run systemctl: No such file or directory"), "active", False, "systemctl show nginx failed"),
])
def test_service_check(answer, state, ok, message):
    calls = []

    def runner(argv, timeout):
        calls.append((argv, timeout))
        return answer

    result = health.run_check(check(type="service", service="nginx", state=state, timeout=4), runner=runner)
    assert result["ok"] is ok
    assert result["message"].startswith(message)
    assert calls == [(["systemctl", "show", "--property=LoadState,ActiveState,SubState,UnitFileState", "--", "nginx"], 4)]


@pytest.mark.parametrize("rc, text, expected", [
    (0, "active\n", (True, "active")),
    (3, "inactive\n", (False, "inactive")),
    (3, "failed\n", (False, "failed")),
    (0, "activating\n", (False, "activating")),
    (4, "", (False, "unknown")),
])
def test_parse_is_active(rc, text, expected):
    assert health.parse_is_active(rc, text) == expected


def test_parse_systemctl_show():
    assert health.parse_systemctl_show(SHOW_ACTIVE + "Description=A = B\n") == {
        "LoadState": "loaded", "ActiveState": "active", "SubState": "running", "UnitFileState": "enabled", "Description": "A = B"}


@pytest.mark.parametrize("checks, fragment", [
    ("web", "checks must be a list"),
    ([{"type": "ping"}], "checks[0].type 'ping' is not one of http, tcp, service, command"),
    ([{"type": "http"}], "checks[0].url must be an http:// or https:// URL"),
    ([{"type": "http", "url": "ftp://x"}], "checks[0].url must be"),
    ([{"type": "http", "url": "http://x", "status": "ok"}], "checks[0].status must be an HTTP status code"),
    ([{"type": "http", "url": "http://x", "status": 99}], "checks[0].status must hold HTTP status codes"),
    ([{"type": "http", "url": "http://x", "body": "("}], "checks[0].body must be a regular expression"),
    ([{"type": "http", "url": "http://x", "validate_certs": "maybe"}], "checks[0].validate_certs must be true or false"),
    ([{"type": "http", "url": "http://x", "verify": False}], "checks[0]: unknown field(s) verify for a http check"),
    ([{"type": "tcp", "port": 0}], "checks[0].port must be a TCP port"),
    ([{"type": "tcp", "port": "http"}], "checks[0].port must be a TCP port"),
    ([{"type": "service", "service": "nginx; reboot"}], "checks[0].service must be a systemd unit name"),
    ([{"type": "service", "service": "nginx", "state": "running"}], "checks[0].state 'running' is not one of"),
    ([{"type": "command"}], "checks[0] needs argv"),
    ([{"type": "command", "argv": ["a"], "cmd": "a"}], "give argv or cmd, not both"),
    ([{"type": "command", "cmd": "echo 'open"}], "checks[0].cmd cannot be split"),
    ([{"type": "command", "argv": ["a"], "rc": "0"}], "checks[0].rc must be the expected exit code"),
    ([{"type": "tcp", "port": 80, "timeout": 0}], "checks[0].timeout must be a number > 0"),
    ([{"type": "tcp", "port": 80, "retries": -1}], "checks[0].retries must be a number >= 0"),
    ([{"type": "tcp", "port": 80, "run_on": "somewhere"}], "checks[0].run_on 'somewhere'"),
    ([{"type": "tcp", "port": 80}, {"type": "tcp", "port": 80}], "checks[1].name 'tcp 127.0.0.1:80' is used twice"),
    (["tcp"], "checks[0] must be a dict"),
])
def test_normalize_rejects_bad_checks(checks, fragment):
    with pytest.raises(health.CheckError) as err:
        health.normalize_checks(checks)
    assert fragment in str(err.value)


def test_normalize_fills_defaults_and_names():
    checks = health.normalize_checks([{"type": "tcp", "port": "5432"}, {"type": "http", "url": "https://x/h", "retries": 5}],
                                     {"retries": 1, "delay": 0.5, "timeout": None})
    assert checks[0] == {"type": "tcp", "name": "tcp 127.0.0.1:5432", "host": "127.0.0.1", "port": 5432,
                         "retries": 1, "delay": 0.5, "timeout": 10, "run_on": "target"}
    assert (checks[1]["name"], checks[1]["retries"], checks[1]["validate_certs"], checks[1]["status"]) == (
        "http https://x/h", 5, True, [200])


def R(name, ok):  # noqa: N802
    return {"name": name, "ok": ok, "message": "m"}


@pytest.mark.parametrize("before, after, strict, passed, verdicts", [
    ([R("a", True)], [R("a", True)], False, True, {"a": "passing"}),
    ([R("a", True)], [R("a", False)], False, False, {"a": "regressed"}),
    ([R("a", False)], [R("a", False)], False, True, {"a": "already_failing"}),   # not blamed on the patch
    ([R("a", False)], [R("a", False)], True, False, {"a": "already_failing"}),   # unless strict
    ([R("a", False)], [R("a", True)], False, True, {"a": "recovered"}),
    ([], [R("a", False)], False, False, {"a": "failing"}),                       # no baseline: cannot clear the patch
    (None, [R("a", True)], False, True, {"a": "passing"}),
    ([R("a", True), R("b", False)], [R("a", True), R("b", False), R("c", True)], False, True,
     {"a": "passing", "b": "already_failing", "c": "passing"}),
])
def test_compare(before, after, strict, passed, verdicts):
    verdict = health.compare(before, after, strict=strict)
    assert verdict["passed"] is passed
    assert dict((c["name"], c["verdict"]) for c in verdict["checks"]) == verdicts
    for name, v in verdicts.items():
        assert name in verdict[v]
