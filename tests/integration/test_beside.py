"""Beside a running daemon: `mailroom serve` with its scheduler on (every
second) fetching a POP3 account without keep copy from the suite's Dovecot,
mail arriving in waves of about 5 MiB (over the 4 MiB a run stored between
two of the old writeback hints), API writes and the CLI's commands (reads
and writes, and `fetch` of another account) running beside it all the
time, and the daemon SIGKILLed at random moments and started again on the
same data directory.

Checked while it runs, every 25 ms: the live daemon holds no
`mailroom.db-wal (deleted)` nor `-shm (deleted)` (/proc/PID/fd), and both
files exist in the data directory. After every kill: SQLite's integrity
check, every write acknowledged so far (a 2xx, or exit 0) is in the store
with its audit entry, and every message gone from the server is stored.
At the end: every message the servers handed over is stored exactly once
and byte-identical (the servers are empty), every acknowledged write is
there as the CLI shows it, the last daemon stops cleanly.

Before 04a40fd the store's writeback hint open()ed and close()d the
database and its WAL beside SQLite, which dropped the daemon's fcntl locks:
the next CLI command to close the database deleted the WAL and SHM under
the daemon, whose writes then went nowhere. This test fails on that binary.

Also: a second `mailroom serve` on the same data directory exits 1 naming
the running daemon's pid, and the first keeps serving.

MR_KILLS sets the number of kills (default 20; `make soak` runs 200), MR_SEED
the seed of every random choice (printed; it reproduces the kill moments,
wave sizes and command order, not the threads' interleaving). The data
directory is given by $MAILROOM_DATA, which every version reads (`serve
--data` was ignored before 04a40fd)."""
import collections
import csv
import hashlib
import http.client
import io
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import unittest

from helpers import BIN, MailTestCase, crlf, message, stop_servers

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "api"))
from daemon import ADMIN_PASSWORD, Client, free_port  # noqa: E402

KILLS = int(os.environ.get("MR_KILLS", "20"))
SEED = os.environ.get("MR_SEED", "beside-1")
LIFE = (1.5, 6.0)      # seconds a daemon lives before its SIGKILL, at random
WAVE = (70, 30, 110)   # messages per wave to the daemon's account, KiB each (from, to)
LOW = 25               # a new wave when the server holds fewer messages than this
TABLES = {"credential": "credentials", "connector": "connectors", "account": "accounts",
          "user": "users", "schedule": "report_schedules"}
SANITIZED = "Sanitizer"  # AddressSanitizer, LeakSanitizer, UndefinedBehaviorSanitizer
NET_ERRORS = (OSError, http.client.HTTPException, ValueError)


def tearDownModule():
    stop_servers()


class Serve:
    """`mailroom serve` on the data directory in $MAILROOM_DATA, its output
    appended to LOG. Duck-types tests/api/daemon.py's Daemon for Client."""

    def __init__(self, env, log, *args):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(log, "a+")
        self.proc = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{self.port}",
                                      *args], env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        deadline = time.time() + 30
        while time.time() < deadline and self.proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.log.seek(0)
        tail = self.log.read()[-600:]
        self.log.close()
        raise RuntimeError(f"the daemon did not start (rc {self.proc.returncode}): {tail}")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.close()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=60)
        self.log.close()
        return rc


class Ledger:
    """What the test was told. A write is recorded once acknowledged (a 2xx
    or exit 0); a removal is marked before it is sent (None: in flight or
    failed, so either outcome is right; True: acknowledged)."""

    def __init__(self):
        self.writes = []      # (where, kind, name), kind a TABLES key or another word
        self.removed = {}     # name: None or True
        self.intervals = {}   # account name: the intervals it may have now
        self.settings = []    # (default connector, acknowledged)
        self.failed = []      # what was not acknowledged, for the summary

    def snapshot(self):
        return list(self.writes), dict(self.removed), dict(self.intervals)

    def lost(self, before, removed_after, have, audited, intervals):
        """What an acknowledged write left out of the store as read between
        snapshot() (before) and removed_after (a copy of removed taken after
        the read): have {kind: names}, audited {(action, name)}, intervals
        {account name: interval}."""
        writes, removed, want = before
        out = []
        for where, kind, name in writes:
            if kind not in have:
                continue
            present = name in have[kind]
            if not present and name not in removed_after:
                out.append(f"{where} {kind} {name}")
            elif present and removed.get(name):
                out.append(f"{where} {kind} {name}: still there after its removal")
            elif ("create", name) not in audited:
                out.append(f"{where} {kind} {name}: no audit entry")
            elif removed.get(name) and ("delete", name) not in audited:
                out.append(f"{where} {kind} {name}: no audit entry for its removal")
        out += [f"interval of {name}: {intervals.get(name)}, not in {sorted(may)}"
                for name, may in want.items() if intervals.get(name) not in may]
        return out


class BesideTest(MailTestCase):
    def setUp(self):
        super().setUp()
        self.env = dict(self.env, MAILROOM_DATA=self.data)
        self.daemon_env = dict(self.env, MAILROOM_ADMIN_PASSWORD=ADMIN_PASSWORD,
                               MAILROOM_TEST_INTERVAL_DIVISOR="30")
        self.db = os.path.join(self.data, "mailroom.db")
        self.log = os.path.join(self.tmp, "serve.log")
        self.daemon = None

    def tearDown(self):
        if self.daemon is not None and self.daemon.proc.poll() is None:
            self.daemon.kill()
        super().tearDown()

    # --- helpers ----------------------------------------------------------
    def cli(self, *args, stdin=None):
        """mailroom ARGS on the data directory (by $MAILROOM_DATA)."""
        return subprocess.run([BIN, *args], input=stdin, capture_output=True, text=True,
                              env=self.env, timeout=120)

    def cli_json(self, *args):
        r = self.cli(*args, "--format", "json")
        self.assertEqual(r.returncode, 0, f"mailroom {' '.join(args)}: {r.stderr}")
        return json.loads(r.stdout)

    def sql(self, fn):
        db = sqlite3.connect(self.db, timeout=30)
        try:
            return fn(db)
        finally:
            db.close()

    def integrity(self):
        try:
            rows = self.sql(lambda db: [r[0] for r in db.execute("PRAGMA integrity_check(8)")])
            return "; ".join(rows).replace("\n", "; ")
        except sqlite3.DatabaseError as e:
            return f"{type(e).__name__}: {e}"

    def problem(self, text):
        with self.plock:
            if text not in self.problems:
                self.problems.append(text)

    def wave(self, user, raws, n, kib, rnd):
        def body(kib):  # incompressible, in 64-character lines
            text = os.urandom(kib * 512).hex().encode()
            return b"".join(text[j:j + 64] + b"\r\n" for j in range(0, len(text), 64))
        more = [message(len(raws) + i + (0 if user == self.user else 100000),
                        body=body(rnd.randint(*kib))) for i in range(n)]
        for raw in more:
            path = self.d.deliver(user, raw)
            if user == self.user:  # by file name (Dovecot adds flags after a colon)
                self.sent[os.path.basename(path)] = hashlib.sha256(crlf(raw)).digest()
        raws.extend(more)

    def on_server(self, user):
        top = self.d.maildir(user)
        return {f.split(":")[0] for sub in ("new", "cur")
                for f in os.listdir(os.path.join(top, sub))}

    # --- checks -----------------------------------------------------------
    def check_files(self, d, wal, shm):
        """The live daemon d holds no deleted WAL or SHM, and both exist."""
        fds = f"/proc/{d.pid}/fd"
        links = []
        try:
            for fd in os.listdir(fds):
                try:
                    links.append(os.readlink(os.path.join(fds, fd)))
                except FileNotFoundError:
                    pass  # closed since listdir
        except FileNotFoundError:
            pass  # the daemon is gone: said below
        for link in links:
            if link.endswith(("mailroom.db-wal (deleted)", "mailroom.db-shm (deleted)")):
                self.problem(f"daemon life {self.life} (pid {d.pid}) holds {link}")
        missing = [os.path.basename(p) for p in (wal, shm) if not os.path.exists(p)]
        if d.proc.poll() is not None:
            self.problem(f"daemon life {self.life} exited by itself: rc {d.proc.returncode}")
        elif missing:
            self.problem(f"daemon life {self.life} (pid {d.pid}) running, "
                         f"{' and '.join(missing)} gone from the data directory")
        self.checks += 1

    def check_durable(self, when):
        """Every write acknowledged so far is in the store with its audit
        entry, and every message of the daemon's account gone from the
        server is stored (read with SQL: the daemon is dead, the CLI runs)."""
        before = self.ledger.snapshot()
        there = self.on_server(self.user)
        gone = [h for name, h in list(self.sent.items()) if name not in there]

        def read(db):
            have = {kind: {r[0] for r in db.execute(f"SELECT name FROM {table}")}
                    for kind, table in TABLES.items()}
            audited = set(db.execute("SELECT action, object_name FROM audit_log"))
            intervals = dict(db.execute("SELECT name, check_interval FROM accounts"))
            stored = {bytes(r[0]) for r in db.execute("SELECT sha256 FROM messages")}
            return have, audited, intervals, stored
        try:
            have, audited, intervals, stored = self.sql(read)
        except sqlite3.DatabaseError as e:
            self.problem(f"{when}: the store cannot be read: {e}")
            return
        lost = self.ledger.lost(before, dict(self.ledger.removed), have, audited, intervals)
        if lost:
            self.problem(f"{when}: {len(lost)} acknowledged writes (of {len(before[0])}) lost "
                         f"or wrong: {lost[:6]}")
        missing = [h for h in gone if h not in stored]
        if missing:
            self.problem(f"{when}: {len(missing)} of {len(gone)} messages deleted from the "
                         f"server are not in the store")
        self.durable_checks += 1
        self.gone_checked = len(gone)

    # --- beside the daemon: the monitor, the API, the CLI --------------------
    def guard(self, fn, *args):
        """A thread's target: what it raises is a problem, not a silent end."""
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001
            self.problem(f"{fn.__name__} stopped: {type(e).__name__}: {e}")

    def monitor(self):
        wal, shm = self.db + "-wal", self.db + "-shm"
        while not self.stop.is_set():
            with self.lock:  # the daemon is killed only outside a check
                if self.daemon is not None:
                    self.check_files(self.daemon, wal, shm)
            time.sleep(0.025)

    def api_load(self, token, rnd):
        """Writes (and reads) through the JSON API all the time."""
        i = 0
        while not self.stop.is_set():
            d = self.daemon
            if d is None:
                time.sleep(0.05)
                continue
            c = Client(d, token=token)
            try:
                while not self.stop.is_set() and self.daemon is d:
                    i += 1
                    self.api_step(c, i, rnd)
            except NET_ERRORS:
                pass  # the daemon was killed under it: on to the next one

    def api_step(self, c, i, rnd):
        kind = rnd.choice(("credential", "connector", "account", "patch", "delete", "read"))
        if kind == "credential":
            name = f"api-cred-{i}"
            status, _ = c.json("POST", "/api/v1/credentials",
                               {"name": name, "username": f"u{i}", "password": f"pw-{i}"})
        elif kind == "connector":
            name = f"api-conn-{i}"
            status, k = c.json("POST", "/api/v1/connectors",
                               {"name": name, "type": "http", "address": "proxy.example",
                                "port": 3000 + i % 1000})
            if 200 <= status < 300:
                self.api_connectors.append((name, k["id"]))
        elif kind == "account":
            name = f"api-acct-{i}"
            status, a = c.json("POST", "/api/v1/accounts", {
                "name": name, "protocol": "imap", "address": "127.0.0.1", "port": 1,
                "credential": "login", "automatic_check": False, "interval": 300})
            if 200 <= status < 300:
                self.api_accounts.append((name, a["id"]))
        elif kind == "patch" and self.api_accounts:
            name, id_ = self.api_accounts.pop(0)  # each account patched once
            self.ledger.intervals[name] = {300, 600 + i}
            status, _ = c.json("PATCH", f"/api/v1/accounts/{id_}", {"interval": 600 + i})
            if 200 <= status < 300:
                self.ledger.intervals[name] = {600 + i}
        elif kind == "delete" and self.api_connectors:
            name, id_ = self.api_connectors.pop(0)
            self.ledger.removed[name] = None
            status, _ = c.json("DELETE", f"/api/v1/connectors/{id_}")
            if 200 <= status < 300:
                self.ledger.removed[name] = True
        else:
            kind = "read"
            name = rnd.choice(("/api/v1/messages", "/api/v1/accounts", "/api/v1/audit",
                               "/api/v1/settings", f"/api/v1/accounts/{self.beside}/history",
                               "/api/v1/credentials", "/api/v1/connectors"))
            status, _ = c.json("GET", name)
        self.count(("api", kind), status)
        if 200 <= status < 300:
            if kind != "read":
                self.ledger.writes.append(("api", kind, name))
        else:
            self.ledger.failed.append(("api", kind, name, status))

    def count(self, key, status):
        self.counts[key + ("ok" if status in (0, 200, 201, 204) else "not ok",)] += 1

    def cli_load(self, rnd):
        """The CLI's commands in a loop beside the daemon."""
        commands = [self.cli_read, self.cli_credential, self.cli_read, self.cli_connector,
                    self.cli_read, self.cli_account, self.cli_fetch, self.cli_edit,
                    self.cli_read, self.cli_settings, self.cli_user, self.cli_read,
                    self.cli_schedule, self.cli_remove]
        i = 0
        while not self.stop.is_set():
            i += 1
            commands[i % len(commands)](i, rnd)

    def cli_write(self, kind, name, *args, stdin=None):
        r = self.cli(*args, stdin=stdin)
        self.count(("cli", kind), r.returncode)
        if r.returncode == 0:
            self.ledger.writes.append(("cli", kind, name))
        else:
            self.ledger.failed.append(("cli", kind, name, r.returncode, r.stderr.strip()[-600:]))
        return r.returncode == 0

    def cli_read(self, i, rnd):
        msg = str(rnd.choice(self.message_ids or [1]))
        args = rnd.choice((
            ("account", "list"), ("account", "show", "beside"),
            ("account", "list", "--format", "csv"),
            ("account", "history", "beside"), ("account", "test", "cli"),
            ("inbox", "list", "--format", "json"),
            ("inbox", "list", "--account", "cli", "--page", "2"), ("inbox", "show", msg),
            ("inbox", "show", msg, "--raw"), ("inbox", "skipped"), ("credential", "list"),
            ("credential", "show", "login"), ("connector", "list"), ("settings", "show"),
            ("audit", "list"), ("audit", "list", "--object", "account", "--format", "csv"),
            ("user", "list"), ("report", "schedule", "list")))
        r = self.cli(*args)
        self.count(("cli", " ".join(args[:2])), r.returncode)
        if r.returncode == 0 and args[-1] == "json":
            self.message_ids = [m["id"] for m in json.loads(r.stdout)["messages"]]
        if r.returncode != 0 and not (args[:2] == ("inbox", "show") and not self.message_ids):
            self.ledger.failed.append(("cli", "read", " ".join(args), r.returncode,
                                       r.stderr.strip()[-600:]))

    def cli_credential(self, i, rnd):
        name = f"cli-cred-{i}"
        if self.cli_write("credential", name, "credential", "add", "--name", name,
                          "--username", f"cli{i}", "--password-stdin", stdin=f"cli-pw-{i}"):
            self.cli_credentials.append(name)

    def cli_connector(self, i, rnd):
        name = f"cli-conn-{i}"
        if self.cli_write("connector", name, "connector", "add", "--name", name, "--type",
                          rnd.choice(("http", "socks5")), "--address", "proxy.example",
                          "--port", str(1080 + i % 1000)):
            self.cli_connectors.append(name)

    def cli_account(self, i, rnd):
        name = f"cli-acct-{i}"
        if self.cli_write("account", name, "account", "add", "--name", name, "--protocol",
                          "pop3", "--address", "127.0.0.1", "--port", "1", "--credential",
                          "login", "--automatic-check", "no", "--interval", "300"):
            self.cli_accounts.append(name)

    def cli_edit(self, i, rnd):
        if self.cli_accounts:
            name = self.cli_accounts.pop(0)  # each account edited once
            self.ledger.intervals[name] = {300, 900 + i}
            if self.cli_write("edit", name, "account", "edit", name, "--interval", str(900 + i)):
                self.ledger.intervals[name] = {900 + i}

    def cli_settings(self, i, rnd):
        value = rnd.choice(self.cli_connectors[-5:] + ["none"])
        ok = self.cli_write("settings", value, "settings", "set", "default-connector", value)
        self.ledger.settings.append((value, ok))

    def cli_user(self, i, rnd):
        name = f"cli-user-{i}"
        self.cli_write("user", name, "user", "add", "--name", name, "--role", "viewer",
                       "--password-stdin", stdin=f"cli-User-pw-{i}")

    def cli_schedule(self, i, rnd):
        name = f"cli-sched-{i}"
        self.cli_write("schedule", name, "report", "schedule", "add", "--name", name,
                       "--recurrence", "monthly", "--day", str(1 + i % 28), "--at", "03:00",
                       "--directory", self.tmp, "--enabled", "no")

    def cli_remove(self, i, rnd):
        if self.cli_credentials:
            name = self.cli_credentials.pop(0)
            self.ledger.removed[name] = None
            if self.cli_write("remove", name, "credential", "rm", name):
                self.ledger.removed[name] = True

    def cli_fetch(self, i, rnd):
        if self.d.message_count(self.user2) == 0:
            self.wave(self.user2, self.raws2, rnd.randint(5, 20), (2, 40), rnd)
        self.cli_write("fetch", "cli", "fetch", "cli")

    # --- the tests --------------------------------------------------------
    def test_cli_and_api_beside_a_daemon_killed_again_and_again(self):
        rnd = random.Random(SEED)
        print(f"\nbeside: MR_SEED={SEED} MR_KILLS={KILLS}", file=sys.stderr)
        self.user2 = self.d.take_user()
        self.add_credential("login2", password=self.password, username=self.user2)
        self.beside = self.account("beside", "pop3", "tls", "--keep-copy", "no",
                                   "--interval", "30")["id"]
        self.ok("account", "add", "--name", "cli", "--protocol", "imap", "--address",
                "127.0.0.1", "--port", str(self.port("imap", "tls")), "--security", "tls",
                "--skip-certificate", "yes", "--credential", "login2", "--keep-copy", "no",
                "--automatic-check", "no")
        self.lock, self.plock, self.stop = threading.Lock(), threading.Lock(), threading.Event()
        self.ledger, self.problems, self.counts = Ledger(), [], collections.Counter()
        self.raws, self.raws2, self.sent, self.message_ids = [], [], {}, []
        self.api_accounts, self.api_connectors = [], []
        self.cli_accounts, self.cli_connectors, self.cli_credentials = [], [], []
        self.checks = self.durable_checks = self.kills = self.gone_checked = 0
        self.life = 1
        self.wave(self.user, self.raws, WAVE[0], WAVE[1:], rnd)
        self.daemon = Serve(self.daemon_env, self.log, "--workers", "2")
        token = self.cli("token", "create", "--user", "admin").stdout.strip()
        self.assertEqual(len(token), 64)
        threads = [threading.Thread(target=self.guard, args=(self.monitor,)),
                   threading.Thread(target=self.guard,
                                    args=(self.api_load, token, random.Random(f"{SEED}-api"))),
                   threading.Thread(target=self.guard,
                                    args=(self.cli_load, random.Random(f"{SEED}-cli")))]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        try:
            self.kill_again_and_again(rnd)
            if self.daemon is not None:
                self.drain()
        finally:
            self.stop.set()
            for t in threads:
                t.join()
        self.final_fetch()
        with self.lock:
            d, self.daemon = self.daemon, None
            if d is not None:
                self.check_files(d, self.db + "-wal", self.db + "-shm")
        rc = d.stop() if d is not None else None
        if rc not in (0, None):
            self.problem(f"the last daemon stopped with rc {rc}")
        took = time.monotonic() - t0
        self.check_outcome()
        self.check_sanitizers()
        self.summary(took)
        if self.problems:
            self.fail(f"MR_SEED={SEED} MR_KILLS={KILLS}, after {self.kills} kills:\n  " +
                      "\n  ".join(self.problems))

    def kill_again_and_again(self, rnd):
        for kill in range(1, KILLS + 1):
            time.sleep(rnd.uniform(*LIFE))
            with self.lock:
                self.daemon.kill()
                self.daemon = None
            self.kills = kill
            result = self.integrity()
            self.check_durable(f"after kill {kill}")
            if result != "ok":
                self.problem(f"integrity after kill {kill}: {result}")
                break
            if self.d.message_count(self.user) < LOW:
                self.wave(self.user, self.raws, WAVE[0], WAVE[1:], rnd)
            if not self.restart(f"after kill {kill}"):
                return
        if self.daemon is None:  # stopped early: a daemon for the last checks
            self.restart("for the last checks")

    def restart(self, when):
        try:
            d = Serve(self.daemon_env, self.log, "--workers", "2")
        except RuntimeError as e:
            self.problem(f"{when}: {e}")
            return False
        with self.lock:
            self.life += 1
            self.daemon = d
        return True

    def drain(self):
        """The last daemon fetches what is left, writes still arriving."""
        deadline = time.time() + (20 if self.problems else 120)
        while self.d.message_count(self.user) and time.time() < deadline:
            time.sleep(0.5)
        time.sleep(1.5)  # a run that began as the mailbox emptied ends

    def final_fetch(self):
        for _ in range(5):
            if self.d.message_count(self.user2) == 0:
                break
            self.cli("fetch", "cli")

    def check_outcome(self):
        result = self.integrity()
        if result != "ok":
            self.problem(f"integrity at the end: {result}")
            self.check_durable("at the end")  # what can still be read
            return
        for user in (self.user, self.user2):
            left = self.d.message_count(user)
            if left:
                self.problem(f"{left} messages left on the server for {user}")
        want = sorted(hashlib.sha256(crlf(raw)).hexdigest() for raw in self.raws + self.raws2)
        got = sorted(hashlib.sha256(bytes(r[0])).hexdigest() for r in self.sql(
            lambda db: db.execute("SELECT raw FROM message_raw JOIN messages"
                                  " ON messages.id = message_raw.message_id").fetchall()))
        if len(got) != len(set(got)):
            self.problem(f"{len(got) - len(set(got))} messages stored twice")
        lost, extra = set(want) - set(got), set(got) - set(want)
        if lost or extra:
            self.problem(f"{len(lost)} of {len(want)} messages lost, {len(extra)} stored "
                         f"that were never delivered")
        self.check_writes()

    def check_writes(self):
        """Every acknowledged write as the CLI shows it (and its audit entry)."""
        have = {
            "credential": {c["name"] for c in self.cli_json("credential", "list")["credentials"]},
            "connector": {c["name"] for c in self.cli_json("connector", "list")["connectors"]},
            "user": {u["name"] for u in self.cli_json("user", "list")["users"]},
            "schedule": {s["name"] for s in
                         self.cli_json("report", "schedule", "list")["schedules"]},
        }
        accounts, page = {}, 1
        while True:
            got = self.cli_json("account", "list", "--status", "all", "--per-page", "1000",
                                "--page", str(page))
            accounts.update((a["name"], a["interval"]) for a in got["accounts"])
            if page >= got["pages"]:
                break
            page += 1
        have["account"] = set(accounts)
        r = self.cli("audit", "list", "--format", "csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        audited = {(row["Action"], row["Name"]) for row in csv.DictReader(io.StringIO(r.stdout))}
        before = self.ledger.snapshot()
        lost = self.ledger.lost(before, before[1], have, audited, accounts)
        lost += self.settings_lost()
        if lost:
            self.problem(f"at the end: {len(lost)} acknowledged writes (of {len(before[0])}) "
                         f"lost or wrong: {lost[:8]}")

    def check_sanitizers(self):
        """No ASan/UBSan report from a daemon (SIGKILLed ones write none at
        exit, the last one's leak check does) nor from a CLI command."""
        with open(self.log) as fh:
            log = fh.read()
        said = [f for f in self.ledger.failed if len(f) > 4 and SANITIZED in f[4]]
        if SANITIZED in log or said:
            at = log.find(SANITIZED)
            self.problem(f"sanitizer reports: {log[at:at + 400] if at >= 0 else said[:2]}")

    def settings_lost(self):
        """The default connector is the last one set with exit 0, or one
        attempted after it (a failed write may or may not have committed)."""
        settings = self.ledger.settings
        last = max((i for i, (_, ok) in enumerate(settings) if ok), default=None)
        if last is None:
            return []
        allowed = {v for v, _ in settings[last:]}
        got = self.cli_json("settings", "show")["default_connector"]
        got = got["name"] if got else "none"
        return [] if got in allowed else [f"default connector {got}, not in {sorted(allowed)}"]

    def summary(self, took):
        ok = sum(n for k, n in self.counts.items() if k[-1] == "ok")
        print(f"beside: {self.kills} kills in {took:.0f} s; {len(self.raws)} + "
              f"{len(self.raws2)} messages; {len(self.ledger.writes)} writes acknowledged, "
              f"{ok} commands and requests answered ok, {len(self.ledger.failed)} not; "
              f"{self.checks} /proc checks, {self.durable_checks} durability checks (the "
              f"last: {self.gone_checked} messages gone from the server)",
              file=sys.stderr)
        for (where, what, result), n in sorted(self.counts.items()):
            print(f"  {where} {what}: {n} {result}", file=sys.stderr)
        for f in self.ledger.failed[:10]:
            print(f"  not acknowledged: {f}", file=sys.stderr)

    def test_second_serve_on_the_same_data_directory_is_refused(self):
        first = self.daemon = Serve(self.daemon_env, self.log, "--no-scheduler")
        token = self.cli("token", "create", "--user", "admin").stdout.strip()
        by_env = [BIN, "serve", "--listen", f"127.0.0.1:{free_port()}", "--no-scheduler"]
        env_less = {k: v for k, v in self.daemon_env.items() if k != "MAILROOM_DATA"}
        elsewhere = os.path.join(self.tmp, "elsewhere")  # where an ignored --data means ./var
        os.mkdir(elsewhere)
        for argv, env in ((by_env, self.daemon_env), (by_env + ["--data", self.data], env_less)):
            second = subprocess.Popen(argv, env=env, cwd=elsewhere, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
            try:
                out, err = second.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                second.kill()
                out, err = second.communicate()
            self.assertEqual(second.returncode, 1, f"{argv}: {out}{err}")
            self.assertIn(f"pid {first.pid}", err)
            self.assertIn(self.data, err)
            self.assertIsNone(first.proc.poll(), "the first daemon still runs")
            status, _ = Client(first, token=token).json(
                "POST", "/api/v1/credentials", {"name": f"after-{len(argv)}", "username": "u",
                                                "password": "p"})
            self.assertEqual(status, 201, "the first daemon still serves")
        with open(os.path.join(self.data, "serve.pid")) as fh:
            self.assertEqual(fh.read().strip(), str(first.pid))
        # SIGKILLed, the first leaves no lock behind: the next one starts
        first.kill()
        self.daemon = Serve(self.daemon_env, self.log, "--no-scheduler")
        self.assertEqual(self.daemon.stop(), 0)


if __name__ == "__main__":
    unittest.main()
