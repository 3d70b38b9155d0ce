#!/usr/bin/env python3
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""fleetpatch.hybrid.patch_groups against amazon.aws.aws_ec2 at fleet scale, on the same data.

For each size N: a fresh moto server (benchmarks/moto_fast.py: linear DescribeInstances, and
DescribeInstanceInformation answered from a seed file since moto lacks it) seeded with N running
EC2 instances over 2 regions (tagged Name, Patch Group (10% without), Environment, Owner,
MaintenanceWindow), plus N/5 SSM managed instances (half of them EC2 instances, half hybrid mi-
nodes) and N/5 on-prem hosts (YAML + CSV; half of them the mi- nodes, matched by FQDN).

Then, alternating ours and the peer, `ansible-inventory -i <config> --list` (output to a file)
with wall time, user+sys CPU and peak RSS of the process:
  - ours (EC2 source only) vs aws_ec2 (hostnames tag:Name, keyed_groups on the Patch Group tag:
    the grouping the issue measured), uncached;
  - both with a warm jsonfile cache;
  - ours on the whole hybrid set (EC2 + SSM + on-prem), uncached and cached.
API time is plain boto3 paginating DescribeInstances over both regions one after another. Each run
enables only the plugin of its configuration. Peak RSS ratios are printed uncached and cached; the
first line gives ansible-core's own floor (one host, no plugin of ours).

    benchmarks/inventory_scale.py --sizes 1000            # quick
    benchmarks/inventory_scale.py --sizes 1000,5000,10000 --repeat 2
"""

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import botocore.config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
PYTHON = os.path.join(VENV_BIN, "python")
REGIONS = ("us-east-1", "eu-west-1")
PATCH_GROUPS = ["web-prod", "web-dev", "db-prod", "db-dev", "app-prod", "app-test", "batch-prod", "cache-prod",
                "search-prod", "search-dev", "edge-prod", None]
ENVIRONMENTS = ["Prod", "Dev", "Test"]
WINDOWS = ["cron(0 2 ? * SAT *)", "cron(0 3 ? * SUN *)", "cron(0 4 ? * SUN *)"]
BATCH = 20


def port_free(port):
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def start_moto(port, workdir, seed_file):
    if not port_free(port):
        sys.exit("port %d on 127.0.0.1 is in use; pick another with --port" % port)
    log = open(os.path.join(workdir, "moto.log"), "wb")
    env = dict(os.environ, FLEETPATCH_SSM_SEED=seed_file)
    proc = subprocess.Popen([PYTHON, os.path.join(ROOT, "benchmarks", "moto_fast.py"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        if not port_free(port):
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    sys.exit("moto_fast did not start; see %s" % log.name)


def stop(proc):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def session():
    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")


def ec2_client(endpoint, region):
    return session().client("ec2", region_name=region, endpoint_url=endpoint,
                            config=botocore.config.Config(max_pool_connections=16))


def seed_ec2(endpoint, size):
    """N running instances over the regions; returns {region: [instance ids]}."""
    made = {}
    for region_index, region in enumerate(REGIONS):
        client = ec2_client(endpoint, region)
        image = next(i["ImageId"] for i in client.describe_images(Owners=["amazon"])["Images"] if not i.get("Platform"))
        count = size // len(REGIONS) + (1 if region_index < size % len(REGIONS) else 0)
        ids = []
        batch_no = 0
        while len(ids) < count:
            n = min(BATCH, count - len(ids))
            group = PATCH_GROUPS[batch_no % len(PATCH_GROUPS)]
            tags = [{"Key": "Environment", "Value": ENVIRONMENTS[batch_no % 3]},
                    {"Key": "Owner", "Value": "team%d@example.com" % (batch_no % 7)},
                    {"Key": "MaintenanceWindow", "Value": WINDOWS[batch_no % 3]}]
            if group:
                tags.append({"Key": "Patch Group", "Value": group})
            answer = client.run_instances(ImageId=image, MinCount=n, MaxCount=n, InstanceType="t3.micro",
                                          TagSpecifications=[{"ResourceType": "instance", "Tags": tags}])
            ids.extend(i["InstanceId"] for i in answer["Instances"])
            batch_no += 1
        short = region.replace("-", "")

        def name(item, client=client, short=short):
            index, instance_id = item
            client.create_tags(Resources=[instance_id], Tags=[{"Key": "Name", "Value": "%s-%05d" % (short, index)}])

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(name, enumerate(ids)))
        made[region] = ids
    return made


def seed_ssm_and_onprem(instances, size, workdir):
    """N/5 SSM nodes (half EC2 instances, half mi- nodes) and N/5 on-prem hosts (half = the mi- nodes)."""
    rng = random.Random(42)
    total = max(2, size // 5)
    seed = {}
    mi_nodes = []
    for region_index, region in enumerate(REGIONS):
        items = []
        share = total // len(REGIONS)
        for instance_id in rng.sample(instances[region], min(share // 2, len(instances[region]))):
            items.append({"InstanceId": instance_id, "PingStatus": "Online", "AgentVersion": "3.3.1142.0",
                          "PlatformType": "Linux", "PlatformName": "Amazon Linux", "PlatformVersion": "2023",
                          "ResourceType": "EC2Instance", "ComputerName": "ip-%s.ec2.internal" % instance_id[2:10],
                          "IPAddress": "10.0.%d.%d" % (len(items) // 250, len(items) % 250 + 1)})
        for n in range(share - share // 2):
            number = region_index * 100000 + n
            node = {"InstanceId": "mi-%017x" % (0xabc0000 + number), "PingStatus": "Online", "AgentVersion": "3.3.1142.0",
                    "PlatformType": "Linux", "PlatformName": "Ubuntu", "PlatformVersion": "22.04",
                    "ResourceType": "ManagedInstance", "Name": "dc-node-%06d" % number,
                    "ComputerName": "dc-node-%06d.corp.example.com" % number,
                    "IPAddress": "172.16.%d.%d" % (number // 250 % 250, number % 250 + 1)}
            items.append(node)
            mi_nodes.append(node)
        seed["123456789012/%s" % region] = items
    seed_file = os.path.join(workdir, "ssm_seed.json")
    with open(seed_file, "w") as handle:
        json.dump(seed, handle)
    hosts = []
    for node in mi_nodes:
        hosts.append({"name": node["Name"], "fqdn": node["ComputerName"], "patch_group": "dc-prod", "environment": "Prod",
                      "os_family": "debian", "snapshot_provider": "vmware"})
    for n in range(total - len(mi_nodes)):
        hosts.append({"name": "lab-%06d" % n, "fqdn": "lab-%06d.lab.example.com" % n, "ip": "192.168.%d.%d" % (n // 250 % 250, n % 250 + 1),
                      "patch_group": "lab", "environment": "Test", "os_family": "redhat", "os_version": "9.4"})
    half = len(hosts) // 2
    with open(os.path.join(workdir, "onprem.yml"), "w") as handle:
        handle.write("hosts:\n")
        for host in hosts[:half]:
            handle.write("  - " + json.dumps(host) + "\n")
    columns = ["name", "fqdn", "ip", "patch_group", "environment", "os_family", "os_version", "snapshot_provider"]
    with open(os.path.join(workdir, "onprem.csv"), "w") as handle:
        handle.write(",".join(columns) + "\n")
        for host in hosts[half:]:
            handle.write(",".join(host.get(c, "") for c in columns) + "\n")
    return seed, len(hosts)


def write_configs(workdir, endpoint):
    cache_dir = os.path.join(workdir, "cache")
    common = {"access_key": "testing", "secret_key": "testing"}
    ec2 = {"regions": list(REGIONS), "endpoint_url": endpoint, "filters": {"instance-state-name": "running"}}
    configs = {
        "ours": dict(common, plugin="fleetpatch.hybrid.patch_groups", sources={"ec2": ec2}, hostnames=["tag:Name"]),
        "peer": dict(common, plugin="amazon.aws.aws_ec2", regions=list(REGIONS), endpoint_url=endpoint,
                     filters={"instance-state-name": "running"}, hostnames=["tag:Name"],
                     keyed_groups=[{"key": "tags['Patch Group']", "prefix": "patch_group"}]),
        "hybrid": dict(common, plugin="fleetpatch.hybrid.patch_groups", hostnames=["tag:Name"],
                       sources={"ec2": ec2, "ssm": {"include_onprem": True},
                                "onprem": {"files": [os.path.join(workdir, "onprem.yml"), os.path.join(workdir, "onprem.csv")]}}),
    }
    paths = {}
    for name, config in list(configs.items()):
        for cached in (False, True):
            data = dict(config)
            if cached:
                data.update(cache=True, cache_plugin="ansible.builtin.jsonfile", cache_timeout=86400,
                            cache_connection=os.path.join(cache_dir, name))
            suffix = "aws_ec2" if name == "peer" else "patch_groups"
            path = os.path.join(workdir, "%s%s.%s.yml" % (name, "_cached" if cached else "", suffix))
            with open(path, "w") as handle:
                json.dump(data, handle, indent=1)
            paths[(name, cached)] = path
    return paths


# Runs the command and writes its own rusage: a child forked straight from this (large) process would
# report this process's peak RSS as its own (Linux keeps ru_maxrss across fork and exec).
RUSAGE_WRAPPER = """
import json, os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as handle:
    json.dump({"cpu": usage.ru_utime + usage.ru_stime, "maxrss_kib": usage.ru_maxrss}, handle)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_inventory(config, workdir, action="--list"):
    """(wall s, user+sys CPU s, peak RSS MiB, hosts) of one `ansible-inventory --list` (or --graph).

    Only the plugin of the configuration is enabled, as a user of that plugin would have it: enabling
    both would load (and count) the other plugin's imports in each run.
    """
    plugin = ("amazon.aws.aws_ec2" if config.endswith("aws_ec2.yml") else
              "host_list" if "," in config else "fleetpatch.hybrid.patch_groups")
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_INVENTORY_ENABLED=plugin,
               ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="1", ANSIBLE_DEPRECATION_WARNINGS="0",
               PATH=VENV_BIN + os.pathsep + os.environ["PATH"])
    out_path = os.path.join(workdir, "out.json")
    err_path = os.path.join(workdir, "err.txt")
    usage_path = os.path.join(workdir, "rusage.json")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        code = subprocess.call([PYTHON, "-c", RUSAGE_WRAPPER, usage_path, os.path.join(VENV_BIN, "ansible-inventory"),
                                "-i", config, action], stdout=out, stderr=err, env=env, cwd=ROOT)
        wall = time.perf_counter() - start
    if code != 0:
        sys.exit("ansible-inventory failed on %s:\n%s" % (config, open(err_path).read()[-3000:]))
    with open(usage_path) as handle:
        usage = json.load(handle)
    if action == "--list":
        with open(out_path) as handle:
            hosts = len(json.load(handle)["_meta"]["hostvars"])
    else:
        names = {line.strip().lstrip("|- ") for line in open(out_path)}
        hosts = len({name for name in names if name and not name.startswith("@")})
    return wall, usage["cpu"], usage["maxrss_kib"] / 1024.0, hosts


def var_profile(workdir):
    """(variables, of them dumped as {"__ansible_unsafe": ...}) per host, median, of the last --list output."""
    with open(os.path.join(workdir, "out.json")) as handle:
        hostvars = json.load(handle)["_meta"]["hostvars"]

    def unsafe(value):
        if isinstance(value, list):
            return any(unsafe(item) for item in value)
        return isinstance(value, dict) and set(value) == {"__ansible_unsafe"}

    counts = [(len(hv), sum(1 for value in hv.values() if unsafe(value))) for hv in hostvars.values()]
    return statistics.median(c[0] for c in counts), statistics.median(c[1] for c in counts)


def api_time(endpoint):
    """Plain boto3: paginate DescribeInstances over the regions, one after another."""
    start = time.perf_counter()
    count = 0
    for region in REGIONS:
        paginator = ec2_client(endpoint, region).get_paginator("describe_instances")
        for page in paginator.paginate(Filters=[{"Name": "instance-state-name", "Values": ["running"]}]):
            count += sum(len(r["Instances"]) for r in page["Reservations"])
    return time.perf_counter() - start, count


def median_run(samples):
    return tuple(statistics.median(s[i] for s in samples) for i in range(4))


def bench(size, args):
    workdir = tempfile.mkdtemp(prefix="fleetpatch-bench-")
    seed_file = os.path.join(workdir, "ssm_seed.json")
    with open(seed_file, "w") as handle:
        handle.write("{}")
    endpoint = "http://127.0.0.1:%d" % args.port
    proc = start_moto(args.port, workdir, seed_file)
    try:
        started = time.perf_counter()
        instances = seed_ec2(endpoint, size)
        _, onprem = seed_ssm_and_onprem(instances, size, workdir)
        print("\n== %d EC2 instances over %s (seeded in %.0f s), + %d SSM nodes, + %d on-prem hosts"
              % (size, ", ".join(REGIONS), time.perf_counter() - started, max(2, size // 5), onprem), flush=True)
        paths = write_configs(workdir, endpoint)
        api = [api_time(endpoint) for _ in range(args.repeat)]
        api_s = statistics.median(a[0] for a in api)
        assert api[0][1] == size, api
        runs = {"ours": [], "peer": []}
        for _ in range(args.repeat):
            for name in ("ours", "peer"):
                if name == "peer" and args.skip_peer:
                    continue
                runs[name].append(run_inventory(paths[(name, False)], workdir))
        cached, graph = {}, {}
        for name in ("ours", "peer", "hybrid"):
            if name == "peer" and args.skip_peer:
                continue
            run_inventory(paths[(name, True)], workdir)  # fills the cache
            cached[name] = median_run([run_inventory(paths[(name, True)], workdir) for _ in range(args.repeat)])
            if name == "ours":
                print("patch_groups --list: %d host variables per host, %d of them untrusted (dumped as "
                      "{\"__ansible_unsafe\": ...})" % var_profile(workdir), flush=True)
            graph[name] = median_run([run_inventory(paths[(name, True)], workdir, "--graph") for _ in range(args.repeat)])
        hybrid = median_run([run_inventory(paths[("hybrid", False)], workdir) for _ in range(args.repeat)])
        report(api_s, runs, cached, graph, hybrid)
    finally:
        stop(proc)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print("kept", workdir)


def report(api_s, runs, cached, graph, hybrid):
    ours = median_run(runs["ours"])
    line = "%-44s %7.1f s %7.1f s %7.0f MiB %7d hosts"
    print("%-44s %9s %9s %11s" % ("ansible-inventory -i <config> --list", "wall", "CPU", "peak RSS"))
    print("%-44s %7.1f s" % ("boto3 paginate alone (API time)", api_s))
    print(line % (("patch_groups, EC2 only",) + ours))
    peer = median_run(runs["peer"]) if runs["peer"] else None
    if peer:
        print(line % (("aws_ec2",) + peer))
    print(line % (("patch_groups, EC2 only, cache warm",) + cached["ours"]))
    if "peer" in cached:
        print(line % (("aws_ec2, cache warm",) + cached["peer"]))
    print(line % (("patch_groups, cache warm, --graph (no dump)",) + graph["ours"]))
    if "peer" in graph:
        print(line % (("aws_ec2, cache warm, --graph (no dump)",) + graph["peer"]))
    print(line % (("patch_groups, hybrid (EC2+SSM+files)",) + hybrid))
    print(line % (("patch_groups, hybrid, cache warm",) + cached["hybrid"]))
    own = ours[0] - api_s
    print("ours: wall %.2fx the API time (+%.1f s); cache warm: --list %.2f s (CPU %.2f s), --graph %.2f s (CPU %.2f s)"
          % (ours[0] / api_s, own, cached["ours"][0], cached["ours"][1], graph["ours"][0], graph["ours"][1]))
    if peer:
        peer_own = peer[0] - api_s
        print("aws_ec2 / ours: wall %.1fx, CPU %.1fx, peak RSS %.1fx, own time (wall - API) %s, cached wall %.1fx, "
              "cached --graph %.1fx" % (peer[0] / ours[0], peer[1] / ours[1], peer[2] / ours[2],
                                        "%.1fx" % (peer_own / own) if own > 0.05 else "n/a (ours within the API time)",
                                        cached["peer"][0] / cached["ours"][0], graph["peer"][0] / graph["ours"][0]))
        print("aws_ec2 / ours, peak RSS: uncached %.1fx, cache warm --list %.1fx, cache warm --graph %.1fx"
              % (peer[2] / ours[2], cached["peer"][2] / cached["ours"][2], graph["peer"][2] / graph["ours"][2]))
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,10000", help="comma-separated EC2 instance counts")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each measurement (median shown)")
    parser.add_argument("--port", type=int, default=5601, help="port of the benchmark's own moto server")
    parser.add_argument("--skip-peer", action="store_true", help="do not run amazon.aws.aws_ec2")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (configs, cache, output)")
    args = parser.parse_args()
    print("fleetpatch.hybrid.patch_groups vs amazon.aws.aws_ec2; moto through benchmarks/moto_fast.py "
          "(linear DescribeInstances; DescribeInstanceInformation served from a seed file: moto lacks it); "
          "%d CPU(s)" % os.cpu_count())
    workdir = tempfile.mkdtemp(prefix="fleetpatch-bench-")
    try:
        floor = run_inventory("localhost,", workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("ansible-core's own floor, `ansible-inventory -i localhost, --list`: %.1f s wall, %.1f s CPU, %.0f MiB peak RSS"
          % floor[:3])
    for size in [int(s) for s in args.sizes.split(",") if s.strip()]:
        bench(size, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
