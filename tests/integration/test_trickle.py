"""Servers that trickle: a byte now and then never trips the idle timeout,
so each step has a deadline of its own (the greeting, each command's
answer, the TLS handshake, each proxy exchange) and a transfer a lowest
speed (curl's --speed-limit/--speed-time). The run ends within the step
timeout, says which step and what arrived, stores nothing half and deletes
nothing; a large message from a slow but steady server still arrives.

The accounts here use the shortest limits the fields allow (5 s), so the
test takes seconds, not the defaults' minutes."""
import json
import socket
import threading
import time
import unittest

from fakeserver import FakeServer, imap_session, pop3_session
from helpers import FakeServerTestCase

LIMITS = ("--step-timeout", "5", "--min-speed-time", "5")
POP3_CAPA = b"+OK\r\nUSER\r\nUIDL\r\n.\r\n"


def dribble(c, data, every=0.5):
    """Sends data a byte at a time, one every `every` seconds."""
    for ch in data:
        c.send(bytes([ch]))
        time.sleep(every)


class TrickleTest(FakeServerTestCase):
    proto = "pop3"

    def serve(self, scenario, proto=None, *extra):
        return super().serve(scenario, proto, "--keep-copy", "no", *LIMITS, *extra)

    def fetch_fails(self, within):
        t0 = time.time()
        r = self.run_cli("fetch", "fake", "--format", "json")
        took = time.time() - t0
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertLess(took, within, r.stderr)
        return r.stderr, took

    def assert_nothing_stored(self):
        self.assertEqual(self.json("inbox", "list")["total"], 0)

    def assert_nothing_deleted(self, srv):
        self.assertFalse([l for l in srv.log if l.upper().startswith(("DELE", "UID STORE",
                                                                       "EXPUNGE"))], srv.log)

    # --- steps ---------------------------------------------------------------

    def test_pop3_greeting_that_trickles(self):
        self.serve(lambda c: dribble(c, b"+OK a greeting that never ends" * 10))
        err, took = self.fetch_fails(within=9)
        self.assertGreater(took, 4.5)
        self.assertRegex(err, r"waiting for the greeting: the server 127\.0\.0\.1:\d+ sent "
                              r"\d+ bytes in 5 s, and one step may take 5 s")
        self.assert_nothing_stored()

    def test_pop3_status_line_that_trickles(self):
        answers = {"CAPA": POP3_CAPA,
                   "STAT": lambda c: dribble(c, b"+OK 1 100 and on and on" * 10)}
        srv = self.serve(lambda c: pop3_session(c, answers))
        err, _ = self.fetch_fails(within=9)
        self.assertIn("waiting for the answer to STAT", err)
        self.assertIn("one step may take 5 s (the account's step timeout)", err)
        self.assert_nothing_deleted(srv)

    def test_pop3_body_that_trickles(self):
        """A body at ten bytes a second: under the 1,024 bytes a second the
        account asks for, over 5 s. Nothing is stored, nothing deleted."""
        raw = b"Subject: slow\r\n\r\n" + b"x" * 2000 + b"\r\n"

        def retr(c):
            c.send(b"+OK\r\n")
            dribble(c, raw, every=0.1)
            return b".\r\n"
        answers = {"CAPA": POP3_CAPA, "STAT": b"+OK 1 %d\r\n" % len(raw),
                   "LIST": b"+OK\r\n1 %d\r\n.\r\n" % len(raw),
                   "UIDL": b"+OK\r\n1 uid-1\r\n.\r\n", "RETR": retr}
        srv = self.serve(lambda c: pop3_session(c, answers))
        err, took = self.fetch_fails(within=10)
        self.assertRegex(err, r"receiving message 1 \(RETR\): the server 127\.0\.0\.1:\d+ sent "
                              r"\d+ bytes in 5 s, less than the low-speed limit of 1024 bytes "
                              r"a second")
        self.assertGreater(took, 4.5)
        self.assert_nothing_stored()
        self.assert_nothing_deleted(srv)

    def test_imap_literal_that_trickles(self):
        raw = b"Subject: slow\r\n\r\n" + b"y" * 2000 + b"\r\n"

        def body(c, tag):
            c.send(b"* 1 FETCH (UID 1 BODY[] {%d}\r\n" % len(raw))
            dribble(c, raw, every=0.1)
        srv = self.serve(lambda c: imap_session(c, body, size=len(raw)), "imap")
        err, _ = self.fetch_fails(within=10)
        self.assertIn("receiving the answer to UID FETCH: the server", err)
        self.assertIn("less than the low-speed limit of 1024 bytes a second", err)
        self.assert_nothing_stored()
        self.assert_nothing_deleted(srv)

    def test_imap_command_answer_that_trickles(self):
        def scenario(c):
            c.send(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n")
            line = c.line()
            tag = line.split(" ")[0]
            dribble(c, b"* CAPABILITY IMAP4rev1 " + b"X" * 40 + f"\r\n{tag} OK\r\n".encode())
        self.serve(scenario, "imap")
        step, err = self.failed_test()
        self.assertIn("waiting for the answer to", err)
        self.assertIn("one step may take 5 s", err)

    def failed_test(self):
        t0 = time.time()
        r = self.run_cli("account", "test", "fake", "--format", "json")
        self.assertLess(time.time() - t0, 9, r.stderr)
        self.assertEqual(r.returncode, 1, r.stderr)
        return json.loads(r.stdout)["steps"][-1], r.stderr

    def test_tls_handshake_that_trickles(self):
        """A server that answers the ClientHello with the header of a
        16 KiB record and then a byte every half second."""
        def scenario(c):
            c.sock.recv(4096)  # the ClientHello
            c.send(b"\x16\x03\x03\x40\x00")
            dribble(c, b"\x02" * 60)
        srv = FakeServer(scenario)
        self.servers.append(srv)
        self.json("account", "add", "--name", "fake", "--protocol", "imap", "--address",
                  "127.0.0.1", "--port", str(srv.port), "--security", "tls", "--credential",
                  "login", *LIMITS)
        step, err = self.failed_test()
        self.assertEqual((step["step"], step["result"]), ("tls", "failed"))
        self.assertRegex(err, r"waiting for the TLS handshake: the server 127\.0\.0\.1:\d+ sent "
                              r"\d+ bytes in 5 s")

    def test_socks5_proxy_that_trickles(self):
        """A SOCKS5 proxy that answers its greeting a byte every 3 s."""
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(4)
        port = lsock.getsockname()[1]

        def proxy():
            try:
                s, _ = lsock.accept()
            except OSError:
                return
            with s:
                s.recv(16)
                for byte in b"\x05\x00":  # each within the idle timeout, both after 5 s
                    time.sleep(3)
                    try:
                        s.send(bytes([byte]))
                    except OSError:
                        return
        threading.Thread(target=proxy, daemon=True).start()
        self.addCleanup(lsock.close)
        self.json("connector", "add", "--name", "slowproxy", "--type", "socks5", "--address",
                  "127.0.0.1", "--port", str(port))
        srv = FakeServer(lambda c: pop3_session(c, {}))
        self.servers.append(srv)
        self.json("account", "add", "--name", "fake", "--protocol", "pop3", "--address",
                  "127.0.0.1", "--port", str(srv.port), "--security", "none", "--credential",
                  "login", "--use-connector", "yes", "--connector", "slowproxy", *LIMITS)
        step, err = self.failed_test()
        self.assertEqual(step["result"], "failed")
        self.assertIn("waiting for the SOCKS5 proxy's greeting", err)
        self.assertIn("one step may take 5 s", err)

    # --- the happy cases ---------------------------------------------------------

    def test_a_large_message_from_a_slow_but_steady_server_arrives(self):
        """400 KiB at about 64 KiB a second: longer than the 5 s step timeout
        and more than one 5 s speed span, all above the low-speed limit."""
        raw = b"Subject: big and slow\r\n\r\n" + (b"z" * 1022 + b"\r\n") * 400

        def retr(c):
            c.send(b"+OK\r\n")
            for i in range(0, len(raw), 8192):
                c.send(raw[i:i + 8192])
                time.sleep(0.125)
            return b".\r\n"
        answers = {"CAPA": POP3_CAPA, "STAT": b"+OK 1 %d\r\n" % len(raw),
                   "LIST": b"+OK\r\n1 %d\r\n.\r\n" % len(raw),
                   "UIDL": b"+OK\r\n1 uid-big\r\n.\r\n", "RETR": retr}
        srv = self.serve(lambda c: pop3_session(c, answers))
        t0 = time.time()
        run = self.json("fetch", "fake")["runs"][0]
        self.assertGreater(time.time() - t0, 5.5, "the transfer should outlast one step timeout")
        self.assertEqual((run["result"], run["fetched"], run["deleted"]), ("ok", 1, 1))
        self.assertTrue(any(l.startswith("DELE 1") for l in srv.log), srv.log)
        msg = self.json("inbox", "list")["messages"][0]
        self.assertEqual(msg["size"], len(raw))

    def test_limits_are_account_fields_with_defaults(self):
        srv = FakeServer(lambda c: pop3_session(c, {}))
        self.servers.append(srv)
        a = self.json("account", "add", "--name", "plain", "--protocol", "pop3", "--address",
                      "127.0.0.1", "--port", str(srv.port), "--credential", "login")
        self.assertEqual((a["step_timeout"], a["min_speed"], a["min_speed_time"],
                          a["size_tolerance"]), (60, 1024, 60, 0))
        a = self.json("account", "edit", "plain", "--step-timeout", "120", "--min-speed", "100",
                      "--min-speed-time", "30", "--size-tolerance", "2")
        self.assertEqual((a["step_timeout"], a["min_speed"], a["min_speed_time"],
                          a["size_tolerance"]), (120, 100, 30, 2))
        a = self.json("account", "edit", "plain", "--step-timeout", "", "--min-speed", "")
        self.assertEqual((a["step_timeout"], a["min_speed"]), (60, 1024))
        for flag, value in (("--step-timeout", "4"), ("--step-timeout", "3601"),
                            ("--min-speed", "0"), ("--min-speed-time", "soon"),
                            ("--size-tolerance", "101")):
            with self.subTest(flag=flag, value=value):
                r = self.run_cli("account", "edit", "plain", flag, value)
                self.assertEqual(r.returncode, 1)
                self.assertIn(flag[2:].replace("-", "_"), r.stderr)
        r = self.run_cli("account", "add", "--name", "imap-tol", "--protocol", "imap",
                         "--address", "127.0.0.1", "--credential", "login",
                         "--size-tolerance", "5")
        self.assertEqual(r.returncode, 1)
        self.assertIn("only POP3 accounts have a size tolerance", r.stderr)


if __name__ == "__main__":
    unittest.main()
