"""mailroom account discover EMAIL: the CLI against a private DNS server
(dnsmasq), a local HTTPS autoconfig server and the suite's Dovecot."""
import json
import os
import subprocess
import sys
import unittest

from discovery import AutoconfigServer, DnsServer, config_xml
from dovecot import Dovecot

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from mailroom_cli import BIN  # noqa: E402


class DiscoverCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dovecot = Dovecot(users=1).start()
        p = cls.dovecot.ports
        cls.dns = DnsServer([
            "local=/test/", "host-record=localhost,127.0.0.1",
            f"srv-host=_imap._tcp.cli.test,localhost,{p['imap']},0,0",
            "srv-host=_imaps._tcp.cli.test",
            "host-record=autoconfig.conf.test,127.0.0.1",
        ]).start()
        cls.web = AutoconfigServer(["autoconfig.conf.test"], {
            "autoconfig.conf.test": config_xml([("pop3", "localhost", p["pop3s"], "SSL",
                                                 "%EMAILLOCALPART%")])}).start()
        cls.bundle = os.path.join(cls.web.dir, "bundle.pem")
        with open(cls.bundle, "w") as out:
            for f in (cls.web.cert, cls.dovecot.cert):
                with open(f) as fh:
                    out.write(fh.read())

    @classmethod
    def tearDownClass(cls):
        cls.web.stop()
        cls.dns.stop()
        cls.dovecot.stop()

    def run_discover(self, *args):
        env = dict(os.environ, MAILROOM_TEST_AUTOCONFIG_PORT=str(self.web.port))
        return subprocess.run([BIN, "account", "discover", *args], capture_output=True,
                              text=True, timeout=60, env=env)

    def test_srv_as_text(self):
        r = self.run_discover("ana@cli.test", "--dns", self.dns.address, "--ca-file", self.bundle)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f"1. IMAP localhost:{self.dovecot.ports['imap']} starttls (srv; cli.test)"
                      "  [probe OK]", r.stdout)
        self.assertRegex(r.stdout, r"ok   starttls +a2 OK")
        self.assertIn("note (srv): _imaps._tcp.cli.test says the service is not offered", r.stdout)

    def test_autoconfig_as_json(self):
        r = self.run_discover("bia@conf.test", "--dns", self.dns.address, "--ca-file",
                              self.bundle, "--format", "json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        [x] = json.loads(r.stdout)["proposals"]
        self.assertEqual((x["source"], x["protocol"], x["port"], x["security"], x["username"],
                          x["probe"]["ok"]),
                         ("autoconfig", "pop3", self.dovecot.ports["pop3s"], "tls", "bia", True))

    def test_without_the_ca_the_probe_fails_and_says_so(self):
        r = self.run_discover("ana@cli.test", "--dns", self.dns.address)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("[probe FAILED]", r.stdout)
        self.assertRegex(r.stdout, r"FAIL tls ")

    def test_no_probe(self):
        r = self.run_discover("x@outlook.com", "--no-probe")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("IMAP outlook.office365.com:993 tls (preset; Microsoft 365 / Outlook.com)"
                      "  [not probed]", r.stdout)
        self.assertIn("credential oauth2, OAuth 2.0 provider microsoft", r.stdout)

    def test_bad_input(self):
        r = self.run_discover("not-an-address")
        self.assertEqual(r.returncode, 1)
        self.assertIn("email: 'not-an-address' is not an e-mail address", r.stderr)
        r = self.run_discover("a@b.test", "--dns", "localhost:53")
        self.assertEqual(r.returncode, 1)
        self.assertIn("dns: expected an IPv4 address and a port", r.stderr)
        r = self.run_discover()
        self.assertEqual(r.returncode, 2)
        self.assertIn("expected one e-mail address", r.stderr)


if __name__ == "__main__":
    unittest.main()
