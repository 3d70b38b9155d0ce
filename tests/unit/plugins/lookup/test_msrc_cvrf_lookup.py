"""The msrc_cvrf lookup reads MSRC CVRF documents from a file or an HTTPS URL, TLS verification on.

A local HTTPS server on 127.0.0.1 (a self-signed certificate made here, trusted through
SSL_CERT_FILE) serves the same small document the module_utils tests use; no mock of the client.
"""

import datetime
import http.server
import ipaddress
import os
import ssl
import threading

import pytest
import yaml
from ansible import constants as C
from ansible.errors import AnsibleLookupError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.fleetpatch.hybrid.plugins.lookup import msrc_cvrf

FIXTURE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "module_utils", "fixtures", "msrc_cvrf_2024-Jan.json")


def self_signed(directory, name):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / ("%s.pem" % name), directory / ("%s.key" % name)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """https://127.0.0.1:PORT/cvrf/v3.0/cvrf/2024-Jan (the JSON document), /xml (not JSON); the Accept headers seen."""
    cert, key = self_signed(tmp_path_factory.mktemp("tls"), "msrc")
    seen = []
    with open(FIXTURE, "rb") as handle:
        document = handle.read()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.headers.get("Accept"))
            body, kind = (document, "application/json") if self.path.endswith("/2024-Jan") else (b"<cvrfdoc/>", "application/xml")
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"base": "https://127.0.0.1:%d/cvrf/v3.0/cvrf" % httpd.server_address[1], "cert": cert, "seen": seen}
    finally:
        httpd.shutdown()
        httpd.server_close()


def lookup(*terms):
    """The lookup with its documented options, as the plugin loader would register them."""
    name = "fleetpatch.hybrid.msrc_cvrf"
    C.config.initialize_plugin_configuration_definitions("lookup", name, yaml.safe_load(msrc_cvrf.DOCUMENTATION)["options"])
    plugin = msrc_cvrf.LookupModule()
    plugin._load_name = name
    return plugin.run(list(terms), variables={}, timeout=10)[0]


def test_a_url_gives_the_same_mapping_as_the_file(server, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", server["cert"])
    del server["seen"][:]
    by_url = lookup(server["base"] + "/2024-Jan")
    assert by_url == lookup(FIXTURE)
    assert by_url["KB5034127"]["cves"] == ["CVE-2024-20674", "CVE-2024-20699"]
    assert server["seen"] == ["application/json"]          # MSRC's API serves JSON only when asked for it


def test_a_certificate_the_controller_does_not_trust_is_refused(server, monkeypatch, tmp_path):
    other, dummy = self_signed(tmp_path, "other")
    monkeypatch.setenv("SSL_CERT_FILE", other)
    with pytest.raises(AnsibleLookupError) as error:
        lookup(server["base"] + "/2024-Jan")
    assert (server["base"] + "/2024-Jan") in str(error.value) and "CERTIFICATE_VERIFY_FAILED" in str(error.value)


def test_a_document_that_is_not_json_names_the_url(server, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", server["cert"])
    with pytest.raises(AnsibleLookupError, match=r"msrc_cvrf: https://127\.0\.0\.1:\d+/cvrf/v3\.0/cvrf/xml: "):
        lookup(server["base"] + "/xml")


def test_a_missing_file_names_the_path(tmp_path):
    with pytest.raises(AnsibleLookupError, match="msrc_cvrf: %s: " % str(tmp_path / "2024-Feb.json")):
        lookup(str(tmp_path / "2024-Feb.json"))
