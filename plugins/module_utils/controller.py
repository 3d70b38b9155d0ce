# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a play of controller steps runs, so that AWX's Limit field does not skip it.

A playbook's controller steps (open the run, raise the change requests, report) run once, on the
controller. As a `hosts: localhost` play they are skipped by a plain `--limit PATTERN` (AWX's Limit
field): the limit applies to every play, and localhost is not in the pattern. So each such play
targets `localhost` when no limit is given (as before), and under a limit `localhost` plus the
targeted hosts: the limit keeps the targeted hosts it names, and every step of the play runs once
(`run_once`), delegated to localhost. With `--limit 'PATTERN:localhost'` localhost comes first and
runs the steps itself, as without a limit.

Pure Python, no Ansible import.
"""

from __future__ import annotations

_PATTERN_HINT = "a host pattern such as 'all', 'patch_group_dev' or 'web-1:web-2' (fleetpatch_targets)"


def controller_hosts(targets="all", limit=None):
    """The host pattern of a play of controller steps.

    targets: the night's host pattern (fleetpatch_targets, default 'all'), a string or a list of
    patterns. limit: the run's --limit (ansible_limit), None or '' when there is none.
    """
    if isinstance(targets, (list, tuple)):
        if not targets or not all(isinstance(item, str) and item.strip() for item in targets):
            raise ValueError("fleetpatch_targets: %r is not %s" % (targets, _PATTERN_HINT))
        targets = ":".join(item.strip() for item in targets)
    if not isinstance(targets, str) or not targets.strip():
        raise ValueError("fleetpatch_targets: %r is not %s" % (targets, _PATTERN_HINT))
    if limit is None or (isinstance(limit, str) and not limit.strip()):
        return "localhost"
    return "localhost:" + targets.strip()
