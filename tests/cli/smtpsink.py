"""A small SMTP server on 127.0.0.1 for the scheduled-report tests: speaks
enough of RFC 5321 (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, QUIT) for
libcurl, and keeps every message it accepts, parsed with the email package.
Debian 12's Python has no aiosmtpd, and smtpd is deprecated, so this is ours."""
import base64
import email
import email.policy
import socket
import threading


class SmtpSink:
    def __init__(self, username=None, password=None):
        self.username, self.password = username, password
        self.messages = []  # (mail_from, [rcpt], email.message.EmailMessage)
        self.auth_seen = []
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
                if verb in ("EHLO", "HELO"):
                    if self.username:
                        f.write(b"250-sink.test\r\n250 AUTH PLAIN\r\n")
                        f.flush()
                    else:
                        say("250 sink.test")
                elif verb == "AUTH":
                    parts = cmd.split(" ")
                    blob = parts[2] if len(parts) > 2 else None
                    if blob is None:
                        say("334 ")
                        blob = f.readline().decode().strip()
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
