"""Where a play of controller steps runs (module_utils/controller.py)."""

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.controller import controller_hosts


@pytest.mark.parametrize("limit", [None, "", "  "])
def test_without_a_limit_the_controller_play_is_localhost_alone(limit):
    assert controller_hosts("all", limit) == "localhost"
    assert controller_hosts("patch_group_dev", limit) == "localhost"


@pytest.mark.parametrize("limit", ["patch_group_dev", "web-dev-1:localhost", "@retry.txt"])
def test_under_a_limit_the_targeted_hosts_join_localhost(limit):
    # localhost first: when the limit keeps it, it runs the steps itself, as without a limit
    assert controller_hosts("all", limit) == "localhost:all"
    assert controller_hosts(" web:&prod ", limit) == "localhost:web:&prod"


def test_a_list_of_targets_is_one_pattern():
    assert controller_hosts(["web", "db"], "web") == "localhost:web:db"


@pytest.mark.parametrize("targets", ["", "  ", None, 3, [], ["web", ""], [None]])
def test_bad_targets_name_the_variable(targets):
    with pytest.raises(ValueError, match="fleetpatch_targets"):
        controller_hosts(targets, "web")
