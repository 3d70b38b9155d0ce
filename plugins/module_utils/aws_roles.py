# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Calls about a host run in that host's account: the role to assume, cached credentials, and
an access failure told in terms an operator can act on (account, role, missing permission).

Pure Python, no Ansible or boto3 import: callers hand in an ``assume`` function (STS AssumeRole
through their own client) and turn RoleError into their own failure.

The temporary credentials of each (endpoint, role, external id, session name) are kept in a
private file cache (directory 0700, files 0600, like the AWS CLI's ~/.aws/cli/cache) so a patch
night assumes each role once, not once per host and task, and are renewed when less than
``REFRESH_BEFORE`` is left of them: a night longer than the role's session never calls with
expired credentials. FLEETPATCH_AWS_CREDENTIAL_CACHE names another directory, or ``off``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from datetime import datetime, timedelta, timezone

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.aws import ROLE_ARN, role_account

try:
    from botocore.exceptions import ClientError
except ImportError:  # the modules report the missing library themselves
    ClientError = None

SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")
EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
DEFAULT_SESSION_NAME = "fleetpatch"
REFRESH_BEFORE = timedelta(minutes=15)
CACHE_ENV = "FLEETPATCH_AWS_CREDENTIAL_CACHE"

# AWS error codes that mean "these credentials may not do this", as opposed to a fault of the call
ACCESS_CODES = frozenset((
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess",
    "AuthFailure", "ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId",
    "UnrecognizedClientException", "RequestExpired", "InvalidAccessKeyId", "SignatureDoesNotMatch",
    "OptInRequired", "NotAuthorized", "AccessDeniedForDependency",
))


class RoleError(Exception):
    """A role that cannot be used, or a call it may not make: ``str()`` names account, role and fix."""

    def __init__(self, message, kind="access", account=None, role_arn=None, permission=None):
        super().__init__(message)
        self.kind = kind
        self.account = account
        self.role_arn = role_arn
        self.permission = permission

    def details(self):
        return {"failure": self.kind, "account_id": self.account, "role_arn": self.role_arn,
                "permission": self.permission}


def role_spec(role_arn=None, external_id=None, session_name=None, where="role_arn"):
    """The validated role to assume, or None when no role is given (the caller's own credentials)."""
    if not role_arn:
        if external_id:
            raise RoleError("%s is missing but an external id is given: set the role's ARN too" % where,
                            kind="input")
        return None
    if not isinstance(role_arn, str) or not ROLE_ARN.match(role_arn):
        raise RoleError("%s %r is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)" % (where, _short(role_arn)),
                        kind="input")
    name = session_name or DEFAULT_SESSION_NAME
    if not SESSION_NAME.match(name):
        raise RoleError("the role session name %r for %s must be 2-64 characters of letters, digits and +=,.@_-"
                        % (_short(name), role_arn), kind="input")
    if external_id is not None and external_id != "" and not EXTERNAL_ID.match(str(external_id)):
        raise RoleError("the external id for %s must be 2-1224 characters of letters, digits and +=,.@:/_-" % role_arn,
                        kind="input")
    return {"role_arn": role_arn, "external_id": external_id or None, "session_name": name}


def access_message(code, message, permission, role_arn=None, account=None):
    """One line for an access failure of a call about a host, or None when ``code`` is not one."""
    if code not in ACCESS_CODES:
        return None
    account = account or role_account(role_arn)
    who = ("account %s, role %s" % (account, role_arn)) if role_arn else (
        "account %s, the controller's own credentials" % account if account else "the controller's own credentials")
    if code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired"):
        fix = "the credentials expired: renew them (a role's credentials are renewed by the night itself)"
    elif code in ("InvalidClientTokenId", "UnrecognizedClientException", "InvalidAccessKeyId", "SignatureDoesNotMatch",
                  "AuthFailure"):
        fix = "the credentials are not valid in this account and region"
    else:
        fix = "missing permission %s: allow it to %s (docs/aws_permissions.md)" % (
            permission, "the role" if role_arn else "the controller's credentials")
    return "access denied (%s): %s [%s: %s]" % (who, fix, code, _short(message or "", 300))


class CredentialCache(object):
    """Temporary credentials per role in private files; ``None`` directory means memory only."""

    def __init__(self, directory=None, now=None):
        self.directory = directory
        self.memory = {}
        self.now = now or (lambda: datetime.now(timezone.utc))

    @classmethod
    def default(cls):
        setting = os.environ.get(CACHE_ENV, "")
        if setting.lower() == "off":
            return cls(None)
        return cls(setting or os.path.join(os.path.expanduser("~"), ".ansible", "fleetpatch", "aws_credentials"))

    @staticmethod
    def key(spec, endpoint_url=None):
        raw = json.dumps([endpoint_url or "", spec["role_arn"], spec["external_id"] or "", spec["session_name"]])
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()

    def get(self, key):
        creds = self.memory.get(key) or self._read(key)
        if creds and _expiry(creds) - self.now() > REFRESH_BEFORE:
            self.memory[key] = creds
            return creds
        return None

    def put(self, key, creds):
        self.memory[key] = creds
        if not self.directory:
            return
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            os.chmod(self.directory, 0o700)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")  # created 0600
            with os.fdopen(fd, "w") as handle:
                json.dump(creds, handle)
            os.replace(tmp, os.path.join(self.directory, key + ".json"))
        except OSError:
            pass  # a cache that cannot be written only costs another AssumeRole next time

    def _read(self, key):
        if not self.directory:
            return None
        try:
            with open(os.path.join(self.directory, key + ".json")) as handle:
                creds = json.load(handle)
            _expiry(creds)
            return creds
        except (OSError, ValueError, KeyError, TypeError):
            return None


def _expiry(creds):
    value = datetime.fromisoformat(str(creds["expiration"]).replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def role_credentials(assume, spec, cache=None, endpoint_url=None):
    """{access_key, secret_key, session_token, expiration} for ``spec``, from the cache or assumed now.

    ``assume(**kwargs)`` makes the STS AssumeRole call (RoleArn, RoleSessionName, ExternalId) and
    returns its ``Credentials`` mapping, or raises (code, message) as ``AssumeFailed``.
    """
    cache = cache if cache is not None else CredentialCache(None)
    key = CredentialCache.key(spec, endpoint_url)
    creds = cache.get(key)
    if creds:
        return creds
    kwargs = {"RoleArn": spec["role_arn"], "RoleSessionName": spec["session_name"]}
    if spec["external_id"]:
        kwargs["ExternalId"] = spec["external_id"]
    try:
        answer = assume(**kwargs)
    except AssumeFailed as exc:
        account = role_account(spec["role_arn"])
        raise RoleError(
            "role %s (account %s) could not be assumed: %s: %s; the controller's credentials need "
            "sts:AssumeRole on it and the role's trust policy must allow them%s (docs/aws_permissions.md)"
            % (spec["role_arn"], account, exc.code, _short(exc.message, 300),
               " with this external id" if spec["external_id"] else ""),
            kind="assume_role", account=account, role_arn=spec["role_arn"], permission="sts:AssumeRole")
    expiration = answer["Expiration"]
    creds = {"access_key": answer["AccessKeyId"], "secret_key": answer["SecretAccessKey"],
             "session_token": answer["SessionToken"],
             "expiration": expiration.isoformat() if hasattr(expiration, "isoformat") else str(expiration)}
    cache.put(key, creds)
    return creds


class AssumeFailed(Exception):
    def __init__(self, code, message):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message


def group_by_role(items, default_region):
    """[(role spec or None, region, [instance ids])] in first-seen order: one call sequence each.

    ``items`` are {instance_id, region, role_arn, external_id, role_session_name}; the same
    instance twice is kept once (its first entry wins).
    """
    groups, order, seen = {}, [], set()
    for index, item in enumerate(items):
        instance_id = item["instance_id"]
        if instance_id in seen:
            continue
        seen.add(instance_id)
        spec = role_spec(item.get("role_arn"), item.get("external_id"), item.get("role_session_name"),
                         where="instances[%d].role_arn" % index)
        region = item.get("region") or default_region
        key = (json.dumps(spec, sort_keys=True), region)
        if key not in groups:
            groups[key] = (spec, region, [])
            order.append(key)
        groups[key][2].append(instance_id)
    return [groups[key] for key in order]


def targets(hosts):
    """[{instance_id, region, role_arn, external_id, role_session_name}] of hosts' variables (the
    inventory plugin's fleetpatch_instance_id, fleetpatch_region, fleetpatch_aws_role_arn, ...):
    what a module asking AWS about a batch of hosts takes, so each is asked in its own account."""
    out = []
    for host in hosts:
        if not host.get("fleetpatch_instance_id"):
            continue
        item = {"instance_id": host["fleetpatch_instance_id"], "region": host.get("fleetpatch_region") or ""}
        if host.get("fleetpatch_aws_role_arn"):
            item["role_arn"] = host["fleetpatch_aws_role_arn"]
            for var, key in (("fleetpatch_aws_external_id", "external_id"),
                             ("fleetpatch_aws_role_session_name", "role_session_name")):
                if host.get(var):
                    item[key] = host[var]
        out.append(item)
    return out


def module_client(module, service, spec, region=None, cache=None):
    """An amazon.aws AnsibleAWSModule client for ``service`` with the role's credentials (``spec``
    from role_spec), or the module's own credentials when ``spec`` is None. RoleError when the role
    cannot be assumed."""
    if spec is None:
        return module.client(service, region=region) if region else module.client(service)
    sts = module.client("sts", region=region) if region else module.client("sts")

    def assume(**kwargs):
        try:
            return sts.assume_role(**kwargs)["Credentials"]
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise AssumeFailed(error.get("Code") or "Error", error.get("Message") or str(exc))

    creds = role_credentials(assume, spec, cache if cache is not None else CredentialCache.default(),
                             endpoint_url=module.params.get("endpoint_url"))
    extra = {"aws_access_key_id": creds["access_key"], "aws_secret_access_key": creds["secret_key"],
             "aws_session_token": creds["session_token"], "profile_name": None}
    if region:
        extra["region"] = region
    return module.client(service, **extra)


def client_error_message(exc, service, spec):
    """The access failure of a botocore ClientError as one line (account, role, permission), or None."""
    error = getattr(exc, "response", {}).get("Error", {})
    operation = getattr(exc, "operation_name", None) or "the call"
    return access_message(error.get("Code"), error.get("Message"), "%s:%s" % (service, operation),
                          role_arn=spec["role_arn"] if spec else None)


def _short(value, limit=120):
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."
