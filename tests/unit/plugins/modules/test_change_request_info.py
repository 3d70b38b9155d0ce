"""change_request_info through its run(), against the local ledger and the contract servers."""

import os
import sys

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.change_request import ensure, info, make_backend
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_args import INFO_SPEC
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_errors import CRNotFoundError, CRValidationError
from ansible_collections.fleetpatch.hybrid.plugins.modules import change_request_info as module_under_test

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "integration"))
from cr_servers.jira import JiraServer  # noqa: E402
from cr_servers.servicenow import ServiceNowServer  # noqa: E402


class FakeModule(object):
    def __init__(self, **params):
        result = ArgumentSpecValidator(INFO_SPEC).validate(params)
        assert not result.error_messages, result.error_messages
        self.params = result.validated_parameters
        self.check_mode = False


def read(**params):
    module = FakeModule(**params)
    backend = make_backend(module.params, check_mode=True)
    try:
        return module_under_test.run(module, backend)
    finally:
        backend.close()


def raise_changes(connection, runs_groups, **extra):
    for run_id, group, state in runs_groups:
        params = dict(connection, run_id=run_id, patch_group=group, state=state, hosts=["%s-1" % group],
                      window={"start": "2026-11-29T02:00:00Z", "end": "2026-11-29T05:00:00Z"}, assignment_group="ops", **extra)
        backend = make_backend(params)
        try:
            ensure(backend, params)
        finally:
            backend.close()


RUNS = [("r1", "web", "scheduled"), ("r1", "db", "new"), ("r2", "web", "new")]


@pytest.fixture(params=["local", "servicenow", "jira"])
def connection(request, tmp_path):
    if request.param == "local":
        yield {"backend": "local", "ledger_path": str(tmp_path / "ledger.db")}
        return
    if request.param == "servicenow":
        with ServiceNowServer(cis=["web-1", "db-1"]) as server:
            yield {"backend": "servicenow", "servicenow": {"host": server.url, "username": "fleetpatch", "password": "s3cret"}}
        return
    with JiraServer() as server:
        yield {"backend": "jira", "jira": {"url": server.url, "user": "bot@example.com", "token": "api-token", "project": "ITCHG"}}


def test_lists_a_run_reads_one_and_filters_by_state(connection):
    raise_changes(connection, RUNS)
    listed = read(run_id="r1", **connection)
    assert sorted(r["correlation_id"] for r in listed) == ["fleetpatch:r1:db", "fleetpatch:r1:web"]
    one = read(run_id="r1", patch_group="web", **connection)
    assert [r["state"] for r in one] == ["scheduled"]
    assert read(number=one[0]["number"], **connection)[0]["correlation_id"] == "fleetpatch:r1:web"
    assert sorted(r["correlation_id"] for r in read(state="new", **connection)) == ["fleetpatch:r1:db", "fleetpatch:r2:web"]
    assert read(correlation_id="fleetpatch:r9:web", **connection) == []


def test_a_number_that_does_not_exist_is_an_error(connection):
    number = {"local": "CHG0009999", "servicenow": "CHG0009999", "jira": "ITCHG-999"}[connection["backend"]]
    with pytest.raises(CRNotFoundError, match=number):
        read(number=number, **connection)


def test_bad_state_filter():
    with pytest.raises(CRValidationError, match="state 'open' is not one of new, assess"):
        info(None, {"state": "open"})
