"""The aws_access lookup through ansible itself, on this controller (not an EC2 instance)."""

import json
import os
import subprocess

import pytest
from fleetlib import ROOT, VENV_BIN

pytestmark = pytest.mark.integration


def lookup(tmp_path, args, **env):
    clean = dict((k, v) for k, v in os.environ.items() if not k.startswith("AWS_"))
    clean.update(PATH=VENV_BIN + os.pathsep + os.environ["PATH"], ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                 HOME=str(tmp_path), ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                 ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", **env)
    result = subprocess.run(["ansible", "localhost", "-m", "ansible.builtin.debug", "-a",
                             "msg={{ lookup('fleetpatch.hybrid.aws_access', details=true%s) | to_json }}" % args],
                            cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(json.loads(result.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]["msg"])


def test_lookup_answers_from_this_controller(tmp_path):
    assert lookup(tmp_path, "")["configured"] is False
    assert lookup(tmp_path, "", AWS_PROFILE="patching")["how"] == "environment variable AWS_PROFILE"
    assert lookup(tmp_path, ", endpoint_url='http://127.0.0.1:5000'")["configured"] is True
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "credentials").write_text("[default]\n")
    assert lookup(tmp_path, "")["how"] == "file %s/.aws/credentials" % tmp_path
