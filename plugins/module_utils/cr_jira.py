# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jira Service Management change requests: an issue of the Change type, walked through the workflow.

Pure Python, no Ansible import; HTTP and auth are http_client's (Cloud: e-mail + API token as basic
auth; Data Center: a personal access token as bearer). REST API v2 (plain-text description and
comments). The correlation id becomes a label (fleetpatch-cr-<hash>, Jira labels allow no spaces)
and, with the hosts and outcomes, the issue property `fleetpatch`. Our state model maps to the
project's workflow statuses through jira.status_map; each step uses a transition the workflow
offers from the current status, never a jump.
"""

from __future__ import annotations

import hashlib
import re

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import cr_model
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.change_request import HttpBackend, env_or, http_client
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_errors import (
    CRNotFoundError,
    CRTransitionError,
    CRValidationError,
)

API = "rest/api/2"
PROPERTY = "fleetpatch"
# Statuses of Jira Service Management's ITSM change workflow; sites rename them: set jira.status_map.
DEFAULT_STATUS_MAP = {
    "new": "Open",
    "assess": "Planning",
    "authorize": "Awaiting approval",
    "scheduled": "Awaiting implementation",
    "implement": "Implementing",
    "review": "Review",
    "closed": "Completed",
    "canceled": "Canceled",
}
_KEY_RE = re.compile(r"^[A-Z][A-Z0-9_]+-\d+$")


def correlation_label(correlation_id):
    return "fleetpatch-cr-%s" % hashlib.sha256(correlation_id.encode("utf-8")).hexdigest()[:16]


def run_label(run_id):
    return "fleetpatch-run-%s" % re.sub(r"[^A-Za-z0-9_.-]", "_", run_id)


def _jql_string(value):
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')


class JiraBackend(HttpBackend):
    name = "jira"
    service = "Jira"
    credential_hint = ("jira.user and jira.token (JIRA_USER/JIRA_TOKEN: the account's e-mail and an API token), "
                       "or a personal access token alone")
    rights_hint = "the account's project permissions (Browse, Create, Transition, Add comments, Edit issues) in jira.project"
    api_hint = "jira.url (JIRA_URL) and jira.project"

    def __init__(self, client, project=None, issue_type="Change", status_map=None, extra_fields=None):
        super(JiraBackend, self).__init__(client)
        self.project = project
        self.issue_type = issue_type or "Change"
        self.status_map = dict(DEFAULT_STATUS_MAP)
        for state, status in (status_map or {}).items():
            if state not in cr_model.STATES:
                raise CRValidationError("jira.status_map key %r is not a state (%s)" % (state, ", ".join(cr_model.STATES)),
                                        field="jira.status_map")
            if not status:
                raise CRValidationError("jira.status_map.%s must name a workflow status" % state, field="jira.status_map")
            self.status_map[state] = status
        self.extra_fields = dict(extra_fields or {})
        self.search_path = None

    @classmethod
    def from_params(cls, params, environ=None):
        options = params.get("jira") or {}
        url = env_or(options, "url", ["JIRA_URL"], environ)
        user = env_or(options, "user", ["JIRA_USER"], environ)
        token = env_or(options, "token", ["JIRA_TOKEN"], environ)
        if not url:
            raise CRValidationError("backend=jira needs the site: jira.url or JIRA_URL (e.g. https://example.atlassian.net)",
                                    field="jira.url")
        if not token:
            raise CRValidationError("backend=jira needs credentials: jira.token (JIRA_TOKEN), with jira.user (JIRA_USER) for "
                                    "an API token, alone for a personal access token", field="jira.token")
        client = http_client(url, {"username": user, "password": token} if user else {"token": token}, params, "jira.url")
        return cls(client, project=env_or(options, "project", ["JIRA_PROJECT"], environ), issue_type=options.get("issue_type"),
                   status_map=options.get("status_map"), extra_fields=options.get("extra_fields"))

    def _need_project(self):
        if not self.project:
            raise CRValidationError("backend=jira needs jira.project (the project key, e.g. ITCHG) to raise and find changes",
                                    field="jira.project")
        return self.project

    def state_of(self, key, status):
        """Our state for a workflow status: the furthest state mapped to it (two states may share one status)."""
        found = None
        for state in cr_model.STATES:
            if self.status_map[state].lower() == (status or "").lower():
                found = state
        if found is None:
            raise CRTransitionError("Jira issue %s is in status %r, which jira.status_map does not map to a state (%s)" % (
                key, status, ", ".join("%s=%s" % kv for kv in self.status_map.items())), number=key, state=status)
        return found

    # -- reading

    def _search(self, jql, limit):
        query = {"jql": jql, "fields": "summary,status", "maxResults": str(limit)}
        paths = [self.search_path] if self.search_path else [API + "/search/jql", API + "/search"]
        for index, path in enumerate(paths):
            try:
                answer = self.call("GET", path, query=query) or {}
            except CRNotFoundError:
                if index + 1 < len(paths):
                    continue  # Data Center has no /search/jql (Cloud's newer endpoint)
                raise
            self.search_path = path
            return [issue["key"] for issue in answer.get("issues") or []]
        return []

    def _issue(self, key):
        raw = self.call("GET", "%s/issue/%s" % (API, key),
                        query={"fields": "summary,description,status,labels,issuetype,created,updated"},
                        not_found="Jira issue %s does not exist (or the account cannot browse it) at %s" % (key, self.client.base_url))
        fields = raw.get("fields") or {}
        prop = self._property(key)
        status = (fields.get("status") or {}).get("name")
        comments = self._comments(key)
        return {
            "backend": "jira", "id": raw.get("id"), "number": raw.get("key") or key, "key": raw.get("key") or key,
            "state": self.state_of(key, status), "status": status,
            "change_type": prop.get("change_type") or "normal",
            "correlation_id": prop.get("correlation_id"), "run_id": prop.get("run_id"), "patch_group": prop.get("patch_group"),
            "short_description": fields.get("summary"), "description": fields.get("description"),
            "labels": fields.get("labels") or [], "hosts": prop.get("hosts") or [], "owners": prop.get("owners") or [],
            "window": prop.get("window") or {}, "cves": prop.get("cves") or [],
            "close_code": prop.get("close_code"), "close_notes": prop.get("close_notes"),
            "host_outcomes": prop.get("host_outcomes") or {},
            "created_at": fields.get("created"), "updated_at": fields.get("updated"),
            "work_notes": [{"created_at": c.get("created"), "text": c.get("body")} for c in comments],
            "url": "%s/browse/%s" % (self.client.base_url, raw.get("key") or key),
        }

    def _property(self, key):
        try:
            answer = self.call("GET", "%s/issue/%s/properties/%s" % (API, key, PROPERTY)) or {}
        except CRNotFoundError:
            return {}
        return answer.get("value") or {}

    def find(self, correlation_id):
        project = self._need_project()
        keys = self._search("project = %s AND labels = %s ORDER BY created ASC" % (
            _jql_string(project), _jql_string(correlation_label(correlation_id))), 2)
        return self._issue(keys[0]) if keys else None

    def get(self, number):
        if not _KEY_RE.match(number or ""):
            raise CRValidationError("number %r is not a Jira issue key such as ITCHG-42" % (number,), field="number")
        return self._issue(number)

    def list(self, correlation_prefix=None, state=None, limit=100):
        project = self._need_project()
        clauses = ["project = %s" % _jql_string(project), "labels = fleetpatch"]
        if correlation_prefix:
            run_id = correlation_prefix.split(":")[1]
            clauses.append("labels = %s" % _jql_string(run_label(run_id)))
        if state:
            clauses.append("status = %s" % _jql_string(self.status_map[state]))
        return [self._issue(key) for key in self._search(" AND ".join(clauses) + " ORDER BY key ASC", limit)]

    # -- writing

    def create_payload(self, spec):
        labels = ["fleetpatch", correlation_label(spec["correlation_id"])]
        if spec["run_id"]:
            labels.append(run_label(spec["run_id"]))
        fields = {
            "project": {"key": self.project or "(jira.project)"},
            "issuetype": {"name": self.issue_type},
            "summary": spec["short_description"][:255],
            "description": spec["description"],
            "labels": labels,
        }
        fields.update(self.extra_fields)
        return {"method": "POST", "path": "/%s/issue" % API, "body": {"fields": fields},
                "property": self._property_value(spec)}

    def _property_value(self, spec):
        keys = ("correlation_id", "run_id", "patch_group", "change_type", "hosts", "owners", "window", "cves")
        return dict((k, spec.get(k)) for k in keys)

    def create(self, spec):
        self._need_project()
        payload = self.create_payload(spec)
        answer = self.call("POST", API + "/issue", body=payload["body"], retry_server_errors=False) or {}
        key = answer.get("key")
        if not key:
            raise CRTransitionError("Jira answered the create with no issue key: %r" % (answer,))
        self.call("PUT", "%s/issue/%s/properties/%s" % (API, key, PROPERTY), body=payload["property"])
        return self._issue(key)

    def move(self, record, state, fields=None):
        cr_model.check_step(record["change_type"], record["state"], state)
        key = record["key"]
        wanted = self.status_map[state]
        if fields and fields.get("close_code"):
            prop = self._property(key)
            prop.update((k, fields.get(k)) for k in ("close_code", "close_notes", "host_outcomes") if fields.get(k) is not None)
            self.call("PUT", "%s/issue/%s/properties/%s" % (API, key, PROPERTY), body=prop)
            text = fields.get("close_notes") or ""
            if fields["close_code"] not in text:
                text = "Close code: %s\n\n%s" % (fields["close_code"], text)
            if not self.has_note(record, text):
                self.add_note(record, text)
        if (record.get("status") or "").lower() != wanted.lower():
            offered = (self.call("GET", "%s/issue/%s/transitions" % (API, key)) or {}).get("transitions") or []
            chosen = [t for t in offered if ((t.get("to") or {}).get("name") or "").lower() == wanted.lower()]
            if not chosen:
                raise CRTransitionError(
                    "Jira offers no transition from status %r to %r (state %s) for %s; it offers: %s. Check jira.status_map "
                    "against the project's workflow, or approvals still pending" % (
                        record.get("status"), wanted, state, key,
                        ", ".join("%s -> %s" % (t.get("name"), (t.get("to") or {}).get("name")) for t in offered) or "none"),
                    number=key, state=state, current_state=record["state"])

            def recover():
                return True if (self._status(key) or "").lower() == wanted.lower() else None

            self.write_with_recovery(
                lambda: self.call("POST", "%s/issue/%s/transitions" % (API, key), body={"transition": {"id": chosen[0]["id"]}},
                                  retry_server_errors=False), recover)
            now = self._status(key)
            if (now or "").lower() != wanted.lower():
                raise CRTransitionError("Jira kept %s in status %r after the transition to %r (a workflow condition or "
                                        "validator held it)" % (key, now, wanted), number=key, state=state)
        return dict(record, state=state, status=wanted)

    def _status(self, key):
        raw = self.call("GET", "%s/issue/%s" % (API, key), query={"fields": "status"}) or {}
        return ((raw.get("fields") or {}).get("status") or {}).get("name")

    def _comments(self, key):
        answer = self.call("GET", "%s/issue/%s/comment" % (API, key), query={"maxResults": "1000"}) or {}
        return answer.get("comments") or []

    def has_note(self, record, text):
        return any((c.get("body") or "").strip() == text.strip() for c in self._comments(record["key"]))

    def add_note(self, record, text):
        self.write_with_recovery(
            lambda: self.call("POST", "%s/issue/%s/comment" % (API, record["key"]), body={"body": text}, retry_server_errors=False),
            lambda: True if self.has_note(record, text) else None)
