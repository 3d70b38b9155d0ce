"""The change_request role with ansible-playbook on localhost (connection local), no test hosts.

open -> note -> close against a real ledger file, a rerun with the same run id, check mode, and the
cr_required policy against the ServiceNow contract server (tests/integration/cr_servers).
"""

import json
import sqlite3

import pytest
from cr_servers.collection import run_playbook
from cr_servers.servicenow import ServiceNowServer

NIGHT = """
- name: Open
  hosts: localhost
  gather_facts: false
  vars:
    fleetpatch_run_id: run-42
    fleetpatch_ledger_path: {ledger}
  tasks:
    - name: Open the changes
      ansible.builtin.include_role:
        name: fleetpatch.hybrid.change_request
        tasks_from: open
    - name: Note a phase for some hosts
      ansible.builtin.include_role:
        name: fleetpatch.hybrid.change_request
        tasks_from: note
      vars:
        change_request_note_phase: snapshot_taken
        change_request_note_hosts: [web-1, db-1]
    - name: Close with the outcomes
      ansible.builtin.include_role:
        name: fleetpatch.hybrid.change_request
        tasks_from: close
      vars:
        change_request_outcomes: "{{{{ outcomes }}}}"
    - name: Keep the facts for the test
      ansible.builtin.copy:
        content: "{{{{ {{'opened': change_request_opened, 'closed': change_request_closed | default({{}}),
                       'blocked': change_request_blocked_hosts, 'host_map': change_request_host_map}} | to_json }}}}"
        dest: {facts}
        mode: "0644"
"""

GROUPS = [
    {"name": "web", "hosts": ["web-1", "web-2"], "owners": ["web@example.com"],
     "window": {"start": "2026-11-29T02:00:00Z", "end": "2026-11-29T05:00:00Z"},
     "patches": [{"name": "openssl", "candidate_version": "3.0.16", "cves": ["CVE-2024-12797"]}]},
    {"name": "db", "hosts": ["db-1"], "owners": ["dba@example.com"],
     "window": {"start": "2026-11-29T02:00:00Z", "end": "2026-11-29T05:00:00Z"}},
]


def night(tmp_path, extra, check=False):
    ledger, facts = tmp_path / "out" / "ledger.db", tmp_path / "facts.json"
    book = NIGHT.format(ledger=ledger, facts=facts)
    result = run_playbook(book, tmp_path, extra, check=check)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    return result, (json.loads(facts.read_text()) if facts.exists() else None), ledger


def query(ledger, sql):
    conn = sqlite3.connect(str(ledger))
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_a_night_opens_notes_and_closes_one_change_per_group(tmp_path):
    outcomes = {"web-1": "patched", "web-2": "failed", "db-1": "compliant"}
    extra = {"change_request_groups": GROUPS, "outcomes": outcomes}
    result, facts, ledger = night(tmp_path, extra)
    assert facts["host_map"] == {"web-1": "web", "web-2": "web", "db-1": "db"}
    assert facts["blocked"] == []
    assert {k: (v["number"], v["close_code"]) for k, v in facts["closed"].items()} == {
        "web": ("CHG0001001", "successful_issues"), "db": ("CHG0001002", "successful")}
    assert query(ledger, "SELECT patch_group, state, close_code FROM change_requests ORDER BY number") == [
        ("web", "closed", "successful_issues"), ("db", "closed", "successful")]
    assert query(ledger, "SELECT number, text FROM change_request_notes ORDER BY id") == [
        ("CHG0001001", "[run-42] snapshot taken: web-1"), ("CHG0001002", "[run-42] snapshot taken: db-1")]
    assert json.loads(query(ledger, "SELECT host_outcomes FROM change_requests WHERE patch_group='web'")[0][0]) == {
        "web-1": "patched", "web-2": "failed"}

    # A rerun with the same run id finds the same changes, writes no second note, changes nothing.
    again, facts, ledger = night(tmp_path, extra)
    assert query(ledger, "SELECT COUNT(*) FROM change_requests") == [(2,)]
    assert query(ledger, "SELECT COUNT(*) FROM change_request_notes") == [(2,)]
    assert changed_tasks(again.stdout) <= {"Keep the facts for the test"}
    assert changed_tasks(result.stdout) >= {"Open one change request per patch group", "Add the work note to each change concerned",
                                            "Close the change of each patch group"}


def changed_tasks(stdout):
    """Names of the tasks that reported a change, from the default callback's output."""
    found = set()
    for section in stdout.split("TASK [")[1:]:
        header, dummy, body = section.partition("]")
        if "changed: [" in body:
            found.add(header.split(" : ")[-1])
    return found


def test_check_mode_opens_nothing(tmp_path):
    result, facts, ledger = night(tmp_path, {"change_request_groups": GROUPS, "outcomes": {}}, check=True)
    assert not ledger.exists()
    assert facts is None  # copy does not write in check mode either


def test_cr_required_blocks_the_hosts_whose_change_could_not_be_opened(tmp_path):
    with ServiceNowServer(cis=["web-1", "web-2", "db-1"], templates={"OS patching": {}}) as server:
        groups = [dict(GROUPS[0]), dict(GROUPS[1], change_type="standard", template="No such template")]
        extra = {
            "change_request_groups": groups, "outcomes": {"web-1": "patched", "web-2": "patched"},
            "change_request_backend": "servicenow", "change_request_required": True,
            "change_request_assignment_group": "Linux Ops",
            "change_request_servicenow": {"host": server.url, "username": "fleetpatch", "password": "s3cret"},
        }
        result, facts, ledger = night(tmp_path, extra)
        assert facts["blocked"] == ["db-1"]
        assert facts["opened"]["db"]["ok"] is False
        assert "standard change template 'No such template' is not an active template" in facts["opened"]["db"]["error"]
        assert "its hosts will not be patched (change_request_required): db-1" in result.stdout
        assert facts["opened"]["web"]["number"] == "CHG0030001"
        assert [c["state"] for c in server.changes.values()] == ["3"]
        assert server.changes[next(iter(server.changes))]["close_code"] == "successful"
        assert server.notes("CHG0030001") == ["[run-42] snapshot taken: web-1"]
        assert server.ci_names("CHG0030001") == ["web-1", "web-2"]
        assert "s3cret" not in result.stdout


@pytest.mark.parametrize("required,blocked", [(False, [])])
def test_without_cr_required_patching_goes_ahead(tmp_path, required, blocked):
    groups = [dict(GROUPS[1], change_type="urgent")]
    result, facts, ledger = night(tmp_path, {"change_request_groups": groups, "outcomes": {},
                                             "change_request_required": required})
    assert facts["blocked"] == blocked
    assert "value of change_type must be one of: normal, standard, emergency, got: urgent" in facts["opened"]["db"]["error"]
    assert "patching goes ahead (change_request_required is false)" in result.stdout


@pytest.mark.parametrize("allowed", [False, True], ids=["refused", "allowed-without-token"])
def test_a_jira_site_redirecting_to_another_host(tmp_path, allowed):
    """Jira behind a redirect to another host (localhost instead of 127.0.0.1, another port): without
    change_request_redirect_hosts the change is not opened and the other host gets no request; with
    it the redirect is followed without the token, so the Jira stand-in answers 401."""
    from cr_servers.jira import JiraServer
    from cr_servers.redirector import Redirector

    token = "jira-api-token-of-the-CAB"
    with JiraServer(accounts={"bot@example.com": token}) as jira, \
            Redirector(jira.url.replace("127.0.0.1", "localhost"), status=302) as site:
        extra = {
            "change_request_groups": [GROUPS[0]], "outcomes": {}, "change_request_backend": "jira",
            "change_request_retries": 0,
            "change_request_jira": {"url": site.url, "user": "bot@example.com", "token": token, "project": "ITCHG"},
        }
        if allowed:
            extra["change_request_redirect_hosts"] = ["localhost"]
        result, facts, ledger = night(tmp_path, extra)
        opened = facts["opened"]["web"]
        assert opened["ok"] is False and not jira.issues
        assert site.log and site.log[0]["headers"]["Authorization"].startswith("Basic ")
        if allowed:
            assert jira.log, "the allowed redirect was followed"
            assert "401" in opened["error"], opened["error"]
        else:
            assert jira.log == [], "the other host got no request at all"
            assert "to another host" in opened["error"] and "redirect_hosts" in opened["error"], opened["error"]
        assert token not in result.stdout + result.stderr


OPEN_ONLY = """
- name: Open, and keep what the role says
  hosts: localhost
  gather_facts: false
  vars:
    fleetpatch_run_id: run-42
    fleetpatch_ledger_path: "{ledger}"
  tasks:
    - name: Open the changes
      ansible.builtin.include_role:
        name: fleetpatch.hybrid.change_request
        tasks_from: open
    - name: Keep the facts and the module's answers for the test (also in check mode)
      ansible.builtin.copy:
        content: "{{{{ {{'opened': change_request_opened, 'results': __change_request_open.results}} | to_json }}}}"
        dest: "{facts}"
        mode: "0644"
      check_mode: false
"""


def test_check_mode_finds_the_existing_change_and_does_not_claim_to_create_it(tmp_path):
    """A rerun of a run whose changes exist, in --check: the local backend reads the same ledger (its
    path holds '#', '?' and a space, which once made sqlite open another file), finds each change by
    its correlation id and says it would create none; the ledger is left as it was."""
    ledger = tmp_path / "out #1?x=y" / "ledger.db"
    facts = tmp_path / "facts.json"
    book = OPEN_ONLY.format(ledger=ledger, facts=facts)
    extra = {"change_request_groups": GROUPS}
    first = run_playbook(book, tmp_path, extra)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    opened = json.loads(facts.read_text())["opened"]
    assert {k: v["number"] for k, v in opened.items()} == {"web": "CHG0001001", "db": "CHG0001002"}
    assert all(r["created"] for r in json.loads(facts.read_text())["results"])
    rows = query(ledger, "SELECT * FROM change_requests ORDER BY number")
    assert not (tmp_path / "out ").exists()      # no file named by the part before the '#'

    check = run_playbook(book, tmp_path, extra, check=True)
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-2000:]
    seen = json.loads(facts.read_text())
    assert {k: (v["number"], v["ok"]) for k, v in seen["opened"].items()} == {
        "web": ("CHG0001001", True), "db": ("CHG0001002", True)}
    for result in seen["results"]:
        assert result["created"] is False and result["payload"] is None, result
        assert "create" not in [a["action"] for a in result["actions"]], result["actions"]
        assert result["changed"] is False
    assert query(ledger, "SELECT * FROM change_requests ORDER BY number") == rows
