# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Application health checks of a patched host, and the before/after verdict (pure Python).

A check is a dict from the patch group's policy: ``type`` http, tcp, service or command, with
``retries``, ``delay`` and ``timeout``. Each attempt is bounded by ``timeout`` seconds; a check
passes as soon as one attempt passes. TLS certificates are verified unless the check sets
``validate_certs: false``. Commands run without a shell.

The verdict compares each check after the patch with the same check before it, so a check that
was already failing is reported as ``already_failing`` instead of being blamed on the patch.
"""

from __future__ import annotations

import re
import shlex
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request

CHECK_TYPES = ("http", "tcp", "service", "command")
DEFAULTS = {"retries": 2, "delay": 3, "timeout": 10}
HTTP_METHODS = ("GET", "HEAD", "POST", "OPTIONS")
SERVICE_STATES = ("active", "inactive", "failed")
BODY_LIMIT = 1024 * 1024
VERDICTS = ("passing", "recovered", "already_failing", "regressed", "failing")
_COMMON = ("name", "type", "retries", "delay", "timeout", "run_on")
_FIELDS = {
    "http": _COMMON + ("url", "method", "status", "body", "headers", "validate_certs", "ca_path", "follow_redirects",
                       "use_proxy", "data"),
    "tcp": _COMMON + ("host", "port"),
    "service": _COMMON + ("service", "state"),
    "command": _COMMON + ("argv", "cmd", "rc", "stdout"),
}


class CheckError(ValueError):
    """A health check the policy gave is not valid: the message names the field."""


# --- the policy's checks --------------------------------------------------------------------

def normalize_checks(checks, defaults=None):
    """Validated checks with their defaults filled in; names are unique (the verdict matches by name)."""
    if not isinstance(checks, list):
        raise CheckError("checks must be a list of dicts, got %s" % type(checks).__name__)
    base = dict(DEFAULTS)
    base.update(dict((k, v) for k, v in (defaults or {}).items() if v is not None))
    result, seen = [], set()
    for index, check in enumerate(checks):
        normalized = normalize_check(check, index, base)
        if normalized["name"] in seen:
            raise CheckError("checks[%d].name %r is used twice: give each check its own name" % (index, normalized["name"]))
        seen.add(normalized["name"])
        result.append(normalized)
    return result


def normalize_check(check, index=0, defaults=None):
    where = "checks[%d]" % index
    if not isinstance(check, dict):
        raise CheckError("%s must be a dict, got %r" % (where, check))
    kind = check.get("type")
    if kind not in CHECK_TYPES:
        raise CheckError("%s.type %r is not one of %s" % (where, kind, ", ".join(CHECK_TYPES)))
    unknown = sorted(set(check) - set(_FIELDS[kind]))
    if unknown:
        raise CheckError("%s: unknown field(s) %s for a %s check; allowed: %s" % (
            where, ", ".join(unknown), kind, ", ".join(_FIELDS[kind])))
    out = dict(DEFAULTS)
    out.update(defaults or {})
    out.update(dict((k, v) for k, v in check.items() if v is not None))
    for key in ("retries", "delay", "timeout"):
        value = out[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (key == "timeout" and value == 0):
            raise CheckError("%s.%s must be a number %s, got %r" % (where, key, "> 0" if key == "timeout" else ">= 0", value))
    out["retries"] = int(out["retries"])
    out["run_on"] = out.get("run_on") or "target"
    if out["run_on"] not in ("target", "controller"):
        raise CheckError("%s.run_on %r is not one of target, controller" % (where, out["run_on"]))
    _NORMALIZERS[kind](out, where)
    return out


def _normalize_http(out, where):
    url = out.get("url")
    if not isinstance(url, str) or not re.match(r"^https?://[^/\s]+", url):
        raise CheckError("%s.url must be an http:// or https:// URL, got %r" % (where, url))
    out["method"] = str(out.get("method") or "GET").upper()
    if out["method"] not in HTTP_METHODS:
        raise CheckError("%s.method %r is not one of %s" % (where, out["method"], ", ".join(HTTP_METHODS)))
    status = out.get("status", [200])
    status = [status] if isinstance(status, (int, str)) else status
    try:
        out["status"] = [int(s) for s in status]
    except (TypeError, ValueError):
        raise CheckError("%s.status must be an HTTP status code or a list of them, got %r" % (where, status))
    if not out["status"] or not all(100 <= s <= 599 for s in out["status"]):
        raise CheckError("%s.status must hold HTTP status codes (100-599), got %r" % (where, status))
    _regex(out, "body", where)
    if not isinstance(out.get("headers", {}), dict):
        raise CheckError("%s.headers must be a dict" % where)
    out.setdefault("headers", {})
    out["validate_certs"] = _bool(out.get("validate_certs", True), where + ".validate_certs")
    out["follow_redirects"] = _bool(out.get("follow_redirects", False), where + ".follow_redirects")
    out["use_proxy"] = _bool(out.get("use_proxy", True), where + ".use_proxy")
    out.setdefault("name", "http %s" % url)


def _normalize_tcp(out, where):
    out["host"] = out.get("host") or "127.0.0.1"
    port = out.get("port")
    if isinstance(port, bool) or not isinstance(port, (int, str)) or not str(port).isdigit() or not 0 < int(port) < 65536:
        raise CheckError("%s.port must be a TCP port (1-65535), got %r" % (where, port))
    out["port"] = int(port)
    out.setdefault("name", "tcp %s:%d" % (out["host"], out["port"]))


def _normalize_service(out, where):
    name = out.get("service")
    if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9:_.@\\-]+$", name):
        raise CheckError("%s.service must be a systemd unit name (e.g. nginx or nginx.service), got %r" % (where, name))
    out["state"] = out.get("state") or "active"
    if out["state"] not in SERVICE_STATES:
        raise CheckError("%s.state %r is not one of %s" % (where, out["state"], ", ".join(SERVICE_STATES)))
    out.setdefault("name", "service %s" % name)


def _normalize_command(out, where):
    if out.get("argv") and out.get("cmd"):
        raise CheckError("%s: give argv or cmd, not both" % where)
    if out.get("cmd"):
        try:
            out["argv"] = shlex.split(out["cmd"])
        except ValueError as exc:
            raise CheckError("%s.cmd cannot be split into arguments: %s" % (where, exc))
    argv = out.get("argv")
    if not isinstance(argv, list) or not argv or not all(isinstance(a, (str, int)) for a in argv):
        raise CheckError("%s needs argv (a list of arguments) or cmd (a command line, run without a shell)" % where)
    out["argv"] = [str(a) for a in argv]
    rc = out.get("rc", 0)
    if isinstance(rc, bool) or not isinstance(rc, int):
        raise CheckError("%s.rc must be the expected exit code (an integer), got %r" % (where, rc))
    out["rc"] = rc
    _regex(out, "stdout", where)
    out.setdefault("name", "command %s" % " ".join(out["argv"]))


_NORMALIZERS = {"http": _normalize_http, "tcp": _normalize_tcp, "service": _normalize_service, "command": _normalize_command}


def _regex(out, key, where):
    if out.get(key) is None:
        return
    try:
        re.compile(out[key])
    except (re.error, TypeError) as exc:
        raise CheckError("%s.%s must be a regular expression: %s" % (where, key, exc))


def _bool(value, where):
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("yes", "true", "on", "1"):
        return True
    if text in ("no", "false", "off", "0"):
        return False
    raise CheckError("%s must be true or false, got %r" % (where, value))


# --- running a check ------------------------------------------------------------------------

def run_checks(checks, runner=None, sleep=time.sleep, clock=time.monotonic):
    """Run normalized checks one after another; a result per check."""
    return [run_check(check, runner=runner, sleep=sleep, clock=clock) for check in checks]


def run_check(check, runner=None, sleep=time.sleep, clock=time.monotonic):
    """Try a check up to retries + 1 times, ``delay`` seconds apart; the first pass ends it.

    Returns {name, type, ok, attempts, message, details, elapsed}.
    """
    attempt_fn = _ATTEMPTS[check["type"]]
    started = clock()
    attempts = 0
    ok, message, details = False, "not run", {}
    for attempt in range(check["retries"] + 1):
        attempts = attempt + 1
        try:
            ok, message, details = attempt_fn(check, runner or run_argv)
        except Exception as exc:  # an attempt that breaks is a failed attempt, never a traceback
            ok, message, details = False, "%s: %s" % (type(exc).__name__, exc), {}
        if ok:
            break
        if attempt < check["retries"] and check["delay"]:
            sleep(check["delay"])
    return {"name": check["name"], "type": check["type"], "ok": ok, "attempts": attempts, "message": message,
            "details": details, "elapsed": round(clock() - started, 3)}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def ssl_context(validate_certs=True, ca_path=None):
    if not validate_certs:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=ca_path)


def http_attempt(check, runner=None):
    handlers = [urllib.request.HTTPSHandler(context=ssl_context(check["validate_certs"], check.get("ca_path")))]
    if not check["follow_redirects"]:
        handlers.append(_NoRedirect())
    if not check["use_proxy"]:
        handlers.append(urllib.request.ProxyHandler({}))
    opener = urllib.request.build_opener(*handlers)
    data = check.get("data")
    request = urllib.request.Request(check["url"], method=check["method"], headers=check["headers"],
                                     data=data.encode() if isinstance(data, str) else data)
    try:
        response = opener.open(request, timeout=check["timeout"])
    except urllib.error.HTTPError as exc:  # 4xx/5xx (and 3xx when not following) still carry a status and body
        response = exc
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, ssl.SSLCertVerificationError):
            return False, "TLS certificate not trusted: %s (set validate_certs: false or ca_path only if intended)" % (
                reason.verify_message or reason), {}
        return False, "cannot reach %s: %s" % (check["url"], reason), {}
    try:
        status = getattr(response, "status", None) or response.code
        body = response.read(BODY_LIMIT) if check["method"] != "HEAD" else b""
    finally:
        response.close()
    text = body.decode("utf-8", "replace")
    details = {"status": status, "body_excerpt": text[:200]}
    if status not in check["status"]:
        return False, "HTTP %d, expected %s" % (status, " or ".join(str(s) for s in check["status"])), details
    if check.get("body") is not None and not re.search(check["body"], text):
        return False, "HTTP %d but the body does not match %r" % (status, check["body"]), details
    return True, "HTTP %d" % status, details


def tcp_attempt(check, runner=None):
    try:
        with socket.create_connection((check["host"], check["port"]), timeout=check["timeout"]):
            pass
    except OSError as exc:
        return False, "cannot connect to %s:%d: %s" % (check["host"], check["port"], exc.strerror or exc), {}
    return True, "connected to %s:%d" % (check["host"], check["port"]), {}


def command_attempt(check, runner):
    rc, out, err = runner(check["argv"], check["timeout"])
    details = {"rc": rc, "stdout_excerpt": out[-500:], "stderr_excerpt": err[-500:]}
    if rc != check["rc"]:
        return False, "exit code %s, expected %d%s" % (rc, check["rc"], ": %s" % err.strip()[-200:] if err.strip() else ""), details
    if check.get("stdout") is not None and not re.search(check["stdout"], out):
        return False, "exit code %d but the output does not match %r" % (rc, check["stdout"]), details
    return True, "exit code %d" % rc, details


SHOW_PROPERTIES = ("LoadState", "ActiveState", "SubState", "UnitFileState")


def service_attempt(check, runner):
    rc, out, err = runner(["systemctl", "show", "--property=%s" % ",".join(SHOW_PROPERTIES), "--", check["service"]],
                          check["timeout"])
    if rc != 0:
        return False, "systemctl show %s failed (rc %s): %s" % (check["service"], rc, err.strip() or out.strip()), {}
    state = parse_systemctl_show(out)
    details = {"load_state": state.get("LoadState"), "active_state": state.get("ActiveState"),
               "sub_state": state.get("SubState"), "unit_file_state": state.get("UnitFileState")}
    if state.get("LoadState") == "not-found":
        return False, "unit %s not found" % check["service"], details
    active = state.get("ActiveState")
    if active != check["state"]:
        return False, "%s is %s (%s), expected %s" % (check["service"], active, state.get("SubState"), check["state"]), details
    return True, "%s is %s (%s)" % (check["service"], active, state.get("SubState")), details


def parse_systemctl_show(text):
    """{Property: value} from ``systemctl show`` output."""
    result = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            result[key.strip()] = value.strip()
    return result


def parse_is_active(rc, text):
    """(active, state) from ``systemctl is-active UNIT``: rc 0 means active; the word says which state."""
    state = (text or "").strip().splitlines()[0].strip() if (text or "").strip() else "unknown"
    return rc == 0 and state == "active", state


def run_argv(argv, timeout):
    """Run a command without a shell: (rc, stdout, stderr); a timeout or a missing program is rc None."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None, "", "timed out after %s s" % timeout
    except OSError as exc:
        return None, "", "cannot run %s: %s" % (argv[0], exc.strerror or exc)
    return proc.returncode, proc.stdout, proc.stderr


_ATTEMPTS = {"http": http_attempt, "tcp": tcp_attempt, "service": service_attempt, "command": command_attempt}


# --- before and after -----------------------------------------------------------------------

def compare(before, after, strict=False):
    """The verdict of each check after the patch, judged against the same check before it.

    ``before``/``after`` are lists of results ({name, ok, message}). Verdicts: passing, recovered
    (failed before, passes now), already_failing (failed before and after: not the patch's
    doing), regressed (passed before, fails now) and failing (fails now, no result before, so
    the patch cannot be cleared). Validation passes unless a check regressed or is failing;
    ``strict`` also fails it on already_failing checks.
    """
    earlier = dict((r["name"], r) for r in before or [])
    checks = []
    for result in after:
        prior = earlier.get(result["name"])
        if result["ok"]:
            verdict = "recovered" if prior is not None and not prior["ok"] else "passing"
        elif prior is None:
            verdict = "failing"
        else:
            verdict = "already_failing" if not prior["ok"] else "regressed"
        checks.append({"name": result["name"], "verdict": verdict, "ok": result["ok"], "message": result.get("message"),
                       "before": None if prior is None else {"ok": prior["ok"], "message": prior.get("message")}})
    by = dict((v, [c["name"] for c in checks if c["verdict"] == v]) for v in VERDICTS)
    blocking = by["regressed"] + by["failing"] + (by["already_failing"] if strict else [])
    return {"passed": not blocking, "checks": checks, "blocking": blocking, **by}
