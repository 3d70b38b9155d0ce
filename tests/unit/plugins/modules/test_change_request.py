"""change_request through its run(), with the real HTTP client against local contract servers.

The servers (tests/integration/cr_servers) stand for ServiceNow and Jira Service Management on
127.0.0.1: they enforce auth, required fields, the state model / workflow, and inject 429 and 5xx
answers, so a request the real service would reject fails here. No real instance is reached.
"""

import os
import sys

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.change_request import ensure_with_payload, make_backend
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_args import CHANGE_REQUEST_SPEC
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_errors import (
    CRAuthError,
    CRBackendError,
    CRNotFoundError,
    CRTransitionError,
    CRValidationError,
)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "integration"))
from cr_servers.jira import JiraServer  # noqa: E402
from cr_servers.servicenow import ServiceNowServer  # noqa: E402
from cr_servers.tls import make_ca_and_server_cert  # noqa: E402

WINDOW = {"start": "2026-11-29T02:00:00Z", "end": "2026-11-29T05:00:00Z", "expression": "cron(0 2 ? * SUN *)"}
PATCHES = [{"name": "openssl", "candidate_version": "3.0.16-1~deb12u1", "cves": ["CVE-2024-12797"], "advisories": ["DSA-5865-1"]}]


class FakeModule(object):
    """What run() uses of AnsibleModule: params validated by the module's own argument spec, and check_mode."""

    def __init__(self, check_mode=False, **params):
        result = ArgumentSpecValidator(CHANGE_REQUEST_SPEC).validate(params)
        assert not result.error_messages, result.error_messages
        self.params = result.validated_parameters
        self.params["backoff"] = 0.01  # keep 5xx backoff short; Retry-After is still honoured as sent
        self.check_mode = check_mode


def run(check_mode=False, **params):
    module = FakeModule(check_mode=check_mode, **params)
    backend = make_backend(module.params, check_mode=check_mode)
    try:
        return ensure_with_payload(backend, module.params, check_mode=module.check_mode)
    finally:
        backend.close()


@pytest.fixture
def sn():
    templates = {"Monthly OS patching": {"short_description": "Monthly OS patching"}}
    with ServiceNowServer(cis=["web-1", "web-2"], templates=templates) as server:
        yield server


@pytest.fixture
def jira():
    with JiraServer() as server:
        yield server


def sn_params(server, **kw):
    out = dict(backend="servicenow", servicenow=dict(host=server.url, username="fleetpatch", password="s3cret"),
               run_id="run-1", patch_group="web", hosts=["web-1", "web-2", "web-3"], owners=["web@example.com"],
               window=WINDOW, patches=PATCHES, assignment_group="Linux Ops")
    out.update(kw)
    return out


def jira_params(server, **kw):
    out = dict(backend="jira", jira=dict(url=server.url, user="bot@example.com", token="api-token", project="ITCHG"),
               run_id="run-1", patch_group="web", hosts=["web-1", "web-2"], owners=["web@example.com"], window=WINDOW,
               patches=PATCHES)
    out.update(kw)
    return out


def writes(server):
    return [c for c in server.log if c["method"] in ("POST", "PATCH", "PUT")]


# -- ServiceNow


@pytest.mark.parametrize("api", ["change", "table"])
def test_servicenow_night_opens_notes_and_closes_one_change(sn, api):
    opts = dict(host=sn.url, username="fleetpatch", password="s3cret", api=api)
    changed, record, result = run(**sn_params(sn, servicenow=opts, state="implement", work_note="snapshot taken: web-1"))
    assert changed and result["created"]
    number = record["number"]
    stored = sn.by_number(number)
    assert stored["state"] == "-1" and stored["correlation_id"] == "fleetpatch:run-1:web"
    assert stored["start_date"] == "2026-11-29 02:00:00" and stored["end_date"] == "2026-11-29 05:00:00"
    assert "openssl=3.0.16-1~deb12u1 (DSA-5865-1, CVE-2024-12797)" in stored["description"]
    assert sn.ci_names(number) == ["web-1", "web-2"]
    assert result["warnings"] == ["hosts not found in the CMDB table cmdb_ci, not attached to the change as configuration "
                                  "items: web-3"]
    assert sn.notes(number) == ["snapshot taken: web-1"]
    assert record["hosts"] == ["web-1", "web-2"]
    state_patches = [c["body"]["state"] for c in sn.calls("PATCH") if "state" in (c["body"] or {})]
    assert state_patches == ["-4", "-3", "-2", "-1"]  # every step of the model, none skipped

    sn.log.clear()
    changed, record, result = run(**sn_params(sn, servicenow=opts, state="implement", work_note="snapshot taken: web-1"))
    assert not changed and record["number"] == number and writes(sn) == []

    changed, record, result = run(**sn_params(sn, servicenow=opts, number=number, state="closed",
                                              host_outcomes={"web-1": "patched", "web-2": "failed", "web-3": "patched"}))
    assert changed and record["state"] == "closed"
    assert stored["state"] == "3" and stored["close_code"] == "successful_issues"
    assert "- web-2: failed" in stored["close_notes"]
    assert len(sn.changes) == 1


def test_servicenow_standard_change_from_a_template(sn):
    changed, record, result = run(**sn_params(sn, change_type="standard", template="Monthly OS patching", state="implement",
                                              assignment_group=None))
    assert record["change_type"] == "standard" and record["state"] == "implement"
    assert [c["path"] for c in sn.calls("POST", "/change/")] == ["/api/sn_chg_rest/v1/change/standard/%s" % next(iter(sn.templates))]
    assert [c["body"]["state"] for c in sn.calls("PATCH") if "state" in (c["body"] or {})] == ["-2", "-1"]


def test_servicenow_unknown_template_is_named(sn):
    with pytest.raises(CRNotFoundError, match="standard change template 'Nightly' is not an active template"):
        run(**sn_params(sn, change_type="standard", template="Nightly"))
    assert sn.changes == {}


def test_servicenow_check_mode_shows_the_payload_and_writes_nothing(sn):
    changed, record, result = run(check_mode=True, **sn_params(sn, state="scheduled", work_note="n"))
    assert changed and record is None and result["created"]
    payload = result["payload"]
    assert payload["method"] == "POST" and payload["path"] == "/api/sn_chg_rest/v1/change/normal"
    assert payload["body"]["correlation_id"] == "fleetpatch:run-1:web"
    assert payload["body"]["start_date"] == "2026-11-29 02:00:00"
    assert [a["to"] for a in result["actions"] if a["action"] == "transition"] == ["assess", "authorize", "scheduled"]
    assert writes(sn) == [] and sn.changes == {}


def test_servicenow_change_waiting_for_approval_is_not_forced(sn):
    sn.require_approval = True
    with pytest.raises(CRTransitionError, match="does not allow CHG0030001 to move from assess to authorize now"):
        run(**sn_params(sn, state="implement"))
    assert sn.by_number("CHG0030001")["state"] == "-4"
    sn.approve("CHG0030001")
    changed, record, result = run(**sn_params(sn, state="implement"))
    assert record["number"] == "CHG0030001" and record["state"] == "implement" and not result["created"]
    assert len(sn.changes) == 1


def test_servicenow_data_policy_is_reported(sn):
    with pytest.raises(CRAuthError, match="mandatory: assignment_group"):
        run(**sn_params(sn, assignment_group=None, state="assess"))
    assert sn.by_number("CHG0030001")["state"] == "-5"


@pytest.mark.parametrize("opts,error,message", [
    ({"password": "wrong"}, CRAuthError, r"refused the credentials \(HTTP 401\): check servicenow.username/password \(SN_USERNAME"),
    ({"username": "reader", "password": "r"}, CRAuthError, r"\(HTTP 403\): check the account's roles"),
    ({"host": "{url}/nowhere"}, CRNotFoundError, "check servicenow.host, and that the Change Management REST API"),
])
def test_servicenow_http_errors_name_what_to_check(sn, opts, error, message):
    sn.users["reader"] = "r"
    sn.readonly_users.add("reader")
    options = dict(host=sn.url, username="fleetpatch", password="s3cret")
    options.update((k, v.format(url=sn.url)) for k, v in opts.items())
    with pytest.raises(error, match=message):
        run(**sn_params(sn, servicenow=options, state="new"))
    assert sn.changes == {}


def test_servicenow_number_that_does_not_exist(sn):
    with pytest.raises(CRNotFoundError, match="change request CHG0099999 does not exist in ServiceNow"):
        run(**sn_params(sn, number="CHG0099999", state="closed", close_code="successful"))


def test_servicenow_credentials_from_the_environment(sn, monkeypatch):
    for name in ("SN_HOST", "SN_USERNAME", "SN_PASSWORD", "SN_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    params = sn_params(sn, servicenow=None)
    with pytest.raises(CRValidationError, match="servicenow.host or SN_HOST"):
        run(**params)
    monkeypatch.setenv("SN_HOST", sn.url)
    with pytest.raises(CRValidationError, match="SN_USERNAME/SN_PASSWORD"):
        run(**params)
    sn.tokens.add("tok-1")
    monkeypatch.setenv("SN_ACCESS_TOKEN", "tok-1")
    assert run(**params)[1]["number"] == "CHG0030001"


def test_servicenow_429_waits_for_retry_after(sn):
    sn.fail_next("GET", r"^/api/sn_chg_rest/v1/change$", 429, retry_after=1)
    changed, record, result = run(**sn_params(sn, state="new"))
    assert record["number"] == "CHG0030001"
    listing = sn.calls("GET", r"^/api/sn_chg_rest/v1/change$")
    assert [c["status"] for c in listing[:2]] == [429, 200]
    assert listing[1]["time"] - listing[0]["time"] >= 1.0


def test_servicenow_500_after_the_create_was_stored_raises_no_second_change(sn):
    sn.fail_next("POST", r"/change/normal$", 500, apply_first=True)
    changed, record, result = run(**sn_params(sn, state="assess"))
    assert len(sn.changes) == 1 and record["number"] == "CHG0030001" and record["state"] == "assess"
    assert [c["status"] for c in sn.calls("POST", r"/change/normal$")] == [500]


def test_servicenow_500_before_the_create_was_stored_is_retried(sn):
    sn.fail_next("POST", r"/change/normal$", 503)
    changed, record, result = run(**sn_params(sn, state="new"))
    assert len(sn.changes) == 1 and [c["status"] for c in sn.calls("POST", r"/change/normal$")] == [503, 200]


def test_servicenow_lost_answer_to_a_note_writes_it_once(sn):
    run(**sn_params(sn, state="new"))
    sn.fail_next("PATCH", r"/change/[0-9a-f]{32}$", 502, apply_first=True)
    changed, record, result = run(**sn_params(sn, work_note="patched: web-1"))
    assert sn.notes("CHG0030001") == ["patched: web-1"]


def test_servicenow_5xx_on_reads_is_retried_then_reported(sn):
    sn.fail_next("GET", r"^/api/sn_chg_rest/v1/change$", 503, times=1)
    assert run(**sn_params(sn, state="new"))[1]["number"] == "CHG0030001"
    sn.fail_next("GET", r"^/api/sn_chg_rest/v1/change$", 500, times=10)
    with pytest.raises(CRBackendError, match=r"answered 500 .* \(after 5 attempts\)"):
        run(**sn_params(sn, state="new"))


def test_servicenow_tls_is_verified(tmp_path):
    paths = make_ca_and_server_cert(str(tmp_path))
    with ServiceNowServer(tls=paths) as server:
        base = sn_params(server, state="new")
        with pytest.raises(CRBackendError, match="TLS verification failed .* give the CA bundle .* with ca_path"):
            run(**base)
        assert server.log == []  # the request never reached the application
        assert run(ca_path=paths["ca"], **base)[1]["number"] == "CHG0030001"
        assert run(validate_certs=False, **base)[1]["number"] == "CHG0030001"
    with pytest.raises(CRValidationError, match="ca_path .* is not a file"):
        run(ca_path=str(tmp_path / "missing.pem"), **base)


# -- Jira Service Management


def test_jira_night_opens_notes_and_closes_one_issue(jira):
    changed, record, result = run(**jira_params(jira, state="implement", work_note="snapshot taken: web-1"))
    assert changed and record["number"] == "ITCHG-1" and record["state"] == "implement"
    issue = jira.issues["ITCHG-1"]
    assert issue["status"] == "Implementing" and issue["issuetype"] == "Change"
    assert "fleetpatch" in issue["labels"] and any(label.startswith("fleetpatch-cr-") for label in issue["labels"])
    assert issue["properties"]["fleetpatch"]["correlation_id"] == "fleetpatch:run-1:web"
    assert [c["body"]["transition"]["id"] for c in jira.calls("POST", "/transitions$")] == ["11", "21", "31", "41"]
    assert jira.comments("ITCHG-1") == ["snapshot taken: web-1"]

    jira.log.clear()
    changed, record, result = run(**jira_params(jira, state="implement", work_note="snapshot taken: web-1"))
    assert not changed and writes(jira) == [] and record["number"] == "ITCHG-1"

    changed, record, result = run(**jira_params(jira, state="closed", host_outcomes={"web-1": "patched", "web-2": "patched"}))
    assert issue["status"] == "Completed" and record["close_code"] == "successful"
    assert issue["properties"]["fleetpatch"]["host_outcomes"] == {"web-1": "patched", "web-2": "patched"}
    assert jira.comments("ITCHG-1")[-1].startswith("Close code: successful. 2 host(s): patched 2.")
    assert len(jira.issues) == 1


def test_jira_data_center_search_and_personal_access_token(jira):
    jira.cloud = False
    jira.pats.add("pat-1")
    opts = dict(url=jira.url, token="pat-1", project="ITCHG")
    first = run(**jira_params(jira, jira=opts, state="scheduled"))[1]
    again = run(**jira_params(jira, jira=opts, state="scheduled"))
    assert not again[0] and again[1]["number"] == first["number"]
    assert {c["path"] for c in jira.calls("GET", "/search")} >= {"/rest/api/2/search"}


def test_jira_workflow_mismatch_names_the_transitions_offered(jira):
    opts = dict(url=jira.url, user="bot@example.com", token="api-token", project="ITCHG", status_map={"assess": "Triage"})
    with pytest.raises(CRTransitionError, match=r"no transition from status 'Open' to 'Triage' .* offers: Plan -> Planning"):
        run(**jira_params(jira, jira=opts, state="assess"))
    assert jira.issues["ITCHG-1"]["status"] == "Open"


def test_jira_approval_gate(jira):
    jira.require_approval = True
    with pytest.raises(CRTransitionError, match="'Awaiting approval' to 'Awaiting implementation'"):
        run(**jira_params(jira, state="scheduled"))
    jira.approve("ITCHG-1")
    assert run(**jira_params(jira, state="scheduled"))[1]["state"] == "scheduled"
    assert len(jira.issues) == 1


@pytest.mark.parametrize("opts,kw,error,message", [
    ({"token": "nope"}, {}, CRAuthError, r"refused the credentials \(HTTP 401\): check jira.user and jira.token \(JIRA_USER/JIRA_TOKEN"),
    ({"project": "NOPE"}, {}, CRValidationError, "Jira rejected POST .* project: valid project is required"),
    ({"issue_type": "Incident"}, {}, CRValidationError, "issuetype: valid issue type is required"),
    ({}, {"number": "ITCHG-99", "state": "closed", "close_code": "successful"}, CRNotFoundError, "Jira issue ITCHG-99 does not exist"),
    ({}, {"number": "CHG0001", "state": "new"}, CRValidationError, "number 'CHG0001' is not a Jira issue key"),
])
def test_jira_errors_name_what_to_check(jira, opts, kw, error, message):
    options = dict(url=jira.url, user="bot@example.com", token="api-token", project="ITCHG")
    options.update(opts)
    with pytest.raises(error, match=message):
        run(**jira_params(jira, jira=options, **kw))
    assert jira.issues == {}


def test_jira_check_mode_payload(jira):
    changed, record, result = run(check_mode=True, **jira_params(jira, state="scheduled"))
    fields = result["payload"]["body"]["fields"]
    assert fields["issuetype"] == {"name": "Change"} and fields["project"] == {"key": "ITCHG"}
    assert "fleetpatch-run-run-1" in fields["labels"]
    assert writes(jira) == [] and jira.issues == {}


def test_jira_429_and_a_lost_comment(jira):
    run(**jira_params(jira, state="new"))
    jira.fail_next("GET", r"/transitions$", 429, retry_after=1)
    jira.fail_next("POST", r"/comment$", 500, apply_first=True)
    changed, record, result = run(**jira_params(jira, state="assess", work_note="started"))
    assert record["state"] == "assess" and jira.comments("ITCHG-1") == ["started"]


def test_jira_credentials_from_the_environment(jira, monkeypatch):
    monkeypatch.setenv("JIRA_URL", jira.url)
    monkeypatch.setenv("JIRA_USER", "bot@example.com")
    monkeypatch.setenv("JIRA_TOKEN", "api-token")
    monkeypatch.setenv("JIRA_PROJECT", "ITCHG")
    assert run(**jira_params(jira, jira=None))[1]["number"] == "ITCHG-1"
    monkeypatch.delenv("JIRA_TOKEN")
    with pytest.raises(CRValidationError, match="jira.token \\(JIRA_TOKEN\\)"):
        run(**jira_params(jira, jira=None))


# -- bad input whatever the backend


@pytest.mark.parametrize("params,message", [
    ({"backend": "remedy"}, "backend 'remedy' is not one of local, servicenow, jira"),
    ({"backend": "local"}, "ledger_path is required with backend=local"),
])
def test_bad_backend_settings(params, message):
    with pytest.raises(CRValidationError, match=message):
        make_backend(dict(params, run_id="r", patch_group="g"))


@pytest.mark.parametrize("backend", ["servicenow", "jira"])
def test_patch_groups_with_tag_characters_are_found_again(sn, jira, backend):
    """A Patch Group tag such as 'team=web prod' ends up in queries (ServiceNow) and labels (Jira)."""
    make = sn_params if backend == "servicenow" else jira_params
    server = sn if backend == "servicenow" else jira
    first = run(**make(server, patch_group="team=web prod/eu", state="new"))
    again = run(**make(server, patch_group="team=web prod/eu", state="new"))
    assert first[2]["created"] and not again[0] and again[1]["number"] == first[1]["number"]
    assert again[1]["correlation_id"] == "fleetpatch:run-1:team=web prod/eu"
