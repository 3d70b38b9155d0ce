# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs shared by change_request and change_request_info (plain data, no Ansible import)."""

from __future__ import annotations

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import cr_model

CONNECTION_SPEC = dict(
    backend=dict(type="str", default="local", choices=["local", "servicenow", "jira"]),
    ledger_path=dict(type="path"),
    servicenow=dict(type="dict", options=dict(
        host=dict(type="str"),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        access_token=dict(type="str", no_log=True),
        api=dict(type="str", default="change", choices=["change", "table"]),
        ci_table=dict(type="str", default="cmdb_ci"),
        extra_fields=dict(type="dict"),
    )),
    jira=dict(type="dict", options=dict(
        url=dict(type="str"),
        user=dict(type="str"),
        token=dict(type="str", no_log=True),
        project=dict(type="str"),
        issue_type=dict(type="str", default="Change"),
        status_map=dict(type="dict"),
        extra_fields=dict(type="dict"),
    )),
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path"),
    redirect_hosts=dict(type="list", elements="str", default=[]),
    timeout=dict(type="float", default=30.0),
    retries=dict(type="int", default=4),
)

CHANGE_REQUEST_SPEC = dict(
    CONNECTION_SPEC,
    run_id=dict(type="str"),
    patch_group=dict(type="str"),
    correlation_id=dict(type="str"),
    number=dict(type="str"),
    state=dict(type="str", default="present", choices=["present"] + list(cr_model.STATES)),
    change_type=dict(type="str", default="normal", choices=list(cr_model.CHANGE_TYPES)),
    template=dict(type="str"),
    short_description=dict(type="str"),
    description=dict(type="str"),
    hosts=dict(type="list", elements="str", default=[]),
    owners=dict(type="list", elements="str", default=[]),
    window=dict(type="dict", options=dict(
        start=dict(type="str"),
        end=dict(type="str"),
        expression=dict(type="str"),
        timezone=dict(type="str"),
    )),
    patches=dict(type="list", elements="raw", default=[]),
    cves=dict(type="list", elements="str", default=[]),
    assignment_group=dict(type="str"),
    work_note=dict(type="str"),
    close_code=dict(type="str", choices=list(cr_model.CLOSE_CODES)),
    close_notes=dict(type="str"),
    host_outcomes=dict(type="dict"),
    outcome_details=dict(type="dict"),
)

CHANGE_REQUEST_REQUIRED_ONE_OF = [("number", "correlation_id", "run_id")]

INFO_SPEC = dict(
    CONNECTION_SPEC,
    number=dict(type="str"),
    correlation_id=dict(type="str"),
    run_id=dict(type="str"),
    patch_group=dict(type="str"),
    state=dict(type="str", choices=list(cr_model.STATES)),
    limit=dict(type="int", default=100),
)
