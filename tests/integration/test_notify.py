"""playbooks/notify.yml end to end on localhost (connection local), against local stand-ins only.

E-mail goes to an aiosmtpd server, Slack and Teams posts to a local webhook receiver, SNS to our
own moto server on 127.0.0.1:5103 (a topic with an SQS queue subscribed, read back). Nothing
leaves the machine; no real SMTP relay, Slack, Teams or AWS account is used.
"""

import email
import email.policy
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from aiosmtpd import controller as aiosmtpd_controller  # requirements-test.txt
from cr_servers.base import free_port
from cr_servers.collection import ROOT, run_playbook
from fleetlib import own_moto

MOTO_PORT = 5103
PLAYBOOK = open(os.path.join(ROOT, "playbooks", "notify.yml")).read()
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_REGION": "us-east-1"}
GROUPS = [
    {"name": "web-prod", "owners": ["web@example.com"], "hosts": ["web-prod-1", "web-prod-2"],
     "window": {"start": "2026-11-29T02:00:00Z", "end": "2026-11-29T05:00:00Z", "expression": "cron(0 2 ? * SUN *)",
                "timezone": "UTC"},
     "patches": [{"name": "openssl", "candidate_version": "3.0.16-1~deb12u1", "cves": ["CVE-2024-12797"]}],
     "cves": ["CVE-2026-10001"], "cr_number": "CHG0001001"},
    {"name": "db-prod", "owners": ["dba@example.com"], "hosts": ["db-prod-1"], "window": {"start": "2026-11-30T02:00:00Z"}},
]


class Mailbox(object):
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append({"to": envelope.rcpt_tos, "subject": str(message["Subject"]),
                              "body": message.get_body(("plain",)).get_content()})
        return "250 OK"


@pytest.fixture
def smtp():
    box = Mailbox()
    controller = aiosmtpd_controller.Controller(box, hostname="127.0.0.1", port=free_port(5260))
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


@pytest.fixture
def webhooks():
    received, answers = [], {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append({"path": self.path, "json": json.loads(body), "type": self.headers.get("Content-Type")})
            status = answers.get(self.path, 200)
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port(5270)), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    server.received, server.answers = received, answers
    server.url = "http://127.0.0.1:%d" % server.server_address[1]
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def moto():
    """Our own moto server on 127.0.0.1:5103 (not the fleet's on 5000)."""
    with own_moto(MOTO_PORT) as url:
        yield url


def sns_queue(moto_url, topic):
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    sns = session.client("sns", endpoint_url=moto_url)
    sqs = session.client("sqs", endpoint_url=moto_url)
    arn = sns.create_topic(Name=topic)["TopicArn"]
    queue = sqs.create_queue(QueueName=topic + "-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)

    def read():
        found = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in found]
    return read


def play(tmp_path, extra, check=False):
    result = run_playbook(PLAYBOOK, tmp_path, extra, env=AWS_ENV, check=check)
    return result


def test_impending_notice_reaches_every_channel_once(tmp_path, smtp, webhooks, moto):
    inbox = sns_queue(moto, "patch-notices")
    extra = {
        "notify_kind": "impending", "notify_now": "2026-11-28T02:30:00Z", "notify_groups": GROUPS,
        "notify_channels": ["email", "sns", "slack", "teams"],
        "notify_email_host": "127.0.0.1", "notify_email_port": smtp.port, "notify_email_secure": "never",
        "notify_sns_topic": "patch-notices", "notify_sns_region": "us-east-1", "notify_sns_endpoint_url": moto,
        "notify_slack_webhook_url": webhooks.url + "/slack/T000/B000/secret",
        "notify_teams_webhook_url": webhooks.url + "/teams/secret",
    }
    result = play(tmp_path, extra)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "secret" not in result.stdout  # webhook URLs are secrets

    # Only web-prod is due (23.5 h ahead); db-prod (47.5 h) is skipped with the reason.
    assert "no impending notice for patch group db-prod: the window starts in 47.5 h" in result.stdout
    assert [m["to"] for m in smtp.messages] == [["web@example.com"]]
    mail = smtp.messages[0]
    assert mail["subject"] == "[patch night] web-prod: 2 host(s) patched in 23.5 h - CHG0001001"
    for text in ("2026-11-29T02:00:00Z -> 2026-11-29T05:00:00Z (cron(0 2 ? * SUN *) UTC)", "Change request:  CHG0001001",
                 "  - web-prod-1", "  - openssl=3.0.16-1~deb12u1", "CVEs the patches fix (2): CVE-2024-12797, CVE-2026-10001"):
        assert text in mail["body"]

    notes = inbox()
    assert len(notes) == 1 and notes[0]["Subject"] == mail["subject"] and "web-prod-2" in notes[0]["Message"]

    paths = [r["path"] for r in webhooks.received]
    assert paths == ["/slack/T000/B000/secret", "/teams/secret"]
    slack, teams = (r["json"] for r in webhooks.received)
    assert slack["text"] == mail["subject"] and "CVE-2024-12797" in slack["blocks"][1]["text"]["text"]
    card = teams["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard" and {"title": "Change", "value": "CHG0001001"} in card["body"][1]["facts"]


def test_result_notice_from_the_report_and_the_ledger(tmp_path, smtp):
    """After the night: outcomes from report.json, change numbers looked up in the run ledger."""
    ledger = tmp_path / "out" / "ledger.db"
    report = {"run_id": "run-7", "status": "finished", "hosts": [
        {"name": "web-prod-1", "patch_group": "web-prod", "status": "patched", "owner": "web@example.com",
         "cves_closed": ["CVE-2024-12797"], "cves_still_open": [], "patched": [{"name": "openssl"}]},
        {"name": "web-prod-2", "patch_group": "web-prod", "status": "failed", "reason": "validate: HTTP 500",
         "owner": "web@example.com", "cves_closed": [], "cves_still_open": ["CVE-2024-12797"], "patched": []},
    ]}
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "report.json").write_text(json.dumps(report))
    opened = run_playbook("""
- hosts: localhost
  gather_facts: false
  tasks:
    - fleetpatch.hybrid.change_request:
        ledger_path: %s
        run_id: run-7
        patch_group: web-prod
        state: implement
        hosts: [web-prod-1, web-prod-2]
""" % ledger, tmp_path)
    assert opened.returncode == 0, opened.stdout
    extra = {"notify_kind": "result", "fleetpatch_output_dir": str(tmp_path / "out"), "fleetpatch_run_id": "run-7",
             "notify_channels": ["email"], "notify_email_host": "127.0.0.1", "notify_email_port": smtp.port,
             "notify_email_secure": "never"}
    result = play(tmp_path, extra)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert mail["to"] == ["web@example.com"]
    assert mail["subject"] == "[patch night] web-prod: successful_issues (failed 1, patched 1)"
    assert "Change request:  CHG0001001" in mail["body"]
    assert "  - web-prod-2: failed (validate: HTTP 500)" in mail["body"]
    assert "CVEs still open (1): CVE-2024-12797" in mail["body"]


def test_a_refused_webhook_fails_the_play_without_showing_its_url(tmp_path, webhooks):
    webhooks.answers["/slack/secret"] = 500
    extra = {"notify_now": "2026-11-28T02:30:00Z", "notify_groups": GROUPS, "notify_channels": ["slack", "teams"],
             "notify_slack_webhook_url": webhooks.url + "/slack/secret", "notify_teams_webhook_url": webhooks.url + "/teams/x"}
    result = play(tmp_path, extra)
    assert result.returncode != 0
    assert "notices not sent: slack web-prod the webhook refused the post" in result.stdout
    assert "/slack/secret" not in result.stdout + result.stderr
    assert [r["path"] for r in webhooks.received] == ["/slack/secret", "/teams/x"]  # Teams still got its notice


def test_users_point_to_their_own_template(tmp_path, webhooks):
    template = tmp_path / "mine.j2"
    template.write_text("PATCHING {{ notify_group.name | upper }} ({{ notify_group.cr_number }})\n"
                        "{{ notify_group.hosts | join(' ') }}\n")
    extra = {"notify_now": "2026-11-28T02:30:00Z", "notify_groups": GROUPS, "notify_channels": ["slack"],
             "notify_slack_webhook_url": webhooks.url + "/s", "notify_impending_template": str(template)}
    result = play(tmp_path, extra)
    assert result.returncode == 0, result.stdout
    assert webhooks.received[0]["json"]["text"] == "PATCHING WEB-PROD (CHG0001001)"
    assert webhooks.received[0]["json"]["blocks"][1]["text"]["text"] == "```web-prod-1 web-prod-2```"


def test_check_mode_sends_nothing(tmp_path, webhooks, smtp):
    extra = {"notify_now": "2026-11-28T02:30:00Z", "notify_groups": GROUPS, "notify_channels": ["email", "slack"],
             "notify_email_host": "127.0.0.1", "notify_email_port": smtp.port, "notify_email_secure": "never",
             "notify_slack_webhook_url": webhooks.url + "/s"}
    result = play(tmp_path, extra, check=True)
    assert result.returncode == 0, result.stdout
    assert webhooks.received == [] and smtp.messages == []
