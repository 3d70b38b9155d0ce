# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sending an e-mail notice over SMTP with TLS that is really checked (stdlib only, no Ansible import).

community.general.mail's `secure: try` falls back to clear text when the relay offers no
STARTTLS, and its TLS does not verify the relay's certificate (smtplib's default context), so a
password could go in clear or to whoever answered. Here:
- `starttls` (the default) requires the relay to offer STARTTLS, and `tls` speaks TLS from the
  first byte (port 465); both verify the certificate and the host name against the system CAs
  or `ca_path`. A relay without STARTTLS is an error before anything, password included, is sent.
- `never` is plain SMTP, for a local relay; it refuses to log in, so no password goes in clear.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from ansible_collections.fleetpatch.hybrid.plugins.module_utils.redact import redact

SECURE = ("starttls", "tls", "never")


class MailError(ValueError):
    """The notice was not sent: the message says why and what to change (never the password)."""


def build_message(sender, to, subject, body, charset="utf-8"):
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(body, charset=charset)
    return message


def tls_context(validate_certs=True, ca_path=None):
    if not validate_certs:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=ca_path) if ca_path else ssl.create_default_context()


def send_mail(host, port, sender, to, subject, body, secure="starttls", username=None, password=None, validate_certs=True,
              ca_path=None, timeout=30.0, smtp_class=smtplib.SMTP, smtp_ssl_class=smtplib.SMTP_SSL):
    """Send one message; returns the recipients the relay accepted. Raises MailError."""
    if secure not in SECURE:
        raise MailError("secure must be one of %s, got %r" % (", ".join(SECURE), secure))
    if not to:
        raise MailError("to: no recipient")
    if secure == "never" and username:
        raise MailError("secure=never with a username would send the password in clear text: use starttls or tls "
                        "(the relay must offer TLS), or no username for a relay that needs no login")
    where = "%s:%s" % (host, port)
    secrets = (password,) if password else ()
    context = tls_context(validate_certs, ca_path)
    try:
        if secure == "tls":
            smtp = smtp_ssl_class(host=host, port=port, timeout=timeout, context=context)
        else:
            smtp = smtp_class(host=host, port=port, timeout=timeout)
        try:
            smtp.ehlo()
            if secure == "starttls":
                if not smtp.has_extn("starttls"):
                    raise MailError("the mail relay %s offers no STARTTLS: nothing was sent (no password, no notice); "
                                    "use a relay with TLS, secure=tls for implicit TLS (port 465), or secure=never "
                                    "only for a relay that needs no login" % where)
                smtp.starttls(context=context)
                smtp.ehlo()
            if username:
                smtp.login(username, password or "")
            refused = smtp.send_message(build_message(sender, to, subject, body))
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()
    except MailError:
        raise
    except ssl.SSLCertVerificationError as exc:
        raise MailError("the mail relay %s: TLS certificate verification failed (%s): give the CA that signed it with "
                        "ca_path" % (where, exc.verify_message or exc))
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError("the mail relay %s refused the login of %s (%s): check the username and password"
                        % (where, username, redact(_smtp_text(exc), secrets)))
    except smtplib.SMTPRecipientsRefused as exc:
        raise MailError("the mail relay %s refused every recipient (%s)" % (where, ", ".join(sorted(exc.recipients))))
    except smtplib.SMTPException as exc:
        raise MailError("the mail relay %s: %s" % (where, redact(_smtp_text(exc), secrets)))
    except (ssl.SSLError, socket.timeout, OSError) as exc:
        raise MailError("the mail relay %s cannot be reached over %s (%s)" % (
            where, "TLS" if secure != "never" else "SMTP", redact(str(exc), secrets)))
    return [r for r in to if r not in (refused or {})]


def _smtp_text(exc):
    error = getattr(exc, "smtp_error", None)
    if isinstance(error, bytes):
        error = error.decode("utf-8", "replace")
    code = getattr(exc, "smtp_code", None)
    return ("%s %s" % (code, error)).strip() if error else str(exc)
