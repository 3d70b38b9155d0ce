"""E-mail notices never send a password in clear and always check the relay's certificate (issue #14, part B).

Against stand-in relays on 127.0.0.1 (tests/integration/smtp_relays.py): one that offers AUTH but no
STARTTLS and records every byte it receives, and aiosmtpd requiring STARTTLS with a certificate from
a throwaway CA. No real mail relay is used.
"""

import base64
import os
import smtplib
import sys

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.mail import MailError, send_mail

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "integration"))
from cr_servers.tls import make_ca_and_server_cert  # noqa: E402
from smtp_relays import ClearRelay, TlsRelay  # noqa: E402

PASSWORD = "relay-password-9"
MAIL = dict(sender="fleetpatch@example.com", to=["web@example.com"], subject="Patch night", body="web-1: openssl")


@pytest.fixture
def tls(tmp_path):
    paths = make_ca_and_server_cert(str(tmp_path))
    with TlsRelay(paths, password=PASSWORD) as relay:
        relay.paths = paths
        yield relay


@pytest.mark.parametrize("secure", ["starttls", None])
def test_a_relay_without_starttls_gets_neither_the_password_nor_the_notice(secure):
    options = {"secure": secure} if secure else {}  # the default is starttls
    with ClearRelay() as relay:
        with pytest.raises(MailError) as caught:
            send_mail("127.0.0.1", relay.port, username="fleetpatch", password=PASSWORD, **dict(MAIL, **options))
    message = str(caught.value)
    assert message.startswith("the mail relay 127.0.0.1:%d offers no STARTTLS: nothing was sent" % relay.port)
    wire = relay.received
    assert wire.upper().startswith(b"EHLO ") and b"AUTH" not in wire.upper() and b"MAIL FROM" not in wire.upper()
    for form in (PASSWORD.encode(), base64.b64encode(b"\0fleetpatch\0" + PASSWORD.encode()), base64.b64encode(PASSWORD.encode())):
        assert form not in wire
    assert PASSWORD not in message


def test_smtplib_alone_would_have_sent_it_in_clear():
    """The hazard the stand-in models: a client that logs in without TLS sends the password to this relay."""
    with ClearRelay() as relay:
        smtp = smtplib.SMTP("127.0.0.1", relay.port, timeout=5)
        smtp.login("fleetpatch", PASSWORD)
        smtp.quit()
    assert base64.b64encode(b"\0fleetpatch\0" + PASSWORD.encode()) in relay.received


def test_never_refuses_to_log_in_but_sends_without_login():
    with ClearRelay() as relay:
        with pytest.raises(MailError, match="secure=never with a username would send the password in clear text"):
            send_mail("127.0.0.1", relay.port, secure="never", username="fleetpatch", password=PASSWORD, **MAIL)
        assert relay.received == b""  # refused before connecting
        assert send_mail("127.0.0.1", relay.port, secure="never", **MAIL) == ["web@example.com"]
    wire = relay.received.upper()
    assert b"MAIL FROM:<FLEETPATCH@EXAMPLE.COM>" in wire and b"AUTH" not in wire


def test_starttls_with_an_unknown_ca_is_refused_before_login(tls):
    with pytest.raises(MailError) as caught:
        send_mail("127.0.0.1", tls.port, username="fleetpatch", password=PASSWORD, **MAIL)
    assert "TLS certificate verification failed" in str(caught.value) and "ca_path" in str(caught.value)
    assert tls.logins == [] and tls.messages == []


def test_starttls_with_the_relay_ca_logs_in_over_tls_and_delivers(tls):
    accepted = send_mail("127.0.0.1", tls.port, username="fleetpatch", password=PASSWORD, ca_path=tls.paths["ca"], **MAIL)
    assert accepted == ["web@example.com"]
    assert tls.logins == [("fleetpatch", True, True)]
    assert tls.messages[0]["tls"] and tls.messages[0]["subject"] == "Patch night"


def test_the_host_name_is_checked_too(tls):
    """The certificate names 127.0.0.1; reaching the relay as localhost is another name."""
    with pytest.raises(MailError, match="TLS certificate verification failed"):
        send_mail("localhost", tls.port, username="fleetpatch", password=PASSWORD, ca_path=tls.paths["ca"], **MAIL)
    assert tls.logins == []


def test_a_refused_login_echoing_the_password_is_scrubbed(tls):
    """A relay whose 535 text repeats the credentials (smtplib.SMTP wrapped so login meets that answer)."""

    class EchoingRelay(smtplib.SMTP):
        def login(self, user, password, **kw):
            raise smtplib.SMTPAuthenticationError(535, ("bad credentials %s:%s" % (user, password)).encode())

    with pytest.raises(MailError) as caught:
        send_mail("127.0.0.1", tls.port, username="fleetpatch", password=PASSWORD, ca_path=tls.paths["ca"],
                  smtp_class=EchoingRelay, **MAIL)
    assert str(caught.value).startswith("the mail relay 127.0.0.1:%d refused the login of fleetpatch (535 bad credentials "
                                        "fleetpatch:********)" % tls.port)


def test_implicit_tls_to_a_plain_relay_fails_cleanly():
    with ClearRelay() as relay:
        with pytest.raises(MailError, match="cannot be reached over TLS"):
            send_mail("127.0.0.1", relay.port, secure="tls", username="fleetpatch", password=PASSWORD, timeout=3, **MAIL)
    assert PASSWORD.encode() not in relay.received


@pytest.mark.parametrize("secure", ["try", "always", ""])
def test_unknown_secure_values_are_refused(secure):
    with pytest.raises(MailError, match="secure must be one of starttls, tls, never"):
        send_mail("127.0.0.1", 25, secure=secure, **MAIL)
