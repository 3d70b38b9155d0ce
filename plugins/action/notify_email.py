# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side e-mail notice over verified TLS (documented in plugins/modules/notify_email.py)."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.mail import SECURE, MailError, send_mail

SPEC = dict(
    host=dict(type="str", default="localhost"),
    port=dict(type="int"),
    secure=dict(type="str", default="starttls", choices=list(SECURE)),
    username=dict(type="str"),
    password=dict(type="str", no_log=True),
    sender=dict(type="str", required=True),
    to=dict(type="list", elements="str", required=True),
    subject=dict(type="str", required=True),
    body=dict(type="str", required=True),
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path"),
    timeout=dict(type="float", default=30.0),
)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(SPEC)

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=SPEC)
        port = args["port"] or (465 if args["secure"] == "tls" else 25)
        result.update(changed=not self._task.check_mode, to=args["to"], relay="%s:%d" % (args["host"], port),
                      secure=args["secure"])
        if self._task.check_mode:
            return result
        try:
            accepted = send_mail(args["host"], port, args["sender"], args["to"], args["subject"], args["body"],
                                 secure=args["secure"], username=args["username"], password=args["password"],
                                 validate_certs=args["validate_certs"], ca_path=args["ca_path"], timeout=args["timeout"])
        except MailError as exc:
            raise AnsibleActionFail("notify_email: %s" % exc)
        result["accepted"] = accepted
        return result
