"""Crash safety: `mailroom fetch` without keep copy, killed with SIGKILL at a
random moment again and again against the suite's Dovecot, then allowed to
finish. Afterwards every message the server had is in the store exactly
once and byte-identical, the server is empty, and SQLite's integrity check
passed after every kill. MR_KILLS sets the number of kills per protocol
(default 50; `make soak` runs 500)."""
import hashlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import unittest

from helpers import BIN, MailTestCase, crlf, message, stop_servers  # noqa: F401

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "api"))
from daemon import Client, Daemon  # noqa: E402

KILLS = int(os.environ.get("MR_KILLS", "50"))
MESSAGES = 500


def tearDownModule():
    stop_servers()


class CrashTest(MailTestCase):
    def integrity(self, data=None):
        db = sqlite3.connect(os.path.join(data or self.data, "mailroom.db"), timeout=30)
        try:
            return db.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            db.close()

    def stored(self, data=None):
        db = sqlite3.connect(os.path.join(data or self.data, "mailroom.db"), timeout=30)
        try:
            return [bytes(r[0]) for r in db.execute(
                "SELECT raw FROM message_raw JOIN messages ON messages.id = message_raw.message_id")]
        finally:
            db.close()

    def kill_and_restart(self, proto):
        rnd = random.Random(f"{proto}-{self.user}")

        def wave(start, n):
            return [message(i, body=(f"body {i} ".encode() * rnd.randint(10, 400)) + b"\r\n")
                    for i in range(start, start + n)]
        raws = wave(0, MESSAGES)
        self.deliver(raws)
        self.account("crash", proto, "tls", "--keep-copy", "no")
        env = dict(os.environ, MAILROOM_DATA=self.data)
        env.pop("MAILROOM_MASTER_KEY", None)
        kills, left, window = 0, [], 1.0
        while kills < KILLS:
            if self.d.message_count(self.user) == 0:
                # all fetched: a new wave, so kills keep landing mid-run
                more = wave(len(raws), 100)
                self.deliver(more)
                raws += more
            proc = subprocess.Popen([BIN, "fetch", "crash", "--format", "json"], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            t0 = time.monotonic()
            time.sleep(rnd.uniform(0, window))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            else:  # it finished first: kill sooner (within its whole run time)
                window = max(0.05, (time.monotonic() - t0) * 1.5)
            proc.wait()
            self.assertEqual(self.integrity(), "ok", f"after kill {kills}")
            left.append(self.d.message_count(self.user))
        # the last run finishes
        r = subprocess.run([BIN, "fetch", "crash", "--format", "json"], env=env,
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.integrity(), "ok")
        self.assertEqual(self.d.message_count(self.user), 0, "the server is empty")
        want = sorted(hashlib.sha256(crlf(raw)).hexdigest() for raw in raws)
        got = sorted(hashlib.sha256(raw).hexdigest() for raw in self.stored())
        self.assertEqual(len(got), len(set(got)), "no message stored twice")
        self.assertEqual(got, want, "every message stored, byte-identical")
        return kills, len(raws), left

    def test_daemon_under_load_survives_kills(self):
        """The daemon checking the account every second (scheduler), with
        fetch now and console requests arriving all the time, SIGKILLed at
        random moments and started again; new mail keeps arriving."""
        rnd = random.Random(f"daemon-{self.user}")
        raws = []

        def wave(n):
            more = [message(len(raws) + i, body=f"daemon {len(raws) + i}\r\n".encode() *
                            rnd.randint(5, 200)) for i in range(n)]
            self.deliver(more)
            raws.extend(more)
        wave(300)
        args = ("--workers", "2")
        env = {"MAILROOM_TEST_INTERVAL_DIVISOR": "30"}
        d = Daemon(args, env)
        try:
            self.assertEqual(d.cli("credential", "add", "--name", "login", "--username",
                                   self.user, "--password-stdin",
                                   stdin=self.password).returncode, 0)
            r = d.cli("account", "add", "--name", "busy", "--protocol", "imap", "--address",
                      "127.0.0.1", "--port", str(self.d.ports["imaps"]), "--security", "tls",
                      "--skip-certificate", "yes", "--credential", "login", "--keep-copy", "no",
                      "--interval", "30", "--format", "json")
            self.assertEqual(r.returncode, 0, r.stderr)
            account = __import__("json").loads(r.stdout)["id"]
            kills = 0
            while True:
                stop = threading.Event()

                def load(daemon=d):
                    c = Client(daemon)
                    try:
                        c.login()
                        while not stop.is_set():
                            c.json("POST", f"/api/v1/accounts/{account}/fetch")
                            c.json("GET", "/api/v1/messages")
                            c.json("GET", "/api/v1/accounts")
                    except OSError:
                        pass  # the daemon was killed under it
                t = threading.Thread(target=load)
                t.start()
                if kills == KILLS:
                    break
                time.sleep(rnd.uniform(0.1, 1.5))
                d.proc.send_signal(signal.SIGKILL)
                d.proc.wait()
                d.log.close()
                kills += 1
                stop.set()
                t.join()
                self.assertEqual(self.integrity(d.data), "ok", f"after kill {kills}")
                if self.d.message_count(self.user) < 50:
                    wave(100)
                d = Daemon(args, env, reuse=d)
            # the last daemon fetches what is left, then stops cleanly
            deadline = time.time() + 120
            while self.d.message_count(self.user) and time.time() < deadline:
                time.sleep(0.5)
            stop.set()
            t.join()
            time.sleep(1.5)  # a run that began as the mailbox emptied ends
        finally:
            self.assertEqual(d.stop(), 0, d.output()[-3000:])
        self.assertEqual(self.integrity(d.data), "ok")
        self.assertEqual(self.d.message_count(self.user), 0, "the server is empty")
        want = sorted(hashlib.sha256(crlf(raw)).hexdigest() for raw in raws)
        got = sorted(hashlib.sha256(raw).hexdigest() for raw in self.stored(d.data))
        self.assertEqual(len(got), len(set(got)), "no message stored twice")
        self.assertEqual(got, want, "every message stored, byte-identical")
        print(f"daemon: {kills} kills under load, {len(raws)} messages, each stored once")

    def test_imap_survives_kills(self):
        kills, n, left = self.kill_and_restart("imap")
        print(f"imap: {kills} kills, {n} messages, each stored once; left on the server "
              f"after each kill: {left[:12]}...")

    def test_pop3_survives_kills(self):
        kills, n, left = self.kill_and_restart("pop3")
        print(f"pop3: {kills} kills, {n} messages, each stored once; left on the server "
              f"after each kill: {left[:12]}...")


if __name__ == "__main__":
    unittest.main()
