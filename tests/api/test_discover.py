"""Setting up from an e-mail address: POST /api/v1/accounts/discover against
a private DNS server (dnsmasq), a local HTTPS server for autoconfig files
and the suite's Dovecot, which the proposals are probed against."""
import json
import os
import re
import socket
import sys
import time
import unittest

from daemon import Client, Daemon

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from discovery import AutoconfigServer, BrokenDns, DnsServer, SilentDns, config_xml  # noqa: E402
from dovecot import Dovecot  # noqa: E402

VIEWER_PASSWORD = "viewer-Password-42"
ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def said_catalog():
    """web/js/said-pt.js: the English formats the console has Portuguese for."""
    with open(os.path.join(ROOT, "web", "js", "said-pt.js"), encoding="utf-8") as f:
        text = f.read()
    return json.loads(text[text.index("export const pt = ") + 18:text.rindex("}") + 1])


def said_again(parts):
    """The English the parts say: each format with its arguments, joined by ": "."""
    conv = re.compile(r"%(?:%|[-+ #0]*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:hh|h|ll|l|j|z|t|L)?"
                      r"[diouxXcsfgep])")
    out = []
    for p in parts:
        args = iter(p["args"])
        out.append(conv.sub(lambda m: "%" if m.group(0) == "%%" else next(args),
                            p["format"].replace("%.*s", "%s")))
    return ": ".join(out)


def records(dovecot):
    p = dovecot.ports
    return [
        "local=/test/",  # everything under .test is ours: no such name is NXDOMAIN
        "host-record=localhost,127.0.0.1",
        # srv.test: SRV records only (RFC 6186), POP3 with STARTTLS not offered
        f"srv-host=_imaps._tcp.srv.test,localhost,{p['imaps']},0,10",
        f"srv-host=_imap._tcp.srv.test,localhost,{p['imap']},10,10",
        f"srv-host=_pop3s._tcp.srv.test,localhost,{p['pop3s']},0,0",
        "srv-host=_pop3._tcp.srv.test",
        # the autoconfig files' hosts
        "host-record=autoconfig.auto.test,127.0.0.1",
        "host-record=autoconfig.bad.test,127.0.0.1",
        "host-record=autoconfig.big.test,127.0.0.1",
        "host-record=autoconfig.evil.test,127.0.0.1",
        # a custom domain hosted by Google (by its MX record)
        "mx-host=gws.test,aspmx.l.google.com,10",
        # a server on the cloud metadata address
        "srv-host=_imaps._tcp.meta.test,metadata.meta.test,993,0,0",
        "host-record=metadata.meta.test,169.254.169.254",
    ]


# A port that stays closed while the tests run: bound here and never
# listened on, so no other test's server can take it (a free port picked
# and let go could be, when tests run side by side).
CLOSED = socket.socket()
CLOSED.bind(("127.0.0.1", 0))


def autoconfig_files(dovecot):
    p = dovecot.ports
    closed = CLOSED.getsockname()[1]
    return {
        "autoconfig.auto.test": config_xml([
            ("imap", "localhost", p["imaps"], "SSL", "%EMAILLOCALPART%"),
            ("pop3", "localhost", p["pop3"], "STARTTLS", "%EMAILADDRESS%"),
        ]),
        "autoconfig.bad.test": b"<?xml version=\"1.0\"?><clientConfig><emailProvider>"
                               b"<incomingServer type=\"imap\"><hostname>x</port>",
        "autoconfig.big.test": b"<clientConfig>" + b" " * (2 << 20) + b"</clientConfig>",
        "autoconfig.evil.test": config_xml([
            ("imap", "bad host!", 993, "SSL", "%EMAILADDRESS%"),
            ("imap", "localhost", 99999, "SSL", "%EMAILADDRESS%"),
            ("exchange", "localhost", 443, "SSL", "%EMAILADDRESS%"),
            ("imap", "localhost", closed, "SSL", "%EMAILADDRESS%"),
        ], display="Correio " + "ç" * 40),  # cut short mid-character at 63 bytes
    }


class DiscoverTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dovecot = Dovecot(users=2).start()
        cls.dns = DnsServer(records(cls.dovecot)).start()
        cls.web = AutoconfigServer(["autoconfig.auto.test", "autoconfig.bad.test",
                                    "autoconfig.big.test", "autoconfig.evil.test"],
                                   autoconfig_files(cls.dovecot)).start()
        cls.bundle = os.path.join(cls.web.dir, "bundle.pem")
        with open(cls.bundle, "w") as out:
            for f in (cls.web.cert, cls.dovecot.cert):
                with open(f) as fh:
                    out.write(fh.read())
        os.chmod(cls.web.dir, 0o755)  # the daemon runs as the data directory's owner
        os.chmod(cls.bundle, 0o644)
        env = {"MAILROOM_TEST_AUTOCONFIG_PORT": str(cls.web.port)}
        args = ["--no-scheduler", "--dns", cls.dns.address, "--discover-ca-file", cls.bundle]
        cls.d = Daemon(args=args, env=env)
        cls.denying = Daemon(args=args + ["--deny-test-targets"], env=env)
        cls.c = Client(cls.d)
        assert cls.c.login()[0] == 200

    @classmethod
    def tearDownClass(cls):
        codes = []
        for d in (cls.d, cls.denying):
            codes.append(d.stop())
            if codes[-1] != 0:
                print(d.output())
        cls.web.stop()
        cls.dns.stop()
        cls.dovecot.stop()
        assert codes == [0, 0], f"the daemons exited {codes} on SIGTERM"

    def discover(self, email, client=None, expect=200):
        status, body = (client or self.c).json("POST", "/api/v1/accounts/discover",
                                               {"email": email})
        self.assertEqual(status, expect, body)
        return body

    def notes(self, body):
        return " | ".join(n["note"] for n in body["notes"])

    def test_notes_and_steps_are_said(self):
        """Every note of the run and of a proposal, and every probe step,
        comes with how it was said, each format one the console has
        Portuguese for, so the set-up page has no English in pt-BR."""
        catalog = said_catalog()
        seen = 0
        for email in ("a@srv.test", "b@auto.test", "e@evil.test", "d@big.test",
                      "c@gws.test", "n@nothing.test"):
            body = self.discover(email)
            said = [(n["note"], n.get("note_said")) for n in body["notes"]]
            for p in body["proposals"]:
                said += [(n["note"], n.get("note_said")) for n in p["notes"]]
                self.assertEqual(p["note"], "; ".join(n["note"] for n in p["notes"]))
                # the server's words (greeting, capabilities, STARTTLS's answer) and
                # an address are shown as they are
                said += [(s["detail"], s.get("said")) for s in p["probe"]["steps"]
                         if s["result"] == "failed" or s["step"] == "tls"]
            for text, parts in said:
                self.assertTrue(parts, f"{email}: {text!r} is not said")
                for part in parts:
                    self.assertIn(part["format"], catalog, f"{email}: {text!r}")
                self.assertEqual(said_again(parts), text, email)
                seen += 1
        self.assertGreater(seen, 10)

    def test_srv_records_probed_against_dovecot(self):
        t0 = time.time()
        body = self.discover("ana@srv.test")
        p = self.dovecot.ports
        got = [(x["source"], x["protocol"], x["address"], x["port"], x["security"])
               for x in body["proposals"]]
        self.assertEqual(got, [("srv", "imap", "localhost", p["imaps"], "tls"),
                               ("srv", "imap", "localhost", p["imap"], "starttls"),
                               ("srv", "pop3", "localhost", p["pop3s"], "tls")], body)
        for x in body["proposals"]:
            self.assertTrue(x["probe"]["ok"], x)
            steps = [s["step"] for s in x["probe"]["steps"]]
            self.assertIn("tls", steps)
            self.assertEqual(steps[-1], "capabilities")
            self.assertEqual((x["username"], x["credential_kind"], x["oauth_provider"]),
                             ("ana@srv.test", "password", None))
        starttls = body["proposals"][1]["probe"]["steps"]
        self.assertEqual([s["step"] for s in starttls],
                         ["resolve", "connect", "greeting", "starttls", "tls", "capabilities"])
        # "." says POP3 with STARTTLS is not offered: no proposal, a note
        self.assertRegex(self.notes(body), r"_pop3\._tcp\.srv\.test says the service is not "
                                           r"offered")
        self.assertLess(time.time() - t0, 15)

    def test_autoconfig_found_and_probed(self):
        body = self.discover("bia@auto.test")
        p = self.dovecot.ports
        got = [(x["source"], x["protocol"], x["address"], x["port"], x["security"], x["username"],
                x["probe"]["ok"]) for x in body["proposals"]]
        self.assertEqual(got, [
            ("autoconfig", "imap", "localhost", p["imaps"], "tls", "bia", True),
            ("autoconfig", "pop3", "localhost", p["pop3"], "starttls", "bia@auto.test", True),
        ], body)
        self.assertEqual(body["proposals"][0]["provider"], "Test Mail")
        self.assertIn("https://autoconfig.auto.test/mail/config-v1.1.xml",
                      body["proposals"][0]["note"])
        self.assertIn(("autoconfig.auto.test", "/mail/config-v1.1.xml"),
                      [(h, path.split("?")[0]) for h, path in self.web.hits])

    def test_malformed_autoconfig(self):
        body = self.discover("c@bad.test")
        self.assertEqual(body["proposals"], [])
        self.assertRegex(self.notes(body), r"autoconfig\.bad\.test/mail/config-v1\.1\.xml is not "
                                           r"well-formed XML")
        self.assertRegex(self.notes(body), r"nothing was found for bad\.test: enter the server "
                                           r"by hand")

    def test_enormous_autoconfig(self):
        body = self.discover("d@big.test")
        self.assertEqual(body["proposals"], [])
        self.assertRegex(self.notes(body), r"config-v1\.1\.xml is larger than 64 KiB: ignored")

    def test_autoconfig_naming_bad_servers(self):
        body = self.discover("e@evil.test")
        notes = self.notes(body)
        self.assertRegex(notes, r"left out \(bad host!:993\), its address: ")
        self.assertRegex(notes, r"left out \(localhost:99999\), its port: must be")
        self.assertRegex(notes, r"type 'exchange' was left out")
        [x] = body["proposals"]  # only the valid one, to a closed port
        self.assertTrue(x["provider"].startswith("Correio ççç"), x["provider"])
        self.assertFalse(x["probe"]["ok"])
        self.assertEqual((x["probe"]["steps"][-1]["step"], x["probe"]["steps"][-1]["result"]),
                         ("connect", "failed"))

    def test_preset_by_domain(self):
        body = self.discover("someone@Gmail.com")
        got = [(x["source"], x["protocol"], x["address"], x["port"], x["security"],
                x["credential_kind"], x["oauth_provider"]) for x in body["proposals"]]
        self.assertEqual(got, [
            ("preset", "imap", "imap.gmail.com", 993, "tls", "oauth2", "google"),
            ("preset", "pop3", "pop.gmail.com", 995, "tls", "oauth2", "google"),
        ])
        # the suite's DNS server knows no real provider: the probe fails, and says why
        for x in body["proposals"]:
            self.assertFalse(x["probe"]["ok"])
            self.assertEqual(x["probe"]["steps"][0]["step"], "resolve")
            self.assertRegex(x["probe"]["steps"][0]["detail"], r"'(imap|pop)\.gmail\.com' does "
                                                               r"not resolve")
        icloud = self.discover("joana@me.com")["proposals"]
        self.assertEqual([(x["address"], x["username"], x["credential_kind"],
                           x["oauth_provider"]) for x in icloud],
                         [("imap.mail.me.com", "joana", "app_password", None)])
        yahoo = self.discover("x@yahoo.com")["proposals"]
        self.assertEqual({x["credential_kind"] for x in yahoo}, {"app_password"})
        ms = self.discover("x@hotmail.com")["proposals"]
        self.assertEqual({(x["address"], x["oauth_provider"]) for x in ms},
                         {("outlook.office365.com", "microsoft")})

    def test_preset_by_mx(self):
        body = self.discover("team@gws.test")
        self.assertEqual([x["address"] for x in body["proposals"]],
                         ["imap.gmail.com", "pop.gmail.com"])
        self.assertIn("matched by the domain's MX record aspmx.l.google.com",
                      body["proposals"][0]["note"])

    def test_deny_test_targets(self):
        c = Client(self.denying)
        self.assertEqual(c.login()[0], 200)
        status, body = c.json("POST", "/api/v1/accounts/discover", {"email": "f@meta.test"})
        self.assertEqual(status, 200, body)
        [x] = body["proposals"]
        self.assertFalse(x["probe"]["ok"])
        last = x["probe"]["steps"][-1]
        self.assertEqual((last["step"], last["result"]), ("target", "failed"))
        self.assertRegex(last["detail"], r"not probed: metadata\.meta\.test: .*cloud metadata "
                                         r"service.*--deny-test-targets")
        # the autoconfig file on this host is not fetched either
        status, body = c.json("POST", "/api/v1/accounts/discover", {"email": "g@auto.test"})
        self.assertEqual(body["proposals"], [])
        self.assertRegex(self.notes(body), r"not fetched: autoconfig\.auto\.test: '127\.0\.0\.1' "
                                           r"is 127\.0\.0\.1, loopback")

    def test_dns_server_that_does_not_answer(self):
        silent = SilentDns()
        d = Daemon(args=["--no-scheduler", "--dns", silent.address])
        try:
            c = Client(d)
            self.assertEqual(c.login()[0], 200)
            t0 = time.time()
            status, body = c.json("POST", "/api/v1/accounts/discover", {"email": "h@quiet.test"})
            took = time.time() - t0
            self.assertEqual(status, 200, body)
            self.assertEqual(body["proposals"], [])
            self.assertRegex(self.notes(body), rf"the DNS server \({silent.address}\) did not "
                                               r"answer within \d s")
            self.assertLess(took, 16)
        finally:
            rc = d.stop()
            silent.stop()
        self.assertEqual(rc, 0, d.output())

    def test_malformed_dns_answers(self):
        broken = BrokenDns()
        d = Daemon(args=["--no-scheduler", "--dns", broken.address])
        try:
            c = Client(d)
            self.assertEqual(c.login()[0], 200)
            status, body = c.json("POST", "/api/v1/accounts/discover", {"email": "i@odd.test"})
            self.assertEqual(status, 200, body)
            self.assertEqual(body["proposals"], [])
            notes = self.notes(body)
            self.assertIn("the DNS answer for the MX records of odd.test is malformed", notes)
            self.assertIn("the DNS answer for _imaps._tcp.odd.test is malformed: ignored", notes)
            self.assertRegex(notes, r"'autoconfig\.odd\.test' does not resolve: the DNS answer for "
                                    r"autoconfig\.odd\.test is malformed")
            # a preset's probe resolves through the same server: said, not crashed
            status, body = c.json("POST", "/api/v1/accounts/discover", {"email": "i@icloud.com"})
            [x] = body["proposals"]
            self.assertRegex(x["probe"]["steps"][0]["detail"], r"malformed")
        finally:
            rc = d.stop()
            broken.stop()
        self.assertEqual(rc, 0, d.output())

    def test_not_an_email_address(self):
        for bad, word in (("", "required"), ("no-at-sign", "not an e-mail address"),
                          ("a@", "not an e-mail address"), ("a b@x.test", "space"),
                          ("a@nodot", "not a domain name"), ("a@bad_host.test", "not a domain"),
                          ("a@" + "x" * 400 + ".test", "longer than")):
            body = self.discover(bad, expect=400)
            self.assertEqual(body["error"]["field"], "email", body)
            self.assertIn(word, body["error"]["message"])
        status, body = self.c.json("POST", "/api/v1/accounts/discover", {"email": 42})
        self.assertEqual((status, body["error"]["field"]), (400, "email"))

    def test_viewer_refused(self):
        status, _ = self.c.json("POST", "/api/v1/users", {"name": "vera", "role": "viewer",
                                                          "password": VIEWER_PASSWORD})
        self.assertIn(status, (201, 409))
        v = Client(self.d)
        self.assertEqual(v.login("vera", VIEWER_PASSWORD)[0], 200)
        status, body = v.json("POST", "/api/v1/accounts/discover", {"email": "a@srv.test"})
        self.assertEqual(status, 403, body)


if __name__ == "__main__":
    unittest.main()
