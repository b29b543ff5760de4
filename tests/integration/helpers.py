"""Integration test base: one private Dovecot per test module, a fresh user
(own mailbox) and a fresh mailroom data directory per test."""
import os
import subprocess
import sys
import unittest
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from mailroom_cli import BIN, CliTestCase  # noqa: E402
from dovecot import POOL_PASSWORD, Dovecot  # noqa: E402

SERVERS = {}


def server(name="main", **kw):
    """The module's Dovecot, started on first use."""
    if name not in SERVERS:
        SERVERS[name] = Dovecot(name=name, **kw).start()
    return SERVERS[name]


def stop_servers():
    for d in SERVERS.values():
        d.stop()
    SERVERS.clear()


def message(i, subject=None, body=None, extra=b""):
    subject = subject or f"message {i}"
    body = body or f"body of message {i}\r\n".encode() * 3
    return (b"From: sender%d@example.com\r\nTo: inbox@example.com\r\n" % i +
            b"Message-ID: <m%d.%s@example.com>\r\n" % (i, uuid.uuid4().hex.encode()) +
            b"Date: Sat, 21 Nov 2026 10:00:00 +0000\r\nSubject: " + subject.encode() + b"\r\n" +
            extra + b"\r\n" + body)


def crlf(raw):
    """What IMAP and POP3 serve for a message stored with LF line ends."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class FakeServerTestCase(CliTestCase):
    """A scripted server per test (fakeserver.py) and the account "fake" on
    it, with the credential "login"; the servers stop with the test."""
    proto = "imap"

    def setUp(self):
        super().setUp()
        self.add_credential("login", password="fake-pw", username="someone")
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.stop()
        super().tearDown()

    def serve(self, scenario, proto=None, *extra):
        from fakeserver import FakeServer
        srv = FakeServer(scenario)
        self.servers.append(srv)
        self.json("account", "add", "--name", "fake", "--protocol", proto or self.proto,
                  "--address", "127.0.0.1", "--port", str(srv.port), "--security", "none",
                  "--credential", "login", *extra)
        return srv


class MailTestCase(CliTestCase):
    dovecot = "main"
    password = POOL_PASSWORD

    def setUp(self):
        super().setUp()
        self.d = server(self.dovecot)
        self.user = self.d.take_user()
        self.add_credential("login", password=self.password, username=self.user)

    def port(self, proto, security):
        return self.d.ports[proto + ("s" if security == "tls" else "")]

    def account(self, name, proto="imap", security="tls", *extra):
        return self.add_account_at(name, proto, security, "127.0.0.1", *extra)

    def add_account_at(self, name, proto, security, address, *extra):
        args = ["account", "add", "--name", name, "--protocol", proto, "--address", address,
                "--port", str(self.port(proto, security)), "--security", security,
                "--credential", "login"]
        if "--ca-file" not in extra and "--skip-certificate" not in extra:
            args += ["--skip-certificate", "yes"]
        return self.json(*args, *extra)

    def deliver(self, raws, folder=None):
        return [self.d.deliver(self.user, r, folder=folder) for r in raws]

    def fetch(self, name, *extra, ok=True):
        r = self.run_cli("fetch", name, "--format", "json", *extra)
        if ok:
            self.assertEqual(r.returncode, 0, r.stderr)
        import json
        return json.loads(r.stdout)["runs"][0] if r.stdout.strip() else None, r

    def raw(self, msg_id):
        r = subprocess.run([BIN, "--data", self.data, "inbox", "show", str(msg_id), "--raw"],
                           capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def inbox(self, *extra):
        out = []
        page = 1
        while True:
            data = self.json("inbox", "list", "--page", str(page), *extra)
            out += data["messages"]
            if page >= data["pages"]:
                return out
            page += 1
