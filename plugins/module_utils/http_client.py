# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small JSON-over-HTTPS client: transport, auth, TLS and retries only (stdlib, no Ansible import).

It knows nothing of change requests: the service layers (cr_servicenow, cr_jira) build the
requests and translate the HttpError it raises. Retries: a 429 is always retried (the service
did not process the request) after its Retry-After; a 5xx or a network error only when the
caller says the request is safe to repeat (GET/HEAD/PUT/DELETE by default), because a POST
that failed with 500 may still have been written; those callers re-read before repeating.

Credentials stay with the service they belong to: a redirect to another origin (scheme, host,
port) is refused unless its host is in `redirect_hosts`, and even then it carries no
Authorization header; https is never redirected to http. Every message, URL and error body
an HttpError carries is redacted (redact.py): the password, the token and the Authorization
value never appear in it, whatever the service echoes. A user:password@ in the base URL is
taken as the credentials and removed from the URL.
"""

from __future__ import annotations

import base64
import json
import random
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.redact import excerpt, redact, redact_url, split_userinfo

RETRY_STATUSES = (500, 502, 503, 504)
IDEMPOTENT_METHODS = ("GET", "HEAD", "PUT", "DELETE", "OPTIONS")


class HttpError(Exception):
    """A request that did not succeed: status (None for network/TLS failures), method, url, body."""

    def __init__(self, message, status=None, method=None, url=None, body=None, attempts=1):
        super(HttpError, self).__init__(message)
        self.message = message
        self.status = status
        self.method = method
        self.url = url
        self.body = body
        self.attempts = attempts

    def detail(self):
        """The service's own error text, from the usual JSON error shapes."""
        return error_summary(self.body)


class HttpConnectionError(HttpError):
    """No HTTP answer: refused, timed out, DNS, or TLS verification failed."""


class Response(object):
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        if not self.body:
            return None
        try:
            return json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise HttpError("the answer is not JSON: %s" % redact(excerpt(self.body[:200].decode("utf-8", "replace"), 120)),
                            status=self.status, body=redact(self.body[:2000]))


def error_summary(body):
    """ServiceNow {error: {message, detail}}, Jira {errorMessages, errors}, or the text itself, shortened."""
    if body is None:
        return ""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        data = json.loads(body)
    except ValueError:
        return body.strip()[:300]
    parts = []
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):
            parts.extend(str(error[k]) for k in ("message", "detail") if error.get(k))
        elif isinstance(error, str):
            parts.append(error)
        parts.extend(str(m) for m in data.get("errorMessages") or [])
        for field, message in sorted((data.get("errors") or {}).items()):
            parts.append("%s: %s" % (field, message))
        if data.get("message") and not parts:
            parts.append(str(data["message"]))
    return "; ".join(parts)[:500] or body.strip()[:300]


class RedirectRefused(Exception):
    """A redirect the client would not follow (another host not allowed, or https to http)."""


def _origin(parts):
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return (parts.scheme, (parts.hostname or "").lower(), port)


class _RedirectGuard(urllib.request.HTTPRedirectHandler):
    """Follows redirects within the service's origin; elsewhere only to allowed hosts, without credentials."""

    CREDENTIAL_HEADERS = ("Authorization", "Proxy-authorization", "Cookie")

    def __init__(self, allowed_hosts):
        self.allowed_hosts = set(h.lower() for h in allowed_hosts or ())

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super(_RedirectGuard, self).redirect_request(req, fp, code, msg, headers, newurl)
        if new is None:
            return None
        old, target = urllib.parse.urlsplit(req.full_url), urllib.parse.urlsplit(new.full_url)
        if _origin(old) == _origin(target):
            return new
        if old.scheme == "https" and target.scheme != "https":
            raise RedirectRefused("redirected (HTTP %s) from https to %s: refused, credentials and data are never "
                                  "sent over plain http" % (code, redact_url(new.full_url)))
        if (target.hostname or "").lower() not in self.allowed_hosts:
            raise RedirectRefused(
                "redirected (HTTP %s) to another host, %s: refused, credentials are only sent to the configured "
                "service; set the service URL to the address it redirects to, or list that host in redirect_hosts "
                "(it then gets no credentials)" % (code, redact_url(new.full_url)))
        for header in self.CREDENTIAL_HEADERS:
            new.remove_header(header)
        return new


def retry_after_seconds(value, now=None):
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


class HttpClient(object):
    def __init__(self, base_url, username=None, password=None, token=None, validate_certs=True, ca_path=None,
                 timeout=30.0, retries=4, backoff=1.0, max_backoff=30.0, max_retry_after=120.0,
                 sleep=time.sleep, jitter=random.random, user_agent="fleetpatch.hybrid", headers=None,
                 redirect_hosts=()):
        try:
            base_url, url_user, url_password = split_userinfo(base_url or "")
            parsed = urllib.parse.urlparse(base_url)
            parsed.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError:
            parsed = None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError("base URL %s must be http(s)://host[:port][/path]" % excerpt(redact(base_url)))
        if url_user and not username and not token:
            username, password = url_user, url_password
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.sleep = sleep
        self.jitter = jitter
        self.headers = {"Accept": "application/json", "User-Agent": user_agent}
        self.headers.update(headers or {})
        if token and not username:
            self.headers["Authorization"] = "Bearer %s" % token
        elif username:
            secret = password if password is not None else token
            raw = ("%s:%s" % (username, secret or "")).encode("utf-8")
            self.headers["Authorization"] = "Basic %s" % base64.b64encode(raw).decode("ascii")
        self.secrets = tuple(s for s in (password, token, self.headers.get("Authorization", "").partition(" ")[2]) if s)
        guard = _RedirectGuard(redirect_hosts)
        if parsed.scheme == "https":
            if validate_certs:
                context = ssl.create_default_context(cafile=ca_path) if ca_path else ssl.create_default_context()
            else:
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self.opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), guard)
        else:
            self.opener = urllib.request.build_opener(guard)
        self.calls = 0

    def url(self, path, query=None):
        url = self.base_url + "/" + path.lstrip("/")
        if query:
            url += "?" + urllib.parse.urlencode([(k, v) for k, v in query.items() if v is not None])
        return url

    def request(self, method, path, query=None, body=None, headers=None, retry_server_errors=None):
        method = method.upper()
        if retry_server_errors is None:
            retry_server_errors = method in IDEMPOTENT_METHODS
        url = self.url(path, query)
        shown = redact(redact_url(url), self.secrets)
        data = None
        all_headers = dict(self.headers)
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        attempt = 0
        while True:
            attempt += 1
            self.calls += 1
            try:
                request = urllib.request.Request(url, data=data, headers=all_headers, method=method)
                with self.opener.open(request, timeout=self.timeout) as answer:
                    return Response(answer.status, dict(answer.headers.items()), answer.read())
            except RedirectRefused as exc:
                raise HttpError("%s %s: %s" % (method, shown, exc), None, method, shown, None, attempt)
            except urllib.error.HTTPError as exc:
                payload = redact(exc.read(), self.secrets)
                status = exc.code
                wait = None
                if status == 429:
                    wait = retry_after_seconds(exc.headers.get("Retry-After"))
                    if wait is not None and wait > self.max_retry_after:
                        raise HttpError("%s %s: rate limited (429), and Retry-After asks to wait %ds, more than %ds"
                                        % (method, shown, wait, self.max_retry_after), status, method, shown, payload,
                                        attempt)
                    if wait is None:
                        wait = self._backoff(attempt)
                elif status in RETRY_STATUSES and retry_server_errors:
                    wait = self._backoff(attempt)
                if wait is None or attempt > self.retries:
                    message = "%s %s answered %s %s" % (method, shown, status, redact(exc.reason, self.secrets))
                    if attempt > 1:
                        message += " (after %d attempts)" % attempt
                    raise HttpError(message, status, method, shown, payload, attempt)
                self.sleep(wait)
            except (urllib.error.URLError, socket.timeout, ConnectionError, ssl.SSLError) as exc:
                reason = getattr(exc, "reason", exc)
                if isinstance(reason, ssl.SSLCertVerificationError) or isinstance(exc, ssl.SSLCertVerificationError):
                    raise HttpConnectionError(
                        "%s %s: TLS verification failed (%s): give the CA bundle that signed the server's certificate "
                        "with ca_path (validate_certs=false only for a throwaway test instance)"
                        % (method, shown, getattr(reason, "verify_message", None) or reason), None, method, shown, None,
                        attempt)
                if not retry_server_errors or attempt > self.retries:
                    raise HttpConnectionError("%s %s: no answer (%s)" % (method, shown, redact(reason, self.secrets)), None,
                                              method, shown, None, attempt)
                self.sleep(self._backoff(attempt))

    def _backoff(self, attempt):
        # Full jitter: concurrent runs that failed together do not retry together.
        ceiling = min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))
        return ceiling * (0.5 + self.jitter() / 2)

    def get(self, path, query=None):
        return self.request("GET", path, query=query).json()

    def post(self, path, body, query=None, retry_server_errors=False):
        return self.request("POST", path, query=query, body=body, retry_server_errors=retry_server_errors).json()

    def patch(self, path, body, query=None, retry_server_errors=False):
        return self.request("PATCH", path, query=query, body=body, retry_server_errors=retry_server_errors).json()

    def put(self, path, body, query=None):
        return self.request("PUT", path, query=query, body=body).json()
