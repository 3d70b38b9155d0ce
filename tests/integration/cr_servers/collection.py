"""Run playbooks of this collection from the tests (localhost only, connection local)."""

import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")


def collections_path(tmp_path):
    """The collections path holding this repository as fleetpatch.hybrid (make collection links it)."""
    return os.path.join(ROOT, ".cache", "collections")


def run_playbook(playbook_text, tmp_path, extra_vars=None, env=None, check=False, args=()):
    """ansible-playbook on localhost only (connection local), in tmp_path; returns the CompletedProcess."""
    import json

    book = os.path.join(str(tmp_path), "play.yml")
    with open(book, "w") as handle:
        handle.write(playbook_text)
    run_env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ["PATH"], ANSIBLE_NOCOLOR="1",
                   ANSIBLE_COLLECTIONS_PATH=collections_path(tmp_path), ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                   ANSIBLE_CALLBACK_RESULT_FORMAT="json", ANSIBLE_LOCALHOST_WARNING="0",
                   ANSIBLE_DEPRECATION_WARNINGS="0")
    run_env.pop("ANSIBLE_FORCE_COLOR", None)
    run_env.update(env or {})
    # An empty inventory: only the implicit localhost (the controller's Python), never the demo inventory.
    inventory = os.path.join(str(tmp_path), "hosts.ini")
    with open(inventory, "w") as handle:
        handle.write("# implicit localhost only\n")
    cmd = [os.path.join(VENV_BIN, "ansible-playbook"), book, "-i", inventory, "-c", "local"]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    if check:
        cmd.append("--check")
    cmd += list(args)
    return subprocess.run(cmd, cwd=str(tmp_path), env=run_env, capture_output=True, text=True, timeout=300, check=False)
