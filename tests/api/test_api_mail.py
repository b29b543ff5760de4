"""The API against a real Dovecot: Test connection (stored and unsaved
values), Fetch now in the background, fetch history, and the inbox: list,
message, raw .eml and attachment download."""
import base64
import hashlib
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from daemon import Client, Daemon  # noqa: E402
from dovecot import POOL_PASSWORD, Dovecot  # noqa: E402
from fakeserver import FakeServer, pop3_session  # noqa: E402
from helpers import crlf  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))


class ApiMailTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dovecot = Dovecot(users=10, high_performance=True).start()
        cls.d = Daemon()

    @classmethod
    def tearDownClass(cls):
        assert cls.d.stop() == 0
        cls.dovecot.stop()

    def setUp(self):
        self.c = Client(self.d)
        self.assertEqual(self.c.login()[0], 200)
        self.user = self.dovecot.take_user()
        status, cred = self.c.json("POST", "/api/v1/credentials",
                                   {"name": self.user, "username": self.user,
                                    "password": POOL_PASSWORD})
        self.assertEqual(status, 201)
        self.form = {"protocol": "imap", "address": "127.0.0.1",
                     "port": self.dovecot.ports["imaps"], "security": "tls",
                     "skip_certificate": True, "credential": self.user}

    def wait_for_run(self, account):
        for _ in range(300):
            _, h = self.c.json("GET", f"/api/v1/accounts/{account}/history")
            if h["runs"] and h["runs"][0]["result"] != "running":
                return h["runs"][0]
            time.sleep(0.1)
        self.fail("the fetch did not finish")

    def test_test_connection_of_unsaved_values(self):
        before = self.c.json("GET", "/api/v1/accounts")[1]["total"]
        status, r = self.c.json("POST", "/api/v1/accounts/test", self.form)
        self.assertEqual(status, 200, r)
        self.assertTrue(r["ok"], r)
        self.assertEqual([s["step"] for s in r["steps"]][:3], ["resolve", "connect", "tls"])
        # the daemon resumes the TLS session the server offered (this Dovecot
        # runs one long-lived login process, so its tickets stay valid)...
        status, again = self.c.json("POST", "/api/v1/accounts/test", self.form)
        self.assertTrue(again["ok"], again)
        self.assertIn("session resumed", again["steps"][2]["detail"])
        # ...but never one made without verification for a check that verifies
        bad = dict(self.form, skip_certificate=False)
        status, r = self.c.json("POST", "/api/v1/accounts/test", bad)
        self.assertFalse(r["ok"])
        self.assertEqual((r["steps"][-1]["step"], r["steps"][-1]["result"]), ("tls", "failed"))
        status, r = self.c.json("POST", "/api/v1/accounts/test", dict(self.form, port=0))
        self.assertEqual((status, r["error"]["field"]), (400, "port"))
        # nothing was saved by testing
        self.assertEqual(self.c.json("GET", "/api/v1/accounts")[1]["total"], before)

    def test_test_connection_lists_the_folders_for_the_picker(self):
        """The result (JSON, and the streamed last line) carries the folders
        LIST gave, in UTF-8, for the form's folder picker; a viewer cannot
        run a test at all."""
        self.dovecot.create_mailbox(self.user, "INBOX.Suporte.Ações")
        status, r = self.c.json("POST", "/api/v1/accounts/test", self.form)
        self.assertTrue(r["ok"], r)
        names = [f["name"] for f in r["folders"]]
        self.assertIn("INBOX", names)
        self.assertIn("INBOX.Suporte.Ações", names)
        self.assertFalse(r["folders_truncated"])
        _, _, raw = self.c.request("POST", "/api/v1/accounts/test", self.form,
                                   headers={"Accept": "application/x-ndjson"})
        last = json.loads(raw.splitlines()[-1])
        self.assertTrue(last["done"])
        self.assertEqual([f["name"] for f in last["folders"]], names)
        # a wrong folder: the test fails at the folder, and the list is there
        status, r = self.c.json("POST", "/api/v1/accounts/test",
                                dict(self.form, folder="Suport"))
        self.assertFalse(r["ok"])
        self.assertIn("INBOX.Suporte.Ações", [f["name"] for f in r["folders"]])

    def test_steps_stream_as_they_happen(self):
        """With Accept: application/x-ndjson each step is sent when it is done:
        against a server that waits 1.5 s before its greeting, 'connect'
        arrives well before the end."""
        import http.client
        import json as js
        from fakeserver import FakeServer, imap_session

        def slow(c):
            time.sleep(1.5)
            imap_session(c, lambda c, tag: None, exists=0)
        srv = FakeServer(slow)
        try:
            token = self.d.cli("token", "create", "--user", "admin").stdout.strip()
            body = dict(self.form, port=srv.port, security="none", credential=self.user)
            conn = http.client.HTTPConnection("127.0.0.1", self.d.port, timeout=30)
            conn.request("POST", "/api/v1/accounts/test", js.dumps(body),
                         {"Authorization": f"Bearer {token}", "Accept": "application/x-ndjson",
                          "Content-Type": "application/json"})
            t0 = time.time()
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            self.assertEqual(resp.getheader("Content-Type"), "application/x-ndjson")
            seen, waits = {}, []
            while line := resp.readline():
                obj = js.loads(line)
                if "waiting" in obj:  # what the running step waits on, as it starts
                    waits.append((obj["waiting"], time.time() - t0, obj["ms"]))
                    continue
                seen[obj.get("step", "done")] = time.time() - t0
            conn.close()
        finally:
            srv.stop()
        self.assertIn("greeting", seen)
        self.assertLess(seen["connect"], 1.0)
        self.assertGreater(seen["done"], seen["connect"] + 1.0)
        said = [w[0] for w in waits]
        self.assertEqual(said[0], f"the connection to 127.0.0.1 port {srv.port}")
        self.assertIn("the greeting", said)
        greeting = next(w for w in waits if w[0] == "the greeting")
        self.assertLess(greeting[1], seen["greeting"] - 1.0)  # told while it was waited for
        self.assertIn("the answer to AUTHENTICATE", said)

    def test_wrong_password_shows_the_servers_words(self):
        self.c.json("POST", "/api/v1/credentials", {"name": "wrong-" + self.user,
                                                    "username": self.user,
                                                    "password": "not-the-password"})
        status, a = self.c.json("POST", "/api/v1/accounts",
                                dict(self.form, name="wrong-" + self.user,
                                     credential="wrong-" + self.user))
        status, r = self.c.json("POST", f"/api/v1/accounts/{a['id']}/test")
        self.assertEqual(status, 200)
        self.assertFalse(r["ok"])
        auth = r["steps"][-1]
        self.assertEqual((auth["step"], auth["result"]), ("authentication", "failed"))
        self.assertIn("Authentication failed", auth["detail"])
        self.c.json("DELETE", f"/api/v1/accounts/{a['id']}")

    def test_messages_say_how_they_were_said(self):
        """Each message a person reads comes with its English format (the
        sentence's id) and arguments, so the console can say it in
        Portuguese: a validation problem, an API error, a Test connection
        step, a fetch's error in the history and the account's last check."""
        status, e = self.c.json("POST", "/api/v1/accounts", dict(self.form, name="s", port=0))
        port = next(f for f in e["error"]["fields"] if f["field"] == "port")
        self.assertEqual(port["said"], [{"format": "must be between %lld and %lld",
                                         "args": ["1", "65535"]}])
        _, e = self.c.json("GET", "/api/v1/accounts/987654")
        self.assertEqual(e["error"]["said"], [{"format": "no %s with ID %lld",
                                               "args": ["account", "987654"]}])
        status, a = self.c.json("POST", "/api/v1/accounts",
                                dict(self.form, name="said-" + self.user, folder="Nowhere"))
        _, r = self.c.json("POST", f"/api/v1/accounts/{a['id']}/test")
        folder = r["steps"][-1]
        self.assertEqual(folder["step"], "folder")
        # a sentence per hint (did you mean, the delimiter), said whole
        self.assertTrue(folder["said"][0]["format"].startswith(
            "the folder '%s' does not exist on the server"), folder["said"])
        self.assertEqual(folder["said"][0]["args"][0], "Nowhere")
        self.c.json("POST", f"/api/v1/accounts/{a['id']}/fetch")
        run = self.wait_for_run(a["id"])
        self.assertEqual(run["result"], "error")
        parts = run["error_said"]
        self.assertEqual(parts[-1]["format"], folder["said"][0]["format"])
        # the parts said again give the message: prefixes joined by ": "
        self.assertTrue(run["error"].endswith(run["error"].split(": ", len(parts) - 1)[-1]))
        _, shown = self.c.json("GET", f"/api/v1/accounts/{a['id']}")
        self.assertEqual(shown["last_check"]["error_said"], parts)
        self.c.json("DELETE", f"/api/v1/accounts/{a['id']}?delete_messages=true")

    def test_processing_report_shows_what_was_skipped(self):
        self.dovecot.deliver(self.user, b"Subject: small\r\n\r\nfits\r\n")
        self.dovecot.deliver(self.user, b"Subject: big\r\n\r\n" + b"x" * 4000 + b"\r\n")
        status, a = self.c.json("POST", "/api/v1/accounts", dict(
            self.form, name="skip-" + self.user, keep_copy=False, max_message_size=2048))
        self.assertEqual(status, 201, a)
        self.c.json("POST", f"/api/v1/accounts/{a['id']}/fetch")
        run = self.wait_for_run(a["id"])
        self.assertEqual((run["result"], run["fetched"], run["skipped"]), ("ok", 1, 1))
        self.assertEqual(self.dovecot.message_count(self.user), 1)  # the big one stays
        _, stored = self.c.json("GET", f"/api/v1/messages?account={a['id']}&status=stored")
        self.assertEqual([m["subject"] for m in stored["messages"]], ["small"])
        self.assertEqual([m["status"] for m in stored["messages"]], ["stored"])
        _, failed = self.c.json("GET", f"/api/v1/messages?account={a['id']}&status=parse_failed")
        self.assertEqual(failed["total"], 0)
        _, skipped = self.c.json("GET", f"/api/v1/skipped?account={a['id']}")
        self.assertEqual(skipped["total"], 1)
        k = skipped["skipped"][0]
        self.assertEqual((k["account"], k["reason"]), (a["id"], "too big"))
        self.assertGreater(k["size"], 4000)
        self.assertIsNotNone(k["uid"])
        # a second check neither fetches it nor records it twice
        self.c.json("POST", f"/api/v1/accounts/{a['id']}/fetch")
        time.sleep(0.2)
        self.wait_for_run(a["id"])
        self.assertEqual(self.c.json("GET", f"/api/v1/skipped?account={a['id']}")[1]["total"], 1)
        status, e = self.c.json("GET", "/api/v1/messages?status=lost")
        self.assertEqual((status, e["error"]["field"]), (400, "status"))

    def test_size_mismatch_is_marked(self):
        """A POP3 message shorter than LIST said: the message JSON (in the
        list and alone) carries the mark and LIST's size, status=size_mismatch
        finds it, and it stays on the server."""
        raw = b"Subject: cut short\r\n\r\nthe first half\r\n"
        answers = {"CAPA": b"+OK\r\nUSER\r\nUIDL\r\n.\r\n", "STAT": b"+OK 1 2048\r\n",
                   "LIST": b"+OK\r\n1 2048\r\n.\r\n", "UIDL": b"+OK\r\n1 uid-cut\r\n.\r\n",
                   "RETR": b"+OK\r\n" + raw + b".\r\n"}
        srv = FakeServer(lambda c: pop3_session(c, answers))
        self.addCleanup(srv.stop)
        status, a = self.c.json("POST", "/api/v1/accounts", dict(
            self.form, name="cut-" + self.user, protocol="pop3", port=srv.port, security="none",
            keep_copy=False))
        self.assertEqual(status, 201, a)
        self.c.json("POST", f"/api/v1/accounts/{a['id']}/fetch")
        run = self.wait_for_run(a["id"])
        self.assertEqual((run["result"], run["fetched"], run["deleted"]), ("ok", 1, 0))
        _, listed = self.c.json("GET", f"/api/v1/messages?account={a['id']}&status=size_mismatch")
        self.assertEqual([(m["size"], m["size_mismatch"], m["listed_size"])
                          for m in listed["messages"]], [(len(raw), True, 2048)])
        status, m = self.c.json("GET", f"/api/v1/messages/{listed['messages'][0]['id']}")
        self.assertEqual((status, m["size_mismatch"], m["listed_size"]), (200, True, 2048))
        _, stored = self.c.json("GET", f"/api/v1/messages?account={a['id']}&status=stored")
        self.assertEqual(stored["total"], 1)  # the processing status is its own
        self.assertFalse(any(line.startswith("DELE") for line in srv.log), srv.log)

    def test_forwarded_attachments_nest_and_download_under_their_names(self):
        """A forwarded message's own attachment says which it is inside;
        each downloads under its own name (RFC 6266, a non-ASCII name in
        filename* with an ASCII stand-in), never a path."""
        inner = (b"From: carol@example.org\r\nSubject: Contrato\r\nMIME-Version: 1.0\r\n"
                 b"Content-Type: multipart/mixed; boundary=I\r\n\r\n--I\r\n"
                 b"Content-Type: text/plain\r\n\r\nsegue\r\n--I\r\n"
                 b"Content-Type: application/pdf\r\nContent-Disposition: attachment;"
                 b" filename*=UTF-8''Relat%C3%B3rio%20final.pdf\r\n\r\n%PDF-1\r\n--I--\r\n")
        raw = (b"From: a@example.com\r\nSubject: Fwd: Contrato\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: multipart/mixed; boundary=O\r\n\r\n--O\r\n"
               b"Content-Type: text/plain\r\n\r\nveja\r\n--O\r\n"
               b"Content-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--O\r\n"
               b"Content-Type: text/csv\r\nContent-Disposition: attachment;"
               b" filename=\"../../etc/x.csv\"\r\n\r\na,b\r\n--O--\r\n")
        self.dovecot.deliver(self.user, raw)
        status, a = self.c.json("POST", "/api/v1/accounts",
                                dict(self.form, name="fwd-" + self.user))
        self.c.json("POST", f"/api/v1/accounts/{a['id']}/fetch")
        self.assertEqual(self.wait_for_run(a["id"])["fetched"], 1)
        _, inbox = self.c.json("GET", f"/api/v1/accounts/{a['id']}/messages")
        mid = inbox["messages"][0]["id"]
        _, m = self.c.json("GET", f"/api/v1/messages/{mid}")
        self.assertEqual([(x["position"], x["filename"], x["parent"]) for x in m["attachment_list"]],
                         [(1, "Contrato.eml", None), (2, "Relatório final.pdf", 1),
                          (3, "../../etc/x.csv", None)])
        self.assertIn("segue", m["text"])
        want = {1: 'attachment; filename="Contrato.eml"',
                2: 'attachment; filename="Relat_rio final.pdf"; '
                   "filename*=UTF-8''Relat%C3%B3rio%20final.pdf",
                3: 'attachment; filename="x.csv"'}
        for pos, disposition in want.items():
            status, headers, data = self.c.request(
                "GET", f"/api/v1/messages/{mid}/attachments/{pos}")
            self.assertEqual((status, headers["Content-Disposition"]), (200, disposition))
        self.assertEqual(data, b"a,b")

    def test_a_running_fetch_shows_its_progress(self):
        """While a fetch runs, its history row counts what each commit
        stored: the console's Fetch now shows it. A relay holds the
        server's bytes back halfway until the test has seen that."""
        import threading
        from relay import Relay
        for i in range(20):
            self.dovecot.deliver(self.user, (f"Subject: p{i}\r\n\r\n".encode() +
                                             os.urandom(3000).hex().encode() + b"\r\n"))
        halfway, release, passed = threading.Event(), threading.Event(), [0]

        def rewrite(data):
            # held back once 30,000 bytes (several messages) went through:
            # the chunk that crosses the mark is forwarded, the next waits
            if passed[0] > 30000 and not release.is_set():
                halfway.set()
                release.wait(30)
            passed[0] += len(data)
            return data
        relay = Relay(self.dovecot.ports["imap"], rewrite=rewrite)
        try:
            status, a = self.c.json("POST", "/api/v1/accounts", dict(
                self.form, name="progress-" + self.user, port=relay.port, security="none"))
            self.assertEqual(status, 201, a)
            self.c.json("POST", f"/api/v1/accounts/{a['id']}/fetch")
            self.assertTrue(halfway.wait(30))
            running = None
            for _ in range(100):
                _, h = self.c.json("GET", f"/api/v1/accounts/{a['id']}/history?per_page=1")
                top = h["runs"][0]
                if top["result"] == "running" and top["fetched"]:
                    running = top
                    break
                time.sleep(0.1)
            self.assertIsNotNone(running, "no progress while the fetch ran")
            self.assertLess(running["fetched"], 20)
            self.assertGreater(running["bytes"], 6000 * running["fetched"])
            release.set()
            done = self.wait_for_run(a["id"])
            self.assertEqual((done["result"], done["fetched"]), ("ok", 20))
        finally:
            release.set()
            relay.stop()

    def test_fetch_now_and_the_inbox(self):
        payload = os.urandom(3000)
        raws = [b"From: =?UTF-8?B?Sm9zw6k=?= <jose@example.com>\r\n"
                b"Subject: =?ISO-8859-1?Q?Acesso_aprovado_=E0_rede?=\r\nMIME-Version: 1.0\r\n"
                b"Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n"
                b"Content-Type: text/plain\r\n\r\nOla\r\n--B\r\n"
                b"Content-Type: application/pdf\r\n"
                b"Content-Disposition: attachment; filename=\"ok.pdf\"\r\n"
                b"Content-Transfer-Encoding: base64\r\n\r\n" +
                base64.encodebytes(payload).replace(b"\n", b"\r\n") + b"--B--\r\n"]
        raws += [f"Subject: plain {i}\r\n\r\nbody {i}\r\n".encode() for i in range(4)]
        for raw in raws:
            self.dovecot.deliver(self.user, raw)
        status, a = self.c.json("POST", "/api/v1/accounts",
                                dict(self.form, name="fetch-" + self.user, keep_copy=False))
        self.assertEqual((status, a["message_count"]), (201, 0), a)
        status, r = self.c.json("POST", f"/api/v1/accounts/{a['id']}/fetch")
        self.assertEqual((status, r["status"]), (202, "started"))
        run = self.wait_for_run(a["id"])
        self.assertEqual((run["result"], run["fetched"], run["deleted"]), ("ok", 5, 5))
        self.assertEqual(self.dovecot.message_count(self.user), 0)
        # the report's count of what the account has in the inbox
        _, listed = self.c.json("GET", f"/api/v1/accounts?name=fetch-{self.user}")
        self.assertEqual(listed["accounts"][0]["message_count"], 5)
        status, inbox = self.c.json("GET", f"/api/v1/accounts/{a['id']}/messages")
        self.assertEqual(inbox["total"], 5)
        # keyset paging gives the same pages as page numbers, and the totals
        # (kept by the store's counters) agree with what is listed
        ids = [m["id"] for m in inbox["messages"]]
        _, p1 = self.c.json("GET", f"/api/v1/accounts/{a['id']}/messages?per_page=2")
        _, p2 = self.c.json("GET", f"/api/v1/accounts/{a['id']}/messages?per_page=2&before="
                                   f"{p1['next_before']}")
        _, p2n = self.c.json("GET", f"/api/v1/accounts/{a['id']}/messages?per_page=2&page=2")
        self.assertEqual([m["id"] for m in p1["messages"] + p2["messages"]], ids[:4])
        self.assertEqual(p2["messages"], p2n["messages"])
        self.assertEqual((p2["total"], p1["next_before"]), (5, ids[1]))
        _, rest = self.c.json("GET", f"/api/v1/accounts/{a['id']}/messages?before={ids[3]}")
        self.assertEqual(([m["id"] for m in rest["messages"]], rest["next_before"]),
                         (ids[4:], None))
        # a parameter is taken whole or refused, naming itself
        for query, field in (("before=x", "before"), ("account=12abc", "account"),
                             ("since=2026-02-30x", "since"), ("per_page=1001", "per_page")):
            status, e = self.c.json("GET", f"/api/v1/messages?{query}")
            self.assertEqual((status, e["error"]["field"]), (400, field), query)
        first = [m for m in inbox["messages"] if m["attachments"]][0]
        self.assertEqual(first["subject"], "Acesso aprovado à rede")
        self.assertEqual(first["from"], "José <jose@example.com>")
        status, m = self.c.json("GET", f"/api/v1/messages/{first['id']}")
        self.assertEqual(m["attachment_list"][0]["filename"], "ok.pdf")
        self.assertIn("Ola", m["text"])
        status, headers, raw = self.c.request("GET", f"/api/v1/messages/{first['id']}/raw")
        self.assertEqual(headers["Content-Type"], "message/rfc822")
        self.assertIn(".eml", headers["Content-Disposition"])
        self.assertEqual(hashlib.sha256(raw).digest(), hashlib.sha256(crlf(raws[0])).digest())
        status, headers, data = self.c.request(
            "GET", f"/api/v1/messages/{first['id']}/attachments/1")
        self.assertEqual(data, payload)
        self.assertEqual(headers["Content-Type"], "application/octet-stream")
        self.assertTrue(headers["Content-Disposition"].startswith("attachment"))
        # a position past what an int holds is no attachment, not 2^32 + 1 = 1
        for pos in (4294967297, 2147483648, 0, 2):
            status, _, data = self.c.request(
                "GET", f"/api/v1/messages/{first['id']}/attachments/{pos}")
            self.assertEqual(status, 404, pos)
            self.assertNotEqual(data, payload, pos)
        status, body = self.c.json("DELETE", f"/api/v1/accounts/{a['id']}")
        self.assertEqual((status, body["error"]["code"]), (409, "in_use"))
        self.assertEqual(self.c.json("DELETE",
                                     f"/api/v1/accounts/{a['id']}?delete_messages=true")[0], 200)


if __name__ == "__main__":
    unittest.main()
