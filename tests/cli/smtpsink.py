"""A small SMTP server on 127.0.0.1 for the scheduled-report tests: speaks
enough of RFC 5321 (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, QUIT) for
libcurl, and keeps every message it accepts, parsed with the email package.
With starttls=True it offers STARTTLS (RFC 3207) with a self-signed
certificate, which a client that checks certificates refuses.
Debian 12's Python has no aiosmtpd, and smtpd is deprecated, so this is ours."""
import base64
import email
import email.policy
import os
import socket
import ssl
import subprocess
import tempfile
import threading


def _self_signed():
    d = tempfile.mkdtemp(prefix="smtpsink-")
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def _bearer(mechanism, blob):
    """The user and the token of an XOAUTH2 or OAUTHBEARER (RFC 7628)
    initial response."""
    text = base64.b64decode(blob).decode()
    fields = dict(kv.split("=", 1) for kv in text.split("\x01") if "=" in kv)
    user = fields.get("user", "")
    if mechanism == "OAUTHBEARER":  # gs2 header: n,a=USER,
        gs2 = text.split("\x01", 1)[0]
        user = next((p[2:] for p in gs2.split(",") if p.startswith("a=")), "")
        user = user.replace("=2C", ",").replace("=3D", "=")
    return user, fields.get("auth", "").removeprefix("Bearer ")


class SmtpSink:
    def __init__(self, username=None, password=None, starttls=False, bearer_check=None):
        """bearer_check: a function (user, token) -> bool; with it the sink
        offers XOAUTH2 and OAUTHBEARER too (the tests ask the real
        authorization server whether the token is good)."""
        self.username, self.password = username, password
        self.bearer_check = bearer_check
        self.messages = []  # (mail_from, [rcpt], email.message.EmailMessage)
        self.auth_seen = []
        self.commands = []  # every command's verb, as it arrived
        self.tls = _self_signed() if starttls else None
        self.tls_handshakes = []  # "ok" or the handshake's error
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self.port = self._sock.getsockname()[1]
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self):
        self._stop = True
        try:  # wakes the accept() in the server thread, which close() alone would not
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        self._thread.join(5)

    def _serve(self):
        while not self._stop:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        conn.settimeout(10)
        f = conn.makefile("rwb")

        def say(line):
            f.write(line.encode() + b"\r\n")
            f.flush()

        say("220 sink.test ESMTP")
        mail_from, rcpts = None, []
        try:
            while True:
                line = f.readline()
                if not line:
                    return
                cmd = line.decode("ascii", "replace").rstrip("\r\n")
                verb = cmd.split(" ", 1)[0].upper()
                self.commands.append(verb)
                if verb in ("EHLO", "HELO"):
                    lines = ["sink.test"] + (["STARTTLS"] if self.tls else []) + \
                        (["AUTH PLAIN XOAUTH2 OAUTHBEARER"] if self.bearer_check else
                         ["AUTH PLAIN"] if self.username else [])
                    for i, l in enumerate(lines):
                        say(("250 " if i == len(lines) - 1 else "250-") + l)
                elif verb == "STARTTLS" and self.tls:
                    say("220 go ahead")
                    try:
                        conn = self.tls.wrap_socket(conn, server_side=True)
                    except (ssl.SSLError, OSError) as e:
                        self.tls_handshakes.append(str(e))
                        return
                    self.tls_handshakes.append("ok")
                    f = conn.makefile("rwb")
                elif verb == "AUTH":
                    parts = cmd.split(" ")
                    blob = parts[2] if len(parts) > 2 else None
                    if blob is None:
                        say("334 ")
                        blob = f.readline().decode().strip()
                    mechanism = parts[1].upper() if len(parts) > 1 else ""
                    if mechanism in ("XOAUTH2", "OAUTHBEARER") and self.bearer_check:
                        user, token = _bearer(mechanism, blob)
                        self.auth_seen.append((mechanism, user))
                        say("235 ok" if self.bearer_check(user, token) else
                            "535 authentication failed")
                        continue
                    _, user, pw = base64.b64decode(blob).decode().split("\0")
                    self.auth_seen.append(user)
                    if (user, pw) == (self.username, self.password):
                        say("235 ok")
                    else:
                        say("535 authentication failed")
                elif verb == "MAIL":
                    mail_from, rcpts = cmd[cmd.index(":") + 1:].strip(" <>"), []
                    say("250 ok")
                elif verb == "RCPT":
                    rcpts.append(cmd[cmd.index(":") + 1:].strip(" <>"))
                    say("250 ok")
                elif verb == "DATA":
                    say("354 go ahead")
                    data = []
                    while True:
                        l = f.readline()
                        if l in (b".\r\n", b".\n", b""):
                            break
                        data.append(l[1:] if l.startswith(b"..") else l)
                    msg = email.message_from_bytes(b"".join(data), policy=email.policy.default)
                    self.messages.append((mail_from, rcpts, msg))
                    say("250 queued")
                elif verb == "RSET":
                    mail_from, rcpts = None, []
                    say("250 ok")
                elif verb == "NOOP":
                    say("250 ok")
                elif verb == "QUIT":
                    say("221 bye")
                    return
                else:
                    say("502 command not recognized")
        except (OSError, ValueError):
            return
        finally:
            conn.close()
