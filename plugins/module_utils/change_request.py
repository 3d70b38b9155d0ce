# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Change requests behind one interface: local (the run ledger), ServiceNow, Jira Service Management.

Pure Python, no Ansible import. `ensure()` is what the change_request module does: find the change
by number or correlation id (never raise a second one), create it when missing, walk it one allowed
state at a time to the wanted state, add a work note once, close it with a close code derived from
the hosts' outcomes. In check mode it returns what it would send and writes nothing.
"""

from __future__ import annotations

import abc
import contextlib
import os

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import cr_model
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_errors import (
    CRAuthError,
    CRBackendError,
    CRError,
    CRNotFoundError,
    CRValidationError,
)
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.http_client import HttpClient, HttpConnectionError, HttpError

BACKENDS = ("local", "servicenow", "jira")
TARGETS = ("present",) + cr_model.STATES


class Backend(abc.ABC):
    """What every backend does. Records are dicts (see record_shape in docs/change_requests.md)."""

    name = None

    @abc.abstractmethod
    def find(self, correlation_id):
        """The change raised for this correlation id, or None."""

    @abc.abstractmethod
    def get(self, number):
        """The change with this number; CRNotFoundError naming it when there is none."""

    @abc.abstractmethod
    def create_payload(self, spec):
        """What create() would send, shown in check mode."""

    @abc.abstractmethod
    def create(self, spec):
        """Raise the change in its model's initial state (new) and return it."""

    @abc.abstractmethod
    def move(self, record, state, fields=None):
        """One step of the state model (fields such as close_code ride with it); returns the record."""

    @abc.abstractmethod
    def has_note(self, record, text):
        """See the class docstring."""

    @abc.abstractmethod
    def add_note(self, record, text):
        """See the class docstring."""

    def sync_hosts(self, record, hosts, check_mode=False):
        """Attach hosts the change lacks (ServiceNow: configuration items); returns the actions."""
        return []

    @abc.abstractmethod
    def list(self, correlation_prefix=None, state=None, limit=100):
        """See the class docstring."""

    def atomic(self):
        """A context in which ensure() runs: one transaction where the backend has them."""
        return contextlib.nullcontext()

    def close(self):  # noqa: B027 - backends without a connection have nothing to close
        """Release the backend's connection, where it holds one."""


class HttpBackend(Backend):
    """Shared by the HTTP backends: turns HttpError into one CRError that says what to check."""

    service = "service"
    credential_hint = "the credentials"
    rights_hint = "the account's rights"
    api_hint = "the URL"

    def __init__(self, client):
        self.client = client

    def call(self, method, path, query=None, body=None, retry_server_errors=None, not_found=None):
        try:
            return self.client.request(method, path, query=query, body=body, retry_server_errors=retry_server_errors).json()
        except HttpConnectionError as exc:
            raise CRBackendError("%s: %s" % (self.service, exc.message), url=exc.url)
        except HttpError as exc:
            raise self.translate(exc, not_found)

    def translate(self, exc, not_found=None):
        detail = exc.detail()
        suffix = (": %s" % detail) if detail else ""
        if exc.status == 401:
            return CRAuthError("%s at %s refused the credentials (HTTP 401): check %s%s" % (
                self.service, self.client.base_url, self.credential_hint, suffix), status=401, url=exc.url)
        if exc.status == 403:
            return CRAuthError("%s at %s refused %s %s (HTTP 403): check %s%s" % (
                self.service, self.client.base_url, exc.method, exc.url, self.rights_hint, suffix), status=403, url=exc.url)
        if exc.status == 404:
            return CRNotFoundError(not_found or "%s answered 404 for %s %s: check %s%s" % (
                self.service, exc.method, exc.url, self.api_hint, suffix), status=404, url=exc.url)
        if exc.status in (400, 409, 422):
            return CRValidationError("%s rejected %s %s (HTTP %s)%s" % (self.service, exc.method, exc.url, exc.status, suffix),
                                     status=exc.status, url=exc.url)
        return CRBackendError("%s: %s%s" % (self.service, exc.message, suffix), status=exc.status, url=exc.url)

    def write_with_recovery(self, write, recover):
        """Run a non-idempotent write; after a 5xx or lost answer, look before writing again.

        A POST answered with 500 may still have been stored; repeating it blindly would raise a
        second change or a second note. recover() returns the stored result or None.
        """
        attempts = self.client.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return write()
            except CRBackendError as exc:
                if attempt == attempts or (exc.details.get("status") is not None and exc.details["status"] < 500):
                    raise
                self.client.sleep(self.client._backoff(attempt))
                found = recover()
                if found is not None:
                    return found


def http_client(base_url, auth, params, what):
    """An HttpClient from module params (validate_certs, ca_path, timeout, retries), with a clear URL error."""
    try:
        return HttpClient(base_url, username=auth.get("username"), password=auth.get("password"), token=auth.get("token"),
                          validate_certs=params.get("validate_certs", True), ca_path=params.get("ca_path"),
                          timeout=params.get("timeout") or 30.0, retries=params.get("retries", 4),
                          backoff=params.get("backoff", 1.0), redirect_hosts=params.get("redirect_hosts") or ())
    except ValueError as exc:
        raise CRValidationError("%s: %s" % (what, exc), field=what)


def make_backend(params, check_mode=False):
    """The backend named by params['backend'] with its credentials from params or the environment."""
    name = params.get("backend") or "local"
    if name not in BACKENDS:
        raise CRValidationError("backend %r is not one of %s" % (name, ", ".join(BACKENDS)), field="backend")
    if params.get("ca_path") and not os.path.isfile(params["ca_path"]):
        raise CRValidationError("ca_path %s is not a file (a PEM bundle of the CA that signed the server's certificate)"
                                % params["ca_path"], field="ca_path")
    if name == "local":
        from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_local import LocalBackend
        from ansible_collections.fleetpatch.hybrid.plugins.module_utils.sqlite_file import HEADER
        path = params.get("ledger_path")
        if not path:
            raise CRValidationError("ledger_path is required with backend=local (the run ledger, e.g. out/ledger.db)",
                                    field="ledger_path")
        # the change requests of a night are opened and closed after its start_run checked the whole
        # ledger (PRAGMA quick_check): here its header and schema only (sqlite_file.py)
        return LocalBackend(path, readonly=check_mode, check=HEADER)
    if name == "servicenow":
        from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_servicenow import ServiceNowBackend
        return ServiceNowBackend.from_params(params)
    from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_jira import JiraBackend
    return JiraBackend.from_params(params)


def env_or(options, key, env_names, environ=None):
    """An option's value, else the first environment variable set among env_names."""
    environ = os.environ if environ is None else environ
    if options.get(key) not in (None, ""):
        return options[key]
    for env_name in env_names:
        if environ.get(env_name):
            return environ[env_name]
    return None


def locate(backend, number=None, correlation=None):
    if number:
        return backend.get(number)
    if correlation:
        return backend.find(correlation)
    raise CRValidationError("give number (an existing change), or correlation_id, or run_id and patch_group "
                            "(the correlation id is built from them)", field="number")


def summary(record):
    if record is None:
        return None
    return dict((k, record.get(k)) for k in ("number", "state", "close_code"))


def ensure(backend, params, check_mode=False):
    """The change_request module: returns (changed, record, result) where result holds actions and flags.

    params: the module's options (see plugins/modules/change_request.py).
    """
    target = params.get("state") or "present"
    if target not in TARGETS:
        raise CRValidationError("state %r is not one of %s" % (target, ", ".join(TARGETS)), field="state")
    spec = cr_model.make_spec(params)
    if params.get("close_code"):
        cr_model.check_close_code(params["close_code"])
    note = (params.get("work_note") or "").strip() or None
    actions = []
    with backend.atomic():
        record = locate(backend, params.get("number"), spec["correlation_id"])
        before = summary(record)
        created = False
        if record is None:
            if not spec["correlation_id"]:
                raise CRValidationError("no change to create: give run_id and patch_group or correlation_id", field="correlation_id")
            actions.append({"action": "create", "payload": backend.create_payload(spec)})
            created = True
            if not check_mode:
                record = create_once(backend, spec)
        change_type = (record or spec).get("change_type") or spec["change_type"]
        current = record["state"] if record else "new"
        steps, past = ([], False) if target == "present" else cr_model.plan_transitions(change_type, current, target)
        if record is not None:
            actions.extend(backend.sync_hosts(record, spec["hosts"], check_mode=check_mode))
            if not created:
                actions.extend(drift(backend, record, spec))
        close_fields = None
        if "closed" in steps:
            close_fields = close_fields_for(params, spec, record)
        if note and (record is None or not backend.has_note(record, note)):
            actions.append({"action": "work_note", "text": note})
            if not check_mode:
                backend.add_note(record, note)
        previous = current
        for step in steps:
            fields = close_fields if step == "closed" else None
            actions.append(dict({"action": "transition", "from": previous, "to": step}, **({"fields": fields} if fields else {})))
            if not check_mode:
                record = backend.move(record, step, fields)
            previous = step
        if record is not None and not check_mode and any(not a.get("info") for a in actions):
            record = backend.get(record["number"])
    after = summary(record) if record else {"number": None, "state": previous, "close_code": None}
    if check_mode and steps:
        after["state"] = steps[-1]
    changes = [a for a in actions if not a.get("info")]
    result = {
        "created": created,
        "past_target": past,
        "actions": changes,
        "warnings": [info_text(a) for a in actions if a.get("info")],
        "diff": {"before": before or {}, "after": after},
    }
    return bool(changes), record, result


def ensure_with_payload(backend, params, check_mode=False):
    """ensure(), with the create payload (what was or would be sent) in the result as 'payload'."""
    changed, record, result = ensure(backend, params, check_mode=check_mode)
    create = [a for a in result["actions"] if a["action"] == "create"]
    result["payload"] = create[0]["payload"] if create else None
    return changed, record, result


def apply(params, check_mode=False, want_diff=False):
    """Everything the change_request module does: (output, warnings) for its options; raises CRError.

    Shared by the module (which runs wherever the task is delegated) and the controller-side action
    plugin (which runs the local backend in-process, without a Python start per call).
    """
    backend = make_backend(params, check_mode=check_mode)
    try:
        changed, record, result = ensure_with_payload(backend, params, check_mode=check_mode)
    finally:
        backend.close()
    warnings = result.pop("warnings")
    diff = result.pop("diff")
    output = dict(changed=changed, change_request=record, number=(record or {}).get("number"),
                  state=diff["after"].get("state"), **result)
    if want_diff:
        output["diff"] = diff
    return output, warnings


def drift(backend, record, spec):
    """Hosts or CVEs asked for that an existing change does not hold: reported, never rewritten silently."""
    out = []
    if backend.name == "servicenow":
        return out  # its hosts are configuration items, attached by sync_hosts
    for field in ("hosts", "cves"):
        missing = sorted(set(spec.get(field) or []) - set(record.get(field) or []))
        if missing and record.get(field) is not None:
            out.append({"action": "drift", "field": field, "values": missing, "number": record["number"], "info": True})
    return out


def info_text(action):
    if action["action"] == "drift":
        return "%s %s not in change %s, which was raised without them: a change's scope is fixed when it is raised" % (
            action["field"], ", ".join(action["values"]), action["number"])
    if action["action"] == "configuration_item_missing":
        return "hosts not found in the CMDB table %s, not attached to the change as configuration items: %s" % (
            action["table"], ", ".join(action["hosts"]))
    return str(action)


def create_once(backend, spec):
    """Create, or on an unclear failure find what was stored: a retry never raises a second change."""
    if isinstance(backend, HttpBackend):
        return backend.write_with_recovery(lambda: backend.create(spec), lambda: backend.find(spec["correlation_id"]))
    return backend.create(spec)


def close_fields_for(params, spec, record):
    hosts = sorted(set((record or {}).get("hosts") or []) | set(spec["hosts"]))
    outcomes = params.get("host_outcomes")
    code = params.get("close_code")
    if not code:
        if not outcomes:
            raise CRValidationError("state=closed needs close_code (successful, successful_issues, unsuccessful) or "
                                    "host_outcomes (host -> patched/compliant/failed/...) to derive it from", field="close_code")
        code = cr_model.derive_close_code(outcomes, hosts)
    fields = {"close_code": cr_model.check_close_code(code)}
    fields["close_notes"] = params.get("close_notes") or cr_model.close_notes(
        outcomes or {}, hosts if outcomes else (), params.get("outcome_details"), spec.get("correlation_id"))
    if outcomes:
        fields["host_outcomes"] = cr_model.host_outcomes(outcomes, hosts)
    return fields


def info(backend, params):
    """change_request_info: one change by number or correlation id, or a list for a run or a state."""
    if params.get("number"):
        return [backend.get(params["number"])]
    if params.get("correlation_id") or (params.get("run_id") and params.get("patch_group")):
        cid = params.get("correlation_id") or cr_model.correlation_id(params["run_id"], params["patch_group"])
        record = backend.find(cid)
        return [record] if record else []
    prefix = ("%s:%s:" % (cr_model.CORRELATION_PREFIX, params["run_id"])) if params.get("run_id") else None
    if params.get("state") and params["state"] not in cr_model.STATES:
        raise CRValidationError("state %r is not one of %s" % (params["state"], ", ".join(cr_model.STATES)), field="state")
    return backend.list(correlation_prefix=prefix, state=params.get("state"), limit=params.get("limit") or 100)


__all__ = ["BACKENDS", "Backend", "CRError", "ensure", "info", "make_backend", "env_or"]
