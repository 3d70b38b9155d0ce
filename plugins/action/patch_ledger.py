# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side writes to the run ledger (documented in plugins/modules/patch_ledger.py)."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ledger import RUN_HOOK_POINTS, Ledger, LedgerError, resume_state
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.sqlite_file import FULL, HEADER


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(("path", "run_id", "action", "host", "phase", "status", "message", "data",
                             "patch_group", "attrs", "changes", "playbook", "run_status", "records",
                             "findings", "meta", "check_run"))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=dict(
            path=dict(type="path", required=True),
            run_id=dict(type="str", required=True),
            action=dict(type="str", default="record", choices=["start_run", "resume", "record", "finish_run"]),
            host=dict(type="str"),
            phase=dict(type="str"),
            status=dict(type="str"),
            message=dict(type="str"),
            data=dict(type="dict", default={}),
            patch_group=dict(type="str"),
            attrs=dict(type="dict"),
            changes=dict(type="list", elements="dict", default=[]),
            records=dict(type="list", elements="dict", default=[], options=dict(
                phase=dict(type="str", required=True),
                status=dict(type="str", required=True),
                message=dict(type="str"),
                data=dict(type="dict", default={}),
            )),
            findings=dict(type="dict", options=dict(
                stage=dict(type="str", required=True),
                status=dict(type="str", required=True),
                message=dict(type="str"),
                data=dict(type="dict", default={}),
                records=dict(type="list", elements="dict", default=[]),
            )),
            playbook=dict(type="str"),
            meta=dict(type="dict"),
            run_status=dict(type="str", default="finished"),
            check_run=dict(type="bool", default=False),
        ))
        host = args["host"] or task_vars.get("inventory_hostname")
        try:
            # the full integrity check (time grows with the file) once, when the night opens the ledger;
            # each later open of the night (records, finish) checks the header and schema (sqlite_file.py)
            with Ledger(args["path"], check=FULL if args["action"] == "start_run" else HEADER) as ledger:
                if args["action"] == "start_run":
                    started = ledger.start_run(args["run_id"], playbook=args["playbook"],
                                               check_mode=bool(self._task.check_mode) or args["check_run"], meta=args["meta"])
                    result.update(started)
                    # only what the night's next steps need, not every host's place (10,000 hosts' approved
                    # patches as a registered result made opening a resumed night grow faster than the
                    # hosts): each host reads its own place with action=resume
                    places = ledger.resume(args["run_id"]) if started["state"] == "resumed" else {}
                    result["settled"] = sorted(h for h, place in places.items() if place["next"] is None)
                    result["msg"] = _start_message(started, places)
                elif args["action"] == "resume":
                    ledger._require_run(args["run_id"])  # a clear error for a run never started
                    place = ledger.resume(args["run_id"], host=host).get(host) or resume_state({"phases": {}})
                    result["resume"] = place
                    result["ansible_facts"] = {"fleetpatch_resume": place}
                elif args["action"] == "finish_run":
                    ledger.finish_run(args["run_id"], args["run_status"])
                else:
                    if args["attrs"] is not None or args["patch_group"] is not None:
                        ledger.record_host(args["run_id"], host, args["patch_group"], args["attrs"])
                    if args["phase"]:
                        if not args["status"]:
                            raise LedgerError("status is required with phase")
                        ledger.record_phase(args["run_id"], host, args["phase"], args["status"], args["message"], args["data"])
                    for record in args["records"]:
                        if record["phase"] in RUN_HOOK_POINTS:      # a run-level hook point's row: the run's, not a host's
                            ledger.record_run_hook(args["run_id"], record["phase"], record["status"], record["message"],
                                                   record["data"])
                            continue
                        ledger.record_phase(args["run_id"], host, record["phase"], record["status"], record["message"],
                                            record["data"])
                    if args["changes"]:
                        ledger.record_changes(args["run_id"], host, args["changes"])
                    if args["findings"]:
                        found = args["findings"]
                        ledger.record_findings(args["run_id"], host, found["stage"], found["status"], found["records"],
                                               found["message"], found["data"])
        except LedgerError as exc:
            raise AnsibleActionFail("patch_ledger: %s" % exc)
        except Exception as exc:  # sqlite3 errors: a locked, read-only or corrupt ledger file
            raise AnsibleActionFail("patch_ledger: cannot write the ledger %s: %s" % (args["path"], exc))
        result.update(changed=False, path=args["path"], run_id=args["run_id"], host=host)
        return result


def _start_message(started, hosts):
    if started["state"] == "new":
        return "run %s started" % started["run_id"]
    if started["state"] == "finished":
        return ("run %s finished at %s (%s): nothing to do, nothing on the hosts or in the ledger was changed; "
                "use a new fleetpatch_run_id for a new night" % (started["run_id"], started["finished_at"], started["status"]))
    going_on = sorted(h for h, state in hosts.items() if state["next"])
    return "run %s resumed (attempt %d): %d host(s) go on from their last completed phase%s, %d are done" % (
        started["run_id"], started["attempt"], len(going_on), (" (%s)" % ", ".join(going_on[:20])) if going_on else "",
        len(hosts) - len(going_on))
