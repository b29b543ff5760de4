"""After-fetch actions against the suite's real Dovecot (issue 19): keep
leaves the folder untouched, seen sets \\Seen (and never again on a message
someone marked unread), move uses MOVE when offered and COPY + \\Deleted +
UID EXPUNGE when not, creates a missing folder only when asked, delete
empties the folder; action_when delivered waits for the message's
deliveries; a run killed between the commit and the action leaves the
message on the server and the next run does the action, each message
stored once. POP3 keeps or deletes only."""
import hashlib
import imaplib
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time

from helpers import BIN, MailTestCase, crlf, message, server, stop_servers

# Dovecot 2.3's own list without MOVE (imap_capability replaces it)
NO_MOVE = ("IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ NAMESPACE UNSELECT "
           "CHILDREN UIDPLUS")
NO_MOVE_NO_UIDPLUS = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ NAMESPACE"


def tearDownModule():
    stop_servers()


def sha(raw):
    return hashlib.sha256(crlf(raw)).hexdigest()


class StallingProxy:
    """Between mailroom and Dovecot's plain IMAP port: forwards every byte
    until the client sends a command whose verb (after the tag) starts with
    one of `verbs`; that line and all after it are never forwarded, so
    mailroom waits for an answer that does not come. `stalled` is set."""

    def __init__(self, port, verbs):
        self.upstream, self.verbs = port, [v.encode() for v in verbs]
        self.stalled = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            u = socket.create_connection(("127.0.0.1", self.upstream))
            self.conns += [c, u]
            threading.Thread(target=self._pump, args=(u, c, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(c, u, True), daemon=True).start()

    def _pump(self, src, dst, from_client):
        buf = b""
        try:
            while not self.stalled.is_set():
                data = src.recv(65536)
                if not data:
                    break
                if not from_client:
                    dst.sendall(data)
                    continue
                buf += data
                while b"\n" in buf and not self.stalled.is_set():
                    line, buf = buf.split(b"\n", 1)
                    verb = line.split(b" ", 1)[1] if b" " in line else b""
                    if any(verb.upper().startswith(v) for v in self.verbs):
                        self.stalled.set()
                        break
                    dst.sendall(line + b"\n")
        except OSError:
            pass

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


class AfterFetchTest(MailTestCase):
    # --- helpers ---------------------------------------------------------------
    def db(self, sql, *args, write=False):
        conn = sqlite3.connect(os.path.join(self.data, "mailroom.db"), timeout=30)
        try:
            rows = conn.execute(sql, args).fetchall()
            if write:
                conn.commit()
            return rows
        finally:
            conn.close()

    def imap(self, d=None):
        d = d or self.d
        m = imaplib.IMAP4("127.0.0.1", d.ports["imap"])
        m.login(self.user, self.password)
        return m

    def flags(self, folder="INBOX", d=None):
        """{Subject: set of flags} of the folder's messages, as Dovecot has them."""
        m = self.imap(d)
        try:
            typ, _ = m.select(folder, readonly=True)
            self.assertEqual(typ, "OK", folder)
            typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            out = {}
            for item in data:
                if not isinstance(item, tuple):
                    continue
                fl = re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).decode().split()
                subject = item[1].decode().split(":", 1)[1].strip()
                out[subject] = set(fl)
            return out
        finally:
            m.logout()

    def mark_unread(self, subject):
        m = self.imap()
        try:
            m.select("INBOX")
            typ, data = m.search(None, "SUBJECT", f'"{subject}"')
            for num in data[0].split():
                m.store(num, "-FLAGS", "\\Seen")
        finally:
            m.logout()

    def assert_stored_once(self, raws):
        got = sorted(m["sha256"] for m in self.inbox())
        self.assertEqual(got, sorted(sha(r) for r in raws))

    def pending(self):
        return [r[0] for r in self.db("SELECT action_pending FROM messages ORDER BY id")]

    def traced(self, name, *extra, ok=True):
        run, r = self.fetch(name, "--trace", *extra, ok=ok)
        return run, r.stderr

    def plain_account(self, name, *extra, d=None):
        d = d or self.d
        return self.json("account", "add", "--name", name, "--protocol", "imap", "--address",
                         "127.0.0.1", "--port", str(d.ports["imap"]), "--security", "none",
                         "--credential", "login", *extra)

    # --- keep and seen ---------------------------------------------------------
    def test_keep_leaves_the_folder_untouched(self):
        raws = [message(i) for i in range(3)]
        self.deliver(raws)
        a = self.account("keep", "imap", "tls", "--after-fetch", "keep")
        self.assertEqual((a["after_fetch"], a["keep_copy"], a["action_when"]),
                         ("keep", True, "stored"))
        self.ok("account", "test", "keep")  # Dovecot moves new/ to cur/ first
        before = self.d.snapshot(self.user)
        run, trace = self.traced("keep")
        self.assertEqual((run["fetched"], run["deleted"], run["acted"]), (3, 0, 0))
        self.assertIn("EXAMINE", trace)
        self.assertEqual(self.d.snapshot(self.user), before)
        self.assertEqual(self.pending(), [0, 0, 0])
        self.assert_stored_once(raws)

    def test_seen_marks_once_and_never_again(self):
        raws = [message(i) for i in range(3)]
        self.deliver(raws)
        a = self.account("seen", "imap", "tls", "--after-fetch", "seen")
        self.assertEqual((a["after_fetch"], a["keep_copy"]), ("seen", True))
        run, trace = self.traced("seen")
        self.assertEqual((run["fetched"], run["deleted"], run["acted"]), (3, 0, 3))
        self.assertIn("SELECT", trace)
        self.assertIn("+FLAGS.SILENT (\\Seen)", trace)
        flags = self.flags()
        self.assertEqual(len(flags), 3)
        self.assertTrue(all("\\Seen" in f for f in flags.values()), flags)
        self.assertEqual(self.pending(), [0, 0, 0])
        # someone marks one unread again; new mail arrives; only that is marked
        self.mark_unread("message 1")
        more = [message(7)]
        self.deliver(more)
        run, _ = self.fetch("seen")
        self.assertEqual((run["fetched"], run["acted"]), (1, 1))
        flags = self.flags()
        self.assertNotIn("\\Seen", flags["message 1"])
        self.assertIn("\\Seen", flags["message 7"])
        self.assertIn("\\Seen", flags["message 0"])
        run, _ = self.fetch("seen")
        self.assertEqual((run["fetched"], run["acted"]), (0, 0))
        self.assertNotIn("\\Seen", self.flags()["message 1"])
        self.assert_stored_once(raws + more)

    # --- move ------------------------------------------------------------------
    def test_move_with_the_move_capability(self):
        self.d.create_folder(self.user, "INBOX.Done")
        raws = [message(i) for i in range(4)]
        self.deliver(raws)
        # the other delimiter works as it does for the fetch folder
        self.account("mv", "imap", "tls", "--after-fetch", "move", "--move-folder", "INBOX/Done")
        run, trace = self.traced("mv")
        self.assertEqual((run["fetched"], run["deleted"], run["acted"]), (4, 0, 4))
        self.assertIn("UID MOVE", trace)
        self.assertEqual(self.d.message_count(self.user), 0)
        self.assertEqual(self.d.message_count(self.user, "INBOX.Done"), 4)
        self.assertEqual(self.pending(), [0] * 4)
        run, _ = self.fetch("mv")
        self.assertEqual((run["fetched"], run["acted"]), (0, 0))
        self.assert_stored_once(raws)

    def test_move_without_the_move_capability(self):
        for name, caps, expunge in (("nomove", NO_MOVE, "UID EXPUNGE"),
                                    ("nomove-nouidplus", NO_MOVE_NO_UIDPLUS, "EXPUNGE")):
            with self.subTest(caps=caps):
                d = server(name, imap_capability=caps)
                self.setUp()
                self.d = d
                self.user = d.take_user()
                self.add_credential("login2", password=self.password, username=self.user)
                d.create_folder(self.user, "INBOX.Done")
                raws = [message(i) for i in range(3)]
                for r in raws:
                    d.deliver(self.user, r)
                self.json("account", "add", "--name", "cp", "--protocol", "imap", "--address",
                          "127.0.0.1", "--port", str(d.ports["imap"]), "--security", "none",
                          "--credential", "login2", "--after-fetch", "move", "--move-folder",
                          "INBOX.Done")
                run, trace = self.traced("cp")
                self.assertEqual((run["fetched"], run["acted"]), (3, 3))
                self.assertNotIn("UID MOVE", trace)
                self.assertIn("UID COPY", trace)
                self.assertIn("+FLAGS.SILENT (\\Deleted)", trace)
                self.assertIn(expunge, trace)
                self.assertEqual(d.message_count(self.user), 0)
                self.assertEqual(d.message_count(self.user, "INBOX.Done"), 3)
                self.assert_stored_once(raws)

    def test_move_to_a_missing_folder(self):
        raws = [message(i) for i in range(2)]
        self.deliver(raws)
        self.account("nofolder", "imap", "tls", "--after-fetch", "move", "--move-folder",
                     "INBOX.Archive")
        for _ in range(2):  # the error again; stored once; nothing moved
            run, r = self.fetch("nofolder", ok=False)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("'INBOX.Archive'", r.stderr)
            self.assertIn("does not exist", r.stderr)
            self.assertEqual(self.d.message_count(self.user), 2)
            self.assert_stored_once(raws)
            self.assertEqual(self.pending(), [1, 1])
        self.assertFalse(os.path.exists(self.d.maildir(self.user, "INBOX.Archive")))
        # asked to create it: the next run creates it and moves both
        self.ok("account", "edit", "nofolder", "--create-folder", "yes")
        run, trace = self.traced("nofolder")
        self.assertEqual((run["fetched"], run["acted"]), (0, 2))
        self.assertIn("CREATE", trace)
        self.assertEqual(self.d.message_count(self.user), 0)
        self.assertEqual(self.d.message_count(self.user, "INBOX.Archive"), 2)
        self.assert_stored_once(raws)
        self.assertEqual(self.pending(), [0, 0])

    def test_move_creates_the_folder_when_asked(self):
        raws = [message(i) for i in range(2)]
        self.deliver(raws)
        self.account("mk", "imap", "tls", "--after-fetch", "move", "--move-folder",
                     "INBOX/Processed/2026", "--create-folder", "yes")
        run, _ = self.fetch("mk")
        self.assertEqual((run["fetched"], run["acted"]), (2, 2))
        self.assertEqual(self.d.message_count(self.user, "INBOX.Processed.2026"), 2)
        self.assertEqual(self.d.message_count(self.user), 0)

    # --- delete ----------------------------------------------------------------
    def test_delete_empties_the_folder(self):
        for proto in ("imap", "pop3"):
            with self.subTest(proto=proto):
                self.setUp()
                raws = [message(i) for i in range(3)]
                self.deliver(raws)
                a = self.account("del", proto, "tls", "--after-fetch", "delete")
                self.assertEqual((a["after_fetch"], a["keep_copy"]), ("delete", False))
                run, _ = self.fetch("del")
                self.assertEqual((run["fetched"], run["deleted"]), (3, 3))
                self.assertEqual(self.d.message_count(self.user), 0)
                self.assertEqual(self.pending(), [0, 0, 0])
                self.assert_stored_once(raws)

    def test_pop3_keeps_or_deletes_only(self):
        for action in ("seen", "move"):
            err = self.fails("account", "add", "--name", "p-" + action, "--protocol", "pop3",
                             "--address", "127.0.0.1", "--credential", "login", "--after-fetch",
                             action, "--move-folder", "Done")
            self.assertIn("after_fetch", err)
            self.assertIn("IMAP only", err)
        raws = [message(1)]
        self.deliver(raws)
        self.account("p-keep", "pop3", "tls", "--after-fetch", "keep")
        self.assertEqual(self.fetch("p-keep")[0]["deleted"], 0)
        self.assertEqual(self.d.message_count(self.user), 1)

    # --- when delivered ------------------------------------------------------------
    def add_target(self, account_id):
        self.db("INSERT INTO delivery_targets (account_id, name, kind, path, created_at,"
                " updated_at) VALUES (?, 'drop', 'maildir', '/nonexistent', 0, 0)", account_id,
                write=True)

    def set_deliveries(self, state):
        self.db("UPDATE deliveries SET state = ?", state, write=True)

    def test_seen_when_delivered_waits_for_every_delivery(self):
        raws = [message(i) for i in range(2)]
        self.deliver(raws)
        a = self.account("dl", "imap", "tls", "--after-fetch", "seen", "--action-when",
                         "delivered")
        self.assertEqual(a["action_when"], "delivered")
        self.add_target(a["id"])
        run, _ = self.fetch("dl")
        self.assertEqual((run["fetched"], run["acted"]), (2, 0))
        self.assertEqual(self.db("SELECT state FROM deliveries"), [("pending",), ("pending",)])
        self.assertFalse(any("\\Seen" in f for f in self.flags().values()))
        self.assertEqual(self.pending(), [1, 1])
        self.set_deliveries("failed")  # failed is not done either
        self.assertEqual(self.fetch("dl")[0]["acted"], 0)
        self.db("UPDATE deliveries SET state = 'delivered' WHERE id = (SELECT min(id) FROM"
                " deliveries)", write=True)
        self.db("UPDATE deliveries SET state = 'skipped' WHERE state <> 'delivered'", write=True)
        run, _ = self.fetch("dl")
        self.assertEqual((run["fetched"], run["acted"]), (0, 2))
        self.assertTrue(all("\\Seen" in f for f in self.flags().values()))
        self.assertEqual(self.pending(), [0, 0])
        self.assert_stored_once(raws)

    def test_delete_when_delivered(self):
        for proto in ("imap", "pop3"):
            with self.subTest(proto=proto):
                self.setUp()
                raws = [message(i) for i in range(3)]
                self.deliver(raws)
                a = self.account("dd", proto, "tls", "--keep-copy", "no", "--action-when",
                                 "delivered")
                self.assertEqual(a["after_fetch"], "delete")
                self.add_target(a["id"])
                run, _ = self.fetch("dd")
                self.assertEqual((run["fetched"], run["deleted"]), (3, 0))
                self.assertEqual(self.d.message_count(self.user), 3)
                self.db("UPDATE deliveries SET state = 'delivered' WHERE id = (SELECT min(id)"
                        " FROM deliveries)", write=True)
                run, _ = self.fetch("dd")
                self.assertEqual((run["fetched"], run["deleted"]), (0, 1))
                self.assertEqual(self.d.message_count(self.user), 2)
                self.set_deliveries("delivered")
                run, _ = self.fetch("dd")
                self.assertEqual((run["fetched"], run["deleted"]), (0, 2))
                self.assertEqual(self.d.message_count(self.user), 0)
                self.assertEqual(self.pending(), [0, 0, 0])
                self.assert_stored_once(raws)

    def test_an_account_without_targets_acts_at_once_when_delivered(self):
        self.deliver([message(1)])
        self.account("none", "imap", "tls", "--after-fetch", "seen", "--action-when",
                     "delivered")
        self.assertEqual(self.fetch("none")[0]["acted"], 1)

    # --- crashes ---------------------------------------------------------------
    def integrity(self):
        return self.db("PRAGMA integrity_check")[0][0]

    def test_killed_between_commit_and_action(self):
        """A server that never answers the action's command: the messages
        are committed (with their action pending), mailroom is SIGKILLed
        waiting, and the next run does the action; nothing stored twice."""
        self.d.create_folder(self.user, "INBOX.Done")
        for action, verb, extra in (("seen", "UID STORE", ()),
                                    ("move", "UID MOVE", ("--move-folder", "INBOX.Done"))):
            with self.subTest(action=action):
                self.setUp()
                self.d.create_folder(self.user, "INBOX.Done")
                raws = [message(i) for i in range(5)]
                self.deliver(raws)
                proxy = StallingProxy(self.d.ports["imap"], [verb])
                try:
                    self.json("account", "add", "--name", "k", "--protocol", "imap", "--address",
                              "127.0.0.1", "--port", str(proxy.port), "--security", "none",
                              "--credential", "login", "--after-fetch", action, *extra)
                    env = dict(self.env)
                    proc = subprocess.Popen([BIN, "--data", self.data, "fetch", "k"], env=env,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    self.assertTrue(proxy.stalled.wait(60), "the action was never sent")
                    time.sleep(0.2)
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                finally:
                    proxy.close()
                self.assertEqual(self.integrity(), "ok")
                self.assertEqual(self.pending(), [1] * 5)  # committed, the action to do
                self.assertEqual(self.d.message_count(self.user), 5)  # still on the server
                self.ok("account", "edit", "k", "--port", str(self.d.ports["imap"]))
                run, _ = self.fetch("k")
                self.assertEqual((run["fetched"], run["acted"]), (0, 5))
                if action == "seen":
                    self.assertTrue(all("\\Seen" in f for f in self.flags().values()))
                else:
                    self.assertEqual(self.d.message_count(self.user), 0)
                    self.assertEqual(self.d.message_count(self.user, "INBOX.Done"), 5)
                self.assertEqual(self.pending(), [0] * 5)
                self.assert_stored_once(raws)

    def test_killed_at_random_moments(self):
        """move, SIGKILLed at random moments 20 times while mail keeps
        arriving: SQLite's integrity after each kill; at the end every
        message is stored once and moved once (MOVE is atomic)."""
        self.d.create_folder(self.user, "INBOX.Done")
        rnd = random.Random(f"after-fetch-{self.user}")
        raws = []

        def wave(n):
            more = [message(len(raws) + i, body=f"m {len(raws) + i} ".encode() *
                            rnd.randint(10, 300) + b"\r\n") for i in range(n)]
            self.deliver(more)
            raws.extend(more)
        wave(150)
        self.plain_account("r", "--after-fetch", "move", "--move-folder", "INBOX.Done")
        kills, window = 0, 1.0
        while kills < 20:
            if self.d.message_count(self.user) == 0:
                wave(60)
            proc = subprocess.Popen([BIN, "--data", self.data, "fetch", "r"], env=self.env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            t0 = time.monotonic()
            time.sleep(rnd.uniform(0, window))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            else:
                window = max(0.05, (time.monotonic() - t0) * 1.5)
            proc.wait()
            self.assertEqual(self.integrity(), "ok", f"after kill {kills}")
        run, _ = self.fetch("r")
        self.assertEqual(self.integrity(), "ok")
        self.assertEqual(self.d.message_count(self.user), 0)
        self.assertEqual(self.d.message_count(self.user, "INBOX.Done"), len(raws))
        self.assertEqual(set(self.pending()), {0})
        self.assert_stored_once(raws)
