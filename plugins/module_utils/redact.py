# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keeping secrets and hostile values out of messages (pure Python, no Ansible import).

One place for what every error path needs: `redact()` removes credentials from any text that
may reach a log (a service's error body that echoes the Authorization header, a URL with a
password in it, a webhook URL), and `excerpt()` shortens a value before a message quotes it,
so a 100,000-character tag or an expanded YAML structure never becomes a 7 GB error message.
"""

from __future__ import annotations

import re
import urllib.parse

MASK = "********"
EXCERPT = 80

# "Authorization: Basic abc", "Bearer abc", "password=abc", '"token": "abc"', "api_key=abc"
_AUTH_RE = re.compile(r"(?i)\b((?:proxy-)?authorization\s*[\"']?\s*[:=]\s*[\"']?\s*)(?:(?:basic|bearer|token|negotiate)\s+)?"
                      r"[^\s\"',;&}]+")
_SCHEME_RE = re.compile(r"(?i)\b(basic|bearer)\s+[A-Za-z0-9._~+/=-]{8,}")
_FIELD_RE = re.compile(r"(?i)([\"']?\b(?:password|passwd|secret|token|access_token|api[_-]?key|client_secret|sig)\b[\"']?"
                       r"\s*[:=]\s*[\"']?)[^\s\"',;&}]+")
_USERINFO_RE = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]*@")
# Webhook URLs carry their secret in the path: Slack hooks.slack.com/services/T../B../xyz,
# Teams/Power Automate ...webhook.office.com/webhookb2/... and ...logic.azure.com...?sig=...
_WEBHOOK_RE = re.compile(r"(?i)\bhttps?://(?:hooks\.slack\.com|[a-z0-9.-]*webhook\.office\.com|[a-z0-9.-]*\.logic\.azure\.com"
                         r"|[a-z0-9.-]*\.environment\.api\.powerplatform\.com)(?::\d+)?/[^\s\"'<>]*")


def redact(text, secrets=()):
    """text with every known secret, credential-looking field, URL password and webhook path masked."""
    if text is None:
        return text
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = str(text)
    for secret in sorted((s for s in secrets if s and len(str(s)) >= 3), key=lambda s: -len(str(s))):
        text = text.replace(str(secret), MASK)
    text = _USERINFO_RE.sub(lambda m: m.group(1) + MASK + "@", text)
    text = _WEBHOOK_RE.sub(lambda m: redact_url(m.group(0)), text)
    text = _AUTH_RE.sub(lambda m: m.group(1) + MASK, text)
    text = _SCHEME_RE.sub(lambda m: m.group(1) + " " + MASK, text)
    text = _FIELD_RE.sub(lambda m: m.group(1) + MASK, text)
    return text


def redact_url(url):
    """A URL fit for a message: no user or password, no query values, and only the host of a webhook."""
    if not url:
        return url
    try:
        parts = urllib.parse.urlsplit(str(url))
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return MASK
    netloc = host + (":%d" % port if port else "")
    if _WEBHOOK_RE.match(str(url)):
        return urllib.parse.urlunsplit((parts.scheme, netloc, "/" + MASK if parts.path else "", "", ""))
    query = "&".join("%s=%s" % (k, MASK if _FIELD_RE.match("%s=x" % k) else v)
                     for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def split_userinfo(url):
    """(url without user:password@, user or None, password or None): credentials never stay in a URL."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url, None, None
    host = parts.netloc.rpartition("@")[2]
    user = urllib.parse.unquote(parts.username) if parts.username else None
    password = urllib.parse.unquote(parts.password) if parts.password is not None else None
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment)), user, password


def excerpt(value, limit=EXCERPT):
    """repr-like text of a value, cut to about `limit` characters with the full length said."""
    if isinstance(value, str):
        text = repr(value)
        length = len(value)
    else:
        text = _bounded_repr(value, limit + 1)
        length = None
    if len(text) <= limit:
        return text
    more = (" (%d characters)" % length) if length is not None else ""
    return text[:limit] + "..." + more


def shorten(text, limit=300):
    """Plain text cut to about `limit` characters, saying how long it was (for paths and messages)."""
    text = str(text)
    if len(text) <= limit:
        return text
    return text[:limit] + "... (%d characters)" % len(text)


def _bounded_repr(value, limit):
    """repr that stops once it has `limit` characters: never walks a huge or aliased structure."""
    out = []
    size = [0]

    def emit(text):
        if size[0] < limit:
            out.append(text)
            size[0] += len(text)
        return size[0] < limit

    def walk(item, depth):
        if size[0] >= limit:
            return
        if depth > 20:
            emit("...")
        elif isinstance(item, dict):
            emit("{")
            for index, (key, val) in enumerate(item.items()):
                if (index and not emit(", ")) or not emit(repr(key)[:limit] + ": "):
                    return
                walk(val, depth + 1)
                if size[0] >= limit:
                    return
            emit("}")
        elif isinstance(item, (list, tuple)):
            emit("[")
            for index, val in enumerate(item):
                if index and not emit(", "):
                    return
                walk(val, depth + 1)
                if size[0] >= limit:
                    return
            emit("]")
        else:
            emit(repr(item)[:limit])

    walk(value, 0)
    return "".join(out)
