"""http_client: retries, Retry-After, auth headers and error shapes, against a local server on 127.0.0.1."""

import os
import sys
from datetime import datetime, timezone
from email.utils import format_datetime

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.http_client import (
    HttpClient,
    HttpConnectionError,
    HttpError,
    error_summary,
    retry_after_seconds,
)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "integration"))
from cr_servers.servicenow import ServiceNowServer  # noqa: E402

CI = "/api/now/table/cmdb_ci"


@pytest.fixture
def server():
    with ServiceNowServer(cis=["web-1"]) as srv:
        yield srv


def client(server, **kw):
    sleeps = []
    options = dict(username="fleetpatch", password="s3cret", retries=3, backoff=1.0, sleep=sleeps.append, jitter=lambda: 1.0)
    options.update(kw)
    return HttpClient(server.url, **options), sleeps


@pytest.mark.parametrize("header,expected", [
    ("7", 7.0),
    ("0", 0.0),
    (format_datetime(datetime(2026, 11, 29, 2, 0, 30, tzinfo=timezone.utc), usegmt=True), 30.0),
    (format_datetime(datetime(2026, 11, 29, 1, 0, 0, tzinfo=timezone.utc), usegmt=True), 0.0),
    ("soon", None),
    (None, None),
])
def test_retry_after_seconds(header, expected):
    assert retry_after_seconds(header, now=datetime(2026, 11, 29, 2, 0, 0, tzinfo=timezone.utc)) == expected


@pytest.mark.parametrize("body,expected", [
    (b'{"error": {"message": "Operation Failed", "detail": "ACL"}, "status": "failure"}', "Operation Failed; ACL"),
    (b'{"errorMessages": ["Issue does not exist"], "errors": {"summary": "required"}}', "Issue does not exist; summary: required"),
    (b'{"message": "Too Many Requests"}', "Too Many Requests"),
    (b"<html>Bad gateway</html>", "<html>Bad gateway</html>"),
    (None, ""),
])
def test_error_summary(body, expected):
    assert error_summary(body) == expected


def test_429_is_retried_after_retry_after_even_for_a_post(server):
    http, sleeps = client(server)
    server.fail_next("POST", "/task_ci$", 429, retry_after=2)
    with pytest.raises(HttpError) as caught:
        http.request("POST", "/api/now/table/task_ci", body={"task": "x", "ci_item": "y"})
    assert sleeps == [2.0]  # waited what the server asked, then got the real (400) answer
    assert caught.value.status == 400 and "task 'x' is not a task" in caught.value.detail()


def test_429_without_retry_after_backs_off_exponentially(server):
    http, sleeps = client(server)
    server.fail_next("GET", CI, 429, times=3)
    assert http.request("GET", CI).json()["result"][0]["name"] == "web-1"
    assert sleeps == [1.0, 2.0, 4.0]


def test_retry_after_longer_than_allowed_fails_at_once(server):
    http, sleeps = client(server, max_retry_after=60)
    server.fail_next("GET", CI, 429, retry_after=3600)
    with pytest.raises(HttpError, match="Retry-After asks to wait 3600s, more than 60s"):
        http.request("GET", CI)
    assert sleeps == []


def test_5xx_is_retried_for_reads_not_for_posts(server):
    http, sleeps = client(server)
    server.fail_next("GET", CI, 503, times=2)
    assert http.request("GET", CI).status == 200 and len(sleeps) == 2
    server.fail_next("POST", "/task_ci$", 500)
    with pytest.raises(HttpError) as caught:
        http.request("POST", "/api/now/table/task_ci", body={})
    assert caught.value.status == 500 and caught.value.attempts == 1


def test_gives_up_after_the_retries(server):
    http, sleeps = client(server, retries=2)
    server.fail_next("GET", CI, 502, times=5)
    with pytest.raises(HttpError, match=r"answered 502 .*\(after 3 attempts\)"):
        http.request("GET", CI)
    assert len(sleeps) == 2 and len(server.log) == 3


def test_jitter_spreads_the_backoff(server):
    http, sleeps = client(server, jitter=lambda: 0.0, max_backoff=1.5)
    server.fail_next("GET", CI, 503, times=3)
    http.request("GET", CI)
    assert sleeps == [0.5, 0.75, 0.75]


@pytest.mark.parametrize("kw,status", [
    ({"username": "fleetpatch", "password": "s3cret"}, 200),
    ({"username": "fleetpatch", "password": "bad"}, 401),
    ({"username": None, "password": None, "token": "tok"}, 200),
    ({"username": None, "password": None, "token": "other"}, 401),
])
def test_basic_and_bearer_auth(server, kw, status):
    server.tokens.add("tok")
    http, dummy = client(server, **kw)
    if status == 200:
        assert http.request("GET", CI).status == 200
    else:
        with pytest.raises(HttpError) as caught:
            http.request("GET", CI)
        assert caught.value.status == status


def test_no_server_is_a_connection_error():
    http = HttpClient("http://127.0.0.1:9", retries=1, sleep=lambda s: None, timeout=2)
    with pytest.raises(HttpConnectionError, match="no answer"):
        http.request("GET", "/x")


@pytest.mark.parametrize("url", ["example.com", "ftp://example.com", "https://"])
def test_base_url_must_be_http(url):
    with pytest.raises(ValueError, match="must be http"):
        HttpClient(url)


def test_query_strings_are_encoded(server):
    http, dummy = client(server)
    http.request("GET", CI, query={"sysparm_query": "nameINweb-1,a b^ORDERBYname", "skip": None})
    assert server.log[-1]["query"] == {"sysparm_query": "nameINweb-1,a b^ORDERBYname"}
