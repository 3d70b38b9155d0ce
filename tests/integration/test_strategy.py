"""fleetpatch.hybrid.fleet_linear runs a play as ansible.builtin.linear does: same results, same host lists per host.

One playbook (serial batches, failed hosts, an unreachable host, run_once, a handler, an include) runs under both
strategies on 12 controller-side hosts (no test host needed); every host records the play host lists it saw at each
task, and the two runs must agree on those, on the recap and on the task output. The debugger case answers the task
debugger on stdin: the strategy must still stop at the failed task (it keeps ansible-core's full host state copy then).
"""

import json
import os
import re
import subprocess

import pytest
from fleetlib import ROOT, VENV_BIN

HOSTS = ["h%02d" % i for i in range(1, 13)]

INVENTORY = "[fleet]\n" + "\n".join(
    "%s ansible_connection=%s" % (h, "ssh ansible_host=127.0.0.1 ansible_port=1 ansible_user=nobody"
                                  " ansible_ssh_common_args='-o ConnectTimeout=3 -o BatchMode=yes'" if h == "h11"
                                  else "local ansible_python_interpreter=" + os.path.join(VENV_BIN, "python"))
    for h in HOSTS) + "\n"

RECORD = """
    - name: Record the lists ({step})
      ansible.builtin.set_fact:
        seen: "{{{{ (seen | default([])) + [{{'step': '{step}', 'all': ansible_play_hosts_all, 'play': ansible_play_hosts,
                 'batch': ansible_play_batch, 'current': ansible_current_hosts, 'failed': ansible_failed_hosts}}] }}}}"
"""

PLAYBOOK = """
- name: Lists under a strategy
  hosts: fleet
  gather_facts: false
  serial: [5, 7]
  max_fail_percentage: 90
  tasks:
""" + RECORD.format(step="start") + """
    - name: Fail two hosts
      ansible.builtin.fail:
        msg: planned failure
      when: inventory_hostname in ['h02', 'h08']
""" + RECORD.format(step="after failures") + """
    - name: Reach a host that does not answer
      ansible.builtin.ping:
      when: inventory_hostname == 'h11'
""" + RECORD.format(step="after unreachable") + """
    - name: Once per batch
      ansible.builtin.set_fact:
        once: "{{ ansible_play_batch }}"
      run_once: true
      changed_when: true
      notify: Record in a handler
    - name: Included
      ansible.builtin.include_tasks: included.yml
  handlers:
    - name: Record in a handler
      ansible.builtin.set_fact:
        handled: "{{ ansible_play_hosts }}"

- name: Write what every host saw
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Collect
      ansible.builtin.set_fact:
        everything: "{{ everything | default({}) | combine({item: {'seen': hostvars[item].seen | default([]),
                        'once': hostvars[item].once | default(none), 'handled': hostvars[item].handled | default(none)}}) }}"
      loop: "{{ groups['fleet'] }}"
    - name: Write
      ansible.builtin.copy:
        dest: "{{ out }}"
        content: "{{ everything | to_nice_json }}"
        mode: "0644"
"""

INCLUDED = RECORD.format(step="included").replace("\n    - name", "\n- name").replace("\n      ", "\n  ")


def run(tmp_path, strategy, tag, stdin=None, playbook=PLAYBOOK, extra_env=None):
    workdir = tmp_path / tag
    workdir.mkdir()
    (workdir / "hosts.ini").write_text(INVENTORY)
    (workdir / "play.yml").write_text(playbook)
    (workdir / "included.yml").write_text(INCLUDED)
    out = workdir / "seen.json"
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ["PATH"], ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_STRATEGY=strategy, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    env.update(extra_env or {})
    result = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", str(workdir / "hosts.ini"), "-f", "4",
                             str(workdir / "play.yml"), "-e", "out=%s" % out], cwd=ROOT, env=env, capture_output=True,
                            text=True, input=stdin, timeout=600, check=False)
    # the two runs differ in their folder only (named in error origins)
    result.stdout = result.stdout.replace(str(workdir), "<workdir>")
    return result, (json.loads(out.read_text()) if out.exists() else None)


def recap(stdout):
    return sorted(re.findall(r"^(h\d\d)\s+:\s+(.*?)\s*$", stdout, re.M))


def task_lines(stdout):
    """The task output without the timing-dependent order of hosts within a task."""
    stdout = re.sub(r"^(included: \S+ for )(.*)$", lambda m: m.group(1) + ", ".join(sorted(m.group(2).split(", "))),
                    stdout, flags=re.M)
    blocks = re.split(r"\n(?=TASK |PLAY |RUNNING HANDLER )", stdout)
    return [sorted(block.splitlines()) for block in blocks]


def test_same_results_and_host_lists_as_ansible_builtin_linear(tmp_path):
    theirs, seen_theirs = run(tmp_path, "ansible.builtin.linear", "linear")
    ours, seen_ours = run(tmp_path, "fleetpatch.hybrid.fleet_linear", "fleet_linear")
    assert theirs.returncode == ours.returncode == 4, (theirs.stdout[-3000:], ours.stdout[-3000:], ours.stderr[-3000:])
    # the strategy really ran: ansible-core names every strategy from outside ansible.builtin
    assert "strategy plugins not included in ansible.builtin" in ours.stderr
    assert "strategy plugins not included in ansible.builtin" not in theirs.stderr
    assert "fleet_linear runs as ansible.builtin.linear" not in ours.stderr
    assert seen_ours == seen_theirs
    assert recap(ours.stdout) == recap(theirs.stdout)
    assert task_lines(ours.stdout) == task_lines(theirs.stdout)
    # and the lists moved as the play went: the failed and unreachable hosts left the play and its batch
    h03 = dict((entry["step"], entry) for entry in seen_ours["h03"]["seen"])
    assert h03["start"]["batch"] == ["h01", "h02", "h03", "h04", "h05"] and h03["start"]["all"] == HOSTS
    assert h03["after failures"]["failed"] == ["h02"] and "h02" not in h03["after failures"]["play"]
    assert "h02" not in h03["after failures"]["current"] and "h02" not in h03["after failures"]["batch"]
    h12 = dict((entry["step"], entry) for entry in seen_ours["h12"]["seen"])
    assert h12["after unreachable"]["batch"] == ["h06", "h07", "h09", "h10", "h12"]
    assert "h11" not in h12["after unreachable"]["current"] and h12["included"]["failed"] == ["h08"]
    assert seen_ours["h12"]["once"] == ["h06", "h07", "h09", "h10", "h12"]
    # the run_once task notifies for the host it ran on (the batch's first); its handler sees the play without the
    # hosts that failed or were unreachable, in both batches
    assert seen_ours["h06"]["handled"] == [h for h in HOSTS if h not in ("h02", "h08", "h11")]
    assert seen_ours["h12"]["handled"] is None
    assert re.search(r"^h11\s+:.*unreachable=1", ours.stdout, re.M)


@pytest.mark.parametrize("strategy", ["ansible.builtin.linear", "fleetpatch.hybrid.fleet_linear"])
def test_the_task_debugger_still_stops_at_a_failed_task(tmp_path, strategy):
    playbook = PLAYBOOK.replace("      when: inventory_hostname in ['h02', 'h08']",
                                "      when: inventory_hostname in ['h02', 'h08']\n      debugger: on_failed")
    # "c": continue (the host stays failed) at each of the two failures
    result, seen = run(tmp_path, strategy, strategy.rsplit(".", 1)[1], stdin="c\nc\n", playbook=playbook)
    assert result.stdout.count("[h02] TASK: Fail two hosts (debug)>") == 1, result.stdout[-3000:]
    assert result.stdout.count("[h08] TASK: Fail two hosts (debug)>") == 1, result.stdout[-3000:]
    assert [entry["step"] for entry in seen["h02"]["seen"]] == ["start"]
    assert seen["h03"]["seen"][-1]["failed"] == ["h02"]
