# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Python's cyclic garbage collector on or off for one block (pure Python, no Ansible import).

For code that builds many containers that hold no reference cycles (an inventory, a host's findings
records): the collector, woken every 700 new containers, otherwise walks the young ones again and
again; reference counting still frees everything at once. The collector is left as it was before
the block, also when the block raises, so a caller that had paused it keeps it paused.
"""

from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def collector(enabled):
    """Garbage collection on (enabled) or off within the block, as it was after it."""
    before = gc.isenabled()
    if enabled:
        gc.enable()
    else:
        gc.disable()
    try:
        yield
    finally:
        if before:
            gc.enable()
        else:
            gc.disable()
