"""Fixtures for integration tests (helpers in fleetlib.py)."""

import os

import pytest
from fleetlib import HOSTS, localfleet


@pytest.fixture(scope="session")
def fleet():
    if os.geteuid() != 0:
        pytest.fail("integration tests need root (local test hosts use namespaces and overlays)")
    localfleet("up", "3", "--el", "1", "--fresh")
    localfleet("aws", "seed")
    yield HOSTS
    localfleet("down")
