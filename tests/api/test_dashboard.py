"""GET /api/v1/dashboard against a real daemon and the suite's Dovecot: the
counts (OK, failing, disabled, needing a new sign-in) as the report's
filters split them, the failing accounts with their reasons, the first
steps, the per-hour and per-day buckets exact to the check (history written
at known times), the outbox's backlog over time, the buckets aligned to the
viewer's offset from UTC; a viewer reads it, nobody else; bad parameters
get a 400 that says what is expected; and 300 accounts with 50,000 runs
still answer (the queries' plans are checked in unit.dashboard)."""
import os
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from daemon import Client, Daemon  # noqa: E402
from dovecot import POOL_PASSWORD, Dovecot  # noqa: E402
from helpers import crlf  # noqa: E402,F401

HOUR, DAY = 3600, 86400


def message(n):
    return (f"From: sender{n}@example.com\r\nTo: support@example.com\r\nSubject: dashboard {n}\r\n"
            f"Message-ID: <dashboard-{n}@example.com>\r\n\r\nBody {n}.\r\n").encode()


class DashboardTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dovecot = Dovecot(users=3, high_performance=True).start()
        cls.d = Daemon()
        cls.c = Client(cls.d)
        assert cls.c.login()[0] == 200

    @classmethod
    def tearDownClass(cls):
        assert cls.d.stop() == 0
        cls.dovecot.stop()

    def db(self):
        return sqlite3.connect(os.path.join(self.d.data, "mailroom.db"), timeout=30)

    def dashboard(self, query=""):
        status, body = self.c.json("GET", "/api/v1/dashboard" + query)
        self.assertEqual(status, 200, body)
        return body

    def wait_for_run(self, account):
        for _ in range(300):
            _, h = self.c.json("GET", f"/api/v1/accounts/{account}/history")
            if h["runs"] and h["runs"][0]["result"] != "running":
                return h["runs"][0]
            time.sleep(0.1)
        self.fail("the fetch did not finish")

    def test_1_empty_store_shows_the_first_steps(self):
        d = self.dashboard()
        self.assertEqual(d["accounts"], {"total": 0, "ok": 0, "failing": 0, "disabled": 0,
                                         "never_checked": 0, "needs_consent": 0})
        self.assertEqual(d["setup"], {"credentials": 0, "accounts": 0, "checked_ok": False,
                                      "messages": 0, "done": False})
        self.assertEqual(d["failing"], [])
        self.assertEqual(d["outbox"], {"targets": False, "pending": 0, "failed": 0})
        self.assertEqual(len(d["hourly"]["buckets"]), 24)
        self.assertEqual(len(d["daily"]["buckets"]), 7)
        self.assertTrue(all(b["fetched"] == b["failures"] == b["backlog"] == 0
                            for b in d["hourly"]["buckets"] + d["daily"]["buckets"]))
        # the last bucket holds now; the buckets follow each other
        for s, n in (("hourly", HOUR), ("daily", DAY)):
            series = d[s]
            self.assertEqual(series["step"], n)
            self.assertLessEqual(series["buckets"][-1]["start"], d["now"])
            self.assertLess(d["now"], series["end"])
            self.assertEqual(series["end"] - series["start"], n * len(series["buckets"]))
            self.assertEqual([b["start"] for b in series["buckets"]],
                             [series["start"] + i * n for i in range(len(series["buckets"]))])
        self.assertEqual(d["hourly"]["start"] % HOUR, 0)
        self.assertEqual(d["daily"]["start"] % DAY, 0)  # UTC midnight without an offset

    def test_2_counts_reasons_and_buckets(self):
        user = self.dovecot.take_user()
        for n in range(3):
            self.dovecot.deliver(user, message(n))
        form = {"protocol": "imap", "address": "127.0.0.1", "port": self.dovecot.ports["imaps"],
                "security": "tls", "skip_certificate": True}
        for name, password in (("good", POOL_PASSWORD), ("wrong", "not-the-password")):
            status, body = self.c.json("POST", "/api/v1/credentials",
                                       {"name": name, "username": user, "password": password})
            self.assertEqual(status, 201, body)
        ids = {}
        for name, cred, enabled in (("Support", "good", True), ("Sales", "wrong", True),
                                    ("Archive", "good", False), ("Later", "good", True)):
            status, body = self.c.json("POST", "/api/v1/accounts", {**form, "name": name,
                                       "credential": cred, "enabled": enabled})
            self.assertEqual(status, 201, body)
            ids[name] = body["id"]
        d = self.dashboard()
        self.assertEqual(d["accounts"]["never_checked"], 3)
        self.assertEqual(d["setup"]["checked_ok"], False)
        self.assertEqual(d["setup"]["credentials"], 2)
        self.assertEqual(d["setup"]["accounts"], 4)

        for name in ("Support", "Sales"):
            self.assertEqual(self.c.json("POST", f"/api/v1/accounts/{ids[name]}/fetch", {})[0], 202)
            self.wait_for_run(ids[name])
        # the disabled one failed once: it counts as disabled, not failing
        db = self.db()
        with db:
            db.execute("INSERT INTO fetch_runs (account_id, started_at, ended_at, result, error)"
                       " VALUES (?, strftime('%s','now') - 1, strftime('%s','now'), 'error', 'x')",
                       (ids["Archive"],))
        d = self.dashboard()
        self.assertEqual(d["accounts"], {"total": 4, "ok": 2, "failing": 1, "disabled": 1,
                                         "never_checked": 1, "needs_consent": 0})
        self.assertEqual(d["setup"], {"credentials": 2, "accounts": 4, "checked_ok": True,
                                      "messages": 3, "done": True})
        self.assertEqual(d["failing_total"], 1)
        [f] = d["failing"]
        self.assertEqual((f["id"], f["name"], f["failures"], f["last_success_at"]),
                         (ids["Sales"], "Sales", 1, None))
        self.assertRegex(f["error"], r"(?i)auth|login|password|credentials")
        self.assertIsInstance(f["last_check_at"], int)
        # the report's filters the console links each count to agree
        for query, count in (("?status=enabled&errors=yes", 1), ("?status=enabled&errors=no", 2),
                             ("?status=disabled", 1)):
            self.assertEqual(self.c.json("GET", "/api/v1/accounts" + query)[1]["total"], count,
                             query)

        # the buckets, exact: each real run in the hour it ended, and runs
        # written at known times
        runs = db.execute("SELECT ended_at, result, fetched FROM fetch_runs").fetchall()
        hour0, day0 = d["hourly"]["start"], d["daily"]["start"]
        extra = [(hour0 + 5 * HOUR + 10, "ok", 4), (hour0 + 5 * HOUR + 3599, "error", 0),
                 (hour0 + 6 * HOUR, "error", 0), (hour0 - 1, "ok", 100),  # before the 24 h
                 (day0 + 2 * DAY + 7, "ok", 9), (day0 - 1, "error", 0)]  # before the 7 days
        with db:
            db.executemany("INSERT INTO fetch_runs (account_id, started_at, ended_at, result,"
                           " fetched) VALUES (?, ?, ?, ?, ?)",
                           [(ids["Later"], t - 1, t, r, n) for t, r, n in extra])
            # a run still going is in no bucket
            db.execute("INSERT INTO fetch_runs (account_id, started_at, result, fetched)"
                       " VALUES (?, ?, 'running', 50)", (ids["Later"], hour0 + 7 * HOUR))
        db.close()
        d = self.dashboard()

        def expect(start, step, n):
            fetched, failures = [0] * n, [0] * n
            for t, r, k in runs + extra:
                b = (t - start) // step
                if 0 <= b < n:
                    fetched[b] += k
                    failures[b] += r == "error"
            return fetched, failures

        for s, step, n in (("hourly", HOUR, 24), ("daily", DAY, 7)):
            fetched, failures = expect(d[s]["start"], step, n)
            self.assertEqual([b["fetched"] for b in d[s]["buckets"]], fetched, s)
            self.assertEqual([b["failures"] for b in d[s]["buckets"]], failures, s)
        hourly = d["hourly"]["buckets"]
        self.assertEqual((hourly[5]["fetched"], hourly[5]["failures"], hourly[5]["checks"]),
                         (4, 1, 2))
        self.assertEqual(hourly[6]["failures"], 1)
        self.assertEqual(sum(b["fetched"] for b in hourly[:-1]) + hourly[-1]["fetched"],
                         sum(k for t, _, k in runs + extra if hour0 <= t < d["hourly"]["end"]))
        # "Later" failed last: now failing too (the running run hides nothing)
        self.assertEqual(d["accounts"]["failing"], 2)
        self.assertEqual([f["name"] for f in d["failing"]], ["Later", "Sales"])
        self.assertEqual(self.dashboard("?limit=1")["failing"][0]["name"], "Later")
        self.assertEqual(self.dashboard("?limit=1")["failing_total"], 2)

    def test_3_backlog_over_time(self):
        status, acc = self.c.json("GET", "/api/v1/accounts?name=Support")
        account = acc["accounts"][0]["id"]
        status, t = self.c.json("POST", f"/api/v1/accounts/{account}/targets",
                                {"name": "archive", "kind": "maildir",
                                 "path": os.path.join(self.d.tmp, "maildir")})
        self.assertEqual(status, 201, t)
        d = self.dashboard()
        self.assertEqual(d["outbox"]["targets"], True)
        h0 = d["hourly"]["start"]
        db = self.db()
        msgs = [r[0] for r in db.execute("SELECT id FROM messages ORDER BY id")]
        self.assertEqual(len(msgs), 3)
        ms = 1000
        far = (d["now"] + DAY) * ms  # not due: the outbox leaves them be
        rows = [  # (state, created, done) in seconds
            ("pending", h0 - 10 * HOUR, None),             # every hour
            ("failed", h0 + 2 * HOUR + 5, h0 + 4 * HOUR),  # hours 2 and 3
            ("delivered", h0 + 20 * HOUR, h0 + 20 * HOUR + 60),  # within hour 20: none
        ]
        with db:
            for (state, created, done), m in zip(rows, msgs):
                db.execute("INSERT INTO deliveries (event_id, message_id, target_id, account_id,"
                           " state, created_ms, window_ms, next_ms, done_ms)"
                           " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           (f"evt_dash_{m}", m, t["id"], account, state, created * ms,
                            created * ms + 3 * DAY * ms, far, done and done * ms))
        db.close()
        d = self.dashboard()
        expected = [1] * 24
        expected[2] = expected[3] = 2
        self.assertEqual([b["backlog"] for b in d["hourly"]["buckets"]], expected)
        self.assertEqual(d["outbox"], {"targets": True, "pending": 1, "failed": 1})
        self.assertEqual(d["daily"]["buckets"][-1]["backlog"], 1)

    def test_4_offset_aligns_hours_and_days(self):
        d = self.dashboard("?utc_offset=-180")
        self.assertEqual(d["utc_offset"], -180)
        self.assertEqual((d["daily"]["start"] - 3 * HOUR) % DAY, 0)  # midnight in UTC-03:00
        d = self.dashboard("?utc_offset=330")
        self.assertEqual((d["hourly"]["start"] + 330 * 60) % HOUR, 0)  # UTC+05:30's hours
        self.assertEqual((d["daily"]["start"] + 330 * 60) % DAY, 0)
        self.assertLessEqual(d["daily"]["buckets"][-1]["start"], d["now"])
        self.assertLess(d["now"], d["daily"]["end"])

    def test_5_bad_parameters_get_a_clear_400(self):
        for query, field in (("utc_offset=abc", "utc_offset"), ("utc_offset=841", "utc_offset"),
                             ("utc_offset=-900", "utc_offset"), ("utc_offset=1.5", "utc_offset"),
                             ("utc_offset=", "utc_offset"), ("limit=0", "limit"),
                             ("limit=201", "limit"), ("limit=" + "9" * 40, "limit")):
            status, body = self.c.json("GET", "/api/v1/dashboard?" + query)
            self.assertEqual(status, 400, query)
            self.assertEqual(body["error"]["field"], field, query)
            self.assertIn(field, body["error"]["message"])
        status, body = self.c.json("GET", "/api/v1/dashboard?utc_offset=x")
        self.assertIn("from -840 to 840", body["error"]["message"])
        self.assertEqual(self.c.json("POST", "/api/v1/dashboard", {})[0], 405)

    def test_6_a_viewer_reads_it_nobody_else(self):
        self.d.cli("user", "add", "--name", "dash-viewer", "--role", "viewer", "--password-stdin",
                   stdin="viewer-Password-1")
        viewer = Client(self.d)
        self.assertEqual(viewer.login("dash-viewer", "viewer-Password-1")[0], 200)
        status, body = viewer.json("GET", "/api/v1/dashboard")
        self.assertEqual(status, 200, body)
        self.assertIn("accounts", body)
        self.assertEqual(Client(self.d).json("GET", "/api/v1/dashboard")[0], 401)
        out = self.d.cli("token", "create", "--user", "dash-viewer", "--name", "dash", "--read-only")
        self.assertEqual(out.returncode, 0, out.stderr)
        token = out.stdout.strip().split()[-1]
        self.assertEqual(Client(self.d, token=token).json("GET", "/api/v1/dashboard")[0], 200)

    def test_7_needs_consent(self):
        status, body = self.c.json("POST", "/api/v1/credentials", {
            "name": "m365", "username": "support@contoso.example", "kind": "oauth2",
            "provider": "microsoft", "tenant": "contoso.example", "client_id": "client-1"})
        self.assertEqual(status, 201, body)
        status, acc = self.c.json("POST", "/api/v1/accounts", {
            "name": "M365", "protocol": "imap", "address": "outlook.office365.com",
            "credential": "m365"})
        self.assertEqual(status, 201, acc)
        d = self.dashboard()
        self.assertEqual(d["accounts"]["needs_consent"], 1)  # never signed in
        self.assertEqual(d["needs_consent"], [{"id": acc["id"], "name": "M365",
                                               "credential": {"id": body["id"], "name": "m365"}}])


class DashboardLoadTest(unittest.TestCase):
    """300 accounts, 50,000 runs and 20,000 deliveries: the route answers,
    with the counts right."""

    def test_many_accounts_and_a_long_history(self):
        d = Daemon()
        try:
            c = Client(d)
            self.assertEqual(c.login()[0], 200)
            status, cred = c.json("POST", "/api/v1/credentials",
                                  {"name": "p", "username": "u", "password": "p"})
            self.assertEqual(status, 201, cred)
            db = sqlite3.connect(os.path.join(d.data, "mailroom.db"), timeout=30)
            now = int(time.time())
            with db:
                db.executemany(
                    "INSERT INTO accounts (id, name, keep_copy, automatic_check, check_interval,"
                    " enabled, address, protocol, use_connector, credential_id, skip_certificate,"
                    " security, created_at, updated_at) VALUES (?, ?, 1, 1, 300, ?, 'h', 'imap',"
                    " 0, ?, 0, 'tls', 0, 0)",
                    [(i, f"acc-{i:03}", int(i % 10 != 0), cred["id"]) for i in range(1, 301)])
                # 50,000 runs over 10 days; each account's last one fails if
                # its ID is odd
                rows = []
                for k in range(50000):
                    a = k % 300 + 1
                    t = now - 10 * DAY + k * (10 * DAY) // 50000
                    last = k >= 50000 - 300
                    result = ("error" if a % 2 else "ok") if last else ("ok" if k % 7 else "error")
                    rows.append((a, t - 2, t, result, k % 3))
                db.executemany("INSERT INTO fetch_runs (account_id, started_at, ended_at, result,"
                               " fetched) VALUES (?, ?, ?, ?, ?)", rows)
            db.close()
            status, body = c.json("GET", "/api/v1/dashboard")
            self.assertEqual(status, 200, body)
            disabled = 30
            failing = sum(1 for a in range(1, 301) if a % 2 and a % 10)
            self.assertEqual(body["accounts"], {"total": 300, "ok": 300 - disabled - failing,
                                                "failing": failing, "disabled": disabled,
                                                "never_checked": 0, "needs_consent": 0})
            self.assertEqual(len(body["failing"]), 20)
            self.assertEqual(body["failing_total"], failing)
            start, end = body["hourly"]["start"], body["hourly"]["end"]
            self.assertEqual(sum(b["fetched"] for b in body["hourly"]["buckets"]),
                             sum(r[4] for r in rows if start <= r[2] < end))
            self.assertEqual(sum(b["checks"] for b in body["daily"]["buckets"]),
                             sum(1 for r in rows if body["daily"]["start"] <= r[2] < body["daily"]["end"]))
        finally:
            self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main()
