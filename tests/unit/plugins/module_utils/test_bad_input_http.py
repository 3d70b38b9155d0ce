"""Bad input and hostile services for the HTTP client and the ServiceNow/Jira backends (issue #14, part B).

Every case runs against local stand-in servers on 127.0.0.1 (tests/integration/cr_servers): a
ServiceNow that redirects to another host, one that echoes the Authorization header in its errors,
and the ServiceNow contract server, whose encoded-query parser reads ^ as a clause separator and
^^ as a literal ^ as ServiceNow does. No real ServiceNow or Jira instance ran here.
"""

import base64
import os
import sys

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.change_request import make_backend
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_errors import CRError, CRValidationError
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_servicenow import sn_escape
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.http_client import HttpClient, HttpError
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.redact import MASK, excerpt, redact, redact_url

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "integration"))
from cr_servers.redirector import Recorder, Redirector  # noqa: E402
from cr_servers.servicenow import ServiceNowServer  # noqa: E402
from cr_servers.tls import make_ca_and_server_cert  # noqa: E402

PASSWORD = "Pa55-w0rd-of-the-CAB"
BASIC = base64.b64encode(("fleetpatch:%s" % PASSWORD).encode()).decode()


def client(url, **kw):
    return HttpClient(url, username="fleetpatch", password=PASSWORD, retries=0, sleep=lambda s: None, **kw)


def leaked(text):
    text = str(text)
    return PASSWORD in text or BASIC in text


# -- redirects


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_host_is_an_error_and_sends_nothing_there(status):
    with Recorder() as elsewhere, Redirector(elsewhere.url, status=status) as instance:
        with pytest.raises(HttpError) as caught:
            client(instance.url).request("GET", "/api/now/table/change_request")
        assert "redirected (HTTP %d) to another host, %s/api/now/table/change_request: refused" % (
            status, elsewhere.url) in caught.value.message
        assert "redirect_hosts" in caught.value.message
        assert elsewhere.log == []  # the other host never saw the request, let alone the password
        assert instance.log[0]["headers"]["Authorization"] == "Basic " + BASIC


def test_an_allowed_redirect_host_gets_the_request_without_credentials():
    with Recorder() as elsewhere, Redirector(elsewhere.url.replace("127.0.0.1", "localhost")) as instance:
        answer = client(instance.url, redirect_hosts=["LOCALHOST"]).request("GET", "/api/now/table/change_request")
        assert answer.status == 200
        assert len(elsewhere.log) == 1 and elsewhere.log[0]["path"] == "/api/now/table/change_request"
        assert "Authorization" not in elsewhere.log[0]["headers"]
        assert not any(leaked(v) for v in elsewhere.log[0]["headers"].values())


def test_a_redirect_to_another_port_of_the_same_host_is_another_origin():
    with Recorder() as elsewhere, Redirector(elsewhere.url) as instance:
        with pytest.raises(HttpError, match="to another host"):
            client(instance.url, redirect_hosts=[]).request("GET", "/x")
        assert elsewhere.log == []


def test_a_redirect_within_the_service_keeps_working_with_credentials():
    with Redirector() as instance:
        assert client(instance.url).request("GET", "/api/now/table/change_request").status == 200
        assert [e["path"] for e in instance.log] == ["/api/now/table/change_request", "/moved/api/now/table/change_request"]
        assert instance.log[1]["headers"]["Authorization"] == "Basic " + BASIC


def test_https_is_never_redirected_to_http_even_to_an_allowed_host(tmp_path):
    paths = make_ca_and_server_cert(str(tmp_path))
    with Recorder() as plain, ServiceNowServer(tls=paths) as tls_server:
        # the TLS contract server cannot redirect; wrap its handler's route for this one request
        tls_server.route = lambda *a: (302, {}, {"Location": plain.url + "/api"})
        with pytest.raises(HttpError, match="from https to http://127.0.0.1:%d/api: refused" % plain.port):
            client(tls_server.url, ca_path=paths["ca"], redirect_hosts=["127.0.0.1"]).request("GET", "/api")
        assert plain.log == []


def test_the_servicenow_backend_reports_the_redirect_as_a_clear_error():
    with Recorder() as elsewhere, Redirector(elsewhere.url) as instance:
        backend = make_backend({"backend": "servicenow", "retries": 0,
                                "servicenow": {"host": instance.url, "username": "fleetpatch", "password": PASSWORD}})
        with pytest.raises(CRError) as caught:
            backend.find("fleetpatch:run-1:web")
        assert caught.value.message.startswith("ServiceNow: GET %s/api/sn_chg_rest/v1/change?" % instance.url)
        assert "to another host" in caught.value.message and not leaked(caught.value.message)
        assert elsewhere.log == []


JIRA_TOKEN = "jira-api-token-of-the-CAB"


def jira_backend(url, **kw):
    return make_backend(dict({"backend": "jira", "retries": 0,
                              "jira": {"url": url, "user": "bot@example.com", "token": JIRA_TOKEN, "project": "ITCHG"}},
                             **kw))


def test_the_jira_backend_refuses_a_redirect_to_another_host_and_sends_it_no_token():
    with Recorder() as elsewhere, Redirector(elsewhere.url, status=307) as site:
        with pytest.raises(CRError) as caught:
            jira_backend(site.url).find("fleetpatch:run-1:web")
        message = caught.value.message
        assert message.startswith("Jira: GET %s/rest/api/2/search" % site.url), message
        assert "redirected (HTTP 307) to another host, %s/rest/api/2/search" % elsewhere.url in message
        assert "redirect_hosts" in message and JIRA_TOKEN not in message
        assert elsewhere.log == []
        assert site.log[0]["headers"]["Authorization"].startswith("Basic ")   # the token went to the site only


def test_the_jira_backend_follows_an_allowed_redirect_without_the_token():
    with Recorder(body={"issues": [], "total": 0}) as elsewhere, \
            Redirector(elsewhere.url.replace("127.0.0.1", "localhost")) as site:
        assert jira_backend(site.url, redirect_hosts=["localhost"]).find("fleetpatch:run-1:web") is None
        assert elsewhere.log and all("Authorization" not in e["headers"] for e in elsewhere.log)
        assert not any(JIRA_TOKEN in str(e) for e in elsewhere.log)


# -- credentials in error text and URLs


def echo_everything(handler):
    return {"error": {"message": "Invalid request %s" % handler.headers.get("Authorization"),
                      "detail": "headers: %s; password=%s" % (dict(handler.headers.items()), PASSWORD)}}


def test_service_error_text_echoing_the_authorization_header_is_scrubbed():
    with Recorder(status=400, body=echo_everything) as service:
        with pytest.raises(HttpError) as caught:
            client(service.url).request("GET", "/api/now/table/change_request")
        error = caught.value
        assert not leaked(error.message) and not leaked(error.detail()) and not leaked(error.body)
        assert "Invalid request Basic %s" % MASK in error.detail()
        backend = make_backend({"backend": "servicenow", "retries": 0,
                                "servicenow": {"host": service.url, "username": "fleetpatch", "password": PASSWORD}})
        with pytest.raises(CRValidationError) as translated:
            backend.find("fleetpatch:run-1:web")
        assert "ServiceNow rejected GET" in translated.value.message and not leaked(translated.value.message)
        assert not leaked(translated.value.fail_kwargs())


def test_a_bearer_token_echoed_back_is_scrubbed():
    token = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.sig-value"
    with Recorder(status=401, body=lambda h: b"bad token " + h.headers["Authorization"].encode()) as service:
        with pytest.raises(HttpError) as caught:
            HttpClient(service.url, token=token, retries=0).request("GET", "/x")
        assert token not in caught.value.detail() and token not in caught.value.message
        assert caught.value.detail() == "bad token Bearer %s" % MASK


def test_a_password_inside_the_url_is_used_as_credentials_and_never_shown():
    with Recorder(status=404) as service:
        url = service.url.replace("http://", "http://fleetpatch:%s@" % PASSWORD.replace("-", "%2D"))
        http = HttpClient(url, retries=0)
        assert http.base_url == service.url
        with pytest.raises(HttpError) as caught:
            http.request("GET", "/api/now/table/change_request", query={"sysparm_limit": "1"})
        assert service.log[0]["headers"]["Authorization"] == "Basic " + BASIC
        assert not leaked(caught.value.message) and not leaked(caught.value.url)
        assert caught.value.url == service.url + "/api/now/table/change_request?sysparm_limit=1"


def test_a_refused_connection_names_the_url_without_its_password():
    with pytest.raises(HttpError) as caught:
        HttpClient("http://bob:%s@127.0.0.1:9/" % PASSWORD, retries=0).request("GET", "/x")
    assert "127.0.0.1:9/x: no answer" in caught.value.message and not leaked(caught.value.message)


@pytest.mark.parametrize("url", ["ftp://example.com", "https://", "http://host:notaport/x", "x" * 100000])
def test_a_malformed_base_url_is_named_shortly(url):
    with pytest.raises(ValueError) as caught:
        HttpClient(url)
    assert "must be http(s)://host[:port][/path]" in str(caught.value)
    assert len(str(caught.value)) < 250


@pytest.mark.parametrize("text,secrets,expected", [
    ("Authorization: Basic Zm9vOmJhcg==", (), "Authorization: %s" % MASK),
    ('{"authorization": "Bearer abc.def.ghi"}', (), '{"authorization": "%s"}' % MASK),
    ("token bearer abcdefghijklmnop here", (), "token bearer %s here" % MASK),
    ("https://bob:hunter2@sn.example.com/api", (), "https://%s@sn.example.com/api" % MASK),
    ("password=hunter2&user=bob", (), "password=%s&user=bob" % MASK),
    ('{"client_secret": "xyz"}', (), '{"client_secret": "%s"}' % MASK),
    ("the key is opensesame!", ("opensesame!",), "the key is %s" % MASK),
    ("post to https://hooks.slack.com/services/T000/B000/XXXXSECRET failed", (),
     "post to https://hooks.slack.com/%s failed" % MASK),
    ("https://acme.webhook.office.com/webhookb2/abc@def/IncomingWebhook/123/456", (),
     "https://acme.webhook.office.com/%s" % MASK),
    ("nothing secret in ORDERBYnumber", (), "nothing secret in ORDERBYnumber"),
])
def test_redact(text, secrets, expected):
    assert redact(text, secrets) == expected


def test_redact_url_keeps_the_service_and_drops_the_secrets():
    assert redact_url("https://bob:pw@sn.example.com:8443/api?sysparm_limit=1&api_key=k") == \
        "https://sn.example.com:8443/api?sysparm_limit=1&api_key=%s" % MASK
    assert redact_url("https://prod-01.westeurope.logic.azure.com:443/workflows/abc/triggers?sig=SECRET") == \
        "https://prod-01.westeurope.logic.azure.com:443/%s" % MASK


def test_excerpt_bounds_every_value():
    assert excerpt("web") == "'web'"
    long_text = excerpt("g" * 100000)
    assert len(long_text) < 120 and long_text.endswith("... (100000 characters)")
    nested = ["x" * 50] * 1000
    for _level in range(30):
        nested = [nested] * 1000  # 1000**30 leaves if walked: excerpt must stop at the limit
    assert len(excerpt(nested)) < 100


# -- ServiceNow encoded queries


@pytest.mark.parametrize("value,escaped", [
    ("web-1", "web-1"),
    ("web-1^ORnameISNOTEMPTY", "web-1^^ORnameISNOTEMPTY"),
    ("^^", "^^^^"),
    ("a^NQb", "a^^NQb"),
])
def test_sn_escape_doubles_the_caret(value, escaped):
    assert sn_escape(value) == escaped


@pytest.fixture
def sn():
    with ServiceNowServer(cis=["web-1", "db-1", "a,b"]) as server:
        yield server


def sn_backend(server):
    return make_backend({"backend": "servicenow", "retries": 0, "servicenow": {
        "host": server.url, "username": "fleetpatch", "password": "s3cret", "api": "table"}})


def test_a_hostile_correlation_id_does_not_match_other_changes(sn):
    backend = sn_backend(sn)
    spec_base = {"short_description": "x", "description": "x", "cves": [], "hosts": ["web-1"], "patch_group": "web",
                 "window": {}, "assignment_group": None, "change_type": "normal"}
    backend.create(dict(spec_base, correlation_id="fleetpatch:run-1:web"))
    assert backend.find("fleetpatch:run-1:db^ORcorrelation_idISNOTEMPTY") is None
    assert backend.find("fleetpatch:run-1:web")["correlation_id"] == "fleetpatch:run-1:web"
    hostile = backend.create(dict(spec_base, correlation_id="fleetpatch:run-1:w^b"))
    assert backend.find("fleetpatch:run-1:w^b")["number"] == hostile["number"]


def test_a_hostile_host_name_attaches_no_other_configuration_item(sn):
    backend = sn_backend(sn)
    record = backend.create({"short_description": "x", "description": "x", "cves": [], "hosts": [], "patch_group": "web",
                             "window": {}, "assignment_group": None, "change_type": "normal",
                             "correlation_id": "fleetpatch:run-1:web"})
    actions = backend.sync_hosts(record, ["web-1^ORnameISNOTEMPTY", "a,b"])
    assert [a.get("host") for a in actions if a["action"] == "configuration_item"] == ["a,b"]
    assert [a["hosts"] for a in actions if a["action"] == "configuration_item_missing"] == [["web-1^ORnameISNOTEMPTY"]]
    assert sorted(sn.ci_names(record["number"])) == ["a,b"]
    # the lookup asked for exactly these two names; unescaped, ^ORnameISNOTEMPTY read every CI of the CMDB
    lookup = sn.calls("GET", "/cmdb_ci$")[-1]
    assert lookup["query"]["sysparm_query"] == "name=web-1^^ORnameISNOTEMPTY^ORname=a,b"
