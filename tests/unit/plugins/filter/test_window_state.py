"""The window_state filter: the module's answer without a task, errors as AnsibleFilterError."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.hybrid.plugins.filter.window_state import FilterModule

window_state = FilterModule().filters()["window_state"]
WINDOW = {"name": "web-prod", "schedule": "cron(0 22 ? * SAT *)", "timezone": "Europe/Berlin", "duration": "4", "cutoff": 1}


@pytest.mark.parametrize("at,force,inside,allowed,forced", [
    ("2026-11-28T22:30:00+01:00", False, True, True, False),
    ("2026-11-29T01:00:00+01:00", False, True, False, False),   # the cutoff itself: no new start
    ("2026-11-29T01:00:00+01:00", "yes", True, True, True),
    ("2026-11-27T22:30:00+01:00", False, False, False, False),
    ("2026-11-27T22:30:00+01:00", "true", False, True, True),
    ("2026-11-27T22:30:00+01:00", "false", False, False, False),  # a string from a template is not truthy
])
def test_window_state(at, force, inside, allowed, forced):
    result = window_state(WINDOW, at, force)
    assert (result["inside"], result["allowed_to_start"], result["forced"]) == (inside, allowed, forced)


def test_defaults_to_now():
    result = window_state(WINDOW)
    assert result["next_start"] is not None and result["timezone"] == "Europe/Berlin"


@pytest.mark.parametrize("window,at,force,words", [
    (dict(WINDOW, schedule="cron(0 2 31 2 ? *)"), None, False, ["window_state: maintenance window schedule:", "never fires"]),
    (dict(WINDOW, cutoff=4), None, False, ["cutoff: 4", "less than duration"]),
    ("cron(0 22 ? * SAT *)", None, False, ["window: 'cron(0 22 ? * SAT *)' is not a mapping"]),
    (WINDOW, "later", False, ["at: 'later'"]),
    (WINDOW, None, "perhaps", ["force 'perhaps' is not a boolean"]),
])
def test_errors(window, at, force, words):
    with pytest.raises(AnsibleFilterError) as caught:
        window_state(window, at, force)
    for word in words:
        assert word in str(caught.value)
