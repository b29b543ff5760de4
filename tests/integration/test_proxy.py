"""Network connectors against real proxies: Dante (SOCKS5, with and without
username/password), tinyproxy (HTTP CONNECT with Basic authentication) and
tinyproxy behind stunnel (HTTP CONNECT over TLS), each in front of the
suite's Dovecot; plus scripted broken proxies. The proxies' own logs prove
that the traffic went through them.

The Dovecot here has a certificate for "localhost" only (no IP address):
accounts name the server "localhost" and connectors name the proxy
"127.0.0.1", so a certificate checked against the proxy's name would fail,
and one checked against an account addressed as 127.0.0.1 must fail."""
import os
import re
import socket
import struct
import time
import unittest

from fakeserver import FakeServer
from helpers import MailTestCase, message, server, stop_servers
from proxies import PROXY_PASSWORD, PROXY_USER, Dante, Silent, Tinyproxy, TlsFront

PROXIES = {}
TP_USER, TP_PASSWORD = "tp-user", "Tp-Pw-Numbat-31"


def proxy(name):
    if name not in PROXIES:
        if name == "socks":
            PROXIES[name] = Dante("none").start()
        elif name == "socks-auth":
            PROXIES[name] = Dante("username").start()
        elif name == "socks-block":
            PROXIES[name] = Dante("none", blocked_port=server(
                "proxied", cert_san="DNS:localhost").ports["imap"]).start()
        elif name == "http":
            PROXIES[name] = Tinyproxy(TP_USER, TP_PASSWORD).start()
        elif name == "https":
            PROXIES[name] = TlsFront(proxy("http").port).start()
    return PROXIES[name]


def tearDownModule():
    for p in PROXIES.values():
        p.stop()
    PROXIES.clear()
    stop_servers()


MODES = (("none", []), ("starttls", ["starttls", "tls"]), ("tls", ["tls"]))


class ProxyTestCase(MailTestCase):
    dovecot = "proxied"

    def setUp(self):
        server("proxied", cert_san="DNS:localhost")
        super().setUp()

    def connector(self, name, kind, port, *extra):
        return self.json("connector", "add", "--name", name, "--type", kind,
                         "--address", "127.0.0.1", "--port", str(port), *extra)

    def proxied_account(self, name, proto, security, connector, address="localhost", *extra):
        """An account that checks the mail server's certificate with the
        suite's CA file, through `connector` (None: the default)."""
        via = ["--use-connector", "yes"] + (["--connector", connector] if connector else [])
        return self.add_account_at(name, proto, security, address, "--ca-file", self.d.cert,
                                   *via, *extra)

    def check(self, name, ok=True):
        r = self.run_cli("account", "test", name, "--format", "json", "--timeout", "5")
        self.assertEqual(r.returncode, 0 if ok else 1, r.stdout + r.stderr)
        import json
        return json.loads(r.stdout), r.stderr

    def step(self, result, name):
        found = [s for s in result["steps"] if s["step"] == name]
        self.assertTrue(found, (name, result))
        return found[0]

    def assert_all_ok(self, result):
        self.assertTrue(result["ok"], result)
        for s in result["steps"]:
            self.assertIn(s["result"], ("ok", "note"), s)


class SocksTest(ProxyTestCase):
    def test_imap_and_pop3_every_mode_through_dante(self):
        dante = proxy("socks")
        self.connector("socks", "socks5", dante.port)
        before = dante.log_text().count("connect")
        for proto in ("imap", "pop3"):
            for security, extra in MODES:
                name = f"{proto}-{security}"
                self.proxied_account(name, proto, security, "socks")
                result, _ = self.check(name)
                self.assert_all_ok(result)
                names = [s["step"] for s in result["steps"]]
                for want in ["proxy connect", "proxy auth", "proxy tunnel", "connect",
                             "greeting", "authentication"] + extra:
                    self.assertIn(want, names)
                self.assertNotIn("resolve", names)  # the proxy resolved the name
                tunnel = self.step(result, "proxy tunnel")["detail"]
                self.assertIn(f"localhost port {self.port(proto, security)} "
                              "(name resolved by the proxy)", tunnel)
                self.assertIn("succeeded, bound to", tunnel)
                if security != "none":
                    tls = self.step(result, "tls")["detail"]
                    self.assertIn("verification: ok", tls)
                    self.assertIn("CN=localhost", tls)
        # every test connection went through Dante, to Dovecot's ports
        log = dante.log_text()
        self.assertGreaterEqual(log.count("connect"), before + 6)
        for port in self.d.ports.values():
            self.assertIn(f"127.0.0.1.{port}", log)

    def test_fetch_and_read_through_dante_deleting_from_the_server(self):
        self.connector("socks", "socks5", proxy("socks").port)
        raws = [message(i) for i in range(3)]
        self.deliver(raws)
        self.proxied_account("through", "imap", "tls", "socks", "localhost",
                             "--keep-copy", "no")
        run, _ = self.fetch("through")
        self.assertEqual(run["fetched"], 3)
        self.assertEqual(run["deleted"], 3)
        self.assertEqual(self.d.message_count(self.user), 0)
        stored = sorted(self.raw(m["id"]) for m in self.inbox())
        self.assertEqual(stored, sorted(r.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
                                        for r in raws))
        self.deliver([message(9)])
        self.proxied_account("pop", "pop3", "starttls", "socks", "localhost",
                             "--keep-copy", "no")
        run, _ = self.fetch("pop")
        self.assertEqual(run["fetched"], 1)

    def test_username_password_and_wrong_password(self):
        dante = proxy("socks-auth")
        self.add_credential("proxy-login", password=PROXY_PASSWORD, username=PROXY_USER)
        self.add_credential("proxy-wrong", password="not-" + PROXY_PASSWORD,
                            username=PROXY_USER)
        self.connector("socks-auth", "socks5", dante.port, "--credential", "proxy-login")
        self.connector("socks-bad", "socks5", dante.port, "--credential", "proxy-wrong")
        self.connector("socks-none", "socks5", dante.port)
        self.proxied_account("good", "imap", "tls", "socks-auth")
        result, _ = self.check("good")
        self.assert_all_ok(result)
        self.assertIn(f"username/password: accepted for user '{PROXY_USER}'",
                      self.step(result, "proxy auth")["detail"])

        self.proxied_account("bad", "imap", "tls", "socks-bad")
        result, err = self.check("bad", ok=False)
        auth = self.step(result, "proxy auth")
        self.assertEqual(auth["result"], "failed")
        self.assertIn("proxy authentication failed", auth["detail"])
        self.assertIn(f"rejected user '{PROXY_USER}'", auth["detail"])
        self.assertIn("proxy authentication failed", err)
        self.assertNotIn("greeting", [s["step"] for s in result["steps"]])

        self.proxied_account("none", "pop3", "tls", "socks-none")
        result, err = self.check("none", ok=False)
        self.assertIn("accepts none of the methods offered (none); give the connector a "
                      "credential", self.step(result, "proxy auth")["detail"])
        for secret in (PROXY_PASSWORD,):
            self.assertNotIn(secret.encode(), self.files_text())

        # Test connector: the proxy answers and authenticates
        out = self.ok("connector", "test", "socks-auth")
        self.assertIn("proxy auth", out)
        self.assertIn("accepted", out)
        r = self.run_cli("connector", "test", "socks-bad")
        self.assertEqual(r.returncode, 1)
        self.assertIn("proxy authentication failed", r.stderr)
        out = self.ok("connector", "test", "socks-auth", "--target",
                      f"localhost:{self.d.ports['imap']}")
        self.assertIn("proxy tunnel", out)
        self.assertIn("succeeded", out)

    def test_names_resolved_here_when_the_connector_says_so(self):
        dante = proxy("socks")
        self.connector("local-dns", "socks5", dante.port, "--resolve", "local")
        self.proxied_account("local", "imap", "starttls", "local-dns")
        result, _ = self.check("local")
        self.assert_all_ok(result)
        self.assertIn(f"localhost port {self.d.ports['imap']} (resolved here to 127.0.0.1)",
                      self.step(result, "proxy tunnel")["detail"])
        # the certificate is still checked against the account's name
        self.assertIn("verification: ok", self.step(result, "tls")["detail"])

    def test_certificate_is_checked_against_the_mail_servers_name(self):
        # The proxy is 127.0.0.1; the certificate is for "localhost" only.
        # Addressed as 127.0.0.1, the mail server's certificate must fail,
        # and nothing may be sent in plain text first.
        self.connector("socks-named", "socks5", proxy("socks").port)
        self.json("connector", "edit", "socks-named", "--address", "localhost")
        for proto, security in (("imap", "tls"), ("imap", "starttls"), ("pop3", "tls")):
            name = f"ip-{proto}-{security}"
            self.proxied_account(name, proto, security, "socks-named", "127.0.0.1")
            result, err = self.check(name, ok=False)
            tls = self.step(result, "tls")
            self.assertEqual(tls["result"], "failed")
            self.assertIn("certificate verification failed for 127.0.0.1", tls["detail"])
            self.assertNotIn("authentication", [s["step"] for s in result["steps"]])
        self.assertNotIn(f"user={self.user}", self.d.log())

    def test_refused_and_unreachable_targets(self):
        blocking = proxy("socks-block")
        self.connector("blocking", "socks5", blocking.port)
        self.proxied_account("blocked", "imap", "none", "blocking")
        result, err = self.check("blocked", ok=False)
        tunnel = self.step(result, "proxy tunnel")
        self.assertEqual(tunnel["result"], "failed")
        self.assertIn("proxy refused the target: connection not allowed by ruleset", tunnel["detail"])

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            closed = s.getsockname()[1]
        self.connector("plain-socks", "socks5", proxy("socks").port)
        self.proxied_account("nobody-home", "imap", "none", "plain-socks", "localhost",
                             "--port", str(closed))
        result, err = self.check("nobody-home", ok=False)
        self.assertIn("target unreachable through the proxy",
                      self.step(result, "proxy tunnel")["detail"])
        self.assertIn("target unreachable through the proxy", err)

        self.connector("no-proxy", "socks5", closed)
        self.proxied_account("no-proxy", "imap", "none", "no-proxy")
        result, err = self.check("no-proxy", ok=False)
        self.assertIn("proxy unreachable: connecting to 127.0.0.1 port",
                      self.step(result, "proxy connect")["detail"])


class HttpTest(ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.add_credential("tp-login", password=TP_PASSWORD, username=TP_USER)

    def test_imap_and_pop3_every_mode_through_tinyproxy(self):
        tp = proxy("http")
        self.connector("http", "http", tp.port, "--credential", "tp-login")
        for proto in ("imap", "pop3"):
            for security, extra in MODES:
                name = f"{proto}-{security}"
                self.proxied_account(name, proto, security, "http")
                result, _ = self.check(name)
                self.assert_all_ok(result)
                port = self.port(proto, security)
                tunnel = self.step(result, "proxy tunnel")["detail"]
                self.assertIn(f"CONNECT localhost:{port} with Basic authentication", tunnel)
                self.assertIn(" 200 ", tunnel)
                self.assertIn(f"CONNECT localhost:{port}", tp.log_text())
        self.deliver([message(1), message(2)])
        self.proxied_account("fetching", "imap", "tls", "http", "localhost", "--keep-copy", "no")
        run, _ = self.fetch("fetching")
        self.assertEqual((run["fetched"], run["deleted"]), (2, 2))
        self.assertEqual(len(self.inbox()), 2)
        self.assertNotIn(TP_PASSWORD.encode(), self.files_text())

    def test_wrong_password_and_no_credential(self):
        tp = proxy("http")
        self.add_credential("tp-wrong", password="nope", username=TP_USER)
        self.connector("http-bad", "http", tp.port, "--credential", "tp-wrong")
        self.connector("http-anon", "http", tp.port)
        for connector in ("http-bad", "http-anon"):
            self.proxied_account(connector, "imap", "tls", connector)
            result, err = self.check(connector, ok=False)
            tunnel = self.step(result, "proxy tunnel")
            self.assertEqual(tunnel["result"], "failed")
            self.assertIn("proxy authentication failed:", tunnel["detail"])
            self.assertRegex(tunnel["detail"], r"HTTP/1\.\d 40[17] ")
        # Test connector: probes without a mail server
        r = self.run_cli("connector", "test", "http-bad")
        self.assertEqual(r.returncode, 1)
        self.assertIn("proxy authentication failed", r.stderr)
        self.connector("http-good", "http", tp.port, "--credential", "tp-login")
        out = self.ok("connector", "test", "http-good")
        self.assertIn("accepted the credentials", out)

    def test_target_unreachable_through_tinyproxy(self):
        self.connector("http", "http", proxy("http").port, "--credential", "tp-login")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            closed = s.getsockname()[1]
        self.proxied_account("closed", "pop3", "none", "http", "localhost", "--port",
                             str(closed))
        result, err = self.check("closed", ok=False)
        self.assertIn("target unreachable through the proxy",
                      self.step(result, "proxy tunnel")["detail"])

    def test_http_proxy_over_tls_with_tls_inside(self):
        front = proxy("https")
        self.connector("https", "http", front.port, "--credential", "tp-login", "--tls", "yes",
                       "--ca-file", front.cert)
        for proto, security in (("imap", "tls"), ("pop3", "starttls"), ("imap", "none")):
            name = f"{proto}-{security}"
            self.proxied_account(name, proto, security, "https")
            result, _ = self.check(name)
            self.assert_all_ok(result)
            ptls = self.step(result, "proxy tls")["detail"]
            self.assertIn("CN=proxy.test", ptls)
            self.assertIn("verification: ok", ptls)
            if security != "none":
                # the mail server's own TLS, inside the proxy's
                self.assertIn("CN=localhost", self.step(result, "tls")["detail"])
        self.deliver([message(5)])
        self.proxied_account("fetch-tls", "imap", "tls", "https", "localhost", "--keep-copy",
                             "no")
        run, _ = self.fetch("fetch-tls")
        self.assertEqual(run["fetched"], 1)
        self.assertIn("accepted connection", front.log_text())
        # the proxy's certificate is checked too
        self.connector("https-unchecked", "http", front.port, "--credential", "tp-login",
                       "--tls", "yes")
        self.proxied_account("untrusted", "imap", "tls", "https-unchecked")
        result, err = self.check("untrusted", ok=False)
        ptls = self.step(result, "proxy tls")
        self.assertEqual(ptls["result"], "failed")
        self.assertIn("TLS to the proxy: certificate verification failed", ptls["detail"])
        self.assertIn("give the network connector a CA file", ptls["detail"])


class DefaultConnectorTest(ProxyTestCase):
    def test_blank_connector_uses_the_default(self):
        tp = proxy("http")
        self.add_credential("tp-login", password=TP_PASSWORD, username=TP_USER)
        self.connector("socks", "socks5", proxy("socks").port)
        self.connector("http", "http", tp.port, "--credential", "tp-login")
        # no default yet: a clear validation error
        r = self.run_cli("account", "add", "--name", "x", "--protocol", "imap", "--address",
                         "localhost", "--credential", "login", "--use-connector", "yes")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no default connector is set", r.stderr)
        self.ok("settings", "set", "default-connector", "http")
        self.proxied_account("on-default", "imap", "tls", None)
        self.proxied_account("on-socks", "pop3", "tls", "socks")
        self.proxied_account("direct", "imap", "tls", None)
        self.json("account", "edit", "direct", "--use-connector", "no")
        result, _ = self.check("on-default")
        self.assert_all_ok(result)
        self.assertIn("HTTP proxy 'http'", self.step(result, "proxy connect")["detail"])
        result, _ = self.check("direct")
        self.assert_all_ok(result)
        self.assertNotIn("proxy connect", [s["step"] for s in result["steps"]])
        # the connectors list shows who uses each
        listing = {c["name"]: c for c in self.json("connector", "list")["connectors"]}
        self.assertEqual([(u["name"], u["through_default"]) for u in listing["http"]["used_by"]],
                         [("on-default", True)])
        self.assertEqual([u["name"] for u in listing["socks"]["used_by"]], ["on-socks"])
        table = self.ok("connector", "list")
        self.assertIn("on-default (default)", table)
        # deleting a connector in use is refused, naming the accounts
        err = self.fails("connector", "rm", "socks", code=1)
        self.assertIn("account on-socks", err)
        err = self.fails("connector", "rm", "http", code=1)
        self.assertIn("on-default", err)
        # switching the default moves the account over
        self.ok("settings", "set", "default-connector", "socks")
        result, _ = self.check("on-default")
        self.assertIn("SOCKS5 proxy 'socks'", self.step(result, "proxy connect")["detail"])


def socks_server(reply):
    """A SOCKS5 'proxy' that accepts no-auth and then sends `reply` to the
    CONNECT request (None: closes instead)."""
    def scenario(c):
        s = c.sock
        s.recv(16)
        s.sendall(b"\x05\x00")
        s.recv(300)
        if reply is None:
            return
        s.sendall(reply)
        time.sleep(2)
    return FakeServer(scenario)


class BrokenProxyTest(ProxyTestCase):
    def expect_failure(self, fake, kind, step, words):
        self.connector(f"broken-{fake.port}", kind, fake.port)
        name = f"via-{fake.port}"
        self.proxied_account(name, "imap", "tls", f"broken-{fake.port}")
        t0 = time.time()
        result, err = self.check(name, ok=False)
        self.assertLess(time.time() - t0, 20)
        detail = self.step(result, step)["detail"]
        self.assertEqual(self.step(result, step)["result"], "failed")
        self.assertIn(words, detail)
        self.assertNotIn("greeting", [s["step"] for s in result["steps"]])
        fake.stop()
        return detail

    def test_garbage_and_early_close(self):
        self.expect_failure(FakeServer(lambda c: c.send(b"HELLO THERE\r\n")), "socks5",
                            "proxy auth", "does not speak SOCKS5")
        self.expect_failure(FakeServer(lambda c: c.send(b"220 smtp ready\r\n\r\n")), "http",
                            "proxy tunnel", "proxy error: the proxy 127.0.0.1 port")
        self.expect_failure(FakeServer(lambda c: c.sock.recv(10)), "socks5", "proxy auth",
                            "the proxy closed the connection")
        self.expect_failure(socks_server(None), "socks5", "proxy tunnel",
                            "the proxy closed the connection")
        self.expect_failure(FakeServer(lambda c: c.send(b"HTTP/1.1 200 OK\r\nX: " +
                                                       b"a" * 20000)), "http", "proxy tunnel",
                            "has no end")

    def test_bogus_bound_address(self):
        self.expect_failure(socks_server(b"\x05\x00\x00\x09" + b"\x00" * 6), "socks5",
                            "proxy tunnel", "bogus bound address type 9")
        self.expect_failure(socks_server(b"\x05\x00\x00\x03\x05bad\x00x\x00\x10"), "socks5",
                            "proxy tunnel", "bound name is not a host name")
        self.expect_failure(socks_server(b"\x04\x00\x00\x01" + b"\x00" * 6), "socks5",
                            "proxy tunnel", "version 4, not 5")

    def test_hanging_proxy_times_out(self):
        silent = Silent().start()
        try:
            self.connector("silent", "socks5", silent.port)
            self.proxied_account("hung", "imap", "tls", "silent")
            t0 = time.time()
            result, err = self.check("hung", ok=False)
            self.assertLess(time.time() - t0, 15)
            detail = self.step(result, "proxy auth")["detail"]
            self.assertIn(f"the proxy 127.0.0.1 port {silent.port} did not answer in", detail)
            r = self.run_cli("fetch", "hung", "--timeout", "2")
            self.assertEqual(r.returncode, 1)
            self.assertIn("did not answer", r.stderr)
        finally:
            silent.stop()


if __name__ == "__main__":
    unittest.main()
