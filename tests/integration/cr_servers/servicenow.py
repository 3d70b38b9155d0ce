"""A ServiceNow stand-in enforcing the contracts change_request relies on.

Modelled on ServiceNow's documentation (Change Management API, Table API, change state model):
- auth: basic (user/password) or an OAuth bearer token; 401 otherwise; a read-only user gets 403 on writes.
- change_request.state walks the model of the change's type one transition at a time (normal:
  new -> assess -> authorize -> scheduled -> implement -> review -> closed; standard skips assess and
  authorize; emergency skips assess; canceled from any state before review; back to new before
  implement); anything else is refused (403, as the state model business rule aborts the update).
- leaving new needs start_date and end_date (and assignment_group for normal and emergency);
  closing needs close_code (successful, successful_issues, unsuccessful) and close_notes (data policy, 403).
- with require_approval, assess -> authorize is only possible once the change was approved (approve()).
- the Change Management API answers fields as {value, display_value}; the Table API as plain values.
- sysparm_query supports =, STARTSWITH, IN, ISNOTEMPTY, ORDERBY, ORDERBYDESC joined by ^, ^OR between conditions,
  and ^^ as a literal ^ inside a value (ServiceNow's escape); anything else is a 400.
- task_ci refuses a second association of the same CI to the same task (so a double POST fails a test).
"""

import itertools
import re
import uuid

from .base import ContractServer

STATE_VALUES = {"new": "-5", "assess": "-4", "authorize": "-3", "scheduled": "-2", "implement": "-1", "review": "0",
                "closed": "3", "canceled": "4"}
STATE_NAMES = dict((v, k) for k, v in STATE_VALUES.items())
LABELS = {"-5": "New", "-4": "Assess", "-3": "Authorize", "-2": "Scheduled", "-1": "Implement", "0": "Review",
          "3": "Closed", "4": "Canceled"}
MODELS = {
    "normal": {"new": ["assess", "canceled"], "assess": ["authorize", "new", "canceled"],
               "authorize": ["scheduled", "new", "canceled"], "scheduled": ["implement", "new", "canceled"],
               "implement": ["review", "canceled"], "review": ["closed"], "closed": [], "canceled": []},
    "standard": {"new": ["scheduled", "canceled"], "scheduled": ["implement", "canceled"], "implement": ["review", "canceled"],
                 "review": ["closed"], "closed": [], "canceled": []},
    "emergency": {"new": ["authorize", "canceled"], "authorize": ["scheduled", "new", "canceled"],
                  "scheduled": ["implement", "canceled"], "implement": ["review", "canceled"], "review": ["closed"],
                  "closed": [], "canceled": []},
}
CLOSE_CODES = ("successful", "successful_issues", "unsuccessful")
CHANGE_FIELDS = ("short_description", "description", "correlation_id", "correlation_display", "justification",
                 "implementation_plan", "backout_plan", "test_plan", "start_date", "end_date", "assignment_group",
                 "close_code", "close_notes", "work_notes", "state", "type", "category", "risk", "impact", "cmdb_ci")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


class ServiceNowServer(ContractServer):
    BASE_PORT = 5210
    ROUTES = [
        ("GET", r"/api/sn_chg_rest/v1/change", "list_change"),
        ("GET", r"/api/sn_chg_rest/v1/change/standard/template", "list_templates"),
        ("POST", r"/api/sn_chg_rest/v1/change/(normal|emergency)", "create_change"),
        ("POST", r"/api/sn_chg_rest/v1/change/standard/([0-9a-f]{32})", "create_standard"),
        ("GET", r"/api/sn_chg_rest/v1/change/([0-9a-f]{32})/nextstates", "next_states"),
        ("PATCH", r"/api/sn_chg_rest/v1/change/([0-9a-f]{32})", "update_change"),
        ("GET", r"/api/now/table/change_request", "list_table"),
        ("POST", r"/api/now/table/change_request", "create_table"),
        ("PATCH", r"/api/now/table/change_request/([0-9a-f]{32})", "update_table"),
        ("GET", r"/api/now/table/(cmdb_ci|cmdb_ci_server|cmdb_ci_linux_server)", "list_ci"),
        ("GET", r"/api/now/table/task_ci", "list_task_ci"),
        ("POST", r"/api/now/table/task_ci", "create_task_ci"),
        ("GET", r"/api/now/table/sys_journal_field", "list_journal"),
    ]

    def __init__(self, users=None, tokens=None, readonly_users=(), cis=(), templates=None, require_approval=False,
                 require_assignment_group=True, **kwargs):
        super(ServiceNowServer, self).__init__(**kwargs)
        self.users = users if users is not None else {"fleetpatch": "s3cret"}
        self.tokens = set(tokens or ())
        self.readonly_users = set(readonly_users)
        self.require_approval = require_approval
        self.require_assignment_group = require_assignment_group
        self.changes = {}
        self.approved = set()
        self.cis = dict((uuid.uuid4().hex, name) for name in cis)
        self.task_ci = []
        self.journal = []
        self.templates = {}
        for name, fields in (templates or {}).items():
            self.templates[uuid.uuid4().hex] = {"name": name, "active": True, "fields": dict(fields)}
        self.numbers = itertools.count(30001)
        self.clock = itertools.count(1)

    # -- plumbing

    def authenticate(self, headers):
        user, secret = self.basic_user(headers)
        if user is not None and self.users.get(user) == secret:
            return user
        token = self.bearer(headers)
        if token and token in self.tokens:
            return "oauth"
        return None

    def error_body(self, message, kind=None, detail=None):
        return {"error": {"message": message, "detail": detail or ""}, "status": "failure"}

    def _refuse(self, detail):
        return 403, self.error_body("Operation Failed", detail=detail)

    def _bad(self, detail):
        return 400, self.error_body("Invalid request", detail=detail)

    def _writable(self, request):
        if request.user in self.readonly_users:
            return self._refuse("ACL Exception Update Failed due to security constraints")
        return None

    def _now(self):
        return "2026-11-29 02:%02d:%02d" % divmod(next(self.clock) % 3600, 60)

    def approve(self, number):
        self.approved.add(number)

    def by_number(self, number):
        return next((c for c in self.changes.values() if c["number"] == number), None)

    # -- queries

    @staticmethod
    def _clauses(sysparm_query):
        """The clauses of an encoded query: ^ separates them, ^^ is a literal ^."""
        clauses, current, text, index = [], [], sysparm_query or "", 0
        while index < len(text):
            if text.startswith("^^", index):
                current.append("^")
                index += 2
            elif text[index] == "^":
                clauses.append("".join(current))
                current = []
                index += 1
            else:
                current.append(text[index])
                index += 1
        clauses.append("".join(current))
        return [c for c in clauses if c]

    def _matches(self, record, sysparm_query):
        orders, groups = [], []
        for clause in self._clauses(sysparm_query):
            match = re.fullmatch(r"ORDERBY(DESC)?([a-z_]+)", clause)
            if match:
                orders.append((match.group(2), bool(match.group(1))))
                continue
            alternative = clause.startswith("OR") and groups
            match = re.fullmatch(r"([a-z_]+)(STARTSWITH|IN|=|ISNOTEMPTY)(.*)", clause[2:] if alternative else clause, re.S)
            if not match:
                raise ValueError("unsupported query clause %r" % clause)
            if alternative:
                groups[-1].append(match.groups())
            else:
                groups.append([match.groups()])
        return all(any(self._holds(record, *condition) for condition in group) for group in groups), orders

    @staticmethod
    def _holds(record, field, op, value):
        have = str(record.get(field) if not isinstance(record.get(field), dict) else record[field].get("value"))
        if op == "=":
            return have == value
        if op == "STARTSWITH":
            return have.startswith(value)
        if op == "ISNOTEMPTY":
            return have not in ("", "None")
        return have in value.split(",")

    def _select(self, rows, request):
        try:
            limit = int(request.query.get("sysparm_limit") or 10000)
        except ValueError:
            return None, self._bad("sysparm_limit must be a number")
        out, orders = [], []
        for row in rows:
            try:
                ok, orders = self._matches(row, request.query.get("sysparm_query"))
            except ValueError as exc:
                return None, self._bad(str(exc))
            if ok:
                out.append(row)
        for field, desc in reversed(orders):
            out.sort(key=lambda r, f=field: str(r.get(f)), reverse=desc)
        return out[:limit], None

    def _fields(self, record, request, wrapped):
        wanted = [f for f in (request.query.get("sysparm_fields") or "").split(",") if f]
        out = dict((k, v) for k, v in record.items() if not wanted or k in wanted)
        if wrapped:
            return dict((k, {"value": v, "display_value": LABELS.get(v, v) if k == "state" else v}) for k, v in out.items())
        return out

    # -- change requests

    def list_change(self, request):
        rows, error = self._select(self.changes.values(), request)
        return error or (200, {"result": [self._fields(r, request, True) for r in rows]})

    def list_table(self, request):
        rows, error = self._select(self.changes.values(), request)
        return error or (200, {"result": [self._fields(r, request, False) for r in rows]})

    def _validate_new(self, body):
        for key in body:
            if key not in CHANGE_FIELDS:
                return self._bad("unknown field %r" % key)
        if not (body.get("short_description") or "").strip():
            return self._refuse("Data Policy Exception: The following fields are mandatory: Short description")
        if len(body.get("correlation_id") or "") > 100:
            return self._bad("correlation_id is longer than 100 characters")
        for key in ("start_date", "end_date"):
            if body.get(key) and not DATE_RE.match(body[key]):
                return self._bad("%s %r is not YYYY-MM-DD HH:MM:SS" % (key, body[key]))
        if "state" in body and body["state"] not in ("-5", "new"):
            return self._refuse("a new change starts in state New")
        return None

    def _insert(self, body, change_type):
        sys_id = uuid.uuid4().hex
        empty = ("description", "correlation_id", "start_date", "end_date", "assignment_group", "close_code", "close_notes")
        record = dict((k, "") for k in empty)
        record.update((k, v) for k, v in body.items() if k not in ("work_notes", "state", "type"))
        now = self._now()
        record.update(sys_id=sys_id, number="CHG%07d" % next(self.numbers), state="-5", type=change_type,
                      sys_created_on=now, sys_updated_on=now)
        self.changes[sys_id] = record
        if body.get("work_notes"):
            self._note(sys_id, body["work_notes"])
        return record

    def create_change(self, request, change_type):
        error = self._writable(request) or self._validate_new(request.body or {})
        if error:
            return error
        return 200, {"result": self._fields(self._insert(request.body, change_type), request, True)}

    def create_table(self, request):
        body = dict(request.body or {})
        change_type = body.get("type") or "normal"
        if change_type not in ("normal", "emergency"):
            return self._refuse("type %r cannot be created through the Table API here" % change_type)
        error = self._writable(request) or self._validate_new(body)
        if error:
            return error
        return 201, {"result": self._fields(self._insert(body, change_type), request, False)}

    def list_templates(self, request):
        rows = [{"sys_id": k, "name": v["name"], "active": "true" if v["active"] else "false"} for k, v in self.templates.items()]
        rows, error = self._select(rows, request)
        return error or (200, {"result": [self._fields(r, request, True) for r in rows]})

    def create_standard(self, request, template_id):
        template = self.templates.get(template_id)
        if not template or not template["active"]:
            return 404, self.error_body("Template not found", detail="no active standard change template %s" % template_id)
        body = dict(template["fields"])
        body.update(request.body or {})
        error = self._writable(request) or self._validate_new(body)
        if error:
            return error
        return 200, {"result": self._fields(self._insert(body, "standard"), request, True)}

    def _allowed(self, record):
        current = STATE_NAMES[record["state"]]
        allowed = list(MODELS[record["type"]][current])
        if self.require_approval and current == "assess" and record["number"] not in self.approved:
            allowed.remove("authorize")
        return allowed

    def next_states(self, request, sys_id):
        record = self.changes.get(sys_id)
        if record is None:
            return 404, self.error_body("Record not found")
        states = [record["state"]] + [STATE_VALUES[s] for s in self._allowed(record)]
        return 200, {"result": {"available_states": states, "state_label": dict((s, LABELS[s]) for s in states)}}

    def _update(self, request, sys_id, wrapped):
        record = self.changes.get(sys_id)
        if record is None:
            return 404, self.error_body("Record not found", detail="no change_request %s" % sys_id)
        error = self._writable(request)
        if error:
            return error
        body = dict(request.body or {})
        for key in body:
            if key not in CHANGE_FIELDS:
                return self._bad("unknown field %r" % key)
        if "close_code" in body and body["close_code"] not in CLOSE_CODES:
            return self._bad("close_code %r is not a choice (%s)" % (body["close_code"], ", ".join(CLOSE_CODES)))
        if "state" in body and body["state"] != record["state"]:
            if body["state"] not in STATE_NAMES:
                return self._bad("state %r is not a choice value" % body["state"])
            target = STATE_NAMES[body["state"]]
            current = STATE_NAMES[record["state"]]
            if target not in self._allowed(record):
                return self._refuse("Invalid state transition: %s -> %s is not allowed for a %s change" % (
                    current, target, record["type"]))
            merged = dict(record, **body)
            if current == "new" and target != "canceled":
                missing = [f for f in ("start_date", "end_date") if not merged.get(f)]
                if self.require_assignment_group and record["type"] != "standard" and not merged.get("assignment_group"):
                    missing.append("assignment_group")
                if missing:
                    return self._refuse("Data Policy Exception: The following fields are mandatory: %s" % ", ".join(missing))
            if target == "closed" and not (merged.get("close_code") and (merged.get("close_notes") or "").strip()):
                return self._refuse("Data Policy Exception: The following fields are mandatory: Close code, Close notes")
        note = body.pop("work_notes", None)
        record.update(body)
        record["sys_updated_on"] = self._now()
        if note:
            self._note(sys_id, note)
        return 200, {"result": self._fields(record, request, wrapped)}

    def update_change(self, request, sys_id):
        return self._update(request, sys_id, True)

    def update_table(self, request, sys_id):
        return self._update(request, sys_id, False)

    def _note(self, sys_id, text):
        self.journal.append({"sys_id": uuid.uuid4().hex, "element_id": sys_id, "element": "work_notes", "name": "change_request",
                             "value": text, "sys_created_on": self._now()})

    def notes(self, number):
        record = self.by_number(number)
        return [j["value"] for j in self.journal if j["element_id"] == record["sys_id"]]

    # -- CMDB, task_ci, journal

    def list_ci(self, request, table):
        rows, error = self._select([{"sys_id": k, "name": v} for k, v in self.cis.items()], request)
        return error or (200, {"result": [self._fields(r, request, False) for r in rows]})

    def list_task_ci(self, request):
        rows, error = self._select(self.task_ci, request)
        if error:
            return error
        display = request.query.get("sysparm_display_value") in ("true", "all")
        out = []
        for row in rows:
            item = row
            if display:
                item = dict(row, ci_item={"value": row["ci_item"], "display_value": self.cis.get(row["ci_item"])},
                            task={"value": row["task"], "display_value": self.changes[row["task"]]["number"]})
            out.append(self._fields(item, request, False))
        return 200, {"result": out}

    def create_task_ci(self, request):
        error = self._writable(request)
        if error:
            return error
        body = request.body or {}
        if body.get("task") not in self.changes:
            return self._bad("task %r is not a task" % body.get("task"))
        if body.get("ci_item") not in self.cis:
            return self._bad("ci_item %r is not a configuration item" % body.get("ci_item"))
        if any(r["task"] == body["task"] and r["ci_item"] == body["ci_item"] for r in self.task_ci):
            return self._refuse("the configuration item is already associated with this task")
        row = {"sys_id": uuid.uuid4().hex, "task": body["task"], "ci_item": body["ci_item"]}
        self.task_ci.append(row)
        return 201, {"result": row}

    def list_journal(self, request):
        rows, error = self._select(self.journal, request)
        return error or (200, {"result": [self._fields(r, request, False) for r in rows]})

    def ci_names(self, number):
        record = self.by_number(number)
        return sorted(self.cis[r["ci_item"]] for r in self.task_ci if r["task"] == record["sys_id"])
