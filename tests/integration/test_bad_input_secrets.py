"""Secrets never leave, end to end: playbooks/notify.yml at -vvvv against local stand-ins (issue #14, part B).

A STARTTLS relay with a certificate from a throwaway CA and a login (aiosmtpd), a relay that offers
AUTH but no STARTTLS (a socket server recording every byte), and a webhook receiver; every line
ansible-playbook prints at -vvvv is searched for the webhook URLs' secret parts and the password.
No real mail relay, Slack or Teams is used.
"""

import base64
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cr_servers.base import free_port
from cr_servers.collection import ROOT, run_playbook
from cr_servers.tls import make_ca_and_server_cert
from smtp_relays import ClearRelay, TlsRelay

PLAYBOOK = open(os.path.join(ROOT, "playbooks", "notify.yml")).read()
PASSWORD = "relay-password-9"
NOW = "2026-11-28T02:30:00Z"


def groups(webhooks):
    return [
        {"name": "web-prod", "owners": ["web@example.com"], "hosts": ["web-prod-1"],
         "window": {"start": "2026-11-29T02:00:00Z", "end": "2026-11-29T05:00:00Z"}, "cr_number": "CHG0001001",
         "slack_webhook_url": webhooks.url + "/slack/T0WEB/B0WEB/webgroupsecret"},
        {"name": "db-prod", "owners": ["dba@example.com"], "hosts": ["db-prod-1"],
         "window": {"start": "2026-11-29T03:00:00Z"}, "teams_webhook_url": webhooks.url + "/teams/dbgroupsecret"},
    ]


@pytest.fixture
def webhooks():
    received, answers = [], {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append({"path": self.path, "json": json.loads(body)})
            self.send_response(answers.get(self.path, 200))
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port(5275)), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    server.received, server.answers = received, answers
    server.url = "http://127.0.0.1:%d" % server.server_address[1]
    yield server
    server.shutdown()
    server.server_close()


def secrets_in(text):
    found = [s for s in ("webgroupsecret", "dbgroupsecret", "defaultslacksecret", "defaultteamssecret", PASSWORD,
                         base64.b64encode(b"\0fleetpatch\0" + PASSWORD.encode()).decode()) if s in text]
    return found


@pytest.mark.parametrize("refused", [False, True], ids=["delivered", "webhook_refused"])
def test_nothing_secret_is_printed_at_vvvv(tmp_path, webhooks, refused):
    paths = make_ca_and_server_cert(str(tmp_path))
    if refused:
        webhooks.answers["/slack/T0WEB/B0WEB/webgroupsecret"] = 500
    with TlsRelay(paths, password=PASSWORD) as relay:
        extra = {"notify_now": NOW, "notify_force": True, "notify_channels": ["email", "slack", "teams"],
                 "notify_email_host": "127.0.0.1", "notify_email_port": relay.port, "notify_email_username": "fleetpatch",
                 "notify_email_ca_path": paths["ca"]}
        # Secrets come from a vars file (a vault in real use): ansible-playbook -vvvv itself prints a
        # command line's -e values, and the process list shows them to every local user.
        secrets = tmp_path / "secrets.json"
        secrets.write_text(json.dumps({
            "notify_groups": groups(webhooks), "notify_email_password": PASSWORD,
            "notify_slack_webhook_url": webhooks.url + "/slack/T0/B0/defaultslacksecret",
            "notify_teams_webhook_url": webhooks.url + "/teams/defaultteamssecret"}))
        result = run_playbook(PLAYBOOK, tmp_path, extra, args=["-e", "@%s" % secrets, "-vvvv"])
    output = result.stdout + result.stderr
    assert "TASK [fleetpatch.hybrid.notify : Post the notices to the Slack webhook]" in output  # it ran, verbosely
    assert len(output) > 20000
    assert secrets_in(output) == []
    # each group's own webhook, else the default; e-mail over TLS with the login
    assert sorted(r["path"] for r in webhooks.received) == sorted([
        "/slack/T0WEB/B0WEB/webgroupsecret", "/slack/T0/B0/defaultslacksecret", "/teams/defaultteamssecret",
        "/teams/dbgroupsecret"])
    assert relay.logins == [("fleetpatch", True, True), ("fleetpatch", True, True)]
    assert sorted(m["to"][0] for m in relay.messages) == ["dba@example.com", "web@example.com"]
    if refused:
        assert result.returncode != 0
        assert "notices not sent: slack web-prod the webhook refused the post (details hidden" in output
    else:
        assert result.returncode == 0, output[-3000:]


def test_a_relay_without_starttls_fails_the_notice_and_gets_no_password(tmp_path):
    """The role's default (secure: starttls) against the relay that got a password in clear from `secure: try`."""
    with ClearRelay() as relay:
        extra = {"notify_now": NOW, "notify_force": True, "notify_groups": groups(type("W", (), {"url": "http://127.0.0.1:9"})),
                 "notify_channels": ["email"], "notify_email_host": "127.0.0.1", "notify_email_port": relay.port,
                 "notify_email_username": "fleetpatch"}
        secrets = tmp_path / "secrets.json"
        secrets.write_text(json.dumps({"notify_email_password": PASSWORD}))
        result = run_playbook(PLAYBOOK, tmp_path, extra, args=["-e", "@%s" % secrets, "-vvvv"])
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "offers no STARTTLS: nothing was sent (no password, no notice)" in output
    wire = relay.received.upper()
    assert wire.startswith(b"EHLO") and b"AUTH" not in wire and b"MAIL FROM" not in wire
    assert [s for s in secrets_in(output + relay.received.decode("latin-1")) if "secret" not in s] == []  # the password


@pytest.mark.parametrize("secure", ["try", "always"])
def test_the_old_fallback_values_are_refused_by_the_role(tmp_path, secure):
    extra = {"notify_now": NOW, "notify_groups": [], "notify_channels": ["email"], "notify_email_secure": secure}
    result = run_playbook(PLAYBOOK, tmp_path, extra)
    assert result.returncode != 0
    assert "notify_email_secure" in result.stdout and "starttls, tls, never" in result.stdout
