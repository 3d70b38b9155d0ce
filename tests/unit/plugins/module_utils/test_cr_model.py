import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import cr_model
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_errors import CRTransitionError, CRValidationError


@pytest.mark.parametrize("change_type,current,target,steps,past", [
    ("normal", "new", "implement", ["assess", "authorize", "scheduled", "implement"], False),
    ("normal", "new", "closed", ["assess", "authorize", "scheduled", "implement", "review", "closed"], False),
    ("normal", "scheduled", "scheduled", [], False),
    ("normal", "implement", "scheduled", [], True),
    ("normal", "closed", "implement", [], True),
    ("normal", "assess", "canceled", ["canceled"], False),
    ("normal", "implement", "canceled", ["canceled"], False),
    ("standard", "new", "implement", ["scheduled", "implement"], False),
    ("standard", "new", "closed", ["scheduled", "implement", "review", "closed"], False),
    ("emergency", "new", "scheduled", ["authorize", "scheduled"], False),
    ("emergency", "authorize", "review", ["scheduled", "implement", "review"], False),
])
def test_plan_walks_every_intermediate_state(change_type, current, target, steps, past):
    assert cr_model.plan_transitions(change_type, current, target) == (steps, past)
    previous = current
    for step in steps:  # every step is one the model allows
        assert step in cr_model.TRANSITIONS[change_type][previous]
        previous = step


@pytest.mark.parametrize("change_type,current,target,message", [
    ("standard", "new", "assess", "state 'assess' is not in the standard change model"),
    ("emergency", "new", "assess", "state 'assess' is not in the emergency change model"),
    ("normal", "review", "canceled", "does not allow review -> canceled"),
    ("normal", "closed", "canceled", "does not allow closed -> canceled"),
    ("normal", "canceled", "implement", "a canceled change cannot move to implement"),
    ("normal", "new", "done", "state 'done' is not in the normal change model"),
])
def test_plan_refuses_what_the_model_does_not_allow(change_type, current, target, message):
    with pytest.raises(CRTransitionError, match=message):
        cr_model.plan_transitions(change_type, current, target)


def test_check_step_names_the_allowed_states():
    with pytest.raises(CRTransitionError, match=r"new -> scheduled \(from new: assess, canceled\)"):
        cr_model.check_step("normal", "new", "scheduled")
    with pytest.raises(CRTransitionError, match="no transition, it is final"):
        cr_model.check_step("normal", "closed", "review")


def test_state_values_match_servicenow():
    assert cr_model.SERVICENOW_STATE_VALUES["new"] == "-5"
    assert cr_model.SERVICENOW_STATE_VALUES["closed"] == "3"
    assert cr_model.SERVICENOW_STATE_NAMES["4"] == "canceled"
    assert sorted(cr_model.SERVICENOW_STATE_VALUES) == sorted(cr_model.STATES)


@pytest.mark.parametrize("outcomes,hosts,code", [
    ({"a": "patched", "b": "compliant"}, (), "successful"),
    ({"a": "patched", "b": "failed"}, (), "successful_issues"),
    ({"a": "failed", "b": "unreachable"}, (), "unsuccessful"),
    ({"a": "patched"}, ("a", "b"), "successful_issues"),  # b has no outcome: incomplete
    ({}, ("a",), "unsuccessful"),
    ({"a": "rolled_back"}, (), "unsuccessful"),
    ({"a": "patched", "b": "rollback_failed", "c": "compliant"}, (), "successful_issues"),
])
def test_close_code_follows_the_outcomes(outcomes, hosts, code):
    assert cr_model.derive_close_code(outcomes, hosts) == code


@pytest.mark.parametrize("outcomes,message", [
    ({}, "no host outcome to derive a close code from"),
    ({"a": ""}, r"host_outcomes\[a\] must be an outcome word"),
    (["a"], "host_outcomes must be a dict"),
])
def test_close_code_bad_input(outcomes, message):
    with pytest.raises(CRValidationError, match=message):
        cr_model.derive_close_code(outcomes)


def test_close_notes_list_every_host_with_its_outcome():
    notes = cr_model.close_notes({"b": "failed", "a": "patched"}, ("a", "b", "c"), {"b": "patch: dpkg lock"}, "fleetpatch:r:g")
    assert notes.splitlines() == [
        "Close code: successful_issues. 3 host(s): failed 1, incomplete 1, patched 1.",
        "- a: patched",
        "- b: failed (patch: dpkg lock)",
        "- c: incomplete",
        "Correlation id: fleetpatch:r:g",
    ]


@pytest.mark.parametrize("run_id,group,expected", [
    ("run-20261129T020000Z", "web-prod", "fleetpatch:run-20261129T020000Z:web-prod"),
    ("r1", "Web Prod", "fleetpatch:r1:Web Prod"),
    ("r1", "team=web/prod@eu", "fleetpatch:r1:team=web/prod@eu"),
])
def test_correlation_id(run_id, group, expected):
    assert cr_model.correlation_id(run_id, group) == expected


@pytest.mark.parametrize("run_id,group,message", [
    ("", "web", "run_id is required"),
    ("r1", None, "patch_group is required"),
    ("r1", "a^b", "must be 1-100 characters"),
    ("r1", "x" * 100, "must be 1-100 characters"),
])
def test_correlation_id_bad_input(run_id, group, message):
    with pytest.raises(CRValidationError, match=message):
        cr_model.correlation_id(run_id, group)


def test_spec_normalises_and_describes():
    spec = cr_model.make_spec({
        "run_id": "r1", "patch_group": "web", "hosts": ["h2", "h1", "h1"], "owners": ["o@example.com"],
        "window": {"start": "2026-11-29T03:00:00+01:00", "end": "2026-11-29 05:00:00", "expression": "cron(0 2 ? * SUN *)"},
        "patches": [{"name": "openssl", "candidate_version": "3.0.16", "cves": ["CVE-2024-12797"], "advisories": ["DSA-5865-1"]},
                    "tzdata=2026b"],
        "cves": ["CVE-2026-10001"],
    })
    assert spec["correlation_id"] == "fleetpatch:r1:web"
    assert spec["hosts"] == ["h1", "h2"]
    assert spec["window"] == {"start": "2026-11-29T02:00:00Z", "end": "2026-11-29T05:00:00Z", "expression": "cron(0 2 ? * SUN *)"}
    assert spec["cves"] == ["CVE-2024-12797", "CVE-2026-10001"]
    assert [p["name"] for p in spec["patches"]] == ["openssl", "tzdata"]
    assert spec["short_description"] == "Patch night: patch group web, 2 host(s) on 2026-11-29"
    assert "  - openssl=3.0.16 (DSA-5865-1, CVE-2024-12797)" in spec["description"].splitlines()
    assert "Hosts (2): h1, h2" in spec["description"].splitlines()


@pytest.mark.parametrize("params,message", [
    ({"change_type": "urgent"}, "change_type 'urgent' is not one of normal, standard, emergency"),
    ({"window": {"start": "tomorrow"}}, "window.start 'tomorrow' is not an ISO 8601 time"),
    ({"window": {"start": "2026-11-29T05:00:00Z", "end": "2026-11-29T02:00:00Z"}}, "window.end .* is not after window.start"),
    ({"window": {"begin": "2026-11-29T05:00:00Z"}}, "window has unknown keys begin"),
    ({"patches": [{"version": "1"}]}, r"patches\[0\] needs a name"),
    ({"cves": ["CVE-26-1"]}, "cves: 'CVE-26-1' is not a CVE id"),
    ({"hosts": ["ok", ""]}, "hosts must be a list of non-empty strings"),
])
def test_spec_bad_input_names_the_field(params, message):
    with pytest.raises(CRValidationError, match=message):
        cr_model.make_spec(dict({"run_id": "r1", "patch_group": "g"}, **params))


def test_the_same_patch_from_several_hosts_is_listed_once():
    patches = cr_model.normalize_patches([
        {"name": "openssl", "candidate_version": "3.0.16", "installed_version": "3.0.15", "cves": ["CVE-2024-12797"]},
        {"name": "openssl", "candidate_version": "3.0.16", "installed_version": "3.0.14", "cves": ["CVE-2024-13176"]},
        "openssl=3.0.17",
    ])
    assert patches == [
        {"name": "openssl", "version": "3.0.16", "cves": ["CVE-2024-12797", "CVE-2024-13176"], "advisories": []},
        {"name": "openssl", "version": "3.0.17", "cves": [], "advisories": []},
    ]
