# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A thin boto3 layer shared by the collection's plugins and modules.

Sessions and clients (created under one lock: boto3 sessions are not thread-safe, the clients
they make are), assumed roles, and every call through one retry policy: throttling, 5xx and
connection errors are retried with exponential backoff and full jitter. botocore's own retries
are switched off so the two never multiply. The number of attempts follows the standard AWS
setting (AWS_MAX_ATTEMPTS or max_attempts in the AWS config file), default 6.

No Ansible import here: callers turn AwsError into their own failure.
"""

from __future__ import annotations

import random
import re
import threading
import time

try:
    import boto3
    import botocore.config
    import botocore.exceptions
    import botocore.loaders
    import botocore.parsers
    import botocore.session

    HAS_BOTO3 = True
    BOTO3_IMPORT_ERROR = None
except ImportError as exc:  # reported by the caller, with the fix
    HAS_BOTO3 = False
    BOTO3_IMPORT_ERROR = exc

DEFAULT_MAX_ATTEMPTS = 6
BASE_DELAY = 0.5
MAX_DELAY = 20.0
USER_AGENT = "fleetpatch.hybrid"

RETRY_CODES = frozenset((
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "RequestLimitExceeded", "RequestThrottled", "SlowDown",
    "BandwidthLimitExceeded", "PriorRequestNotComplete", "EC2ThrottledException",
    "ProvisionedThroughputExceededException", "InternalError", "InternalFailure",
    "InternalServerError", "ServiceUnavailable", "ServiceUnavailableException",
    "RequestTimeout", "RequestTimeoutException", "Unavailable",
))
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]{1,512}$")

_CREATE_LOCK = threading.Lock()


class AwsError(Exception):
    """An AWS call failed for good (after retries): `str()` is one line an operator can act on."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


def require_boto3():
    if not HAS_BOTO3:
        raise AwsError("boto3 and botocore are required (pip install 'boto3>=1.34' 'botocore>=1.34'): %s"
                       % BOTO3_IMPORT_ERROR)


def error_code(exc):
    if isinstance(exc, botocore.exceptions.ClientError):
        return exc.response.get("Error", {}).get("Code")
    return None


def is_retryable(exc):
    """Throttling, server-side (5xx) and connection trouble are worth another try; the rest is not."""
    if not HAS_BOTO3:
        return False
    if isinstance(exc, botocore.exceptions.ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return error_code(exc) in RETRY_CODES or status >= 500 or status == 429
    # a 5xx with an HTML body (a proxy, a simulator) reaches us as an unparsable response
    return isinstance(exc, (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError,
                            botocore.parsers.ResponseParserError))


def backoff(attempt, base=BASE_DELAY, cap=MAX_DELAY, rand=random.random):
    """Full jitter: a uniform delay in [0, min(cap, base * 2**attempt))."""
    return rand() * min(cap, base * (2 ** attempt))


def describe(exc):
    """One line for an operator: the AWS error code and message, or the botocore error."""
    if HAS_BOTO3 and isinstance(exc, botocore.exceptions.ClientError):
        err = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return "%s: %s" % (err.get("Code") or "HTTP %s" % status, err.get("Message") or exc)
    if HAS_BOTO3 and isinstance(exc, botocore.parsers.ResponseParserError):
        return "ResponseParserError: the endpoint answered with something that is not an AWS response (often a 5xx)"
    return "%s: %s" % (type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")


def _sleep(seconds):
    time.sleep(seconds)


def call(fn, *args, max_attempts=DEFAULT_MAX_ATTEMPTS, sleep=None, rand=random.random, **kwargs):
    """fn(*args, **kwargs), retried on throttling/5xx/connection errors; AwsError when it gives up."""
    attempt = 0
    while True:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # narrowed below: only botocore errors are translated
            if not HAS_BOTO3 or not isinstance(exc, (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError,
                                                     botocore.parsers.ResponseParserError)):
                raise
            attempt += 1
            if attempt >= max_attempts or not is_retryable(exc):
                suffix = " (after %d attempts)" % attempt if attempt > 1 else ""
                raise AwsError(describe(exc) + suffix, code=error_code(exc))
            (sleep or _sleep)(backoff(attempt - 1, rand=rand))


def paginate(method, result_key, max_attempts=DEFAULT_MAX_ATTEMPTS, sleep=None, **params):
    """Yield each page's `result_key` items, following NextToken; every page is retried on its own."""
    token = None
    while True:
        if token:
            params["NextToken"] = token
        page = call(method, max_attempts=max_attempts, sleep=sleep, **params)
        yield page.get(result_key, [])
        token = page.get("NextToken")
        if not token:
            return


def new_session(access_key=None, secret_key=None, session_token=None, profile=None, raw_timestamps=False, readers=None):
    """A boto3 Session whose clients share one model loader.

    raw_timestamps keeps timestamps as the strings AWS sent (parsing them is most of botocore's parse
    time for large answers). readers maps an output shape name (DescribeInstancesResult) to a
    function reading a successful answer's body instead of botocore's parser: for callers that need
    a few fields of a large answer. Error answers are always parsed by botocore.
    """
    require_boto3()
    with _CREATE_LOCK:
        try:
            core = botocore.session.Session(profile=profile or None)
            core.register_component("data_loader", _loader(core))
            factory = core.get_component("response_parser_factory")
            if raw_timestamps:
                factory.set_parser_defaults(timestamp_parser=_identity)
            if readers:
                core.register_component("response_parser_factory", _ReadingParserFactory(factory, readers))
            return boto3.Session(aws_access_key_id=access_key or None, aws_secret_access_key=secret_key or None,
                                 aws_session_token=session_token or None, botocore_session=core)
        except botocore.exceptions.BotoCoreError as exc:
            raise AwsError(describe(exc))


def _identity(value):
    return value


class _ReadingParserFactory(object):
    """botocore's response parser factory, with callers' readers for some successful answers."""

    def __init__(self, factory, readers):
        self._factory = factory
        self._readers = dict(readers)

    def set_parser_defaults(self, **kwargs):
        self._factory.set_parser_defaults(**kwargs)

    def create_parser(self, protocol_name):
        return _ReadingParser(self._factory.create_parser(protocol_name), self._readers)


class _ReadingParser(object):
    def __init__(self, parser, readers):
        self._parser = parser
        self._readers = readers

    def parse(self, response, shape):
        read = self._readers.get(getattr(shape, "name", None))
        if read is None or response.get("status_code", 500) >= 300:
            return self._parser.parse(response, shape)
        try:
            parsed = read(response["body"])
        except ValueError as exc:
            raise botocore.parsers.ResponseParserError(str(exc))
        metadata = parsed.setdefault("ResponseMetadata", {})
        metadata.update(HTTPStatusCode=response["status_code"], HTTPHeaders=response.get("headers", {}))
        return parsed


_LOADERS = {}


def _loader(core):
    """One botocore model loader per data path for every session: each session (one per assumed
    role) would otherwise read and parse the service models again (~0.1 s per client)."""
    path = core.get_config_variable("data_path")
    if path not in _LOADERS:
        _LOADERS[path] = botocore.loaders.create_loader(path)
    return _LOADERS[path]


def max_attempts(session):
    """The standard AWS setting (AWS_MAX_ATTEMPTS / max_attempts in ~/.aws/config), else our default."""
    try:
        value = session._session.get_config_variable("max_attempts")
        return DEFAULT_MAX_ATTEMPTS if value is None else max(1, int(value))
    except (TypeError, ValueError):  # not a number: botocore itself would refuse it later
        return DEFAULT_MAX_ATTEMPTS


def client(session, service, region, endpoint_url=None, max_pool_connections=10):
    """A client with botocore's retries off (call() retries) and TLS verification on."""
    config = botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"},
                                    user_agent_extra=USER_AGENT, connect_timeout=10, read_timeout=60,
                                    max_pool_connections=max_pool_connections)
    with _CREATE_LOCK:
        try:
            return session.client(service, region_name=region, endpoint_url=endpoint_url or None, config=config)
        except (botocore.exceptions.BotoCoreError, ValueError) as exc:  # unknown profile, bad endpoint URL
            raise AwsError(describe(exc))


def role_account(role_arn):
    """The account id of an IAM role ARN, or None when it is not one."""
    match = ROLE_ARN.match(role_arn or "")
    return match.group(1) if match else None


def assume_role(session, role_arn, session_name, region, endpoint_url=None, sleep=None, external_id=None,
                **session_options):
    """A new Session with the role's temporary credentials (session_options as for new_session)."""
    sts = client(session, "sts", region, endpoint_url)
    extra = {"ExternalId": external_id} if external_id else {}
    creds = call(sts.assume_role, RoleArn=role_arn, RoleSessionName=session_name,
                 max_attempts=max_attempts(session), sleep=sleep, **extra)["Credentials"]
    return new_session(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"], **session_options)
