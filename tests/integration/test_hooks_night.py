"""Operators' hooks in a real patch night on local hosts (issue #19).

One night of two hosts serves several tests (module-scoped). web-dev-1 runs the demo's hook pair as
`make demo` does (its web app fp-webapp installed and held): pre_patch takes the app out of service,
post_patch puts it back and validates that it answers again. When the install ran, an apt
DPkg::Pre-Invoke hook on web-dev-1 noted the time and whether the app ran, and the app's pid file
says when it started again: "down during the install, up after it" is read from timestamps on the
host. web-prod-1's pre_patch puts it "in maintenance", a step that hangs is killed at its 3 s timeout
(on_failure warn), and then a step fails (fail_host): web-prod-1 is not patched, its post_patch still
undoes the maintenance, web-dev-1 is patched.

The pre_night test: a change-freeze calendar (a local HTTP server answering 503) cancels the night
before any host is touched: no host appears in the play recap, nothing changed on the hosts, each
host is recorded not started with the reason, each patch group's change is canceled with it, and
the owners get the notice by e-mail (a local aiosmtpd server).

The baseline rejects fp-kernel (no reboot: the night stays short).
"""

import base64
import email
import email.policy
import http.server
import json
import sqlite3
import threading
import time

import pytest
from aiosmtpd import controller as aiosmtpd_controller  # requirements-test.txt
from cr_servers.base import free_port
from fleetlib import HOSTS, host_exec, installed, localfleet, run_playbook

pytestmark = pytest.mark.integration

WEBAPP = "/etc/init.d/fp-webapp"
HEALTH = "http://127.0.0.1:8101/health"          # fp1's web app port (tools/localfleet webapp_port)
PROBE = "python3 -c 'import urllib.request as u; print(u.urlopen(\"%s\", timeout=5).read().decode().strip())'" % HEALTH
BASELINE = {"name": "hooks-test", "approval_rules": [{"classifications": ["security", "bugfix"], "approve_after_days": 0}],
            "rejected_patches": ["fp-kernel"], "rejected_patches_action": "block"}
# apt runs it before dpkg: when and whether the web app ran during the install
PRE_INVOKE = ("DPkg::Pre-Invoke { \"sh -c 'date +%s.%N >> /var/tmp/install-at; "
              "/etc/init.d/fp-webapp status >/dev/null; echo $? >> /var/tmp/webapp-status-at-install'\"; };")

# web-dev-1 runs the demo's hook pair (inventories/demo/group_vars/patch_group_web_dev.yml, with
# fleetpatch_demo_webapp=true and the web app held, as `make demo` does); web-prod-1 these:
HOOKS = {
    "web-prod-1": {
        "pre_patch": [
            {"name": "put the app in maintenance", "command": ["touch", "/var/tmp/hook-maintenance"]},
            {"name": "a step that hangs", "command": ["sleep", "600"], "timeout": 3, "on_failure": "warn"},
            {"name": "check the database is idle", "command": ["sh", "-c", "echo busy >&2; exit 3"]},
            {"name": "never reached", "command": ["touch", "/var/tmp/hook-never"]},
        ],
        "post_patch": [
            {"name": "leave maintenance", "command": ["rm", "-f", "/var/tmp/hook-maintenance"]},
        ],
    },
    # the install fails (fp-hook's postinst, test marker): the post_patch undo still runs
    "db-prod-1": {
        "pre_patch": [{"name": "stop the app", "command": [WEBAPP, "stop"], "timeout": 30}],
        "post_patch": [
            {"name": "start the app", "shell": True, "command": "%s status || %s start" % (WEBAPP, WEBAPP), "timeout": 30},
            {"name": "the app answers again", "shell": True, "timeout": 60,
             "command": ". /etc/default/fp-webapp; for i in 1 2 3 4 5 6 7 8 9 10; do python3 -c \"import urllib.request as u; "
                        "print(u.urlopen('http://127.0.0.1:%s/health' % $PORT, timeout=3).read().decode().strip())\" && exit 0; "
                        "sleep 1; done; exit 1"},
        ],
    },
}
HOOK_NEW = "1.0-1+deb12u1"      # fp-hook's update, whose postinst fails while /etc/fp-hook-fail-<version> exists


class _Answer(http.server.BaseHTTPRequestHandler):
    """The shared night's CR approval (GET) and CAB (POST) endpoints: 200 with a short body."""
    calls = []

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.calls.append((self.command, self.path, self.rfile.read(length).decode() if length else "", time.time()))
        body = b"approved" if self.command == "GET" else b"noted"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


def host(name, command):
    rc, out = host_exec(HOSTS[name], command)
    return rc, out.strip()


def phase_rows(night, name, phase):
    return [(s, m, json.loads(d)) for s, m, d in night.rows(
        "SELECT status, message, data FROM host_phases WHERE run_id=? AND host=? AND phase=? ORDER BY id", night.run_id, name, phase)]


@pytest.fixture(scope="module")
def hooks_night(fleet, tmp_path_factory):
    for name in ("fp1", "fp2", "fp3"):
        localfleet("reset", name)
    # as make demo: the web app on web-dev-1, held at its version
    rc, out = host("web-dev-1", "apt-get update -qq && apt-get install -y -qq fp-webapp=1.0-1 >/dev/null && "
                   "apt-mark hold fp-webapp >/dev/null && sleep 1 && " + PROBE)
    assert rc == 0 and out == "OK 1.0-1", out
    conf = base64.b64encode(PRE_INVOKE.encode()).decode()
    rc, out = host("web-dev-1", "echo %s | base64 -d > /etc/apt/apt.conf.d/99hook-test && cat /run/fp-webapp.pid" % conf)
    assert rc == 0, out
    pid_before = out
    # db-prod-1: the web app runs (held) and fp-hook's update will fail in its postinst
    rc, out = host("db-prod-1", "apt-get update -qq && apt-get install -y -qq fp-webapp=1.0-1 fp-hook=1.0-1 >/dev/null && "
                   "apt-mark hold fp-webapp >/dev/null && touch /etc/fp-hook-fail-%s && echo %s | base64 -d > "
                   "/etc/apt/apt.conf.d/99hook-test && sleep 1 && cat /run/fp-webapp.pid" % (HOOK_NEW, conf))
    assert rc == 0, out
    night_pids = {"web-dev-1": pid_before, "db-prod-1": out}
    before = dict((name, installed(HOSTS[name])) for name in ("web-dev-1", "web-prod-1", "db-prod-1"))
    outdir = tmp_path_factory.mktemp("hooks_night")
    extra = outdir / "hooks.json"
    # the run-level points: a gate that lets the night go on, a post_night call after the report
    server = http.server.HTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d" % server.server_address[1]
    extra.write_text(json.dumps({
        "__test_hooks": HOOKS, "fleetpatch_demo_webapp": True, "fleetpatch_baseline": BASELINE,
        "fleetpatch_hooks": "{{ __test_hooks[inventory_hostname] if inventory_hostname in __test_hooks "
                            "else fleetpatch_demo_webapp_hooks | default({}) }}",
        "fleetpatch_night_hooks": {
            "pre_night": [{"name": "the CR is approved", "http": {"url": url + "/approved"}, "timeout": 10}],
            "post_night": [{"name": "tell the CAB", "http": {"url": url + "/cab", "method": "POST", "body": {"night": "done"}},
                            "timeout": 10}]}}))
    started = time.time()
    try:
        night = run_playbook(str(outdir), "-e", "fleetpatch_targets=web-dev-1:web-prod-1:db-prod-1", "-e", "@%s" % extra)
    finally:
        server.shutdown()
    night.calls = list(_Answer.calls)
    (outdir / "night.log").write_text(night.stdout)
    night.elapsed = time.time() - started
    night.before = before
    night.pid_before = pid_before
    night.pids = night_pids
    yield night
    for name in ("fp1", "fp2", "fp3"):
        localfleet("reset", name)


def test_the_demos_hook_pair_takes_the_web_app_out_during_the_install_and_puts_it_back(hooks_night):
    night = hooks_night
    report = dict((h["name"], h) for h in night.report["hosts"])
    assert report["web-dev-1"]["status"] == "patched", night.stdout[-4000:]
    after = installed("fp1")
    assert after != night.before["web-dev-1"] and after["fp-webapp"] == "1.0-1"      # patched; the held app kept
    # the host's own clock: the install (when the app did not run) < the app started again (its pid file)
    (install_at,) = [float(t) for t in host("web-dev-1", "cat /var/tmp/install-at")[1].split()]
    assert host("web-dev-1", "cat /var/tmp/webapp-status-at-install") == (0, "3")     # 3: not running
    started = float(host("web-dev-1", "stat -c %.9Y /run/fp-webapp.pid")[1])
    assert install_at < started
    rc, out = host("web-dev-1", PROBE + " && cat /run/fp-webapp.pid")
    assert rc == 0 and out.splitlines()[0] == "OK 1.0-1" and out.splitlines()[1] != night.pid_before
    # the ledger: one row per step, then the point's outcome; and the order of the phases
    pre = phase_rows(night, "web-dev-1", "pre_patch")
    assert [r[0] for r in pre] == ["ok", "changed"]
    assert pre[-1][2] == {"hook": "pre_patch", "outcome": "ok", "action": "go_on", "steps": 1}
    post = phase_rows(night, "web-dev-1", "post_patch")
    assert [r[0] for r in post] == ["ok", "ok", "changed"] and post[1][2]["output"] == "OK 1.0-1"   # validated: it is back
    order = [p for (p,) in night.rows("SELECT phase FROM host_phases WHERE run_id=? AND host='web-dev-1' ORDER BY id", night.run_id)]
    last = dict((p, i) for i, p in enumerate(order))
    assert last["snapshot"] < order.index("pre_patch") < last["pre_patch"] < order.index("patch")
    assert last["validate"] < order.index("post_patch") < last["post_patch"] < order.index("rescan")


def test_a_hanging_step_is_killed_at_its_timeout(hooks_night):
    night = hooks_night
    (hung,) = [r for r in phase_rows(night, "web-prod-1", "pre_patch") if r[2].get("name") == "a step that hangs"]
    assert hung[0] == "failed" and hung[2]["timed_out"] is True and hung[2]["rc"] == 124 and hung[2]["status"] == "warned"
    assert "killed after its timeout of 3 s" in hung[1]
    assert host("web-prod-1", "pgrep -x sleep || echo none")[1] == "none"
    assert night.elapsed < 600


def test_a_failing_pre_patch_leaves_the_host_unpatched_undone_and_the_others_patched(hooks_night):
    night = hooks_night
    assert night.rc != 0, "a host that was not patched fails the run"
    report = dict((h["name"], h) for h in night.report["hosts"])
    assert report["web-prod-1"]["status"] == "failed"
    assert report["web-dev-1"]["status"] == "patched"
    assert installed("fp2") == night.before["web-prod-1"]                              # not patched
    assert host("web-prod-1", "test -e /var/tmp/hook-maintenance; echo $?")[1] == "1"   # post_patch undid it
    assert host("web-prod-1", "test -e /var/tmp/hook-never; echo $?")[1] == "1"         # the point stopped
    pre = phase_rows(night, "web-prod-1", "pre_patch")
    assert [r[0] for r in pre] == ["ok", "failed", "failed", "skipped", "failed"]
    assert pre[2][2]["output"] == "busy" and pre[2][2]["rc"] == 3
    assert pre[-1][1].startswith("check the database is idle failed (fail_host): exit code 3, allowed [0]")
    assert [r[0] for r in phase_rows(night, "web-prod-1", "post_patch")] == ["ok", "changed"]
    phases = [p for (p,) in night.rows("SELECT DISTINCT phase FROM host_phases WHERE run_id=? AND host='web-prod-1'", night.run_id)]
    assert "patch" not in phases and "rescan" not in phases


def test_a_failed_install_still_runs_the_post_patch_undo(hooks_night):
    """db-prod-1's pre_patch stops its web app; the install fails (fp-hook's postinst); the host is
    repaired (fp-hook put back at 1.0-1) and ends failed, and its post_patch steps still ran: the app
    is up again (a new pid, answering its health URL), and the ledger says so."""
    night = hooks_night
    report = dict((h["name"], h) for h in night.report["hosts"])
    entry = report["db-prod-1"]
    assert entry["status"] == "failed" and entry["failed_phase"] == "patch", night.stdout[-4000:]
    assert entry["reason"].startswith("fp-hook: postinst (configure) failed with exit status 1"), entry
    assert installed("fp3")["fp-hook"] == "1.0-1"                                       # put back (restore)
    # the app was down during the install (apt's DPkg::Pre-Invoke noted it) and is up after it
    assert set(host("db-prod-1", "cat /var/tmp/webapp-status-at-install")[1].split()) == {"3"}   # 3: not running
    (install_at,) = [float(t) for t in host("db-prod-1", "cat /var/tmp/install-at")[1].split()[:1]]
    assert install_at < float(host("db-prod-1", "stat -c %.9Y /run/fp-webapp.pid")[1])
    rc, out = host("db-prod-1", "/etc/init.d/fp-webapp status; echo rc=$?; cat /run/fp-webapp.pid")
    assert "rc=0" in out and out.splitlines()[-1] != night.pids["db-prod-1"], out
    # the ledger: pre_patch ran, the patch failed, then post_patch (both steps ok) - and no rescan
    order = [p for (p,) in night.rows("SELECT phase FROM host_phases WHERE run_id=? AND host='db-prod-1' ORDER BY id", night.run_id)]
    last = dict((p, i) for i, p in enumerate(order))
    assert last["pre_patch"] < order.index("patch") and last["patch"] < order.index("post_patch"), order
    assert "rescan" not in order
    assert [r[0] for r in phase_rows(night, "db-prod-1", "pre_patch")] == ["ok", "changed"]
    post = phase_rows(night, "db-prod-1", "post_patch")
    assert [r[0] for r in post] == ["ok", "ok", "changed"], post
    assert post[1][2]["output"].startswith("OK ") and post[-1][2] == {"hook": "post_patch", "outcome": "ok", "action": "go_on", "steps": 2}


def test_the_run_level_points_are_ledger_rows_shown_in_the_report(hooks_night):
    """pre_night (a gate that passed) and post_night (after the report): one run row per step with its
    trimmed output, then the point's outcome; report.json shows both (written again after post_night)."""
    night = hooks_night
    assert [(m, p) for m, p, b, t in night.calls] == [("GET", "/approved"), ("POST", "/cab")]
    assert json.loads(night.calls[1][2]) == {"night": "done"}
    rows = [(p, s, m, json.loads(d)) for p, s, m, d in night.rows(
        "SELECT point, status, message, data FROM run_hooks WHERE run_id=? ORDER BY id", night.run_id)]
    assert [(p, s) for p, s, m, d in rows] == [("pre_night", "ok"), ("pre_night", "changed"), ("post_night", "ok"),
                                               ("post_night", "changed")]
    assert rows[0][3]["http_status"] == 200 and rows[0][3]["output"] == "approved" and rows[0][3]["name"] == "the CR is approved"
    assert rows[2][3]["output"] == "noted"
    assert rows[3][3] == {"hook": "post_night", "outcome": "ok", "action": "go_on", "steps": 1}
    # post_night ran after the report was first written, and the report was written again with it
    report = night.report["night_hooks"]
    assert report["pre_night"]["outcome"] == "ok" and report["pre_night"]["steps"][0]["output"] == "approved"
    assert report["post_night"]["outcome"] == "ok" and report["post_night"]["steps"][0]["name"] == "tell the CAB"
    assert night.stdout.index("Write the final report") < night.stdout.index("post_night: tell the CAB")


class _Freeze(http.server.BaseHTTPRequestHandler):
    calls = []

    def do_GET(self):
        self.calls.append(self.path)
        body = b"change freeze until 2026-12-07"
        self.send_response(503)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _Mailbox(object):
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append({"to": envelope.rcpt_tos, "subject": str(message["Subject"]),
                              "body": message.get_body(("plain",)).get_content()})
        return "250 OK"


def test_a_pre_night_gate_cancels_before_any_host_is_touched(fleet, tmp_path):
    server = http.server.HTTPServer(("127.0.0.1", 0), _Freeze)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/freeze" % server.server_address[1]
    box = _Mailbox()
    smtp = aiosmtpd_controller.Controller(box, hostname="127.0.0.1", port=free_port(5270))
    smtp.start()
    before = dict((name, installed(HOSTS[name])) for name in ("web-dev-1", "web-prod-1"))
    extra = tmp_path / "night.json"
    extra.write_text(json.dumps({"fleetpatch_night_hooks": {
        "pre_night": [{"name": "the change freeze calendar is clear", "http": {"url": url, "status": [200]}, "timeout": 10}],
        "post_night": [{"name": "never reached", "http": {"url": url + "/post"}}]},
        "fleetpatch_notify_channels": ["email"], "notify_email_host": "127.0.0.1", "notify_email_port": smtp.port,
        "notify_email_secure": "never"}))
    try:
        night = run_playbook(str(tmp_path), "-e", "fleetpatch_targets=web-dev-1:web-prod-1", "-e", "@%s" % extra)
    finally:
        server.shutdown()
        smtp.stop()
    reason = "the pre_night gate canceled the night: the change freeze calendar is clear failed (cancel): HTTP 503"
    assert night.rc != 0
    assert reason in night.stdout, night.stdout[-4000:]
    assert _Freeze.calls == ["/freeze"]                                    # post_night did not run
    # nothing touched a host: neither ran a task, nothing changed on them
    assert set(night.recap()) == {"localhost"}, night.recap()
    for name in before:
        assert installed(HOSTS[name]) == before[name]
    rows = night.rows("SELECT host, phase, status, message FROM host_phases WHERE run_id=? ORDER BY host", night.run_id)
    assert [(h, p, s) for h, p, s, m in rows] == [("web-dev-1", "preflight", "skipped"), ("web-prod-1", "preflight", "skipped")]
    assert all(m.startswith("not started: " + reason) for h, p, s, m in rows)
    assert dict((h["name"], h["status"]) for h in night.report["hosts"]) == {"web-dev-1": "not_started", "web-prod-1": "not_started"}
    assert night.rows("SELECT status FROM runs WHERE run_id=?", night.run_id) == [("canceled",)]
    # the gate's step and outcome are the run's ledger rows, shown in report.json
    gate = night.rows("SELECT point, status, message FROM run_hooks WHERE run_id=? ORDER BY id", night.run_id)
    assert [(p, s) for p, s, m in gate] == [("pre_night", "failed"), ("pre_night", "failed")]
    assert reason[len("the pre_night gate canceled the night: "):] in gate[1][2]
    shown = night.report["night_hooks"]
    assert list(shown) == ["pre_night"] and shown["pre_night"]["action"] == "cancel"
    assert shown["pre_night"]["steps"][0]["http_status"] == 503
    assert shown["pre_night"]["steps"][0]["output"] == "change freeze until 2026-12-07"
    # the change of each patch group carries the reason
    conn = sqlite3.connect(str(tmp_path / "ledger.db"))
    try:
        changes = conn.execute("SELECT patch_group, state, hosts, number FROM change_requests WHERE run_id=? ORDER BY patch_group",
                               (night.run_id,)).fetchall()
        expected = [("web-dev", "canceled", ["web-dev-1"]), ("web-prod", "canceled", ["web-prod-1"])]
        assert [(g, s, json.loads(h)) for g, s, h, n in changes] == expected
        for number in [n for g, s, h, n in changes]:
            notes = [t for (t,) in conn.execute("SELECT text FROM change_request_notes WHERE number=?", (number,))]
            assert any(reason in t for t in notes), notes
    finally:
        conn.close()
    # the owners were told, with the reason
    mails = dict((tuple(m["to"]), m) for m in box.messages)
    assert sorted(mails) == [("alice@example.com",), ("bob@example.com",)], night.stdout[-5000:]
    for mail in mails.values():
        assert "the pre_night gate canceled the night" in mail["body"], mail
    # a rerun of the canceled run changes nothing
    again = run_playbook(str(tmp_path), "-e", "fleetpatch_targets=web-dev-1:web-prod-1", "-e", "@%s" % extra, run_id=night.run_id)
    assert _Freeze.calls == ["/freeze"]
    assert night.rows("SELECT COUNT(*) FROM host_phases WHERE run_id=?", night.run_id) == [(2,)], again.stdout[-3000:]
    assert night.rows("SELECT COUNT(*) FROM run_hooks WHERE run_id=?", night.run_id) == [(2,)]


def test_a_dry_run_runs_the_gates_that_read_and_says_it_would_cancel(fleet, tmp_path):
    """--check: the pre_night gate's GET runs (the calendar answers 503: the night would be canceled),
    its POST step is not run, nothing is canceled (no change, the run closed as a check run, the dry
    run goes on to its plan), and the ledger and report.json say what the gate would have done."""
    _Freeze.calls = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Freeze)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/freeze" % server.server_address[1]
    extra = tmp_path / "night.json"
    extra.write_text(json.dumps({"fleetpatch_night_hooks": {
        "pre_night": [{"name": "the change freeze calendar is clear", "http": {"url": url, "status": [200]}, "timeout": 10,
                       "on_failure": "warn"},
                      {"name": "mark the night started", "http": {"url": url + "/started", "method": "POST", "body": {"a": 1}}},
                      {"name": "the calendar again", "http": {"url": url, "status": [200]}, "timeout": 10}],
        "post_night": [{"name": "never reached", "http": {"url": url + "/post"}}]}}))
    try:
        night = run_playbook(str(tmp_path), "--check", "-e", "fleetpatch_targets=web-dev-1", "-e", "@%s" % extra)
    finally:
        server.shutdown()
    (tmp_path / "night.log").write_text(night.stdout)
    assert _Freeze.calls == ["/freeze", "/freeze"], night.stdout[-4000:]          # the GETs ran, the POST and post_night did not
    said = " ".join(night.stdout.split())                                        # the YAML callback folds long lines
    assert "dry run: the pre_night gate would cancel the night: the calendar again failed (cancel): HTTP 503" in said
    assert night.rows("SELECT status, check_mode FROM runs WHERE run_id=?", night.run_id)[0][1] == 1
    assert night.rows("SELECT status FROM runs WHERE run_id=?", night.run_id)[0][0] in ("checked", "check_incomplete")
    if night.rows("SELECT name FROM sqlite_master WHERE name='change_requests'"):      # no change canceled (none raised)
        assert night.rows("SELECT COUNT(*) FROM change_requests WHERE run_id=?", night.run_id) == [(0,)]
    gate = [(s, json.loads(d)) for s, d in night.rows("SELECT status, data FROM run_hooks WHERE run_id=? ORDER BY id", night.run_id)]
    assert [s for s, d in gate] == ["failed", "skipped", "failed", "failed"]
    assert gate[0][1]["status"] == "warned" and gate[2][1]["http_status"] == 503
    assert gate[-1][1] == {"hook": "pre_night", "outcome": "failed", "action": "cancel", "steps": 2, "dry_run": True}
    shown = night.report["night_hooks"]["pre_night"]
    assert shown["dry_run"] is True and shown["would_cancel"].startswith("the pre_night gate would cancel the night: the calendar again")
    assert shown["steps"][1]["message"] == "step 1 not run in a dry run: an http POST may change state"
    assert night.report_at("plan.json")["run_id"] == night.run_id                 # the dry run went on to its plan


def test_a_post_patch_step_under_rollback_rolls_the_host_back_and_on_rollback_runs(fleet, tmp_path):
    localfleet("reset", "fp1")
    before = installed("fp1")
    hooks = {
        "pre_patch": [{"name": "drain", "command": ["touch", "/var/tmp/hook-drained"]}],
        "post_patch": [
            {"name": "smoke test of the app", "command": ["sh", "-c", "echo 'smoke: 500' >&2; exit 1"], "on_failure": "rollback"},
            {"name": "not reached", "command": ["touch", "/var/tmp/hook-never"]},
        ],
        "on_rollback": [{"name": "undrain after the rollback", "command": "rm -f /var/tmp/hook-drained; date +%s.%N > /var/tmp/hook-rb",
                         "shell": True}],
    }
    extra = tmp_path / "hooks.json"
    extra.write_text(json.dumps({"fleetpatch_hooks": hooks, "fleetpatch_baseline": BASELINE}))
    try:
        night = run_playbook(str(tmp_path), "-e", "fleetpatch_targets=web-dev-1", "-e", "@%s" % extra)
        assert night.rc != 0
        (entry,) = night.report["hosts"]
        assert entry["status"] == "rolled_back", night.stdout[-4000:]
        assert installed("fp1") == before                                   # every package back at its version
        assert host("web-dev-1", "test -e /var/tmp/hook-drained; echo $?")[1] == "1"   # on_rollback undid the drain
        assert host("web-dev-1", "test -e /var/tmp/hook-never; echo $?")[1] == "1"
        order = [p for (p,) in night.rows("SELECT phase FROM host_phases WHERE run_id=? AND host='web-dev-1' ORDER BY id",
                                          night.run_id)]
        assert order.index("patch") < order.index("post_patch") < order.index("rollback") < order.index("on_rollback")
        assert "rescan" not in order
        post = phase_rows(night, "web-dev-1", "post_patch")
        assert [r[0] for r in post] == ["failed", "skipped", "failed"] and post[0][2]["output"] == "smoke: 500"
        assert post[-1][2]["action"] == "rollback"
        assert [r[0] for r in phase_rows(night, "web-dev-1", "on_rollback")] == ["ok", "changed"]
        # the rollback row names the hook step that asked for it, not validation
        (rollback,) = phase_rows(night, "web-dev-1", "rollback")
        assert rollback[2]["reason"].startswith("post_patch step smoke test of the app failed (rollback): exit code 1, allowed [0]; ")
        assert "validation failed" not in rollback[2]["reason"]
    finally:
        localfleet("reset", "fp1")
