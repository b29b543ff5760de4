"""Handing mail on (issue 19): messages fetched from the suite's Dovecot go
to delivery targets from the outbox. A real HTTP receiver checks every
webhook's signature and misbehaves on cue; Maildirs are read back byte for
byte; Dovecot's own LMTP service and dovecot-lda are the LMTP and MDA
targets. The daemon is SIGKILLed mid-delivery again and again: every
message reaches every target at least once, repeats carry the same event
ID, and the store stays intact."""
import base64
import glob
import hashlib
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
import unittest

from helpers import BIN, MailTestCase, crlf, message, server, stop_servers
from receiver import Receiver, new_secret

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "api"))
from daemon import Client, Daemon  # noqa: E402

KILLS = int(os.environ.get("MR_KILLS", "50"))
FAST = {"MAILROOM_TEST_INTERVAL_DIVISOR": "1000"}  # retries in milliseconds


def _bytes(path):
    with open(path, "rb") as fh:
        return fh.read()


def _cmdline(path):
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def tearDownModule():
    stop_servers()


class DeliveryCase(MailTestCase):
    def setUp(self):
        super().setUp()
        self.env.update(FAST)
        self.receivers = []

    def tearDown(self):
        for r in self.receivers:
            try:
                r.stop()
            except Exception:
                pass
        super().tearDown()

    def receiver(self, secret=None):
        r = Receiver(secret)
        self.receivers.append(r)
        return r

    def webhook(self, account, name, receiver, *extra, secret=None):
        args = ["target", "add", account, "--name", name, "--kind", "webhook", "--url",
                receiver.url, "--allow-http", "yes", "--timeout", "3", *extra]
        if secret:
            self.add_credential(name + "-secret", password=secret, username="webhook")
            args += ["--secret-credential", name + "-secret"]
        return self.json(*args, "--format", "json")

    def run_outbox(self, code=None):
        r = self.run_cli("delivery", "run", "--format", "json")
        if code is not None:
            self.assertEqual(r.returncode, code, r.stderr)
        return json.loads(r.stdout) if r.stdout.strip() else None

    def deliveries(self, *extra):
        return self.json("delivery", "list", "--limit", "100000", *extra)["deliveries"]

    def settle(self, seconds=0.3):
        time.sleep(seconds)  # past the (divided) backoff


class WebhookTest(DeliveryCase):
    def test_signed_payloads_in_order_with_the_summary_and_raw_bytes(self):
        raws = [message(i) for i in range(5)]
        self.deliver(raws)
        self.account("acc", "imap", "none")
        secret = new_secret()
        rx = self.receiver(secret)
        self.webhook("acc", "hook", rx, secret=secret)
        self.assertEqual(self.fetch("acc")[0]["fetched"], 5)
        self.assertEqual(self.run_outbox(0)["delivered"], 5)
        events = rx.wait(5)
        self.assertTrue(all(e["signed"] for e in events), "every request signed with the secret")
        inbox = sorted(self.inbox(), key=lambda m: m["id"])
        self.assertEqual([e["payload"]["data"]["message"]["id"] for e in events],
                         [m["id"] for m in inbox], "in the order stored")
        ids = [e["headers"]["webhook-id"] for e in events]
        self.assertEqual(len(set(ids)), 5)
        listed = {d["message"]["id"]: d for d in self.deliveries("--state", "delivered")}
        for e, m, raw in zip(events, inbox, raws):
            p = e["payload"]
            self.assertEqual(p["type"], "message.received")
            data = p["data"]
            self.assertEqual(data["account"]["name"], "acc")
            msg = data["message"]
            self.assertEqual(msg["subject"], m["subject"])
            self.assertEqual(msg["from"], m["from"])
            self.assertEqual(msg["class"], "ordinary")
            self.assertEqual(base64.b64decode(msg["raw"]), crlf(raw), "raw bytes as served")
            self.assertEqual(e["headers"]["webhook-id"], listed[m["id"]]["event_id"])
            self.assertEqual(e["headers"]["content-type"], "application/json")
            self.assertLess(abs(int(e["headers"]["webhook-timestamp"]) - time.time()), 60)
        self.assertNotIn(secret.encode(), b"".join(e["body"] for e in events))
        # delivered means done: the next run sends nothing
        self.assertEqual(self.run_outbox(0)["delivered"], 0)
        self.assertEqual(len(rx.events()), 5)

    def test_a_retry_keeps_the_event_id_and_the_order(self):
        self.deliver([message(i) for i in range(3)])
        self.account("acc", "imap", "none")
        rx = self.receiver()
        self.webhook("acc", "hook", rx)
        self.fetch("acc")
        rx.mode = ("status", 503)
        self.assertEqual(self.run_outbox(1)["retried"], 1)
        first = rx.wait(1)[0]
        self.assertEqual(len(rx.events()), 1, "an ordered target waits: nothing overtakes")
        pending = self.deliveries("--state", "pending")
        self.assertEqual(len(pending), 3)
        failed_once = [d for d in pending if d["attempts"] == 1]
        self.assertEqual(len(failed_once), 1)
        self.assertIn("503", failed_once[0]["last_error"])
        self.assertIn("receiver says no", failed_once[0]["last_response"])
        rx.mode = "ok"
        self.settle()
        self.assertEqual(self.run_outbox(0)["delivered"], 3)
        events = rx.wait(4)
        self.assertEqual(events[1]["headers"]["webhook-id"], first["headers"]["webhook-id"])
        order = [e["payload"]["data"]["message"]["id"] for e in events[1:]]
        self.assertEqual(order, sorted(order))

    def test_the_stop_status_fails_for_good_then_replay(self):
        self.deliver([message(i) for i in range(3)])
        self.account("acc", "imap", "none")
        rx = self.receiver()
        target = self.webhook("acc", "hook", rx, "--stop-status", "406,410")
        self.fetch("acc")
        rx.mode = ("status", 410)
        self.assertEqual(self.run_outbox(1)["failed"], 3, "a stop status is not retried")
        failed = self.deliveries("--failed")
        self.assertEqual(len(failed), 3)
        for d in failed:
            self.assertIn("410", d["last_error"])
            self.assertIsNotNone(d["done_at"])
        out = self.ok("delivery", "list", "--failed")
        self.assertIn("410", out)
        rx.mode = "ok"
        one = failed[0]["id"]
        self.assertIn("1 failed delivery is pending again", self.ok("delivery", "replay", str(one)))
        self.assertEqual(self.run_outbox(0)["delivered"], 1)
        self.assertIn("2 failed deliveries are pending again",
                      self.ok("delivery", "replay", "--target", str(target["id"])))
        self.assertEqual(self.run_outbox(0)["delivered"], 2)
        self.assertEqual(self.deliveries("--failed"), [])
        self.fails("delivery", "replay", str(one), message="not failed")
        audit = self.ok("audit", "list")
        self.assertIn("replayed", audit)

    def test_what_goes_wrong_at_the_receiver_is_a_clear_retry(self):
        self.deliver([message(1)])
        self.account("acc", "imap", "none")
        rx = self.receiver()
        self.webhook("acc", "hook", rx, "--timeout", "2")
        self.fetch("acc")
        cases = [("down", "connect"), (("sleep", 4), "2 s"), ("close", None),
                 ("redirect", "redirect"), (("status", 500), "500")]
        for mode, words in cases:
            with self.subTest(mode=mode):
                if mode == "down":
                    rx.down()
                else:
                    rx.mode = mode
                t0 = time.monotonic()
                self.assertEqual(self.run_outbox(1)["retried"], 1)
                self.assertLess(time.monotonic() - t0, 15, "within the target's timeout")
                d = self.deliveries()[0]
                self.assertEqual(d["state"], "pending")
                self.assertTrue(d["last_error"])
                if words:
                    self.assertIn(words, d["last_error"].lower() if words.islower()
                                  else d["last_error"])
                if mode == "down":
                    rx.up()
                self.settle()
        # a 1 GB answer with 200: delivered, and the daemon did not read it all
        rx.mode = "huge"
        t0 = time.monotonic()
        self.assertEqual(self.run_outbox(0)["delivered"], 1)
        self.assertLess(time.monotonic() - t0, 10)
        self.assertEqual(self.deliveries()[0]["attempts"], len(cases) + 1)

    def test_a_secret_that_does_not_open_is_a_retry_not_a_spin(self):
        """The signing secret's sealed bytes damaged in the store: each
        delivery is recorded as a failed attempt with the reason, and waits
        its backoff like any other, instead of the workers trying again and
        again."""
        self.deliver([message(1), message(2)])
        self.account("acc", "imap", "none")
        rx = self.receiver()
        self.webhook("acc", "hook", rx, "--parallel", "yes", secret=new_secret())
        self.fetch("acc")
        db = sqlite3.connect(os.path.join(self.data, "mailroom.db"))
        db.execute("UPDATE credentials SET secret = CAST(x'01' || randomblob(60) AS BLOB)"
                   " WHERE name = 'hook-secret'")
        db.commit()
        db.close()
        self.env["MAILROOM_TEST_INTERVAL_DIVISOR"] = "1"  # real backoff: 10 s
        out = self.run_outbox(1)
        self.assertEqual(out["retried"], 2, out)
        for d in self.deliveries():
            self.assertEqual((d["state"], d["attempts"]), ("pending", 1))
            self.assertIn("could not prepare the delivery", d["last_error"])
        self.assertEqual(self.run_outbox(0), {"delivered": 0, "retried": 0, "failed": 0})
        self.assertEqual(rx.events(), [])

    def test_a_big_message_goes_as_an_authenticated_link(self):
        big = message(1, body=b"x" * 4000 + b"\r\n")
        self.deliver([big, message(2)])
        self.account("acc", "imap", "none")
        rx = self.receiver()
        self.webhook("acc", "hook", rx, "--inline-max", "1024")
        self.fetch("acc")
        self.run_cli("delivery", "run", "--public-url", "https://mailroom.example:8443/")
        events = rx.wait(2)
        by_subject = {e["payload"]["data"]["message"]["subject"]: e["payload"] for e in events}
        linked = by_subject["message 1"]["data"]["message"]
        self.assertNotIn("raw", linked)
        self.assertRegex(linked["raw_url"],
                         r"^https://mailroom.example:8443/api/v1/messages/\d+/raw$")
        self.assertIn("raw", by_subject["message 2"]["data"]["message"])

    def test_send_a_test_delivery(self):
        self.account("acc", "imap", "none")
        rx = self.receiver(new_secret())
        secret = rx.secret
        self.webhook("acc", "hook", rx, secret=secret)
        out = self.ok("target", "test", "hook")
        self.assertIn("delivered", out)
        e = rx.wait(1)[0]
        self.assertTrue(e["signed"])
        self.assertEqual(e["payload"]["type"], "message.test")
        self.assertEqual(self.deliveries(), [], "a test is not recorded")
        rx.mode = ("status", 500)
        err = self.fails("target", "test", "hook")
        self.assertIn("500", self.run_cli("target", "test", "hook").stdout + err)
        self.json("target", "add", "acc", "--name", "nowhere", "--kind", "webhook", "--url",
                  "https://nothing.invalid/hook")
        r = self.run_cli("target", "test", "nowhere")
        self.assertEqual(r.returncode, 1)
        self.assertIn("nothing.invalid", r.stdout)
        self.assertIn("temporary failure", r.stdout)
        # a TLS error at the receiver: Dovecot's implicit-TLS port and its
        # self-signed certificate stand in for a receiver with a bad one
        self.json("target", "add", "acc", "--name", "badtls", "--kind", "webhook", "--url",
                  f"https://127.0.0.1:{self.d.ports['imaps']}/hook", "--timeout", "5")
        r = self.run_cli("target", "test", "badtls")
        self.assertEqual(r.returncode, 1)
        self.assertIn("temporary failure", r.stdout)
        self.assertRegex(r.stdout.lower(), r"certificate|tls|ssl")
        # https:// spoken to a plain HTTP receiver
        self.json("target", "add", "acc", "--name", "plain", "--kind", "webhook", "--url",
                  f"https://127.0.0.1:{rx.port}/hook", "--timeout", "5")
        r = self.run_cli("target", "test", "plain")
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stdout.lower(), r"tls|ssl")

    def test_bad_targets_are_refused_with_the_field(self):
        self.account("acc", "imap", "none")
        cases = [
            (["--kind", "webhook", "--url", "http://example.com/x"], "url", "http"),
            (["--kind", "webhook", "--url", "ftp://example.com/x"], "url", "https://"),
            (["--kind", "webhook", "--url", "https://u:p@example.com/"], "url", "password"),
            (["--kind", "webhook", "--url", "https://e.com/", "--stop-status", "200"],
             "stop_status", "2xx"),
            (["--kind", "maildir", "--path", "relative/dir"], "path", "absolute"),
            (["--kind", "maildir"], "path", "required"),
            (["--kind", "lmtp", "--host", "127.0.0.1"], "recipients", "required"),
            (["--kind", "lmtp", "--host", "127.0.0.1", "--recipients", "a b"], "recipients",
             "addresses"),
            (["--kind", "command", "--command", "cat", "--url", "https://e.com/"], "url",
             "not used"),
            (["--kind", "fax"], "kind", "webhook"),
            (["--kind", "maildir", "--path", "/tmp/x", "--skip-classes", "spam"], "skip_classes",
             "auto"),
            (["--kind", "maildir", "--path", "/tmp/x", "--timeout", "0"], "timeout", "1"),
        ]
        for args, field, words in cases:
            with self.subTest(args=args):
                err = self.fails("target", "add", "acc", "--name", "t", *args)
                self.assertIn(field, err)
                self.assertIn(words, err)
        oauth_like = self.add_credential("pw-ok", password="x")
        self.assertTrue(oauth_like)
        self.json("target", "add", "acc", "--name", "t", "--kind", "webhook", "--url",
                  "https://example.com/h", "--secret-credential", "pw-ok")
        err = self.fails("target", "add", "acc", "--name", "T", "--kind", "maildir", "--path",
                         "/tmp/x")
        self.assertIn("already", err)
        err = self.fails("credential", "rm", "pw-ok")
        self.assertIn("delivery target t", err)
        self.assertEqual(self.json("target", "list", "--format", "json")["targets"][0]["name"],
                         "t")


class MaildirAndClassesTest(DeliveryCase):
    def test_maildir_gets_every_message_byte_for_byte(self):
        raws = [message(i) for i in range(4)]
        raws.append(b"From: a@example.com\r\nSubject: bare LF\r\n\r\nline\nline\r\n.\r\n")
        self.deliver(raws)
        self.account("acc", "imap", "none")
        md = os.path.join(self.tmp, "Maildir")
        self.json("target", "add", "acc", "--name", "md", "--kind", "maildir", "--path", md)
        self.fetch("acc")
        self.assertEqual(self.run_outbox(0)["delivered"], 5)
        files = sorted(glob.glob(os.path.join(md, "new", "*")))
        self.assertEqual(len(files), 5)
        self.assertEqual(os.listdir(os.path.join(md, "tmp")), [])
        got = sorted(hashlib.sha256(_bytes(f)).hexdigest() for f in files)
        stored = sorted(m["sha256"] for m in self.inbox())
        self.assertEqual(got, stored, "byte-identical to the store")

    def test_auto_replies_and_reports_are_classified_and_skipped_on_request(self):
        raws = [
            message(1),
            message(2, extra=b"Auto-Submitted: auto-replied\r\n"),
            message(3, extra=b"Precedence: bulk\r\n"),
            message(4, extra=b"Auto-Submitted: no\r\n"),
            b"From: MAILER-DAEMON@example.com\r\nSubject: Undelivered\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n"
            b"--B\r\nContent-Type: text/plain\r\n\r\nbounced\r\n--B\r\n"
            b"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\n"
            b"Final-Recipient: rfc822; a@b\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--B--\r\n",
        ]
        self.deliver(raws)
        self.account("acc", "imap", "none")
        everything = os.path.join(self.tmp, "all")
        tickets = os.path.join(self.tmp, "tickets")
        self.json("target", "add", "acc", "--name", "all", "--kind", "maildir", "--path",
                  everything)
        self.json("target", "add", "acc", "--name", "tickets", "--kind", "maildir", "--path",
                  tickets, "--skip-classes", "auto,report")
        self.fetch("acc")
        self.run_outbox(0)
        classes = sorted((m["subject"], m.get("class")) for m in self.inbox())
        self.assertEqual(classes, [("Undelivered", "report"), ("message 1", "ordinary"),
                                   ("message 2", "auto"), ("message 3", "auto"),
                                   ("message 4", "ordinary")])
        self.assertEqual(len(os.listdir(os.path.join(everything, "new"))), 5)
        self.assertEqual(len(os.listdir(os.path.join(tickets, "new"))), 2)
        self.assertEqual(len(self.deliveries("--state", "skipped")), 3)


class LmtpAndMdaTest(DeliveryCase):
    dovecot = "lmtp"

    def setUp(self):
        server("lmtp", lmtp=True)
        super().setUp()

    def imap_messages(self, user):
        return self.d.message_count(user)

    def test_lmtp_to_dovecot_honours_each_recipient(self):
        raws = [message(i) for i in range(3)]
        self.deliver(raws)
        self.account("acc", "imap", "none")
        a, b = self.d.take_user(), self.d.take_user()
        self.json("target", "add", "acc", "--name", "lmtp", "--kind", "lmtp", "--host",
                  "127.0.0.1", "--port", str(self.d.lmtp_port), "--recipients", f"{a},{b}")
        self.fetch("acc")
        self.assertEqual(self.run_outbox(0)["delivered"], 3)
        self.assertEqual((self.imap_messages(a), self.imap_messages(b)), (3, 3))
        # one recipient Dovecot does not know: a permanent failure naming it,
        # the other gets the message once
        c = self.d.take_user()
        self.json("target", "add", "acc", "--name", "mixed", "--kind", "lmtp", "--path",
                  self.d.lmtp_socket, "--recipients", f"{c},nobody-here@example.com")
        self.deliver([message(9)])
        self.fetch("acc")
        out = self.run_outbox()
        self.assertEqual(out["failed"], 1, out)
        failed = self.deliveries("--failed")
        self.assertIn("nobody-here@example.com", failed[0]["last_error"])
        self.assertEqual(failed[0]["progress"], c)
        self.assertEqual(self.imap_messages(c), 1)
        self.ok("delivery", "replay", "--all")
        self.run_outbox()
        self.assertEqual(self.imap_messages(c), 1, "an accepted recipient is not sent it again")

    def test_dovecot_lda_as_the_mda(self):
        self.deliver([message(i) for i in range(2)])
        self.account("acc", "imap", "none")
        import uuid
        from mailroom_cli import service_ids
        ids = service_ids() if os.geteuid() == 0 else (os.getuid(), os.getgid())
        other = self.d.add_lda_user("lda-" + uuid.uuid4().hex[:8], *ids)
        time.sleep(1.1)  # Dovecot re-reads its passwd file at most once a second
        self.json("target", "add", "acc", "--name", "lda", "--kind", "command", "--command",
                  self.d.lda_command(other))
        self.fetch("acc")
        self.assertEqual(self.run_outbox(0)["delivered"], 2, self.deliveries())
        self.assertEqual(self.imap_messages(other), 2)

    def test_command_exit_codes_and_a_command_that_never_ends(self):
        self.deliver([message(1)])
        self.account("acc", "imap", "none")
        seen = os.path.join(self.tmp, "env")
        os.makedirs(seen, exist_ok=True)
        os.chmod(seen, 0o777)
        self.json("target", "add", "acc", "--name", "tempfail", "--kind", "command",
                  "--command", "exit 75")
        self.json("target", "add", "acc", "--name", "broken", "--kind", "command", "--command",
                  "echo 'no such mailbox' >&2; exit 67")
        self.json("target", "add", "acc", "--name", "stuck", "--kind", "command", "--command",
                  "sleep 600", "--timeout", "2")
        self.json("target", "add", "acc", "--name", "env", "--kind", "command", "--command",
                  f'cat > "{seen}/$MAILROOM_EVENT_ID.eml"; env > "{seen}/$MAILROOM_EVENT_ID.env"')
        self.fetch("acc")
        t0 = time.monotonic()
        self.run_outbox()
        self.assertLess(time.monotonic() - t0, 20, "the stuck command was killed in time")
        by_target = {d["target"]["name"]: d for d in self.deliveries()}
        self.assertEqual(by_target["tempfail"]["state"], "pending")
        self.assertEqual(by_target["broken"]["state"], "failed")
        self.assertIn("67", by_target["broken"]["last_error"])
        self.assertIn("no such mailbox", by_target["broken"]["last_response"])
        self.assertEqual(by_target["stuck"]["state"], "pending")
        self.assertIn("killed", by_target["stuck"]["last_error"])
        self.assertEqual(by_target["env"]["state"], "delivered")
        event = by_target["env"]["event_id"]
        env = _bytes(os.path.join(seen, event + ".env")).decode()
        self.assertIn("MAILROOM_ACCOUNT=acc", env)
        self.assertIn("MAILROOM_EVENT_ID=" + event, env)
        self.assertEqual(hashlib.sha256(_bytes(os.path.join(seen, event + ".eml")))
                         .hexdigest(), self.inbox()[0]["sha256"])
        self.assertFalse(any(b"sleep\x00600" in _cmdline(f)
                             for f in glob.glob("/proc/[0-9]*/cmdline")),
                         "the stuck command's process is gone")


class DaemonTest(DeliveryCase):
    def daemon_account(self, d, name="acc", interval="30"):
        self.assertEqual(d.cli("credential", "add", "--name", "login", "--username", self.user,
                               "--password-stdin", stdin=self.password).returncode, 0)
        r = d.cli("account", "add", "--name", name, "--protocol", "imap", "--address",
                  "127.0.0.1", "--port", str(self.d.ports["imap"]), "--security", "none",
                  "--credential", "login", "--keep-copy", "no", "--interval", interval,
                  "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)["id"]

    def test_the_daemon_delivers_as_mail_arrives_and_replays_from_the_api(self):
        env = dict(FAST, MAILROOM_TEST_INTERVAL_DIVISOR="30")
        d = Daemon(("--workers", "2"), env)
        rx = self.receiver()
        try:
            account = self.daemon_account(d)
            c = Client(d)
            c.login()
            _, t = c.json("POST", f"/api/v1/accounts/{account}/targets",
                       {"name": "hook", "kind": "webhook", "url": rx.url, "allow_http": True,
                        "timeout": 2, "stop_status": "410"})
            self.deliver([message(i) for i in range(4)])
            rx.wait(4, timeout=60)
            rx.mode = ("status", 410)
            self.deliver([message(10)])
            rx.wait(5, timeout=60)
            deadline = time.time() + 30
            while time.time() < deadline:
                _, failed = c.json("GET", "/api/v1/deliveries?state=failed")
                if failed["total"]:
                    break
                time.sleep(0.2)
            self.assertEqual(failed["total"], 1)
            self.assertIn("410", failed["deliveries"][0]["last_error"])
            _, msg = c.json("GET",
                            f"/api/v1/messages/{failed['deliveries'][0]['message']['id']}")
            self.assertEqual(msg["delivery"], "failed")
            self.assertEqual(msg["deliveries"][0]["state"], "failed")
            rx.mode = "ok"
            _, r = c.json("POST", "/api/v1/deliveries/replay", {"target": t["id"]})
            self.assertEqual(r["replayed"], 1)
            rx.wait(6, timeout=30)
            # the receiver has it; the daemon records the result just after
            want = r'state="delivered"\} 5'
            deadline = time.time() + 15
            while True:
                metrics = c.request("GET", "/metrics")[2].decode()
                if re.search(want, metrics) or time.time() > deadline:
                    break
                time.sleep(0.2)
            self.assertIn("mailroom_outbox_pending", metrics)
            self.assertRegex(metrics, r'mailroom_deliveries\{target="%d",account="%d",'
                             r'kind="webhook",state="delivered"\} 5' % (t["id"], account))
        finally:
            self.assertEqual(d.stop(), 0, d.output()[-3000:])

    def test_sigkill_mid_delivery_loses_nothing(self):
        """The daemon fetching and delivering to a webhook and a Maildir,
        SIGKILLed at random moments: at the end every message reached both
        targets at least once, repeats carry the event ID of the first, and
        SQLite's integrity check passed after every kill."""
        rnd = random.Random(f"deliver-{self.user}")
        env = dict(FAST, MAILROOM_TEST_INTERVAL_DIVISOR="30")
        d = Daemon(("--workers", "2"), env)
        rx = self.receiver()
        md = os.path.join(d.tmp, "Maildir")
        raws = []

        def wave(n):
            more = [message(len(raws) + i) for i in range(n)]
            self.deliver(more)
            raws.extend(more)
        try:
            self.daemon_account(d)
            for args in (["--kind", "webhook", "--url", rx.url, "--allow-http", "yes",
                          "--timeout", "2"],
                         ["--kind", "maildir", "--path", md]):
                r = d.cli("target", "add", "acc", "--name", args[1], *args)
                self.assertEqual(r.returncode, 0, r.stderr)
            wave(60)
            kills = 0
            while kills < KILLS:
                time.sleep(rnd.uniform(0.05, 0.8))
                d.proc.send_signal(signal.SIGKILL)
                d.proc.wait()
                d.log.close()
                kills += 1
                db = sqlite3.connect(os.path.join(d.data, "mailroom.db"), timeout=30)
                self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
                db.close()
                if kills % 10 == 0:
                    wave(30)
                d = Daemon(("--workers", "2"), env, reuse=d)
            deadline = time.time() + 180
            while time.time() < deadline:
                r = d.cli("delivery", "list", "--state", "pending", "--format", "json")
                if (self.d.message_count(self.user) == 0 and r.returncode == 0 and
                        json.loads(r.stdout)["total"] == 0):
                    break
                time.sleep(0.5)
        finally:
            self.assertEqual(d.stop(), 0, d.output()[-3000:])
        db = sqlite3.connect(os.path.join(d.data, "mailroom.db"), timeout=30)
        self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        rows = db.execute("SELECT m.sha256, d.event_id, t.kind, d.state, d.last_error"
                          " FROM deliveries d"
                          " JOIN messages m ON m.id = d.message_id"
                          " JOIN delivery_targets t ON t.id = d.target_id").fetchall()
        db.close()
        want = sorted(hashlib.sha256(crlf(r)).hexdigest() for r in raws)
        self.assertEqual(sorted(bytes(r[0]).hex() for r in rows if r[2] == "webhook"), want)
        self.assertEqual([r[2:] for r in rows if r[3] != "delivered"], [],
                         "every delivery delivered")
        event_of = {bytes(r[0]).hex(): r[1] for r in rows if r[2] == "webhook"}
        got = {}
        for e in rx.events():
            raw = base64.b64decode(e["payload"]["data"]["message"]["raw"])
            h = hashlib.sha256(raw).hexdigest()
            self.assertEqual(e["headers"]["webhook-id"], event_of[h], "a repeat has the same ID")
            got[h] = got.get(h, 0) + 1
        self.assertEqual(sorted(got), want, "every message reached the webhook")
        files = glob.glob(os.path.join(md, "new", "*"))
        in_maildir = {hashlib.sha256(_bytes(f)).hexdigest() for f in files}
        self.assertEqual(sorted(in_maildir), want, "every message reached the Maildir")
        print(f"delivery: {kills} kills, {len(raws)} messages; webhook requests "
              f"{sum(got.values())}, Maildir files {len(files)} (repeats are at-least-once)")


if __name__ == "__main__":
    unittest.main()
