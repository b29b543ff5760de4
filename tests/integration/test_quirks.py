"""Providers' known quirks, honoured (docs/architecture.md, "Servers other
than Dovecot"), against the suite's Dovecot with a relay (relay.py) that
steps in where a provider behaves in a way Dovecot cannot be made to:

- Exchange Online's throttling: "NO Request is throttled. Suggested
  Backoff Time: N milliseconds", then BYE. The run stops, keeps what it
  stored, says so, and the next check waits at least that long; the next
  run goes on where it stopped, nothing stored twice. POP3's -ERR too.
- Bodies are fetched with BODY.PEEK[], never RFC822 (iCloud returns
  nothing for RFC822).
- A server that announces IMAP4rev2 is spoken to in IMAP4rev1: mailroom
  never sends ENABLE IMAP4rev2, so a server whose IMAP4rev2 misbehaves is
  never asked for it (nothing to pin per account)."""
import datetime
import re
import time
import unittest

from helpers import MailTestCase, message, server, stop_servers
from relay import Relay

def epoch(iso):
    return int(datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


THROTTLED = b"Request is throttled. Suggested Backoff Time: %d milliseconds"


def tearDownModule():
    stop_servers()


class QuirksTest(MailTestCase):
    def setUp(self):
        super().setUp()
        self.relays = []

    def tearDown(self):
        for r in self.relays:
            r.stop()
        super().tearDown()

    def relay(self, proto, rule=None, srv=None):
        r = Relay((srv or self.d).ports[proto], rule)
        self.relays.append(r)
        return r

    def account_via(self, name, relay, proto="imap", *extra):
        return self.json("account", "add", "--name", name, "--protocol", proto, "--address",
                         "127.0.0.1", "--port", str(relay.port), "--security", "none",
                         "--credential", "login", *extra)

    def status(self, name):
        return self.json("account", "show", name)

    def test_imap_throttled_waits_and_goes_on(self):
        """Throttled at the body fetch: nothing stored, the pause honoured;
        the next run stores all."""
        self.deliver([message(i, subject=f"t{i}") for i in range(6)])

        def rule(line):
            m = re.match(rb"(\S+) UID FETCH .*BODY\.PEEK\[\]", line)
            if m and throttle:
                return (m.group(1) + b" NO " + THROTTLED % 4000 +
                        b"\r\n* BYE Connection closed. 14\r\n")
            return None
        throttle = True
        r = self.relay("imap", rule)
        self.account_via("ex", r, "imap", "--after-fetch", "delete")
        t0 = int(time.time())
        run, out = self.fetch("ex", ok=False)
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn("the server is throttling this account and asked for a pause of 4 s, so "
                      "the next check waits that long", out.stderr)
        self.assertIn("Suggested Backoff Time: 4000 milliseconds", out.stderr)
        self.assertGreaterEqual(epoch(run["retry_after"]), t0 + 4)
        self.assertEqual(run["fetched"], 0)
        # the scheduler's next check honours the pause, whatever the interval
        show = self.status("ex")
        self.assertGreaterEqual(epoch(show["next_check"]), epoch(run["retry_after"]))
        self.assertIn("throttling", show["last_check"]["error"])
        throttle = False
        run, _ = self.fetch("ex")
        self.assertEqual(run["fetched"], 6)
        self.assertEqual(self.d.message_count(self.user), 0)

    def test_imap_throttled_after_storing_nothing_twice(self):
        """Throttled when deleting what was stored: the messages stay on the
        server, stored once; the next run deletes them without storing them
        again."""
        self.deliver([message(i, subject=f"d{i}") for i in range(4)])

        def rule(line):
            m = re.match(rb"(\S+) UID STORE ", line)
            if m and throttle:
                return (m.group(1) + b" NO " + THROTTLED % 2000 +
                        b"\r\n* BYE Connection closed. 14\r\n")
            return None
        throttle = True
        r = self.relay("imap", rule)
        self.account_via("del", r, "imap", "--after-fetch", "delete")
        run, out = self.fetch("del", ok=False)
        self.assertIn("asked for a pause of 2 s", out.stderr)
        self.assertEqual(run["fetched"], 4)
        self.assertEqual(self.d.message_count(self.user), 4)  # not deleted yet
        throttle = False
        run, _ = self.fetch("del")
        self.assertEqual(run["fetched"], 0)
        self.assertEqual(self.d.message_count(self.user), 0)
        self.assertEqual(sorted(m["subject"] for m in self.inbox()), [f"d{i}" for i in range(4)])

    def test_pop3_throttled(self):
        self.deliver([message(i, subject=f"p{i}") for i in range(3)])

        def rule(line):
            if line.startswith(b"RETR 2") and throttle:
                return b"-ERR " + THROTTLED % 2500 + b"\r\n"
            return None
        throttle = True
        r = self.relay("pop3", rule)
        self.account_via("pop", r, "pop3", "--after-fetch", "delete")
        run, out = self.fetch("pop", ok=False)
        self.assertIn("asked for a pause of 3 s", out.stderr)
        stored = run["fetched"]
        throttle = False
        run, _ = self.fetch("pop")
        self.assertEqual(run["fetched"], 3 - stored)
        self.assertEqual(len(self.inbox()), 3)
        self.assertEqual(self.d.message_count(self.user), 0)  # deleted once stored

    def test_a_lying_backoff_is_capped_at_a_day(self):
        self.deliver([message(1)])

        def rule(line):
            m = re.match(rb"(\S+) UID FETCH .*BODY\.PEEK\[\]", line)
            return m.group(1) + b" NO " + THROTTLED % 10**15 + b"\r\n" if m else None
        r = self.relay("imap", rule)
        self.account_via("liar", r)
        t0 = int(time.time())
        run, out = self.fetch("liar", ok=False)
        self.assertIn("a pause of 1440 min", out.stderr)
        self.assertLessEqual(epoch(run["retry_after"]), t0 + 86400 + 5)

    def test_bodies_are_fetched_with_body_peek(self):
        self.deliver([message(i) for i in range(3)])
        r = self.relay("imap")
        self.account_via("peek", r, "imap", "--keep-copy", "yes")
        run, _ = self.fetch("peek")
        self.assertEqual(run["fetched"], 3)
        fetches = [x for x in r.lines() if " FETCH " in x.upper()]
        self.assertTrue(any("BODY.PEEK[]" in x for x in fetches), fetches)
        for x in fetches:
            self.assertNotRegex(x.upper(), r"RFC822(?!\.SIZE)", x)
            self.assertNotRegex(x.upper(), r"BODY\[", x)  # would set \Seen

    def test_imap4rev2_announced_is_not_enabled(self):
        srv = server("rev2", imap_capability="+UIDPLUS IMAP4rev2", users=4)
        user = srv.take_user()
        self.add_credential("rev2-login", password=self.password, username=user)
        srv.save(user, message(1, subject="rev2"), "INBOX")
        r = self.relay("imap", srv=srv)
        self.json("account", "add", "--name", "rev2", "--protocol", "imap", "--address",
                  "127.0.0.1", "--port", str(r.port), "--security", "none", "--credential",
                  "rev2-login")
        out = self.run_cli("account", "test", "rev2")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("IMAP4REV2", out.stdout)  # the server did announce it
        run, _ = self.fetch("rev2")
        self.assertEqual(run["fetched"], 1)
        self.assertFalse([x for x in r.lines() if "ENABLE" in x.upper()], r.lines())


if __name__ == "__main__":
    unittest.main()
