"""A Jira Service Management stand-in (REST API v2) enforcing the contracts change_request relies on.

Modelled on Atlassian's REST documentation:
- auth: basic with the account e-mail and an API token (Cloud), or a bearer personal access token
  (Data Center); 401 otherwise; a user without Transition/Edit rights gets 403 on writes.
- create issue: project must exist, the issue type must be one of the project's, summary required
  (<= 255 characters), labels without spaces, unknown fields refused (400 with `errors`).
- the workflow of the change issue type (JSM's ITSM change workflow): only the transitions offered
  from the current status can be taken (400 "Transition id is not valid for this issue").
  With require_approval, "Approve" is only offered once the issue was approved (approve()).
- search: /rest/api/2/search/jql (Cloud) or, with cloud=False, /rest/api/2/search (Data Center);
  the JQL understood is `field = value` clauses joined by AND, with ORDER BY; anything else is a 400.
- comments (plain-text body, required) and issue properties (any JSON value).
"""

import itertools
import shlex

from .base import ContractServer

WORKFLOW = [
    # (transition id, name, from statuses, to status)
    ("11", "Plan", ["Open"], "Planning"),
    ("21", "Request approval", ["Planning"], "Awaiting approval"),
    ("31", "Approve", ["Awaiting approval"], "Awaiting implementation"),
    ("41", "Implement", ["Awaiting implementation"], "Implementing"),
    ("51", "Review", ["Implementing"], "Review"),
    ("61", "Complete", ["Review"], "Completed"),
    ("71", "Cancel", ["Open", "Planning", "Awaiting approval", "Awaiting implementation", "Implementing"], "Canceled"),
    ("81", "Back to open", ["Planning", "Awaiting approval"], "Open"),
]
STATUS_IDS = dict((name, str(10000 + i)) for i, name in enumerate(
    ["Open", "Planning", "Awaiting approval", "Awaiting implementation", "Implementing", "Review", "Completed", "Canceled"]))
KNOWN_FIELDS = ("project", "issuetype", "summary", "description", "labels", "priority", "customfield_10005", "customfield_10006")


class JiraServer(ContractServer):
    BASE_PORT = 5240
    ROUTES = [
        ("POST", r"/rest/api/2/issue", "create_issue"),
        ("GET", r"/rest/api/2/issue/([A-Z][A-Z0-9_]+-\d+)", "get_issue"),
        ("GET", r"/rest/api/2/issue/([A-Z][A-Z0-9_]+-\d+)/transitions", "list_transitions"),
        ("POST", r"/rest/api/2/issue/([A-Z][A-Z0-9_]+-\d+)/transitions", "do_transition"),
        ("GET", r"/rest/api/2/issue/([A-Z][A-Z0-9_]+-\d+)/comment", "list_comments"),
        ("POST", r"/rest/api/2/issue/([A-Z][A-Z0-9_]+-\d+)/comment", "add_comment"),
        ("GET", r"/rest/api/2/issue/([A-Z][A-Z0-9_]+-\d+)/properties/([A-Za-z0-9_.-]+)", "get_property"),
        ("PUT", r"/rest/api/2/issue/([A-Z][A-Z0-9_]+-\d+)/properties/([A-Za-z0-9_.-]+)", "put_property"),
        ("GET", r"/rest/api/2/search/jql", "search_cloud"),
        ("GET", r"/rest/api/2/search", "search_dc"),
    ]

    def __init__(self, accounts=None, pats=(), readonly_users=(), projects=None, require_approval=False, cloud=True, **kwargs):
        super(JiraServer, self).__init__(**kwargs)
        self.accounts = accounts if accounts is not None else {"bot@example.com": "api-token"}
        self.pats = set(pats)
        self.readonly_users = set(readonly_users)
        self.projects = projects or {"ITCHG": ["Change", "Service request"]}
        self.require_approval = require_approval
        self.cloud = cloud
        self.issues = {}
        self.approved = set()
        self.ids = itertools.count(10001)
        self.clock = itertools.count(1)

    def authenticate(self, headers):
        user, secret = self.basic_user(headers)
        if user is not None and self.accounts.get(user) == secret:
            return user
        token = self.bearer(headers)
        if token and token in self.pats:
            return "pat"
        return None

    def error_body(self, message, kind=None, errors=None):
        return {"errorMessages": [message] if message else [], "errors": errors or {}}

    def _writable(self, request):
        if request.user in self.readonly_users:
            return 403, self.error_body("You do not have permission to perform this operation.")
        return None

    def _now(self):
        return "2026-11-29T02:%02d:%02d.000+0000" % divmod(next(self.clock) % 3600, 60)

    def _issue_or_404(self, key):
        issue = self.issues.get(key)
        if issue is None:
            return None, (404, self.error_body("Issue does not exist or you do not have permission to see it."))
        return issue, None

    def approve(self, key):
        self.approved.add(key)

    # -- issues

    def create_issue(self, request):
        error = self._writable(request)
        if error:
            return error
        fields = (request.body or {}).get("fields")
        if not isinstance(fields, dict):
            return 400, self.error_body("fields are required")
        errors = {}
        for name in fields:
            if name not in KNOWN_FIELDS:
                errors[name] = "Field '%s' cannot be set. It is not on the appropriate screen, or unknown." % name
        project = (fields.get("project") or {}).get("key")
        if project not in self.projects:
            errors["project"] = "valid project is required"
        elif (fields.get("issuetype") or {}).get("name") not in self.projects[project]:
            errors["issuetype"] = "valid issue type is required"
        summary = fields.get("summary") or ""
        if not summary.strip():
            errors["summary"] = "You must specify a summary of the issue."
        elif len(summary) > 255:
            errors["summary"] = "Summary must be less than 255 characters."
        for label in fields.get("labels") or []:
            if not label or " " in label or len(label) > 255:
                errors["labels"] = "The label '%s' contains spaces which is invalid." % label
        if errors:
            return 400, self.error_body(None, errors=errors)
        issue_id = str(next(self.ids))
        key = "%s-%d" % (project, len([k for k in self.issues if k.startswith(project + "-")]) + 1)
        now = self._now()
        self.issues[key] = {"id": issue_id, "key": key, "summary": summary, "description": fields.get("description") or "",
                            "labels": list(fields.get("labels") or []), "issuetype": fields["issuetype"]["name"],
                            "project": project, "status": "Open", "created": now, "updated": now, "comments": [],
                            "properties": {}}
        return 201, {"id": issue_id, "key": key, "self": "%s/rest/api/2/issue/%s" % (self.url, issue_id)}

    def _render(self, issue, wanted):
        fields = {
            "summary": issue["summary"], "description": issue["description"], "labels": issue["labels"],
            "status": {"name": issue["status"], "id": STATUS_IDS[issue["status"]]},
            "issuetype": {"name": issue["issuetype"]}, "project": {"key": issue["project"]},
            "created": issue["created"], "updated": issue["updated"],
        }
        if wanted:
            fields = dict((k, v) for k, v in fields.items() if k in wanted)
        return {"id": issue["id"], "key": issue["key"], "fields": fields}

    def get_issue(self, request, key):
        issue, error = self._issue_or_404(key)
        if error:
            return error
        wanted = [f for f in (request.query.get("fields") or "").split(",") if f]
        return 200, self._render(issue, wanted)

    def _offered(self, issue):
        offered = []
        for tid, name, sources, target in WORKFLOW:
            if issue["status"] not in sources:
                continue
            if name == "Approve" and self.require_approval and issue["key"] not in self.approved:
                continue
            offered.append({"id": tid, "name": name, "to": {"id": STATUS_IDS[target], "name": target}})
        return offered

    def _writable_issue(self, request, key):
        """(issue, None) when the issue exists and the caller may write; (None, error response) otherwise."""
        issue, error = self._issue_or_404(key)
        return (None, error) if error else (issue, self._writable(request))

    def list_transitions(self, request, key):
        issue, error = self._issue_or_404(key)
        return error or (200, {"expand": "transitions", "transitions": self._offered(issue)})

    def do_transition(self, request, key):
        issue, error = self._writable_issue(request, key)
        if error:
            return error
        tid = ((request.body or {}).get("transition") or {}).get("id")
        chosen = [t for t in self._offered(issue) if t["id"] == tid]
        if not chosen:
            return 400, self.error_body("Transition id '%s' is not valid for this issue." % tid)
        issue["status"] = chosen[0]["to"]["name"]
        issue["updated"] = self._now()
        return 204, None

    def list_comments(self, request, key):
        issue, error = self._issue_or_404(key)
        return error or (200, {"comments": issue["comments"], "total": len(issue["comments"]), "startAt": 0,
                               "maxResults": len(issue["comments"])})

    def add_comment(self, request, key):
        issue, error = self._writable_issue(request, key)
        if error:
            return error
        body = (request.body or {}).get("body")
        if not isinstance(body, str) or not body.strip():
            return 400, self.error_body(None, errors={"comment": "Comment body can not be empty!"})
        comment = {"id": str(next(self.ids)), "body": body, "created": self._now()}
        issue["comments"].append(comment)
        return 201, comment

    def get_property(self, request, key, name):
        issue, error = self._issue_or_404(key)
        if error:
            return error
        if name not in issue["properties"]:
            return 404, self.error_body("The property with key '%s' does not exist." % name)
        return 200, {"key": name, "value": issue["properties"][name]}

    def put_property(self, request, key, name):
        issue, error = self._writable_issue(request, key)
        if error:
            return error
        existed = name in issue["properties"]
        issue["properties"][name] = request.body
        return (200 if existed else 201), None

    # -- search

    def _jql(self, jql):
        text, dummy, order = jql.partition(" ORDER BY ")
        clauses = []
        for clause in text.split(" AND "):
            tokens = shlex.split(clause)
            if len(tokens) != 3 or tokens[1] != "=" or tokens[0] not in ("project", "labels", "status"):
                raise ValueError("Error in the JQL Query: cannot parse %r" % clause)
            clauses.append((tokens[0], tokens[2]))
        field = (order.split() or ["key"])[0]
        if field not in ("key", "created"):
            raise ValueError("Error in the JQL Query: cannot order by %r" % field)
        return clauses, field

    def _search(self, request):
        try:
            clauses, order = self._jql(request.query.get("jql") or "")
            limit = int(request.query.get("maxResults") or 50)
        except ValueError as exc:
            return 400, self.error_body(str(exc))
        found = []
        for issue in self.issues.values():
            ok = True
            for field, value in clauses:
                if field == "project" and issue["project"] != value:
                    ok = False
                if field == "labels" and value not in issue["labels"]:
                    ok = False
                if field == "status" and issue["status"].lower() != value.lower():
                    ok = False
            if ok:
                found.append(issue)
        found.sort(key=lambda i: (i["created"], int(i["key"].split("-")[1])) if order == "created" else int(i["key"].split("-")[1]))
        wanted = [f for f in (request.query.get("fields") or "").split(",") if f]
        return 200, {"issues": [self._render(i, wanted) for i in found[:limit]], "isLast": True, "total": len(found)}

    def search_cloud(self, request):
        if not self.cloud:
            return 404, self.error_body("null for uri: /rest/api/2/search/jql")
        return self._search(request)

    def search_dc(self, request):
        if self.cloud:
            return 410, self.error_body("The requested API has been removed. Please migrate to the /rest/api/3/search/jql API.")
        return self._search(request)

    def comments(self, key):
        return [c["body"] for c in self.issues[key]["comments"]]
