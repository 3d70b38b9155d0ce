"""The maintenance_window module: main() through AnsibleModule, and its run() function."""

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.maintenance_window import window_state
from ansible_collections.fleetpatch.hybrid.plugins.modules import maintenance_window as module

BERLIN_SATURDAY = {"schedule": "cron(0 22 ? * SAT *)", "timezone": "Europe/Berlin", "duration": 4, "cutoff": 1}


def run_main(args, capsys):
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        module.main()
    result = json.loads(capsys.readouterr().out)
    return exited.value.code, result


@pytest.mark.parametrize("at,force,expected", [
    ("2026-11-28T23:30:00+01:00", False,
     {"inside": True, "allowed_to_start": True, "forced": False, "window_start": "2026-11-28T22:00:00+01:00",
      "window_end": "2026-11-29T02:00:00+01:00", "cutoff_at": "2026-11-29T01:00:00+01:00",
      "next_start": "2026-12-05T22:00:00+01:00", "next_end": "2026-12-06T02:00:00+01:00", "seconds_until_cutoff": 5400}),
    ("2026-11-29T01:30:00+01:00", False,
     {"inside": True, "allowed_to_start": False, "seconds_until_cutoff": 0}),
    ("2026-11-27T12:00:00Z", False,
     {"inside": False, "allowed_to_start": False, "window_start": None, "window_end": None, "cutoff_at": None,
      "seconds_until_cutoff": None, "next_start": "2026-11-28T22:00:00+01:00"}),
    ("2026-11-27T12:00:00Z", True, {"inside": False, "allowed_to_start": True, "forced": True}),
])
def test_main_reports_the_window(capsys, at, force, expected):
    code, result = run_main(dict(BERLIN_SATURDAY, at=at, force=force), capsys)
    assert code == 0 and result["changed"] is False and not result.get("failed")
    assert dict((key, result[key]) for key in expected) == expected
    assert result["reason"]


def test_check_mode_gives_the_same_answer(capsys):
    args = dict(BERLIN_SATURDAY, at="2026-11-28T23:30:00+01:00")
    dummy, normal = run_main(args, capsys)
    dummy, checked = run_main(dict(args, _ansible_check_mode=True), capsys)
    for key in ("inside", "allowed_to_start", "window_start", "cutoff_at", "next_start", "reason"):
        assert checked[key] == normal[key]
    assert checked["changed"] is False


def test_now_is_the_default(capsys):
    code, result = run_main(dict(BERLIN_SATURDAY), capsys)
    assert code == 0 and result["at"] and result["next_start"] and result["timezone"] == "Europe/Berlin"


@pytest.mark.parametrize("args,field,words", [
    (dict(BERLIN_SATURDAY, schedule="cron(0 2 30 2 ? *)"), "schedule", ["never fires"]),
    (dict(BERLIN_SATURDAY, timezone="Europe/Berlinn"), "timezone", ["'Europe/Berlinn'"]),
    (dict(BERLIN_SATURDAY, cutoff=4), "cutoff", ["less than duration (4)"]),
    (dict(BERLIN_SATURDAY, at="soon"), "at", ["'soon'", "ISO 8601"]),
    (dict(BERLIN_SATURDAY, schedule="rate(2 hours)"), "start_date", ["required with rate(2 hours)"]),
])
def test_bad_input_fails_with_one_message(capsys, args, field, words):
    code, result = run_main(args, capsys)
    assert code == 1 and result["failed"] is True and result["field"] == field
    assert result["msg"].startswith("maintenance window %s: " % field)
    for word in words:
        assert word in result["msg"]
    assert "Traceback" not in result["msg"]


def test_missing_duration_is_refused_by_the_argument_spec(capsys):
    code, result = run_main({"schedule": "cron(0 22 ? * SAT *)"}, capsys)
    assert code == 1 and "duration" in result["msg"]


def test_run_takes_plain_parameters():
    result = window_state({"schedule": "rate(8 hours)", "timezone": "UTC", "duration": 2, "cutoff": 1,
                           "schedule_offset": 0, "start_date": "2026-01-01T00:00:00Z", "end_date": None,
                           "at": "2026-01-01T08:30:00Z", "force": False})
    assert (result["inside"], result["allowed_to_start"], result["cutoff_at"]) == (True, True, "2026-01-01T09:00:00+00:00")
