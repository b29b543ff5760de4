"""The delivery transports' real receivers, proved with Python's own
clients before mailroom is pointed at them: Dovecot's LMTP service on a
loopback port and on a unix socket (smtplib.LMTP), and dovecot-lda as an
MDA command run as mailroom's service user (the user the daemon runs as
when the tests run as root). Each message is read back over IMAP."""
import imaplib
import os
import smtplib
import subprocess
import sys
import time
import unittest
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from mailroom_cli import SERVICE_USER, service_ids  # noqa: E402
from dovecot import POOL_PASSWORD, Dovecot  # noqa: E402

D = None


def setUpModule():
    global D
    D = Dovecot(name="transports", lmtp=True, users=8).start()


def tearDownModule():
    if D:
        D.stop()


def message(tag):
    return (b"From: Ana <ana@example.com>\r\nTo: box@example.com\r\n"
            b"Message-ID: <%s@example.com>\r\nSubject: transport %s\r\n\r\n" % (tag, tag) +
            b"line one\r\n.a line with a dot\r\ncaf\xc3\xa9\r\n")


def inbox(user, want=1, password=POOL_PASSWORD):
    """The messages in user's INBOX over IMAP (waiting a little for want)."""
    deadline = time.time() + 10
    while True:
        with imaplib.IMAP4("127.0.0.1", D.ports["imap"]) as imap:
            imap.login(user, password)
            imap.select("INBOX", readonly=True)
            _, data = imap.search(None, "ALL")
            ids = data[0].split()
            out = []
            for i in ids:
                _, parts = imap.fetch(i, "(RFC822)")
                out.append(parts[0][1])
            imap.logout()
        if len(out) >= want or time.time() > deadline:
            return out
        time.sleep(0.2)


def as_service_user(argv):
    """argv run as mailroom's service user when root (setpriv), else as is."""
    if os.geteuid() != 0:
        return argv
    service_ids()  # made when missing, as the suite does
    return ["setpriv", "--reuid", SERVICE_USER, "--regid", SERVICE_USER, "--clear-groups"] + argv


class LmtpTest(unittest.TestCase):
    def check_delivered(self, user, raw):
        got = inbox(user)
        self.assertEqual(len(got), 1)
        # Dovecot puts Return-Path and Delivered-To above the message
        self.assertTrue(got[0].endswith(raw), got[0][:300])
        self.assertIn(b"Delivered-To: " + user.encode(), got[0])

    def test_tcp_port(self):
        user = D.take_user()
        raw = message(uuid.uuid4().hex.encode())
        with smtplib.LMTP("127.0.0.1", D.lmtp_port) as lmtp:
            refused = lmtp.sendmail("ana@example.com", [user], raw)
        self.assertEqual(refused, {})
        self.check_delivered(user, raw)

    def test_unix_socket(self):
        user = D.take_user()
        raw = message(uuid.uuid4().hex.encode())
        with smtplib.LMTP(D.lmtp_socket) as lmtp:
            self.assertEqual(lmtp.sendmail("ana@example.com", [user], raw), {})
        self.check_delivered(user, raw)
        # the service user may connect to it too
        probe = ("import smtplib,sys\nwith smtplib.LMTP(sys.argv[1]) as l:\n"
                 "    print(l.noop()[0])\n")
        r = subprocess.run(as_service_user([sys.executable, "-c", probe, D.lmtp_socket]),
                           capture_output=True, text=True, timeout=30)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "250"), r.stderr)

    def test_per_recipient_answers(self):
        """One known and one unknown recipient: the first gets the message,
        the second a 550 (what mailroom's LMTP transport fails for good)."""
        user = D.take_user()
        raw = message(uuid.uuid4().hex.encode())
        with smtplib.LMTP("127.0.0.1", D.lmtp_port) as lmtp:
            refused = lmtp.sendmail("ana@example.com", [user, "nobody-here"], raw)
        self.assertEqual(list(refused), ["nobody-here"])
        self.assertEqual(refused["nobody-here"][0] // 100, 5)
        self.check_delivered(user, raw)


class LdaTest(unittest.TestCase):
    def test_lda_as_the_service_user(self):
        uid, gid = service_ids() if os.geteuid() == 0 else (os.getuid(), os.getgid())
        user = D.add_lda_user("lda-" + uuid.uuid4().hex[:8], uid, gid)
        time.sleep(1.1)  # Dovecot re-reads its passwd file at most once a second
        raw = message(uuid.uuid4().hex.encode())
        cmd = D.lda_command(user)
        self.assertTrue(cmd.startswith("/usr/lib/dovecot/dovecot-lda -c "), cmd)
        # as mailroom runs a command target: /bin/sh -c, a clean environment
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/"}
        r = subprocess.run(as_service_user(["/bin/sh", "-c", cmd]), input=raw, env=env,
                           capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        got = inbox(user)
        self.assertEqual(len(got), 1)
        self.assertTrue(got[0].endswith(raw), got[0][:300])
        # an unknown user: EX_NOUSER (67), which mailroom fails for good
        r = subprocess.run(as_service_user(["/bin/sh", "-c", D.lda_command("nobody-here")]),
                           input=raw, env=env, capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 67, r.stderr.decode(errors="replace"))


if __name__ == "__main__":
    unittest.main()
