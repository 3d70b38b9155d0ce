# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A run's state off the runner (documented in plugins/modules/run_state.py)."""

from __future__ import annotations

import json
import os
import socket

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import run_state as rs

NAMES = [rs.LEDGER, rs.REPORT, rs.MANIFEST]


def open_store(url, region=None, endpoint_url=None):
    """The store of a fleetpatch_state_url: a PathStore, or an S3Store through module_utils.aws."""
    where = rs.parse_url(url)
    if where["kind"] == "path":
        return rs.PathStore(where["path"])
    from ansible_collections.fleetpatch.hybrid.plugins.module_utils import aws

    try:
        session = aws.new_session()
        region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        client = aws.client(session, "s3", region, endpoint_url)
    except aws.AwsError as exc:
        raise rs.StateError("cannot reach S3 for %s: %s" % (url, exc))
    return rs.S3Store(aws, client, where["bucket"], where["prefix"])


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(("url", "run_id", "action", "workdir", "holder", "lease_seconds", "takeover", "report",
                             "finish", "names", "region", "endpoint_url"))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=dict(
            url=dict(type="str", required=True),
            run_id=dict(type="str", required=True),
            action=dict(type="str", default="sync", choices=["open", "sync", "fetch"]),
            workdir=dict(type="path", default="out/state"),
            holder=dict(type="str"),
            lease_seconds=dict(type="int", default=rs.DEFAULT_LEASE_SECONDS),
            takeover=dict(type="bool", default=False),
            report=dict(type="dict"),
            finish=dict(type="bool", default=False),
            names=dict(type="list", elements="str", default=[rs.REPORT, rs.MANIFEST], choices=NAMES),
            region=dict(type="str"),
            endpoint_url=dict(type="str"),
        ))
        try:
            store = open_store(args["url"], args["region"], args["endpoint_url"])
            state = rs.RunState(store, args["run_id"], args["workdir"], args["url"])
            result["location"] = state.location()
            if args["action"] == "open":
                if args["lease_seconds"] < 60:
                    raise rs.StateError("lease_seconds: at least 60 (a claim must outlive a batch), got %d"
                                        % args["lease_seconds"])
                holder = args["holder"] or "ansible-playbook on %s (pid %d)" % (socket.gethostname(), os.getpid())
                opened = state.open(holder, lease_seconds=args["lease_seconds"], takeover=args["takeover"])
                result.update(resumed=opened["resumed"], took_over=opened["took_over"], paths=opened["paths"],
                              changed=True)
            elif args["action"] == "sync":
                report = args["report"]
                manifest = rs.manifest_entries(report) if report is not None else None
                synced = state.sync(report=report, manifest=manifest, finish=args["finish"])
                result.update(written=synced["written"], changed=True)
            else:
                files = state.fetch(args["names"])
                result["files"] = files
                for name, key in ((rs.MANIFEST, "manifest"), (rs.REPORT, "report")):
                    if files.get(name):
                        with open(files[name]) as handle:
                            result[key] = json.load(handle)
        except rs.StateError as exc:
            raise AnsibleActionFail("run_state: %s" % exc)
        except (OSError, ValueError) as exc:
            raise AnsibleActionFail("run_state: %s: %s" % (args["url"], exc))
        return result
