# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test only: SIGKILL the controller (this ansible-playbook process) at a named point.

Loaded only by the fault-injection tests (ANSIBLE_CALLBACK_PLUGINS pointing here and
ANSIBLE_CALLBACKS_ENABLED=fleetpatch_kill_at); never shipped in the collection's plugins.

FLEETPATCH_KILL_AFTER_TASK: once a task whose name ends so has run on a host (not skipped), the
  controller dies as the next task or play starts, that is once every host of the play finished
  that task (a phase boundary). FLEETPATCH_KILL_AFTER_TASK_COUNT=N (default 1): only once the task has
  run on N hosts (with serial 1, in the Nth batch).
FLEETPATCH_KILL_AT_PLAY: the controller dies as the play of that name starts.
FLEETPATCH_KILL_MARK: a file written just before the kill (so the test knows it happened).
"""

from __future__ import annotations

import os
import signal

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: fleetpatch_kill_at
type: aggregate
short_description: test only, SIGKILL the controller at a named task or play
description:
  - Used by tests/integration/test_faults.py to kill the controller at a phase boundary.
options: {}
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "fleetpatch_kill_at"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.after_task = os.environ.get("FLEETPATCH_KILL_AFTER_TASK")
        self.at_play = os.environ.get("FLEETPATCH_KILL_AT_PLAY")
        self.mark = os.environ.get("FLEETPATCH_KILL_MARK")
        self.after_count = int(os.environ.get("FLEETPATCH_KILL_AFTER_TASK_COUNT") or 1)
        self.seen = 0
        self.armed = False

    def _kill(self, where):
        if self.mark:
            with open(self.mark, "w") as handle:
                handle.write(where + "\n")
        os.kill(os.getpid(), signal.SIGKILL)

    def v2_playbook_on_play_start(self, play):
        if self.armed:
            self._kill("after task %s" % self.after_task)
        if self.at_play and play.get_name().strip() == self.at_play:
            self._kill("at play %s" % self.at_play)

    def v2_playbook_on_task_start(self, task, is_conditional):
        if self.armed:
            self._kill("after task %s" % self.after_task)

    def v2_runner_on_ok(self, result):
        if self.after_task and result._task.get_name().strip().endswith(self.after_task):
            self.seen += 1
            self.armed = self.seen >= self.after_count

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def v2_playbook_on_stats(self, stats):
        if self.armed:
            self._kill("after task %s" % self.after_task)
