"""module_utils/collector.py: the cyclic collector on or off within a block, as it was after it (also on errors)."""

import gc

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.collector import collector


@pytest.mark.parametrize("before", [True, False])
@pytest.mark.parametrize("enabled", [True, False])
def test_the_block_sets_it_and_the_state_before_comes_back(before, enabled):
    (gc.enable if before else gc.disable)()
    try:
        with collector(enabled):
            assert gc.isenabled() is enabled
        assert gc.isenabled() is before
        with pytest.raises(RuntimeError):
            with collector(enabled):
                raise RuntimeError("the block fails")
        assert gc.isenabled() is before
    finally:
        gc.enable()
