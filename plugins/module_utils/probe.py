# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Light probes: read a host's state in one shell or one stdlib-Python run, no module transfer.

An Ansible module run costs ~0.3-0.4 s on a host (a Python start that unpacks and compiles
ansible.module_utils.basic from a zip every time); a shell command over the same connection costs
~0.05 s. The read-only checks of a patch night (reboot signals, preflight) are small enough to
run as a probe: the action plugin sends the script on the connection's stdin, the host answers in
sections, and the decision is taken on the controller by the same pure functions the module uses.

Pure Python: builds the scripts and parses the answers; the action plugins do the I/O.
"""

from __future__ import annotations

import json
import re
import shlex

MARK = "@@fleetpatch-probe@@"
_SECTION_RE = re.compile(r"^%s (\S+) (begin|end (\d+))$" % re.escape(MARK))
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")

# The interpreters a stdlib probe tries when the inventory names none (RHEL 8's platform-python first).
PYTHONS = ("python3", "/usr/libexec/platform-python", "python")


def shell_script(sections):
    """A POSIX sh script running each (name, snippet) in a subshell and framing its output and exit code.

    Stderr of a snippet is dropped: each snippet prints what it has to say on stdout.
    """
    lines = []
    for name, snippet in sections:
        if not _NAME_RE.match(name):
            raise ValueError("probe section name %r: use lower-case letters, digits and _" % name)
        lines.append("printf '%%s\\n' '%s %s begin'" % (MARK, name))
        lines.append("(\n%s\n) 2>/dev/null" % snippet)
        lines.append("printf '\\n%%s %%s\\n' '%s %s end' \"$?\"" % (MARK, name))
    return "\n".join(lines) + "\n"


def parse_sections(stdout):
    """{name: (rc, text)} from a shell_script() answer; a section cut short (no end line) is missing."""
    sections, name, body = {}, None, []
    for line in (stdout or "").replace("\r\n", "\n").split("\n"):
        match = _SECTION_RE.match(line)
        if not match:
            if name is not None:
                body.append(line)
            continue
        if match.group(2) == "begin":
            name, body = match.group(1), []
        elif name == match.group(1):
            text = "\n".join(body)
            # shell_script() prints a newline before the end mark so that a last line without one
            # still ends; take that newline back off
            sections[name] = (int(match.group(3)), text[:-1] if text.endswith("\n") else text)
            name, body = None, []
    return sections


def python_command(interpreter=None):
    """The sh command that runs a Python program read from stdin: the named interpreter (the one modules
    would run with, so only that one), else the first of PYTHONS found."""
    candidates = [interpreter] if interpreter else list(PYTHONS)
    quoted = " ".join(shlex.quote(c) for c in candidates)
    return ('set -- %s; for p in "$@"; do command -v "$p" >/dev/null 2>&1 && exec "$p" -; done; '
            'echo "no Python on this host (looked for: $*)" >&2; exit 127' % quoted)


def python_program(modules, call, args):
    """A stdlib-only Python program: loads each (name, source) as a module, prints json of call(args).

    The sources are pure module_utils (stdlib imports only); `call` is "module.function" and gets the
    args dict and {name: loaded module} (so that one probe module can use another). The answer is
    one JSON line after MARK, so that anything else printed is ignored.
    """
    parts = ["import json, sys, types",
             "_modules = {}",
             "def _load(name, source):",
             "    module = types.ModuleType(name)",
             "    exec(compile(source, name + '.py', 'exec'), module.__dict__)",
             "    sys.modules[name] = _modules[name] = module",
             "    return module"]
    for name, source in modules:
        if not _NAME_RE.match(name):
            raise ValueError("probe module name %r: use lower-case letters, digits and _" % name)
        parts.append("%s = _load(%r, %r)" % (name, name, source))
    module, function = call.split(".")
    parts.append("_result = %s.%s(json.loads(%r), _modules)" % (module, function, json.dumps(args)))
    parts.append("sys.stdout.write('\\n%s ' + json.dumps(_result) + '\\n')" % MARK)
    return "\n".join(parts) + "\n"


def parse_python_answer(stdout):
    """The dict a python_program() printed, or None when it printed none (it failed: see stderr)."""
    for line in reversed((stdout or "").replace("\r\n", "\n").split("\n")):
        if line.startswith(MARK + " "):
            try:
                answer = json.loads(line[len(MARK) + 1:])
            except ValueError:
                return None
            return answer if isinstance(answer, dict) else None
    return None
