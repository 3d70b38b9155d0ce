# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark-only callback (benchmarks/fleet_scale.py): wall time, CPU time and peak RSS of each play, wall time of each task.

Writes JSON to $FLEET_PROFILE_OUT at the end of the run. Peak RSS is the controller process's
VmHWM, reset at each play's start (/proc/self/clear_refs, 5), so each play reports its own peak.
"""

from __future__ import annotations

import json
import os
import resource
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: fleet_profile
type: aggregate
short_description: Benchmark-only - wall time and peak RSS per play and task
description:
  - Used by benchmarks/fleet_scale.py only.
requirements:
  - Linux /proc
"""


def _hwm_mb():
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return None


def _cpu():
    """CPU seconds of the controller and its finished forks: what the play cost, whatever the machine's load."""
    own, forks = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + forks.ru_utime + forks.ru_stime


def _own_cpu():
    """CPU seconds of the controller process alone (not its forks)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def _reset_hwm():
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "fleet_profile"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.started = time.time()
        self.plays, self.play, self.task = [], None, None

    def _end_task(self, now):
        if self.task is not None:
            self.task["wall"] = now - self.task.pop("_start")
            self.task["cpu"] = _cpu() - self.task.pop("_cpu")
            self.task["controller_cpu"] = _own_cpu() - self.task.pop("_own_cpu")
            self.play["tasks"].append(self.task)
            self.task = None

    def _end_play(self, now):
        self._end_task(now)
        if self.play is not None:
            self.play["wall"] = now - self.play.pop("_start")
            self.play["cpu"] = _cpu() - self.play.pop("_cpu")
            self.play["peak_rss_mb"] = _hwm_mb()
            self.plays.append(self.play)
            self.play = None

    def v2_playbook_on_play_start(self, play):
        now = time.time()
        self._end_play(now)
        if not self.plays:
            self.first_play_at = now
        _reset_hwm()
        self.play = {"name": play.get_name(), "_start": now, "_cpu": _cpu(), "tasks": []}

    def v2_playbook_on_task_start(self, task, is_conditional):
        now = time.time()
        self._end_task(now)
        self.task = {"name": task.get_name(), "_start": now, "_cpu": _cpu(), "_own_cpu": _own_cpu()}

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def v2_playbook_on_stats(self, stats):
        now = time.time()
        self._end_play(now)
        out = {"startup": getattr(self, "first_play_at", now) - self.started, "plays": self.plays, "total": now - self.started}
        path = os.environ.get("FLEET_PROFILE_OUT")
        if path:
            with open(path, "w") as handle:
                json.dump(out, handle, indent=1)
