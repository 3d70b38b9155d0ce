# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: msrc_cvrf
short_description: KB -> CVE details from Microsoft's monthly security update documents (MSRC CVRF JSON)
version_added: 0.1.0
description:
  - Reads MSRC CVRF JSON documents (one per month, as U(https://api.msrc.microsoft.com/cvrf/v3.0/cvrf/2024-Jan)
    serves them with the C(Accept) header C(application/json)) from files on the controller or HTTPS URLs, and
    returns one mapping of KB to its CVEs, MSRC severity, release date (the document's initial
    release, Patch Tuesday) and whether Microsoft says it needs a restart.
  - The scan role reads them once per batch, on the controller, and maps the Windows hosts' KBs
    offline, the way the Debian security tracker file serves apt hosts.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
options:
  _terms:
    description: Paths on the controller or C(https://) URLs of CVRF JSON documents.
    type: list
    elements: str
    required: true
  validate_certs:
    description: Verify the server certificate of URLs (keep it on).
    type: bool
    default: true
  timeout:
    description: Seconds to wait for a URL.
    type: int
    default: 60
notes:
  - A document that is not CVRF JSON (for example the XML form) is an error naming it.
"""

EXAMPLES = r"""
- name: Details of January and February
  ansible.builtin.set_fact:
    msrc: "{{ lookup('fleetpatch.hybrid.msrc_cvrf', '/srv/msrc/2024-Jan.json', 'https://api.msrc.microsoft.com/cvrf/v3.0/cvrf/2024-Feb') }}"
"""

RETURN = r"""
_raw:
  description: "One mapping, C({KB: {cves, msrc_severity, release_date, reboot_required, products, documents}})."
  type: list
  elements: dict
"""

import json

from ansible.errors import AnsibleLookupError
from ansible.module_utils.urls import open_url
from ansible.plugins.lookup import LookupBase

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import msrc_cvrf


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        details = {}
        for term in terms:
            source = str(term)
            try:
                if source.startswith(("https://", "http://")):
                    with open_url(source, headers={"Accept": "application/json"}, validate_certs=self.get_option("validate_certs"),
                                  timeout=self.get_option("timeout")) as response:
                        document = json.loads(response.read())
                else:
                    with open(source, "rb") as handle:
                        document = json.loads(handle.read())
                msrc_cvrf.kb_details(document, details)
            except (OSError, ValueError) as exc:
                raise AnsibleLookupError("msrc_cvrf: %s: %s" % (source, exc))
        return [details]
