"""preflight_info and reboot_info: the light probe (pipelining on) and the module (pipelining off)
give the same answer on real hosts, Debian and EL, with a held dpkg lock, a pending reboot flag and
a needrestart stand-in in place; and neither changes the host."""

import json
import os
import subprocess

import pytest
from fleetlib import LOCALFLEET, ROOT, VENV_BIN, host_exec, localfleet

pytestmark = pytest.mark.integration

HOLD_LOCK = ("python3 -c 'import fcntl,time; f=open(\"/var/lib/dpkg/lock-frontend\",\"w\"); "
             "fcntl.lockf(f, fcntl.LOCK_EX); print(\"locked\", flush=True); time.sleep(120)'")
NEEDRESTART = ("printf '#!/bin/sh\\necho NEEDRESTART-VER: 3.6\\necho NEEDRESTART-KSTA: 3\\n"
               "echo NEEDRESTART-SVC: cron.service\\n' > /usr/sbin/needrestart && chmod 755 /usr/sbin/needrestart")
PLAY = """
- name: Read what a patch night reads before and after patching
  hosts: web-dev-1:app-el-1
  gather_facts: false
  tasks:
    - name: Preflight
      fleetpatch.hybrid.preflight_info:
        min_free_mb: 1
        agent_services: [fp-webapp, fleetpatch-no-such-agent]
      register: preflight
    - name: Reboot signals
      fleetpatch.hybrid.reboot_info:
        patched: [libc6, curl]
      register: reboot
    - name: Keep both
      ansible.builtin.copy:
        content: "{{ {'preflight': preflight, 'reboot': reboot} | to_json }}"
        dest: "{{ out }}/{{ inventory_hostname }}.json"
        mode: "0644"
      delegate_to: localhost
"""


def read_both(tmp_path, pipelining):
    out = tmp_path / ("pipelining-%s" % pipelining)
    out.mkdir()
    playbook = tmp_path / "probes.yml"
    playbook.write_text(PLAY)
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ["PATH"], ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_PIPELINING=str(pipelining), ANSIBLE_DEBUG="0")
    result = subprocess.run(["ansible-playbook", "-vvv", "-i", os.path.join(ROOT, "inventories", "demo"), str(playbook),
                             "-e", "out=%s" % out], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    answers = dict((host, json.loads((out / ("%s.json" % host)).read_text())) for host in ("web-dev-1", "app-el-1"))
    return answers, result.stdout


def comparable(answer):
    preflight = dict(answer["preflight"])
    # free space moves between two reads; which file systems were measured must not
    preflight["disks"] = [d["path"] for d in preflight["disks"]]
    keep = ("ready", "reasons", "package_manager", "locks", "disks", "reboot_pending", "services", "python_version")
    return {"preflight": dict((k, preflight[k]) for k in keep),
            "reboot": dict((k, answer["reboot"][k]) for k in ("reboot", "required", "reasons", "decision", "services", "boot_id"))}


def test_probe_and_module_give_the_same_answer(fleet, tmp_path):
    localfleet("reset", "fp1")
    rc, out = host_exec("fp1", "apt-get update -qq && apt-get install -y -qq fp-webapp=1.0-1 >/dev/null && "
                        "printf 'fp-kernel\\n' > /var/run/reboot-required.pkgs && touch /var/run/reboot-required && "
                        + NEEDRESTART)
    assert rc == 0, out
    holder = subprocess.Popen([LOCALFLEET, "exec", "fp1", HOLD_LOCK], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        probed, probe_log = read_both(tmp_path, True)
        moduled, module_log = read_both(tmp_path, False)
    finally:
        holder.kill()
        holder.wait()

    # with pipelining the probes ran (their commands are in the -vvv log: the Python finder of the
    # preflight probe, a bare /bin/sh reading the reboot probe), once per host; without it the modules
    # were put on the hosts and run, and no probe
    for log, probes in ((probe_log, 2), (module_log, 0)):
        assert log.count("no Python on this host (looked for:") == probes
        assert log.count("/bin/sh && sleep 0") == probes
    assert module_log.count("AnsiballZ_preflight_info.py") >= 2 and module_log.count("AnsiballZ_reboot_info.py") >= 2

    for host in ("web-dev-1", "app-el-1"):
        assert comparable(probed[host]) == comparable(moduled[host]), host

    debian, el = comparable(probed["web-dev-1"]), comparable(probed["app-el-1"])
    assert debian["preflight"]["package_manager"] == "apt" and el["preflight"]["package_manager"] == "dnf"
    assert [lock["path"] for lock in debian["preflight"]["locks"]] == ["/var/lib/dpkg/lock-frontend"]
    assert debian["preflight"]["ready"] is False
    assert [s["active"] for s in debian["preflight"]["services"]] == [True, False]
    assert debian["reboot"]["reasons"] == ["/var/run/reboot-required (fp-kernel)", "needrestart: running kernel is outdated",
                                           "patched packages that load at boot: libc6"]
    assert debian["reboot"]["services"] == ["cron.service"]
    assert el["reboot"]["reasons"] == ["patched packages that load at boot: libc6"]
    rc, boot_id = host_exec("fp1", "cat /proc/sys/kernel/random/boot_id")
    assert debian["reboot"]["boot_id"] == boot_id.strip()
    # read only: the flag is still there
    assert host_exec("fp1", "test -e /var/run/reboot-required")[0] == 0
