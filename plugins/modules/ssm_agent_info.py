#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ssm_agent_info
short_description: SSM agent status (ping, version, last ping, platform) of a batch of instances, one call sequence per region
version_added: 0.2.0
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
    description: Instances across regions, each with C(instance_id) and C(region) (default O(region)).
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
  - Needs C(ssm:DescribeInstanceInformation).
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
  description: Per region, how it was asked - ids requested, found, API calls made and the strategy used.
  returned: always
  type: dict
  sample: {eu-west-1: {requested: 120, found: 118, calls: 3, strategy: filter}}
"""

import re

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

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
    """{region: [ids]} in the order given, each id once."""
    wanted = [{"instance_id": i, "region": default_region} for i in instance_ids or []]
    wanted += [{"instance_id": i, "region": r or default_region} for i, r in (instance_regions or {}).items()]
    for index, item in enumerate(instances or []):
        if not isinstance(item, dict) or not item.get("instance_id"):
            raise BadInput("instances[%d] needs instance_id (and optionally region), got %r" % (index, item))
        wanted.append({"instance_id": item["instance_id"], "region": item.get("region") or default_region})
    by_region, seen = {}, set()
    for item in wanted:
        instance_id = str(item["instance_id"]).strip()
        if not ID_PATTERN.match(instance_id):
            raise BadInput("%r is not an EC2 instance id (i-...) or SSM managed node id (mi-...)" % instance_id)
        if not item["region"]:
            raise BadInput("no region for %s: set region (or AWS_REGION), or give it in instances[].region" % instance_id)
        if instance_id in seen:
            continue
        seen.add(instance_id)
        by_region.setdefault(item["region"], []).append(instance_id)
    return by_region


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


def run(client_for, by_region, strategy="auto", min_agent_version=None, retry=None):
    instances, regions = {}, {}
    for region, ids in by_region.items():
        found, calls, used = query_region(client_for(region), ids, strategy, retry)
        regions[region] = {"requested": len(ids), "found": len(found), "calls": calls, "strategy": used}
        for instance_id in ids:
            instances[instance_id] = summarize(instance_id, region, found.get(instance_id), min_agent_version)
    not_ready = [{"instance_id": i, "reason": e["reason"]} for i, e in instances.items() if not e["ready"]]
    return {"changed": False, "instances": instances, "not_ready": not_ready, "regions": regions}


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            instance_ids=dict(type="list", elements="str"),
            instances=dict(type="list", elements="dict"),
            instance_regions=dict(type="dict"),
            strategy=dict(type="str", default="auto", choices=["auto", "filter", "all"]),
            min_agent_version=dict(type="str"),
        ),
        required_one_of=[("instance_ids", "instances", "instance_regions")],
        supports_check_mode=True,
    )
    params = module.params
    try:
        by_region = batch_by_region(params["instance_ids"], params["instances"], module.region, params["instance_regions"])
    except BadInput as exc:
        module.fail_json(msg=str(exc))
    if params["min_agent_version"] and not version_tuple(params["min_agent_version"]):
        module.fail_json(msg="min_agent_version %r has no version number (e.g. 3.3.0.0)" % params["min_agent_version"])
    retry = AWSRetry.jittered_backoff(retries=10)
    try:
        result = run(lambda region: module.client("ssm", region=region), by_region, params["strategy"],
                     params["min_agent_version"], retry)
    except (BotoCoreError, ClientError) as exc:
        module.fail_json_aws(exc, msg="SSM DescribeInstanceInformation failed")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
