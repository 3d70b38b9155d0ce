#!/usr/bin/env python3
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""moto server for benchmarks: linear DescribeInstances, and DescribeInstanceInformation from a seed file.

Usage: moto_fast.py -H 127.0.0.1 -p PORT          (same arguments as moto_server)

1. Stock moto 5.2 finds each instance's tags by scanning every tag of the region
   (TaggedEC2Resource.get_tags -> describe_tags with a resource-id filter), which makes
   DescribeInstances quadratic (1k instances 3.2 s a call, 10k ~230 s): the simulator, not the
   client, would dominate any benchmark. Here get_tags reads ec2_backend.tags[resource id]
   directly; the responses are byte-identical, in the same order.
2. moto has no SSM DescribeInstanceInformation. With FLEETPATCH_SSM_SEED=<file.json> set, that
   call answers from the file ({"<account>/<region>": [InstanceInformation, ...]}, re-read when
   it changes), paged by MaxResults/NextToken like AWS. Without the variable it stays unimplemented.

Benchmark figures taken through this launcher say so in their output.
"""

import json
import os
import sys
import threading

from moto.ec2.models.core import TaggedEC2Resource
from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix
from moto.server import main
from moto.ssm.responses import SimpleSystemManagerResponse

SEED_ENV = "FLEETPATCH_SSM_SEED"
_seed = {"mtime": None, "data": {}}
_seed_lock = threading.Lock()


def linear_get_tags(self):
    resource_id = self.id
    if not resource_id:
        return []
    tags = self.ec2_backend.tags.get(resource_id)
    if not tags:
        return []
    resource_type = EC2_PREFIX_TO_RESOURCE.get(get_prefix(resource_id), "")
    return [{"resource_id": resource_id, "key": key, "value": value, "resource_type": resource_type}
            for key, value in tags.items()]


def _seeded(account, region):
    path = os.environ.get(SEED_ENV)
    if not path or not os.path.exists(path):
        return []
    with _seed_lock:
        mtime = os.path.getmtime(path)
        if mtime != _seed["mtime"]:
            with open(path) as handle:
                _seed["data"] = json.load(handle)
            _seed["mtime"] = mtime
        return _seed["data"].get("%s/%s" % (account, region), [])


def describe_instance_information(self):
    items = _seeded(self.current_account, self.region)
    size = min(int(self._get_param("MaxResults") or 50), 50)
    start = int(self._get_param("NextToken") or 0)
    body = {"InstanceInformationList": items[start:start + size]}
    if start + size < len(items):
        body["NextToken"] = str(start + size)
    return json.dumps(body)


TaggedEC2Resource.get_tags = linear_get_tags
if os.environ.get(SEED_ENV):
    SimpleSystemManagerResponse.describe_instance_information = describe_instance_information

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
