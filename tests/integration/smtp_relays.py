"""Stand-in SMTP relays on 127.0.0.1 for the secret tests (Python 3.11+ has no smtpd).

ClearRelay is a small socket server that offers AUTH but no STARTTLS (the relay that got a
password in clear from `secure: try`) and records every byte it receives, so a test can say
what went over the wire. TlsRelay is aiosmtpd with STARTTLS required, a certificate from a
throwaway CA (cr_servers/tls.py) and one user, recording logins and messages.
"""

import email
import email.policy
import socket
import ssl
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cr_servers.base import free_port


class ClearRelay(object):
    def __init__(self, port=None):
        self.port = port or free_port(5280)
        self.received = b""
        self.lock = threading.Lock()
        self.sock = None
        self.thread = None
        self.stopping = False

    def start(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(5)
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        return self

    def _serve(self):
        while not self.stopping:
            try:
                conn, dummy = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        conn.settimeout(5)
        reader = conn.makefile("rb")
        conn.sendall(b"220 clear.example ESMTP no TLS here\r\n")
        in_data = False
        try:
            for line in reader:
                with self.lock:
                    self.received += line
                if in_data:
                    if line == b".\r\n":
                        in_data = False
                        conn.sendall(b"250 queued\r\n")
                    continue
                verb = line.split(b" ")[0].strip().upper()
                if verb in (b"EHLO", b"HELO"):
                    conn.sendall(b"250-clear.example\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n")
                elif verb == b"AUTH":
                    conn.sendall(b"235 welcome\r\n")
                elif verb == b"DATA":
                    in_data = True
                    conn.sendall(b"354 go ahead\r\n")
                elif verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    break
                else:
                    conn.sendall(b"250 OK\r\n")
        except OSError:
            pass
        finally:
            conn.close()

    def stop(self):
        self.stopping = True
        self.sock.close()
        self.thread.join(2)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class _Box(object):
    def __init__(self, user, password):
        self.user, self.password = user, password
        self.messages, self.logins = [], []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append({"to": envelope.rcpt_tos, "subject": str(message["Subject"]),
                              "body": message.get_body(("plain",)).get_content(), "tls": session.ssl is not None})
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, data):
        ok = isinstance(data, LoginPassword) and data.login.decode() == self.user and data.password.decode() == self.password
        self.logins.append((data.login.decode() if isinstance(data, LoginPassword) else None, ok, session.ssl is not None))
        return AuthResult(success=ok)


class TlsRelay(object):
    """STARTTLS required before AUTH or MAIL; cert/key from make_ca_and_server_cert()."""

    def __init__(self, paths, user="fleetpatch", password="relay-password-9", port=None):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(paths["cert"], paths["key"])
        self.box = _Box(user, password)
        self.port = port or free_port(5290)
        self.controller = Controller(self.box, hostname="127.0.0.1", port=self.port, tls_context=context,
                                     require_starttls=True, authenticator=self.box.authenticate, auth_require_tls=True,
                                     auth_exclude_mechanism=["LOGIN"])

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()

    @property
    def messages(self):
        return self.box.messages

    @property
    def logins(self):
        return self.box.logins
