# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: patch_groups
short_description: The hybrid fleet (EC2, SSM managed instances, on-prem lists), grouped by Patch Group
version_added: 0.1.0
author:
  - fleetpatch.hybrid developers (@fleetpatch)
description:
  - One inventory of the whole hybrid fleet, from EC2 instances, SSM managed instances (hybrid C(mi-)
    nodes included) and on-prem host lists (YAML or CSV files), with one host per machine.
  - The configuration file name must end in C(patch_groups.yml) or C(patch_groups.yaml).
  - "Groups: C(patch_group_<slug>) (the O(unassigned_group) for hosts without a patch group), C(env_<slug>),
    C(window_<slug>), C(os_<family>), C(platform_linux) / C(platform_windows) / C(platform_macos), and
    C(source_ec2) / C(source_ssm) / C(source_onprem) (a merged host is in each group of its sources)."
  - "Slugs are lower case ASCII letters, digits and C(_) (C(web-prod) gives C(patch_group_web_prod)). Two
    different values never share a group: when two values give the same slug (C(web-prod) and C(Web-Prod)),
    the lower case one (then the first in sort order) keeps it, the other gets the slug plus a hash of its
    value (C(patch_group_web_prod_1a2b3c)), and a warning names both. Characters outside ASCII that are not
    accents also add that hash."
  - "Tags read on EC2 instances: C(Patch Group) (or O(patch_group_tag), falling back to C(PatchGroup)) sets
    C(fleetpatch_patch_group); C(Environment) sets C(fleetpatch_environment); C(Owner) sets C(fleetpatch_owner);
    C(MaintenanceWindow) sets C(fleetpatch_window); C(Name) is the host name with the default O(hostnames)."
  - "Host variables (a variable is left out when its value is unknown): C(fleetpatch_patch_group),
    C(fleetpatch_environment), C(fleetpatch_owner), C(fleetpatch_window), C(fleetpatch_source) (ec2, ssm or onprem:
    the first of ec2, onprem, ssm that knows the host), C(fleetpatch_sources) (all of them), C(fleetpatch_instance_id),
    C(fleetpatch_region), C(fleetpatch_account_id), C(fleetpatch_platform), C(fleetpatch_os_family) (as Ansible's
    os family, lower case: debian, redhat, suse, windows, darwin), C(fleetpatch_os_version),
    C(fleetpatch_snapshot_provider) (ec2 for EC2 instances, else the on-prem value, default package_state),
    C(fleetpatch_ssm_ping_status), C(fleetpatch_ssm_agent_version), and for a host found through an O(sources.ec2.assume_roles)
    entry C(fleetpatch_aws_role_arn), C(fleetpatch_aws_external_id), C(fleetpatch_aws_role_session_name)."
  - "Connection: C(ansible_connection) is C(ssh) (Linux) or C(winrm) (Windows, C(ansible_port) 5986) to
    C(ansible_host), or C(amazon.aws.aws_ssm) for SSM nodes that have no other source, or for every SSM managed
    host with O(connection.prefer=ssm) (with C(ansible_aws_ssm_instance_id), C(ansible_aws_ssm_region), and
    C(ansible_aws_ssm_bucket_name) when set). An on-prem file can set connection, port and user per host."
  - "One host per machine: EC2 and SSM join on the instance id; an on-prem entry joins the machine of its
    C(instance_id), else the SSM C(mi-) node whose ComputerName equals its fqdn or name, else whose IP address
    equals its ip. When several machines want one host name, an on-prem host keeps it and each cloud machine
    becomes C(<name>_<instance id>), with a warning."
  - "For O(compose), O(groups) and O(keyed_groups), each host's variables are the host variables above plus
    C(tags), a dictionary of its EC2 tags and on-prem C(tags) (not stored as a host variable unless composed)."
  - All values that come from AWS or from files are marked unsafe, so they are never templated.
  - Regions and accounts are queried in parallel, with one paginated call per service, region and account and
    no call per host. Throttling, server errors (5xx) and connection errors are retried with exponential backoff
    and full jitter (as many attempts as the standard AWS setting C(AWS_MAX_ATTEMPTS) says, default 6).
  - A region, account or role that fails (credentials, permissions, endpoint) fails the whole parse with a message
    naming each failure, so an AWX inventory sync or a playbook never goes on with a fleet that silently shrank.
    With O(on_source_error=warn) it is a warning instead and the rest of the fleet is listed. Results with a failure
    are not cached.
  - "Options of C(amazon.aws.aws_ec2) that users carry over are accepted where they mean the same here
    (O(sources.ec2.include_filters), O(sources.ec2.exclude_filters), the mapping form of O(hostnames)); the others
    (C(iam_role_arn), C(hostvars_prefix), C(hostvars_suffix), C(strict_permissions), a top-level C(regions) or
    C(filters), ...) are errors naming what to write instead."
  - A malformed on-prem file is an error that names the file, the line and the field. An unknown option, here
    or within O(sources) or O(connection), is an error.
  - With O(cache), only the AWS answers are cached (on-prem files are read every time); changing O(sources)
    or the credentials options invalidates the cache.
requirements:
  - boto3 >= 1.34 and botocore >= 1.34 (for the ec2 and ssm sources)
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin; it identifies the file as its configuration.
    required: true
    type: str
    choices: [fleetpatch.hybrid.patch_groups]
  patch_group_tag:
    description:
      - The EC2 tag whose value is the patch group. When an instance lacks it, C(PatchGroup) is read.
      - SSM patch groups use C(Patch Group) (or C(PatchGroup) when tags are in instance metadata).
    type: str
    default: Patch Group
  sources:
    description: Where the fleet comes from; at least one source. Sources not listed are not queried.
    type: dict
    required: true
    suboptions:
      ec2:
        description: EC2 instances (C(DescribeInstances)).
        type: dict
        suboptions:
          regions:
            description: Regions to query. Default is every region C(DescribeRegions) lists for the account.
            type: list
            elements: str
          filters:
            description:
              - EC2 filters, name to value or list of values
                (U(https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstances.html)).
              - Setting filters replaces the default; keep C(instance-state-name) if you want it.
            type: dict
            default: {instance-state-name: [running]}
          include_filters:
            description:
              - More filter sets, as in C(amazon.aws.aws_ec2); instances matching any of them are added to those
                O(sources.ec2.filters) finds. Each set is one more C(DescribeInstances) call per region and account.
            type: list
            elements: dict
            default: []
          exclude_filters:
            description:
              - Filter sets, as in C(amazon.aws.aws_ec2); instances matching any of them are left out, whatever
                O(sources.ec2.filters) and O(sources.ec2.include_filters) found.
            type: list
            elements: dict
            default: []
          assume_roles:
            description:
              - IAM roles to assume, one per account (C(arn:aws:iam::<account>:role/<name>)). Each account's
                regions are queried with that role's credentials. Without it, the default credentials are used.
              - An entry is a role ARN, or a mapping with C(role_arn) and optionally C(external_id) and
                C(session_name) when the role's trust policy asks for them.
              - Each host found through a role gets C(fleetpatch_aws_role_arn) (and C(fleetpatch_aws_external_id),
                C(fleetpatch_aws_role_session_name)), so every AWS call about it during the night - snapshots,
                restores, SSM agent checks - runs in its own account. Group vars may override them.
            type: list
            elements: raw
          endpoint_url:
            description: Endpoint for the EC2 and STS calls of this source (a local AWS for tests).
            type: str
      ssm:
        description: SSM managed instances (C(DescribeInstanceInformation)), EC2 instances and hybrid C(mi-) nodes.
        type: dict
        suboptions:
          regions:
            description: Regions to query. Default is O(sources.ec2.regions), else every region.
            type: list
            elements: str
          include_onprem:
            description: Include hybrid managed nodes (C(mi-) ids, activated on-prem servers and VMs).
            type: bool
            default: true
          filters:
            description:
              - C(DescribeInstanceInformation) filters, key to value or list of values (for example
                C(PingStatus), C(PlatformTypes), C(tag:Patch Group)).
            type: dict
          assume_roles:
            description: As O(sources.ec2.assume_roles). Default is O(sources.ec2.assume_roles); V([]) for none.
            type: list
            elements: raw
          endpoint_url:
            description: Endpoint for the SSM and STS calls of this source. Default is O(sources.ec2.endpoint_url).
            type: str
      onprem:
        description: On-prem host lists.
        type: dict
        suboptions:
          files:
            description:
              - YAML (C(.yml)/C(.yaml)) or CSV (C(.csv)) files. A relative path is looked up next to this
                configuration file, then in the current directory.
              - "YAML: C(hosts:) a list of hosts, and C(defaults:) values for every host of the file. CSV: a
                header row of field names, one host per row, C(tag:<Key>) columns for tags."
              - "Fields: C(name) (required, the host name), C(address) (ansible_host; default fqdn, ip, then name),
                C(fqdn), C(ip), C(instance_id) (C(mi-) or C(i-) id), C(patch_group), C(environment), C(owner),
                C(window), C(platform) (linux, windows, macos), C(os_family), C(os_version), C(snapshot_provider)
                (ec2, vmware, lvm, package_state, none), C(connection) (ssh, winrm, psrp, aws_ssm), C(port),
                C(user), C(tags)."
            type: list
            elements: path
            required: true
  hostnames:
    description:
      - Host name of an EC2 or SSM-only host, the first of these that has a value (else the instance id).
        On-prem hosts are named by their C(name) field.
      - "Entries: C(tag:<Key>), C(instance-id), C(private-dns-name), C(private-ip-address), C(public-dns-name),
        C(public-ip-address), C(dns-name), C(ip-address), C(name), C(computer-name). For SSM-only nodes
        C(tag:Name) and C(name) read the node's registration name, C(private-dns-name) its ComputerName and
        C(private-ip-address) its IP address."
      - "An entry may also be a mapping as in C(amazon.aws.aws_ec2): C({name: tag:Name, prefix: tag:Environment,
        separator: '-'}) names the host C(<prefix value><separator><name value>) (separator default C(_)); without
        a prefix value, the name value alone."
    type: list
    elements: raw
    default: [tag:Name, private-dns-name, instance-id]
  unassigned_group:
    description: Group of the hosts that have no patch group, so no host is lost.
    type: str
    default: patch_group_unassigned
  connection:
    description: How Ansible reaches the hosts.
    type: dict
    default: {}
    suboptions:
      prefer:
        description:
          - V(network) connects with ssh or winrm to C(ansible_host); SSM-only nodes use C(amazon.aws.aws_ssm).
          - V(ssm) uses C(amazon.aws.aws_ssm) for every host SSM manages.
        type: str
        choices: [network, ssm]
        default: network
      ec2_address:
        description: The EC2 address used as C(ansible_host) (falling back to another one the instance has).
        type: str
        choices: [private-ip-address, public-ip-address, private-dns-name, public-dns-name]
        default: private-ip-address
      ssm_bucket_name:
        description: S3 bucket the C(amazon.aws.aws_ssm) connection uses for file transfers.
        type: str
      winrm_port:
        description:
          - WinRM (and PSRP) port of Windows hosts, HTTPS. Set as a variable of the C(platform_windows) group, with
            C(ansible_winrm_scheme=https), C(ansible_winrm_transport), C(ansible_winrm_server_cert_validation) and
            their C(ansible_psrp_*) twins, so group_vars override any of them. An on-prem C(port) wins for its host.
        type: int
        default: 5986
      winrm_transport:
        description: WinRM authentication (C(ansible_winrm_transport)); V(kerberos) for domain members (see docs/windows_hosts.md).
        type: str
        choices: [ntlm, kerberos, credssp, certificate, basic]
        default: ntlm
      winrm_server_cert_validation:
        description: Check the host's WinRM certificate (C(ansible_winrm_server_cert_validation)). Keep V(validate).
        type: str
        choices: [validate, ignore]
        default: validate
      winrm_ca_trust_path:
        description: CA bundle that signed the hosts' WinRM certificates (C(ansible_winrm_ca_trust_path)); default the system's.
        type: str
  on_source_error:
    description:
      - V(fail) (default) makes a failing region, account or role (credentials, permissions, endpoint) fail the
        parse, naming each failure; with AWX's C(ANSIBLE_INVENTORY_UNPARSED_FAILED) (set for every inventory sync)
        or C(unparsed_is_failed) the sync or the playbook stops there.
      - V(warn) lists the rest of the fleet and warns about each failure (the opt-out, for a fleet where some
        account may be unreachable at times); the missing hosts are not patched that night.
    type: str
    choices: [fail, warn]
    default: fail
  access_key:
    description: AWS access key id. Default is the usual AWS credential chain (environment, profile, instance role).
    type: str
  secret_key:
    description: AWS secret access key (prefer the environment or a profile to a key in a file).
    type: str
  session_token:
    description: AWS session token.
    type: str
  profile:
    description: AWS profile of the shared config and credentials files.
    type: str
notes:
  - Inventory plugins are tried in the order of the C(enable_plugins) setting; list C(fleetpatch.hybrid.patch_groups)
    there. Set C(any_unparsed_is_failed) (C(ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED)) to make a failed
    inventory stop the run rather than leave it empty.
  - The inventory reference with worked examples is C(docs/inventory.md) in this collection.
  - The C(amazon.aws.aws_ssm) connection needs the C(amazon.aws) collection and the session manager plugin on
    the controller.
"""

EXAMPLES = r"""
# prod.patch_groups.yml: two accounts, two regions, SSM hybrid nodes and a CMDB export
plugin: fleetpatch.hybrid.patch_groups
sources:
  ec2:
    regions: [us-east-1, eu-west-1]
    filters: {instance-state-name: running}
    assume_roles:
      - arn:aws:iam::111111111111:role/patching
      - arn:aws:iam::222222222222:role/patching
  ssm:
    include_onprem: true
  onprem:
    files: [onprem/hosts.yml, onprem/cmdb.csv]
hostnames: [tag:Name, private-dns-name, instance-id]
strict: false
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: /var/cache/fleetpatch/inventory
cache_timeout: 600
keyed_groups:
  - key: fleetpatch_account_id
    prefix: account

---
# a local AWS (moto) where each instance stands for a host on 127.0.0.1
plugin: fleetpatch.hybrid.patch_groups
access_key: testing
secret_key: testing
sources:
  ec2:
    regions: [us-east-1]
    endpoint_url: http://127.0.0.1:5000
hostnames: [tag:Name]
compose:
  ansible_host: "'127.0.0.1'"
  ansible_port: tags.LocalFleetPort | int
"""

import gc
import gzip
import hashlib
import json
import os
import threading

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.unsafe_proxy import wrap_var

try:  # ansible-core >= 2.19 (data tagging)
    from ansible.template import trust_as_template as _data_tagging
except ImportError:
    _data_tagging = None

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import inventory as inv
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.collector import collector

# 2: the AWS records as one compact JSON text (decoded by json.loads, not by the cache plugin's profile)
CACHE_FORMAT = 2
SESSION_NAME = "fleetpatch-inventory"
MAX_WORKERS = 16
# timestamps are not read; DescribeInstances answers are streamed for the few fields kept
SESSION_OPTIONS = {"raw_timestamps": True, "readers": {"DescribeInstancesResult": inv.parse_describe_instances}}
SETTINGS_OPTIONS = ("patch_group_tag", "sources", "hostnames", "unassigned_group", "connection")
# ansible-core >= 2.19 templates only strings tagged trusted: a plain str (no tags; what boto3, JSON
# and our YAML loader return) is already unsafe, and wrap_var would only copy it. Older cores need it.
UNTAGGED_IS_UNSAFE = _data_tagging is not None


PLAIN_SCALARS = (str, int)


def make_unsafe(value):
    """The value marked unsafe (never templated), cheaply for the common case of a plain string."""
    if UNTAGGED_IS_UNSAFE:
        cls = value.__class__
        # exactly str or int: a tagged value is a subclass
        if cls in PLAIN_SCALARS or (cls is list and all(item.__class__ in PLAIN_SCALARS for item in value)):
            return value
    return wrap_var(value)


def _trusted_words():
    """{var: {word: the value handed to Ansible}} for the words of inv.VOCABULARY: one trusted string per word,
    shared by every host (on cores without data tagging a plain string is already trusted)."""
    shared = {}
    table = {}
    for var, words in inv.VOCABULARY.items():
        table[var] = {word: shared.setdefault(word, _data_tagging(word) if _data_tagging else word) for word in words}
    return table


TRUSTED_WORDS = _trusted_words()


def host_variables(host_vars):
    """The host variables as handed to Ansible: a value that is a word of this collection's vocabulary
    (inv.VOCABULARY: fleetpatch_source, platform, connection...) trusted, every other value unsafe."""
    out = {}
    for var, value in host_vars.items():
        words = TRUSTED_WORDS.get(var)
        if words is not None:
            cls = value.__class__
            if cls is str:
                trusted = words.get(value)
                if trusted is not None:
                    out[var] = trusted
                    continue
            elif cls is list and value and all(item.__class__ is str and item in words for item in value):
                out[var] = [words[item] for item in value]
                continue
        out[var] = value if value.__class__ is str and UNTAGGED_IS_UNSAFE else make_unsafe(value)
    return out


# The operations this plugin calls: the service models are trimmed to them (the whole EC2 model holds 24 MiB
# in memory for 830 operations; DescribeInstances and DescribeRegions need a few hundred kB of it).
OPERATIONS = {"ec2": ("DescribeInstances", "DescribeRegions"), "ssm": ("DescribeInstanceInformation",),
              "sts": ("AssumeRole",)}


def trim_service_model(model, operations):
    """The botocore service model (a dict as in service-2.json) with only `operations` and the shapes they
    reach (a new dict sharing the kept parts). Operations the model does not have are skipped."""
    kept_ops = {name: model["operations"][name] for name in operations if name in model["operations"]}
    shapes = model["shapes"]
    kept = {}
    todo = []
    for operation in kept_ops.values():
        todo.extend(ref["shape"] for ref in [operation.get("input"), operation.get("output")]
                    + list(operation.get("errors") or ()) if ref)
    while todo:
        name = todo.pop()
        if name in kept:
            continue
        shape = kept[name] = shapes[name]
        todo.extend(ref["shape"] for ref in (shape.get("members") or {}).values())
        todo.extend(shape[key]["shape"] for key in ("member", "key", "value") if key in shape)
    return dict(model, operations=kept_ops, shapes=kept)


def _without_documentation(pairs):
    """A JSON object as a dict, without its documentation text (most of a service model's text). A member
    that would be named documentation maps to a dict ({"shape": ...}), not to a text, and is kept."""
    obj = dict(pairs)
    if obj.get("documentation").__class__ is str:
        del obj["documentation"]
    return obj


class _LeanJsonFiles(object):
    """botocore's JSONFileLoader (exists, load_file), reading objects as plain dicts without documentation:
    the EC2 model takes a quarter of the memory while it is read (OrderedDicts with every doc string)."""

    OPENERS = ((".json", open), (".json.gz", gzip.open))

    def exists(self, file_path):
        return any(os.path.isfile(file_path + ext) for ext, dummy in self.OPENERS)

    def load_file(self, file_path):
        for ext, opener in self.OPENERS:
            if os.path.isfile(file_path + ext):
                with opener(file_path + ext, "rb") as handle:
                    return json.loads(handle.read().decode("utf-8"), object_pairs_hook=_without_documentation)
        return None


class _LeanModels(object):
    """A botocore data loader: the given one, except that the service models of OPERATIONS are trimmed.

    The whole model is read by a loader of its own that is dropped at once, so it is not kept in memory
    (the shared loader would cache it for the life of the process).
    """

    def __init__(self, loader, loader_class):
        self._loader = loader
        self._loader_class = loader_class
        self._trimmed = {}
        self._lock = threading.Lock()

    def __getattr__(self, name):
        return getattr(self._loader, name)

    def load_service_model(self, service_name, type_name, api_version=None):
        if type_name != "service-2" or service_name not in OPERATIONS:
            return self._loader.load_service_model(service_name, type_name, api_version=api_version)
        with self._lock:
            key = (service_name, api_version)
            if key not in self._trimmed:
                reader = self._loader_class(extra_search_paths=self._loader.search_paths,
                                            include_default_search_paths=False, file_loader=_LeanJsonFiles())
                full = reader.load_service_model(service_name, type_name, api_version=api_version)
                self._trimmed[key] = trim_service_model(full, OPERATIONS[service_name])
            return self._trimmed[key]


def _aws():
    """module_utils.aws, imported when AWS is asked: it loads boto3 (0.2 s, 11 MiB), which a cache hit never needs."""
    from ansible_collections.fleetpatch.hybrid.plugins.module_utils import aws

    return aws


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "fleetpatch.hybrid.patch_groups"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("patch_groups.yml", "patch_groups.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        # Garbage collection. A full collection visits every container object alive: at 10,000 hosts each
        # one costs up to 0.07 s, and an ansible-inventory --list runs about a dozen. So:
        # - while the inventory is built (cache read, build, populate) the collector is paused: nothing
        #   made there is a reference cycle, reference counting frees it (while AWS is asked it runs as
        #   it did, as botocore leaves cycles behind);
        # - at the end every object alive is moved to the permanent generation (gc.freeze), which later
        #   collections skip: the inventory, ansible-core's loaded plugins and configuration live as long
        #   as the process in ansible-inventory and ansible-playbook alike (and forked workers share a
        #   frozen heap better). The cost: a cycle that is already garbage then is kept until
        #   gc.unfreeze(), hence a collection first when AWS was asked (the cache hit skips it);
        # - a parse that finds frozen objects (meta: refresh_inventory, a second inventory source) first
        #   unfreezes them and collects, so the inventory it replaces (hosts and groups refer to each
        #   other: a cycle) is freed, not frozen again. A failed parse freezes nothing.
        if gc.get_freeze_count():
            gc.unfreeze()
            gc.collect()
        self._collecting = gc.isenabled()
        self._asked_aws = False
        with collector(False):
            self._parse(inventory, loader, path, cache)
        if self._asked_aws and self._collecting:
            gc.collect()
        gc.freeze()

    def _parse(self, inventory, loader, path, cache):
        super().parse(inventory, loader, path, cache=cache)
        config = self._read_config_data(path)
        try:
            inv.check_carried_over(config, os.path.basename(path))
            inv.check_unknown(config, self._known_options(), os.path.basename(path))
            settings = inv.validate_settings({name: self.get_option(name) for name in SETTINGS_OPTIONS})
            onprem = self._read_onprem(settings, path)
        except (inv.InventoryConfigError, inv.OnpremError) as exc:
            raise AnsibleParserError("%s: %s" % (self.NAME, exc))
        remote = self._remote(settings, path, cache)
        failures = remote.get("failures", [])
        if failures and (self.get_option("strict") or self.get_option("on_source_error") != "warn"):
            raise AnsibleParserError(
                "%s: %d source(s) failed, so the inventory would miss their hosts: %s. Fix the credentials or "
                "permissions named, or set on_source_error: warn to list the rest of the fleet anyway"
                % (self.NAME, len(failures), "; ".join(failures)))
        for failure in failures:
            self.display.warning("%s: %s; its hosts are missing from this inventory, the rest is listed"
                                 % (self.NAME, failure))
        coverage = frozenset(tuple(item) for item in remote["coverage"])
        built = inv.build(remote["ec2"], remote["ssm"], onprem, settings, coverage)
        self._connection_settings = settings["connection"]
        for warning in built.warnings:
            self.display.warning("%s: %s" % (self.NAME, warning))
        self._populate(built)

    def _known_options(self):
        known = {"plugin"}
        for name, definition in self.option_definitions.items():
            known.add(name)
            known.update(definition.get("aliases") or ())
        return known

    def _read_onprem(self, settings, path):
        if not settings["onprem"]:
            return []
        config_dir = os.path.dirname(os.path.abspath(path))
        paths = [inv.resolve_path(name, config_dir, os.getcwd()) for name in settings["onprem"]["files"]]
        return inv.load_onprem_files(paths)

    # ------------------------------------------------------------------ AWS, cached

    def _remote(self, settings, path, cache):
        empty = {"ec2": [], "ssm": [], "coverage": [], "failures": []}
        if not settings["ec2"] and not settings["ssm"]:
            return empty
        fingerprint = hashlib.sha256(json.dumps(
            [CACHE_FORMAT, settings["ec2"], settings["ssm"], self.get_option("access_key"), self.get_option("profile")],
            sort_keys=True).encode()).hexdigest()
        key = self.get_cache_key(path)
        if self.get_option("cache") and cache:
            try:
                cached = self._cache[key]
            except KeyError:
                cached = None
            if (isinstance(cached, dict) and cached.get("format") == CACHE_FORMAT
                    and cached.get("fingerprint") == fingerprint and isinstance(cached.get("records"), str)):
                try:
                    return json.loads(cached["records"])
                except ValueError:  # a damaged entry: ask AWS again
                    pass
        aws = _aws()
        self._asked_aws = True
        try:
            with collector(self._collecting):
                fetched = _Fetcher(settings, self._credentials()).run()
        except aws.AwsError as exc:  # no session at all (boto3 missing, unknown profile)
            raise AnsibleParserError("%s: %s" % (self.NAME, exc))
        if self.get_option("cache") and not fetched["failures"]:
            # one string: the cache plugin stores it as it is, and json.loads reads it back several times
            # faster than the cache plugin's own decoding of 20,000 records (which visits every value)
            self._cache[key] = {"format": CACHE_FORMAT, "fingerprint": fingerprint,
                                "records": json.dumps(fetched, separators=(",", ":"))}
        return fetched

    def _credentials(self):
        return {name: self.get_option(name) for name in ("access_key", "secret_key", "session_token", "profile")}

    # ------------------------------------------------------------------ inventory

    def _populate(self, built):
        inventory = self.inventory
        for group in sorted(built.groups):
            inventory.add_group(group)
        compose = self.get_option("compose")
        groups = self.get_option("groups")
        keyed_groups = self.get_option("keyed_groups")
        strict = self.get_option("strict")
        constructed = compose or groups or keyed_groups
        hosts = inventory.hosts
        for name, host_vars, tags in built.hosts:
            inventory.add_host(name)
            safe = host_variables(host_vars)
            if UNTAGGED_IS_UNSAFE:
                # What set_variable does for these values (plain or trusted str, int, list of str; no
                # mappings to merge, valid names), without ansible-core >= 2.19's per-value visit: that visit
                # copies and tags every value with its origin, costs 0.1 ms per host here and makes every
                # later lookup and dump of the value slower. Plain values stay untrusted (never templated).
                hosts[name].vars.update(safe)
            else:
                for var, value in safe.items():
                    inventory.set_variable(name, var, value)
            if constructed:
                variables = dict(safe, tags=make_unsafe(tags))
                self._set_composite_vars(compose, variables, name, strict=strict)
                self._add_host_to_composed_groups(groups, variables, name, strict=strict)
                self._add_host_to_keyed_groups(keyed_groups, variables, name, strict=strict)
        for group, members in built.groups.items():
            for name in members:
                inventory.add_child(group, name)
        if "platform_windows" in built.groups:
            for var, value in inv.windows_group_vars(self._connection_settings).items():
                inventory.set_variable("platform_windows", var, value)


class _Fetcher(object):
    """The EC2 and SSM records of every account and region: roles assumed, then all calls, in parallel."""

    def __init__(self, settings, credentials):
        self.aws = aws = _aws()
        self.models = None
        self.settings = settings
        self.base = self._lean(aws.new_session(**dict(credentials, **SESSION_OPTIONS)))
        self.attempts = aws.max_attempts(self.base)
        self.failures = []

    def run(self):
        from concurrent.futures import ThreadPoolExecutor  # here: a cache hit does not need it (20 ms to import)

        sources = [(name, self.settings[name]) for name in ("ec2", "ssm") if self.settings[name]]
        self.role_options = dict(item for dummy, src in sources for item in src.get("role_options", {}).items())
        accounts = sorted({(role, src["endpoint_url"], self._home(src)) for dummy, src in sources
                           for role in (src["assume_roles"] or [None])}, key=lambda k: [str(x) for x in k])
        with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, max(1, len(accounts)))) as pool:
            sessions = dict(zip(accounts, pool.map(self._session, accounts), strict=True))
        jobs = []
        for name, src in sources:
            for role in src["assume_roles"] or [None]:
                session = sessions[(role, src["endpoint_url"], self._home(src))]
                if session is not None:
                    jobs.append((name, src, role, session))
        with ThreadPoolExecutor(max_workers=MAX_WORKERS) as pool:
            expanded = list(pool.map(self._regions, jobs))
            calls = [(name, src, role, session, region)
                     for (name, src, role, session), regions in zip(jobs, expanded, strict=True) for region in regions]
            results = list(pool.map(self._call, calls))
        out = {"format": CACHE_FORMAT, "ec2": [], "ssm": [], "coverage": [], "failures": sorted(self.failures)}
        for (name, src, role, _session, region), records in zip(calls, results, strict=True):
            if records is None:
                continue
            if role:
                # the role each machine was found through: the night's AWS calls about it use it too
                extra = {"role_arn": role}
                for key, value in (src["role_options"].get(role) or {}).items():
                    if value:
                        extra["role_" + key] = value
                for record in records:
                    record.update(extra)
            out[name].extend(records)
            if name == "ec2":
                out["coverage"].append([self.aws.role_account(role) if role else None, region])
        return out

    def _lean(self, session):
        """The session, its clients made from trimmed service models (one set for all sessions)."""
        import botocore.loaders

        core = session._session  # boto3 keeps its botocore session there (module_utils.aws reads it too)
        if self.models is None:
            self.models = _LeanModels(core.get_component("data_loader"), botocore.loaders.Loader)
        core.register_component("data_loader", self.models)
        return session

    @staticmethod
    def _home(src):
        return (src["regions"] or [None])[0] or "us-east-1"

    def _label(self, role):
        if role is None:
            return "default credentials"
        return "account %s (role %s)" % (self.aws.role_account(role), role)

    def _session(self, key):
        role, endpoint_url, region = key
        if role is None:
            return self.base
        try:
            options = self.role_options.get(role) or {}
            return self._lean(self.aws.assume_role(self.base, role, options.get("session_name") or SESSION_NAME, region,
                                                   endpoint_url, external_id=options.get("external_id"),
                                                   **SESSION_OPTIONS))
        except self.aws.AwsError as exc:
            self.failures.append("%s: assuming the role failed: %s" % (self._label(role), exc))
            return None

    def _regions(self, job):
        name, src, role, session = job
        if src["regions"]:
            return src["regions"]
        try:
            client = self.aws.client(session, "ec2", session.region_name or "us-east-1", src["endpoint_url"])
            answer = self.aws.call(client.describe_regions, max_attempts=self.attempts)
        except self.aws.AwsError as exc:
            self.failures.append("%s, %s: listing regions failed: %s" % (name, self._label(role), exc))
            return []
        return sorted(item["RegionName"] for item in answer.get("Regions", []))

    def _instances(self, client, filters, region):
        records = []
        for page in self.aws.paginate(client.describe_instances, "Reservations", max_attempts=self.attempts,
                                      Filters=filters, MaxResults=1000):
            records.extend(inv.ec2_records(page, region))
        return records

    def _call(self, item):
        name, src, role, session, region = item
        try:
            if name == "ec2":
                client = self.aws.client(session, "ec2", region, src["endpoint_url"])
                records = self._instances(client, src["filters"], region)
                if src.get("include_filters") or src.get("exclude_filters"):
                    records = inv.include_exclude(
                        records, [self._instances(client, filters, region) for filters in src["include_filters"]],
                        [self._instances(client, filters, region) for filters in src["exclude_filters"]])
                return records
            client = self.aws.client(session, "ssm", region, src["endpoint_url"])
            params = {"Filters": src["filters"]} if src["filters"] else {}
            account = self.aws.role_account(role) if role else None
            records = []
            for page in self.aws.paginate(client.describe_instance_information, "InstanceInformationList",
                                          max_attempts=self.attempts, MaxResults=50, **params):
                records.extend(inv.ssm_records(page, region, account, src["include_onprem"]))
            return records
        except self.aws.AwsError as exc:
            self.failures.append("%s in %s, %s: %s" % (name, region, self._label(role), exc))
            return None
