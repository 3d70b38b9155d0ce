"""fleetpatch_state_url on S3: module_utils/run_state.py through module_utils/aws.py and boto3 to a moto
server over HTTP (moto 5.2 implements PutObject If-None-Match: * and If-Match, which the claim and the
ledger writes rely on). Also the run_state action in a playbook on localhost. No local test host needed.
"""

import json
import os
import socket
import sqlite3
import subprocess
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from fleetlib import own_moto

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import aws
from ansible_collections.fleetpatch.hybrid.plugins.module_utils import run_state as rs
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ledger import Ledger

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
PORT = 5113
ENDPOINT = "http://127.0.0.1:%d" % PORT
BUCKET = "patching-state"
T0 = rs.parse_time("2026-12-04T02:00:00+00:00")


def port_open(port):
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def moto(monkeypatch_module):
    with own_moto(PORT):
        for key, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                           ("AWS_DEFAULT_REGION", "us-east-1"), ("AWS_ENDPOINT_URL_S3", ENDPOINT)):
            monkeypatch_module.setenv(key, value)
        boto3.client("s3", region_name="us-east-1", endpoint_url=ENDPOINT).create_bucket(Bucket=BUCKET)
        yield ENDPOINT


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def night(tmp_path, work, run_id="run-s3"):
    client = aws.client(aws.new_session(), "s3", "us-east-1", ENDPOINT)
    url = "s3://%s/nights" % BUCKET
    return rs.RunState(rs.S3Store(aws, client, BUCKET, "nights"), run_id, str(tmp_path / work), url)


def objects(prefix):
    answer = boto3.client("s3", region_name="us-east-1", endpoint_url=ENDPOINT).list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(item["Key"] for item in answer.get("Contents", []))


def test_resume_on_a_new_runner_and_a_concurrent_night_refused(tmp_path, moto):
    first = night(tmp_path, "runner-1")
    assert first.open("AWX job 1", now=T0)["resumed"] is False
    with Ledger(first.paths()[rs.LEDGER]) as ledger:
        ledger.start_run("run-s3")
        ledger.record_phase("run-s3", "web-1", "scan", "ok")
    first.sync(now=T0 + timedelta(minutes=1))
    assert objects("nights/run-s3/") == ["nights/run-s3/claim.json", "nights/run-s3/ledger.db"]

    # a second night while the first is alive: refused at open, naming the first
    with pytest.raises(rs.StateError) as err:
        night(tmp_path, "runner-2").open("AWX job 2", now=T0 + timedelta(minutes=2))
    assert "run run-s3 is held by another night (AWX job 1)" in str(err.value)

    # the first job is killed; the operator takes over on a new, empty runner: the ledger comes back
    second = night(tmp_path, "runner-3")
    opened = second.open("AWX job 3", now=T0 + timedelta(minutes=3), takeover=True)
    assert opened["resumed"] is True and opened["took_over"]["holder"] == "AWX job 1"
    conn = sqlite3.connect(second.paths()[rs.LEDGER])
    assert conn.execute("SELECT host, phase, status FROM host_phases").fetchall() == [("web-1", "scan", "ok")]
    conn.close()

    # the old night comes back to life: its next write is refused, and S3 keeps the new night's claim
    with pytest.raises(rs.StateError, match="this night no longer holds run run-s3 at s3://patching-state/nights: "
                                            "AWX job 3 claimed it"):
        first.sync(now=T0 + timedelta(minutes=4))
    report = {"run_id": "run-s3", "hosts": [{"name": "web-1", "status": "patched", "patch_group": "web",
                                             "patched": [{"name": "fp-openssl", "to": "1.0-2"}], "cves_closed": []}]}
    second.sync(now=T0 + timedelta(minutes=5), report=report, manifest=rs.manifest_entries(report), finish=True)
    assert objects("nights/run-s3/") == ["nights/run-s3/claim.json", "nights/run-s3/ledger.db",
                                         "nights/run-s3/manifest.json", "nights/run-s3/report.json"]
    # a finished run is free at once; the Prod night reads Dev's manifest from there
    assert night(tmp_path, "runner-4").open("AWX job 4", now=T0 + timedelta(minutes=6))["took_over"] is None
    fetched = night(tmp_path, "prod", run_id="run-s3").fetch([rs.MANIFEST])
    with open(fetched[rs.MANIFEST]) as handle:
        assert json.load(handle) == [{"name": "fp-openssl", "version": "1.0-2"}]


def test_two_nights_claiming_at_once_one_wins(tmp_path, moto):
    """Both read "no claim" and create it with If-None-Match: *; S3 (moto) lets one through."""
    a, b = night(tmp_path, "a", run_id="run-race"), night(tmp_path, "b", run_id="run-race")
    store = a.store
    assert store.get("run-race/claim.json") == (None, None)
    store.put("run-race/claim.json", b"{}", if_none_match=True)
    with pytest.raises(rs.Conflict):
        b.store.put("run-race/claim.json", b"{}", if_none_match=True)
    body, etag = store.get("run-race/claim.json")
    store.put("run-race/claim.json", b'{"x": 1}', if_match=etag)
    with pytest.raises(rs.Conflict):
        store.put("run-race/claim.json", b'{"x": 2}', if_match=etag)        # a stale ETag


def test_the_run_state_action_in_a_playbook(tmp_path, moto):
    playbook = tmp_path / "state.yml"
    playbook.write_text("""
- hosts: localhost
  gather_facts: false
  tasks:
    - fleetpatch.hybrid.run_state: {url: "s3://%(bucket)s/pb", run_id: run-pb, action: open, workdir: "%(work)s"}
      register: opened
    - fleetpatch.hybrid.patch_ledger: {path: "{{ opened.paths['ledger.db'] }}", run_id: run-pb, action: start_run}
    - fleetpatch.hybrid.run_state: {url: "s3://%(bucket)s/pb", run_id: run-pb, workdir: "%(work)s"}
      register: synced
    - ansible.builtin.assert:
        that: synced.written == ['s3://%(bucket)s/pb/run-pb/ledger.db']
""" % {"bucket": BUCKET, "work": tmp_path / "work"})
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ["PATH"], ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_NOCOLOR="1")
    run = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    again = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode != 0
    assert "run_state: run run-pb is held by another night (ansible-playbook on" in " ".join(again.stdout.split())


def test_a_result_notice_reads_the_kept_report_on_a_runner_without_it(tmp_path, moto):
    """playbooks/notify.yml with fleetpatch_state_url and the run id only: the report and ledger come from S3."""
    kept = night(tmp_path, "night", run_id="run-notice")
    kept.open("AWX job 7", now=T0)
    with Ledger(kept.paths()[rs.LEDGER]) as ledger:
        ledger.start_run("run-notice")
    report = {"run_id": "run-notice", "status": "finished", "hosts": [
        {"name": "web-1", "status": "patched", "patch_group": "web", "patched": [], "cves_closed": ["CVE-2026-1"]}],
        "change_requests": []}
    kept.sync(now=T0, report=report, finish=True)
    received = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0))))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ["PATH"], ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_NOCOLOR="1")
    extra = {"notify_kind": "result", "notify_channels": ["slack"], "fleetpatch_run_id": "run-notice",
             "notify_slack_webhook_url": "http://127.0.0.1:%d/hook" % server.server_address[1],
             "fleetpatch_state_url": "s3://%s/nights" % BUCKET, "fleetpatch_output_dir": str(tmp_path / "empty-runner")}
    run = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
                          os.path.join(ROOT, "playbooks", "notify.yml"), "-e", json.dumps(extra)],
                         cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=300, check=False)
    server.shutdown()
    assert run.returncode == 0, run.stdout + run.stderr
    assert len(received) == 1 and "Patch night run-notice finished for patch group web" in json.dumps(received[0])
