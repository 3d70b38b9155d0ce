# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hybrid fleet as Ansible should see it: pure helpers of the patch_groups inventory plugin.

Settings validation, the compact records kept from EC2/SSM answers, on-prem YAML/CSV files,
de-duplication (one host per machine), host names, slugs and groups, host variables.
No Ansible and no boto3 import: the plugin fetches and populates, this module decides.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import ipaddress
import json
import os
import re
import unicodedata
from xml.parsers import expat

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.aws_roles import EXTERNAL_ID, ROLE_ARN
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.aws_roles import SESSION_NAME as ROLE_SESSION_NAME
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.redact import excerpt, shorten

try:
    import yaml

    _YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
except ImportError:  # PyYAML comes with ansible-core; without it only CSV on-prem files work
    yaml = None
    _YAML_LOADER = object

SOURCE_ORDER = ("ec2", "ssm", "onprem")
DEFAULT_PATCH_GROUP_TAG = "Patch Group"
FALLBACK_PATCH_GROUP_TAG = "PatchGroup"
TAG_ENVIRONMENT = "Environment"
TAG_OWNER = "Owner"
TAG_WINDOW = "MaintenanceWindow"
DEFAULT_EC2_FILTERS = {"instance-state-name": ["running"]}
SNAPSHOT_PROVIDERS = ("ec2", "vmware", "lvm", "package_state", "none")
PLATFORMS = ("linux", "windows", "macos")
SSM_CONNECTION = "amazon.aws.aws_ssm"
CONNECTIONS = {"ssh": "ssh", "winrm": "winrm", "psrp": "psrp", "aws_ssm": SSM_CONNECTION, SSM_CONNECTION: SSM_CONNECTION}
WINRM_PORT = 5986

EC2_NAME_FIELDS = {
    "instance-id": "instance_id", "private-dns-name": "private_dns", "private-ip-address": "private_ip",
    "public-dns-name": "public_dns", "dns-name": "public_dns", "public-ip-address": "public_ip",
    "ip-address": "public_ip",
}
# SSM returns no tags: tag:Name reads the node's registration name, the DNS names its ComputerName.
SSM_NAME_FIELDS = {
    "instance-id": "instance_id", "private-dns-name": "computer_name", "computer-name": "computer_name",
    "private-ip-address": "ip_address", "name": "name", "tag:Name": "name",
}
HOSTNAME_CHOICES = tuple(sorted(set(EC2_NAME_FIELDS) | set(SSM_NAME_FIELDS))) + ("tag:<key>",)
EC2_ADDRESS_CHOICES = ("private-ip-address", "public-ip-address", "private-dns-name", "public-dns-name")

REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
INSTANCE_ID = re.compile(r"^(i|mi)-[0-9a-f]{8,17}$")
GROUP_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?"
FQDN = re.compile(r"^(?=.{1,253}\.?$)%s(?:\.%s)*\.?$" % (_LABEL, _LABEL))

MAX_REPORTED_ERRORS = 20
# Bounds on what an on-prem file may hold (docs/security.md): the whole file, the YAML graph once
# its aliases are expanded, and each value (AWS's own limits: tag key 128, tag value 256 characters;
# a DNS name 253).
MAX_ONPREM_FILE_BYTES = 64 * 1024 * 1024
MAX_ALIAS_VALUES = 100000
MAX_TAG_KEY = 128
MAX_VALUE = 256
MAX_NAME = 253


class InventoryConfigError(ValueError):
    """A bad option: the message names the option and the fix."""


class OnpremError(ValueError):
    """Bad on-prem file content; `problems` holds (file, line, field, message) tuples."""

    def __init__(self, problems):
        self.problems = problems
        super().__init__("; ".join(self._describe(*p) for p in problems))

    @staticmethod
    def _describe(path, line, field, message):
        where = "%s line %s" % (path, line) if line else path
        return "%s, field '%s': %s" % (where, field, message) if field else "%s: %s" % (where, message)


# --------------------------------------------------------------------------- settings


def _fail(where, message):
    raise InventoryConfigError("%s: %s" % (where, message))


def _suggest(word, choices):
    close = difflib.get_close_matches(word, list(choices), n=1)
    return " (did you mean '%s'?)" % close[0] if close else ""


def check_unknown(given, known, where):
    """An InventoryConfigError naming the first unknown key, the closest known one and all of them."""
    for key in given:
        if key not in known:
            _fail(where, "unknown option '%s'%s; valid: %s" % (key, _suggest(str(key), known), ", ".join(sorted(known))))


# Options of amazon.aws.aws_ec2 users carry over, with what to write here instead. Accepted under another
# name: include_filters / exclude_filters (under sources.ec2) and the dict form of hostnames.
AWS_EC2_EQUIVALENTS = {
    "iam_role_arn": "sources.ec2.assume_roles: [%(value)s] (one role per account; sources.ssm uses the same roles "
                    "unless it lists its own)",
    "assume_role_arn": "sources.ec2.assume_roles: [%(value)s] (one role per account; sources.ssm uses the same roles "
                       "unless it lists its own)",
    "regions": "sources.ec2.regions: %(value)s",
    "filters": "sources.ec2.filters: %(value)s",
    "include_filters": "sources.ec2.include_filters: %(value)s (the same meaning: instances matching any of them are "
                       "added to those sources.ec2.filters finds)",
    "exclude_filters": "sources.ec2.exclude_filters: %(value)s (the same meaning: instances matching any of them are "
                       "left out)",
    "hostvars_prefix": "nothing: this plugin's host variables are named fleetpatch_* and the roles and playbooks read "
                       "those names; for copies under other names use compose (compose: {%(value)spatch_group: "
                       "fleetpatch_patch_group})",
    "hostvars_suffix": "nothing: this plugin's host variables are named fleetpatch_* and the roles and playbooks read "
                       "those names; for copies under other names use compose (compose: {patch_group%(value)s: "
                       "fleetpatch_patch_group})",
    "strict_permissions": "on_source_error: %(on_source_error)s (a failing region, account or role fails the parse "
                          "by default)",
    "endpoint_url": "sources.ec2.endpoint_url: %(value)s",
    "aws_access_key": "access_key", "aws_access_key_id": "access_key", "ec2_access_key": "access_key",
    "aws_secret_key": "secret_key", "aws_secret_access_key": "secret_key", "ec2_secret_key": "secret_key",
    "aws_security_token": "session_token", "security_token": "session_token", "aws_session_token": "session_token",
    "aws_profile": "profile", "boto_profile": "profile",
    "use_ssm_inventory": "sources.ssm: {} (SSM managed instances join their EC2 instance as one host)",
    "allow_duplicated_hosts": "nothing: there is one host per machine; hostnames picks its name",
}


def check_carried_over(config, where):
    """An InventoryConfigError for an amazon.aws.aws_ec2 option that this plugin spells differently,
    naming what to write instead (with the user's own value)."""
    for key in config:
        equivalent = AWS_EC2_EQUIVALENTS.get(key)
        if equivalent is None:
            continue
        value = config[key]
        text = equivalent % {"value": json.dumps(value, default=str) if key not in ("hostvars_prefix", "hostvars_suffix")
                             else value, "on_source_error": "warn" if value is False else "fail"}
        _fail(where, "'%s' is an amazon.aws.aws_ec2 option; here write %s" % (key, text))


def _str_list(value, where, pattern=None, what=None):
    if value is None:
        return None
    if isinstance(value, str):
        _fail(where, "expected a list of strings, got %s (write it as [%s])" % (excerpt(value), shorten(value, 80)))
    if not isinstance(value, (list, tuple)):
        _fail(where, "expected a list of strings, got %s" % excerpt(value))
    out = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            _fail(where, "expected non-empty strings, got %s" % excerpt(item))
        if pattern is not None and not pattern.match(item.strip()):
            _fail(where, "%s is not %s" % (excerpt(item), what))
        out.append(item.strip())
    return out


def _opt_str(value, where):
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        _fail(where, "expected a string, got %s" % excerpt(value))
    return value


def _filter_values(value, where):
    if isinstance(value, (list, tuple)):
        items = list(value)
    else:
        items = [value]
    out = []
    for item in items:
        if isinstance(item, (dict, list, tuple)) or item is None:
            _fail(where, "filter values must be strings or lists of strings, got %s" % excerpt(value))
        out.append(str(item).lower() if isinstance(item, bool) else str(item))
    return out


def _section(value, where):
    if value is None:
        return {}
    if not isinstance(value, dict):
        _fail(where, "expected a mapping, got %s" % excerpt(value))
    return value


def _by_key(item):
    return str(item[0])


SOURCE_KEYS = {
    "ec2": ("regions", "filters", "include_filters", "exclude_filters", "assume_roles", "endpoint_url"),
    "ssm": ("regions", "include_onprem", "filters", "assume_roles", "endpoint_url"),
    "onprem": ("files",),
}


def validate_sources(sources):
    """The `sources` option, checked and normalised: {name: settings or None}."""
    where = "sources"
    sources = _section(sources, where)
    check_unknown(sources, SOURCE_KEYS, where)
    if not sources:
        _fail(where, "no source configured; set at least one of ec2, ssm, onprem")
    out = {"ec2": None, "ssm": None, "onprem": None}
    for name in sources:
        section = _section(sources[name], "%s.%s" % (where, name))
        for key in ("iam_role_arn", "assume_role_arn"):
            if key in section:
                _fail("%s.%s" % (where, name), "'%s' is an amazon.aws.aws_ec2 option; here write assume_roles: [%s]"
                      % (key, json.dumps(section[key], default=str)))
        check_unknown(section, SOURCE_KEYS[name], "%s.%s" % (where, name))
        out[name] = section
    ec2 = out["ec2"]
    if ec2 is not None:
        out["ec2"] = _aws_source(ec2, "sources.ec2")
        raw_filters = ec2.get("filters")
        if raw_filters is None:
            raw_filters = DEFAULT_EC2_FILTERS
        filters = _section(raw_filters, "sources.ec2.filters")
        out["ec2"]["filters"] = _ec2_filters(filters, "sources.ec2.filters")
        for key in ("include_filters", "exclude_filters"):
            sets = ec2.get(key) or []
            if not isinstance(sets, (list, tuple)):
                _fail("sources.ec2.%s" % key, "expected a list of filter mappings (as aws_ec2 takes it), got %r" % (sets,))
            out["ec2"][key] = [_ec2_filters(_section(item, "sources.ec2.%s[%d]" % (key, index)),
                                            "sources.ec2.%s[%d]" % (key, index)) for index, item in enumerate(sets)]
    ssm = out["ssm"]
    if ssm is not None:
        normalised = _aws_source(ssm, "sources.ssm")
        inherited = out["ec2"] or {}
        for key in ("regions", "assume_roles", "endpoint_url"):
            if ssm.get(key) is None and inherited.get(key) is not None:
                normalised[key] = inherited[key]
                if key == "assume_roles":
                    normalised["role_options"] = inherited["role_options"]
        include = ssm.get("include_onprem", True)
        if not isinstance(include, bool):
            _fail("sources.ssm.include_onprem", "expected true or false, got %s" % excerpt(include))
        normalised["include_onprem"] = include
        filters = _section(ssm.get("filters"), "sources.ssm.filters")
        normalised["filters"] = [{"Key": str(k), "Values": _filter_values(v, "sources.ssm.filters.%s" % k)}
                                 for k, v in sorted(filters.items(), key=_by_key)]
        if not include and "ResourceType" not in filters:
            normalised["filters"].append({"Key": "ResourceType", "Values": ["EC2Instance"]})
        out["ssm"] = normalised
    onprem = out["onprem"]
    if onprem is not None:
        files = _str_list(onprem.get("files"), "sources.onprem.files")
        if not files:
            _fail("sources.onprem.files", "list at least one .yml, .yaml or .csv file")
        out["onprem"] = {"files": files}
    return out


ROLE_KEYS = ("role_arn", "external_id", "session_name")


def _assume_roles(value, where):
    """([role ARNs], {ARN: {external_id, session_name}}): each entry an ARN, or a mapping with
    role_arn and optionally external_id and session_name (the role's trust policy may ask for them)."""
    if value is None:
        return None, {}
    if isinstance(value, (str, dict)) or not isinstance(value, (list, tuple)):
        _fail(where, "expected a list of role ARNs or {role_arn, external_id, session_name} mappings, got %r" % (value,))
    roles, options = [], {}
    for index, item in enumerate(value):
        here = "%s[%d]" % (where, index)
        entry = dict(item) if isinstance(item, dict) else {"role_arn": item}
        check_unknown(entry, ROLE_KEYS, here)
        arn = entry.get("role_arn")
        if not isinstance(arn, str) or not ROLE_ARN.match(arn.strip()):
            _fail(here, "%r is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)" % (arn,))
        arn = arn.strip()
        for key, pattern, what in (("external_id", EXTERNAL_ID, "2-1224 characters of letters, digits and +=,.@:/_-"),
                                   ("session_name", ROLE_SESSION_NAME, "2-64 characters of letters, digits and +=,.@_-")):
            if entry.get(key) is not None and not (isinstance(entry[key], str) and pattern.match(entry[key])):
                _fail("%s.%s" % (here, key), "expected %s, got %r" % (what, entry[key]))
        if arn in options:
            _fail(where, "the role %s is listed twice" % arn)
        roles.append(arn)
        options[arn] = {"external_id": entry.get("external_id"), "session_name": entry.get("session_name")}
    return roles, options


def _ec2_filters(filters, where):
    return [{"Name": str(k), "Values": _filter_values(v, "%s.%s" % (where, k))} for k, v in sorted(filters.items(), key=_by_key)]


def _aws_source(section, where):
    roles, role_options = _assume_roles(section.get("assume_roles"), where + ".assume_roles")
    return {
        "regions": _str_list(section.get("regions"), where + ".regions", REGION, "a region name such as us-east-1"),
        "assume_roles": roles,
        "role_options": role_options,
        "endpoint_url": _opt_str(section.get("endpoint_url"), where + ".endpoint_url"),
    }


def validate_hostnames(hostnames):
    """The hostnames preferences: each a field name, or (as aws_ec2 takes it) a mapping {name, prefix,
    separator} naming the host <value of prefix><separator><value of name> (separator default _)."""
    if hostnames is None:
        return []
    if not isinstance(hostnames, (list, tuple)):
        _fail("hostnames", "expected a list, got %r" % (hostnames,))
    prefs = []
    for index, pref in enumerate(hostnames):
        if isinstance(pref, dict):
            where = "hostnames[%d]" % index
            check_unknown(pref, ("name", "prefix", "separator"), where)
            if not pref.get("name"):
                _fail(where, "a mapping entry needs name (and may have prefix, separator), as in aws_ec2")
            entry = {"name": _hostname_field(pref["name"], where + ".name"), "separator": "_"}
            if pref.get("prefix") is not None:
                entry["prefix"] = _hostname_field(pref["prefix"], where + ".prefix")
            if pref.get("separator") is not None:
                if not isinstance(pref["separator"], str):
                    _fail(where + ".separator", "expected a string, got %r" % (pref["separator"],))
                entry["separator"] = pref["separator"]
            prefs.append(entry)
        else:
            prefs.append(_hostname_field(pref, "hostnames"))
    return prefs


def _hostname_field(pref, where):
    if not isinstance(pref, str) or not pref.strip():
        _fail(where, "expected a non-empty string or a mapping {name, prefix, separator}, got %r" % (pref,))
    pref = pref.strip()
    if not (pref.startswith("tag:") and len(pref) > 4) and pref not in EC2_NAME_FIELDS and pref not in SSM_NAME_FIELDS:
        _fail(where, "unknown entry '%s'%s; use one of %s" % (pref, _suggest(pref, HOSTNAME_CHOICES),
                                                              ", ".join(HOSTNAME_CHOICES)))
    return pref


def validate_group_name(value, where):
    if not isinstance(value, str) or not GROUP_NAME.match(value):
        _fail(where, "%s is not a valid group name (letters, digits and _, not starting with a digit)" % excerpt(value))
    return value


WINRM_TRANSPORTS = ("ntlm", "kerberos", "credssp", "certificate", "basic")
CERT_VALIDATION = ("validate", "ignore")
# psrp names the same authentications differently
PSRP_AUTH = {"ntlm": "ntlm", "kerberos": "kerberos", "credssp": "credssp", "certificate": "certificate", "basic": "basic"}


def validate_connection(value):
    where = "connection"
    section = _section(value, where)
    check_unknown(section, ("prefer", "ec2_address", "ssm_bucket_name", "winrm_port", "winrm_transport",
                            "winrm_server_cert_validation", "winrm_ca_trust_path"), where)
    prefer = section.get("prefer") or "network"
    if prefer not in ("network", "ssm"):
        _fail(where + ".prefer", "expected network or ssm, got %s" % excerpt(prefer))
    address = section.get("ec2_address") or "private-ip-address"
    if address not in EC2_ADDRESS_CHOICES:
        _fail(where + ".ec2_address", "expected one of %s, got %s" % (", ".join(EC2_ADDRESS_CHOICES), excerpt(address)))
    port = section.get("winrm_port", WINRM_PORT)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        _fail(where + ".winrm_port", "expected a port number (1-65535), got %r" % (port,))
    transport = section.get("winrm_transport") or "ntlm"
    if transport not in WINRM_TRANSPORTS:
        _fail(where + ".winrm_transport", "expected one of %s, got %r" % (", ".join(WINRM_TRANSPORTS), transport))
    validation = section.get("winrm_server_cert_validation") or "validate"
    if validation not in CERT_VALIDATION:
        _fail(where + ".winrm_server_cert_validation", "expected validate or ignore, got %r" % (validation,))
    return {"prefer": prefer, "ec2_address": address,
            "ssm_bucket_name": _opt_str(section.get("ssm_bucket_name"), where + ".ssm_bucket_name"),
            "winrm_port": port, "winrm_transport": transport, "winrm_server_cert_validation": validation,
            "winrm_ca_trust_path": _opt_str(section.get("winrm_ca_trust_path"), where + ".winrm_ca_trust_path")}


def windows_group_vars(connection):
    """Variables of the platform_windows group: WinRM (and PSRP) over HTTPS with the certificate checked.

    Group variables, not host variables, so the inventory's group_vars (platform_windows.yml, a
    patch group's file, all.yml) override any of them; a host's own on-prem port still wins.
    """
    found = {"ansible_connection": "winrm", "ansible_port": connection["winrm_port"], "ansible_winrm_scheme": "https",
             "ansible_winrm_transport": connection["winrm_transport"],
             "ansible_winrm_server_cert_validation": connection["winrm_server_cert_validation"],
             "ansible_psrp_protocol": "https", "ansible_psrp_auth": PSRP_AUTH[connection["winrm_transport"]],
             "ansible_psrp_cert_validation": connection["winrm_server_cert_validation"]}
    if connection["winrm_ca_trust_path"]:
        found["ansible_winrm_ca_trust_path"] = connection["winrm_ca_trust_path"]
        found["ansible_psrp_ca_path"] = connection["winrm_ca_trust_path"]
    return found


def validate_settings(options):
    """All plugin options this module reads, checked: a dict the other helpers take as `settings`."""
    tag = options.get("patch_group_tag") or DEFAULT_PATCH_GROUP_TAG
    if not isinstance(tag, str):
        _fail("patch_group_tag", "expected a tag key, got %s" % excerpt(tag))
    settings = validate_sources(options.get("sources"))
    settings.update({
        "patch_group_tag": tag,
        "hostnames": validate_hostnames(options.get("hostnames")),
        "unassigned_group": validate_group_name(options.get("unassigned_group") or "patch_group_unassigned",
                                                "unassigned_group"),
        "connection": validate_connection(options.get("connection")),
    })
    return settings


# --------------------------------------------------------------------------- AWS answers -> compact records


def ec2_records(reservations, region):
    """Only the fields we use, from DescribeInstances reservations (tags as a dict)."""
    out = []
    append = out.append
    for reservation in reservations:
        owner = reservation.get("OwnerId")
        for inst in reservation.get("Instances", ()):
            record = {"instance_id": inst["InstanceId"], "region": region, "account_id": owner,
                      "tags": {t["Key"]: t["Value"] for t in inst.get("Tags", ())}}
            for key, field in (("Platform", "platform"), ("PlatformDetails", "platform_details"),
                               ("PrivateIpAddress", "private_ip"), ("PublicIpAddress", "public_ip"),
                               ("PrivateDnsName", "private_dns"), ("PublicDnsName", "public_dns")):
                value = inst.get(key)
                if value:
                    record[field] = value
            append(record)
    return out


def include_exclude(records, included, excluded):
    """aws_ec2's include_filters / exclude_filters over EC2 records: `records` (from filters) plus each list of
    `included` (one per include filter set), without any instance found by an `excluded` set; each instance once."""
    dropped = {record["instance_id"] for found in excluded for record in found}
    seen = set()
    out = []
    for found in [records] + list(included):
        for record in found:
            if record["instance_id"] not in seen and record["instance_id"] not in dropped:
                seen.add(record["instance_id"])
                out.append(record)
    return out


# DescribeInstances XML element -> key of botocore's parsed answer, for the fields ec2_records reads.
EC2_XML_FIELDS = {"instanceId": "InstanceId", "platform": "Platform", "platformDetails": "PlatformDetails",
                  "privateIpAddress": "PrivateIpAddress", "ipAddress": "PublicIpAddress",
                  "privateDnsName": "PrivateDnsName", "dnsName": "PublicDnsName"}


SHARED_XML_FIELDS = frozenset(("platform", "platformDetails"))


class _DescribeInstancesReader(object):
    """Streams a DescribeInstances answer; element depths: 1 response, 2 reservationSet/nextToken/requestId,
    3 reservation item, 4 ownerId/instancesSet, 5 instance item, 6 its fields/tagSet, 7 tag item, 8 key/value."""

    def __init__(self):
        self.path = []
        self.text = None
        # tag keys and values, owner ids and platforms repeat across instances: one string object each
        self.shared = {}
        self.answer = {"Reservations": []}
        self.reservation = self.instance = self.tag = None

    def start(self, name, attrs):
        path = self.path
        path.append(name)
        depth = len(path)
        if depth == 3 and path[1] == "reservationSet":
            self.reservation = {"Instances": []}
        elif depth == 5 and path[3] == "instancesSet":
            self.instance = {}
        elif depth == 7 and path[5] == "tagSet":
            self.tag = {}
        wanted = ((depth == 2 and name in ("nextToken", "requestId")) or (depth == 4 and name == "ownerId")
                  or (depth == 6 and name in EC2_XML_FIELDS and path[3] == "instancesSet")
                  or (depth == 8 and name in ("key", "value") and path[5] == "tagSet"))
        self.text = [] if wanted else None

    def data(self, text):
        if self.text is not None:
            self.text.append(text)

    def end(self, name):
        path = self.path
        depth = len(path)
        if self.text is not None:
            value = "".join(self.text)
            self.text = None
            if depth == 2:
                self.answer["NextToken" if name == "nextToken" else "RequestId"] = value
            elif depth == 4:
                self.reservation["OwnerId"] = self.shared.setdefault(value, value)
            elif depth == 6:
                self.instance[EC2_XML_FIELDS[name]] = (self.shared.setdefault(value, value) if name in SHARED_XML_FIELDS
                                                       else value)
            else:
                self.tag["Key" if name == "key" else "Value"] = self.shared.setdefault(value, value)
        elif depth == 3 and path[1] == "reservationSet":
            self.answer["Reservations"].append(self.reservation)
        elif depth == 5 and path[3] == "instancesSet":
            self.reservation["Instances"].append(self.instance)
        elif depth == 7 and path[5] == "tagSet":
            self.instance.setdefault("Tags", []).append(self.tag)
        path.pop()


def parse_describe_instances(body):
    """The fields ec2_records reads from a DescribeInstances XML answer, shaped as botocore parses them.

    A streaming read of a large answer takes about a third of the time of botocore's parser (which
    builds the whole document, then every field of every instance) and a tenth of its memory.
    Raises ValueError on a malformed document.
    """
    reader = _DescribeInstancesReader()
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    parser.CharacterDataHandler = reader.data
    try:
        parser.Parse(body, True)
    except expat.ExpatError as exc:
        raise ValueError("DescribeInstances answer is not valid XML: %s" % exc)
    answer = reader.answer
    request_id = answer.pop("RequestId", None)
    if request_id:
        answer["ResponseMetadata"] = {"RequestId": request_id}
    return answer


SSM_FIELDS = (("PingStatus", "ping_status"), ("AgentVersion", "agent_version"), ("PlatformType", "platform_type"),
              ("PlatformName", "platform_name"), ("PlatformVersion", "platform_version"),
              ("ComputerName", "computer_name"), ("IPAddress", "ip_address"), ("ResourceType", "resource_type"),
              ("Name", "name"))


def ssm_records(items, region, account_id, include_onprem=True):
    """Only the fields we use, from DescribeInstanceInformation's InstanceInformationList."""
    out = []
    for item in items:
        instance_id = item.get("InstanceId")
        if not instance_id or (not include_onprem and instance_id.startswith("mi-")):
            continue
        record = {"instance_id": instance_id, "region": region, "account_id": account_id}
        for key, field in SSM_FIELDS:
            value = item.get(key)
            if value:
                record[field] = value
        out.append(record)
    return out


# --------------------------------------------------------------------------- OS and platform

_FAMILY_TOKENS = {
    "darwin": {"darwin", "macos", "osx", "mac"},
    "windows": {"windows", "win32", "microsoft"},
    "debian": {"debian", "ubuntu", "raspbian", "kali", "mint", "devuan"},
    "redhat": {"redhat", "red", "rhel", "centos", "rocky", "alma", "almalinux", "oracle", "ol", "amazon", "amzn",
               "fedora", "cloudlinux"},
    "suse": {"suse", "sles", "opensuse", "sled"},
}


def os_family(text):
    """Ansible's os family (lower case) of an OS/platform name, or None when it says nothing."""
    if not text:
        return None
    tokens = set(re.split(r"[^a-z0-9]+", str(text).lower()))
    for family, words in _FAMILY_TOKENS.items():
        if tokens & words:
            return family
    return None


def _platform_of(family):
    return {"windows": "windows", "darwin": "macos"}.get(family, "linux")


# --------------------------------------------------------------------------- slugs


def short_hash(value, size=6):
    return hashlib.sha1(str(value).encode("utf-8")).hexdigest()[:size]


def slug(value):
    """A group-name-safe form of any value: lower case ASCII letters, digits and _.

    Accents are dropped (Ü -> u); anything else outside ASCII is replaced and the slug gets a
    hash of the value, so two values that differ only there cannot share a slug.
    """
    text = unicodedata.normalize("NFKD", str(value))
    chars = []
    lossy = False
    for char in text:
        if unicodedata.combining(char):
            continue
        if char.isascii():
            chars.append(char.lower() if char.isalnum() else "_")
        else:
            lossy = True
            chars.append("_")
    result = re.sub("_+", "_", "".join(chars)).strip("_")
    if lossy or not result:
        result = "%s_%s" % (result, short_hash(value)) if result else short_hash(value)
    return result


def assign_slugs(values, reserved=()):
    """{value: slug} for a set of distinct values, never giving two values the same slug.

    When several values share a slug, the one a person most likely meant keeps it (lower case,
    no surrounding spaces, then the first in sort order) and each other one gets its slug plus
    a hash of its value. Returns (mapping, collisions) with collisions as (slug, kept, [(value, slug)]).
    """
    by_slug = {}
    for value in values:
        by_slug.setdefault(slug(value), []).append(value)
    mapping = {}
    collisions = []
    taken = set(by_slug) | set(reserved)
    for base in sorted(by_slug):
        group = by_slug[base]
        if len(group) == 1 and base not in reserved:
            mapping[group[0]] = base
            continue
        ordered = sorted(group, key=lambda v: (v != v.lower(), v != v.strip(), v))
        kept = None if base in reserved else ordered.pop(0)
        if kept is not None:
            mapping[kept] = base
        moved = []
        for value in ordered:
            size = 6
            new = "%s_%s" % (base, short_hash(value, size))
            while new in taken:
                size += 2
                new = "%s_%s" % (base, short_hash(value, size))
            taken.add(new)
            mapping[value] = new
            moved.append((value, new))
        collisions.append((base, kept, moved))
    return mapping, collisions


# --------------------------------------------------------------------------- on-prem files

ONPREM_FIELDS = ("name", "address", "fqdn", "ip", "instance_id", "patch_group", "environment", "owner", "window",
                 "platform", "os_family", "os_version", "snapshot_provider", "connection", "port", "user", "tags")


class _Problems(object):
    def __init__(self, path):
        self.path = path
        self.items = []

    def add(self, line, field, message):
        if len(self.items) < MAX_REPORTED_ERRORS:
            self.items.append((self.path, line, field, message))

    def raise_if_any(self):
        if self.items:
            raise OnpremError(self.items)


def _clean_onprem(raw, lines, line, problems):
    """One validated on-prem record from a {field: value} mapping (None when it has errors)."""
    errors = len(problems.items)
    record = {}
    for field, value in raw.items():
        where = lines.get(field, line)
        if field not in ONPREM_FIELDS:
            problems.add(where, field, "unknown field%s; valid: %s" % (_suggest(str(field), ONPREM_FIELDS),
                                                                       ", ".join(ONPREM_FIELDS)))
            continue
        if value is None or value == "":
            continue
        checked = _check_field(field, value, where, problems)
        if checked is not None:
            record[field] = checked
    if "name" not in record and not any(p[2] == "name" and p[1] == lines.get("name", line) for p in problems.items):
        problems.add(line, "name", "required: every host needs a name")
    if len(problems.items) != errors:
        return None
    if "os_family" in record:
        record["os_family"] = os_family(record["os_family"]) or slug(record["os_family"])
    record["line"] = line
    return record


def _check_field(field, value, line, problems):
    if field == "tags":
        if not isinstance(value, dict) or not all(isinstance(v, (str, int, float)) for v in value.values()):
            problems.add(line, field, "expected a mapping of tag key to value, got %s" % excerpt(value))
            return None
        for key, val in value.items():
            if not str(key) or len(str(key)) > MAX_TAG_KEY or len(str(val)) > MAX_VALUE:
                problems.add(line, field, "tag %s: keys hold 1-%d characters and values up to %d (as in AWS), got %d and %d"
                             % (excerpt(str(key), 40), MAX_TAG_KEY, MAX_VALUE, len(str(key)), len(str(val))))
                return None
        return {str(k): str(v) for k, v in value.items()}
    if field == "port":
        try:
            port = int(value)
        except (TypeError, ValueError):
            port = 0
        if isinstance(value, bool) or not 1 <= port <= 65535:
            problems.add(line, field, "%s is not a port number (1-65535)" % excerpt(value))
            return None
        return port
    if isinstance(value, float) and field == "os_version":
        problems.add(line, field, "%r was read as a number; quote it (\"%s\") so no digit is lost" % (value, value))
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        problems.add(line, field, "expected text, got %s" % excerpt(value))
        return None
    text = str(value).strip()
    message = _field_problem(field, text)
    if message:
        problems.add(line, field, message)
        return None
    if field == "connection":
        return CONNECTIONS[text]
    if field in ("platform", "snapshot_provider", "instance_id"):
        return text.lower()
    return text


def _field_problem(field, text):
    limit = MAX_NAME if field in ("name", "fqdn", "address") else MAX_VALUE
    if len(text) > limit:
        return "%s is longer than %d characters" % (excerpt(text, 40), limit)
    if field == "name" and (not text or any(c.isspace() for c in text) or "," in text):
        return "%s is not a usable host name (no spaces or commas)" % excerpt(text)
    if field == "ip":
        try:
            ipaddress.ip_address(text)
        except ValueError:
            return "%s is not an IP address" % excerpt(text)
    if field == "fqdn" and not FQDN.match(text):
        return "%s is not a DNS name" % excerpt(text)
    if field == "instance_id" and not INSTANCE_ID.match(text.lower()):
        return "%s is not an instance id (i-... or mi-...)" % excerpt(text)
    if field == "platform" and text.lower() not in PLATFORMS:
        return "%s is not one of %s" % (excerpt(text), ", ".join(PLATFORMS))
    if field == "snapshot_provider" and text.lower() not in SNAPSHOT_PROVIDERS:
        return "%s is not one of %s" % (excerpt(text), ", ".join(SNAPSHOT_PROVIDERS))
    if field == "connection" and text not in CONNECTIONS:
        return "%s is not one of ssh, winrm, psrp, aws_ssm" % excerpt(text)
    return None


class _LineDict(dict):
    line = 0
    lines = None


if yaml is not None:
    class _LineLoader(_YAML_LOADER):
        """SafeLoader that remembers the line of every mapping and of each of its keys."""

    def _construct_mapping(loader, node):
        mapping = _LineDict()
        mapping.line = node.start_mark.line + 1
        mapping.lines = {}
        loader.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key in mapping:
                raise OnpremError([(loader.name, key_node.start_mark.line + 1, str(key), "appears twice in one entry")])
            mapping[key] = loader.construct_object(value_node, deep=True)
            mapping.lines[key] = key_node.start_mark.line + 1
        return mapping

    _LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

    def _construct_int(loader, node):
        try:
            return yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)
        except ValueError:  # Python refuses int() of more than 4300 digits
            raise OnpremError([(loader.name, node.start_mark.line + 1, None, "a number of %d characters cannot be read: "
                                "quote it as text" % len(node.value))])

    _LineLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def _check_expansion(root, path):
    """Refuse a YAML graph whose aliases add more than MAX_ALIAS_VALUES values once expanded, or that refers to itself.

    An alias is cheap in the file and shared once built, but every consumer (the host loop, a
    repr in a message, ansible-inventory --list) walks it expanded: 9 levels of 9 aliases are
    9**9 nodes from 514 bytes. Sizes are counted on the node graph, each node once, so the check
    itself costs no more than the file.
    """
    sizes = {}
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            children = _children(node)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[key] - len(sizes) > MAX_ALIAS_VALUES:  # expanded size beyond the nodes written in the file
                raise OnpremError([(path, node.start_mark.line + 1, None,
                                    "its aliases (*name) expand to more than %d values: refused before expanding them; "
                                    "write the hosts out, or use defaults: for shared fields" % MAX_ALIAS_VALUES)])
            continue
        if sizes.get(key) is not None:
            continue
        if key in sizes:  # entered but not finished: the node contains itself
            raise OnpremError([(path, node.start_mark.line + 1, None,
                                "an alias refers to a value that contains it (a recursive YAML structure); "
                                "on-prem files hold plain lists and mappings")])
        sizes[key] = None
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if sizes.get(id(child)) is None)


def _children(node):
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def parse_onprem_yaml(text, path):
    """Records from a YAML on-prem file: `hosts:` (a list of hosts) and optional `defaults:`, or a bare list."""
    problems = _Problems(path)
    if yaml is None:
        problems.add(1, None, "PyYAML is needed to read YAML files (pip install pyyaml), or use CSV")
        problems.raise_if_any()
    loader = _LineLoader(text)
    loader.name = path
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_expansion(node, path)  # before construction: an alias bomb is refused, never expanded
        data = loader.construct_document(node) if node is not None else None
    except OnpremError:
        raise
    except (ValueError, RecursionError) as exc:  # e.g. an integer of more than 4300 digits
        problems.add(1, None, "a value cannot be read (%s): quote long numbers as text" % shorten(exc, 120))
        problems.raise_if_any()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problems.add(mark.line + 1 if mark else 1, None, "not valid YAML: %s" % getattr(exc, "problem", exc))
        problems.raise_if_any()
    finally:
        loader.dispose()
    defaults = {}
    if isinstance(data, dict):
        check = set(data) - {"hosts", "defaults"}
        for key in sorted(check, key=str):
            problems.add(data.lines.get(key, 1), key, "unknown top-level key; use hosts: and defaults:")
        defaults = data.get("defaults") or {}
        if not isinstance(defaults, dict):
            problems.add(data.lines.get("defaults", 1), "defaults", "expected a mapping of field to value")
            defaults = {}
        hosts = data.get("hosts")
        top_line = data.lines.get("hosts", 1)
    else:
        hosts, top_line = data, 1
    if not isinstance(hosts, list):
        problems.add(top_line, "hosts", "expected a list of hosts")
        problems.raise_if_any()
    problems.raise_if_any()
    default_lines = getattr(defaults, "lines", {}) or {}
    records = []
    for entry in hosts:
        if not isinstance(entry, _LineDict):
            problems.add(top_line, None, "each host must be a mapping with at least name:, got %s" % excerpt(entry))
            continue
        merged = dict(defaults)
        merged.update(entry)
        lines = dict(default_lines)
        lines.update(entry.lines)
        record = _clean_onprem(merged, lines, entry.line, problems)
        if record is not None:
            records.append(record)
    problems.raise_if_any()
    return records


def parse_onprem_csv(text, path):
    """Records from a CSV on-prem file: a header row of field names (tag:<Key> columns are tags)."""
    problems = _Problems(path)
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        problems.add(1, None, "empty file: expected a header row (name,fqdn,ip,patch_group,...)")
        problems.raise_if_any()
    except csv.Error as exc:
        problems.add(1, None, "not valid CSV: %s" % exc)
        problems.raise_if_any()
    columns = [h.strip() for h in header]
    seen = set()
    for column in columns:
        if column in seen:
            problems.add(1, column, "column appears twice in the header")
        seen.add(column)
        if column not in ONPREM_FIELDS and not (column.startswith("tag:") and len(column) > 4) or column == "tags":
            valid = ", ".join(ONPREM_FIELDS[:-1])
            problems.add(1, column, "unknown column%s; valid: %s, tag:<Key>" % (_suggest(column, ONPREM_FIELDS), valid))
    if "name" not in seen:
        problems.add(1, "name", "the header has no name column")
    problems.raise_if_any()
    records = []
    try:
        for row in reader:
            line = reader.line_num
            if not row or not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
                continue
            if len(row) != len(columns):
                problems.add(line, None, "%d cells, the header has %d columns" % (len(row), len(columns)))
                continue
            raw, tags = {}, {}
            for index, column in enumerate(columns):
                cell = row[index].strip()
                if column.startswith("tag:"):
                    if cell:
                        tags[column[4:]] = cell
                else:
                    raw[column] = cell
            if tags:
                raw["tags"] = tags
            record = _clean_onprem(raw, {}, line, problems)
            if record is not None:
                records.append(record)
    except csv.Error as exc:
        problems.add(reader.line_num, None, "not valid CSV: %s" % exc)
    problems.raise_if_any()
    return records


def load_onprem_files(paths):
    """Records of every file in order, each with its `file`; a name used twice is an error."""
    records = []
    first = {}
    problems = []
    for path in paths:
        ext = os.path.splitext(path)[1].lower()
        if ext not in (".yml", ".yaml", ".csv"):
            raise OnpremError([(path, 0, None, "unsupported file type; use .yml, .yaml or .csv")])
        try:
            with open(path, encoding="utf-8-sig") as handle:
                text = handle.read(MAX_ONPREM_FILE_BYTES + 1)
        except (OSError, UnicodeDecodeError) as exc:
            raise OnpremError([(path, 0, None, "cannot read: %s" % exc)])
        if len(text) > MAX_ONPREM_FILE_BYTES:
            raise OnpremError([(path, 0, None, "larger than %d MiB: split the fleet over several files"
                                % (MAX_ONPREM_FILE_BYTES // (1024 * 1024)))])
        parsed = parse_onprem_csv(text, path) if ext == ".csv" else parse_onprem_yaml(text, path)
        for record in parsed:
            record["file"] = path
            if record["name"] in first:
                where = first[record["name"]]
                problems.append((path, record["line"], "name", "%s is already the name of the host at %s line %s"
                                 % (excerpt(record["name"]), where[0], where[1])))
                continue
            first[record["name"]] = (path, record["line"])
            records.append(record)
    if problems:
        raise OnpremError(problems[:MAX_REPORTED_ERRORS])
    return records


def resolve_path(path, config_dir, cwd):
    """An on-prem file path: absolute as given, else next to the inventory config, else from the cwd."""
    if os.path.isabs(path):
        return path
    for base in (config_dir, cwd):
        candidate = os.path.join(base, path)
        if os.path.exists(candidate):
            return candidate
    raise OnpremError([(path, 0, None, "not found next to the inventory config (%s) nor in the current directory (%s)"
                        % (config_dir, cwd))])


# --------------------------------------------------------------------------- one host per machine


class Machine(object):
    """The records that describe one machine, at most one per source."""

    __slots__ = ("ec2", "ssm", "onprem")

    def __init__(self, ec2=None, ssm=None, onprem=None):
        self.ec2 = ec2
        self.ssm = ssm
        self.onprem = onprem

    @property
    def instance_id(self):
        for record in (self.ec2, self.ssm, self.onprem):
            if record and record.get("instance_id"):
                return record["instance_id"]
        return None

    @property
    def sources(self):
        return [name for name in SOURCE_ORDER if getattr(self, name) is not None]


def _norm_name(value):
    return value.lower().rstrip(".") if value else None


def merge(ec2, ssm, onprem, ec2_coverage=frozenset()):
    """Machines from the three sources, each machine once; returns (machines, warnings).

    EC2 and SSM records join on the instance id. An SSM record of an EC2 instance that EC2 did
    not return although it was asked for that account and region is dropped (EC2 filters
    exclude it). An on-prem entry joins the machine with its instance_id, else the SSM `mi-`
    node whose ComputerName equals its fqdn or name, else whose IP address equals its ip; a key
    that fits several nodes matches none (with a warning).
    """
    warnings = []
    machines = []
    by_id = {}
    for record in ec2:
        if record["instance_id"] not in by_id:
            by_id[record["instance_id"]] = machine = Machine(ec2=record)
            machines.append(machine)
    for record in ssm:
        machine = by_id.get(record["instance_id"])
        if machine is not None:
            if machine.ssm is None:
                machine.ssm = record
            continue
        if record.get("resource_type") == "EC2Instance" and (record.get("account_id"), record["region"]) in ec2_coverage:
            continue
        by_id[record["instance_id"]] = machine = Machine(ssm=record)
        machines.append(machine)
    names, ips = _managed_node_index(machines)
    for record in onprem:
        machine, how = _match_onprem(record, by_id, names, ips, warnings)
        if machine is not None and machine.onprem is not None:
            warnings.append("on-prem hosts %s (%s line %s) and %s (%s line %s) both match %s by %s; kept apart"
                            % (machine.onprem["name"], machine.onprem["file"], machine.onprem["line"], record["name"],
                               record["file"], record["line"], machine.instance_id, how))
            machine = None
        if machine is None:
            machines.append(Machine(onprem=record))
        else:
            machine.onprem = record
    return machines, warnings


def _managed_node_index(machines):
    names, ips = {}, {}
    for machine in machines:
        record = machine.ssm
        if record is None or machine.ec2 is not None or not record["instance_id"].startswith("mi-"):
            continue
        if record.get("computer_name"):
            names.setdefault(_norm_name(record["computer_name"]), []).append(machine)
        if record.get("ip_address"):
            ips.setdefault(record["ip_address"], []).append(machine)
    return names, ips


def _match_onprem(record, by_id, names, ips, warnings):
    if record.get("instance_id"):
        return by_id.get(record["instance_id"]), "instance id"
    for key, index, how in ((_norm_name(record.get("fqdn")), names, "fqdn"), (_norm_name(record.get("name")), names, "name"),
                            (record.get("ip"), ips, "ip")):
        if not key or key not in index:
            continue
        found = index[key]
        if len(found) == 1:
            return found[0], how
        warnings.append("on-prem host %s (%s line %s): %s %s matches %d SSM nodes (%s); not merged with any"
                        % (record["name"], record["file"], record["line"], how, key, len(found),
                           ", ".join(sorted(m.instance_id for m in found))))
        return None, how
    return None, None


# --------------------------------------------------------------------------- host names


def preferred_name(machine, preferences):
    """The machine's inventory name: an on-prem name as written, else the first hostnames entry that
    has a value (EC2 first, then SSM), else the instance id."""
    if machine.onprem is not None:
        return machine.onprem["name"]
    for record, fields in ((machine.ec2, EC2_NAME_FIELDS), (machine.ssm, SSM_NAME_FIELDS)):
        if record is None:
            continue
        for pref in preferences:
            if pref.__class__ is dict:
                value = _name_field(record, fields, pref["name"])
                prefix = _name_field(record, fields, pref["prefix"]) if value and "prefix" in pref else None
                if prefix:
                    value = prefix + pref["separator"] + value
            else:
                value = _name_field(record, fields, pref)
            if value:
                return value
    return machine.instance_id


def _name_field(record, fields, pref):
    if pref in fields:
        value = record.get(fields[pref])
    elif pref.startswith("tag:") and "tags" in record:
        value = record["tags"].get(pref[4:])
    else:
        value = None
    return str(value).strip() if value and str(value).strip() else None


def assign_names(machines, preferences):
    """[(name, machine)] sorted by name, names unique; returns (named, warnings).

    When several machines want one name, an on-prem host keeps it (names are unique within the
    on-prem files) and each cloud machine becomes <name>_<instance id>, whatever the API order.
    """
    wanted = {}
    for machine in machines:
        wanted.setdefault(preferred_name(machine, preferences), []).append(machine)
    named = []
    warnings = []
    used = set(wanted)
    for name in sorted(wanted):
        group = wanted[name]
        if len(group) == 1:
            named.append((name, group[0]))
            continue
        renamed = []
        for machine in sorted(group, key=lambda m: (m.onprem is None, m.instance_id or "")):
            if machine.onprem is not None:
                named.append((name, machine))
                continue
            new = "%s_%s" % (name, machine.instance_id)
            while new in used:
                new += "_"
            used.add(new)
            named.append((new, machine))
            renamed.append(new)
        warnings.append("host name %s is wanted by %d machines; named %s" % (name, len(group), ", ".join(
            [name] * (len(group) - len(renamed)) + renamed)))
    named.sort(key=lambda item: item[0])
    return named, warnings


# --------------------------------------------------------------------------- host vars and groups


def _patch_group(tags, tag_key):
    value = tags.get(tag_key)
    if not value and tag_key != FALLBACK_PATCH_GROUP_TAG:
        value = tags.get(FALLBACK_PATCH_GROUP_TAG)
    return value or None


def host_vars(machine, settings):
    """(host vars, tags) of one machine: fleetpatch_* facts and the connection Ansible needs.

    Operator-set fields: the on-prem file wins over EC2 tags. Observed fields (OS, platform):
    the SSM agent wins over the on-prem file, which wins over EC2. Unknown values are left out.
    """
    ec2, ssm, onp = machine.ec2, machine.ssm, machine.onprem
    tags = dict(ec2["tags"]) if ec2 is not None else {}
    if onp is not None and onp.get("tags"):
        tags.update(onp["tags"])
    first = onp or {}
    hv = {}

    def put(key, *values):
        for value in values:
            if value:
                hv[key] = value
                return

    put("fleetpatch_patch_group", first.get("patch_group"), _patch_group(tags, settings["patch_group_tag"]))
    put("fleetpatch_environment", first.get("environment"), tags.get(TAG_ENVIRONMENT))
    put("fleetpatch_owner", first.get("owner"), tags.get(TAG_OWNER))
    put("fleetpatch_window", first.get("window"), tags.get(TAG_WINDOW))
    sources = machine.sources
    hv["fleetpatch_source"] = "ec2" if ec2 is not None else ("onprem" if onp is not None else "ssm")
    hv["fleetpatch_sources"] = sources
    put("fleetpatch_instance_id", machine.instance_id)
    cloud = ec2 or ssm or {}
    put("fleetpatch_region", cloud.get("region"))
    put("fleetpatch_account_id", cloud.get("account_id"))
    # the role this machine was found through: every AWS call about it runs in its account
    put("fleetpatch_aws_role_arn", cloud.get("role_arn"), (ssm or {}).get("role_arn"))
    put("fleetpatch_aws_external_id", cloud.get("role_external_id"), (ssm or {}).get("role_external_id"))
    put("fleetpatch_aws_role_session_name", cloud.get("role_session_name"), (ssm or {}).get("role_session_name"))
    ssm = ssm or {}
    family = (os_family(ssm.get("platform_name")) or first.get("os_family")
              or os_family((ec2 or {}).get("platform_details")) or os_family((ec2 or {}).get("platform")))
    windows_hint = (ec2 or {}).get("platform") or first.get("connection") in ("winrm", "psrp")
    platform = ((ssm.get("platform_type") or "").lower() or first.get("platform")
                or (_platform_of(family) if family else None) or ("windows" if windows_hint else "linux"))
    hv["fleetpatch_platform"] = platform
    put("fleetpatch_os_family", family)
    put("fleetpatch_os_version", ssm.get("platform_version"), first.get("os_version"))
    # package_state reads dpkg/rpm: a Windows host off EC2 has no provider unless its file names one (vmware)
    hv["fleetpatch_snapshot_provider"] = first.get("snapshot_provider") or (
        "ec2" if ec2 is not None else ("none" if platform == "windows" else "package_state"))
    put("fleetpatch_ssm_ping_status", ssm.get("ping_status"))
    put("fleetpatch_ssm_agent_version", ssm.get("agent_version"))
    _connection(hv, machine, platform, settings["connection"])
    return hv, tags


def _ec2_address(record, preference):
    order = [EC2_NAME_FIELDS[preference], "private_ip", "private_dns", "public_ip", "public_dns"]
    for field in order:
        if record.get(field):
            return record[field]
    return None


def _connection(hv, machine, platform, options):
    onp, ssm = machine.onprem, machine.ssm
    chosen = onp.get("connection") if onp is not None else None
    if chosen is None:
        if ssm is not None and (options["prefer"] == "ssm" or (machine.ec2 is None and onp is None)):
            chosen = SSM_CONNECTION
        else:
            chosen = "winrm" if platform == "windows" else "ssh"
    if not (chosen == "winrm" and platform == "windows" and not (onp or {}).get("connection")):
        # a Windows host's default winrm is a platform_windows group variable (windows_group_vars): group_vars
        # can turn a fleet to psrp; a connection chosen for the host (SSM, an on-prem entry's) stays its own
        hv["ansible_connection"] = chosen
    if chosen == SSM_CONNECTION:
        instance_id = machine.instance_id
        hv["ansible_host"] = instance_id
        hv["ansible_aws_ssm_instance_id"] = instance_id
        region = (ssm or machine.ec2 or {}).get("region")
        if region:
            hv["ansible_aws_ssm_region"] = region
        if options["ssm_bucket_name"]:
            hv["ansible_aws_ssm_bucket_name"] = options["ssm_bucket_name"]
        if platform == "windows":
            hv["ansible_shell_type"] = "powershell"
        return
    if onp is not None:
        address = onp.get("address") or onp.get("fqdn") or onp.get("ip") or onp["name"]
    elif machine.ec2 is not None:
        address = _ec2_address(machine.ec2, options["ec2_address"])
    else:
        address = (ssm or {}).get("ip_address") or (ssm or {}).get("computer_name")
    if address:
        hv["ansible_host"] = address
    port = onp.get("port") if onp is not None else None
    if port:
        hv["ansible_port"] = port
    elif chosen == "ssh" and platform == "windows":
        # the platform_windows group's port is WinRM's (windows_group_vars): OpenSSH on Windows keeps 22
        hv["ansible_port"] = 22
    if onp is not None and onp.get("user"):
        hv["ansible_user"] = onp["user"]


GROUP_FAMILIES = (
    # (host var, group prefix, what the warning calls it)
    ("fleetpatch_patch_group", "patch_group_", "Patch Group"),
    ("fleetpatch_environment", "env_", "Environment"),
    ("fleetpatch_window", "window_", "MaintenanceWindow"),
    ("fleetpatch_os_family", "os_", "OS family"),
)


def group_hosts(hosts, unassigned_group):
    """{group: [host names]} of (name, vars) pairs, and the warnings about values that had to be kept apart."""
    groups = {unassigned_group: []}
    warnings = []
    for var, prefix, label in GROUP_FAMILIES:
        # a value longer than any AWS tag value can be (a planted 100,000-character tag) makes no group
        too_long = sorted(name for name, hv in hosts if var in hv and len(str(hv[var])) > MAX_VALUE)
        if too_long:
            warnings.append("%s values longer than %d characters make no group (hosts %s%s)%s" % (
                label, MAX_VALUE, ", ".join(excerpt(n, 60) for n in too_long[:5]), " and %d more" % (len(too_long) - 5)
                if len(too_long) > 5 else "", "; they go to %s" % unassigned_group if var == "fleetpatch_patch_group" else ""))
        for hv in (pair[1] for pair in hosts):
            if var in hv and len(str(hv[var])) > MAX_VALUE:
                del hv[var]  # the host is then what it would be without the value, everywhere
        values = {hv[var] for dummy, hv in hosts if var in hv}
        # the unassigned group is nobody's value group, whatever prefix it was given
        reserved = (unassigned_group[len(prefix):],) if unassigned_group.startswith(prefix) else ()
        mapping, collisions = assign_slugs(values, reserved)
        for base, kept, moved in collisions:
            keeps = "%s keeps %s%s, " % (excerpt(kept), prefix, base) if kept is not None else ""
            warnings.append("%s values %s all make group %s%s: %s%s; fix the values to merge them" % (
                label, ", ".join(excerpt(v) for v in sorted(([kept] if kept is not None else []) + [m[0] for m in moved])),
                prefix, base, keeps, ", ".join("%s goes to %s%s" % (excerpt(v), prefix, s) for v, s in moved)))
        names = {value: prefix + mapping[value] for value in values}
        for name, hv in hosts:
            value = hv.get(var)
            if value is not None:
                groups.setdefault(names[value], []).append(name)
            elif var == "fleetpatch_patch_group":
                groups[unassigned_group].append(name)
    platform_groups = {}  # a few platforms, many hosts: one slug each
    for name, hv in hosts:
        platform = hv["fleetpatch_platform"]
        group = platform_groups.get(platform)
        if group is None:
            group = platform_groups[platform] = "platform_" + slug(platform)
        groups.setdefault(group, []).append(name)
        for source in hv["fleetpatch_sources"]:
            groups.setdefault("source_" + source, []).append(name)
    return groups, warnings


# Host variables whose values are words of this collection's own fixed vocabulary, never data passed
# through: the value is chosen by this code (fleetpatch_source), mapped to a word of the list (os_family),
# or validated against it (an SSM PlatformType lowercased, an on-prem connection or snapshot provider). A
# value equal to one of these words cannot hold template syntax, so the plugin may hand it to Ansible as
# trusted (it is dumped as a plain string instead of an {"__ansible_unsafe": ...} object). Any other value
# of these variables (an on-prem os_family slug, an unknown SSM platform or ping status) stays as it is.
VOCABULARY = {
    "fleetpatch_source": SOURCE_ORDER,
    "fleetpatch_sources": SOURCE_ORDER,  # each element
    "fleetpatch_platform": PLATFORMS,
    "fleetpatch_os_family": tuple(sorted(_FAMILY_TOKENS)),
    "fleetpatch_snapshot_provider": SNAPSHOT_PROVIDERS,
    # DescribeInstanceInformation PingStatus values
    "fleetpatch_ssm_ping_status": ("Online", "ConnectionLost", "Inactive"),
    "ansible_connection": tuple(sorted(set(CONNECTIONS.values()))),
    "ansible_shell_type": ("powershell",),
}


class Built(object):
    """The inventory to populate: hosts [(name, vars, tags)], groups {name: [host names]}, warnings."""

    def __init__(self, hosts, groups, warnings):
        self.hosts = hosts
        self.groups = groups
        self.warnings = warnings


def build(ec2, ssm, onprem, settings, ec2_coverage=frozenset()):
    machines, warnings = merge(ec2, ssm, onprem, ec2_coverage)
    named, name_warnings = assign_names(machines, settings["hostnames"])
    hosts = []
    pairs = []
    for name, machine in named:
        hv, tags = host_vars(machine, settings)
        hosts.append((name, hv, tags))
        pairs.append((name, hv))
    groups, group_warnings = group_hosts(pairs, settings["unassigned_group"])
    return Built(hosts, groups, warnings + name_warnings + group_warnings)
