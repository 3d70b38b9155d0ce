#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: health_check
short_description: Application health checks on the host (HTTP(S), TCP, systemd service, command), before and after a patch
version_added: 0.1.0
description:
  - Runs the patch group's health checks where the task runs (on the target, or on the
    controller with C(delegate_to)), each with retries, a delay between attempts and a timeout
    per attempt. A check passes as soon as one attempt passes.
  - V(http) - status code (one or a list) and, optionally, a regular expression the body must
    match. TLS certificates are verified unless the check sets C(validate_certs=false); C(ca_path)
    names a private CA. Redirects are not followed unless C(follow_redirects=true).
  - V(tcp) - a connection to C(host) (default 127.0.0.1) and C(port) opens.
  - V(service) - the systemd unit C(service) is in C(state) (default active), read from
    C(systemctl show).
  - V(command) - C(argv) (a list) or C(cmd) (split like a shell would, but run without one) exits
    with C(rc) (default 0) and, optionally, its output matches C(stdout).
  - Given O(before), the results of the same checks before the patch, it tells for each check
    whether it regressed or was already failing, so a check that failed before the patch is not
    blamed on it.
  - Never changes the host. Commands given as checks must only read.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
options:
  checks:
    description:
      - The checks, each a dict with C(type) (http, tcp, service, command), C(name) (unique;
        defaults to the type and target), C(retries), C(delay), C(timeout) and the fields of its type
        (see the description). C(run_on) is accepted and ignored here (the validate role uses it).
    type: list
    elements: dict
    required: true
  before:
    description: The O(checks) results of an earlier run (this module's C(results)), to compare against.
    type: list
    elements: dict
  retries:
    description: Retries of a check that sets none (attempts = retries + 1).
    type: int
    default: 2
  delay:
    description: Seconds between attempts of a check that sets none.
    type: float
    default: 3
  timeout:
    description: Seconds an attempt of a check that sets none may take.
    type: float
    default: 10
  strict:
    description: Count a check that was already failing before the patch as a failure too.
    type: bool
    default: false
  fail_on_unhealthy:
    description: Fail the task when the verdict is not healthy (else report it in RV(passed)).
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: It only reads, so it runs the checks in check mode too.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Health before the patch
  fleetpatch.hybrid.health_check:
    checks:
      - name: web
        type: http
        url: https://127.0.0.1:8443/health
        ca_path: /etc/ssl/certs/internal-ca.pem
        status: [200]
        body: '"status":\s*"ok"'
      - {name: db port, type: tcp, port: 5432}
      - {name: nginx, type: service, service: nginx}
      - {name: queue, type: command, argv: [/usr/local/bin/queue-depth], stdout: '^[0-9]{1,3}$', retries: 5, delay: 10}
  register: health_before

- name: Health after the patch, judged against before
  fleetpatch.hybrid.health_check:
    checks: "{{ validate_checks }}"
    before: "{{ health_before.results }}"
  register: health_after
"""

RETURN = r"""
results:
  description: One result per check, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The check's name.
      type: str
      sample: web
    type:
      description: http, tcp, service or command.
      type: str
      sample: http
    ok:
      description: Whether the check passed.
      type: bool
      sample: true
    attempts:
      description: Attempts made.
      type: int
      sample: 1
    message:
      description: What the last attempt found.
      type: str
      sample: HTTP 200
    details:
      description: Status code and body excerpt, exit code and output excerpts, or unit states.
      type: dict
      sample: {status: 200, body_excerpt: '{"status": "ok"}'}
    elapsed:
      description: Seconds the check took, retries included.
      type: float
      sample: 0.012
  sample: [{name: web, type: http, ok: true, attempts: 1, message: HTTP 200, details: {status: 200}, elapsed: 0.012}]
passed:
  description: Healthy - no check regressed or fails without a result before (without O(before), every check passes).
  returned: always
  type: bool
  sample: true
failed_checks:
  description: Names of the checks that did not pass now.
  returned: always
  type: list
  elements: str
  sample: [web]
verdict:
  description:
    - Per check C(passing), C(recovered), C(already_failing), C(regressed) or C(failing) (fails with no
      result before - without O(before), every failing check), the lists of names per verdict, and
      C(blocking), the names that fail validation.
  returned: always
  type: dict
  sample: {passed: false, regressed: [web], already_failing: [queue], blocking: [web],
           checks: [{name: web, verdict: regressed, ok: false, message: "HTTP 502, expected 200", before: {ok: true, message: HTTP 200}}]}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import health


def run(params):
    checks = health.normalize_checks(params["checks"], {"retries": params["retries"], "delay": params["delay"],
                                                        "timeout": params["timeout"]})
    for index, prior in enumerate(params["before"] or []):
        if not isinstance(prior.get("name"), str) or not isinstance(prior.get("ok"), bool):
            raise health.CheckError("before[%d] must be a result of this module (with name and ok), got %r" % (index, prior))
    results = health.run_checks(checks)
    failed = [r["name"] for r in results if not r["ok"]]
    verdict = health.compare(params["before"], results, strict=params["strict"])
    return {"changed": False, "results": results, "failed_checks": failed, "passed": verdict["passed"], "verdict": verdict}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            checks=dict(type="list", elements="dict", required=True),
            before=dict(type="list", elements="dict"),
            retries=dict(type="int", default=2),
            delay=dict(type="float", default=3),
            timeout=dict(type="float", default=10),
            strict=dict(type="bool", default=False),
            fail_on_unhealthy=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    try:
        result = run(module.params)
    except health.CheckError as exc:
        module.fail_json(msg=str(exc))
    if module.params["fail_on_unhealthy"] and not result["passed"]:
        module.fail_json(msg="unhealthy: %s" % ", ".join(result["verdict"]["blocking"]), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
