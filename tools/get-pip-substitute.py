# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for ansible-test's pip bootstrap script (get-pip.py), whose download host is not
reachable here: bootstrap pip from Python's bundled ensurepip, then install the requested pip
version from the package index like get-pip would. Takes get-pip's arguments.

ansible-test runs it with PIP_CONFIG_FILE=/dev/null, so the machine's pip settings are not
read: the system CA bundle is passed to the bootstrap pip explicitly (newer pips use the
system trust store by themselves)."""

import ensurepip
import os
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
bundle = "/etc/ssl/certs/ca-certificates.crt"
if os.path.exists(bundle):
    args = ["--cert", bundle] + args
subprocess.check_call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check"] + args)
