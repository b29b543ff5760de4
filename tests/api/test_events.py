"""GET /api/v1/events, the console's live updates (Server-Sent Events),
against a real daemon and the suite's Dovecot: a message stored by the
CLI's `mailroom fetch` beside the daemon, and by the daemon's own Fetch now,
reaches an open stream; so does a delivery attempt, naming its message; a
stream needs a login (a viewer's or a read-only token will do);
Last-Event-ID resumes where a stream left off, or says reset; the cap on
open streams answers 503 with Retry-After, and a client that goes away
frees its slot; SIGTERM with streams open still exits at once."""
import http.client
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from daemon import Client, Daemon  # noqa: E402
from dovecot import POOL_PASSWORD, Dovecot  # noqa: E402

STREAMS_MAX = 6  # MAILROOM_TEST_EVENTS_MAX: the cap, reached without hundreds of sockets


def session_cookie(client):
    return next(c.value for c in client.jar if c.name == "mailroom_session")


class Stream:
    """One SSE connection, read event by event."""

    def __init__(self, daemon, cookie=None, token=None, last_id=None, query=""):
        self.conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=15)
        headers = {"Accept": "text/event-stream"}
        if cookie:
            headers["Cookie"] = f"mailroom_session={cookie}"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if last_id is not None:
            headers["Last-Event-ID"] = str(last_id)
        self.conn.request("GET", "/api/v1/events" + query, headers=headers)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.headers = dict(self.resp.getheaders())
        self.last_id = None

    def event(self):
        """The next event as (type, id, data), or None at the end of the
        stream; comments are skipped."""
        fields = {}
        while True:
            line = self.resp.readline()
            if not line:
                return None
            line = line.decode().rstrip("\r\n")
            if line == "":
                if "event" in fields or "data" in fields:
                    if "id" in fields:
                        self.last_id = int(fields["id"])
                    data = json.loads(fields["data"]) if "data" in fields else None
                    return fields.get("event", "message"), fields.get("id"), data
                fields = {}
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value

    def until(self, kind, pred=lambda d: True, seconds=15):
        """Events up to the first of kind whose data pred accepts."""
        seen = []
        deadline = time.time() + seconds
        while time.time() < deadline:
            e = self.event()
            if e is None:
                break
            seen.append(e)
            if e[0] == kind and pred(e[2]):
                return seen
        raise AssertionError(f"no {kind} event; saw {seen}")

    def close(self):
        self.resp.close()  # the response holds the socket open too
        self.conn.close()


class EventsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dovecot = Dovecot(users=4, high_performance=True).start()
        cls.d = Daemon(env={"MAILROOM_TEST_EVENTS_MAX": str(STREAMS_MAX)})
        cls.c = Client(cls.d)
        assert cls.c.login()[0] == 200
        cls.user = cls.dovecot.take_user()
        status, _ = cls.c.json("POST", "/api/v1/credentials",
                               {"name": cls.user, "username": cls.user,
                                "password": POOL_PASSWORD})
        assert status == 201
        status, cls.account = cls.c.json(
            "POST", "/api/v1/accounts",
            {"name": "live-" + cls.user, "protocol": "imap", "address": "127.0.0.1",
             "port": cls.dovecot.ports["imaps"], "security": "tls",
             "skip_certificate": True, "credential": cls.user, "keep_copy": False})
        assert status == 201, cls.account

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        if rc != 0:
            print(cls.d.output())
        cls.dovecot.stop()
        assert rc == 0, f"the daemon exited {rc} on SIGTERM"

    def setUp(self):
        self.streams = []

    def tearDown(self):
        for s in self.streams:
            s.close()

    def open(self, wait=True, **kw):
        """A stream; wait: while the cap is reached, until the slots of
        streams closed just before are freed (within about a second)."""
        kw.setdefault("cookie", session_cookie(self.c))
        deadline = time.time() + 5
        while True:
            s = Stream(self.d, **kw)
            if s.status != 503 or not wait or time.time() > deadline:
                break
            s.close()
            time.sleep(0.2)
        self.streams.append(s)
        return s

    def ready(self, **kw):
        s = self.open(**kw)
        self.assertEqual(s.status, 200)
        s.until("ready")
        return s

    def fetch(self):
        """Fetch now (once the last test's check has let go of the account)."""
        deadline = time.time() + 20
        while True:
            status, r = self.c.json("POST", f"/api/v1/accounts/{self.account['id']}/fetch")
            if status != 409 or time.time() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(status, 202, r)

    def deliver(self, subject):
        self.dovecot.deliver(self.user, f"Subject: {subject}\r\n\r\nlive\r\n".encode())

    def mine(self, data):
        return self.account["id"] in data["accounts"]

    def state(self, *states):
        """An account event saying this account is in one of states."""
        return lambda d: any(a["id"] == self.account["id"] and a["state"] in states
                             for a in d["accounts"])

    def test_a_stream_needs_a_login_and_a_viewer_may_subscribe(self):
        s = self.open(cookie=None)
        self.assertEqual(s.status, 401)
        s = self.open(cookie=None, token="mr_not-a-token")
        self.assertEqual(s.status, 401)
        status, _ = self.c.json("POST", "/api/v1/users",
                                {"name": "vera", "role": "viewer",
                                 "password": "vera-Password-42"})
        self.assertEqual(status, 201)
        viewer = Client(self.d)
        self.assertEqual(viewer.login("vera", "vera-Password-42")[0], 200)
        s = self.ready(cookie=session_cookie(viewer))
        self.assertEqual(s.headers["Content-Type"], "text/event-stream")
        self.assertEqual(s.headers["Cache-Control"], "no-store")
        self.assertIsNotNone(s.last_id)  # ready carries the stream's position
        # a read-only API token reads the stream too
        status, tok = self.c.json("POST", "/api/v1/tokens",
                                  {"name": "live-ro", "user": "admin", "read_only": True})
        self.assertEqual(status, 201, tok)
        self.ready(cookie=None, token=tok["token"])

    def test_a_cli_fetch_beside_the_daemon_reaches_the_stream(self):
        s = self.ready()
        self.deliver("from the CLI")
        started = time.time()
        deadline = time.time() + 20
        while (r := self.d.cli("fetch", self.account["name"])).returncode and \
                time.time() < deadline:  # the daemon's last check still holds the account
            time.sleep(0.2)
        self.assertEqual(r.returncode, 0, r.stderr)
        seen = s.until("message", self.mine)
        # another process's commit is seen by the once-a-second look
        self.assertLess(time.time() - started, 10)
        msg = seen[-1][2]
        self.assertGreaterEqual(msg["count"], 1)
        _, inbox = self.c.json("GET", f"/api/v1/accounts/{self.account['id']}/messages")
        self.assertEqual(inbox["messages"][0]["id"], msg["id"])
        self.assertEqual(inbox["messages"][0]["subject"], "from the CLI")
        # the check's end and the dashboard's counts follow
        seen = s.until("account", self.state("ok"))
        if "dashboard" not in [e[0] for e in seen]:
            s.until("dashboard")

    def test_fetch_now_in_the_daemon_reaches_the_stream_at_once(self):
        s = self.ready()
        self.deliver("fetched now")
        self.fetch()
        started = time.time()
        seen = s.until("message", self.mine)
        # the daemon's own commit wakes the watcher: no wait for the next look
        self.assertLess(time.time() - started, 5)
        kinds = [e[0] for e in seen]
        self.assertIn("account", kinds)  # running, when the check started
        ids = [int(e[1]) for e in seen if e[1]]
        self.assertEqual(ids, sorted(ids))
        self.assertEqual(len(ids), len(set(ids)))

    def test_a_delivery_attempt_is_a_message_status(self):
        """A message handed to a delivery target (a Maildir here) by the
        daemon's outbox: its processing changed, and the stream names it."""
        status, target = self.c.json(
            "POST", f"/api/v1/accounts/{self.account['id']}/targets",
            {"name": "live-archive", "kind": "maildir",
             "path": os.path.join(self.d.tmp, "live-maildir")})
        self.assertEqual(status, 201, target)
        try:
            s = self.ready()
            self.deliver("to be handed on")
            self.fetch()
            new = s.until("message", self.mine)[-1][2]["id"]
            s.until("message_status", lambda d: new in d["ids"])
            _, m = self.c.json("GET", f"/api/v1/messages/{new}")
            self.assertEqual(m["delivery"], "delivered")
        finally:
            self.c.json("DELETE", f"/api/v1/targets/{target['id']}")

    def test_last_event_id_resumes_or_says_reset(self):
        s = self.ready()
        self.deliver("before the break")
        self.fetch()
        s.until("message", self.mine)
        s.until("account", self.state("ok", "error"))
        left_at = s.last_id
        s.close()
        # while the client is away, another message is stored
        self.deliver("during the break")
        self.fetch()
        probe = self.ready()
        probe.until("message", self.mine)
        probe.close()
        # back with Last-Event-ID: what it missed comes first, then ready
        back = self.open(last_id=left_at)
        seen = back.until("ready")
        back.close()
        kinds = [e[0] for e in seen]
        self.assertIn("message", kinds)
        self.assertNotIn("reset", kinds)
        self.assertTrue(all(int(e[1]) > left_at for e in seen))
        # the same with ?since= (for clients that are not EventSource)
        again = self.open(query=f"?since={left_at}")
        self.assertEqual([e[0] for e in again.until("ready")], kinds)
        again.close()
        # a position from before what is kept, or not yet given (another
        # run of the daemon), or nonsense: reset, then ready
        for stale in (1, seen[-1][2]["id"] + 1000, "x"):
            old = self.open(last_id=stale)
            self.assertEqual(old.status, 200)
            self.assertEqual([e[0] for e in old.until("ready")], ["reset", "ready"])
            old.close()

    def test_the_cap_answers_503_and_a_client_that_leaves_frees_its_slot(self):
        streams = self.fill()
        full = self.open(wait=False)
        self.assertEqual(full.status, 503)
        self.assertTrue(int(full.headers["Retry-After"]) > 0)
        body = json.loads(full.resp.read())
        self.assertEqual(body["error"]["code"], "busy")
        # a client that goes away without a word frees its slot in about a second
        streams[0].close()
        started = time.time()
        s = self.open()
        self.assertEqual(s.status, 200)
        self.assertLess(time.time() - started, 3)
        s.until("ready")

    def fill(self):
        """Streams up to the cap (earlier tests' closed streams are freed
        first)."""
        streams = []
        deadline = time.time() + 5
        while len(streams) < STREAMS_MAX and time.time() < deadline:
            s = self.open(wait=False)
            if s.status == 200:
                s.until("ready")
                streams.append(s)
            else:
                s.close()
                time.sleep(0.2)
        self.assertEqual(len(streams), STREAMS_MAX)
        return streams


class ShutdownTest(unittest.TestCase):
    def test_hundreds_of_streams_hold_no_thread(self):
        """200 streams open on a daemon of 4 request threads: a stream waits
        suspended, so every other request is still answered at once, and
        SIGTERM still ends them all and exits."""
        d = Daemon()
        c = Client(d)
        self.assertEqual(c.login()[0], 200)
        cookie = session_cookie(c)
        streams = []
        for _ in range(200):
            s = Stream(d, cookie=cookie)
            self.assertEqual(s.status, 200)
            streams.append(s)
        for s in streams:
            s.until("ready")
        started = time.time()
        for _ in range(10):
            self.assertEqual(c.json("GET", "/api/v1/dashboard")[0], 200)
        self.assertLess(time.time() - started, 5)
        started = time.time()
        self.assertEqual(d.stop(), 0, d.output())
        self.assertLess(time.time() - started, 5)
        for s in streams:
            self.assertIsNone(s.event())
            s.close()

    def test_sigterm_with_streams_open_exits_promptly(self):
        d = Daemon()
        c = Client(d)
        self.assertEqual(c.login()[0], 200)
        streams = [Stream(d, cookie=session_cookie(c)) for _ in range(5)]
        for s in streams:
            self.assertEqual(s.status, 200)
            s.until("ready")
        started = time.time()
        rc = d.stop()
        self.assertEqual(rc, 0, d.output())
        self.assertLess(time.time() - started, 5)
        for s in streams:  # each ended cleanly: the body's end, not a hang
            self.assertIsNone(s.event())
            s.close()

    def test_a_restarted_daemon_says_reset_to_a_client_of_the_last_run(self):
        """On a store with history (checks run, mail stored), the next run
        of the daemon starts its stream where the store is, and an ID from
        the run before is answered with reset, not with a replay."""
        dovecot = Dovecot(users=1, high_performance=True).start()
        self.addCleanup(dovecot.stop)
        d = Daemon()
        c = Client(d)
        self.assertEqual(c.login()[0], 200)
        user = dovecot.take_user()
        c.json("POST", "/api/v1/credentials", {"name": user, "username": user,
                                                "password": POOL_PASSWORD})
        _, a = c.json("POST", "/api/v1/accounts",
                      {"name": "restart", "protocol": "imap", "address": "127.0.0.1",
                       "port": dovecot.ports["imaps"], "security": "tls",
                       "skip_certificate": True, "credential": user, "keep_copy": False})
        s = Stream(d, cookie=session_cookie(c))
        s.until("ready")
        dovecot.deliver(user, b"Subject: before the restart\r\n\r\nx\r\n")
        c.json("POST", f"/api/v1/accounts/{a['id']}/fetch")
        s.until("account", lambda e: {"id": a["id"], "state": "ok"} in e["accounts"])
        last = s.last_id
        s.close()
        self.assertEqual(d.stop(), 0, d.output())
        d = Daemon(reuse=d)
        c = Client(d)
        self.assertEqual(c.login()[0], 200)
        s = Stream(d, cookie=session_cookie(c), last_id=last)
        self.assertEqual([e[0] for e in s.until("ready")], ["reset", "ready"])
        self.assertGreater(s.last_id, last)  # IDs grow across runs
        # and the new run reports new mail from where the store was
        dovecot.deliver(user, b"Subject: after the restart\r\n\r\nx\r\n")
        self.assertEqual(d.cli("fetch", "restart").returncode, 0)
        self.assertEqual(s.until("message")[-1][2]["count"], 1)
        s.close()
        self.assertEqual(d.stop(), 0, d.output())


if __name__ == "__main__":
    unittest.main()
