"""The patch_groups inventory plugin in-process, through Ansible's InventoryManager.

AWS answers come from botocore's Stubber on each EC2/SSM client (requests and responses are
checked against the service model; an unexpected call fails the test), STS from a small fake
(role assumptions run in parallel, so their order is not fixed). On-prem files are real files.
"""

import gc
import importlib
import json
import os
import sys
import threading

import boto3
import botocore.exceptions
import pytest
import yaml
from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.inventory.data import InventoryData
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader, inventory_loader
from ansible.template import is_trusted_as_template, trust_as_template
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
from ansible.utils.display import Display
from botocore.stub import Stubber

COLLECTIONS = os.path.join(os.path.dirname(__file__), *[".."] * 4, ".cache", "collections")
DEFAULT_KEY = "AKIDDEFAULT00000"
ROLE_A = "arn:aws:iam::111111111111:role/patching"
ROLE_B = "arn:aws:iam::222222222222:role/patching"
KEYS = {ROLE_A: "ASIAROLEA0000000", ROLE_B: "ASIAROLEB0000000"}
RUNNING = [{"Name": "instance-state-name", "Values": ["running"]}]
CLIENT_SESSION = boto3.Session(aws_access_key_id="AKIDSTUBBED00000", aws_secret_access_key="s")  # models load once


@pytest.fixture(scope="module", autouse=True)
def plugin_loader():
    """Ansible's collection loader, as ansible-inventory has it.

    Other test modules import the collection as a plain package, which the loader refuses: their
    modules are set aside while these tests run, and the loader is removed again afterwards.
    """
    saved = {k: v for k, v in sys.modules.items() if k == "ansible_collections" or k.startswith("ansible_collections.")}
    for name in saved:
        del sys.modules[name]
    init_plugin_loader([os.path.abspath(COLLECTIONS)])
    yield
    _AnsibleCollectionFinder._remove()
    for name in [k for k in sys.modules if k == "ansible_collections" or k.startswith("ansible_collections.")]:
        del sys.modules[name]
    sys.modules.update(saved)


@pytest.fixture(autouse=True)
def unfrozen():
    """Each parse freezes the objects alive (gc.freeze); the next test starts from an unfrozen heap, as a
    process does (a parse that finds frozen objects also runs a full collection, slow in a test process)."""
    yield
    gc.unfreeze()


@pytest.fixture
def aws():
    return importlib.import_module("ansible_collections.fleetpatch.hybrid.plugins.module_utils.aws")


class FakeSts(object):
    def __init__(self, denied, calls=None):
        self.denied = denied
        self.calls = calls if calls is not None else []

    def assume_role(self, RoleArn, RoleSessionName, **extra):
        self.calls.append(dict(RoleArn=RoleArn, RoleSessionName=RoleSessionName, **extra))
        if RoleArn in self.denied:
            raise botocore.exceptions.ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "not authorized to perform sts:AssumeRole"},
                 "ResponseMetadata": {"HTTPStatusCode": 403}}, "AssumeRole")
        return {"Credentials": {"AccessKeyId": KEYS[RoleArn], "SecretAccessKey": "s", "SessionToken": "t"}}


class FakeAws(object):
    """aws.client replacement: one stubbed client per (service, region, access key)."""

    def __init__(self):
        self.clients = {}
        self.stubs = {}
        self.calls = []
        self.denied = set()
        self.assumed = []
        self.lock = threading.Lock()

    def stub(self, service, region, key=DEFAULT_KEY):
        with self.lock:
            if (service, region, key) not in self.clients:
                client = CLIENT_SESSION.client(service, region_name=region)
                stubber = Stubber(client)
                stubber.activate()
                self.clients[(service, region, key)] = client
                self.stubs[(service, region, key)] = stubber
            return self.stubs[(service, region, key)]

    def client(self, session, service, region, endpoint_url=None, **kwargs):
        key = session.get_credentials().access_key
        self.calls.append((service, region, key, endpoint_url))
        if service == "sts":
            return FakeSts(self.denied, self.assumed)
        self.stub(service, region, key)
        return self.clients[(service, region, key)]

    def ec2(self, region, instances, key=DEFAULT_KEY, owner="123456789012", filters=None):
        self.stub("ec2", region, key).add_response(
            "describe_instances", {"Reservations": [{"OwnerId": owner, "Instances": instances}]},
            {"Filters": filters or RUNNING, "MaxResults": 1000})

    def ssm(self, region, items, key=DEFAULT_KEY, token=None, next_token=None):
        params = {"MaxResults": 50}
        if token:
            params["NextToken"] = token
        answer = {"InstanceInformationList": items}
        if next_token:
            answer["NextToken"] = next_token
        self.stub("ssm", region, key).add_response("describe_instance_information", answer, params)

    def fail(self, service, region, code, status, key=DEFAULT_KEY, times=1):
        operation = "describe_instances" if service == "ec2" else "describe_instance_information"
        for _attempt in range(times):
            self.stub(service, region, key).add_client_error(operation, code, "msg " + code, status)

    def assert_all_used(self):
        for stubber in self.stubs.values():
            stubber.assert_no_pending_responses()


@pytest.fixture
def fake(monkeypatch, aws):
    fake = FakeAws()
    monkeypatch.setattr(aws, "client", fake.client)
    monkeypatch.setattr(aws, "_sleep", lambda seconds: None)
    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    return fake


@pytest.fixture
def warnings(monkeypatch):
    seen = []
    monkeypatch.setattr(Display, "warning", lambda self, msg, *a, **k: seen.append(msg))
    return seen


def instance(instance_id, name=None, **tags):
    tag_list = [{"Key": k.replace("_", " ") if k == "Patch_Group" else k, "Value": v} for k, v in tags.items()]
    if name:
        tag_list.append({"Key": "Name", "Value": name})
    return {"InstanceId": instance_id, "PrivateIpAddress": "10.0.0.%d" % (len(instance_id) + 1),
            "PrivateDnsName": "ip-%s.ec2.internal" % instance_id, "Tags": tag_list}


def write_config(tmp_path, name="test.patch_groups.yml", **options):
    config = {"plugin": "fleetpatch.hybrid.patch_groups", "access_key": DEFAULT_KEY, "secret_key": "s"}
    config.update(options)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config))
    return str(path)


def load(path, monkeypatch, cache=True):
    """The inventory Ansible builds from `path` (errors raise)."""
    monkeypatch.setattr(C, "INVENTORY_ENABLED", ["fleetpatch.hybrid.patch_groups"])
    monkeypatch.setattr(C, "INVENTORY_ANY_UNPARSED_IS_FAILED", True)
    return InventoryManager(DataLoader(), sources=[path], cache=cache)


def parse_error(path):
    """The error message of a direct parse (what the InventoryManager would print)."""
    plugin = inventory_loader.get("fleetpatch.hybrid.patch_groups")
    with pytest.raises(AnsibleError) as err:
        plugin.parse(InventoryData(), DataLoader(), path, cache=False)
    return str(err.value)


def members(manager, group):
    return sorted(h.name for h in manager.groups[group].get_hosts()) if group in manager.groups else None


@pytest.mark.parametrize("name,wanted", [
    ("prod.patch_groups.yml", True), ("patch_groups.yaml", True), ("prod.aws_ec2.yml", False),
    ("patch_groups.yml.bak", False), ("hosts.yml", False)])
def test_verify_file(tmp_path, name, wanted):
    (tmp_path / name).write_text("plugin: fleetpatch.hybrid.patch_groups\n")
    assert inventory_loader.get("fleetpatch.hybrid.patch_groups").verify_file(str(tmp_path / name)) is wanted


HOSTS_YML = """\
hosts:
  - name: db-onprem-1
    fqdn: db-onprem-1.corp.example.com
    patch_group: db-prod
    environment: Prod
    snapshot_provider: vmware
  - name: lab-1
    ip: 192.168.1.10
"""


def test_two_accounts_two_regions_ssm_and_onprem(tmp_path, fake, warnings, monkeypatch):
    (tmp_path / "onprem").mkdir()
    (tmp_path / "onprem" / "hosts.yml").write_text(HOSTS_YML)
    (tmp_path / "onprem" / "cmdb.csv").write_text("name,ip,patch_group,tag:Rack\napp-1,10.2.0.1,app-prod,r7\n")
    for region in ("us-east-1", "eu-west-1"):
        for role, owner in ((ROLE_A, "111111111111"), (ROLE_B, "222222222222")):
            prefix = "%s-%s" % (owner[0], region[:2])
            fake.ec2(region, [instance("i-0%s1" % owner[0] + region[0], prefix + "-web", Patch_Group="web-prod",
                                       Environment="Prod", Owner="web@example.com",
                                       MaintenanceWindow="cron(0 3 ? * SUN *)", LocalPort="2201")],
                     key=KEYS[role], owner=owner)
            if (role, region) != (ROLE_A, "us-east-1"):
                fake.ssm(region, [], key=KEYS[role])
    fake.ssm("us-east-1", [{"InstanceId": "i-011u", "PingStatus": "Online", "AgentVersion": "3.3.1",
                            "PlatformType": "Linux", "PlatformName": "Ubuntu", "PlatformVersion": "22.04",
                            "ResourceType": "EC2Instance"}], key=KEYS[ROLE_A], token=None, next_token="p2")
    fake.ssm("us-east-1", [{"InstanceId": "mi-0123456789abcdef0", "PingStatus": "Online", "PlatformType": "Linux",
                            "PlatformName": "Red Hat Enterprise Linux", "PlatformVersion": "9.4",
                            "ComputerName": "db-onprem-1.corp.example.com", "ResourceType": "ManagedInstance"}],
             key=KEYS[ROLE_A], token="p2")
    path = write_config(tmp_path, sources={
        "ec2": {"regions": ["us-east-1", "eu-west-1"],
                "assume_roles": [ROLE_A, {"role_arn": ROLE_B, "external_id": "ext-b42", "session_name": "night-b"}]},
        "ssm": {}, "onprem": {"files": ["onprem/hosts.yml", "onprem/cmdb.csv"]}},
        hostnames=["tag:Name"], compose={"ansible_port": "tags.LocalPort | int"},
        keyed_groups=[{"key": "fleetpatch_account_id", "prefix": "account"}])
    manager = load(path, monkeypatch)
    fake.assert_all_used()
    assert warnings == []
    assert sorted(manager.hosts) == ["1-eu-web", "1-us-web", "2-eu-web", "2-us-web", "app-1", "db-onprem-1", "lab-1"]
    assert members(manager, "patch_group_web_prod") == ["1-eu-web", "1-us-web", "2-eu-web", "2-us-web"]
    assert members(manager, "patch_group_db_prod") == ["db-onprem-1"]
    assert members(manager, "patch_group_unassigned") == ["lab-1"]
    assert members(manager, "source_ssm") == ["1-us-web", "db-onprem-1"]
    assert members(manager, "os_redhat") == ["db-onprem-1"]
    assert members(manager, "account_111111111111") == ["1-eu-web", "1-us-web", "db-onprem-1"]  # its mi- node
    web = manager.get_host("1-us-web").get_vars()
    assert {k: web[k] for k in ("fleetpatch_account_id", "fleetpatch_region", "fleetpatch_sources", "fleetpatch_os_family",
                                "fleetpatch_os_version", "ansible_port", "ansible_connection")} == {
        "fleetpatch_account_id": "111111111111", "fleetpatch_region": "us-east-1", "fleetpatch_sources": ["ec2", "ssm"],
        "fleetpatch_os_family": "debian", "fleetpatch_os_version": "22.04", "ansible_port": 2201, "ansible_connection": "ssh"}
    db = manager.get_host("db-onprem-1").get_vars()
    assert (db["fleetpatch_instance_id"], db["fleetpatch_snapshot_provider"], db["ansible_host"]) == (
        "mi-0123456789abcdef0", "vmware", "db-onprem-1.corp.example.com")
    # every host keeps the role (and its external id) it was found through: the night calls AWS about it
    # in its own account (issue #18); the role is assumed with the entry's external id and session name
    b_web = manager.get_host("2-eu-web").get_vars()
    assert (web["fleetpatch_aws_role_arn"], b_web["fleetpatch_aws_role_arn"], db["fleetpatch_aws_role_arn"]) == (ROLE_A, ROLE_B, ROLE_A)
    assert (b_web["fleetpatch_aws_external_id"], b_web["fleetpatch_aws_role_session_name"]) == ("ext-b42", "night-b")
    assert "fleetpatch_aws_external_id" not in web and "fleetpatch_aws_role_arn" not in manager.get_host("lab-1").get_vars()
    assert sorted(fake.assumed, key=lambda c: c["RoleArn"]) == [
        {"RoleArn": ROLE_A, "RoleSessionName": "fleetpatch-inventory"},
        {"RoleArn": ROLE_B, "RoleSessionName": "night-b", "ExternalId": "ext-b42"}]
    # one paginated call per service, region and account: none per host
    per_call = sorted((service, region, key) for service, region, key, dummy in fake.calls if service != "sts")
    assert per_call == sorted(set(per_call))


def test_unknown_options_are_errors(tmp_path):
    assert "unknown option 'hostname' (did you mean 'hostnames'?)" in parse_error(
        write_config(tmp_path, sources={"onprem": {"files": ["x.yml"]}}, hostname=["tag:Name"]))
    assert "sources.ec2: unknown option 'filter' (did you mean 'filters'?)" in parse_error(
        write_config(tmp_path, sources={"ec2": {"filter": {}}}))


def test_onprem_error_names_file_line_field(tmp_path):
    (tmp_path / "hosts.yml").write_text("hosts:\n  - name: a\n  - name: b\n    ip: 999.1.1.1\n")
    message = parse_error(write_config(tmp_path, sources={"onprem": {"files": ["hosts.yml"]}}))
    assert "%s line 4, field 'ip': '999.1.1.1' is not an IP address" % (tmp_path / "hosts.yml") in message


@pytest.mark.parametrize("options", [{}, {"strict": True}, {"on_source_error": "fail"}])
def test_a_failing_region_fails_the_parse_by_default(tmp_path, fake, options):
    fake.ec2("us-east-1", [instance("i-0a", "web-1")])
    fake.fail("ec2", "eu-west-1", "AuthFailure", 401)
    message = parse_error(write_config(tmp_path, sources={"ec2": {"regions": ["us-east-1", "eu-west-1"]}}, **options))
    assert ("1 source(s) failed, so the inventory would miss their hosts: ec2 in eu-west-1, default credentials: "
            "AuthFailure: msg AuthFailure. Fix the credentials or permissions named, or set on_source_error: warn") in message


def test_with_on_source_error_warn_a_failing_region_is_a_warning_and_the_rest_listed(tmp_path, fake, warnings, monkeypatch):
    fake.ec2("us-east-1", [instance("i-0a", "web-1")])
    fake.fail("ec2", "eu-west-1", "AuthFailure", 401)
    path = write_config(tmp_path, on_source_error="warn", sources={"ec2": {"regions": ["us-east-1", "eu-west-1"]}})
    manager = load(path, monkeypatch)
    assert sorted(manager.hosts) == ["web-1"]
    assert warnings == ["fleetpatch.hybrid.patch_groups: ec2 in eu-west-1, default credentials: AuthFailure: msg AuthFailure; "
                        "its hosts are missing from this inventory, the rest is listed"]


def test_an_account_whose_role_is_denied_fails_the_parse_naming_it(tmp_path, fake):
    fake.denied.add(ROLE_B)
    fake.ec2("us-east-1", [instance("i-0a", "web-1")], key=KEYS[ROLE_A], owner="111111111111")
    message = parse_error(write_config(tmp_path, sources={"ec2": {"regions": ["us-east-1"], "assume_roles": [ROLE_A, ROLE_B]}}))
    assert ("account 222222222222 (role %s): assuming the role failed: AccessDenied: not authorized to perform "
            "sts:AssumeRole" % ROLE_B) in message


def test_an_account_whose_role_is_denied_is_named_and_the_rest_listed_with_warn(tmp_path, fake, warnings, monkeypatch):
    fake.denied.add(ROLE_B)
    fake.ec2("us-east-1", [instance("i-0a", "web-1")], key=KEYS[ROLE_A], owner="111111111111")
    path = write_config(tmp_path, on_source_error="warn",
                        sources={"ec2": {"regions": ["us-east-1"], "assume_roles": [ROLE_A, ROLE_B]}})
    manager = load(path, monkeypatch)
    assert sorted(manager.hosts) == ["web-1"]
    assert len(warnings) == 1
    assert ("account 222222222222 (role %s): assuming the role failed: AccessDenied: not authorized to perform "
            "sts:AssumeRole" % ROLE_B) in warnings[0]


@pytest.mark.parametrize("options,expected", [
    ({"iam_role_arn": ROLE_A}, "'iam_role_arn' is an amazon.aws.aws_ec2 option; here write sources.ec2.assume_roles: "
                               "[\"%s\"]" % ROLE_A),
    ({"sources": {"ec2": {"iam_role_arn": ROLE_A}}}, "sources.ec2: 'iam_role_arn' is an amazon.aws.aws_ec2 option; here "
                                                     "write assume_roles: [\"%s\"]" % ROLE_A),
    ({"hostvars_prefix": "aws_"}, "'hostvars_prefix' is an amazon.aws.aws_ec2 option; here write nothing: this plugin's "
                                  "host variables are named fleetpatch_*"),
    ({"hostvars_suffix": "_ec2"}, "use compose (compose: {patch_group_ec2: fleetpatch_patch_group})"),
    ({"include_filters": [{"tag:Role": "db"}]}, "here write sources.ec2.include_filters: [{\"tag:Role\": \"db\"}]"),
    ({"exclude_filters": [{"tag:Skip": "yes"}]}, "here write sources.ec2.exclude_filters: [{\"tag:Skip\": \"yes\"}]"),
    ({"strict_permissions": False}, "here write on_source_error: warn"),
    ({"regions": ["us-east-1"]}, "here write sources.ec2.regions: [\"us-east-1\"]"),
    ({"aws_profile": "prod"}, "'aws_profile' is an amazon.aws.aws_ec2 option; here write profile"),
    ({"hostnames": [{"name": "tag:Name", "prefix": "tag:Env", "sep": "-"}]},
     "hostnames[0]: unknown option 'sep'; valid: name, prefix, separator"),
    ({"hostnames": [{"prefix": "tag:Env"}]}, "hostnames[0]: a mapping entry needs name"),
])
def test_aws_ec2_options_are_refused_naming_the_equivalent(tmp_path, options, expected):
    options.setdefault("sources", {"ec2": {"regions": ["us-east-1"]}})
    assert expected in parse_error(write_config(tmp_path, **options))


def test_aws_ec2_include_and_exclude_filters_and_dict_hostnames(tmp_path, fake, monkeypatch):
    web = instance("i-0a", "web-1", Env="prod")
    db = instance("i-0b", "db-1", Env="prod")
    stopped = instance("i-0c", "batch-1")
    fake.ec2("us-east-1", [web, db])                                              # filters (running)
    fake.ec2("us-east-1", [stopped, web], filters=[{"Name": "tag:Role", "Values": ["batch"]}])   # include
    fake.ec2("us-east-1", [db], filters=[{"Name": "tag:Skip", "Values": ["yes"]}])               # exclude
    path = write_config(tmp_path, sources={"ec2": {"regions": ["us-east-1"], "include_filters": [{"tag:Role": "batch"}],
                                                   "exclude_filters": [{"tag:Skip": "yes"}]}},
                        hostnames=[{"name": "tag:Name", "prefix": "tag:Env", "separator": "-"}, "instance-id"])
    manager = load(path, monkeypatch)
    # db-1 excluded; batch-1 included and has no Env: its name alone; web-1 prefixed with its Env
    assert sorted(manager.hosts) == ["batch-1", "prod-web-1"]
    fake.assert_all_used()


@pytest.mark.parametrize("code,status", [("Throttling", 400), ("RequestLimitExceeded", 503), ("InternalError", 500)])
def test_throttling_and_5xx_are_retried(tmp_path, fake, warnings, monkeypatch, code, status):
    fake.fail("ec2", "us-east-1", code, status, times=3)
    fake.ec2("us-east-1", [instance("i-0a", "web-1")])
    manager = load(write_config(tmp_path, sources={"ec2": {"regions": ["us-east-1"]}}), monkeypatch)
    fake.assert_all_used()
    assert sorted(manager.hosts) == ["web-1"] and warnings == []


def test_retries_stop_at_aws_max_attempts(tmp_path, fake, warnings, monkeypatch):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    fake.fail("ec2", "us-east-1", "Throttling", 400, times=2)
    manager = load(write_config(tmp_path, on_source_error="warn", sources={"ec2": {"regions": ["us-east-1"]}}), monkeypatch)
    fake.assert_all_used()
    assert list(manager.hosts) == []
    assert "Throttling: msg Throttling (after 2 attempts)" in warnings[0]


def test_cache_hit_miss_and_no_cache_of_failures(tmp_path, fake, warnings, monkeypatch):
    cache = {"cache": True, "cache_plugin": "ansible.builtin.jsonfile", "cache_connection": str(tmp_path / "cache")}
    path = write_config(tmp_path, sources={"ec2": {"regions": ["us-east-1"]}}, **cache)
    fake.ec2("us-east-1", [instance("i-0a", "web-1")])
    assert sorted(load(path, monkeypatch).hosts) == ["web-1"]
    fake.assert_all_used()
    assert sorted(load(path, monkeypatch).hosts) == ["web-1"]  # no AWS answer queued: served by the cache
    fake.ec2("us-east-1", [instance("i-0a", "web-1"), instance("i-0b", "web-2")])
    assert sorted(load(path, monkeypatch, cache=False).hosts) == ["web-1", "web-2"]  # --flush-cache / refresh
    fake.assert_all_used()
    # other sources settings: the cached answer does not fit, AWS is asked
    path = write_config(tmp_path, sources={"ec2": {"regions": ["us-east-1"], "filters": {"tag:Team": "a"}}},
                        on_source_error="warn", **cache)
    fake.fail("ec2", "us-east-1", "AuthFailure", 401)
    assert list(load(path, monkeypatch).hosts) == []
    assert len(warnings) == 1
    fake.ec2("us-east-1", [instance("i-0c", "web-3")], filters=[{"Name": "tag:Team", "Values": ["a"]}])
    assert sorted(load(path, monkeypatch).hosts) == ["web-3"]  # the failed answer was not cached
    fake.assert_all_used()


def test_values_from_aws_are_never_templated(tmp_path, fake, monkeypatch):
    fake.ec2("us-east-1", [instance("i-0a", "web-1", Owner="{{ 6 * 7 }}", Environment="{{ lookup('env', 'HOME') }}")])
    path = write_config(tmp_path, sources={"ec2": {"regions": ["us-east-1"]}},
                        compose={"owner_copy": "fleetpatch_owner", "env_upper": "tags.Environment | upper"})
    host = load(path, monkeypatch).get_host("web-1").get_vars()
    assert host["owner_copy"] == "{{ 6 * 7 }}"
    assert host["env_upper"] == "{{ LOOKUP('ENV', 'HOME') }}"
    assert not is_trusted_as_template(host["fleetpatch_owner"])
    assert not is_trusted_as_template(host["fleetpatch_environment"])


def test_without_regions_every_region_the_account_has_is_asked(tmp_path, fake, warnings, monkeypatch):
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    regions = {"Regions": [{"RegionName": "us-east-1"}, {"RegionName": "ap-south-1"}]}
    fake.stub("ec2", "us-east-1").add_response("describe_regions", regions, {})
    fake.ec2("us-east-1", [instance("i-0a", "web-1")])
    fake.ec2("ap-south-1", [instance("i-0b", "web-2")])
    manager = load(write_config(tmp_path, sources={"ec2": None}), monkeypatch)
    fake.assert_all_used()
    assert sorted(manager.hosts) == ["web-1", "web-2"] and warnings == []


def test_ssm_only_hybrid_node_connects_through_ssm(tmp_path, fake, monkeypatch):
    fake.ssm("eu-west-1", [{"InstanceId": "mi-0123456789abcdef0", "PingStatus": "ConnectionLost", "AgentVersion": "3.2.0",
                            "PlatformType": "Windows", "PlatformName": "Microsoft Windows Server 2022 Datacenter",
                            "ComputerName": "WINSRV01", "Name": "winsrv01", "ResourceType": "ManagedInstance"}])
    path = write_config(tmp_path, sources={"ssm": {"regions": ["eu-west-1"]}}, connection={"ssm_bucket_name": "xfer"})
    manager = load(path, monkeypatch)
    host = manager.get_host("winsrv01").get_vars()
    assert {k: v for k, v in host.items() if k.startswith("ansible_") and k not in ("ansible_port",)} == {
        "ansible_connection": "amazon.aws.aws_ssm", "ansible_host": "mi-0123456789abcdef0",
        "ansible_aws_ssm_instance_id": "mi-0123456789abcdef0", "ansible_aws_ssm_region": "eu-west-1",
        "ansible_aws_ssm_bucket_name": "xfer", "ansible_shell_type": "powershell"}
    assert (host["fleetpatch_ssm_ping_status"], host["fleetpatch_platform"]) == ("ConnectionLost", "windows")
    assert members(manager, "platform_windows") == ["winsrv01"]


# --------------------------------------------------------------------------- lean: cache format, trust, models


@pytest.fixture
def plugin_module():
    return importlib.import_module("ansible_collections.fleetpatch.hybrid.plugins.inventory.patch_groups")


def cache_entry(cache_dir, change=None):
    """The plugin's one jsonfile cache entry (as ansible-core's cache layer stores it), changed by `change`."""
    path, = list(cache_dir.iterdir())
    outer = json.loads(path.read_text())
    entry = json.loads(outer["__payload__"])
    if change is not None:
        change(entry)
        outer["__payload__"] = json.dumps(entry)
        path.write_text(json.dumps(outer))
    return entry


@pytest.mark.parametrize("change", [
    lambda entry: entry.update(format=1),
    lambda entry: entry.update(fingerprint="other settings"),
    lambda entry: entry.update(records='{"ec2": [{"instance_id"'),
    lambda entry: entry.pop("records"),
], ids=["older format", "other settings", "damaged records", "no records"])
def test_a_cache_entry_that_does_not_fit_asks_aws_again(tmp_path, fake, warnings, monkeypatch, change):
    path = write_config(tmp_path, sources={"ec2": {"regions": ["us-east-1"]}}, cache=True,
                        cache_plugin="ansible.builtin.jsonfile", cache_connection=str(tmp_path / "cache"))
    fake.ec2("us-east-1", [instance("i-0a", "web-1")])
    assert sorted(load(path, monkeypatch).hosts) == ["web-1"]
    entry = cache_entry(tmp_path / "cache")
    assert entry["format"] == 2 and [r["instance_id"] for r in json.loads(entry["records"])["ec2"]] == ["i-0a"]
    assert sorted(load(path, monkeypatch).hosts) == ["web-1"]  # a hit: no AWS answer is queued
    cache_entry(tmp_path / "cache", change)
    fake.ec2("us-east-1", [instance("i-0a", "web-1"), instance("i-0b", "web-2")])
    assert sorted(load(path, monkeypatch).hosts) == ["web-1", "web-2"]
    fake.assert_all_used()
    assert warnings == []


@pytest.mark.parametrize("value", ["web-prod", 5986, ["ec2", "ssm"], []])
def test_plain_values_are_already_unsafe_and_kept_as_they_are(plugin_module, value):
    assert plugin_module.make_unsafe(value) is value
    assert not any(is_trusted_as_template(item) for item in (value if isinstance(value, list) else [value]))


@pytest.mark.parametrize("wrap,read", [
    (lambda t: t, lambda v: v),
    (lambda t: ["ec2", t], lambda v: v[1]),
    (lambda t: {"Owner": t}, lambda v: v["Owner"]),
])
def test_trusted_values_are_made_unsafe(plugin_module, wrap, read):
    trusted = trust_as_template("{{ 6 * 7 }}")
    assert is_trusted_as_template(read(wrap(trusted)))
    assert not is_trusted_as_template(read(plugin_module.make_unsafe(wrap(trusted))))
    assert read(plugin_module.make_unsafe(wrap(trusted))) == "{{ 6 * 7 }}"


def test_a_value_from_the_config_file_is_unsafe_as_a_host_var(tmp_path, fake, monkeypatch):
    fake.ssm("eu-west-1", [{"InstanceId": "mi-0123456789abcdef0", "PingStatus": "Online", "PlatformType": "Linux",
                            "Name": "node1", "ResourceType": "ManagedInstance"}])
    path = write_config(tmp_path, sources={"ssm": {"regions": ["eu-west-1"]}},
                        connection={"ssm_bucket_name": "{{ 6 * 7 }}"})
    host = load(path, monkeypatch).get_host("node1").get_vars()
    assert host["ansible_aws_ssm_bucket_name"] == "{{ 6 * 7 }}"
    assert not is_trusted_as_template(host["ansible_aws_ssm_bucket_name"])


TOY_MODEL = {
    "version": "2.0", "metadata": {"protocol": "query"},
    "operations": {"A": {"name": "A", "input": {"shape": "AIn"}, "output": {"shape": "AOut"}},
                   "B": {"name": "B", "input": {"shape": "BIn"}, "errors": [{"shape": "BErr"}]}},
    "shapes": {"AIn": {"type": "structure", "members": {"F": {"shape": "FList"}}},
               "FList": {"type": "list", "member": {"shape": "Str"}},
               "AOut": {"type": "structure", "members": {"M": {"shape": "Map"}}},
               "Map": {"type": "map", "key": {"shape": "Str"}, "value": {"shape": "AOut"}},  # recursive
               "Str": {"type": "string"},
               "BIn": {"type": "structure", "members": {}},
               "BErr": {"type": "structure", "members": {}, "exception": True},
               "Unused": {"type": "string"}},
}


@pytest.mark.parametrize("operations,kept_ops,kept_shapes", [
    (["A"], ["A"], ["AIn", "AOut", "FList", "Map", "Str"]),
    (["B"], ["B"], ["BErr", "BIn"]),
    (["A", "B", "Missing"], ["A", "B"], ["AIn", "AOut", "BErr", "BIn", "FList", "Map", "Str"]),
    ([], [], []),
])
def test_trim_service_model_keeps_the_operations_and_the_shapes_they_reach(plugin_module, operations, kept_ops,
                                                                           kept_shapes):
    before = json.dumps(TOY_MODEL, sort_keys=True)
    trimmed = plugin_module.trim_service_model(TOY_MODEL, operations)
    assert sorted(trimmed["operations"]) == kept_ops and sorted(trimmed["shapes"]) == kept_shapes
    assert trimmed["metadata"] == TOY_MODEL["metadata"]
    assert json.dumps(TOY_MODEL, sort_keys=True) == before  # the model read is not changed


@pytest.mark.parametrize("text,expected", [
    ('{"type": "string", "documentation": "<p>Text</p>"}', {"type": "string"}),
    ('{"members": {"documentation": {"shape": "String"}}, "documentation": "x"}',
     {"members": {"documentation": {"shape": "String"}}}),
    ('[{"documentation": "a", "shape": "S"}, {"shape": "T"}]', [{"shape": "S"}, {"shape": "T"}]),
])
def test_models_are_read_without_documentation_text(plugin_module, tmp_path, text, expected):
    (tmp_path / "model.json").write_text(text)
    files = plugin_module._LeanJsonFiles()
    assert files.exists(str(tmp_path / "model")) and not files.exists(str(tmp_path / "other"))
    assert files.load_file(str(tmp_path / "model")) == expected
    assert files.load_file(str(tmp_path / "other")) is None


def test_clients_are_made_from_trimmed_models_and_work(plugin_module):
    import botocore.loaders

    lean = plugin_module._LeanModels(botocore.loaders.create_loader(), botocore.loaders.Loader)
    session = boto3.Session(aws_access_key_id="AKIDLEAN00000000", aws_secret_access_key="s")
    session._session.register_component("data_loader", lean)
    for service, operations in plugin_module.OPERATIONS.items():
        model = session.client(service, region_name="us-east-1").meta.service_model
        assert sorted(model.operation_names) == sorted(operations)
        assert "documentation" not in json.dumps(lean.load_service_model(service, "service-2"))
    ec2 = session.client("ec2", region_name="eu-west-1")
    with Stubber(ec2) as stub:
        stub.add_response("describe_instances", {"Reservations": [{"OwnerId": "1", "Instances": [{"InstanceId": "i-0a"}]}]},
                          {"Filters": RUNNING, "MaxResults": 1000})
        assert ec2.describe_instances(Filters=RUNNING, MaxResults=1000)["Reservations"][0]["Instances"][0]["InstanceId"] == "i-0a"
    with pytest.raises(botocore.exceptions.ParamValidationError):  # requests are still checked by the model
        ec2.describe_instances(Filters=[{"Nome": "x"}])
    assert len(session.client("s3", region_name="us-east-1").meta.service_model.operation_names) > 50  # others whole
    assert lean.load_service_model("ec2", "paginators-1")["pagination"]  # other model types as they are


# --------------------------------------------------------------------------- trusted vocabulary, garbage collection


def trusted(value):
    """True when Ansible would template the value (a string, or every element of a list)."""
    items = value if isinstance(value, list) else [value]
    return bool(items) and all(isinstance(item, str) and is_trusted_as_template(item) for item in items)


@pytest.mark.parametrize("var,value,is_trusted", [
    # our own words: trusted
    ("fleetpatch_source", "ec2", True),
    ("fleetpatch_source", "onprem", True),
    ("fleetpatch_sources", ["ec2", "ssm", "onprem"], True),
    ("fleetpatch_platform", "windows", True),
    ("fleetpatch_os_family", "debian", True),
    ("fleetpatch_snapshot_provider", "package_state", True),
    ("fleetpatch_ssm_ping_status", "ConnectionLost", True),
    ("ansible_connection", "amazon.aws.aws_ssm", True),
    ("ansible_connection", "psrp", True),
    ("ansible_shell_type", "powershell", True),
    # a value of these variables that is not one of the words (passed through from AWS or a file): unsafe
    ("fleetpatch_platform", "{{ 6 * 7 }}", False),
    ("fleetpatch_platform", "Linux", False),
    ("fleetpatch_os_family", "plan_9", False),
    ("fleetpatch_ssm_ping_status", "Unknown", False),
    ("ansible_connection", "local", False),
    ("fleetpatch_sources", ["ec2", "{{ 6 * 7 }}"], False),
    ("fleetpatch_sources", [], False),
    ("fleetpatch_source", trust_as_template("{{ 6 * 7 }}"), False),  # already tagged: made unsafe, not kept
    # data from AWS or files: unsafe, even when it happens to be one of the words
    ("fleetpatch_patch_group", "linux", False),
    ("fleetpatch_environment", "ec2", False),
    ("fleetpatch_owner", "ssh", False),
    ("fleetpatch_window", "cron(0 3 ? * SUN *)", False),
    ("fleetpatch_instance_id", "i-0123456789abcdef0", False),
    ("fleetpatch_region", "us-east-1", False),
    ("fleetpatch_account_id", "111111111111", False),
    ("fleetpatch_os_version", "22.04", False),
    ("fleetpatch_ssm_agent_version", "3.3.1", False),
    ("ansible_host", "10.0.0.1", False),
    ("ansible_user", "ec2-user", False),
    ("ansible_aws_ssm_instance_id", "mi-0123456789abcdef0", False),
    ("ansible_aws_ssm_bucket_name", "ssm", False),
])
def test_only_words_of_the_vocabulary_are_trusted(plugin_module, var, value, is_trusted):
    out = plugin_module.host_variables({var: value})[var]
    assert out == value
    assert trusted(out) is is_trusted
    if not is_trusted:
        assert not any(is_trusted_as_template(item) for item in (out if isinstance(out, list) else [out]))


def test_trusted_words_are_one_object_each_and_other_values_untouched(plugin_module):
    first = plugin_module.host_variables({"fleetpatch_platform": "linux", "ansible_port": 5986,
                                          "fleetpatch_sources": ["ec2"]})
    second = plugin_module.host_variables({"fleetpatch_platform": "linux", "fleetpatch_sources": ["ec2"]})
    assert first["fleetpatch_platform"] is second["fleetpatch_platform"]
    assert first["fleetpatch_sources"] is not second["fleetpatch_sources"]  # a list of its own per host
    assert first["ansible_port"] == 5986 and first["ansible_port"].__class__ is int  # a plain int, not a wrapper


ONPREM_TRUST_YML = """\
hosts:
  - name: win-1
    fqdn: win-1.corp.example.com
    platform: windows
    connection: psrp
    snapshot_provider: vmware
    user: Administrator
    owner: "{{ 6 * 7 }}"
  - name: odd-1
    ip: 192.168.1.11
    os_family: Plan 9
"""

# host: (trusted variables, every other string variable is unsafe)
TRUST_TABLE = [
    ("web-1", {"fleetpatch_source", "fleetpatch_sources", "fleetpatch_platform", "fleetpatch_snapshot_provider",
               "ansible_connection", "fleetpatch_os_family", "fleetpatch_ssm_ping_status"}),
    ("winsrv01", {"fleetpatch_source", "fleetpatch_sources", "fleetpatch_platform", "fleetpatch_snapshot_provider",
                  "ansible_connection", "ansible_shell_type", "fleetpatch_os_family", "fleetpatch_ssm_ping_status"}),
    ("odd-node", {"fleetpatch_source", "fleetpatch_sources", "fleetpatch_snapshot_provider", "ansible_connection"}),
    ("win-1", {"fleetpatch_source", "fleetpatch_sources", "fleetpatch_platform", "fleetpatch_snapshot_provider",
               "ansible_connection"}),
    ("odd-1", {"fleetpatch_source", "fleetpatch_sources", "fleetpatch_platform", "fleetpatch_snapshot_provider",
               "ansible_connection"}),
]


@pytest.mark.parametrize("host,expected", TRUST_TABLE, ids=[row[0] for row in TRUST_TABLE])
def test_which_host_vars_are_trusted_end_to_end(tmp_path, fake, monkeypatch, host, expected):
    (tmp_path / "hosts.yml").write_text(ONPREM_TRUST_YML)
    fake.ec2("us-east-1", [instance("i-0a", "web-1", Patch_Group="linux", Environment="ssh", Owner="{{ 6 * 7 }}",
                                    MaintenanceWindow="cron(0 3 ? * SUN *)")])
    fake.ssm("us-east-1", [
        {"InstanceId": "i-0a", "PingStatus": "Online", "AgentVersion": "3.3.1", "PlatformType": "Linux",
         "PlatformName": "Ubuntu", "PlatformVersion": "22.04", "ResourceType": "EC2Instance"},
        {"InstanceId": "mi-0123456789abcdef0", "PingStatus": "ConnectionLost", "PlatformType": "Windows",
         "PlatformName": "Microsoft Windows Server 2022", "Name": "winsrv01", "ResourceType": "ManagedInstance"},
        {"InstanceId": "mi-0123456789abcdef1", "PingStatus": "{{ 6 * 7 }}", "PlatformType": "Plan9",
         "Name": "odd-node", "ResourceType": "ManagedInstance"}])
    path = write_config(tmp_path, sources={"ec2": {"regions": ["us-east-1"]}, "ssm": {},
                                           "onprem": {"files": ["hosts.yml"]}})
    host_vars = load(path, monkeypatch).get_host(host).get_vars()
    ours = {var: value for var, value in host_vars.items() if var.startswith(("fleetpatch_", "ansible_"))
            and var not in ("ansible_port",)}
    assert expected <= set(ours)
    assert {var for var, value in ours.items() if trusted(value)} == expected
    for var, value in ours.items():
        if var not in expected:
            assert not any(is_trusted_as_template(item) for item in (value if isinstance(value, list) else [value])), var


def test_a_trusted_word_templates_to_itself_in_compose(tmp_path, fake, monkeypatch):
    fake.ec2("us-east-1", [instance("i-0a", "web-1", Owner="{{ 6 * 7 }}")])
    path = write_config(tmp_path, sources={"ec2": {"regions": ["us-east-1"]}},
                        compose={"how": "ansible_connection ~ '/' ~ fleetpatch_platform ~ '/' ~ fleetpatch_owner"})
    assert load(path, monkeypatch).get_host("web-1").get_vars()["how"] == "ssh/linux/{{ 6 * 7 }}"


@pytest.mark.parametrize("enabled_before", [True, False])
def test_parse_pauses_the_collector_but_not_for_aws_restores_it_and_freezes(
        tmp_path, fake, monkeypatch, plugin_module, enabled_before):
    seen = {}
    module = importlib.import_module("ansible_collections.fleetpatch.hybrid.plugins.module_utils.inventory")
    real_build, real_run = module.build, plugin_module._Fetcher.run

    def build(*args, **kwargs):
        seen["build"] = gc.isenabled()
        return real_build(*args, **kwargs)

    def run(self):
        seen["aws"] = gc.isenabled()
        return real_run(self)

    monkeypatch.setattr(module, "build", build)
    monkeypatch.setattr(plugin_module._Fetcher, "run", run)
    fake.ec2("us-east-1", [instance("i-0a", "web-1")])
    path = write_config(tmp_path, sources={"ec2": {"regions": ["us-east-1"]}})
    (gc.enable if enabled_before else gc.disable)()
    try:
        gc.unfreeze()
        manager = load(path, monkeypatch)
        assert gc.isenabled() is enabled_before
        assert seen == {"build": False, "aws": enabled_before}
        assert gc.get_freeze_count() > 0
        host = manager.get_host("web-1")
        assert gc.is_tracked(host) and not any(obj is host for obj in gc.get_objects())  # frozen: in no generation
    finally:
        gc.unfreeze()
        gc.enable()


def test_a_failing_parse_restores_the_collector_and_freezes_nothing(tmp_path):
    gc.enable()
    gc.unfreeze()
    assert "unknown option" in parse_error(write_config(tmp_path, sources={"onprem": {"files": ["x.yml"]}}, nope=1))
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_a_second_parse_unfreezes_so_the_replaced_inventory_can_be_collected(tmp_path, fake, monkeypatch):
    import weakref

    fake.ec2("us-east-1", [instance("i-0a", "web-1")])
    fake.ec2("us-east-1", [instance("i-0b", "web-2")])
    path = write_config(tmp_path, sources={"ec2": {"regions": ["us-east-1"]}})
    try:
        manager = load(path, monkeypatch)
        old_host = weakref.ref(manager.get_host("web-1"))
        manager.refresh_inventory()  # as meta: refresh_inventory does
        assert sorted(manager.hosts) == ["web-2"]
        gc.collect()
        assert old_host() is None  # host <-> group cycles of the old inventory were collected, not kept frozen
    finally:
        gc.unfreeze()


def test_list_output_shows_trusted_words_plain_and_aws_values_marked_unsafe(tmp_path, fake, monkeypatch):
    from ansible._internal._json._profiles import _inventory_legacy  # what ansible-inventory --list dumps with

    fake.ec2("us-east-1", [instance("i-0a", "web-1", Owner="{{ 6 * 7 }}")])
    host_vars = load(write_config(tmp_path, sources={"ec2": {"regions": ["us-east-1"]}}), monkeypatch).get_host(
        "web-1").get_vars()
    wanted = ("fleetpatch_source", "fleetpatch_sources", "fleetpatch_platform", "ansible_connection", "fleetpatch_owner",
              "fleetpatch_instance_id", "ansible_host")
    listed = json.loads(json.dumps({"_meta": {"hostvars": {"web-1": {k: host_vars[k] for k in wanted}}}},
                                   cls=_inventory_legacy.Encoder))["_meta"]["hostvars"]["web-1"]
    assert listed == {
        "fleetpatch_source": "ec2", "fleetpatch_sources": ["ec2"], "fleetpatch_platform": "linux",
        "ansible_connection": "ssh", "fleetpatch_owner": {"__ansible_unsafe": "{{ 6 * 7 }}"},
        "fleetpatch_instance_id": {"__ansible_unsafe": "i-0a"}, "ansible_host": {"__ansible_unsafe": "10.0.0.5"}}
