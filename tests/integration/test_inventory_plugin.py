"""fleetpatch.hybrid.patch_groups end to end: `ansible-inventory -i <config> --list` against a moto server.

The test starts its own moto server on 127.0.0.1:5101 (and stops it), seeds EC2 instances in two
regions and three accounts (the default one and two reached through assumed roles) and reads the
on-prem files in inventory_fixtures/. It needs no local test host.

moto has no SSM DescribeInstanceInformation (see ../shared/FACTS.md): the SSM source is tested end
to end in-process, through Ansible's InventoryManager, with EC2 and STS from the moto server and the
SSM answers from botocore's Stubber, which checks requests and responses against the service model.
"""

import importlib
import json
import os
import socket
import subprocess
import sys
import time

import boto3
import pytest
import yaml
from botocore.stub import Stubber
from fleetlib import own_moto

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "inventory_fixtures")
PORT = 5101
ENDPOINT = "http://127.0.0.1:%d" % PORT
ROLE_A = "arn:aws:iam::111111111111:role/patching"
ROLE_B = "arn:aws:iam::222222222222:role/patching"
REGIONS = ["us-east-1", "eu-west-1"]
MI_DB = "mi-0aaaaaaaaaaaaaaa1"
MI_ALONE = "mi-0aaaaaaaaaaaaaaa2"


def port_open(port):
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def moto():
    with own_moto(PORT):
        yield ENDPOINT
        SESSIONS.clear()
        IMAGES.clear()


SESSIONS = {}
IMAGES = {}


def aws_session(role=None):
    if role not in SESSIONS:
        session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
        if role is not None:
            creds = session.client("sts", region_name="us-east-1", endpoint_url=ENDPOINT).assume_role(
                RoleArn=role, RoleSessionName="seed")["Credentials"]
            session = boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                                    aws_session_token=creds["SessionToken"])
        SESSIONS[role] = session
    return SESSIONS[role]


def image(ec2, region, windows):
    """An AMI of moto's catalogue (the same in every account), Windows or not."""
    if (region, windows) not in IMAGES:
        for item in ec2.describe_images(Owners=["amazon"])["Images"]:
            IMAGES.setdefault((region, bool(item.get("Platform"))), item["ImageId"])
    return IMAGES[(region, windows)]


def launch(role, region, tags, windows=False, count=1):
    ec2 = aws_session(role).client("ec2", region_name=region, endpoint_url=ENDPOINT)
    image_id = image(ec2, region, windows)
    answer = ec2.run_instances(ImageId=image_id, MinCount=count, MaxCount=count, InstanceType="t3.micro",
                               TagSpecifications=[{"ResourceType": "instance",
                                                   "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}])
    return [i["InstanceId"] for i in answer["Instances"]]


def web(name, group="web-prod"):
    return {"Name": name, "Patch Group": group, "Environment": "Prod", "Owner": "web@example.com",
            "MaintenanceWindow": "cron(0 3 ? * SUN *)", "Suite": "fleet"}


@pytest.fixture(scope="module")
def fleet(moto):
    ids = {
        "web-1/us": launch(ROLE_A, "us-east-1", web("web-1"))[0],
        "web-2": launch(ROLE_A, "us-east-1", web("web-2", "Web-Prod"))[0],
        "db-1": launch(ROLE_A, "us-east-1", {"Name": "db-1", "PatchGroup": "db-prod", "Environment": "Prod", "Suite": "fleet"})[0],
        "web-1/eu": launch(ROLE_A, "eu-west-1", web("web-1"))[0],
        "win-1": launch(ROLE_B, "eu-west-1", {"Name": "win-1", "Patch Group": "win-prod", "Environment": "Prod",
                                              "Suite": "fleet"}, windows=True)[0],
        "app-1": launch(ROLE_B, "us-east-1", {"Name": "app-1", "Suite": "fleet"})[0],
        "stopped": launch(ROLE_B, "us-east-1", {"Name": "stopped-1", "Patch Group": "web-prod", "Suite": "fleet"})[0],
    }
    aws_session(ROLE_B).client("ec2", region_name="us-east-1", endpoint_url=ENDPOINT).stop_instances(InstanceIds=[ids["stopped"]])
    return ids


def write_config(tmp_path, name="fleet.patch_groups.yml", **options):
    config = {"plugin": "fleetpatch.hybrid.patch_groups", "access_key": "testing", "secret_key": "testing"}
    config.update(options)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return str(path)


class Run(object):
    def __init__(self, data, stderr, rc):
        self.data, self.stderr, self.rc = data, stderr, rc


def inventory(config, *extra, env=None, check=True):
    """`ansible-inventory -i config --list`: its JSON (data), stderr on one line, exit code (rc)."""
    environ = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_INVENTORY_ENABLED="fleetpatch.hybrid.patch_groups,amazon.aws.aws_ec2",
                   ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="1", PATH=VENV_BIN + os.pathsep + os.environ["PATH"])
    environ.pop("ANSIBLE_FORCE_COLOR", None)
    environ.update(env or {})
    environ = {key: value for key, value in environ.items() if value is not None}  # None: unset
    result = subprocess.run([os.path.join(VENV_BIN, "ansible-inventory"), "-i", config, "--list"] + list(extra),
                            capture_output=True, text=True, cwd=ROOT, env=environ, timeout=120, check=False)
    if check:
        assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout) if result.returncode == 0 else None
    return Run(data, " ".join(result.stderr.split()), result.returncode)


def hostvars(data):
    """hostvars with the `__ansible_unsafe` markers ansible-inventory writes for untrusted strings removed."""
    def plain(value):
        if isinstance(value, dict):
            return value["__ansible_unsafe"] if set(value) == {"__ansible_unsafe"} else {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value
    return plain(data["_meta"]["hostvars"])


def hosts_of(data, group):
    return sorted(data.get(group, {}).get("hosts", []))


FLEET_SOURCES = {"ec2": {"regions": REGIONS, "endpoint_url": ENDPOINT, "assume_roles": [ROLE_A, ROLE_B],
                         "filters": {"instance-state-name": "running", "tag:Suite": "fleet"}}}


def test_two_regions_two_accounts_and_onprem_files(tmp_path, fleet):
    sources = dict(FLEET_SOURCES, onprem={"files": [os.path.join(FIXTURES, "onprem_hosts.yml"),
                                                    os.path.join(FIXTURES, "onprem_cmdb.csv")]})
    config = write_config(tmp_path, sources=sources, hostnames=["tag:Name", "instance-id"],
                          compose={"fleetpatch_rack": "tags.Rack | default('none')"},
                          keyed_groups=[{"key": "fleetpatch_account_id", "prefix": "account"}])
    run = inventory(config)
    data, stderr = run.data, run.stderr
    hv = hostvars(data)
    web_us, web_eu = "web-1_" + fleet["web-1/us"], "web-1_" + fleet["web-1/eu"]
    assert sorted(hv) == sorted(["app-1", "db-1", "web-2", "win-1", web_us, web_eu, "db-onprem-1", "win-onprem-1",
                                 "lab-1", "app-onprem-1", "app-onprem-2"])
    assert "host name web-1 is wanted by 2 machines; named %s" % ", ".join(sorted([web_us, web_eu])) in stderr
    # groups: one per tag value, the stopped instance filtered out, no value merged into another
    assert hosts_of(data, "patch_group_web_prod") == sorted([web_us, web_eu])
    assert hosts_of(data, "patch_group_db_prod") == ["db-1", "db-onprem-1"]  # PatchGroup fallback + file
    assert hosts_of(data, "patch_group_unassigned") == ["app-1", "lab-1"]
    moved = [g for g in data if g.startswith("patch_group_web_prod_")]
    assert len(moved) == 2 and sorted(h for g in moved for h in hosts_of(data, g)) == ["app-onprem-2", "web-2"]
    assert "Patch Group values 'Web Prod', 'Web-Prod', 'web-prod' all make group patch_group_web_prod" in stderr
    assert hosts_of(data, "env_prod") == sorted(set(hv) - {"app-1", "lab-1"})
    assert hosts_of(data, "env_test") == ["lab-1"]
    assert hosts_of(data, "platform_windows") == ["win-1", "win-onprem-1"]
    assert hosts_of(data, "os_redhat") == ["db-onprem-1"] and hosts_of(data, "os_debian") == ["app-onprem-1", "app-onprem-2"]
    assert hosts_of(data, "window_cron_0_3_sun") == sorted(["web-2", web_us, web_eu, "db-onprem-1"])
    assert hosts_of(data, "source_onprem") == ["app-onprem-1", "app-onprem-2", "db-onprem-1", "lab-1", "win-onprem-1"]
    assert hosts_of(data, "account_111111111111") == sorted(["db-1", "web-2", web_us, web_eu])
    assert hosts_of(data, "account_222222222222") == ["app-1", "win-1"]
    # host vars: prefixed, few, with the connection
    assert {k: v for k, v in hv[web_eu].items() if k not in ("ansible_host",)} == {
        "fleetpatch_patch_group": "web-prod", "fleetpatch_environment": "Prod", "fleetpatch_owner": "web@example.com",
        "fleetpatch_window": "cron(0 3 ? * SUN *)", "fleetpatch_source": "ec2", "fleetpatch_sources": ["ec2"],
        "fleetpatch_instance_id": fleet["web-1/eu"], "fleetpatch_region": "eu-west-1",
        "fleetpatch_account_id": "111111111111", "fleetpatch_platform": "linux", "fleetpatch_snapshot_provider": "ec2",
        "ansible_connection": "ssh", "fleetpatch_rack": "none",
        "fleetpatch_aws_role_arn": ROLE_A}   # the role it was found through: the night's AWS calls about it use it
    assert hv[web_eu]["ansible_host"].startswith("10.")
    assert (hv["win-1"]["ansible_connection"], hv["win-1"]["ansible_port"]) == ("winrm", 5986)
    assert {k: hv["app-onprem-1"][k] for k in ("ansible_host", "ansible_port", "fleetpatch_snapshot_provider",
                                               "fleetpatch_os_version", "fleetpatch_rack")} == {
        "ansible_host": "app-onprem-1.corp.example.com", "ansible_port": 2222, "fleetpatch_snapshot_provider": "lvm",
        "fleetpatch_os_version": "12", "fleetpatch_rack": "r03"}
    assert hv["db-onprem-1"]["ansible_user"] == "patcher"
    assert "tags" not in hv["db-1"]


def test_a_failing_region_fails_the_inventory_and_with_warn_the_rest_is_listed(tmp_path, fleet):
    sources = {"ec2": dict(FLEET_SOURCES["ec2"], regions=["us-east-1", "xx-fake-1"], assume_roles=[ROLE_A])}
    env = {"AWS_MAX_ATTEMPTS": "2"}
    run = inventory(write_config(tmp_path, sources=sources), env=env, check=False)
    assert run.rc != 0
    assert ("1 source(s) failed, so the inventory would miss their hosts: ec2 in xx-fake-1, account 111111111111 (role %s)"
            % ROLE_A) in run.stderr
    run = inventory(write_config(tmp_path, sources=sources, on_source_error="warn"), env=env)
    assert sorted(hostvars(run.data)) == ["db-1", "web-1", "web-2"]
    assert ("ec2 in xx-fake-1, account 111111111111 (role %s): ResponseParserError: the endpoint answered with "
            "something that is not an AWS response (often a 5xx) (after 2 attempts); its hosts are missing" % ROLE_A) in run.stderr


def test_aws_ec2_include_exclude_filters_and_dict_hostnames_on_moto(tmp_path, fleet):
    """Options carried over from aws_ec2 mean the same here: the stopped instance is brought back by an
    include filter set, db-1 left out by an exclude set, names built from {prefix, separator, name}."""
    sources = {"ec2": dict(FLEET_SOURCES["ec2"], regions=["us-east-1"], assume_roles=[ROLE_B, ROLE_A],
                           include_filters=[{"tag:Name": "stopped-1"}], exclude_filters=[{"tag:Name": ["db-1", "app-1"]}])}
    run = inventory(write_config(tmp_path, sources=sources,
                                 hostnames=[{"name": "tag:Name", "prefix": "tag:Environment", "separator": "-"}]))
    assert sorted(hostvars(run.data)) == ["Prod-web-1", "Prod-web-2", "stopped-1"]


def test_an_inventory_sync_as_awx_runs_it_fails_without_credentials(tmp_path, fleet):
    """AWX runs `ansible-inventory --list --export` with ANSIBLE_INVENTORY_UNPARSED_FAILED=True (its
    STANDARD_INVENTORY_UPDATE_ENV), not ANY_UNPARSED_IS_FAILED: the sync must fail there, as aws_ec2's does,
    instead of reporting success with an empty inventory."""
    config = tmp_path / "awx.patch_groups.yml"
    config.write_text(yaml.safe_dump({"plugin": "fleetpatch.hybrid.patch_groups",
                                      "sources": {"ec2": {"regions": ["us-east-1"], "endpoint_url": ENDPOINT}}}))
    env = {"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "0", "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
           "ANSIBLE_INVENTORY_EXPORT": "True", "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
           "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_EC2_METADATA_DISABLED": "true"}
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        env[key] = None
    run = inventory(str(config), "--export", env=env, check=False)
    assert run.rc != 0, run.stderr
    assert "ec2 in us-east-1, default credentials: NoCredentialsError" in run.stderr
    assert "set on_source_error: warn" in run.stderr


@pytest.mark.parametrize("options,fragments", [
    ({"sources": {"onprem": {"files": [os.path.join(FIXTURES, "bad_cmdb.csv")]}}},
     ["%s line 3, field 'port': 'twenty-two' is not a port number (1-65535)" % os.path.join(FIXTURES, "bad_cmdb.csv")]),
    ({"sources": {"onprem": {"files": ["onprem_hosts.yml"]}}, "regions": ["us-east-1"]},
     ["'regions' is an amazon.aws.aws_ec2 option; here write sources.ec2.regions: [\"us-east-1\"]"]),
    ({"sources": {"ec2": {"regions": ["us-east-1"], "assume_role": ROLE_A}}},
     ["sources.ec2: unknown option 'assume_role' (did you mean 'assume_roles'?)"]),
])
def test_bad_input_is_an_error_that_names_it(tmp_path, options, fragments):
    run = inventory(write_config(tmp_path, **options), check=False)
    assert run.rc != 0
    for fragment in fragments:
        assert fragment in run.stderr


def test_cache_hit_refresh_and_expiry(tmp_path, moto):
    launch(None, "eu-west-1", {"Name": "cached-1", "Suite": "cache"})
    config = write_config(tmp_path, sources={"ec2": {"regions": ["eu-west-1"], "endpoint_url": ENDPOINT,
                                                     "filters": {"tag:Suite": "cache"}}},
                          cache=True, cache_plugin="ansible.builtin.jsonfile", cache_timeout=3,
                          cache_connection=str(tmp_path / "cache"))

    def names(*extra):
        return sorted(hostvars(inventory(config, *extra).data))

    assert names() == ["cached-1"]
    started = time.time()
    launch(None, "eu-west-1", {"Name": "cached-2", "Suite": "cache"})
    assert names() == ["cached-1"]                       # hit: AWS not asked
    assert names("--flush-cache") == ["cached-1", "cached-2"]
    refreshed = time.time()
    launch(None, "eu-west-1", {"Name": "cached-3", "Suite": "cache"})
    assert names() == ["cached-1", "cached-2"]           # hit again
    assert time.time() - started < 10
    time.sleep(max(0.0, refreshed + 3.5 - time.time()))
    assert names() == ["cached-1", "cached-2", "cached-3"]  # expired: asked again


def test_demo_config_gives_what_the_aws_ec2_demo_gives(tmp_path, moto):
    """The demo fleet seeded by tools/seed_aws.py, read by the demo's config (inventories/demo) and by the
    amazon.aws.aws_ec2 config the demo used before (inventory_fixtures/demo.aws_ec2.yml)."""
    fleet = tmp_path / "fleet.json"
    ports = {"fp1": 2201, "fp2": 2202, "fp3": 2203, "el1": 2204}
    fleet.write_text(json.dumps([{"name": name, "port": port} for name, port in ports.items()]))
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
               AWS_ENDPOINT_URL=ENDPOINT)
    subprocess.run([os.path.join(VENV_BIN, "python"), os.path.join(ROOT, "tools", "seed_aws.py"),
                    os.path.join(ROOT, "tools", "demo_fleet.json"), str(fleet)], env=env, check=True, capture_output=True)
    peer = tmp_path / "demo.aws_ec2.yml"
    peer.write_text(open(os.path.join(FIXTURES, "demo.aws_ec2.yml")).read().replace(":5000", ":%d" % PORT))
    demo = open(os.path.join(ROOT, "inventories", "demo", "demo.patch_groups.yml")).read().replace(":5000", ":%d" % PORT)
    ours = write_config(tmp_path, "demo.patch_groups.yml", **yaml.safe_load(demo))
    theirs = inventory(str(peer)).data
    run = inventory(ours)
    mine = run.data
    assert "WARNING" not in run.stderr
    their_vars, my_vars = hostvars(theirs), hostvars(mine)
    assert sorted(my_vars) == sorted(their_vars)
    assert {"db-prod-1", "web-dev-1", "web-prod-1"} <= set(my_vars)
    groups = sorted(g for g in theirs if g.startswith(("patch_group_", "env_")))
    assert {"patch_group_web_dev", "patch_group_web_prod", "patch_group_db_prod", "env_dev", "env_prod"} <= set(groups)
    for group in groups:
        assert hosts_of(mine, group) == hosts_of(theirs, group), group
    keys = ("fleetpatch_patch_group", "fleetpatch_environment", "fleetpatch_owner", "fleetpatch_window",
            "fleetpatch_instance_id", "fleetpatch_source", "ansible_host", "ansible_port")
    for host in their_vars:
        assert {k: my_vars[host][k] for k in keys} == {k: their_vars[host][k] for k in keys}, host
        assert my_vars[host]["ansible_connection"] == "ssh"
    assert len(my_vars["web-dev-1"]) < len(their_vars["web-dev-1"]) / 2


# --------------------------------------------------------------------------- SSM, in-process with a Stubber


@pytest.fixture
def collection_loader():
    """Ansible's collection loader, as ansible-inventory sets it up (modules imported as a plain package
    by other test modules are set aside meanwhile)."""
    from ansible.plugins.loader import init_plugin_loader
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    saved = {k: v for k, v in sys.modules.items() if k == "ansible_collections" or k.startswith("ansible_collections.")}
    for name in saved:
        del sys.modules[name]
    init_plugin_loader([os.path.join(ROOT, ".cache", "collections")])
    yield importlib.import_module("ansible_collections.fleetpatch.hybrid.plugins.module_utils.aws")
    _AnsibleCollectionFinder._remove()
    for name in [k for k in sys.modules if k == "ansible_collections" or k.startswith("ansible_collections.")]:
        del sys.modules[name]
    sys.modules.update(saved)


def ssm_answers(fleet):
    """DescribeInstanceInformation items per region: an EC2 instance, a mi- node on-prem knows, a mi- node alone."""
    linux = {"PingStatus": "Online", "AgentVersion": "3.3.1142.0", "PlatformType": "Linux"}
    return {
        "us-east-1": [
            dict(linux, InstanceId=fleet["web-1/us"], PlatformName="Amazon Linux", PlatformVersion="2023",
                 ResourceType="EC2Instance", ComputerName="ip-10-0-0-1.ec2.internal", IPAddress="10.0.0.1"),
            dict(linux, InstanceId=MI_DB, PlatformName="Red Hat Enterprise Linux", PlatformVersion="9.4",
                 ResourceType="ManagedInstance", ComputerName="DB-ONPREM-1.corp.example.com", IPAddress="10.20.0.11",
                 Name="db-onprem-1")],
        "eu-west-1": [
            {"InstanceId": MI_ALONE, "PingStatus": "ConnectionLost", "AgentVersion": "3.2.0", "PlatformType": "Windows",
             "PlatformName": "Microsoft Windows Server 2022 Datacenter", "PlatformVersion": "10.0.20348",
             "ResourceType": "ManagedInstance", "ComputerName": "FILESRV01", "IPAddress": "10.40.0.9", "Name": "filesrv01"}],
    }


def test_ssm_source_end_to_end_with_stubbed_ssm(tmp_path, fleet, collection_loader, monkeypatch):
    from ansible import constants as C
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.utils.display import Display

    aws = collection_loader
    real_client = aws.client
    stubs = []

    def client(session, service, region, endpoint_url=None, **kwargs):
        made = real_client(session, service, region, endpoint_url, **kwargs)
        if service != "ssm":
            return made                                   # EC2 and STS: the moto server
        stub = Stubber(made)
        assert session.get_credentials().access_key != "testing", "SSM is asked with the role's credentials"
        items = ssm_answers(fleet)
        first, rest = items[region][:1], items[region][1:]
        stub.add_response("describe_instance_information",
                          dict({"InstanceInformationList": first}, **({"NextToken": "page2"} if rest else {})),
                          {"MaxResults": 50})
        if rest:
            stub.add_client_error("describe_instance_information", "ThrottlingException", "Rate exceeded", 400,
                                  expected_params={"MaxResults": 50, "NextToken": "page2"})
            stub.add_response("describe_instance_information", {"InstanceInformationList": rest},
                              {"MaxResults": 50, "NextToken": "page2"})
        stub.activate()
        stubs.append(stub)
        return made

    monkeypatch.setattr(aws, "client", client)
    monkeypatch.setattr(aws, "_sleep", lambda seconds: None)
    warnings = []
    monkeypatch.setattr(Display, "warning", lambda self, msg, *a, **k: warnings.append(msg))
    monkeypatch.setattr(C, "INVENTORY_ENABLED", ["fleetpatch.hybrid.patch_groups"])
    monkeypatch.setattr(C, "INVENTORY_ANY_UNPARSED_IS_FAILED", True)
    config = write_config(tmp_path, sources={
        "ec2": dict(FLEET_SOURCES["ec2"], assume_roles=[ROLE_A]),
        "ssm": {"include_onprem": True},
        "onprem": {"files": [os.path.join(FIXTURES, "onprem_hosts.yml")]}}, hostnames=["tag:Name", "instance-id"])
    manager = InventoryManager(DataLoader(), sources=[config])
    for stub in stubs:
        stub.assert_no_pending_responses()
    assert len(stubs) == 2
    assert len(warnings) == 2 and "Patch Group values 'Web-Prod', 'web-prod' all make group patch_group_web_prod" in warnings[1]
    assert warnings[0] == ("fleetpatch.hybrid.patch_groups: host name web-1 is wanted by 2 machines; named "
                           + ", ".join(sorted(["web-1_" + fleet["web-1/us"], "web-1_" + fleet["web-1/eu"]])))
    names = sorted(manager.hosts)
    assert names == sorted(["db-1", "web-2", "web-1_" + fleet["web-1/us"], "web-1_" + fleet["web-1/eu"], "filesrv01",
                            "db-onprem-1", "win-onprem-1", "lab-1"])
    web = manager.get_host("web-1_" + fleet["web-1/us"]).get_vars()
    assert (web["fleetpatch_sources"], web["fleetpatch_os_family"], web["fleetpatch_ssm_ping_status"],
            web["ansible_connection"]) == (["ec2", "ssm"], "redhat", "Online", "ssh")
    db = manager.get_host("db-onprem-1").get_vars()                      # on-prem + mi- node, joined by FQDN
    got = [db[k] for k in ("fleetpatch_sources", "fleetpatch_instance_id", "fleetpatch_os_version", "fleetpatch_account_id",
                           "fleetpatch_patch_group", "ansible_connection")]
    assert got == [["ssm", "onprem"], MI_DB, "9.4", "111111111111", "db-prod", "ssh"]
    alone = manager.get_host("filesrv01").get_vars()                     # mi- node only: through SSM
    assert {k: alone[k] for k in ("ansible_connection", "ansible_aws_ssm_instance_id", "ansible_aws_ssm_region",
                                  "ansible_shell_type", "fleetpatch_platform", "fleetpatch_region")} == {
        "ansible_connection": "amazon.aws.aws_ssm", "ansible_aws_ssm_instance_id": MI_ALONE,
        "ansible_aws_ssm_region": "eu-west-1", "ansible_shell_type": "powershell", "fleetpatch_platform": "windows",
        "fleetpatch_region": "eu-west-1"}
    assert sorted(h.name for h in manager.groups["source_ssm"].get_hosts()) == sorted(
        ["db-onprem-1", "filesrv01", "web-1_" + fleet["web-1/us"]])
    assert sorted(h.name for h in manager.groups["patch_group_unassigned"].get_hosts()) == ["filesrv01", "lab-1"]
