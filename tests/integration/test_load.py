"""The daemon under load: wrk against the API (30 s, 16 connections) while
the scheduler checks 200 accounts (IMAP and POP3, every few seconds) and new
mail keeps arriving, with a client holding 1,000 idle connections open the
whole time. Then: no error response, no socket error, RSS sampled every
second does not grow, every message delivered is stored exactly once and the
server is empty, and the daemon stops cleanly."""
import hashlib
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from helpers import crlf, message, server, stop_servers
from dovecot import POOL_PASSWORD

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "api"))
from daemon import Client, Daemon  # noqa: E402

ACCOUNTS = 200
IDLE = 1000
SECONDS = int(os.environ.get("MR_LOAD_SECONDS", "30"))
PATHS = ["/api/v1/accounts", "/api/v1/accounts?page=3&protocol=imap", "/api/v1/messages",
         "/api/v1/accounts?name=load-1&secure=no", "/api/v1/accounts/7",
         "/api/v1/accounts/7/history", "/api/v1/reports/accounts.csv", "/api/v1/settings",
         "/healthz", "/api/v1/messages?per_page=100", "/api/v1/skipped"]
ROTATE = """
local paths = {%s}
local i = 0
request = function()
    i = i + 1
    return wrk.format("GET", paths[(i %% #paths) + 1])
end
"""


def tearDownModule():
    stop_servers()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as fh:
        return int(re.search(r"VmRSS:\s+(\d+)", fh.read()).group(1))


class LoadTest(unittest.TestCase):
    def test_api_and_scheduler_under_load(self):
        dovecot = server("load", tls=False, users=ACCOUNTS)
        users = [dovecot.take_user() for _ in range(ACCOUNTS)]
        # small ASan quarantine: what is measured is mailroom's memory
        d = Daemon(("--workers", "8", "--threads", "4"),
                   {"MAILROOM_TEST_INTERVAL_DIVISOR": "10",
                    "ASAN_OPTIONS": "quarantine_size_mb=8:detect_leaks=1"})
        delivered = []
        try:
            token = d.cli("token", "create", "--user", "admin").stdout.strip()
            api = Client(d, token=token)
            for i, user in enumerate(users):
                proto = "imap" if i % 2 == 0 else "pop3"
                status, body = api.json("POST", "/api/v1/credentials",
                                        {"name": f"load-{i}", "username": user,
                                         "password": POOL_PASSWORD})
                self.assertEqual(status, 201, body)
                status, body = api.json("POST", "/api/v1/accounts", {
                    "name": f"load-{i}", "protocol": proto, "address": "127.0.0.1",
                    "port": dovecot.ports[proto], "security": "none",
                    "credential": f"load-{i}", "keep_copy": False, "interval": 30})
                self.assertEqual(status, 201, body)
            rnd = random.Random(8)
            stop = threading.Event()

            def mail():
                n = 0
                while not stop.is_set():
                    raw = message(n, body=b"load test line\r\n" * rnd.randint(1, 200))
                    dovecot.deliver(rnd.choice(users), raw)
                    delivered.append(raw)
                    n += 1
                    time.sleep(0.05)

            samples = []

            def sample():
                while not stop.is_set():
                    samples.append(rss_kib(d.proc.pid))
                    time.sleep(1)

            # 1,000 idle connections from another loopback address, each
            # with half a request, held for the whole run
            idle = []
            for i in range(IDLE):
                s = socket.socket()
                s.bind(("127.0.0.2", 0))
                s.connect(("127.0.0.1", d.port))
                if i % 2:
                    s.send(b"GET /api/v1/accounts HTTP/1.1\r\nHost: x\r\n")
                idle.append(s)
            threads = [threading.Thread(target=mail), threading.Thread(target=sample)]
            for t in threads:
                t.start()
            script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
            script.write(ROTATE % ", ".join(f'"{p}"' for p in PATHS))
            script.close()
            wrk = subprocess.run(["wrk", "-t2", "-c16", f"-d{SECONDS}s", "--latency",
                                  "-H", f"Authorization: Bearer {token}", "-s", script.name,
                                  d.base + "/"], capture_output=True, text=True,
                                 timeout=SECONDS + 60)
            os.unlink(script.name)
            # the idle connections did not stop the daemon from serving
            self.assertEqual(api.json("GET", "/api/v1/settings")[0], 200)
            stop.set()
            for t in threads:
                t.join()
            for s in idle:
                s.close()
            print(wrk.stdout)
            self.assertEqual(wrk.returncode, 0, wrk.stderr)
            refused = re.findall(r".* http .*status=[45]\d\d.*", d.output())
            self.assertNotIn("Non-2xx", wrk.stdout, "\n".join(refused[:20]))
            self.assertNotIn("Socket errors", wrk.stdout)
            requests = int(re.search(r"(\d+) requests in", wrk.stdout).group(1))
            self.assertGreater(requests, SECONDS * 10)
            # memory: the last third of the run no higher than the middle
            # third (after warm-up), within 15 %
            third = len(samples) // 3
            middle = max(samples[third:2 * third])
            last = max(samples[2 * third:])
            print(f"RSS KiB: start {samples[0]}, middle third max {middle}, "
                  f"last third max {last}; {len(delivered)} messages delivered")
            self.assertLess(last, middle * 1.15 + 4096, samples)
            # every message fetched: the scheduler empties the server
            deadline = time.time() + 120
            while any(dovecot.message_count(u) for u in users) and time.time() < deadline:
                time.sleep(1)
            time.sleep(4)  # runs that began as the last mailbox emptied end
        finally:
            self.assertEqual(d.stop(), 0, d.output()[-3000:])
        self.assertFalse([u for u in users if dovecot.message_count(u)], "the server is empty")
        import sqlite3
        db = sqlite3.connect(os.path.join(d.data, "mailroom.db"), timeout=30)
        try:
            got = sorted(hashlib.sha256(r[0]).hexdigest()
                         for r in db.execute("SELECT raw FROM message_raw"))
        finally:
            db.close()
        want = sorted(hashlib.sha256(crlf(raw)).hexdigest() for raw in delivered)
        self.assertEqual(len(got), len(set(got)), "no message stored twice")
        self.assertEqual(got, want, "every message stored once, byte-identical")
        errors = re.findall(r".* warn check .*", d.output())
        self.assertEqual(errors, [], "no check failed")


if __name__ == "__main__":
    unittest.main()
