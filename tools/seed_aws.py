#!/usr/bin/env python3
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Seed the local AWS simulation with EC2 instances that stand for the local test hosts.

Idempotent: an instance whose Name tag already exists in its region is left as it is.
Uses the standard AWS environment (AWS_ENDPOINT_URL points boto3 at the moto server).
"""

import json
import sys

import boto3


def main(spec_file, fleet_file):
    with open(spec_file) as handle:
        spec = json.load(handle)
    with open(fleet_file) as handle:
        ports = {host["name"]: host["port"] for host in json.load(handle)}
    clients = {}
    created = terminated = 0
    for item in spec["instances"]:
        region = item["region"]
        ec2 = clients.setdefault(region, boto3.client("ec2", region_name=region))
        name = item["tags"]["Name"]
        existing = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": [name]},
                                                  {"Name": "instance-state-name", "Values": ["pending", "running"]}])
        ids = [i["InstanceId"] for r in existing["Reservations"] for i in r["Instances"]]
        if item["local_host"] not in ports:
            if ids:  # its stand-in is not up: the inventory must not offer it
                ec2.terminate_instances(InstanceIds=ids)
                terminated += len(ids)
            continue
        if ids:
            continue
        image = next(i["ImageId"] for i in ec2.describe_images(Owners=["amazon"])["Images"] if not i.get("Platform"))
        tags = dict(item["tags"], LocalFleetHost=item["local_host"], LocalFleetPort=str(ports[item["local_host"]]))
        ec2.run_instances(
            ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro",
            TagSpecifications=[{"ResourceType": "instance",
                                "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}],
        )
        created += 1
    print("seed_aws: %d instance(s) created, %d terminated, %d in the fleet spec" % (created, terminated, len(spec["instances"])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
