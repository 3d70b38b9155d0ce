#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This module runs on the controller as an action plugin (plugins/action/notify_email.py).

from __future__ import annotations

DOCUMENTATION = r"""
---
module: notify_email
short_description: Send an e-mail notice through an SMTP relay over verified TLS
version_added: 0.1.0
description:
  - Sends one plain-text e-mail from the controller.
  - TLS is required by default and the relay's certificate and host name are verified; a relay that offers no
    STARTTLS is an error before anything is sent, the password included.
  - Unlike community.general.mail, there is no C(try) that falls back to clear text, and TLS is never unverified
    unless O(validate_certs=false).
author:
  - fleetpatch.hybrid developers (@fleetpatch)
options:
  host:
    description: The SMTP relay.
    type: str
    default: localhost
  port:
    description: The relay's port; 465 with O(secure=tls), else 25.
    type: int
  secure:
    description:
      - V(starttls) requires the relay to offer STARTTLS and upgrades before logging in or sending.
      - V(tls) speaks TLS from the start (SMTPS, usually port 465).
      - V(never) is plain SMTP for a relay that needs no login; with O(username) it is refused.
    type: str
    default: starttls
    choices: [starttls, tls, never]
  username:
    description: The login at the relay, sent only over TLS.
    type: str
  password:
    description: The password of O(username).
    type: str
  sender:
    description: The From address.
    type: str
    required: true
  to:
    description: The recipients.
    type: list
    elements: str
    required: true
  subject:
    description: The subject.
    type: str
    required: true
  body:
    description: The plain-text body.
    type: str
    required: true
  validate_certs:
    description: Verify the relay's certificate and host name. Leave it on.
    type: bool
    default: true
  ca_path:
    description: A PEM bundle of the CA that signed the relay's certificate, for a private CA.
    type: path
  timeout:
    description: Seconds to wait for the relay.
    type: float
    default: 30.0
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - fleetpatch.hybrid.controller_action
"""

EXAMPLES = r"""
- name: Tell the owners
  fleetpatch.hybrid.notify_email:
    host: smtp.example.com
    port: 587
    username: fleetpatch
    password: "{{ vault_smtp_password }}"
    sender: fleetpatch@example.com
    to: [web-owners@example.com]
    subject: Patch night for web on Sunday 02:00 UTC
    body: "..."
"""

RETURN = r"""
accepted:
  description: The recipients the relay accepted.
  returned: success, not in check mode
  type: list
  elements: str
  sample: [web-owners@example.com]
to:
  description: The recipients asked for.
  returned: always
  type: list
  elements: str
  sample: [web-owners@example.com]
relay:
  description: The relay as host:port.
  returned: always
  type: str
  sample: smtp.example.com:587
secure:
  description: How the connection was secured.
  returned: always
  type: str
  sample: starttls
"""
