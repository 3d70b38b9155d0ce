"""health_check's main() against a real local HTTP server (127.0.0.1, port from 5350 up) and real commands."""

import http.server
import json
import socket
import sys
import threading

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.fleetpatch.hybrid.plugins.modules import health_check


class Handler(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):  # noqa: N802 (the http.server API)
        body = b"ok" if Handler.status == 200 else b"bad gateway"
        self.send_response(Handler.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def url():
    for port in range(5350, 5400):
        try:
            server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
            break
        except OSError:
            continue
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d/health" % server.server_address[1]
    server.shutdown()
    server.server_close()


def run(args, capsys):
    with patch_module_args(args), pytest.raises(SystemExit) as exit_:
        health_check.main()
    return exit_.value.code, json.loads(capsys.readouterr().out)


def checks(url):
    return [{"name": "web", "type": "http", "url": url, "body": "^ok$", "use_proxy": False},
            {"name": "queue", "type": "command", "argv": [sys.executable, "-c", "print(3)"], "stdout": "^3$"},
            {"name": "legacy", "type": "command", "argv": [sys.executable, "-c", "import sys; sys.exit(2)"]}]


def test_before_and_after_blames_only_what_the_patch_broke(url, capsys):
    Handler.status = 200
    code, before = run({"checks": checks(url), "retries": 0, "delay": 0}, capsys)
    assert code == 0
    assert [(r["name"], r["ok"]) for r in before["results"]] == [("web", True), ("queue", True), ("legacy", False)]
    assert (before["passed"], before["failed_checks"], before["changed"]) == (False, ["legacy"], False)

    Handler.status = 502      # the patch broke the web service
    code, after = run({"checks": checks(url), "retries": 1, "delay": 0, "before": before["results"]}, capsys)
    assert code == 0
    assert after["passed"] is False
    assert after["verdict"]["regressed"] == ["web"]
    assert after["verdict"]["already_failing"] == ["legacy"]        # failed before the patch: not its fault
    assert after["verdict"]["blocking"] == ["web"]
    assert after["results"][0]["attempts"] == 2
    assert after["results"][0]["message"] == "HTTP 502, expected 200"

    Handler.status = 200      # rolled back: healthy again, the legacy check still failing as before
    code, again = run({"checks": checks(url), "retries": 0, "delay": 0, "before": before["results"]}, capsys)
    assert (code, again["passed"], again["verdict"]["blocking"]) == (0, True, [])


def test_fail_on_unhealthy_fails_the_task_with_the_names(url, capsys):
    Handler.status = 502
    code, out = run({"checks": checks(url)[:1], "retries": 0, "fail_on_unhealthy": True}, capsys)
    assert code == 1
    assert out["msg"] == "unhealthy: web"
    assert out["results"][0]["ok"] is False


def test_check_mode_still_checks(url, capsys):
    Handler.status = 200
    code, out = run({"checks": checks(url)[:1], "retries": 0, "_ansible_check_mode": True}, capsys)
    assert (code, out["passed"], out["changed"]) == (0, True, False)


def test_closed_port_fails_fast(capsys):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, out = run({"checks": [{"type": "tcp", "port": port, "retries": 0}]}, capsys)
    assert code == 0
    assert out["failed_checks"] == ["tcp 127.0.0.1:%d" % port]


@pytest.mark.parametrize("args, fragment", [
    ({"checks": [{"type": "http"}]}, "checks[0].url must be an http:// or https:// URL"),
    ({"checks": [{"type": "tcp", "port": 80}], "before": [{"ok": True}]}, "before[0] must be a result of this module"),
    ({"checks": [{"type": "tcp", "port": 80}], "retries": -1}, "checks[0].retries must be a number >= 0"),
])
def test_bad_input_is_one_clear_error(args, fragment, capsys):
    code, out = run(args, capsys)
    assert code == 1
    assert fragment in out["msg"]
    assert "Traceback" not in out["msg"]
