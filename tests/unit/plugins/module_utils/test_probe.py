"""Light probes: the scripts run for real under /bin/sh and Python here, and their answers parse."""

import subprocess
import sys

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import osinfo, preflight, probe


def sh(script, command="/bin/sh"):
    proc = subprocess.run(["/bin/sh", "-c", command], input=script, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def test_sections_frame_output_and_exit_codes():
    rc, out, err = sh(probe.shell_script([
        ("ok", "echo hello; echo world"),
        ("fails", "echo partial; exit 3"),
        ("no_newline", "printf 'last'"),
        ("quiet", "echo noise >&2"),
        ("missing_tool", "command -v fleetpatch-no-such-tool >/dev/null || exit 127; fleetpatch-no-such-tool"),
    ]))
    assert rc == 0, err
    assert probe.parse_sections(out) == {
        "ok": (0, "hello\nworld"),
        "fails": (3, "partial"),
        "no_newline": (0, "last"),
        "quiet": (0, ""),
        "missing_tool": (127, ""),
    }


def test_a_section_that_exits_does_not_end_the_script():
    dummy, out, dummy = sh(probe.shell_script([("first", "exit 1"), ("second", "echo still here")]))
    assert probe.parse_sections(out) == {"first": (1, ""), "second": (0, "still here")}


@pytest.mark.parametrize("stdout, expected", [
    ("", {}),
    # cut short: the second section never ended (connection lost)
    ("%s a begin\nx\n\n%s a end 0\n%s b begin\npartial" % ((probe.MARK,) * 3), {"a": (0, "x")}),
    # a pty's line endings
    ("%s a begin\r\nx\r\n\r\n%s a end 2\r\n" % ((probe.MARK,) * 2), {"a": (2, "x")}),
    ("motd noise\n%s a begin\n\n%s a end 0\n" % ((probe.MARK,) * 2), {"a": (0, "")}),
])
def test_parse_sections_table(stdout, expected):
    assert probe.parse_sections(stdout) == expected


@pytest.mark.parametrize("name", ["Upper", "with space", "1digit", "dash-ed", ""])
def test_section_and_module_names_are_checked(name):
    with pytest.raises(ValueError, match="use lower-case"):
        probe.shell_script([(name, "true")])
    with pytest.raises(ValueError, match="use lower-case"):
        probe.python_program([(name, "")], "x.y", {})


HELPER = "def twice(n):\n    return 2 * n\n"
ENTRY = ("from __future__ import annotations\nimport os\n\n"
         "def probe(args, modules):\n    return {'value': modules['helper'].twice(args['n']), 'pid': os.getpid()}\n")


def test_python_program_runs_module_sources_and_answers_json():
    rc, out, err = sh(probe.python_program([("helper", HELPER), ("entry", ENTRY)], "entry.probe", {"n": 21}),
                      probe.python_command(sys.executable))
    assert rc == 0, err
    answer = probe.parse_python_answer(out)
    assert answer["value"] == 42 and isinstance(answer["pid"], int)


def test_python_program_failure_gives_no_answer_and_a_traceback():
    rc, out, err = sh(probe.python_program([("entry", "def probe(args, modules):\n    raise RuntimeError('boom')\n")],
                                           "entry.probe", {}), probe.python_command(sys.executable))
    assert rc == 1 and probe.parse_python_answer(out) is None and "RuntimeError: boom" in err


@pytest.mark.parametrize("interpreter", ["/nonexistent/python3", "/tmp/it's $(touch /tmp/fleetpatch-probe-pwned)"])
def test_a_named_interpreter_is_the_only_one_tried(interpreter):
    rc, out, err = sh("print('ran')\n", probe.python_command(interpreter))
    assert rc == 127 and out == ""
    assert "no Python on this host (looked for: %s)" % interpreter in err


def test_without_a_named_interpreter_the_first_found_runs():
    rc, out, err = sh("import sys; print(sys.version_info[0])\n", probe.python_command(None))
    assert (rc, out.strip()) == (0, "3"), err


@pytest.mark.parametrize("stdout, expected", [
    ("", None),
    ("noise only\n", None),
    ("%s [1, 2]\n" % probe.MARK, None),
    ("%s {broken\n" % probe.MARK, None),
    ("a warning\n%s {\"ok\": true}\n" % probe.MARK, {"ok": True}),
])
def test_parse_python_answer_table(stdout, expected):
    assert probe.parse_python_answer(stdout) == expected


def test_preflight_probe_answers_like_the_module_functions_on_this_machine():
    """The probe the preflight_info action sends, run here, against check() called in-process."""
    sources = []
    for name, module in (("osinfo", osinfo), ("preflight", preflight)):
        with open(module.__file__) as handle:
            sources.append((name, handle.read()))
    params = {"min_free_mb": 1, "paths": ["/", "/nonexistent-path"], "fail_on_pending_reboot": False,
              "agent_services": ["fleetpatch-no-such-service"]}
    rc, out, err = sh(probe.python_program(sources, "preflight.probe", params), probe.python_command(sys.executable))
    assert rc == 0, err
    answer = probe.parse_python_answer(out)

    def run(argv):
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        return proc.returncode, proc.stdout, proc.stderr

    with open("/etc/os-release") as handle:
        manager = osinfo.package_manager(osinfo.parse_os_release(handle.read()), lambda b: subprocess.call(
            ["/bin/sh", "-c", "command -v %s >/dev/null" % b]) == 0)
    local = preflight.check(params, manager, run)
    assert answer["package_manager"] == local["package_manager"] == "apt"
    assert [d["path"] for d in answer["disks"]] == ["/"]
    assert answer["ready"] is False
    assert answer["reasons"] == local["reasons"]
    assert answer["services"] == local["services"]
