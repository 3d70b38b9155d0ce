# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ServiceNow change requests: the Change Management API (sn_chg_rest) or the Table API.

Pure Python, no Ansible import; HTTP and auth are http_client's. Records are found by the task's
correlation_id; the state is walked one step at a time and, with the Change Management API, each
step is first checked against the instance's own next states (GET .../nextstates), so a change
waiting for its approval is reported as such instead of being forced. Hosts become configuration
items of the change (task_ci); work notes go to the work_notes journal and are read back from
sys_journal_field so a retried note is not written twice.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import cr_model
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.change_request import HttpBackend, env_or, http_client
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_errors import (
    CRNotFoundError,
    CRTransitionError,
    CRValidationError,
)

APIS = ("change", "table")
CHANGE_API = "api/sn_chg_rest/v1/change"
TABLE_API = "api/now/table"
FIELDS = ("sys_id", "number", "state", "type", "correlation_id", "short_description", "description", "start_date",
          "end_date", "close_code", "close_notes", "assignment_group", "sys_created_on", "sys_updated_on")
_SYS_ID_RE = re.compile(r"^[0-9a-f]{32}$")

PLANS = {
    "implementation_plan": "fleetpatch.hybrid patch night per host, in rolling batches: preflight, snapshot, install exactly "
                           "the approved package versions, reboot when needed, validate application health, rescan.",
    "backout_plan": "Per host: restore the pre-patch snapshot, or downgrade the packages to the versions recorded in the "
                    "run ledger before patching (rollback role).",
    "test_plan": "Application health checks per host after patching, and a rescan proving the approved versions are "
                 "installed and their CVEs closed.",
}


def sn_escape(value):
    """A value for an encoded query: ServiceNow reads ^^ as a literal ^, and ^ alone starts a new clause.

    Without it a tag such as web-1^ORnameISNOTEMPTY would add a clause matching every record.
    """
    return str(value).replace("^", "^^")


def _value(field):
    """A field as the Table API (plain) or the Change API ({value, display_value}) returns it."""
    if isinstance(field, dict):
        return field.get("value")
    return field


def sn_time(iso_text):
    """ServiceNow's internal UTC date-time format (YYYY-MM-DD HH:MM:SS) from an ISO time."""
    if not iso_text:
        return None
    return cr_model.parse_time("window", iso_text).strftime("%Y-%m-%d %H:%M:%S")


class ServiceNowBackend(HttpBackend):
    name = "servicenow"
    service = "ServiceNow"
    credential_hint = "servicenow.username/password (SN_USERNAME/SN_PASSWORD) or servicenow.access_token (SN_ACCESS_TOKEN)"
    rights_hint = ("the account's roles (itil or sn_change_write to write changes, read on task_ci, cmdb_ci and "
                   "sys_journal_field), or a business rule or data policy of the instance that refused the update")
    api_hint = ("servicenow.host, and that the Change Management REST API (plugin com.snc.change_management.rest_api) is "
                "active, or use servicenow.api=table")

    def __init__(self, client, api="change", ci_table="cmdb_ci", extra_fields=None):
        super(ServiceNowBackend, self).__init__(client)
        if api not in APIS:
            raise CRValidationError("servicenow.api %r is not one of %s" % (api, ", ".join(APIS)), field="servicenow.api")
        self.api = api
        self.ci_table = ci_table or "cmdb_ci"
        self.extra_fields = dict(extra_fields or {})

    @classmethod
    def from_params(cls, params, environ=None):
        options = params.get("servicenow") or {}
        host = env_or(options, "host", ["SN_HOST"], environ)
        username = env_or(options, "username", ["SN_USERNAME"], environ)
        password = env_or(options, "password", ["SN_PASSWORD"], environ)
        token = env_or(options, "access_token", ["SN_ACCESS_TOKEN"], environ)
        if not host:
            raise CRValidationError("backend=servicenow needs the instance: servicenow.host or SN_HOST "
                                    "(e.g. https://example.service-now.com)", field="servicenow.host")
        if not token and not (username and password):
            raise CRValidationError("backend=servicenow needs credentials: servicenow.username and servicenow.password "
                                    "(SN_USERNAME/SN_PASSWORD), or servicenow.access_token (SN_ACCESS_TOKEN)",
                                    field="servicenow.username")
        if "://" not in host:
            host = "https://" + host
        auth = {"token": token} if token and not username else {"username": username, "password": password}
        client = http_client(host, auth, params, "servicenow.host")
        return cls(client, api=options.get("api") or "change", ci_table=options.get("ci_table"),
                   extra_fields=options.get("extra_fields"))

    # -- reading

    def _list_path(self):
        return CHANGE_API if self.api == "change" else TABLE_API + "/change_request"

    def _query(self, sysparm_query, limit):
        query = {"sysparm_query": sysparm_query, "sysparm_limit": str(limit)}
        if self.api == "table":
            query.update(sysparm_fields=",".join(FIELDS), sysparm_exclude_reference_link="true")
        return (self.call("GET", self._list_path(), query=query) or {}).get("result") or []

    def _record(self, raw):
        fields = dict((k, _value(raw.get(k))) for k in FIELDS)
        sys_id = fields["sys_id"]
        state = cr_model.SERVICENOW_STATE_NAMES.get(str(fields["state"]))
        if state is None:
            raise CRTransitionError("ServiceNow change %s is in state %r, which is not in the change state model (%s)" % (
                fields["number"], fields["state"], ", ".join("%s=%s" % kv for kv in cr_model.SERVICENOW_STATE_VALUES.items())),
                state=fields["state"])
        record = {
            "backend": "servicenow", "id": sys_id, "sys_id": sys_id, "number": fields["number"], "state": state,
            "change_type": fields["type"] if fields["type"] in cr_model.CHANGE_TYPES else "normal",
            "correlation_id": fields["correlation_id"], "short_description": fields["short_description"],
            "description": fields["description"], "close_code": fields["close_code"] or None,
            "close_notes": fields["close_notes"] or None, "assignment_group": fields["assignment_group"] or None,
            "window": dict((k, v) for k, v in (("start", _iso(fields["start_date"])), ("end", _iso(fields["end_date"]))) if v),
            "created_at": fields["sys_created_on"], "updated_at": fields["sys_updated_on"],
            "url": "%s/nav_to.do?uri=change_request.do?sys_id=%s" % (self.client.base_url, sys_id),
        }
        record["hosts"] = sorted(self._cis(sys_id).values())
        record["work_notes"] = self._notes(sys_id)
        return record

    def find(self, correlation_id):
        found = self._query("correlation_id=%s^ORDERBYsys_created_on" % sn_escape(correlation_id), 2)
        return self._record(found[0]) if found else None

    def get(self, number):
        if not re.match(r"^[A-Za-z0-9_-]+$", number or ""):
            raise CRValidationError("number %r is not a change number such as CHG0030001" % (number,), field="number")
        found = self._query("number=%s" % sn_escape(number), 1)
        if not found:
            raise CRNotFoundError("change request %s does not exist in ServiceNow %s (or the account cannot read it)"
                                  % (number, self.client.base_url), number=number)
        return self._record(found[0])

    def list(self, correlation_prefix=None, state=None, limit=100):
        clauses = ["correlation_idSTARTSWITH%s" % sn_escape(correlation_prefix or cr_model.CORRELATION_PREFIX + ":")]
        if state:
            clauses.append("state=%s" % cr_model.SERVICENOW_STATE_VALUES[state])
        clauses.append("ORDERBYnumber")
        return [self._record(raw) for raw in self._query("^".join(clauses), limit)]

    def _cis(self, sys_id):
        rows = (self.call("GET", TABLE_API + "/task_ci", query={
            "sysparm_query": "task=%s" % sn_escape(sys_id), "sysparm_fields": "ci_item", "sysparm_display_value": "all",
            "sysparm_limit": "1000"}) or {}).get("result") or []
        out = {}
        for row in rows:
            item = row.get("ci_item") or {}
            if isinstance(item, dict) and item.get("value"):
                out[item["value"]] = item.get("display_value") or item["value"]
        return out

    def _notes(self, sys_id):
        rows = (self.call("GET", TABLE_API + "/sys_journal_field", query={
            "sysparm_query": "element_id=%s^element=work_notes^ORDERBYsys_created_on" % sn_escape(sys_id),
            "sysparm_fields": "value,sys_created_on", "sysparm_limit": "1000"}) or {}).get("result") or []
        return [{"created_at": row.get("sys_created_on"), "text": row.get("value")} for row in rows]

    # -- writing

    def create_payload(self, spec):
        body = {
            "short_description": spec["short_description"],
            "description": spec["description"],
            "correlation_id": spec["correlation_id"],
            "correlation_display": "fleetpatch.hybrid",
            "justification": "Security patches%s for %d host(s) of patch group %s." % (
                (" closing %d CVE(s)" % len(spec["cves"])) if spec["cves"] else "", len(spec["hosts"]), spec["patch_group"] or "-"),
        }
        body.update(PLANS)
        if spec["window"].get("start"):
            body["start_date"] = sn_time(spec["window"]["start"])
        if spec["window"].get("end"):
            body["end_date"] = sn_time(spec["window"]["end"])
        if spec["assignment_group"]:
            body["assignment_group"] = spec["assignment_group"]
        body.update(self.extra_fields)
        path = self._create_path(spec, resolve=False)
        if self.api == "table":
            body["type"] = spec["change_type"]
        return {"method": "POST", "path": "/" + path, "body": body}

    def _create_path(self, spec, resolve=True):
        kind = spec["change_type"]
        if self.api == "table":
            if kind == "standard":
                raise CRValidationError("standard changes come from a template through the Change Management API: "
                                        "set servicenow.api=change (change_type=standard, template=NAME)", field="change_type")
            return TABLE_API + "/change_request"
        if kind != "standard":
            return "%s/%s" % (CHANGE_API, kind)
        if not spec.get("template"):
            raise CRValidationError("change_type=standard needs template (the name or sys_id of a published standard "
                                    "change template)", field="template")
        template = spec["template"]
        if resolve and not _SYS_ID_RE.match(template):
            template = self._template_id(template)
        return "%s/standard/%s" % (CHANGE_API, template)

    def _template_id(self, name):
        rows = (self.call("GET", CHANGE_API + "/standard/template", query={
            "sysparm_query": "name=%s^active=true" % sn_escape(name), "sysparm_limit": "2"}) or {}).get("result") or []
        if not rows:
            raise CRNotFoundError("standard change template %r is not an active template in ServiceNow %s: check its name "
                                  "(Standard Change Catalog) or give its sys_id" % (name, self.client.base_url), template=name)
        return _value(rows[0].get("sys_id"))

    def create(self, spec):
        payload = self.create_payload(spec)
        path = self._create_path(spec)
        result = (self.call("POST", path, body=payload["body"], retry_server_errors=False) or {}).get("result")
        if not result:
            raise CRTransitionError("ServiceNow answered the create with no record")
        record = self._record(result)
        return record

    def _update(self, sys_id, body):
        path = ("%s/%s" % (CHANGE_API, sys_id)) if self.api == "change" else ("%s/change_request/%s" % (TABLE_API, sys_id))
        return (self.call("PATCH", path, body=body, retry_server_errors=False) or {}).get("result")

    def next_states(self, record):
        """The states the instance allows next (its model, approvals and conditions), as our names."""
        result = (self.call("GET", "%s/%s/nextstates" % (CHANGE_API, record["sys_id"])) or {}).get("result") or {}
        return [cr_model.SERVICENOW_STATE_NAMES.get(str(_value(v)), str(_value(v))) for v in result.get("available_states") or []]

    def move(self, record, state, fields=None):
        cr_model.check_step(record["change_type"], record["state"], state)
        if self.api == "change":
            allowed = [s for s in self.next_states(record) if s != record["state"]]
            if state not in allowed:
                raise CRTransitionError(
                    "ServiceNow does not allow %s to move from %s to %s now (the instance allows: %s); a change waiting for "
                    "its approval (assess/authorize) moves when its approvers approve it" % (
                        record["number"], record["state"], state, ", ".join(allowed) or "nothing"),
                    number=record["number"], state=state, current_state=record["state"])
        body = {"state": cr_model.SERVICENOW_STATE_VALUES[state]}
        for key in ("close_code", "close_notes"):
            if fields and fields.get(key):
                body[key] = fields[key]

        def recover():
            again = self.get(record["number"])
            return again if again["state"] == state else None

        answer = self.write_with_recovery(lambda: self._update(record["sys_id"], body), recover)
        if isinstance(answer, dict) and answer.get("backend") == "servicenow":
            now = answer["state"]  # recovered: re-read after an unclear failure
        elif isinstance(answer, dict) and answer.get("state") is not None:
            now = cr_model.SERVICENOW_STATE_NAMES.get(str(_value(answer["state"])))
        else:
            now = self.get(record["number"])["state"]
        if now != state:
            raise CRTransitionError("ServiceNow kept %s in state %s after the move to %s: a business rule or a pending "
                                    "approval held it" % (record["number"], now, state),
                                    number=record["number"], state=state, current_state=now)
        after = dict(record, state=state)
        for key in ("close_code", "close_notes"):
            if key in body:
                after[key] = body[key]
        return after

    def has_note(self, record, text):
        return any((note.get("text") or "").strip() == text.strip() for note in self._notes(record["sys_id"]))

    def add_note(self, record, text):
        self.write_with_recovery(lambda: self._update(record["sys_id"], {"work_notes": text}),
                                 lambda: True if self.has_note(record, text) else None)

    def sync_hosts(self, record, hosts, check_mode=False):
        if not hosts or not record or not record.get("sys_id"):
            return []
        have = set(self._cis(record["sys_id"]).values())
        wanted = [h for h in hosts if h not in have]
        if not wanted:
            return []
        rows = (self.call("GET", "%s/%s" % (TABLE_API, self.ci_table), query={
            # name=a^ORname=b rather than nameINa,b: a list cannot carry a name holding a comma
            "sysparm_query": "^OR".join("name=%s" % sn_escape(h) for h in wanted), "sysparm_fields": "sys_id,name",
            "sysparm_limit": str(len(wanted) * 2)}) or {}).get("result") or []
        by_name = dict((row.get("name"), row.get("sys_id")) for row in rows)
        actions = []
        for host in wanted:
            if host not in by_name:
                continue
            actions.append({"action": "configuration_item", "host": host, "ci": by_name[host]})
            if not check_mode:
                self.call("POST", TABLE_API + "/task_ci", body={"task": record["sys_id"], "ci_item": by_name[host]},
                          retry_server_errors=False)
        missing = [h for h in wanted if h not in by_name]
        if missing:
            actions.append({"action": "configuration_item_missing", "hosts": missing, "table": self.ci_table, "info": True})
        return actions


def _iso(sn_text):
    if not sn_text:
        return None
    try:
        return cr_model.iso(datetime.strptime(sn_text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc))
    except ValueError:
        return sn_text
