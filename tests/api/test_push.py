"""Push (IMAP IDLE, fetch/push.h) in the daemon, against the suite's
Dovecot: new mail is stored without any poll; connections that are closed,
ended with BYE, or go silent are noticed and remade, with nothing lost or
stored twice; a server without IDLE is polled and says so; the connection
caps hold; an edit reaches the connection at once. The accounts' interval
is an hour (two minutes with the test divisor), so nothing here is found
by an interval's poll unless the test says so."""
import os
import re
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from daemon import Client, Daemon  # noqa: E402
from dovecot import POOL_PASSWORD, Dovecot  # noqa: E402
from relay import Relay  # noqa: E402

FAST = {"MAILROOM_TEST_INTERVAL_DIVISOR": "30"}


class PushTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dovecot = Dovecot(users=20, name="push").start()

    @classmethod
    def tearDownClass(cls):
        cls.dovecot.stop()

    def setUp(self):
        self.relays = []
        self.d = None

    def tearDown(self):
        for r in self.relays:
            r.stop()
        if self.d and not getattr(self, "stopped", False):
            self.assertEqual(self.d.stop(), 0, self.d.output()[-3000:])

    def start(self, *args):
        self.d = Daemon(args, FAST)
        self.c = Client(self.d)
        self.assertEqual(self.c.login()[0], 200)

    def credential(self, user, name=None):
        status, cred = self.c.json("POST", "/api/v1/credentials", {
            "name": name or f"login-{user}", "username": user, "password": POOL_PASSWORD})
        self.assertEqual(status, 201, cred)
        return cred["name"]

    def account(self, name, user, port=None, **kw):
        body = {"name": name, "protocol": "imap", "address": "127.0.0.1",
                "port": port or self.dovecot.ports["imap"], "security": "none",
                "credential": self.credential(user, f"c-{name}"), "interval": 3600}
        body.update(kw)
        status, a = self.c.json("POST", "/api/v1/accounts", body)
        self.assertEqual(status, 201, a)
        return a

    def relay(self, **kw):
        r = Relay(self.dovecot.ports["imap"], **kw)
        self.relays.append(r)
        return r

    def show(self, account):
        status, a = self.c.json("GET", f"/api/v1/accounts/{account['id']}")
        self.assertEqual(status, 200, a)
        return a

    def mode(self, account):
        return self.show(account)["push_status"]

    def runs(self, account):
        _, h = self.c.json("GET", f"/api/v1/accounts/{account['id']}/history?per_page=1000")
        return list(reversed(h["runs"]))

    def stored(self, account):
        _, page = self.c.json("GET", f"/api/v1/messages?account={account['id']}&per_page=100")
        return page["messages"]

    def subjects(self, account):
        return sorted(m["subject"] for m in self.stored(account))

    def wait_for(self, what, timeout=20, why="timed out"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = what()
            if got:
                return got
            time.sleep(0.05)
        log = [x for x in self.d.output().splitlines() if " http " not in x]
        self.fail(why + "\n" + "\n".join(log[-60:]))

    def wait_mode(self, account, mode, timeout=20):
        return self.wait_for(lambda: self.mode(account)["mode"] == mode and self.mode(account),
                             timeout, f"never in mode {mode}: {self.mode(account)}")

    def deliver(self, user, subject):
        self.dovecot.deliver(user, f"Subject: {subject}\r\nMessage-ID: <{subject}@t>\r\n\r\n"
                             f"body of {subject}\r\n".encode())

    def test_new_mail_stored_without_a_poll(self):
        self.start()
        user = self.dovecot.take_user()
        a = self.account("pushed", user, keep_copy=False)
        push = self.wait_mode(a, "push")
        self.assertIsNone(push["reason"])
        self.assertLess(push["age_s"], 30)  # the login was just now
        connected = time.mktime(time.strptime(push["connected_at"], "%Y-%m-%dT%H:%M:%SZ"))
        self.assertLess(abs(connected - time.mktime(time.gmtime())), 30)
        checks = len(self.runs(a))
        for i in range(3):
            t0 = time.time()
            self.deliver(user, f"p{i}")
            self.wait_for(lambda: f"p{i}" in self.subjects(a), 10, f"p{i} never stored")
            self.assertLess(time.time() - t0, 5)
        self.wait_for(lambda: all(r["result"] != "running" for r in self.runs(a)), 10)
        runs = self.runs(a)[checks:]
        self.assertTrue(runs, "no run after the notices")
        self.assertTrue(all(r["trigger"] == "push" for r in runs if r["fetched"]), runs)
        pushed = [r for r in runs if r["trigger"] == "push" and r["fetched"]]
        self.assertEqual(sum(r["fetched"] for r in pushed), 3)
        self.assertTrue(all(r["latency_ms"] is not None and r["latency_ms"] < 5000
                            for r in pushed), pushed)
        self.assertEqual(self.subjects(a), ["p0", "p1", "p2"])
        self.assertEqual(self.dovecot.message_count(user), 0)  # keep copy off: deleted
        status = self.mode(a)
        self.assertEqual(status["mode"], "push")
        self.assertGreaterEqual(status["notices"], 1)
        self.assertIsNotNone(status["latency_ms"])
        # the command line shows the same
        out = self.d.cli("account", "show", "pushed")
        self.assertEqual(out.returncode, 0, out.stderr)
        m = re.search(r"Push: +push, connected (\d+) s ago, last notice to stored \d+ ms", out.stdout)
        self.assertIsNotNone(m, out.stdout)
        self.assertLess(int(m.group(1)), 60)
        # /metrics
        status, _, body = self.c.request("GET", "/metrics")
        self.assertEqual(status, 200)
        text = body.decode()
        self.assertIn('mailroom_push_accounts{mode="push"} 1', text)
        self.assertRegex(text, r"mailroom_push_latency_seconds_count [1-9]")

    def test_lost_connections_are_remade_and_nothing_is_lost(self):
        """Closed by the server's side, a BYE, a silent connection (a relay
        that stops forwarding): each noticed within its bound, remade, and
        the mail that came meanwhile stored once."""
        self.start("--push-silence", "3")
        user = self.dovecot.take_user()
        r = self.relay()
        a = self.account("flaky", user, port=r.port, keep_copy=False)
        self.wait_mode(a, "push")
        # 1. the connection is cut
        before = r.connections
        r.cut()
        self.deliver(user, "after-cut")
        self.wait_for(lambda: "after-cut" in self.subjects(a), 15, "not stored after a cut")
        self.assertGreater(r.connections, before)
        self.wait_mode(a, "push")
        # 2. black hole: the relay keeps the socket open and forwards nothing
        r.freeze()
        t0 = time.time()
        self.deliver(user, "in-the-dark")
        time.sleep(1)
        r.thaw_new()  # new connections go through, the frozen ones stay frozen
        self.wait_for(lambda: "in-the-dark" in self.subjects(a), 30,
                      "a silent connection was never noticed")
        # silence (3 s) + DONE's answer (10 s) + a new login: well within 20 s
        self.assertLess(time.time() - t0, 20)
        self.wait_mode(a, "push")
        # 3. BYE from the server: Dovecot kicked
        self.dovecot.doveadm("kick", user)
        self.deliver(user, "after-kick")
        self.wait_for(lambda: "after-kick" in self.subjects(a), 15, "not stored after BYE")
        self.assertEqual(self.subjects(a), ["after-cut", "after-kick", "in-the-dark"])
        ids = [m["id"] for m in self.stored(a)]
        self.assertEqual(len(ids), len(set(ids)))
        self.assertEqual(self.dovecot.message_count(user), 0)

    def test_server_restart_is_recovered(self):
        """The server goes away for a few seconds (its connections closed,
        refused meanwhile) and comes back: the account is pushed again within
        seconds, not at its hour's interval, and the mail that came while the
        server was down is stored once."""
        own = Dovecot(users=2, name="push-restart").start()
        try:
            self.start()
            user = own.take_user()
            a = self.account("restarted", user, port=own.ports["imap"], keep_copy=False)
            self.wait_mode(a, "push")
            own.deliver(user, b"Subject: before\r\nMessage-ID: <before@t>\r\n\r\nx\r\n")
            self.wait_for(lambda: "before" in self.subjects(a), 10)
            stop = threading.Thread(target=own.restart, kwargs={"down": 4})
            stop.start()
            time.sleep(1)
            own.deliver(user, b"Subject: while-down\r\nMessage-ID: <down@t>\r\n\r\nx\r\n")
            stop.join()
            t0 = time.time()
            self.wait_for(lambda: "while-down" in self.subjects(a), 30, "not stored after a restart")
            self.assertLess(time.time() - t0, 20)
            self.wait_mode(a, "push")
            self.assertEqual(self.subjects(a), ["before", "while-down"])
            self.assertEqual(own.message_count(user), 0)
        finally:
            own.stop()

    def test_server_without_idle_is_polled_and_says_so(self):
        self.start()
        user = self.dovecot.take_user()

        def hide_idle(data):
            return data.replace(b" IDLE", b"")
        r = self.relay(rewrite=hide_idle)
        a = self.account("no-idle", user, port=r.port, interval=30)
        status = self.wait_mode(a, "poll")
        self.assertIn("does not offer IDLE", status["reason"])
        self.assertIn("reason_said", status)
        self.deliver(user, "polled")  # the 30 s interval is 1 s with the divisor
        self.wait_for(lambda: "polled" in self.subjects(a), 15)
        self.assertFalse(any(line.endswith(" IDLE") for line in r.lines()))
        # a server that offers IDLE and refuses it: polled too, with its words
        other = self.dovecot.take_user()

        def refuse(line):
            tag = line.split(b" ", 1)[0]
            return tag + b" NO [LIMIT] IDLE is not allowed here\r\n" if line.endswith(b" IDLE\r\n") else None
        r2 = self.relay(rule=refuse)
        b = self.account("idle-refused", other, port=r2.port, interval=30)
        status = self.wait_mode(b, "poll")
        self.assertIn("the server refused IDLE: [LIMIT] IDLE is not allowed here", status["reason"])
        self.deliver(other, "polled-too")
        self.wait_for(lambda: "polled-too" in self.subjects(b), 15)

    def test_caps_and_edits(self):
        self.start("--push-max-per-server", "2")
        users = [self.dovecot.take_user() for _ in range(3)]
        accounts = [self.account(f"cap{i}", u) for i, u in enumerate(users)]
        self.wait_for(lambda: sorted(self.mode(a)["mode"] for a in accounts) ==
                      ["poll", "push", "push"], 20, "the cap was not honoured")
        polled = next(a for a in accounts if self.mode(a)["mode"] == "poll")
        self.assertIn("--push-max-per-server", self.mode(polled)["reason"])
        self.assertLessEqual(self.imap_sessions(users), 2 + 1)
        # turning push off on a pushed account ends its connection and frees the slot
        pushed = [a for a in accounts if self.mode(a)["mode"] == "push"]
        status, _ = self.c.json("PATCH", f"/api/v1/accounts/{pushed[0]['id']}", {"push": False})
        self.assertEqual(status, 200)
        self.wait_for(lambda: self.mode(pushed[0])["mode"] == "off", 10)
        # the polled one takes the slot at its next (poll) check
        status, _ = self.c.json("PATCH", f"/api/v1/accounts/{polled['id']}", {"interval": 30})
        self.assertEqual(status, 200)
        self.wait_mode(polled, "push", 20)
        # an edit to a pushed account is checked at once with the new settings
        other = pushed[1]
        checks = len(self.runs(other))
        status, _ = self.c.json("PATCH", f"/api/v1/accounts/{other['id']}",
                                {"max_message_size": 2048})
        self.assertEqual(status, 200)
        self.wait_for(lambda: len(self.runs(other)) > checks, 10, "an edit was not checked")
        # a setting the session was opened with (the mechanism) logs in afresh
        before = self.mode(other)["connected_at"]
        time.sleep(1.1)
        status, _ = self.c.json("PATCH", f"/api/v1/accounts/{other['id']}", {"auth": "SCRAM-SHA-256"})
        self.assertEqual(status, 200)
        self.wait_for(lambda: self.mode(other).get("connected_at", before) != before, 10,
                      "a new mechanism did not reach the connection")
        self.assertEqual(self.mode(other)["mode"], "push")

    def imap_sessions(self, users):
        out = self.dovecot.doveadm("who")
        return sum(1 for line in out.splitlines() if any(u in line for u in users))

    def test_sigkill_while_mail_arrives_loses_nothing(self):
        self.start()
        user = self.dovecot.take_user()
        a = self.account("killed", user, keep_copy=False)
        self.wait_mode(a, "push")
        sent = []
        stop = threading.Event()

        def sender():
            i = 0
            while not stop.is_set():
                self.deliver(user, f"k{i:03d}")
                sent.append(f"k{i:03d}")
                i += 1
                time.sleep(0.05)
        t = threading.Thread(target=sender)
        t.start()
        for _ in range(3):
            time.sleep(1.0)
            self.d.proc.kill()
            self.d.proc.wait()
            self.d.log.close()
            self.d = Daemon((), FAST, reuse=self.d)
            self.c = Client(self.d)
            self.assertEqual(self.c.login()[0], 200)
        stop.set()
        t.join()
        self.wait_for(lambda: len(self.stored(a)) == len(sent), 30,
                      f"stored {len(self.stored(a))} of {len(sent)}")
        self.assertEqual(self.subjects(a), sorted(sent))
        self.assertEqual(self.dovecot.message_count(user), 0)


if __name__ == "__main__":
    unittest.main()
