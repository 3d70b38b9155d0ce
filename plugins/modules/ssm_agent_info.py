#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ssm_agent_info
short_description: SSM agent status (ping, version, last ping, platform) of a batch of instances, one call sequence per region
version_added: 0.1.0
description:
  - Reads what Systems Manager knows of each instance's agent - PingStatus, agent version and
    whether it is the latest, last ping, platform - for EC2 instances (C(i-)) and hybrid
    managed nodes (C(mi-)), and says which of them are not ready to be patched and why.
  - Built for a whole batch at once - run it once for the batch (C(run_once), C(delegate_to
    localhost)), never once per host. Per region it pages through C(DescribeInstanceInformation)
    filtered by the batch's ids, 50 ids a call (a page holds at most 50 nodes, so each call
    answers its chunk in full) - ceil(batch / 50) calls, however many nodes the region has.
    Listing the whole region instead would cost ceil(region's nodes / 50) calls, more for any
    batch smaller than the region.
  - SSM rejects a filtered call when one of its ids is unknown to it (an instance without the
    agent, or of another account). With O(strategy=auto) the region is then listed in full once
    and filtered here, so one unmanaged host cannot hide the others.
author:
  - fleetpatch.hybrid developers (@fleetpatch)
options:
  instance_ids:
    description: Instance ids (C(i-...), C(mi-...)) in the module's O(region).
    type: list
    elements: str
  instances:
    description:
      - Instances across regions and accounts, each with C(instance_id), C(region) (default O(region))
        and optionally the role of its account - C(role_arn), C(external_id), C(role_session_name),
        as the inventory plugin sets them (C(fleetpatch_aws_role_arn) ...); default O(role_arn).
      - One call sequence per account (role) and region. A role that cannot be assumed, or may not
        call SSM, leaves only its own instances unchecked, with the reason (see RV(errors)).
    type: list
    elements: dict
  instance_regions:
    description:
      - Instances across regions as a dict, instance id to region (an empty region means O(region)) -
        the shape a playbook builds from host vars with C(dict(ids | zip(regions))).
    type: dict
  strategy:
    description:
      - V(auto) filters by id and falls back to listing a region when SSM rejects an id;
        V(filter) only filters (an unknown id fails the module); V(all) lists every region in full.
    type: str
    choices: [auto, filter, all]
    default: auto
  min_agent_version:
    description: An agent older than this (for example V(3.3.0.0)) makes the instance not ready.
    type: str
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - fleetpatch.hybrid.aws_role
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    details: Only reads.
  diff_mode:
    support: none
  platform:
    platforms: all
notes:
  - SSM does not report stopped or terminated instances; they come back as not managed.
  - Needs C(ssm:DescribeInstanceInformation) (and C(sts:AssumeRole) on each role given); docs/aws_permissions.md.
"""

EXAMPLES = r"""
- name: Agent status of the batch (one call sequence per region)
  fleetpatch.hybrid.ssm_agent_info:
    instance_ids: "{{ ansible_play_batch | map('extract', hostvars) | selectattr('fleetpatch_instance_id', 'defined')
                      | map(attribute='fleetpatch_instance_id') | list }}"
    region: eu-west-1
  delegate_to: localhost
  run_once: true
  register: ssm_agents

- name: Instances across regions
  fleetpatch.hybrid.ssm_agent_info:
    instances:
      - {instance_id: i-0abc1234def567890, region: eu-west-1}
      - {instance_id: mi-0123456789abcdef0, region: us-east-1}
  register: ssm_agents

- name: The batch across regions, from host vars
  fleetpatch.hybrid.ssm_agent_info:
    instance_regions: "{{ dict(__batch | map(attribute='fleetpatch_instance_id')
                               | zip(__batch | map(attribute='fleetpatch_region', default=''))) }}"
    region: us-east-1
  vars:
    __batch: "{{ ansible_play_batch | map('extract', hostvars) | selectattr('fleetpatch_instance_id', 'defined') | list }}"
  delegate_to: localhost
  run_once: true
  register: ssm_agents

- name: Agent status of some instances in one region
  fleetpatch.hybrid.ssm_agent_info:
    instance_ids: [i-0abc1234def567890, mi-0123456789abcdef0]
    region: us-east-1
    min_agent_version: 3.3.0.0
  register: ssm_agents

- name: Stop a host whose agent is not online
  ansible.builtin.fail:
    msg: "{{ ssm_agents.instances[fleetpatch_instance_id].reason }}"
  when: not ssm_agents.instances[fleetpatch_instance_id].ready
"""

RETURN = r"""
instances:
  description: Per instance id, what SSM knows of its agent.
  returned: always
  type: dict
  contains:
    instance_id:
      description: The instance.
      type: str
      sample: i-0abc1234def567890
    region:
      description: The region asked.
      type: str
      sample: eu-west-1
    managed:
      description: Whether SSM knows the instance.
      type: bool
      sample: true
    ready:
      description: Managed, online and (with O(min_agent_version)) recent enough.
      type: bool
      sample: true
    reason:
      description: Why the instance is not ready; null when it is.
      type: str
      sample: "SSM agent ConnectionLost (last ping 2026-11-27T01:10:00+00:00)"
    ping_status:
      description: Online, ConnectionLost or Inactive.
      type: str
      sample: Online
    agent_version:
      description: The agent version.
      type: str
      sample: 3.3.1142.0
    is_latest_version:
      description: Whether the agent is the latest version.
      type: bool
      sample: false
    last_ping:
      description: Last ping (ISO 8601).
      type: str
      sample: "2026-11-27T01:59:12+00:00"
    platform_type:
      description: Linux, Windows or MacOS.
      type: str
      sample: Linux
    platform_name:
      description: The OS name.
      type: str
      sample: Debian GNU/Linux
    platform_version:
      description: The OS version.
      type: str
      sample: "12"
    resource_type:
      description: EC2Instance or ManagedInstance.
      type: str
      sample: EC2Instance
    computer_name:
      description: The host name SSM reports.
      type: str
      sample: web-1.example.com
    ip_address:
      description: The address SSM reports.
      type: str
      sample: 10.0.1.17
  sample: {i-0abc1234def567890: {instance_id: i-0abc1234def567890, managed: true, ready: true, ping_status: Online}}
not_ready:
  description: The instances that are not ready, with the reason.
  returned: always
  type: list
  elements: dict
  sample: [{instance_id: i-0abc1234def567890, reason: "not managed by SSM in eu-west-1"}]
regions:
  description:
    - Per call sequence, how it was asked - ids requested, found, API calls made and the strategy used.
    - Keyed by region for the module's own credentials, by C(ACCOUNT/REGION) for a role's account.
  returned: always
  type: dict
  sample:
    eu-west-1: {requested: 120, found: 118, calls: 3, strategy: filter}
    111122223333/eu-west-1: {requested: 4, found: 4, calls: 1, strategy: filter}
errors:
  description: The call sequences whose account could not be asked (role not assumable, access denied), with the reason.
  returned: always
  type: dict
  sample:
    222233334444/us-east-1: >-
      access denied (account 222233334444, role arn:aws:iam::222233334444:role/fp):
      missing permission ssm:DescribeInstanceInformation ...
"""

import re

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import aws_roles
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ssm_agent import summarize, version_tuple

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:  # AnsibleAWSModule reports the missing library
    BotoCoreError = ClientError = Exception

CHUNK = 50  # DescribeInstanceInformation's MaxResults maximum: one chunk of ids is answered by one page
ID_PATTERN = re.compile(r"^(i-[0-9a-f]{8}([0-9a-f]{9})?|mi-[0-9a-f]{17})$")
REJECTED_ID_CODES = ("InvalidInstanceId", "InvalidInstanceInformationFilterValue")


class BadInput(ValueError):
    pass


def batch_by_region(instance_ids, instances, default_region, instance_regions=None):
    """{region: [ids]} in the order given, each id once (calls with the module's own credentials)."""
    return dict((region, ids) for spec, region, ids in batch(instance_ids, instances, default_region, instance_regions))


def batch(instance_ids, instances, default_region, instance_regions=None, default_role=None):
    """[(role spec or None, region, [ids])] in the order given, each id once: one call sequence per
    account (role) and region. An instance without its own role_arn takes `default_role`'s."""
    wanted = [{"instance_id": i, "region": default_region} for i in instance_ids or []]
    wanted += [{"instance_id": i, "region": r or default_region} for i, r in (instance_regions or {}).items()]
    for index, item in enumerate(instances or []):
        if not isinstance(item, dict) or not item.get("instance_id"):
            raise BadInput("instances[%d] needs instance_id (and optionally region, role_arn), got %r" % (index, item))
        wanted.append(dict(item, region=item.get("region") or default_region))
    for item in wanted:
        if default_role and default_role.get("role_arn") and not item.get("role_arn"):
            item.update(default_role)
        item["instance_id"] = instance_id = str(item["instance_id"]).strip()
        if not ID_PATTERN.match(instance_id):
            raise BadInput("%r is not an EC2 instance id (i-...) or SSM managed node id (mi-...)" % instance_id)
        if not item["region"]:
            raise BadInput("no region for %s: set region (or AWS_REGION), or give it in instances[].region" % instance_id)
    try:
        return aws_roles.group_by_role(wanted, default_region)
    except aws_roles.RoleError as exc:
        raise BadInput(str(exc))


def group_key(spec, region):
    """How a call sequence is named in the module's `regions` answer: the region, or account/region
    for a role's account."""
    return region if spec is None else "%s/%s" % (aws_roles.role_account(spec["role_arn"]), region)


def chunks(items, size=CHUNK):
    return [items[i:i + size] for i in range(0, len(items), size)]


def _pages(client, retry, **kwargs):
    """Every page of DescribeInstanceInformation: (nodes, calls)."""
    def collect():
        nodes, calls = [], 0
        for page in client.get_paginator("describe_instance_information").paginate(
                PaginationConfig={"PageSize": CHUNK}, **kwargs):
            calls += 1
            nodes.extend(page.get("InstanceInformationList", []))
        return nodes, calls
    return retry(collect)() if retry else collect()


def query_region(client, instance_ids, strategy="auto", retry=None):
    """({id: node}, calls, strategy used) for the ids of one region."""
    wanted = set(instance_ids)
    found, calls = {}, 0
    if strategy in ("auto", "filter"):
        try:
            for chunk in chunks(list(instance_ids)):
                nodes, made = _pages(client, retry, Filters=[{"Key": "InstanceIds", "Values": chunk}])
                calls += made
                found.update((n["InstanceId"], n) for n in nodes if n["InstanceId"] in wanted)
            return found, calls, "filter"
        except ClientError as exc:
            calls += 1
            if strategy == "filter" or exc.response.get("Error", {}).get("Code") not in REJECTED_ID_CODES:
                raise
            found = {}
    nodes, made = _pages(client, retry)
    found.update((n["InstanceId"], n) for n in nodes if n["InstanceId"] in wanted)
    return found, calls + made, "all" if strategy == "all" else "filter, then all (an id was rejected)"


def run(client_for, groups, strategy="auto", min_agent_version=None, retry=None, describe_error=None):
    """groups: [(role spec or None, region, ids)]; client_for(spec, region) is the account's SSM client.

    A role that cannot be assumed, or may not call SSM, leaves its own instances unchecked with the
    reason (account, role, missing permission); the other accounts are still answered.
    """
    instances, regions, errors = {}, {}, {}
    for spec, region, ids in groups:
        key = group_key(spec, region)
        try:
            found, calls, used = query_region(client_for(spec, region), ids, strategy, retry)
        except aws_roles.RoleError as exc:
            errors[key] = str(exc)
        except ClientError as exc:
            denied = aws_roles.client_error_message(exc, "ssm", spec)
            if not denied or spec is None and len(groups) == 1:
                raise
            errors[key] = denied
        if key in errors:
            regions[key] = {"requested": len(ids), "found": 0, "calls": 0, "strategy": "none", "error": errors[key]}
            for instance_id in ids:
                instances[instance_id] = dict(summarize(instance_id, region, None), managed=None, checked=False,
                                              error=errors[key], reason="SSM agent status unknown: %s" % errors[key])
            continue
        regions[key] = {"requested": len(ids), "found": len(found), "calls": calls, "strategy": used}
        for instance_id in ids:
            instances[instance_id] = summarize(instance_id, region, found.get(instance_id), min_agent_version)
    not_ready = [{"instance_id": i, "reason": e["reason"]} for i, e in instances.items() if not e["ready"]]
    return {"changed": False, "instances": instances, "not_ready": not_ready, "regions": regions, "errors": errors}


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            instance_ids=dict(type="list", elements="str"),
            instances=dict(type="list", elements="dict"),
            instance_regions=dict(type="dict"),
            strategy=dict(type="str", default="auto", choices=["auto", "filter", "all"]),
            min_agent_version=dict(type="str"),
            role_arn=dict(type="str"),
            external_id=dict(type="str"),
            role_session_name=dict(type="str", default=aws_roles.DEFAULT_SESSION_NAME),
        ),
        required_one_of=[("instance_ids", "instances", "instance_regions")],
        supports_check_mode=True,
    )
    params = module.params
    try:
        default_role = dict((k, params[k]) for k in ("role_arn", "external_id", "role_session_name"))
        groups = batch(params["instance_ids"], params["instances"], module.region, params["instance_regions"], default_role)
    except BadInput as exc:
        module.fail_json(msg=str(exc))
    if params["min_agent_version"] and not version_tuple(params["min_agent_version"]):
        module.fail_json(msg="min_agent_version %r has no version number (e.g. 3.3.0.0)" % params["min_agent_version"])
    retry = AWSRetry.jittered_backoff(retries=10)
    try:
        result = run(lambda spec, region: aws_roles.module_client(module, "ssm", spec, region=region), groups,
                     params["strategy"], params["min_agent_version"], retry)
    except (BotoCoreError, ClientError) as exc:
        module.fail_json_aws(exc, msg="SSM DescribeInstanceInformation failed")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
