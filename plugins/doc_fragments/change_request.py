# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    # The backend and connection options change_request and change_request_info share.
    DOCUMENTATION = r"""
options:
  backend:
    description: Where change requests live.
    type: str
    choices: [local, servicenow, jira]
    default: local
  ledger_path:
    description: The run ledger (SQLite) with O(backend=local); created with its tables when missing.
    type: path
  servicenow:
    description: The ServiceNow instance, with O(backend=servicenow).
    type: dict
    suboptions:
      host:
        description: The instance URL such as V(https://example.service-now.com); else C(SN_HOST).
        type: str
      username:
        description: User for basic auth; else C(SN_USERNAME).
        type: str
      password:
        description: Password for basic auth; else C(SN_PASSWORD).
        type: str
      access_token:
        description: An OAuth access token (bearer), instead of user and password; else C(SN_ACCESS_TOKEN).
        type: str
      api:
        description: V(change) is the Change Management API (C(/api/sn_chg_rest/v1/change)), V(table) the Table API.
        type: str
        choices: [change, table]
        default: change
      ci_table:
        description: The CMDB table where hosts are looked up by name to attach them as configuration items.
        type: str
        default: cmdb_ci
      extra_fields:
        description: More fields for a new change (category, risk, impact, ...), as the instance requires; not used when reading.
        type: dict
  jira:
    description: The Jira Service Management site, with O(backend=jira).
    type: dict
    suboptions:
      url:
        description: The site URL such as V(https://example.atlassian.net); else C(JIRA_URL).
        type: str
      user:
        description: The account's e-mail (Cloud API token); else C(JIRA_USER). Without it O(jira.token) is a personal access token.
        type: str
      token:
        description: The API token or personal access token; else C(JIRA_TOKEN).
        type: str
      project:
        description: The project key of the service space; else C(JIRA_PROJECT).
        type: str
      issue_type:
        description: The issue type of change requests.
        type: str
        default: Change
      status_map:
        description: Workflow status for each state, where the project's workflow names them otherwise.
        type: dict
      extra_fields:
        description: More fields for a new issue (custom fields of the change type); not used when reading.
        type: dict
  validate_certs:
    description: Verify the service's TLS certificate. Leave it on.
    type: bool
    default: true
  ca_path:
    description: A PEM bundle of the CA that signed the service's certificate, for a private CA.
    type: path
  redirect_hosts:
    description:
      - Hosts to which the service may redirect a request. A redirect to any other host (or from https to http)
        is an error, and an allowed one is followed without the credentials, which are only ever sent to the
        configured service URL.
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds to wait for each HTTP answer.
    type: float
    default: 30.0
  retries:
    description: Retries of a request answered 429, 5xx or not at all, before giving up.
    type: int
    default: 4
"""
