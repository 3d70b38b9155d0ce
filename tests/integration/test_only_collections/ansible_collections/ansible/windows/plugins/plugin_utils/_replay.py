# TEST ONLY (see the collection's README.md): replay recorded ansible.windows results.
from __future__ import annotations

import fcntl
import json
import os
import time

from ansible.plugins.action import ActionBase


def _subset(expected, actual):
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and _subset(v, actual[k]) for k, v in expected.items())
    return expected == actual


class ReplayAction(ActionBase):
    """Return the next recorded result of this module for this host; record the call."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        super(ReplayAction, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        directory = os.environ.get("FLEETPATCH_TEST_WINDOWS_REPLAY")
        if not directory:
            return {"failed": True, "msg": "test-only ansible.windows replay: FLEETPATCH_TEST_WINDOWS_REPLAY is not set"}
        host = task_vars.get("inventory_hostname")
        module = self._task.action.rsplit(".", 1)[-1]
        args = dict(self._task.args)
        with open(os.path.join(directory, "lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            with open(os.path.join(directory, "%s.json" % host)) as handle:
                recorded = json.load(handle).get(module) or []
            counter = os.path.join(directory, "%s.%s.count" % (host, module))
            index = int(open(counter).read()) if os.path.exists(counter) else 0
            with open(counter, "w") as handle:
                handle.write(str(index + 1))
            with open(os.path.join(directory, "calls.jsonl"), "a") as handle:
                handle.write(json.dumps({"host": host, "module": module, "index": index, "args": args,
                                         "check_mode": bool(self._task.check_mode), "time": time.time()}, default=str) + "\n")
        if index >= len(recorded):
            return {"failed": True, "msg": "test-only replay: no recorded %s result left for %s (call %d)" % (module, host, index + 1)}
        result = json.loads(json.dumps(recorded[index]))
        expected = result.pop("_expect", None)
        if expected is not None and not _subset(expected, args):
            return {"failed": True, "msg": "test-only replay: %s call %d on %s had arguments %s, recorded for %s"
                    % (module, index + 1, host, json.dumps(args, sort_keys=True, default=str), json.dumps(expected, sort_keys=True))}
        result.setdefault("changed", False)
        return result
