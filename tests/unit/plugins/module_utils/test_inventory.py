"""Pure helpers of the patch_groups inventory plugin: settings, slugs, on-prem files, dedup, names, vars, groups."""

import itertools
import random
import re

import botocore.parsers
import botocore.session
import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import inventory as inv


def settings(**options):
    options.setdefault("sources", {"ec2": {"regions": ["us-east-1"]}})
    return inv.validate_settings(options)


def ec2(instance_id, name=None, region="us-east-1", account="111111111111", **extra):
    tags = extra.pop("tags", {})
    if name:
        tags["Name"] = name
    record = {"instance_id": instance_id, "region": region, "account_id": account, "tags": tags,
              "private_ip": "10.0.0.%d" % (int(instance_id[-2:], 16) % 250 + 1), "private_dns": "ip-%s.ec2.internal" % instance_id}
    record.update(extra)
    return record


def ssm(instance_id, region="us-east-1", account=None, **extra):
    record = {"instance_id": instance_id, "region": region, "account_id": account, "ping_status": "Online",
              "agent_version": "3.3.1", "resource_type": "ManagedInstance" if instance_id.startswith("mi-") else "EC2Instance"}
    record.update(extra)
    return record


def onprem(name, line=1, file="hosts.yml", **extra):
    record = {"name": name, "line": line, "file": file}
    record.update(extra)
    return record


# --------------------------------------------------------------------------- slugs


@pytest.mark.parametrize("value,expected", [
    ("web-prod", "web_prod"),
    ("Web Prod", "web_prod"),
    ("  web--prod  ", "web_prod"),
    ("Ünïcödé-Prod", "unicode_prod"),
    ("cron(0 2 ? * SAT *)", "cron_0_2_sat"),
    ("a.b/c:d", "a_b_c_d"),
    ("2024", "2024"),
    ("生产", inv.short_hash("生产")),
    ("prod-東京", "prod_" + inv.short_hash("prod-東京")),
    ("***", inv.short_hash("***")),
])
def test_slug(value, expected):
    assert inv.slug(value) == expected
    assert re.match(r"^[a-z0-9_]+$", inv.slug(value))


@pytest.mark.parametrize("values", [
    ["web-prod", "Web-Prod"],
    ["web-prod", "web_prod", "web prod", "WEB PROD"],
    ["prod-東京", "prod-大阪", "prod"],
    ["生产", "生産"],
    [" prod", "prod"],
])
def test_assign_slugs_never_merges_two_values(values):
    for order in itertools.permutations(values):
        mapping, collisions = inv.assign_slugs(order)
        assert len(set(mapping.values())) == len(values)
        assert mapping == inv.assign_slugs(values)[0]  # the same whatever the order


@pytest.mark.parametrize("values,kept,base", [
    (["Web-Prod", "web-prod"], "web-prod", "web_prod"),    # lower case keeps the plain slug
    (["web_prod", "web-prod"], "web-prod", "web_prod"),    # then sort order
    ([" prod", "prod"], "prod", "prod"),                   # then no surrounding spaces
])
def test_assign_slugs_who_keeps_the_plain_slug(values, kept, base):
    mapping, collisions = inv.assign_slugs(values)
    assert mapping[kept] == base
    (slug, keeper, moved), = collisions
    assert (slug, keeper) == (base, kept)
    assert [value for value, new in moved] == [v for v in values if v != kept]
    assert all(new.startswith(base + "_") for value, new in moved)


def test_assign_slugs_reserved_slug_is_not_given_away():
    mapping, collisions = inv.assign_slugs(["unassigned", "web"], reserved=("unassigned",))
    assert mapping["web"] == "web"
    assert mapping["unassigned"] == "unassigned_" + inv.short_hash("unassigned")
    assert collisions == [("unassigned", None, [("unassigned", mapping["unassigned"])])]


@pytest.mark.parametrize("text,family", [
    ("Ubuntu", "debian"), ("Debian GNU/Linux", "debian"), ("Red Hat Enterprise Linux Server", "redhat"),
    ("Amazon Linux", "redhat"), ("Rocky Linux", "redhat"), ("AlmaLinux", "redhat"), ("CentOS Stream", "redhat"),
    ("SLES", "suse"), ("SUSE Linux", "suse"), ("openSUSE Leap", "suse"),
    ("Microsoft Windows Server 2019 Datacenter", "windows"), ("Windows BYOL", "windows"), ("windows", "windows"),
    ("macOS", "darwin"), ("Darwin", "darwin"),
    ("Linux/UNIX", None), ("", None), (None, None), ("Arch Linux", None),
])
def test_os_family(text, family):
    assert inv.os_family(text) == family


# --------------------------------------------------------------------------- settings


@pytest.mark.parametrize("sources,fragment", [
    (None, "no source configured"),
    ({}, "no source configured"),
    ({"ec3": {}}, "unknown option 'ec3' (did you mean 'ec2'?)"),
    ({"ec2": {"region": ["us-east-1"]}}, "sources.ec2: unknown option 'region' (did you mean 'regions'?)"),
    ({"ec2": {"regions": "us-east-1"}}, "sources.ec2.regions: expected a list of strings"),
    ({"ec2": {"regions": ["us-east1"]}}, "'us-east1' is not a region name"),
    ({"ec2": {"assume_roles": ["arn:aws:iam::123:role/x"]}}, "is not an IAM role ARN"),
    ({"ec2": {"assume_roles": ["arn:aws:iam::111111111111:role/p", "arn:aws:iam::111111111111:role/p"]}}, "listed twice"),
    ({"ec2": {"assume_roles": [{"role_arn": "arn:aws:iam::111111111111:role/p", "externalid": "x1"}]}},
     "sources.ec2.assume_roles[0]: unknown option 'externalid' (did you mean 'external_id'?)"),
    ({"ec2": {"assume_roles": [{"role_arn": "arn:aws:iam::111111111111:role/p", "session_name": "a b"}]}},
     "sources.ec2.assume_roles[0].session_name: expected 2-64 characters"),
    ({"ec2": {"assume_roles": [{"external_id": "x1"}]}}, "sources.ec2.assume_roles[0]: None is not an IAM role ARN"),
    ({"ec2": {"assume_roles": "arn:aws:iam::111111111111:role/p"}}, "expected a list of role ARNs"),
    ({"ec2": {"filters": ["instance-state-name"]}}, "sources.ec2.filters: expected a mapping"),
    ({"ec2": {"filters": {"tag:x": {"a": 1}}}}, "filter values must be strings"),
    ({"ec2": {"endpoint_url": 5000}}, "sources.ec2.endpoint_url: expected a string"),
    ({"ssm": {"include_onprem": "yes"}}, "sources.ssm.include_onprem: expected true or false"),
    ({"ssm": {"include_on_prem": True}}, "did you mean 'include_onprem'"),
    ({"onprem": {}}, "sources.onprem.files: list at least one"),
    ({"onprem": {"files": "hosts.yml"}}, "sources.onprem.files: expected a list of strings"),
    ({"onprem": {"file": ["hosts.yml"]}}, "did you mean 'files'"),
    ({"ec2": "yes"}, "sources.ec2: expected a mapping"),
])
def test_bad_sources_name_the_option(sources, fragment):
    with pytest.raises(inv.InventoryConfigError) as err:
        inv.validate_sources(sources)
    assert fragment in str(err.value)


def test_ec2_defaults_and_filter_shapes():
    out = inv.validate_sources({"ec2": None})
    assert out["ec2"] == {"regions": None, "assume_roles": None, "role_options": {}, "endpoint_url": None,
                          "filters": [{"Name": "instance-state-name", "Values": ["running"]}],
                          "include_filters": [], "exclude_filters": []}
    assert out["ssm"] is None and out["onprem"] is None
    out = inv.validate_sources({"ec2": {"filters": {"instance-state-name": "running", "tag:Env": ["a", "b"], "x": True}}})
    assert out["ec2"]["filters"] == [{"Name": "instance-state-name", "Values": ["running"]},
                                     {"Name": "tag:Env", "Values": ["a", "b"]}, {"Name": "x", "Values": ["true"]}]


def test_assume_roles_entries_are_arns_or_mappings():
    out = inv.validate_sources({"ec2": {"assume_roles": [
        "arn:aws:iam::111111111111:role/p",
        {"role_arn": "arn:aws:iam::222222222222:role/p", "external_id": "ext-42", "session_name": "night-1"}]}, "ssm": {}})
    assert out["ec2"]["assume_roles"] == ["arn:aws:iam::111111111111:role/p", "arn:aws:iam::222222222222:role/p"]
    assert out["ec2"]["role_options"] == {
        "arn:aws:iam::111111111111:role/p": {"external_id": None, "session_name": None},
        "arn:aws:iam::222222222222:role/p": {"external_id": "ext-42", "session_name": "night-1"}}
    assert out["ssm"]["role_options"] == out["ec2"]["role_options"]   # inherited with the roles


def test_include_exclude_filters_as_aws_ec2_takes_them():
    out = inv.validate_sources({"ec2": {"include_filters": [{"tag:Role": "db"}, {"tag:Role": ["a", "b"]}],
                                        "exclude_filters": [{"instance-state-name": "stopped"}]}})
    assert out["ec2"]["include_filters"] == [[{"Name": "tag:Role", "Values": ["db"]}],
                                             [{"Name": "tag:Role", "Values": ["a", "b"]}]]
    assert out["ec2"]["exclude_filters"] == [[{"Name": "instance-state-name", "Values": ["stopped"]}]]
    with pytest.raises(inv.InventoryConfigError, match=r"sources.ec2.include_filters: expected a list of filter mappings"):
        inv.validate_sources({"ec2": {"include_filters": {"tag:Role": "db"}}})
    with pytest.raises(inv.InventoryConfigError, match=r"sources.ec2.exclude_filters\[0\]: expected a mapping"):
        inv.validate_sources({"ec2": {"exclude_filters": ["tag:Role=db"]}})


def test_include_exclude_keeps_each_instance_once_and_exclusion_wins():
    rec = [{"instance_id": i} for i in ("i-1", "i-2", "i-3", "i-4")]
    out = inv.include_exclude([rec[0], rec[1]], [[rec[2], rec[0]], [rec[3]]], [[rec[1]], [rec[3]]])
    assert [r["instance_id"] for r in out] == ["i-1", "i-3"]


def test_hostnames_mapping_form():
    prefs = inv.validate_hostnames([{"name": "tag:Name", "prefix": "tag:Env", "separator": "-"}, {"name": "instance-id"},
                                    "private-dns-name"])
    assert prefs == [{"name": "tag:Name", "prefix": "tag:Env", "separator": "-"}, {"name": "instance-id", "separator": "_"},
                     "private-dns-name"]
    with pytest.raises(inv.InventoryConfigError, match=r"hostnames\[0\].prefix: unknown entry 'tag'"):
        inv.validate_hostnames([{"name": "tag:Name", "prefix": "tag"}])


@pytest.mark.parametrize("ssm_section,expected", [
    ({}, {"regions": ["eu-west-1"], "assume_roles": ["arn:aws:iam::111111111111:role/p"], "endpoint_url": "http://x"}),
    ({"assume_roles": []}, {"regions": ["eu-west-1"], "assume_roles": [], "endpoint_url": "http://x"}),
    ({"regions": ["us-east-1"], "endpoint_url": "http://y"},
     {"regions": ["us-east-1"], "assume_roles": ["arn:aws:iam::111111111111:role/p"], "endpoint_url": "http://y"}),
])
def test_ssm_inherits_from_ec2_unless_set(ssm_section, expected):
    out = inv.validate_sources({"ec2": {"regions": ["eu-west-1"], "assume_roles": ["arn:aws:iam::111111111111:role/p"],
                                        "endpoint_url": "http://x"}, "ssm": ssm_section})
    assert {k: out["ssm"][k] for k in expected} == expected


@pytest.mark.parametrize("section,filters", [
    ({}, []),
    ({"include_onprem": False}, [{"Key": "ResourceType", "Values": ["EC2Instance"]}]),
    ({"include_onprem": False, "filters": {"ResourceType": "ManagedInstance"}}, [{"Key": "ResourceType", "Values": ["ManagedInstance"]}]),
    ({"filters": {"PingStatus": ["Online"]}}, [{"Key": "PingStatus", "Values": ["Online"]}]),
])
def test_ssm_filters(section, filters):
    assert inv.validate_sources({"ssm": section})["ssm"]["filters"] == filters


@pytest.mark.parametrize("options,fragment", [
    ({"hostnames": ["tag:Name", "private-dns"]}, "hostnames: unknown entry 'private-dns' (did you mean 'private-dns-name'?)"),
    ({"hostnames": ["tag:"]}, "unknown entry 'tag:'"),
    ({"unassigned_group": "patch group"}, "unassigned_group: 'patch group' is not a valid group name"),
    ({"unassigned_group": "1st"}, "is not a valid group name"),
    ({"connection": {"prefer": "winrm"}}, "connection.prefer: expected network or ssm"),
    ({"connection": {"ec2_address": "dns"}}, "connection.ec2_address: expected one of"),
    ({"connection": {"bucket": "b"}}, "connection: unknown option 'bucket'"),
    ({"patch_group_tag": ["Patch Group"]}, "patch_group_tag: expected a tag key"),
])
def test_bad_options_name_the_option(options, fragment):
    with pytest.raises(inv.InventoryConfigError) as err:
        settings(**options)
    assert fragment in str(err.value)


def test_check_unknown_suggests_the_closest_option():
    with pytest.raises(inv.InventoryConfigError) as err:
        inv.check_unknown({"plugin": 1, "hostname": 2}, {"plugin", "hostnames", "sources"}, "x.patch_groups.yml")
    assert str(err.value) == ("x.patch_groups.yml: unknown option 'hostname' (did you mean 'hostnames'?); "
                              "valid: hostnames, plugin, sources")


# --------------------------------------------------------------------------- AWS answers


def test_ec2_records_keep_only_what_is_used():
    reservations = [{"OwnerId": "111111111111", "Instances": [
        {"InstanceId": "i-0aaa", "Platform": "windows", "PlatformDetails": "Windows", "PrivateIpAddress": "10.0.0.1",
         "PrivateDnsName": "ip-10-0-0-1.ec2.internal", "PublicDnsName": "", "ImageId": "ami-1", "LaunchTime": "2026",
         "Tags": [{"Key": "Name", "Value": "web-1"}, {"Key": "Patch Group", "Value": "web"}]},
        {"InstanceId": "i-0bbb"}]}]
    assert inv.ec2_records(reservations, "eu-west-1") == [
        {"instance_id": "i-0aaa", "region": "eu-west-1", "account_id": "111111111111",
         "tags": {"Name": "web-1", "Patch Group": "web"}, "platform": "windows", "platform_details": "Windows",
         "private_ip": "10.0.0.1", "private_dns": "ip-10-0-0-1.ec2.internal"},
        {"instance_id": "i-0bbb", "region": "eu-west-1", "account_id": "111111111111", "tags": {}}]


@pytest.mark.parametrize("include_onprem,ids", [(True, ["i-0aaa", "mi-0123456789abcdef0"]), (False, ["i-0aaa"])])
def test_ssm_records(include_onprem, ids):
    items = [{"InstanceId": "i-0aaa", "PingStatus": "Online", "PlatformType": "Linux", "ResourceType": "EC2Instance",
              "LastPingDateTime": "x"},
             {"InstanceId": "mi-0123456789abcdef0", "PingStatus": "ConnectionLost", "ComputerName": "db1.corp",
              "IPAddress": "172.16.0.5", "ResourceType": "ManagedInstance", "Name": "db1"}]
    records = inv.ssm_records(items, "us-east-1", "111111111111", include_onprem)
    assert [r["instance_id"] for r in records] == ids
    assert records[0] == {"instance_id": "i-0aaa", "region": "us-east-1", "account_id": "111111111111",
                          "ping_status": "Online", "platform_type": "Linux", "resource_type": "EC2Instance"}


def ec2_xml(reservations, token=None):
    """A DescribeInstances answer as EC2 writes it, with the nested fields that share our names."""
    items = []
    for owner, instances in reservations:
        body = []
        for instance_id, extra in instances:
            body.append(
                "<item><instanceId>%s</instanceId><imageId>ami-1</imageId><placement><availabilityZone>us-east-1a"
                "</availabilityZone></placement><launchTime>2026-11-27T10:00:00.000Z</launchTime>%s"
                "<networkInterfaceSet><item><privateIpAddress>192.0.2.99</privateIpAddress><privateDnsName>nested"
                "</privateDnsName><tagSet><item><key>nested</key><value>x</value></item></tagSet></item>"
                "</networkInterfaceSet></item>" % (instance_id, extra))
        items.append("<item><reservationId>r-1</reservationId><ownerId>%s</ownerId><groupSet/><instancesSet>%s"
                     "</instancesSet></item>" % (owner, "".join(body)))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/'
            '2016-11-15/"><requestId>req-1</requestId><reservationSet>%s</reservationSet>%s</DescribeInstancesResponse>'
            % ("".join(items), "<nextToken>%s</nextToken>" % token if token else "")).encode()


FULL = ("<privateIpAddress>10.0.0.5</privateIpAddress><ipAddress>54.0.0.5</ipAddress><privateDnsName>ip-10-0-0-5.ec2."
        "internal</privateDnsName><dnsName></dnsName><platform>windows</platform><platformDetails>Windows</platformDetails>"
        "<tagSet><item><key>Name</key><value>web &amp; db &lt;1&gt;</value></item><item><key>Patch Group</key>"
        "<value></value></item><item><key>Owner</key><value>caf\u00e9@example.com</value></item></tagSet>")


@pytest.mark.parametrize("reservations,token", [
    ([("111111111111", [("i-0a", FULL), ("i-0b", "")]), ("222222222222", [("i-0c", "<platform>windows</platform>")])], "tok"),
    ([("111111111111", [("i-0a", "<tagSet/>")])], None),
    ([], None),
])
def test_streamed_describe_instances_reads_what_botocore_reads(reservations, token):
    body = ec2_xml(reservations, token)
    shape = botocore.session.Session().get_service_model("ec2").operation_model("DescribeInstances").output_shape
    full = botocore.parsers.EC2QueryParser().parse({"body": body, "headers": {}, "status_code": 200}, shape)
    lean = inv.parse_describe_instances(body)
    assert inv.ec2_records(lean["Reservations"], "r") == inv.ec2_records(full["Reservations"], "r")
    assert lean.get("NextToken") == full.get("NextToken") == token
    assert lean["ResponseMetadata"] == {"RequestId": "req-1"}


def test_streamed_describe_instances_decodes_and_skips_nested_fields():
    record = inv.ec2_records(inv.parse_describe_instances(ec2_xml([("111111111111", [("i-0a", FULL)])]))["Reservations"],
                             "us-east-1")[0]
    assert record == {"instance_id": "i-0a", "region": "us-east-1", "account_id": "111111111111",
                      "tags": {"Name": "web & db <1>", "Patch Group": "", "Owner": "caf\u00e9@example.com"},
                      "platform": "windows", "platform_details": "Windows", "private_ip": "10.0.0.5",
                      "public_ip": "54.0.0.5", "private_dns": "ip-10-0-0-5.ec2.internal"}


def test_streamed_describe_instances_shares_repeated_strings():
    """Tag keys and values, owner ids and platforms repeat across thousands of instances: one object each."""
    same = "<platform>windows</platform><tagSet><item><key>Patch Group</key><value>web-prod</value></item></tagSet>"
    answer = inv.parse_describe_instances(ec2_xml([("111111111111", [("i-0a", same), ("i-0b", same)]),
                                                   ("111111111111", [("i-0c", same)])]))
    first, second, third = inv.ec2_records(answer["Reservations"], "us-east-1")
    for record in (second, third):
        assert record["tags"] == first["tags"] == {"Patch Group": "web-prod"}
        (key, value), = record["tags"].items()
        assert key is next(iter(first["tags"])) and value is first["tags"]["Patch Group"]
        assert record["account_id"] is first["account_id"] and record["platform"] is first["platform"]
    assert first["instance_id"] != second["instance_id"]


def test_streamed_describe_instances_rejects_broken_xml():
    with pytest.raises(ValueError) as err:
        inv.parse_describe_instances(ec2_xml([("1", [("i-0a", "")])])[:-20])
    assert "not valid XML" in str(err.value)


# --------------------------------------------------------------------------- on-prem files

GOOD_YAML = """\
defaults:
  environment: Prod
  owner: ops@example.com
hosts:
  - name: db-onprem-1
    fqdn: db-onprem-1.corp.example.com
    ip: 10.1.2.3
    patch_group: db-prod
    os_family: RHEL
    os_version: "9.4"
    snapshot_provider: vmware
    port: 2222
    user: patcher
    tags: {Rack: r12}
  - name: win-onprem-1
    environment: Dev
    platform: windows
    connection: winrm
    instance_id: mi-0123456789abcdef0
"""


def test_yaml_file_with_defaults():
    records = inv.parse_onprem_yaml(GOOD_YAML, "hosts.yml")
    assert records == [
        {"name": "db-onprem-1", "fqdn": "db-onprem-1.corp.example.com", "ip": "10.1.2.3", "patch_group": "db-prod",
         "os_family": "redhat", "os_version": "9.4", "snapshot_provider": "vmware", "port": 2222, "user": "patcher",
         "tags": {"Rack": "r12"}, "environment": "Prod", "owner": "ops@example.com", "line": 5},
        {"name": "win-onprem-1", "environment": "Dev", "owner": "ops@example.com", "platform": "windows",
         "connection": "winrm", "instance_id": "mi-0123456789abcdef0", "line": 15},
    ]


def test_yaml_bare_list():
    assert [r["name"] for r in inv.parse_onprem_yaml("- name: a\n- {name: b, ip: '::1'}\n", "x.yml")] == ["a", "b"]


@pytest.mark.parametrize("text,line,field,fragment", [
    ("hosts:\n  - name: a\n    patchgroup: web\n", 3, "patchgroup", "unknown field (did you mean 'patch_group'?)"),
    ("hosts:\n  - name: a\n    ip: 10.1.2.300\n", 3, "ip", "'10.1.2.300' is not an IP address"),
    ("hosts:\n  - name: a\n  - name: b\n    port: ssh\n", 4, "port", "'ssh' is not a port number (1-65535)"),
    ("hosts:\n  - name: a\n    port: 70000\n", 3, "port", "is not a port number"),
    ("hosts:\n  - name: a\n  - fqdn: b.example.com\n", 3, "name", "required"),
    ("hosts:\n  - name: a\n    os_version: 10.10\n", 3, "os_version", "quote it"),
    ("hosts:\n  - name: a\n    name: b\n", 3, "name", "appears twice"),
    ("hosts:\n  - name: a\n    instance_id: i-12\n", 3, "instance_id", "not an instance id"),
    ("hosts:\n  - name: a\n    platform: aix\n", 3, "platform", "not one of linux, windows, macos"),
    ("hosts:\n  - name: a\n    connection: telnet\n", 3, "connection", "not one of ssh, winrm, psrp, aws_ssm"),
    ("hosts:\n  - name: a\n    snapshot_provider: zfs\n", 3, "snapshot_provider", "not one of ec2, vmware"),
    ("hosts:\n  - name: my host\n", 2, "name", "not a usable host name"),
    ("hosts:\n  - name: a\n    tags: [x]\n", 3, "tags", "expected a mapping"),
    ("hosts:\n  - name: a\n    owner: yes\n", 3, "owner", "expected text"),
    ("hosts:\n  - name: a\n    fqdn: -bad-\n", 3, "fqdn", "not a DNS name"),
    ("hosts:\n  - name: a\n  ip: [\n", 3, None, "not valid YAML"),
    ("host:\n  - name: a\n", 1, "host", "unknown top-level key"),
    ("hosts: a\n", 1, "hosts", "expected a list of hosts"),
    ("hosts:\n  - a\n", 1, None, "each host must be a mapping"),
])
def test_yaml_errors_name_file_line_field(text, line, field, fragment):
    with pytest.raises(inv.OnpremError) as err:
        inv.parse_onprem_yaml(text, "inventories/onprem/hosts.yml")
    path, got_line, got_field, message = err.value.problems[0]
    assert (path, got_line, got_field) == ("inventories/onprem/hosts.yml", line, field)
    assert fragment in message
    assert str(err.value).startswith("inventories/onprem/hosts.yml line %d" % line)


def test_yaml_reports_every_bad_entry():
    text = "hosts:\n" + "".join("  - name: h%d\n    port: x\n" % n for n in range(3))
    with pytest.raises(inv.OnpremError) as err:
        inv.parse_onprem_yaml(text, "h.yml")
    assert [p[1] for p in err.value.problems] == [3, 5, 7]


GOOD_CSV = """name,fqdn,ip,patch_group,environment,port,tag:Rack,tag:Site
# exported from the CMDB
app-1,app-1.corp.example.com,10.2.0.1,app-prod,Prod,22,r1,
app-2,,10.2.0.2,,Dev,,,paris

"""


def test_csv_file():
    assert inv.parse_onprem_csv(GOOD_CSV, "cmdb.csv") == [
        {"name": "app-1", "fqdn": "app-1.corp.example.com", "ip": "10.2.0.1", "patch_group": "app-prod",
         "environment": "Prod", "port": 22, "tags": {"Rack": "r1"}, "line": 3},
        {"name": "app-2", "ip": "10.2.0.2", "environment": "Dev", "tags": {"Site": "paris"}, "line": 4},
    ]


@pytest.mark.parametrize("text,line,field,fragment", [
    ("name,patchgroup\na,web\n", 1, "patchgroup", "unknown column (did you mean 'patch_group'?)"),
    ("fqdn\na.example.com\n", 1, "name", "no name column"),
    ("name,ip,ip\na,1.1.1.1,1.1.1.1\n", 1, "ip", "appears twice"),
    ("name,tags\na,x\n", 1, "tags", "unknown column"),
    ("name,ip\na,10.0.0.1\nb,10.0.0.2,extra\n", 3, None, "3 cells, the header has 2 columns"),
    ("name,port\na,22\nb,twenty\n", 3, "port", "'twenty' is not a port number"),
    ("name,ip\n,10.0.0.1\n", 2, "name", "required"),
    ("", 1, None, "empty file"),
])
def test_csv_errors_name_file_line_field(text, line, field, fragment):
    with pytest.raises(inv.OnpremError) as err:
        inv.parse_onprem_csv(text, "cmdb.csv")
    path, got_line, got_field, message = err.value.problems[0]
    assert (path, got_line, got_field) == ("cmdb.csv", line, field)
    assert fragment in message


def test_load_files_rejects_a_name_used_twice(tmp_path):
    (tmp_path / "a.yml").write_text("hosts:\n  - name: web-1\n")
    (tmp_path / "b.csv").write_text("\ufeffname,ip\nweb-2,10.0.0.2\nweb-1,10.0.0.1\n")  # with a BOM, as Excel writes
    with pytest.raises(inv.OnpremError) as err:
        inv.load_onprem_files([str(tmp_path / "a.yml"), str(tmp_path / "b.csv")])
    assert err.value.problems == [(str(tmp_path / "b.csv"), 3, "name",
                                   "'web-1' is already the name of the host at %s line 2" % (tmp_path / "a.yml"))]


@pytest.mark.parametrize("name,fragment", [("hosts.txt", "unsupported file type"), ("missing.yml", "cannot read")])
def test_load_files_bad_file(tmp_path, name, fragment):
    with pytest.raises(inv.OnpremError) as err:
        inv.load_onprem_files([str(tmp_path / name)])
    assert str(err.value).startswith("%s: %s" % (tmp_path / name, fragment))


def test_resolve_path_config_dir_then_cwd(tmp_path):
    config_dir, cwd = tmp_path / "inv", tmp_path / "project"
    (config_dir / "onprem").mkdir(parents=True)
    (cwd / "inventories").mkdir(parents=True)
    (config_dir / "onprem" / "hosts.yml").write_text("[]")
    (cwd / "inventories" / "cmdb.csv").write_text("name\n")
    assert inv.resolve_path("onprem/hosts.yml", str(config_dir), str(cwd)) == str(config_dir / "onprem" / "hosts.yml")
    assert inv.resolve_path("inventories/cmdb.csv", str(config_dir), str(cwd)) == str(cwd / "inventories" / "cmdb.csv")
    assert inv.resolve_path("/abs/x.yml", str(config_dir), str(cwd)) == "/abs/x.yml"
    with pytest.raises(inv.OnpremError) as err:
        inv.resolve_path("nope.yml", str(config_dir), str(cwd))
    assert "not found next to the inventory config" in str(err.value)


# --------------------------------------------------------------------------- one host per machine

MI = "mi-0123456789abcdef0"
MI2 = "mi-0123456789abcdef1"


@pytest.mark.parametrize("case,ec2_in,ssm_in,onprem_in,coverage,expected", [
    ("ec2 and ssm join on the instance id",
     [ec2("i-0a1")], [ssm("i-0a1")], [], set(), [("ec2", "ssm")]),
    ("an ssm EC2 instance that EC2 filtered out is dropped",
     [], [ssm("i-0a2", account="111111111111")], [], {("111111111111", "us-east-1")}, []),
    ("an ssm EC2 instance of a region EC2 was not asked for stays",
     [], [ssm("i-0a2", account="111111111111")], [], {("111111111111", "eu-west-1")}, [("ssm",)]),
    ("on-prem joins the mi- node of its instance_id",
     [], [ssm(MI)], [onprem("db1", instance_id=MI)], set(), [("ssm", "onprem")]),
    ("on-prem joins by fqdn, case and trailing dot ignored",
     [], [ssm(MI, computer_name="DB1.corp.example.com.")], [onprem("db1", fqdn="db1.corp.example.com")], set(),
     [("ssm", "onprem")]),
    ("on-prem joins by name when it equals the ComputerName",
     [], [ssm(MI, computer_name="DB1")], [onprem("db1")], set(), [("ssm", "onprem")]),
    ("on-prem joins by ip",
     [], [ssm(MI, ip_address="10.9.9.9")], [onprem("db1", ip="10.9.9.9")], set(), [("ssm", "onprem")]),
    ("fqdn/ip never join an EC2-backed ssm record",
     [ec2("i-0a3")], [ssm("i-0a3", ip_address="10.9.9.9")], [onprem("db1", ip="10.9.9.9")], set(),
     [("ec2", "ssm"), ("onprem",)]),
    ("on-prem and EC2 join on the instance id",
     [ec2("i-0a4")], [], [onprem("legacy", instance_id="i-0a4")], set(), [("ec2", "onprem")]),
    ("no match: separate machines",
     [ec2("i-0a5")], [ssm(MI)], [onprem("db1")], set(), [("ec2",), ("ssm",), ("onprem",)]),
])
def test_merge(case, ec2_in, ssm_in, onprem_in, coverage, expected):
    machines, warnings = inv.merge(ec2_in, ssm_in, onprem_in, coverage)
    assert [tuple(m.sources) for m in machines] == expected, case
    assert warnings == []


def test_merge_ambiguous_key_matches_nothing():
    machines, warnings = inv.merge([], [ssm(MI, computer_name="db1"), ssm(MI2, computer_name="db1")],
                                   [onprem("db1")])
    assert [m.sources for m in machines] == [["ssm"], ["ssm"], ["onprem"]]
    assert warnings == ["on-prem host db1 (hosts.yml line 1): name db1 matches 2 SSM nodes (%s, %s); not merged with any"
                        % (MI, MI2)]


def test_merge_two_onprem_hosts_for_one_node_are_kept_apart():
    machines, warnings = inv.merge([], [ssm(MI, ip_address="10.0.0.9")],
                                   [onprem("a", line=1, instance_id=MI), onprem("b", line=2, ip="10.0.0.9")])
    assert [(m.sources, m.onprem["name"]) for m in machines] == [(["ssm", "onprem"], "a"), (["onprem"], "b")]
    assert "on-prem hosts a (hosts.yml line 1) and b (hosts.yml line 2) both match %s by ip; kept apart" % MI in warnings


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize("machine,prefs,name", [
    (inv.Machine(ec2=ec2("i-0b1", "web-1")), ["tag:Name", "instance-id"], "web-1"),
    (inv.Machine(ec2=ec2("i-0b1")), ["tag:Name", "private-dns-name"], "ip-i-0b1.ec2.internal"),
    (inv.Machine(ec2=ec2("i-0b1", "  ")), ["tag:Name"], "i-0b1"),
    (inv.Machine(ec2=ec2("i-0b1", "web-1"), onprem=onprem("legacy-web")), ["tag:Name"], "legacy-web"),
    (inv.Machine(ssm=ssm(MI, name="dc-node-1", computer_name="n1.corp")), ["tag:Name"], "dc-node-1"),
    (inv.Machine(ssm=ssm(MI, computer_name="n1.corp")), ["tag:Name", "private-dns-name"], "n1.corp"),
    (inv.Machine(ssm=ssm(MI, ip_address="10.0.0.1")), ["private-ip-address"], "10.0.0.1"),
    (inv.Machine(ssm=ssm(MI)), ["tag:Name"], MI),
    (inv.Machine(ec2=ec2("i-0b1", tags={"Host": "h1"})), ["tag:Host"], "h1"),
])
def test_preferred_name(machine, prefs, name):
    assert inv.preferred_name(machine, prefs) == name


def test_same_name_different_machines_kept_apart_whatever_the_order():
    machines = [inv.Machine(ec2=ec2("i-0c2", "web-1", region="eu-west-1")), inv.Machine(ec2=ec2("i-0c1", "web-1")),
                inv.Machine(onprem=onprem("db-1")), inv.Machine(ec2=ec2("i-0c3", "db-1"))]
    results = set()
    for _round in range(5):
        random.shuffle(machines)
        named, warnings = inv.assign_names(machines, ["tag:Name"])
        results.add(tuple((name, m.instance_id) for name, m in named))
        assert sorted(warnings) == ["host name db-1 is wanted by 2 machines; named db-1, db-1_i-0c3",
                                    "host name web-1 is wanted by 2 machines; named web-1_i-0c1, web-1_i-0c2"]
    assert results == {(("db-1", None), ("db-1_i-0c3", "i-0c3"), ("web-1_i-0c1", "i-0c1"), ("web-1_i-0c2", "i-0c2"))}


# --------------------------------------------------------------------------- host vars


def hv(machine, **options):
    return inv.host_vars(machine, settings(**options))[0]


def test_ec2_linux_host_vars_are_few_and_prefixed():
    tags = {"Name": "web-1", "Patch Group": "web-prod", "Environment": "Prod", "Owner": "bob@example.com",
            "MaintenanceWindow": "cron(0 3 ? * SUN *)", "CostCenter": "42"}
    assert hv(inv.Machine(ec2=ec2("i-0d1", tags=tags, platform_details="Red Hat Enterprise Linux"))) == {
        "fleetpatch_patch_group": "web-prod", "fleetpatch_environment": "Prod", "fleetpatch_owner": "bob@example.com",
        "fleetpatch_window": "cron(0 3 ? * SUN *)", "fleetpatch_source": "ec2", "fleetpatch_sources": ["ec2"],
        "fleetpatch_instance_id": "i-0d1", "fleetpatch_region": "us-east-1", "fleetpatch_account_id": "111111111111",
        "fleetpatch_platform": "linux", "fleetpatch_os_family": "redhat", "fleetpatch_snapshot_provider": "ec2",
        "ansible_connection": "ssh", "ansible_host": "10.0.0.210"}


@pytest.mark.parametrize("tags,tag_option,group", [
    ({"Patch Group": "a", "PatchGroup": "b"}, None, "a"),
    ({"PatchGroup": "b"}, None, "b"),                   # falls back to PatchGroup
    ({"Patch Group": ""}, None, None),                  # empty is no patch group
    ({"patch-group": "c", "Patch Group": "a"}, "patch-group", "c"),
    ({"Patch Group": "a", "PatchGroup": "b"}, "patch-group", "b"),  # configured tag absent: PatchGroup
])
def test_patch_group_tag(tags, tag_option, group):
    got = hv(inv.Machine(ec2=ec2("i-0d2", tags=tags)), patch_group_tag=tag_option)
    assert got.get("fleetpatch_patch_group") == group


@pytest.mark.parametrize("machine,options,expected", [
    (inv.Machine(ec2=ec2("i-0e1", platform="windows")), {},
     {"ansible_connection": "winrm", "ansible_port": 5986, "ansible_host": "10.0.0.226", "fleetpatch_platform": "windows"}),
    (inv.Machine(ec2=ec2("i-0e1", public_ip="54.0.0.1")), {"connection": {"ec2_address": "public-ip-address"}},
     {"ansible_connection": "ssh", "ansible_host": "54.0.0.1"}),
    (inv.Machine(ec2=ec2("i-0e1", private_ip=None, private_dns=None)), {}, {"ansible_connection": "ssh"}),
    (inv.Machine(ssm=ssm(MI, platform_type="Linux", platform_name="Ubuntu", platform_version="22.04")),
     {"connection": {"ssm_bucket_name": "xfer"}},
     {"ansible_connection": "amazon.aws.aws_ssm", "ansible_host": MI, "ansible_aws_ssm_instance_id": MI,
      "ansible_aws_ssm_region": "us-east-1", "ansible_aws_ssm_bucket_name": "xfer", "fleetpatch_os_family": "debian",
      "fleetpatch_os_version": "22.04", "fleetpatch_platform": "linux", "fleetpatch_snapshot_provider": "package_state"}),
    (inv.Machine(ssm=ssm(MI, platform_type="Windows")), {},
     {"ansible_connection": "amazon.aws.aws_ssm", "ansible_shell_type": "powershell", "fleetpatch_platform": "windows"}),
    (inv.Machine(ec2=ec2("i-0e1"), ssm=ssm("i-0e1", region="us-east-1")), {"connection": {"prefer": "ssm"}},
     {"ansible_connection": "amazon.aws.aws_ssm", "ansible_host": "i-0e1", "fleetpatch_source": "ec2",
      "fleetpatch_sources": ["ec2", "ssm"], "fleetpatch_ssm_ping_status": "Online"}),
    (inv.Machine(ec2=ec2("i-0e1"), ssm=ssm("i-0e1")), {}, {"ansible_connection": "ssh", "ansible_host": "10.0.0.226"}),
    (inv.Machine(onprem=onprem("db1", fqdn="db1.corp", ip="10.1.1.1", port=2222, user="patcher")), {},
     {"ansible_connection": "ssh", "ansible_host": "db1.corp", "ansible_port": 2222, "ansible_user": "patcher",
      "fleetpatch_source": "onprem", "fleetpatch_platform": "linux"}),
    (inv.Machine(onprem=onprem("win1", address="10.1.1.2", connection="winrm")), {},
     {"ansible_connection": "winrm", "ansible_host": "10.1.1.2", "ansible_port": 5986, "fleetpatch_platform": "windows"}),
    (inv.Machine(onprem=onprem("db1", os_family="redhat", os_version="8", patch_group="db", snapshot_provider="lvm"),
                 ssm=ssm(MI, platform_type="Linux", platform_name="Rocky Linux", platform_version="9.4")), {},
     {"ansible_connection": "ssh", "ansible_host": "db1", "fleetpatch_source": "onprem", "fleetpatch_sources": ["ssm", "onprem"],
      "fleetpatch_os_family": "redhat", "fleetpatch_os_version": "9.4", "fleetpatch_patch_group": "db",
      "fleetpatch_snapshot_provider": "lvm", "fleetpatch_instance_id": MI}),
    (inv.Machine(onprem=onprem("ssm-only", connection=inv.SSM_CONNECTION, instance_id=MI)), {},
     {"ansible_connection": "amazon.aws.aws_ssm", "ansible_aws_ssm_instance_id": MI}),
])
def test_connection_and_observed_vars(machine, options, expected):
    got = hv(machine, **options)
    assert {k: got.get(k) for k in expected} == expected
    assert all(k.startswith(("fleetpatch_", "ansible_")) for k in got)


# what our own code chooses or maps always lands in VOCABULARY (the plugin trusts those words only)
VOCABULARY_MACHINES = [
    inv.Machine(ec2=ec2("i-0e1")),
    inv.Machine(ec2=ec2("i-0e1", platform="windows", platform_details="Windows")),
    inv.Machine(ec2=ec2("i-0e1", platform_details="Red Hat Enterprise Linux"), ssm=ssm("i-0e1")),
    inv.Machine(ssm=ssm(MI, platform_type="Windows", platform_name="Microsoft Windows Server 2022")),
    inv.Machine(ssm=ssm(MI, platform_type="MacOS", platform_name="macOS", ping_status="Inactive")),
    inv.Machine(onprem=onprem("a", connection="psrp", snapshot_provider="none")),
    inv.Machine(onprem=onprem("b", os_family="suse"), ssm=ssm(MI, ping_status="ConnectionLost")),
    inv.Machine(onprem=onprem("c", connection=inv.SSM_CONNECTION, instance_id=MI, platform="windows")),
]


@pytest.mark.parametrize("machine", VOCABULARY_MACHINES)
@pytest.mark.parametrize("prefer", ["network", "ssm"])
def test_values_our_code_chooses_are_words_of_the_vocabulary(machine, prefer):
    got = hv(machine, connection={"prefer": prefer})
    for var in ("fleetpatch_source", "fleetpatch_platform", "fleetpatch_snapshot_provider", "ansible_connection"):
        assert got[var] in inv.VOCABULARY[var], var
    assert set(got["fleetpatch_sources"]) <= set(inv.VOCABULARY["fleetpatch_sources"])
    for var in ("fleetpatch_os_family", "fleetpatch_ssm_ping_status", "ansible_shell_type"):
        assert var not in got or got[var] in inv.VOCABULARY[var], var


@pytest.mark.parametrize("text", ["Ubuntu", "Red Hat Enterprise Linux", "SLES", "Microsoft Windows Server 2022",
                                  "macOS", "Amazon Linux", "Rocky Linux"])
def test_every_os_family_is_a_word_of_the_vocabulary(text):
    assert inv.os_family(text) in inv.VOCABULARY["fleetpatch_os_family"]


@pytest.mark.parametrize("machine,var,value", [
    # values passed through from AWS or a file that are not words stay out of the vocabulary
    (inv.Machine(ssm=ssm(MI, platform_type="{{ 6 * 7 }}")), "fleetpatch_platform", "{{ 6 * 7 }}"),
    (inv.Machine(ssm=ssm(MI, ping_status="{{ 6 * 7 }}")), "fleetpatch_ssm_ping_status", "{{ 6 * 7 }}"),
    (inv.Machine(onprem=onprem("a", os_family="plan_9")), "fleetpatch_os_family", "plan_9"),
])
def test_values_passed_through_are_not_words(machine, var, value):
    got = hv(machine)
    assert got[var] == value and value not in inv.VOCABULARY[var]


@pytest.mark.parametrize("var", ["fleetpatch_patch_group", "fleetpatch_environment", "fleetpatch_owner",
                                 "fleetpatch_window", "fleetpatch_instance_id", "fleetpatch_region",
                                 "fleetpatch_account_id", "fleetpatch_os_version", "fleetpatch_ssm_agent_version",
                                 "ansible_host", "ansible_user", "ansible_aws_ssm_instance_id", "ansible_aws_ssm_region",
                                 "ansible_aws_ssm_bucket_name"])
def test_data_variables_have_no_vocabulary(var):
    assert var not in inv.VOCABULARY


def test_host_vars_carry_the_role_the_machine_was_found_through():
    """Issue #18: every AWS call about the host runs in its account, with the role that found it."""
    record = dict(ec2("i-0f7"), role_arn="arn:aws:iam::222222222222:role/p", role_external_id="ext-42",
                  role_session_name="night-1")
    got = hv(inv.Machine(ec2=record))
    assert (got["fleetpatch_aws_role_arn"], got["fleetpatch_aws_external_id"], got["fleetpatch_aws_role_session_name"]) == (
        "arn:aws:iam::222222222222:role/p", "ext-42", "night-1")
    ssm_only = hv(inv.Machine(ssm={"instance_id": "mi-0123456789abcdef0", "region": "us-east-1", "account_id": "333333333333",
                                   "role_arn": "arn:aws:iam::333333333333:role/p"}))
    assert ssm_only["fleetpatch_aws_role_arn"] == "arn:aws:iam::333333333333:role/p"
    assert "fleetpatch_aws_external_id" not in ssm_only
    assert not any(k.startswith("fleetpatch_aws_") for k in hv(inv.Machine(ec2=ec2("i-0f8"))))   # default credentials


def test_onprem_fields_win_over_ec2_tags():
    machine = inv.Machine(ec2=ec2("i-0f1", tags={"Patch Group": "cloud", "Owner": "a", "Environment": "Prod"}),
                          onprem=onprem("x", patch_group="file", owner="b", tags={"Owner": "ignored", "Rack": "r1"}))
    got, tags = inv.host_vars(machine, settings())
    assert (got["fleetpatch_patch_group"], got["fleetpatch_owner"], got["fleetpatch_environment"]) == ("file", "b", "Prod")
    assert tags == {"Patch Group": "cloud", "Owner": "ignored", "Environment": "Prod", "Rack": "r1"}


# --------------------------------------------------------------------------- groups


def test_groups_families_unassigned_and_collisions():
    hosts = [
        ("a", {"fleetpatch_patch_group": "web-prod", "fleetpatch_environment": "Prod", "fleetpatch_window": "cron(0 2 ? * SAT *)",
               "fleetpatch_os_family": "debian", "fleetpatch_platform": "linux", "fleetpatch_sources": ["ec2", "ssm"]}),
        ("b", {"fleetpatch_patch_group": "Web-Prod", "fleetpatch_environment": "prod", "fleetpatch_platform": "windows",
               "fleetpatch_sources": ["onprem"]}),
        ("c", {"fleetpatch_platform": "linux", "fleetpatch_sources": ["ssm"]}),
        ("d", {"fleetpatch_patch_group": "unassigned", "fleetpatch_platform": "linux", "fleetpatch_sources": ["ec2"]}),
    ]
    groups, warnings = inv.group_hosts(hosts, "patch_group_unassigned")
    moved = "patch_group_web_prod_" + inv.short_hash("Web-Prod")
    env_moved = "env_prod_" + inv.short_hash("Prod")
    unassigned_moved = "patch_group_unassigned_" + inv.short_hash("unassigned")
    assert groups == {
        "patch_group_unassigned": ["c"], "patch_group_web_prod": ["a"], moved: ["b"], unassigned_moved: ["d"],
        "env_prod": ["b"], env_moved: ["a"], "window_cron_0_2_sat": ["a"], "os_debian": ["a"],
        "platform_linux": ["a", "c", "d"], "platform_windows": ["b"],
        "source_ec2": ["a", "d"], "source_ssm": ["a", "c"], "source_onprem": ["b"]}
    assert ("Patch Group values 'Web-Prod', 'web-prod' all make group patch_group_web_prod: 'web-prod' keeps "
            "patch_group_web_prod, 'Web-Prod' goes to %s; fix the values to merge them" % moved) in warnings
    assert any("'unassigned' goes to %s" % unassigned_moved in w for w in warnings)
    assert len(warnings) == 3


def test_an_unassigned_group_with_another_prefix_is_reserved_too():
    hosts = [("a", {"fleetpatch_environment": "none", "fleetpatch_platform": "linux", "fleetpatch_sources": ["ec2"]})]
    groups, warnings = inv.group_hosts(hosts, "env_none")
    assert groups["env_none"] == ["a"]  # unassigned: it has no patch group
    assert groups["env_none_" + inv.short_hash("none")] == ["a"]
    assert len(warnings) == 1


def test_build_end_to_end():
    built = inv.build(
        [ec2("i-0a1", "web-1", tags={"Patch Group": "web"}), ec2("i-0a2", "web-1", region="eu-west-1")],
        [ssm("i-0a1"), ssm(MI, computer_name="db1.corp", platform_type="Linux")],
        [onprem("db1", fqdn="db1.corp", patch_group="db"), onprem("lab1")],
        settings(hostnames=["tag:Name"]))
    names = [h[0] for h in built.hosts]
    assert names == ["db1", "lab1", "web-1_i-0a1", "web-1_i-0a2"]
    assert built.groups["patch_group_web"] == ["web-1_i-0a1"]
    assert built.groups["patch_group_db"] == ["db1"]
    assert built.groups["patch_group_unassigned"] == ["lab1", "web-1_i-0a2"]
    assert built.groups["source_ssm"] == ["db1", "web-1_i-0a1"]
    assert built.warnings == ["host name web-1 is wanted by 2 machines; named web-1_i-0a1, web-1_i-0a2"]
