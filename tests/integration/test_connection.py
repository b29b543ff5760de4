"""mailroom account test against a real Dovecot: every security mode for
IMAP and POP3, a wrong password, certificate checks, STARTTLS refusals."""
import json
import unittest

from helpers import MailTestCase, server, stop_servers


def tearDownModule():
    stop_servers()


class ConnectionTest(MailTestCase):
    def steps(self, name):
        return self.json("account", "test", name)

    def assert_passes(self, name, expected_steps):
        result = self.steps(name)
        self.assertTrue(result["ok"], result)
        names = [s["step"] for s in result["steps"]]
        for step in expected_steps:
            self.assertIn(step, names)
        for s in result["steps"]:
            self.assertIn(s["result"], ("ok", "note"), s)
        return result

    def test_every_security_mode(self):
        self.deliver([b"Subject: waiting\r\n\r\nhello\r\n"])
        for proto, folder_step in (("imap", "folder"), ("pop3", "stat")):
            for security, extra in (("none", []), ("starttls", ["starttls", "tls"]),
                                    ("starttls-optional", ["starttls", "tls"]),
                                    ("tls", ["tls"])):
                name = f"{proto}-{security}"
                self.account(name, proto, security)
                r = self.assert_passes(name, ["resolve", "connect", "greeting", "capabilities",
                                              "authentication", folder_step, "messages"] + extra)
                self.assertEqual(r["messages"], 1, name)
                if security == "none":
                    self.assertNotIn("tls", [s["step"] for s in r["steps"]])
        text = self.ok("account", "test", "imap-tls")
        self.assertIn("TLSv1.3", text)
        self.assertIn("verification: skipped", text)
        self.assertIn("1 message waiting", text)

    def test_every_mechanism(self):
        # NTLM goes through GNU SASL like the others, but Debian's Dovecot is
        # built without it, so it cannot be proven here.
        cases = [("imap", m) for m in ("auto", "PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1",
                                       "SCRAM-SHA-256")]
        cases += [("pop3", m) for m in ("auto", "USER", "APOP", "PLAIN", "LOGIN", "CRAM-MD5",
                                        "SCRAM-SHA-1", "SCRAM-SHA-256")]
        for proto, mech in cases:
            name = f"{proto}-{mech}"
            self.account(name, proto, "tls", "--auth", mech)
            r = self.json("account", "test", name)
            auth = [s for s in r["steps"] if s["step"] == "authentication"][0]
            self.assertEqual(auth["result"], "ok", (name, auth))
            want = {"auto": "SCRAM-SHA-256"}.get(mech, mech)
            self.assertIn(want, auth["detail"])

    def test_wrong_password(self):
        self.add_credential("wrong", password="not-the-password", username=self.user)
        for proto in ("imap", "pop3"):
            self.account(f"bad-{proto}", proto, "tls", "--credential", "wrong")
            out = self.run_cli("account", "test", f"bad-{proto}", "--format", "json")
            self.assertEqual(out.returncode, 1)
            self.assertIn("the server refused the login", out.stderr)
            steps = json.loads(out.stdout)["steps"]
            self.assertEqual(steps[-1]["step"], "authentication")
            self.assertEqual(steps[-1]["result"], "failed")
            self.assertIn("Authentication failed", steps[-1]["detail"])  # Dovecot's words
            self.assertNotIn("not-the-password", out.stdout + out.stderr)

    def test_certificate_checks(self):
        for proto in ("imap", "pop3"):
            self.add_account_at(f"verify-{proto}", proto, "tls", "127.0.0.1", "--skip-certificate",
                                "no")
            out = self.run_cli("account", "test", f"verify-{proto}")
            self.assertEqual(out.returncode, 1)
            self.assertIn("self-signed certificate", out.stderr)
            self.assertIn("CN=localhost", out.stderr)  # which certificate it was
            self.assertRegex(out.stdout, r"FAILED\s+tls")
            # the suite's CA file makes the same server trusted, by name and by IP
            for host in ("localhost", "127.0.0.1"):
                self.add_account_at(f"ca-{proto}-{host}", proto, "tls", host, "--ca-file",
                                    self.d.cert)
                r = self.assert_passes(f"ca-{proto}-{host}", ["tls"])
                tls = [s for s in r["steps"] if s["step"] == "tls"][0]
                self.assertIn("verification: ok", tls["detail"])

    def test_connection_refused_and_bad_folder(self):
        self.json("account", "add", "--name", "closed", "--protocol", "imap", "--address",
                  "127.0.0.1", "--port", "1", "--security", "none", "--credential", "login")
        out = self.run_cli("account", "test", "closed")
        self.assertEqual(out.returncode, 1)
        self.assertIn("Connection refused", out.stderr)
        self.account("nofolder", "imap", "tls", "--folder", "INBOX.DoesNotExist")
        out = self.run_cli("account", "test", "nofolder")
        self.assertEqual(out.returncode, 1)
        self.assertIn("does not exist on the server", out.stderr)


class NoStartTlsTest(MailTestCase):
    """A server that offers no STARTTLS at all."""
    dovecot = "plain"

    def setUp(self):
        server("plain", tls=False)
        super().setUp()

    def test_required_starttls_is_refused(self):
        for proto in ("imap", "pop3"):
            self.account(f"req-{proto}", proto, "starttls")
            out = self.run_cli("account", "test", f"req-{proto}")
            self.assertEqual(out.returncode, 1)
            self.assertIn("refusing", out.stderr)
            self.assertRegex(out.stdout, r"FAILED\s+starttls")
            self.assertNotIn("authentication", out.stdout)  # no password was sent

    def test_optional_starttls_goes_on_in_plain_text(self):
        for proto in ("imap", "pop3"):
            self.account(f"opt-{proto}", proto, "starttls-optional")
            r = self.json("account", "test", f"opt-{proto}")
            self.assertTrue(r["ok"])
            note = [s for s in r["steps"] if s["step"] == "starttls"][0]
            self.assertEqual(note["result"], "note")
            self.assertIn("continuing in plain text", note["detail"])


if __name__ == "__main__":
    unittest.main()
