# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: findings_identities
short_description: The identities scanners know hosts by (instance id, FQDN, IP, name), from host vars
version_added: 0.1.0
description:
  - For each host name, C(name) (the inventory name), C(instance_id) (C(fleetpatch_instance_id)),
    C(fqdn) (C(fleetpatch_fqdn), else C(ansible_host) when it is a name with a dot), C(ip)
    (C(fleetpatch_ip_addresses) and C(ansible_host) when it is an address) and C(aliases)
    (C(fleetpatch_findings_aliases)), and for Inspector2 C(region) (C(fleetpatch_region)) and C(role_arn)
    (C(fleetpatch_aws_role_arn), the role of the host's account) - the input of
    M(fleetpatch.hybrid.vulnerability_findings).
author:
  - fleetpatch.hybrid developers (@fleetpatch)
positional: hostvars
options:
  _input:
    description: Inventory host names.
    type: list
    elements: str
    required: true
  hostvars:
    description: C(hostvars).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Identities of the play's hosts
  ansible.builtin.set_fact:
    identities: "{{ ansible_play_hosts | fleetpatch.hybrid.findings_identities(hostvars) }}"
"""

RETURN = r"""
_value:
  description: One identity per host.
  type: list
  elements: dict
"""

import ipaddress


def _is_ip(value):
    try:
        ipaddress.ip_address(str(value))
        return True
    except ValueError:
        return False


def findings_identities(names, hostvars):
    out = []
    for name in names:
        hv = hostvars[name]
        address = hv.get("ansible_host")
        ips = [str(ip) for ip in hv.get("fleetpatch_ip_addresses") or []]
        if address and _is_ip(address):
            ips.append(str(address))
        fqdn = hv.get("fleetpatch_fqdn") or (address if address and not _is_ip(address) and "." in str(address) else None)
        out.append({"name": str(name), "instance_id": hv.get("fleetpatch_instance_id"), "fqdn": fqdn, "ip": ips,
                    "aliases": [str(a) for a in hv.get("fleetpatch_findings_aliases") or []],
                    "region": hv.get("fleetpatch_region"), "role_arn": hv.get("fleetpatch_aws_role_arn")})
    return out


class FilterModule(object):
    def filters(self):
        return {"findings_identities": findings_identities}
