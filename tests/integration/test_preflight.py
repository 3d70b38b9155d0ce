"""A host whose package manager is locked is recorded as failed and left untouched."""

import json
import os
import subprocess

import pytest
from fleetlib import HOSTS, LOCALFLEET, ROOT, VENV_BIN, host_exec, installed, localfleet, run_playbook

pytestmark = pytest.mark.integration

HOLD_LOCK = ("python3 -c 'import fcntl,time; f=open(\"/var/lib/dpkg/lock-frontend\",\"w\"); "
             "fcntl.lockf(f, fcntl.LOCK_EX); print(\"locked\", flush=True); time.sleep(120)'")


def test_locked_dpkg_stops_the_host_before_any_change(fleet, tmp_path):
    localfleet("reset", "fp1")
    before = installed("fp1")
    holder = subprocess.Popen([LOCALFLEET, "exec", "fp1", HOLD_LOCK], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        night = run_playbook(str(tmp_path), "-e", "fleetpatch_targets=web-dev-1")
    finally:
        holder.kill()
        holder.wait()
    assert night.rc != 0, "the run must fail when a host could not be patched"
    assert installed("fp1") == before
    rows = night.rows("SELECT phase, status, message FROM host_phases WHERE run_id=?", night.run_id)
    assert len(rows) == 1
    phase, status, message = rows[0]
    assert (phase, status) == ("preflight", "failed")
    assert "package manager locked: /var/lib/dpkg/lock-frontend held by pid" in message
    (host,) = night.report["hosts"]
    assert host["status"] == "failed" and host["failed_phase"] == "preflight"


def test_a_plain_limit_without_localhost_runs_the_controller_plays(fleet, tmp_path):
    # AWX's Limit field (issue 13): every controller play runs for the limited host (here a dry run,
    # which changes nothing; the real night under a plain limit: test_awx_runner.py)
    localfleet("reset", "fp1")          # the test before leaves the dpkg lock held
    rc, out = host_exec("fp1", "apt-get update -qq -o DPkg::Lock::Timeout=120")
    assert rc == 0, out
    before = installed("fp1")
    night = run_playbook(str(tmp_path), "--limit", "web-dev-1", "-e", "fleetpatch_dry_run=true")
    assert night.rc == 0, night.stdout[-4000:]
    assert "skipping: no hosts matched" not in night.stdout
    assert night.rows("SELECT check_mode, status FROM runs WHERE run_id=?", night.run_id) == [(1, "checked")]
    assert [h["name"] for h in night.report["plan"]["hosts"]] == ["web-dev-1"]
    assert night.report_at("plan.json") == night.report["plan"]
    assert installed("fp1") == before


PREFLIGHT_ONLY = """
- name: Open the run
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Start the run
      fleetpatch.hybrid.patch_ledger:
        path: "{{ fleetpatch_output_dir }}/ledger.db"
        run_id: "{{ fleetpatch_run_id }}"
        action: start_run
        playbook: preflight-test

- name: Preflight only
  hosts: web-dev-1:web-prod-1:db-prod-1
  gather_facts: false
  vars:
    fleetpatch_ledger_path: "{{ fleetpatch_output_dir }}/ledger.db"
  roles:
    - fleetpatch.hybrid.preflight
"""


class SsmStub(object):
    """A local stand-in for SSM's DescribeInstanceInformation (moto 5.2 lacks it).

    It speaks the real JSON protocol botocore uses (X-Amz-Target AmazonSSM.DescribeInstanceInformation),
    answers the InstanceIds filter from `agents` ({instance id: PingStatus}) and counts the calls.
    """

    def __init__(self, agents):
        import http.server
        import threading
        stub = self
        self.agents = agents
        self.calls = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                stub.calls.append((self.headers.get("X-Amz-Target"), body))
                wanted = [v for f in body.get("Filters", []) if f["Key"] == "InstanceIds" for v in f["Values"]]
                nodes = [{"InstanceId": i, "PingStatus": stub.agents[i], "LastPingDateTime": 1795744800.0,
                          "AgentVersion": "3.3.1142.0", "IsLatestVersion": True, "PlatformType": "Linux",
                          "PlatformName": "Debian GNU/Linux", "PlatformVersion": "12", "ResourceType": "EC2Instance"}
                         for i in wanted if i in stub.agents]
                answer = json.dumps({"InstanceInformationList": nodes}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def instance_ids():
    """{host: instance id} as the demo inventory sees the moto instances (remote data comes marked unsafe)."""
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ["PATH"], ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    out = subprocess.run(["ansible-inventory", "-i", os.path.join(ROOT, "inventories", "demo"), "--list"], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True, timeout=120).stdout
    hostvars = json.loads(out)["_meta"]["hostvars"]
    ids = dict((h, hostvars[h]["fleetpatch_instance_id"]) for h in HOSTS)
    return dict((h, v["__ansible_unsafe"] if isinstance(v, dict) else v) for h, v in ids.items())


def preflight_rows(night):
    return dict((h, (s, m)) for h, s, m in night.rows(
        "SELECT host, status, message FROM host_phases WHERE run_id=? AND phase='preflight'", night.run_id))


@pytest.fixture()
def ssm_agent_process():
    """web-dev-1 (fp1) runs a process named like the SSM agent; the other hosts have none."""
    localfleet("reset", "fp1")
    rc, out = host_exec("fp1", "cp /bin/sleep /usr/local/bin/amazon-ssm-agent && "
                               "(setsid /usr/local/bin/amazon-ssm-agent 900 </dev/null >/dev/null 2>&1 &) && echo started")
    assert rc == 0 and "started" in out, out
    yield
    localfleet("reset", "fp1")


@pytest.mark.parametrize("mode, expected", [
    # auto: a host SSM knows must be Online and run the agent service; a host SSM does not know is
    # not expected to have the agent (the demo inventory has no ssm source)
    ("auto", {"web-dev-1": ("ok", None), "web-prod-1": ("failed", "SSM agent ConnectionLost"), "db-prod-1": ("ok", None)}),
    # required: every host with an instance id must be known to SSM
    ("required", {"web-dev-1": ("ok", None), "web-prod-1": ("failed", "SSM agent ConnectionLost"),
                  "db-prod-1": ("failed", "not managed by SSM in us-east-1")}),
])
def test_ssm_agent_is_asked_once_for_the_batch(fleet, tmp_path, monkeypatch, ssm_agent_process, mode, expected):
    ids = instance_ids()
    stub = SsmStub({ids["web-dev-1"]: "Online", ids["web-prod-1"]: "ConnectionLost"})
    playbook = tmp_path / "preflight.yml"
    playbook.write_text(PREFLIGHT_ONLY)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    try:
        night = run_playbook(str(tmp_path), "-e", "preflight_ssm_agent=%s" % mode, "-e", "preflight_ssm_endpoint_url=%s" % stub.url,
                             playbook=str(playbook))
    finally:
        stub.close()
    assert night.rc == 0, night.stdout[-3000:]
    assert [target for target, dummy in stub.calls] == ["AmazonSSM.DescribeInstanceInformation"], "one call for the batch"
    assert sorted(stub.calls[0][1]["Filters"][0]["Values"]) == sorted(ids.values())
    rows = preflight_rows(night)
    for host, (status, reason) in expected.items():
        assert rows[host][0] == status, (host, rows[host])
        if reason:
            assert reason in rows[host][1], (host, rows[host])
    # the agent SSM reports Online must also run on the host: fp1 runs it, and only fp1 was asked
    data = dict((h, json.loads(d)) for h, d in night.rows(
        "SELECT host, data FROM host_phases WHERE run_id=? AND phase='preflight'", night.run_id))
    assert [s["unit"] for s in data["web-dev-1"]["services"] if s["active"]] == ["amazon-ssm-agent"]
    assert data["db-prod-1"].get("services", []) == []


def test_inactive_ssm_agent_service_fails_a_host_ssm_reports_online(fleet, tmp_path, monkeypatch):
    localfleet("reset", "fp1")
    ids = instance_ids()
    stub = SsmStub({ids["web-dev-1"]: "Online"})
    playbook = tmp_path / "preflight.yml"
    playbook.write_text(PREFLIGHT_ONLY.replace("web-dev-1:web-prod-1:db-prod-1", "web-dev-1"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    try:
        night = run_playbook(str(tmp_path), "-e", "preflight_ssm_endpoint_url=%s" % stub.url, playbook=str(playbook))
    finally:
        stub.close()
    status, message = preflight_rows(night)["web-dev-1"]
    assert status == "failed"
    assert message.startswith("agent service amazon-ssm-agent|snap.amazon-ssm-agent.amazon-ssm-agent is not active")


@pytest.mark.parametrize("mode, status", [("auto", "ok"), ("required", "failed")])
def test_ssm_without_describe_instance_information(fleet, tmp_path, monkeypatch, mode, status):
    """moto 5.2 answers DescribeInstanceInformation with HTTP 500: auto goes on, required stops the hosts."""
    localfleet("reset", "fp1")
    playbook = tmp_path / "preflight.yml"
    playbook.write_text(PREFLIGHT_ONLY)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    night = run_playbook(str(tmp_path), "-e", "preflight_ssm_agent=%s" % mode, "-e", "preflight_ssm_endpoint_url=http://127.0.0.1:5000",
                         playbook=str(playbook))
    assert night.rc == 0, night.stdout[-3000:]
    rows = preflight_rows(night)
    assert sorted(rows) == sorted(HOSTS)
    for host, (got, message) in rows.items():
        assert got == status, (host, got, message)
        if status == "failed":
            assert message.startswith("SSM agent status unknown: SSM DescribeInstanceInformation failed"), message
    if mode == "auto":
        data = json.loads(night.rows("SELECT data FROM host_phases WHERE run_id=? AND host='web-dev-1' AND phase='preflight'",
                                     night.run_id)[0][0])
        assert data["ssm_agent"]["checked"] is False and "500" in data["ssm_agent"]["error"]


def test_unreachable_host_is_recorded_by_the_single_preflight_call(fleet, tmp_path):
    """No separate ping: the preflight module's own round trip finds the host unreachable."""
    night = run_playbook(str(tmp_path), "-e", "fleetpatch_targets=web-dev-1", "-e", "ansible_port=8109",
                         playbook="playbooks/patch_night.yml")
    assert night.rc != 0
    rows = night.rows("SELECT phase, status, message FROM host_phases WHERE run_id=?", night.run_id)
    assert [(p, s) for p, s, dummy in rows] == [("preflight", "unreachable")]
    assert "port 8109: Connection refused" in rows[0][2], rows
    assert night.report["hosts"][0]["status"] == "unreachable"
    assert "Check the connection and Python" not in night.stdout
    assert night.stdout.count("TASK [fleetpatch.hybrid.preflight : Check connection, lock, disk") == 1
