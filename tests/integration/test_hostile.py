"""Servers that misbehave: each run ends with a clear error naming the step,
within its timeout, storing nothing half and deleting nothing unstored."""
import json
import os
import re
import ssl
import subprocess
import tempfile
import time
import unittest

from fakeserver import FakeServer, imap_session, pop3_session
from helpers import BIN, FakeServerTestCase
from mailroom_cli import for_mailroom


class HostileTest(FakeServerTestCase):
    def failed_step(self, *args):
        r = self.run_cli("account", "test", "fake", "--format", "json", *args)
        self.assertEqual(r.returncode, 1, r.stderr)
        steps = json.loads(r.stdout)["steps"]
        return steps[-1], r.stderr

    def test_silence_times_out(self):
        self.serve(lambda c: time.sleep(10))
        t0 = time.time()
        step, err = self.failed_step("--timeout", "1")
        self.assertLess(time.time() - t0, 5)
        self.assertEqual((step["step"], step["result"]), ("greeting", "failed"))
        self.assertIn("no answer from 127.0.0.1", err)

    def test_trickle_is_bounded_by_the_deadline(self):
        """A byte every 0.3 s never trips a 1 s idle timeout: the deadline ends it."""
        def trickle(c):
            for ch in b"* OK still greeting" * 100:
                c.send(bytes([ch]))
                time.sleep(0.3)
        self.serve(trickle)
        t0 = time.time()
        step, err = self.failed_step("--timeout", "1", "--deadline", "3")
        self.assertLess(time.time() - t0, 6)
        self.assertGreater(time.time() - t0, 2.5)
        self.assertEqual(step["step"], "greeting")
        self.assertIn("overall deadline passed", err)

    def test_garbage_greeting(self):
        self.serve(lambda c: c.send(b"HTTP/1.1 400 Bad Request\r\n\r\n"))
        step, err = self.failed_step()
        self.assertEqual((step["step"], step["result"]), ("greeting", "failed"))
        self.assertIn("malformed IMAP response", err)

    def test_wrong_tag(self):
        def scenario(c):
            c.send(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n")
            c.line()
            c.send(b"zzz9 OK you are in\r\n")
        self.serve(scenario)
        step, err = self.failed_step()
        self.assertEqual(step["step"], "authentication")
        self.assertIn("a response to a command never sent", err)

    def assert_nothing_stored(self):
        self.assertEqual(self.json("inbox", "list")["total"], 0)

    def raw_of(self, msg_id):
        """inbox show --raw: the message as stored."""
        r = subprocess.run([BIN, "--data", self.data, "inbox", "show", str(msg_id), "--raw"],
                           capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_literal_shorter_than_announced(self):
        def body(c, tag):
            c.send(b"* 1 FETCH (UID 1 BODY[] {100}\r\nonly ten!!")
            c.sock.close()
        self.serve(lambda c: imap_session(c, body), "imap", "--keep-copy", "no")
        r = self.run_cli("fetch", "fake")
        self.assertEqual(r.returncode, 1)
        self.assertIn("account fake: the server closed the connection", r.stderr)
        self.assert_nothing_stored()

    def test_literal_sizes_that_lie(self):
        for size, words in ((b"4294967297", "more than"), (b"18446744073709551615", "more than"),
                            (b"5000000", "more than the account's limit")):
            with self.subTest(size=size):
                self.setUp()
                def body(c, tag, size=size):
                    c.send(b"* 1 FETCH (UID 1 BODY[] {" + size + b"}\r\nabc")
                    time.sleep(1)
                self.serve(lambda c: imap_session(c, body), "imap", "--max-message-size", "1024")
                r = self.run_cli("fetch", "fake", "--timeout", "5")
                self.assertEqual(r.returncode, 1)
                self.assertIn(words, r.stderr)
                self.assert_nothing_stored()

    def test_negative_and_huge_literal_sizes(self):
        """Sizes no message can have: a clear error, nothing allocated from
        them (the run would fail under ASan with a 2 GiB or 4 GiB buffer),
        nothing stored."""
        for size, words in ((b"-1", "malformed"), (b"2147483648", "more than"),
                            (b"4294967296", "more than"), (b"99999999999999999999999", "")):
            with self.subTest(size=size):
                self.setUp()
                def body(c, tag, size=size):
                    c.send(b"* 1 FETCH (UID 1 BODY[] {" + size + b"}\r\nabc")
                    time.sleep(1)
                self.serve(lambda c: imap_session(c, body, size=100), "imap",
                           "--keep-copy", "no")
                r = self.run_cli("fetch", "fake", "--timeout", "5")
                self.assertEqual(r.returncode, 1)
                self.assertIn(words, r.stderr)
                self.assertTrue(r.stderr.startswith("mailroom: "), r.stderr)
                self.assert_nothing_stored()

    def test_nul_bytes_and_invalid_utf8_are_stored_byte_exact(self):
        raw = (b"From: a@example.com\r\nSubject: \xff\xfe bytes\r\n\r\n"
               b"nul \x00 here, invalid \xc3\x28 utf-8, bare\nLF\r\n")

        def body(c, tag):
            c.send(b"* 1 FETCH (UID 1 BODY[] {%d}\r\n" % len(raw) + raw + b")\r\n" +
                   tag.encode() + b" OK done\r\n")
        self.serve(lambda c: imap_session(c, body, size=len(raw)))
        self.assertEqual(self.json("fetch", "fake")["runs"][0]["fetched"], 1)
        msg = self.json("inbox", "list")["messages"][0]
        r = subprocess.run([BIN, "--data", self.data, "inbox", "show", str(msg["id"]), "--raw"],
                           capture_output=True, timeout=60)
        self.assertEqual(r.stdout, raw)
        self.json("inbox", "show", str(msg["id"]))  # the summary is valid JSON (UTF-8)

    def test_unsolicited_untagged_responses_everywhere(self):
        noise = b"* 9 EXISTS\r\n* OK [ALERT] maintenance tonight\r\n* 3 RECENT\r\n"
        raw = b"Subject: fine\r\n\r\nbody\r\n"

        def scenario(c):
            c.send(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] fake ready\r\n" + noise)
            while (line := c.line()) is not None:
                tag, _, cmd = line.partition(" ")
                up = cmd.upper()
                c.send(noise)
                if up.startswith(("AUTHENTICATE", "LOGIN")):
                    c.send(f"{tag} OK logged in\r\n".encode())
                elif up.startswith(("EXAMINE", "SELECT")):
                    c.send(f"* 1 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n{tag} OK\r\n".encode())
                elif "RFC822.SIZE" in up:
                    c.send(f"* 1 FETCH (UID 1 RFC822.SIZE {len(raw)})\r\n{tag} OK\r\n".encode())
                elif "BODY.PEEK" in up:
                    c.send(b"* 1 FETCH (UID 1 BODY[] {%d}\r\n" % len(raw) + raw + b")\r\n" +
                           noise + tag.encode() + b" OK\r\n")
                elif up.startswith("LOGOUT"):
                    c.send(f"* BYE bye\r\n{tag} OK\r\n".encode())
                    return
                else:
                    c.send(f"{tag} OK\r\n".encode())
        self.serve(scenario)
        run = self.json("fetch", "fake")["runs"][0]
        self.assertEqual((run["result"], run["fetched"]), ("ok", 1))

    def test_silence_after_greeting_and_mid_literal(self):
        def after_greeting(c):
            c.send(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n")
            time.sleep(10)
        self.serve(after_greeting)
        t0 = time.time()
        step, err = self.failed_step("--timeout", "1")
        self.assertLess(time.time() - t0, 5)
        self.assertEqual(step["result"], "failed")
        self.assertIn("no answer from 127.0.0.1", err)

        self.setUp()

        def body(c, tag):
            c.send(b"* 1 FETCH (UID 1 BODY[] {100}\r\nhalf of it")
            time.sleep(10)
        self.serve(lambda c: imap_session(c, body, size=100), "imap", "--keep-copy", "no")
        t0 = time.time()
        r = self.run_cli("fetch", "fake", "--timeout", "1")
        self.assertLess(time.time() - t0, 5)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no answer from 127.0.0.1", r.stderr)
        self.assert_nothing_stored()

    def test_garbage_in_exists_and_uidvalidity(self):
        for select in (b"* 99999999999999999999 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n",
                       b"* 1 EXISTS\r\n* OK [UIDVALIDITY abc] v\r\n",
                       b"* 1 EXISTS\r\n* OK [UIDVALIDITY 99999999999] v\r\n"):
            with self.subTest(select=select):
                self.setUp()

                def scenario(c, select=select):
                    c.send(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n")
                    while (line := c.line()) is not None:
                        tag, _, cmd = line.partition(" ")
                        if cmd.upper().startswith(("EXAMINE", "SELECT")):
                            c.send(select + tag.encode() + b" OK\r\n")
                        elif cmd.upper().startswith("LOGOUT"):
                            c.send(f"* BYE\r\n{tag} OK\r\n".encode())
                            return
                        else:
                            c.send(f"{tag} OK\r\n".encode())
                self.serve(scenario)
                r = self.run_cli("fetch", "fake", "--timeout", "3")
                self.assertEqual(r.returncode, 1, r.stdout)
                self.assertTrue(r.stderr.startswith("mailroom: "), r.stderr)
                self.assertNotIn("Sanitizer", r.stderr)
                self.assert_nothing_stored()

    def test_responses_injected_before_the_starttls_handshake(self):
        """A man in the middle appends responses to STARTTLS's OK, in the same
        packet. They must be dropped, not read as if the server had sent them
        inside TLS (CVE-2011-0411 class): here an injected tagged OK for the
        login that has not been sent yet."""
        tmp = for_mailroom(tempfile.mkdtemp(dir=self.tmp))  # its CA file is read by mailroom
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        seen = []

        def scenario(c):
            c.send(b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] hi\r\n")
            while (line := c.line()) is not None:
                tag, _, cmd = line.partition(" ")
                up = cmd.upper()
                if up.startswith("STARTTLS"):
                    c.send(f"{tag} OK begin TLS\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n"
                           f"A0003 OK injected login\r\nA0004 OK injected\r\n".encode())
                    c.sock = ctx.wrap_socket(c.sock, server_side=True)
                    c.buf = b""
                elif up.startswith("CAPABILITY"):
                    c.send(f"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n{tag} OK\r\n".encode())
                elif up.startswith(("AUTHENTICATE", "LOGIN")):
                    seen.append(isinstance(c.sock, ssl.SSLSocket))
                    c.send(f"{tag} NO [AUTHENTICATIONFAILED] wrong password\r\n".encode())
                elif up.startswith("LOGOUT"):
                    c.send(f"* BYE\r\n{tag} OK\r\n".encode())
                    return
                else:
                    c.send(f"{tag} OK\r\n".encode())
        srv = FakeServer(scenario)
        self.servers.append(srv)
        self.json("account", "add", "--name", "fake", "--protocol", "imap", "--address",
                  "127.0.0.1", "--port", str(srv.port), "--security", "starttls",
                  "--credential", "login", "--ca-file", cert)
        step, err = self.failed_step("--timeout", "5")
        # the login really went to the server, inside TLS, and failed there:
        # the injected "OK" was not taken for its answer
        self.assertEqual(step["step"], "authentication")
        self.assertIn("wrong password", err)
        self.assertEqual(seen, [True])

    def test_bad_certificate_from_the_server(self):
        """Implicit TLS to a server whose certificate nobody vouches for, and
        one that names another host: the TLS step fails naming the
        certificate, and not a byte of IMAP is sent."""
        tmp = for_mailroom(tempfile.mkdtemp(dir=self.tmp))  # its CA file is read by mailroom
        for name, san in (("self-signed", "IP:127.0.0.1"), ("other-host", "DNS:mail.example.net")):
            with self.subTest(name=name):
                self.setUp()
                cert, key = os.path.join(tmp, f"{name}.pem"), os.path.join(tmp, f"{name}.key")
                subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                                "-days", "2", "-subj", f"/CN={name}", "-addext",
                                f"subjectAltName={san}", "-keyout", key, "-out", cert],
                               check=True, capture_output=True)
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(cert, key)
                received = []

                def scenario(c, ctx=ctx, received=received):
                    try:
                        c.sock = ctx.wrap_socket(c.sock, server_side=True)
                    except (ssl.SSLError, OSError):
                        return  # the client gave up in the handshake, as it should
                    c.send(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n")
                    received.append(c.line())
                srv = FakeServer(scenario)
                self.servers.append(srv)
                extra = ["--ca-file", cert] if name == "other-host" else []
                self.json("account", "add", "--name", "fake", "--protocol", "imap", "--address",
                          "127.0.0.1", "--port", str(srv.port), "--security", "tls",
                          "--credential", "login", *extra)
                step, err = self.failed_step("--timeout", "5")
                self.assertEqual((step["step"], step["result"]), ("tls", "failed"))
                self.assertIn("certificate verification failed", err)
                self.assertIn(f"CN={name}", err)
                time.sleep(0.2)
                self.assertEqual(received, [])
                self.assertEqual(srv.log, [])

    def test_bye_after_login(self):
        def scenario(c):
            c.send(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n")
            tag = c.line().split(" ")[0]
            c.send(f"{tag} OK in\r\n* BYE going down for maintenance\r\n".encode())
            c.line()
        self.serve(scenario)
        r = self.run_cli("fetch", "fake", "--timeout", "5")
        self.assertEqual(r.returncode, 1)
        self.assertIn("going down for maintenance", r.stderr)

    def test_preauth_when_tls_is_required(self):
        """A PREAUTH greeting skips login, and so STARTTLS: with TLS required
        the run stops there, and nothing is sent in plain text."""
        srv = FakeServer(lambda c: (c.send(b"* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n"),
                                    c.line()))
        self.servers.append(srv)
        self.json("account", "add", "--name", "fake", "--protocol", "imap", "--address",
                  "127.0.0.1", "--port", str(srv.port), "--security", "starttls",
                  "--credential", "login")
        r = self.run_cli("fetch", "fake", "--timeout", "3")
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("mailroom: "), r.stderr)
        self.assertFalse([l for l in srv.log if "LOGIN" in l.upper() or "AUTHENTICATE" in
                          l.upper() or "fake-pw" in l], srv.log)

    def test_pop3_dele_refused(self):
        """-ERR on DELE: the run says so; the message is stored once, and is
        not fetched again by the next run."""
        answers = {"CAPA": b"+OK\r\nUSER\r\nUIDL\r\n.\r\n", "STAT": b"+OK 1 23\r\n",
                   "LIST": b"+OK\r\n1 23\r\n.\r\n", "UIDL": b"+OK\r\n1 uid-one\r\n.\r\n",
                   "RETR": b"+OK\r\nSubject: once\r\n\r\nbody\r\n.\r\n",
                   "DELE": b"-ERR mailbox is read-only\r\n"}
        self.serve(lambda c: pop3_session(c, answers), "pop3", "--keep-copy", "no")
        r = self.run_cli("fetch", "fake")
        self.assertEqual(r.returncode, 1)
        self.assertIn("mailbox is read-only", r.stderr)
        self.assertEqual(self.json("inbox", "list")["total"], 1)
        self.run_cli("fetch", "fake")
        self.assertEqual(self.json("inbox", "list")["total"], 1)

    def test_pop3_garbage_numbers(self):
        for stat, lst in ((b"+OK lots of mail\r\n", b"+OK\r\n.\r\n"),
                          (b"+OK 99999999999999999999 1\r\n", b"+OK\r\n.\r\n"),
                          (b"+OK 2 40\r\n", b"+OK\r\n1 x\r\n2 -5\r\n.\r\n")):
            with self.subTest(stat=stat, lst=lst):
                self.setUp()
                answers = {"CAPA": b"+OK\r\nUSER\r\nUIDL\r\n.\r\n", "STAT": stat,
                           "LIST": lst}
                self.serve(lambda c, a=answers: pop3_session(c, a), "pop3")
                r = self.run_cli("fetch", "fake", "--timeout", "5")
                self.assertEqual(r.returncode, 1)
                self.assertTrue(r.stderr.startswith("mailroom: "), r.stderr)
                self.assert_nothing_stored()

    def test_pop3_body_without_final_dot(self):
        answers = {"CAPA": b"+OK\r\nUSER\r\nUIDL\r\n.\r\n", "STAT": b"+OK 1 12\r\n",
                   "LIST": b"+OK\r\n1 12\r\n.\r\n", "UIDL": b"+OK\r\n1 uid-one\r\n.\r\n",
                   "RETR": b"+OK\r\nSubject: x\r\n\r\nhalf"}
        srv = self.serve(lambda c: pop3_session(c, answers, stop_after="RETR"), "pop3",
                         "--keep-copy", "no")
        r = self.run_cli("fetch", "fake")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no final '.'", r.stderr)
        self.assert_nothing_stored()
        self.assertFalse(any(l.startswith("DELE") for l in srv.log))

    @staticmethod
    def maildrop(raws, uidls=None, eol=b"\r\n", sizes=None, stuff=True, caps=b"UIDL"):
        """pop3_session answers for a maildrop of raws (as the server keeps
        them): LIST says sizes (default: the lengths), UIDL says uidls, RETR
        N sends message N dot-stuffed (unless stuff is false), every line
        ending in eol."""
        sizes = sizes or [len(r) for r in raws]
        uidls = uidls or [f"uid-{i + 1}" for i in range(len(raws))]

        def listing(values):
            return (b"+OK" + eol + b"".join(b"%d %s" % (i + 1, str(v).encode()) + eol
                                            for i, v in enumerate(values)) + b"." + eol)

        def retr(c):
            raw = raws[int(c.log[-1].split()[1]) - 1]
            if stuff:
                raw = b"\n".join(b"." + l if l.startswith(b".") else l
                                 for l in raw.split(b"\n"))
            return b"+OK" + eol + raw + b"." + eol
        return {"CAPA": b"+OK" + eol + b"USER" + eol + b"".join(c + eol for c in caps.split())
                + b"." + eol, "STAT": b"+OK %d %d" % (len(raws), sum(sizes)) + eol,
                "LIST": listing(sizes), "UIDL": listing(uidls), "RETR": retr}

    def test_pop3_bare_lf_line_ends(self):
        """A server that ends every line with LF alone (greeting, status
        lines, CAPA, LIST, UIDL, bodies, ".\n"), as fetchmail and getmail
        accept: fetched, stored as sent, deleted; a dot-stuffed line is
        unstuffed and a lone "." ends only the answer."""
        raws = [b"Subject: one\nMessage-ID: <lf1@example.com>\n\nfirst\n.dot line\n",
                b"Subject: two\n\n..\nsecond\n"]
        srv = self.serve(lambda c: pop3_session(c, self.maildrop(raws, eol=b"\n"), eol=b"\n"),
                         "pop3", "--keep-copy", "no")
        self.ok("account", "test", "fake")
        run = self.json("fetch", "fake")["runs"][0]
        self.assertEqual((run["result"], run["fetched"], run["deleted"]), ("ok", 2, 2))
        msgs = sorted(self.json("inbox", "list")["messages"], key=lambda m: m["id"])
        self.assertEqual([m["subject"] for m in msgs], ["one", "two"])
        for m, raw in zip(msgs, raws):
            self.assertEqual(self.raw_of(m["id"]), raw)  # as the server sent it: LF kept
        self.assertEqual([l for l in srv.log if l.startswith(("DELE", "QUIT"))][-3:],
                         ["DELE 1", "DELE 2", "QUIT"])

    def pop3_run(self, *extra):
        """mailroom fetch fake: (exit code, the run's JSON, stderr)."""
        r = self.run_cli("fetch", "fake", "--format", "json", *extra)
        return r.returncode, json.loads(r.stdout)["runs"][0], r.stderr

    def test_pop3_size_as_listed(self):
        """The size check's happy side: messages of the size LIST said, and
        from servers that count CRLF while they send bare LF, or LF while
        they send CRLF: verified, stored unmarked, deleted."""
        raws = [b"Subject: one\r\n\r\nfirst\r\n", b"Subject: two\r\n\r\nsecond\r\n..\r\n"]
        lf = [r.replace(b"\r\n", b"\n") for r in raws]
        for name, sent, sizes, eol in (
                ("exact", raws, None, b"\r\n"),
                ("LIST counts CRLF, LF sent", lf, [len(r) for r in raws], b"\n"),
                ("LIST counts LF, CRLF sent", raws, [len(r) for r in lf], b"\r\n")):
            with self.subTest(name):
                self.setUp()
                answers = self.maildrop(sent, sizes=sizes, eol=eol)
                srv = self.serve(lambda c, a=answers, e=eol: pop3_session(c, a, eol=e), "pop3",
                                 "--keep-copy", "no")
                rc, run, err = self.pop3_run()
                self.assertEqual(rc, 0, err)
                self.assertEqual((run["fetched"], run["deleted"]), (2, 2))
                self.assertNotIn("note", run)
                self.assertEqual(self.json("inbox", "list", "--status", "size_mismatch")["total"],
                                 0)
                self.assertEqual([m["size_mismatch"] for m in self.json("inbox", "list")
                                  ["messages"]], [False, False])
                self.assertEqual(sum(1 for l in srv.log if l.startswith("DELE")), 2)

    def test_pop3_size_differs_from_list(self):
        """A body shorter than LIST said (truncated, with a proper final
        dot) or 70 KB longer: stored as received and marked (inbox list and
        show, the JSON), named in the run's note, and never deleted — not in
        this run and not in the next, which does not fetch it again. Without
        UIDL too, where the next run recognises it by its digest."""
        full = b"Subject: cut\r\nMessage-ID: <cut@example.com>\r\n\r\n" + b"line\r\n" * 300
        cut = full[:full.index(b"\r\n", 800) + 2]  # a whole last line
        longer = full + b"x" * 998 + b"\r\n" + b"more\r\n" * 10000
        for name, sent, listed, caps in (("truncated", cut, len(full), b"UIDL"),
                                         ("70 KB longer", longer, len(full), b"UIDL"),
                                         ("truncated, no UIDL", cut, len(full), b"")):
            with self.subTest(name):
                self.setUp()
                answers = self.maildrop([sent], sizes=[listed], caps=caps)
                srv = self.serve(lambda c, a=answers: pop3_session(c, a), "pop3",
                                 "--keep-copy", "no")
                rc, run, err = self.pop3_run()
                self.assertEqual(rc, 0, err)
                self.assertEqual((run["fetched"], run["deleted"]), (1, 0))
                self.assertIn(f"message 1 (UIDL {'uid-1' if caps else 'none'}): the server sent "
                              f"{len(sent)} bytes where LIST said {listed}: stored and marked, "
                              "left on the server", run["note"])
                marked = self.json("inbox", "list", "--status", "size_mismatch")["messages"]
                self.assertEqual([(m["size"], m["listed_size"], m["size_mismatch"])
                                  for m in marked], [(len(sent), listed, True)])
                table = self.ok("inbox", "list")
                self.assertIn(f"{len(sent)} (LIST {listed})", table)
                shown = self.ok("inbox", "show", str(marked[0]["id"]))
                self.assertIn(f"where the server's LIST said {listed}", shown)
                self.assertEqual(self.json("inbox", "show", str(marked[0]["id"]))["listed_size"],
                                 listed)
                self.assertEqual(self.raw_of(marked[0]["id"]), sent)
                rc, again, err = self.pop3_run()
                self.assertEqual(rc, 0, err)
                self.assertEqual((again["fetched"], again["deleted"]), (0, 0))
                self.assertIn("1 message stored earlier without the size LIST announced is left "
                              "on the server", again["note"])
                self.assertEqual(self.json("inbox", "list")["total"], 1)
                self.assertFalse(any(l.startswith("DELE") for l in srv.log), srv.log)
                self.assertEqual(sum(1 for l in srv.log if l.startswith("RETR")),
                                 1 if caps else 2)

    def test_pop3_size_tolerance_is_the_accounts(self):
        """A server known to report approximate sizes (Exchange's POP3): 2 %
        short of LIST is marked and kept at the default (exact), and counts
        as whole, stored and deleted, with the account's size tolerance at 3 %;
        10 % short is still marked."""
        full = b"Subject: approx\r\n\r\n" + b"z" * 998 + b"\r\n" + b"line\r\n" * 150
        listed = len(full) * 100 // 98  # the server says 2 % more than it sends
        for tolerance, sent, deleted in (("", full, 0), ("3", full, 1),
                                         ("3", full[:len(full) * 90 // 100], 0)):
            with self.subTest(tolerance=tolerance, sent=len(sent)):
                self.setUp()
                answers = self.maildrop([sent], sizes=[listed], caps=b"UIDL")
                srv = self.serve(lambda c, a=answers: pop3_session(c, a), "pop3",
                                 "--keep-copy", "no", "--size-tolerance", tolerance)
                rc, run, err = self.pop3_run()
                self.assertEqual(rc, 0, err)
                self.assertEqual((run["fetched"], run["deleted"]), (1, deleted))
                marked = self.json("inbox", "list", "--status", "size_mismatch")["total"]
                self.assertEqual(marked, 1 - deleted)
                self.assertEqual(any(l.startswith("DELE") for l in srv.log), bool(deleted))

    def test_pop3_body_not_dot_stuffed(self):
        """A server that does not dot-stuff: a line "." in message 1 ends its
        answer early, and the rest arrives where RETR 2's status line
        belongs. With PIPELINING and without: the run ends with an error
        naming RETR 2, message 1 is stored as received and marked, nothing
        is deleted; the next run fetches and deletes the others, and leaves
        message 1 on the server."""
        raws = [b"Subject: one\r\n\r\nbefore\r\n.\r\nafter the dot\r\n",
                b"Subject: two\r\n\r\nsecond\r\n", b"Subject: three\r\n\r\nthird\r\n"]
        for caps in (b"UIDL PIPELINING", b"UIDL"):
            with self.subTest(caps=caps):
                self.setUp()
                answers = self.maildrop(raws, stuff=False, caps=caps)
                srv = self.serve(lambda c, a=answers: pop3_session(c, a), "pop3",
                                 "--keep-copy", "no")
                rc, run, err = self.pop3_run("--timeout", "5")
                self.assertEqual(rc, 1)
                self.assertIn("RETR 2: no status line where its answer begins", err)
                self.assertIn("got 'after the dot'", err)
                self.assertEqual((run["fetched"], run["deleted"]), (1, 0))
                self.assertIn("message 1 (UIDL uid-1): the server sent 24 bytes where LIST said "
                              f"{len(raws[0])}", run["note"])
                self.assertFalse(any(l.startswith("DELE") for l in srv.log), srv.log)
                marked = self.json("inbox", "list", "--status", "size_mismatch")["messages"]
                self.assertEqual([m["subject"] for m in marked], ["one"])
                rc, again, err = self.pop3_run("--timeout", "5")
                self.assertEqual(rc, 0, err)
                self.assertEqual((again["fetched"], again["deleted"]), (2, 2))
                self.assertEqual([l for l in srv.log if l.startswith("DELE")],
                                 ["DELE 2", "DELE 3"])
                self.assertEqual(self.json("inbox", "list")["total"], 3)

    def uidls_change(self, raws, keep, first_quit=True):
        """A maildrop of raws whose UIDLs change after the first session
        (a migration): serves (srv, the connections so far); without
        first_quit the first session's QUIT is dropped, so nothing it
        deleted is gone."""
        conns = []

        def scenario(c):
            conns.append(c)
            gen = min(len(conns), 2)
            answers = self.maildrop(raws, uidls=[f"gen{gen}-{i}" for i in range(len(raws))])
            if gen == 1 and not first_quit:
                answers["QUIT"] = lambda c: None
            pop3_session(c, answers)
        return self.serve(scenario, "pop3", "--keep-copy", keep), conns

    def test_pop3_uidls_change_between_sessions(self):
        """The server serves the same messages under new UIDLs (a migration):
        they are recognised by Message-ID and SHA-256, not stored again, and
        take the new UIDLs, so the run after does not download them; the
        note says so. Keep copy on; and off, where the first session's QUIT
        was lost and the second deletes them (the same bytes are stored)."""
        raws = [b"Subject: m%d\r\nMessage-ID: <moved-%d@example.com>\r\n\r\nbody %d\r\n"
                % (i, i, i) for i in range(4)]
        srv, conns = self.uidls_change(raws, "yes")
        rc, first, err = self.pop3_run()
        self.assertEqual((rc, first["fetched"]), (0, 4), err)
        rc, moved, err = self.pop3_run()
        self.assertEqual(rc, 0, err)
        self.assertEqual((moved["fetched"], moved["duplicates"], moved["deleted"]), (0, 4, 0))
        self.assertIn("4 messages were already stored under other UIDLs (the server's UIDLs "
                      "changed): not stored again", moved["note"])
        retrs = sum(1 for l in srv.log if l.startswith("RETR"))
        rc, third, err = self.pop3_run()
        self.assertEqual((rc, third["fetched"], third["duplicates"]), (0, 0, 0), err)
        self.assertNotIn("note", third)
        self.assertEqual(sum(1 for l in srv.log if l.startswith("RETR")), retrs)  # known by UIDL
        self.assertEqual(self.json("inbox", "list")["total"], 4)

        self.setUp()
        srv, conns = self.uidls_change(raws, "no", first_quit=False)
        rc, first, err = self.pop3_run()
        self.assertEqual((rc, first["fetched"], first["deleted"]), (1, 4, 0))
        self.assertIn("QUIT failed", err)
        rc, moved, err = self.pop3_run()
        self.assertEqual(rc, 0, err)
        self.assertEqual((moved["fetched"], moved["duplicates"], moved["deleted"]), (0, 4, 4))
        self.assertIn("4 messages were already stored under other UIDLs", moved["note"])
        self.assertEqual(self.json("inbox", "list")["total"], 4)
        # DELE 1-4 in each session; the first's were never applied (no QUIT)
        self.assertEqual(sum(1 for l in srv.log if l.startswith("DELE")), 8)
        self.assertEqual(len(conns), 2)

    def test_pop3_identical_messages_are_two(self):
        """Two messages with the same bytes and Message-ID under two UIDLs the
        server keeps: both are stored, and neither takes the other's UIDL
        (only a stored message whose UIDL the server no longer lists may),
        so no run downloads either again."""
        raw = b"Subject: twice\r\nMessage-ID: <twice@example.com>\r\n\r\nsame\r\n"
        answers = self.maildrop([raw, raw])
        srv = self.serve(lambda c: pop3_session(c, answers), "pop3")
        for fetched in (2, 0, 0):
            rc, run, err = self.pop3_run()
            self.assertEqual((rc, run["fetched"], run["duplicates"]), (0, fetched, 0), err)
        self.assertEqual(sum(1 for l in srv.log if l.startswith("RETR")), 2)
        self.assertEqual(self.json("inbox", "list")["total"], 2)

    def test_pop3_without_uidl(self):
        """No UIDL: mailroom says so, and a message it has is not stored twice."""
        answers = {"CAPA": b"+OK\r\nUSER\r\n.\r\n", "STAT": b"+OK 1 23\r\n",
                   "LIST": b"+OK\r\n1 23\r\n.\r\n",
                   "RETR": b"+OK\r\nSubject: once\r\n\r\nbody\r\n.\r\n"}
        srv = self.serve(lambda c: pop3_session(c, answers), "pop3")
        self.assertIn("does not support UIDL", self.ok("account", "test", "fake"))
        first = self.json("fetch", "fake")["runs"][0]
        self.assertIn("does not support UIDL", first["note"])
        self.assertEqual(first["fetched"], 1)
        again = self.json("fetch", "fake")["runs"][0]
        self.assertEqual((again["fetched"], again["duplicates"]), (0, 1))
        self.assertEqual(self.json("inbox", "list")["total"], 1)
        self.assertFalse(any(l.startswith("UIDL") for l in srv.log))

    def test_pop3_connection_lost_after_dele(self):
        """DELE done, QUIT never answered: the message stays on the server,
        is stored once, and the next run deletes it without storing it again."""
        runs = []
        answers = {"CAPA": b"+OK\r\nUSER\r\nUIDL\r\n.\r\n", "STAT": b"+OK 1 23\r\n",
                   "LIST": b"+OK\r\n1 23\r\n.\r\n", "UIDL": b"+OK\r\n1 uid-one\r\n.\r\n",
                   "RETR": b"+OK\r\nSubject: once\r\n\r\nbody\r\n.\r\n",
                   # the first run's QUIT is dropped: the deletion never happens
                   "QUIT": lambda c: b"+OK bye\r\n" if len(runs) > 1 else None}

        def scenario(c):
            runs.append(c)
            pop3_session(c, answers)
        srv = self.serve(scenario, "pop3", "--keep-copy", "no")
        r = self.run_cli("fetch", "fake", "--format", "json")
        self.assertEqual(r.returncode, 1)
        self.assertIn("QUIT failed", r.stderr)
        self.assertEqual(json.loads(r.stdout)["runs"][0]["deleted"], 0)
        self.assertEqual(self.json("inbox", "list")["total"], 1)
        run = self.json("fetch", "fake")["runs"][0]
        self.assertEqual((run["fetched"], run["deleted"]), (0, 1))
        self.assertEqual(self.json("inbox", "list")["total"], 1)
        self.assertEqual(sum(1 for l in srv.log if l.startswith("RETR")), 1)

    # --- a slow server and the others ------------------------------------------

    def test_a_slow_server_does_not_hold_up_the_others(self):
        """One account's server sends its first message at once and trickles
        the second over 6 s; meanwhile another account fetches. The slow
        run's transaction is committed 100 ms after its last message was
        stored, so no write lock waits on a network: the other fetch goes
        through at once (SQLite would make it wait 5 s and fail)."""
        raw1 = b"Subject: one\r\n\r\nfirst\r\n"
        raw2 = b"Subject: two\r\n\r\n" + b"slow line\r\n" * 6

        def slow(c):
            c.send(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] slow\r\n")
            while (line := c.line()) is not None:
                tag, _, cmd = line.partition(" ")
                up = cmd.upper()
                if up.startswith(("EXAMINE", "SELECT")):
                    c.send(f"* 2 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n{tag} OK\r\n".encode())
                elif "RFC822.SIZE" in up:
                    c.send(f"* 1 FETCH (UID 1 RFC822.SIZE {len(raw1)})\r\n* 2 FETCH (UID 2 "
                           f"RFC822.SIZE {len(raw2)})\r\n{tag} OK\r\n".encode())
                elif "BODY.PEEK" in up:
                    c.send(b"* 1 FETCH (UID 1 BODY[] {%d}\r\n%s)\r\n" % (len(raw1), raw1))
                    c.send(b"* 2 FETCH (UID 2 BODY[] {%d}\r\n" % len(raw2))
                    for i in range(6):
                        time.sleep(1)
                        c.send(raw2[i * len(raw2) // 6:(i + 1) * len(raw2) // 6])
                    c.send(b")\r\n" + tag.encode() + b" OK done\r\n")
                elif up.startswith("LOGOUT"):
                    c.send(f"* BYE\r\n{tag} OK\r\n".encode())
                    return
                else:
                    c.send(f"{tag} OK\r\n".encode())
        raw3 = b"Subject: quick\r\n\r\nfast\r\n"

        def quick(c, tag):
            c.send(b"* 1 FETCH (UID 1 BODY[] {%d}\r\n%s)\r\n%s OK\r\n"
                   % (len(raw3), raw3, tag.encode()))
        self.serve(slow, "imap", "--keep-copy", "no")
        other = FakeServer(lambda c: imap_session(c, quick, size=len(raw3)))
        self.servers.append(other)
        self.json("account", "add", "--name", "other", "--protocol", "imap", "--address",
                  "127.0.0.1", "--port", str(other.port), "--security", "none", "--credential",
                  "login")
        env = dict(self.env, MAILROOM_DATA=self.data)
        slow_run = subprocess.Popen([BIN, "fetch", "fake", "--format", "json"], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2)  # the first message is stored, the second trickles
        t0 = time.time()
        r = self.run_cli("fetch", "other", "--format", "json")
        took = time.time() - t0
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["runs"][0]["fetched"], 1)
        self.assertLess(took, 3, "the other fetch waited for the slow one's write lock")
        out, err = slow_run.communicate(timeout=60)
        self.assertEqual(slow_run.returncode, 0, err)
        self.assertEqual(json.loads(out)["runs"][0]["fetched"], 2)
        self.assertEqual(self.json("inbox", "list")["total"], 3)

    # --- lines with no end ----------------------------------------------------

    def measured(self, *args):
        """Runs the command line under /usr/bin/time: (result, peak RSS MiB)."""
        env = dict(self.env, MAILROOM_DATA=self.data)
        r = subprocess.run(["/usr/bin/time", "-f", "maxrss=%M", BIN, *args],
                           capture_output=True, text=True, env=env, timeout=120)
        return r, int(re.search(r"maxrss=(\d+)", r.stderr).group(1)) / 1024

    @staticmethod
    def endless(c, head, mib=100):
        """head, then a line that goes on for `mib` MiB with no end."""
        c.send(head)
        chunk = b"A" * (1 << 20)
        for _ in range(mib):
            c.send(chunk)

    def test_lines_with_no_end(self):
        """100 MiB without a line end, where a line is due: cut at the limit
        (1 MiB for IMAP, 8 KiB for a POP3 status), with an error naming the
        step; memory stays far below what was sent; nothing stored."""
        def imap_fetch(c, tag):
            self.endless(c, b"* 1 FETCH (UID 1 BODY[] \"")
        cases = (
            ("imap", lambda c: self.endless(c, b"* OK "), "greeting", "longer than"),
            ("imap", lambda c: imap_session(c, imap_fetch), None, "longer than"),
            ("pop3", lambda c: self.endless(c, b"+OK "), "greeting", "longer than"),
            ("pop3", lambda c: pop3_session(c, {"CAPA": lambda c: self.endless(c, b"+OK\r\n")}),
             "capabilities", "too long"),
        )
        for proto, scenario, step, words in cases:
            with self.subTest(proto=proto, step=step or "fetch"):
                self.setUp()
                self.serve(scenario, proto, "--keep-copy", "no")
                t0 = time.time()
                r, rss = self.measured("fetch", "fake", "--format", "json", "--timeout", "10")
                self.assertEqual(r.returncode, 1, r.stdout)
                self.assertIn(words, r.stderr)
                self.assertNotIn("Sanitizer", r.stderr)
                self.assertLess(rss, 90, "peak RSS (MiB) for 100 MiB sent")
                self.assertLess(time.time() - t0, 30)
                if step:
                    test = self.run_cli("account", "test", "fake", "--format", "json")
                    self.assertEqual(json.loads(test.stdout)["steps"][-1]["step"], step)
                self.assert_nothing_stored()

    def test_pop3_message_with_a_100_mib_line(self):
        """A message whose body is one 100 MiB line, announced as 20 bytes:
        refused once it passes the largest size, nothing stored or deleted."""
        def retr(c):
            self.endless(c, b"+OK\r\nSubject: long\r\n\r\n")
            return b"\r\n.\r\n"
        answers = {"CAPA": b"+OK\r\nUSER\r\nUIDL\r\n.\r\n", "STAT": b"+OK 1 20\r\n",
                   "LIST": b"+OK\r\n1 20\r\n.\r\n", "UIDL": b"+OK\r\n1 uid-one\r\n.\r\n",
                   "RETR": retr}
        srv = self.serve(lambda c: pop3_session(c, answers, stop_after="RETR"), "pop3",
                         "--keep-copy", "no", "--max-message-size", "1048576")
        r, rss = self.measured("fetch", "fake", "--timeout", "10")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("grew past the account's limit", r.stderr)
        self.assertLess(rss, 90)
        self.assert_nothing_stored()
        self.assertFalse(any(l.startswith("DELE") for l in srv.log))

    # --- a garbage LIST ---------------------------------------------------------

    def test_garbage_list(self):
        """The folder lookup (LIST) answered with garbage: a clear error at the
        folder step or the folder not found; never a crash or a hang."""
        for answer in (b"* LIST garbage\r\n",
                       b"* LIST (\\HasNoChildren) \".\"\r\n",
                       b"* LIST (\\X) \".\" {99999999999}\r\n",
                       b"* LIST (\\X) \".\" {-1}\r\n",
                       b"* LIST " + b"(" * 5000 + b"\r\n",
                       b"* LIST (\\X) \"..\" Support\r\n",
                       b"* LIST (\\X) NIL \"Sup\x00port\"\r\n",
                       b"* LIST (\\X) \".\" \"Support\r\n",
                       b"* 4294967296 LIST (\\X) \".\" Support\r\n"):
            with self.subTest(answer=answer[:40]):
                self.setUp()

                def scenario(c, answer=answer):
                    c.send(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n")
                    while (line := c.line()) is not None:
                        tag, _, cmd = line.partition(" ")
                        if cmd.upper().startswith("LIST"):
                            c.send(answer + tag.encode() + b" OK listed\r\n")
                        elif cmd.upper().startswith("LOGOUT"):
                            c.send(f"* BYE\r\n{tag} OK\r\n".encode())
                            return
                        elif cmd.upper().startswith(("EXAMINE", "SELECT")):
                            c.send(f"{tag} NO no such folder\r\n".encode())
                        else:
                            c.send(f"{tag} OK\r\n".encode())
                self.serve(scenario, "imap", "--folder", "Support")
                t0 = time.time()
                r = self.run_cli("account", "test", "fake", "--format", "json", "--timeout", "3")
                self.assertEqual(r.returncode, 1, r.stdout)
                self.assertLess(time.time() - t0, 10)
                self.assertNotIn("Sanitizer", r.stderr)
                step = json.loads(r.stdout)["steps"][-1]
                self.assertEqual((step["step"], step["result"]), ("folder", "failed"), r.stdout)
                self.assert_nothing_stored()


if __name__ == "__main__":
    unittest.main()
