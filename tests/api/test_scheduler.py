"""Automatic checks in the daemon, against the suite's Dovecot. Intervals
are divided by 30 (MAILROOM_TEST_INTERVAL_DIVISOR, a test-only knob), so a
30-second interval runs every second and backoff doubles from 2 s."""
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from daemon import Client, Daemon  # noqa: E402
from dovecot import POOL_PASSWORD, Dovecot  # noqa: E402
from fakeserver import FakeServer  # noqa: E402

FAST = {"MAILROOM_TEST_INTERVAL_DIVISOR": "30"}


def finished(client, account):
    return [r for r in runs(client, account) if r["result"] != "running"]


def runs(client, account):
    _, h = client.json("GET", f"/api/v1/accounts/{account}/history?per_page=1000")
    return list(reversed(h["runs"]))  # oldest first


class SchedulerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dovecot = Dovecot(users=8, name="sched").start()

    @classmethod
    def tearDownClass(cls):
        cls.dovecot.stop()

    def start(self, *args):
        # polling is what these tests check: push (test_push.py) would
        # leave pushed accounts to the server's word instead
        self.d = Daemon(("--no-push", *args), FAST)
        self.c = Client(self.d)
        self.assertEqual(self.c.login()[0], 200)
        self.user = self.dovecot.take_user()
        status, _ = self.c.json("POST", "/api/v1/credentials", {
            "name": "login", "username": self.user, "password": POOL_PASSWORD})
        self.assertEqual(status, 201)

    def tearDown(self):
        if not getattr(self, "stopped", False):
            self.assertEqual(self.d.stop(), 0, self.d.output()[-3000:])

    def logins(self, user, proto="imap"):
        return self.dovecot.log().count(f"{proto}-login: Info: Login: user=<{user}>")

    def logouts(self, user):
        return sum(1 for line in self.dovecot.log().splitlines()
                   if line.count(f"imap({user})") and "Logged out" in line)

    def account(self, name, **kw):
        body = {"name": name, "protocol": "imap", "address": "127.0.0.1",
                "port": self.dovecot.ports["imaps"], "skip_certificate": True,
                "credential": "login", "interval": 30}
        body.update(kw)
        status, a = self.c.json("POST", "/api/v1/accounts", body)
        self.assertEqual(status, 201, a)
        return a

    def wait_for(self, what, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = what()
            if got:
                return got
            time.sleep(0.2)
        self.fail("timed out")

    def test_checked_on_time_and_only_when_enabled(self):
        self.start()
        for i in range(3):
            self.dovecot.deliver(self.user, f"Subject: auto {i}\r\n\r\nbody\r\n".encode())
        on = self.account("on", keep_copy=False)
        disabled = self.account("disabled", enabled=False)
        manual = self.account("manual", automatic_check=False)
        first = self.wait_for(lambda: finished(self.c, on["id"]))
        self.assertEqual((first[0]["result"], first[0]["fetched"]), ("ok", 3))
        self.assertEqual(self.dovecot.message_count(self.user), 0)
        self.wait_for(lambda: len(runs(self.c, on["id"])) >= 3)  # every (scaled) interval
        self.assertEqual(runs(self.c, disabled["id"]), [])
        self.assertEqual(runs(self.c, manual["id"]), [])
        _, a = self.c.json("GET", f"/api/v1/accounts/{on['id']}")
        self.assertEqual((a["last_check"]["result"], a["failures"]), ("ok", 0))
        self.assertIsNotNone(a["next_check"])
        # a change takes effect without a restart
        self.c.json("PATCH", f"/api/v1/accounts/{on['id']}", {"enabled": False})
        time.sleep(1.5)
        before = len(runs(self.c, on["id"]))
        time.sleep(2.5)
        self.assertEqual(len(runs(self.c, on["id"])), before)
        self.c.json("PATCH", f"/api/v1/accounts/{disabled['id']}", {"enabled": True})
        self.wait_for(lambda: runs(self.c, disabled["id"]))

    def test_failures_back_off_and_recover(self):
        self.start()
        down = self.account("down", port=1, security="none")
        self.wait_for(lambda: len(finished(self.c, down["id"])) >= 3, timeout=30)
        history = finished(self.c, down["id"])
        self.assertTrue(all(r["result"] == "error" for r in history))
        self.assertIn("Connection refused", history[0]["error"])
        gaps = [b["started_at"] for b in history]
        # 1 s, then 2 s, then 4 s between attempts (whole seconds, so allow one)
        t = [time.mktime(time.strptime(g, "%Y-%m-%dT%H:%M:%SZ")) for g in gaps]
        self.assertGreaterEqual(t[2] - t[1], t[1] - t[0] - 1)
        self.assertGreaterEqual(t[2] - t[1], 2)
        _, a = self.c.json("GET", f"/api/v1/accounts/{down['id']}")
        self.assertGreaterEqual(a["failures"], 3)
        _, failing = self.c.json("GET", "/api/v1/accounts?errors=yes")
        self.assertEqual([x["name"] for x in failing["accounts"]], ["down"])
        # the server comes back: the next check succeeds and the count resets
        self.c.json("PATCH", f"/api/v1/accounts/{down['id']}",
                    {"port": self.dovecot.ports["imaps"], "security": "tls"})
        self.wait_for(lambda: runs(self.c, down["id"])[-1]["result"] == "ok", timeout=40)
        _, a = self.c.json("GET", f"/api/v1/accounts/{down['id']}")
        self.assertEqual(a["failures"], 0)
        self.assertEqual(self.c.json("GET", "/api/v1/accounts?errors=yes")[1]["total"], 0)

    def test_sessions_kept_open_between_checks(self):
        self.start()
        a = self.account("kept", keep_copy=False)
        self.wait_for(lambda: len(finished(self.c, a["id"])) >= 4)
        self.assertEqual(self.logins(self.user), 1)  # four checks, one login
        self.wait_for(lambda: b"\nmailroom_kept_sessions 1\n" in self.c.request("GET", "/metrics")[2])
        # new mail comes through the kept session, and is deleted once stored
        for i in range(2):
            self.dovecot.deliver(self.user, f"Subject: kept {i}\r\n\r\nbody\r\n".encode())
        self.wait_for(lambda: sum(r["fetched"] for r in finished(self.c, a["id"])) == 2)
        self.wait_for(lambda: self.dovecot.message_count(self.user) == 0)
        self.assertEqual(self.logins(self.user), 1)
        _, inbox = self.c.json("GET", f"/api/v1/messages?account={a['id']}")
        self.assertEqual(sorted(m["subject"] for m in inbox["messages"]), ["kept 0", "kept 1"])
        # the server ends the session: the next check logs in again, and no
        # check fails for it
        self.dovecot.doveadm("kick", self.user)
        done = len(finished(self.c, a["id"]))
        self.wait_for(lambda: len(finished(self.c, a["id"])) >= done + 3)
        self.assertEqual(self.logins(self.user), 2)
        # changed settings are a new session; the old one is logged out
        self.assertEqual(self.logouts(self.user), 0)
        self.c.json("PATCH", f"/api/v1/accounts/{a['id']}", {"keep_copy": True})
        self.wait_for(lambda: self.logins(self.user) == 3)
        self.wait_for(lambda: self.logouts(self.user) == 1)
        done = len(finished(self.c, a["id"]))
        self.wait_for(lambda: len(finished(self.c, a["id"])) >= done + 2)
        self.assertEqual(self.logins(self.user), 3)
        history = finished(self.c, a["id"])
        self.assertEqual([r for r in history if r["result"] != "ok"], [])
        self.assertEqual(sum(r["fetched"] for r in history), 2)  # nothing stored twice
        # stopping the daemon logs the kept session out
        self.assertEqual(self.d.stop(), 0, self.d.output()[-3000:])
        self.stopped = True
        self.wait_for(lambda: self.logouts(self.user) == 2, timeout=5)

    def test_pop3_and_keep_sessions_0_log_in_every_check(self):
        self.start()
        a = self.account("pop", protocol="pop3", port=self.dovecot.ports["pop3s"])
        self.wait_for(lambda: len(finished(self.c, a["id"])) >= 3)
        self.assertGreaterEqual(self.logins(self.user, "pop3"), 3)  # POP3 is never kept
        self.tearDown()
        self.start("--keep-sessions", "0")
        b = self.account("imap, not kept")
        self.wait_for(lambda: len(finished(self.c, b["id"])) >= 3)
        self.assertGreaterEqual(self.logins(self.user), 3)
        self.assertEqual([r for r in finished(self.c, b["id"]) if r["result"] != "ok"], [])
        self.assertIn("expected 0 to 100000",
                      self.d.cli("serve", "--keep-sessions", "-1").stderr)

    def test_many_accounts_never_run_twice_at_once(self):
        self.start("--workers", "4")
        for i in range(200):
            self.account(f"many-{i:03d}")
        self.wait_for(lambda: all(runs(self.c, i) for i in (1, 100, 200)), timeout=60)
        time.sleep(3)
        total = 0
        for i in range(1, 201):
            history = runs(self.c, i)
            total += len(history)
            for a, b in zip(history, history[1:]):
                self.assertLessEqual(a["ended_at"], b["started_at"], f"account {i} overlapped")
            done = [r for r in history if r["result"] != "running"]
            self.assertTrue(all(r["result"] == "ok" for r in done), history[-1:])
            self.assertLessEqual(len(history) - len(done), 1)  # at most one in progress
        self.assertGreaterEqual(total, 200)

    def test_health_and_metrics(self):
        self.start()
        anon = Client(self.d)
        status, _, body = anon.request("GET", "/healthz")
        self.assertEqual((status, body), (200, b'{"status":"ok"}'))
        self.assertEqual(anon.request("GET", "/metrics")[0], 401)
        self.dovecot.deliver(self.user, b"Subject: counted\r\n\r\nbody\r\n")
        a = self.account("metered", keep_copy=False)
        self.wait_for(lambda: finished(self.c, a["id"]))
        status, headers, body = self.c.request("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/plain; version=0.0.4"))
        metrics = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                metrics[name] = float(value)  # every sample parses as a number
        self.assertGreaterEqual(metrics["mailroom_checks_total"], 1)
        self.assertEqual(metrics["mailroom_messages_fetched_total"], 1)
        self.assertEqual(metrics['mailroom_accounts{status="enabled"}'], 1)
        self.assertIn(f'mailroom_account_consecutive_failures{{account="{a["id"]}"}}', metrics)
        self.assertLess(metrics[f'mailroom_account_last_success_age_seconds{{account="{a["id"]}"}}'],
                        60)
        self.assertEqual(metrics['mailroom_fetch_duration_seconds_bucket{le="+Inf"}'],
                         metrics["mailroom_checks_total"])


    def test_fetch_now_joins_a_run_in_progress(self):
        self.start("--no-scheduler")
        connections = []

        def slow(c):  # a server that takes 2 s to greet
            connections.append(1)
            time.sleep(2)
            c.send(b"* OK ready\r\n")
            c.line()

        srv = FakeServer(slow)
        try:
            a = self.account("slow", port=srv.port, security="none", automatic_check=False)
            status, first = self.c.json("POST", f"/api/v1/accounts/{a['id']}/fetch")
            self.assertEqual((status, first["status"]), (202, "started"))
            self.wait_for(lambda: runs(self.c, a["id"]))  # its run is recorded as running
            status, second = self.c.json("POST", f"/api/v1/accounts/{a['id']}/fetch")
            self.assertEqual((status, second["status"]), (202, "running"))
            self.wait_for(lambda: runs(self.c, a["id"])[-1]["result"] != "running")
            self.assertEqual(len(runs(self.c, a["id"])), 1)
            self.assertEqual(len(connections), 1)  # joined: never a second connection
        finally:
            srv.stop()

    def test_structured_log_lines(self):
        self.start("--log-format", "json")
        self.dovecot.deliver(self.user, b"Subject: logged\r\n\r\nbody\r\n")
        a = self.account("logged", keep_copy=False)
        self.wait_for(lambda: finished(self.c, a["id"]))
        self.c.json("POST", "/api/v1/accounts", {"name": "", "protocol": "carrier-pigeon"})
        self.wait_for(lambda: '"event":"check"' in self.d.output() and '"status":400' in self.d.output())
        events = []
        for line in self.d.output().splitlines():
            if line.startswith(("mailroom ", "First start")):
                continue  # the banner on stdout
            events.append(json.loads(line))  # every log line is one JSON object
        checks = [e for e in events if e["event"] == "check"]
        self.assertTrue(checks)
        self.assertEqual(checks[0]["account"], a["id"])
        self.assertEqual((checks[0]["result"], checks[0]["fetched"]), ("ok", 1))
        http = [e for e in events if e["event"] == "http"]
        self.assertIn(400, [e["status"] for e in http])
        self.assertTrue(all(isinstance(e["ms"], int) and e["time"].endswith("Z") for e in http))
        self.assertNotIn(POOL_PASSWORD, self.d.output())

    def test_text_log_lines_name_the_account(self):
        self.start()
        a = self.account("texty")
        self.wait_for(lambda: finished(self.c, a["id"]))
        self.wait_for(lambda: f"check account={a['id']} result=ok" in self.d.output())


class PublicMetricsTest(unittest.TestCase):
    def test_metrics_public_and_no_scheduler(self):
        d = Daemon(["--metrics-public", "--no-scheduler"])
        try:
            status, _, body = Client(d).request("GET", "/metrics")
            self.assertEqual(status, 200)
            self.assertIn(b"mailroom_scheduler_queue_depth 0", body)
            self.assertIn("automatic checks off", d.output())
        finally:
            self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main()
