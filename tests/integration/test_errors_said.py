"""Errors that say what to do (issue 20, item 3): an account that talks to
the wrong kind of port or server, or names a mechanism the server does not
list, fails on the step where it went wrong, says the likely fix, and ends
within seconds, against the suite's real Dovecot."""
import json
import time
import unittest

from helpers import FakeServerTestCase, MailTestCase, server, stop_servers
from proxies import Dante
from relay import Relay

PROXIES = []


def tearDownModule():
    for p in PROXIES:
        p.stop()
    stop_servers()


def dante():
    if not PROXIES:
        PROXIES.append(Dante("none").start())
    return PROXIES[0]


class ErrorsSaidTest(MailTestCase):
    def add_at_port(self, name, proto, security, port, *extra):
        return self.json("account", "add", "--name", name, "--protocol", proto, "--address",
                         "127.0.0.1", "--port", str(port), "--security", security,
                         "--credential", "login", "--skip-certificate", "yes", *extra)

    def failing(self, name, within=8):
        """Test connection for name: it fails within `within` seconds; the
        failed step and the error on stderr."""
        t0 = time.time()
        r = self.run_cli("account", "test", name, "--format", "json")
        took = time.time() - t0
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertLess(took, within, r.stderr)
        steps = json.loads(r.stdout)["steps"]
        self.assertEqual(steps[-1]["result"], "failed", steps)
        return steps[-1], r.stderr, steps

    def fetch_fails(self, name, within=8):
        t0 = time.time()
        r = self.run_cli("fetch", name, "--format", "json")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertLess(time.time() - t0, within, r.stderr)
        return r.stderr

    def test_implicit_tls_against_a_plain_port(self):
        for proto in ("imap", "pop3"):
            port = self.d.ports[proto]
            name = f"tls-on-plain-{proto}"
            self.add_at_port(name, proto, "tls", port)
            step, err, _ = self.failing(name)
            self.assertEqual(step["step"], "tls")
            said = (f"the server answered in plain text: port {port} does not speak implicit "
                    "TLS; use STARTTLS (security starttls) or the implicit-TLS port (993 for "
                    "IMAP, 995 for POP3)")
            self.assertIn(said, step["detail"])
            self.assertIn("* OK" if proto == "imap" else "+OK", step["detail"])  # quoted
            self.assertNotIn("wrong version number", step["detail"])
            self.assertIn(said, err)
            self.assertIn(said, self.fetch_fails(name))

    def test_the_same_through_a_network_connector(self):
        """Through a SOCKS5 connector the errors are the same, and the
        implicit-TLS probe's second connection goes through it too."""
        self.json("connector", "add", "--name", "socks", "--type", "socks5", "--address",
                  "127.0.0.1", "--port", str(dante().port))
        via = ("--use-connector", "yes", "--connector", "socks")
        port = self.d.ports["imap"]
        self.add_at_port("via-tls-on-plain", "imap", "tls", port, *via)
        step, _, steps = self.failing("via-tls-on-plain")
        self.assertEqual(step["step"], "tls")
        self.assertIn(f"the server answered in plain text: port {port} does not speak implicit "
                      "TLS; use STARTTLS", step["detail"])
        self.assertTrue(any(s["step"].startswith("proxy") for s in steps), steps)
        port = self.d.ports["imaps"]
        self.add_at_port("via-plain-on-tls", "imap", "none", port, *via)
        step, _, _ = self.failing("via-plain-on-tls")
        self.assertEqual(step["step"], "greeting")
        self.assertIn("implicit TLS", step["detail"])

    def test_plain_text_against_an_implicit_tls_port(self):
        """The implicit-TLS port sends nothing and waits for a ClientHello:
        after 3 s without a greeting a second connection tries a handshake,
        which succeeds, so the run stops there, not at the step timeout."""
        for proto in ("imap", "pop3"):
            port = self.d.ports[proto + "s"]
            for security in ("starttls", "none"):
                name = f"{security}-on-tls-{proto}"
                self.add_at_port(name, proto, security, port)
                t0 = time.time()
                step, err, _ = self.failing(name)
                self.assertGreater(time.time() - t0, 2.5)
                self.assertEqual(step["step"], "greeting")
                said = (f"no greeting in 3 s: port {port} answers a TLS handshake, so it speaks "
                        "implicit TLS; use security tls")
                self.assertIn(said, step["detail"])
                self.assertIn(said, err)
                if security == "starttls":
                    self.assertIn(said, self.fetch_fails(name))

    def test_the_other_protocol(self):
        for proto, other, said in (
                ("imap", "pop3", "this server speaks POP3 (+OK greeting); set protocol pop3"),
                ("pop3", "imap", "this server speaks IMAP (* OK greeting); set protocol imap")):
            for security in ("none", "tls"):
                port = self.d.ports[other + ("s" if security == "tls" else "")]
                name = f"{proto}-at-{other}-{security}"
                self.add_at_port(name, proto, security, port)
                step, err, _ = self.failing(name, within=4)
                self.assertEqual(step["step"], "greeting")
                self.assertEqual(step["detail"], said)
                self.assertIn(said, err)
        self.assertIn("set protocol pop3", self.fetch_fails("imap-at-pop3-none", within=4))

    def test_wrong_password_names_the_mechanism_once(self):
        self.add_credential("wrong", password="not-the-password", username=self.user)
        for proto in ("imap", "pop3"):
            name = f"once-{proto}"
            self.account(name, proto, "tls", "--credential", "wrong", "--auth", "SCRAM-SHA-256")
            step, err, _ = self.failing(name)
            self.assertEqual(step["step"], "authentication")
            self.assertEqual(step["detail"].count("SCRAM-SHA-256"), 1, step["detail"])
            self.assertTrue(step["detail"].startswith(
                "the server refused the login (SCRAM-SHA-256): "), step["detail"])


class UnlistedMechanismTest(MailTestCase):
    """A Dovecot that offers CRAM-MD5 and PLAIN only."""
    dovecot = "few"

    def setUp(self):
        server("few", mechanisms="cram-md5 plain")
        super().setUp()

    def test_an_unlisted_mechanism_is_named_then_tried(self):
        for proto in ("imap", "pop3"):
            name = f"unlisted-{proto}"
            self.account(name, proto, "tls", "--auth", "SCRAM-SHA-1")
            t0 = time.time()
            r = self.run_cli("account", "test", name, "--format", "json")
            self.assertLess(time.time() - t0, 8)
            self.assertEqual(r.returncode, 1, r.stdout)
            steps = json.loads(r.stdout)["steps"]
            said = "the server does not offer SCRAM-SHA-1; it offers CRAM-MD5 PLAIN"
            auth = [s for s in steps if s["step"] == "authentication"]
            self.assertEqual([s["result"] for s in auth], ["note", "failed"], auth)
            self.assertIn(said, auth[0]["detail"])  # said before trying...
            self.assertIn("tried anyway, it refused the login", auth[1]["detail"])  # ...and tried
            self.assertIn(said, auth[1]["detail"])
            self.assertEqual(auth[1]["detail"].count("SCRAM-SHA-1"), 1, auth[1]["detail"])
            self.assertIn(said, r.stderr)
            # each said whole, the mechanisms its only arguments (issue 21)
            self.assertEqual(auth[0]["said"], [{
                "format": "the server does not offer %s; it offers %s; trying it anyway",
                "args": ["SCRAM-SHA-1", "CRAM-MD5 PLAIN"]}])
            self.assertEqual(auth[1]["said"][0]["format"],
                             "the server does not offer %s; it offers %s; tried anyway, it "
                             "refused the login: %s")
        # a listed mechanism has no note
        self.account("listed", "imap", "tls", "--auth", "CRAM-MD5")
        steps = self.json("account", "test", "listed")["steps"]
        auth = [s for s in steps if s["step"] == "authentication"]
        self.assertEqual([(s["result"], s["detail"]) for s in auth], [("ok", "CRAM-MD5 accepted")])


class UnlistedButAcceptedTest(MailTestCase):
    """Some servers accept a mechanism they do not list: a relay in front of
    the suite's Dovecot hides AUTH=SCRAM-SHA-1 from its capabilities."""

    def test_an_unlisted_mechanism_the_server_accepts(self):
        relay = Relay(self.d.ports["imap"],
                      rewrite=lambda data: data.replace(b" AUTH=SCRAM-SHA-1", b""))
        try:
            self.json("account", "add", "--name", "hidden", "--protocol", "imap", "--address",
                      "127.0.0.1", "--port", str(relay.port), "--security", "none",
                      "--credential", "login", "--auth", "SCRAM-SHA-1")
            r = self.run_cli("account", "test", "hidden", "--format", "json")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            steps = json.loads(r.stdout)["steps"]
            caps = next(s for s in steps if s["step"] == "capabilities")
            self.assertNotIn("SCRAM-SHA-1", caps["detail"])  # hidden indeed
            auth = [s for s in steps if s["step"] == "authentication"]
            self.assertEqual([s["result"] for s in auth], ["note", "ok"], auth)
            self.assertIn("the server does not offer SCRAM-SHA-1", auth[0]["detail"])
            self.assertIn("SCRAM-SHA-1 accepted", auth[1]["detail"])
            self.assertTrue(any(x.startswith("a0") and "AUTHENTICATE SCRAM-SHA-1" in x
                                for x in relay.lines()), relay.lines())
        finally:
            relay.stop()


class TlsRecordTest(FakeServerTestCase):
    def test_a_tls_record_where_the_greeting_should_be(self):
        """A server that speaks first in TLS (an alert, here) is told at once."""
        for proto in ("imap", "pop3"):
            self.serve(lambda c: (c.send(b"\x15\x03\x03\x00\x02\x02\x46"), time.sleep(5)),
                       proto)
            t0 = time.time()
            r = self.run_cli("account", "test", "fake", "--format", "json")
            self.assertLess(time.time() - t0, 2)
            self.assertEqual(r.returncode, 1)
            step = json.loads(r.stdout)["steps"][-1]
            self.assertEqual((step["step"], step["result"]), ("greeting", "failed"))
            self.assertIn(f"the server sent a TLS record where the {proto.upper()} greeting "
                          "should be", step["detail"])
            self.assertIn("speaks implicit TLS; use security tls", step["detail"])
            self.ok("account", "rm", "fake")


if __name__ == "__main__":
    unittest.main()
