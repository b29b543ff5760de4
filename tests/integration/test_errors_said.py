"""Errors that say what to do (issue 20, item 3): an account that talks to
the wrong kind of port or server, or names a mechanism the server does not
list, fails on the step where it went wrong, says the likely fix, and ends
within seconds, against the suite's real Dovecot."""
import json
import time
import unittest

from helpers import MailTestCase, stop_servers


def tearDownModule():
    stop_servers()


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


if __name__ == "__main__":
    unittest.main()
