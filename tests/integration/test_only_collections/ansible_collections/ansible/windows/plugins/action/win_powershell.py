# TEST ONLY (see the collection's README.md): win_powershell replays recorded results, touching no host.
from __future__ import annotations

from ansible_collections.ansible.windows.plugins.plugin_utils._replay import ReplayAction


class ActionModule(ReplayAction):
    pass
