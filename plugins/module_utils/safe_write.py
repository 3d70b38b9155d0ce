# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing a file whole or not at all, through a private temporary file (pure Python, no Ansible import).

A fixed temporary name (`report.json.tmp`) follows a symlink someone planted there and lets two
writers trample each other. Here the temporary file is made by mkstemp in the target's own
directory (O_EXCL, mode 0600, a random name), filled, fsynced, given its final mode and renamed
over the target, then the directory is fsynced: a reader sees the old file or the new one, never
half of one, and a crash leaves at most a stray `.name.XXXX.tmp`.
"""

from __future__ import annotations

import os
import tempfile


def write_atomic(path, data, mode=0o600, dir_mode=0o700):
    """Replace `path` by `data` (str or bytes) atomically; the result has `mode`. Returns the path."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        os.makedirs(directory, mode=dir_mode)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return path
    try:
        os.fsync(dir_fd)
    except OSError:
        pass  # some filesystems cannot sync a directory; the rename itself is still atomic
    finally:
        os.close(dir_fd)
    return path
