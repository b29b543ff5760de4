"""One scan for secrets everywhere mailroom writes or answers.

Distinctive secrets are set on every kind of thing that holds one: the mail
password of a credential used by an account, a wrong password on a second
account (its failure is logged), a token-like password on the credential of
a SOCKS5 connector (a real Dante with username/password), the admin's login
password, an API token and a session. Then everything that shows or writes
anything runs: test connection and fetch through the API and the command
line with --trace, automatic checks by the scheduler, every API route and
method (with the session, the token, and bodies that carry the secrets in
every field), the console's pages, both CSV exports, the audit log, the
daemon's log at debug level (so every level is written) in text and then
JSON, a crash report (SIGSEGV sent to the daemon after it has used the
secrets), and the files in the data directory. No secret, nor its base64 as
AUTH PLAIN/LOGIN would send it, may appear in any of them."""
import base64
import glob
import os
import re
import signal
import subprocess
import sys
import time
import unittest

from helpers import BIN, message, server, stop_servers
from proxies import PROXY_PASSWORD, PROXY_USER, Dante
from receiver import Receiver

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "api"))
from daemon import ADMIN_PASSWORD, Client, Daemon  # noqa: E402

MAIL_PASSWORD = "Okapi-Mail-Secret-5521"
HOOK_KEY = "Numbat-Hook-Key-7713-abcdef"  # a webhook's signing key, as whsec_ base64
HOOK_SECRET = "whsec_" + base64.b64encode(HOOK_KEY.encode()).decode()
WRONG_PASSWORD = "Quokka-Wrong-Secret-8830"
ROUTES_C = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "http",
                        "routes.c")
DANTE = []


def tearDownModule():
    for p in DANTE:
        p.stop()
    stop_servers()


def variants(secret, user):
    """The secret as it could leak: itself, and as SASL would encode it."""
    return {secret, base64.b64encode(secret.encode()).decode(),
            base64.b64encode(f"\0{user}\0{secret}".encode()).decode(),
            base64.b64encode(f"{user}\0{user}\0{secret}".encode()).decode()}


class SecretScanTest(unittest.TestCase):
    def setUp(self):
        self.dovecot = server("main")
        self.user = self.dovecot.add_user("secret-scan", MAIL_PASSWORD)
        time.sleep(1.1)  # Dovecot rereads its passwd file once a second
        if not DANTE:
            DANTE.append(Dante("username").start())
        self.proxy = DANTE[0]
        self.seen = []  # (where, text) of everything shown or written

    def note(self, where, data):
        if isinstance(data, bytes):
            data = data.decode("utf-8", "replace")
        self.seen.append((where, data))

    def call(self, client, method, path, body=None, **kw):
        status, headers, data = client.request(method, path, body, **kw)
        self.note(f"{method} {path} → {status}", "\n".join(f"{k}: {v}" for k, v in
                                                             headers.items()) + "\n" +
                  data.decode("utf-8", "replace"))
        return status, data

    def cli(self, d, *args, stdin=None):
        r = d.cli(*args, stdin=stdin)
        self.note("mailroom " + " ".join(args), r.stdout + r.stderr)
        return r

    def routes(self):
        with open(ROUTES_C) as fh:
            return re.findall(r'\{"(GET|POST|PUT|PATCH|DELETE)", "([^"]+)", mr_api_', fh.read())

    def test_no_secret_anywhere(self):
        for i in range(3):
            self.dovecot.deliver(self.user, message(i, body=b"approve access\r\n" * 20))
        d = Daemon(("--log-level", "debug", "--workers", "2"),
                   {"MAILROOM_TEST_INTERVAL_DIVISOR": "60"})
        try:
            self.exercise(d)
        finally:
            if getattr(self, "rx", None):
                self.rx.stop()
            d.proc.send_signal(signal.SIGSEGV)  # a crash report, after all that
            rc = d.proc.wait(timeout=60)
            d.log.close()
        self.assertNotEqual(rc, 0)
        text = d.output()
        self.assertIn("crashed: signal 11 (SIGSEGV)", text)
        for level in ("debug trace", "info check", "warn check", "info http"):
            self.assertIn(f" {level} ", text, f"a {level} line in the log")
        self.assertIn("<redacted>", text)
        crash_log = os.path.join(d.data, "crash.log")
        self.assertEqual(os.stat(crash_log).st_mode & 0o777, 0o600)
        with open(crash_log) as fh:
            self.note("crash.log", fh.read())
        self.assertIn("backtrace:", self.seen[-1][1])
        self.note("daemon log (text, debug)", text)

        # the same store after the crash, logging JSON: a restart works and
        # its lines are scanned too
        d2 = Daemon(("--log-level", "debug", "--log-format", "json", "--no-scheduler"),
                    reuse=d)
        try:
            c = Client(d2)
            self.assertEqual(c.login()[0], 200)
            accounts = c.json("GET", "/api/v1/accounts")[1]["accounts"]
            for a in accounts:
                self.call(c, "POST", f"/api/v1/accounts/{a['id']}/fetch")
            time.sleep(3)
        finally:
            self.assertEqual(d2.stop(), 0)
        self.assertIn('"level":"debug"', d2.output())
        self.note("daemon log (json, debug)", d2.output())

        for path in glob.glob(os.path.join(d.data, "**"), recursive=True):
            if os.path.isfile(path):
                with open(path, "rb") as fh:
                    self.note(path, fh.read())
        self.assert_no_secret()

    def exercise(self, d):
        r = self.cli(d, "credential", "add", "--name", "mail", "--username", self.user,
                     "--password-stdin", stdin=MAIL_PASSWORD)
        self.assertEqual(r.returncode, 0, r.stderr)
        admin = Client(d)
        status, _ = admin.login(password=ADMIN_PASSWORD)
        self.assertEqual(status, 200)
        # the one place a secret is shown: the new token, once (not noted)
        token = d.cli("token", "create", "--user", "admin").stdout.strip().split()[-1]
        self.secrets = {ADMIN_PASSWORD: "admin", MAIL_PASSWORD: self.user,
                        WRONG_PASSWORD: self.user, PROXY_PASSWORD: PROXY_USER, token: "admin",
                        HOOK_SECRET: "webhook", HOOK_KEY: "webhook"}
        bearer = Client(d, token=token)
        # the objects, through the API
        status, _ = self.call(admin, "POST", "/api/v1/credentials",
                              {"name": "wrong", "username": self.user,
                               "password": WRONG_PASSWORD})
        self.assertEqual(status, 201)
        status, _ = self.call(admin, "POST", "/api/v1/credentials",
                              {"name": "proxy", "username": PROXY_USER,
                               "password": PROXY_PASSWORD})
        self.assertEqual(status, 201)
        status, data = self.call(admin, "POST", "/api/v1/connectors",
                                 {"name": "dante", "type": "socks5", "address": "127.0.0.1",
                                  "port": self.proxy.port, "credential": "proxy"})
        self.assertEqual(status, 201, data)
        base = {"protocol": "imap", "address": "127.0.0.1", "security": "tls",
                "port": self.dovecot.ports["imaps"], "skip_certificate": True,
                "automatic_check": True, "interval": 60}
        status, data = self.call(admin, "POST", "/api/v1/accounts",
                                 dict(base, name="good", credential="mail", keep_copy=False,
                                      use_connector=True, connector="dante"))
        self.assertEqual(status, 201, data)
        status, data = self.call(admin, "POST", "/api/v1/accounts",
                                 dict(base, name="bad", credential="wrong",
                                      protocol="pop3", port=self.dovecot.ports["pop3s"]))
        self.assertEqual(status, 201, data)
        # the good account's mail goes to a signed webhook and to a command
        # that fails: payloads, headers, failed-delivery records, the log
        status, _ = self.call(admin, "POST", "/api/v1/credentials",
                              {"name": "hook", "username": "webhook", "password": HOOK_SECRET})
        self.assertEqual(status, 201)
        self.rx = Receiver(HOOK_SECRET)
        status, data = self.call(admin, "POST", "/api/v1/accounts/1/targets",
                                 {"name": "hook", "kind": "webhook", "url": self.rx.url,
                                  "allow_http": True, "secret_credential": "hook"})
        self.assertEqual(status, 201, data)
        status, data = self.call(admin, "POST", "/api/v1/accounts/1/targets",
                                 {"name": "broken", "kind": "command",
                                  "command": "env; echo failing >&2; exit 3"})
        self.assertEqual(status, 201, data)
        self.call(admin, "POST", "/api/v1/schedules",
                  {"name": "daily", "filters": {"secure": "yes"}, "format": "csv",
                   "recurrence": "daily", "recipients": "ops@example.com"})
        # test connection and fetch, by API and command line, and the scheduler
        for client in (admin, bearer):
            self.call(client, "POST", "/api/v1/accounts/1/test")
            self.call(client, "POST", "/api/v1/accounts/2/test")
            self.call(client, "POST", "/api/v1/connectors/1/test", {"target": "127.0.0.1:"
                      f"{self.dovecot.ports['imaps']}"})
        self.call(admin, "POST", "/api/v1/accounts/test",
                  dict(base, credential="wrong", name="unsaved"))
        for args in (("account", "test", "good", "--trace"), ("account", "test", "bad", "--trace"),
                     ("fetch", "bad", "--trace"), ("connector", "test", "dante")):
            self.cli(d, *args)
        self.call(admin, "POST", "/api/v1/accounts/1/fetch")
        deadline = time.time() + 60
        while self.dovecot.message_count(self.user) and time.time() < deadline:
            time.sleep(0.3)
        self.assertEqual(self.dovecot.message_count(self.user), 0, "the good account fetched")
        events = self.rx.wait(3)
        self.assertTrue(all(e["signed"] for e in events), "signed with the secret")
        for e in events:
            self.note("webhook request", repr(e["headers"]) + e["body"].decode())
        self.call(admin, "POST", "/api/v1/targets/1/test")
        deadline_failed = time.time() + 30
        while time.time() < deadline_failed:
            failed = self.call(admin, "GET", "/api/v1/deliveries?state=failed")[1]
            if __import__("json").loads(failed)["total"] >= 3:
                break
            time.sleep(0.3)
        self.assertIn(b"failing", failed)
        self.cli(d, "delivery", "list", "--failed")
        self.cli(d, "target", "show", "hook")
        self.dovecot.deliver(self.user, message(9))
        # the scheduler checks it every second, and on a loaded machine a
        # check through the proxy can take longer than that: stop its
        # automatic checks so the command line's traced fetch gets a turn
        status, data = self.call(admin, "PATCH", "/api/v1/accounts/1",
                                 {"automatic_check": False})
        self.assertEqual(status, 200, data)
        lock_deadline = time.time() + 60
        while True:
            r = self.cli(d, "fetch", "good", "--trace")
            if "another fetch" not in r.stderr or time.time() > lock_deadline:
                break
            time.sleep(0.2)
        self.assertIn("C: ", r.stderr)
        # (the last scheduled check may have taken message 9 first); and the
        # bad account's failed check is in the log
        while (self.dovecot.message_count(self.user) or " warn check " not in d.output()) \
                and time.time() < deadline:
            time.sleep(0.3)
        # every route: GETs with real IDs; writes with the secrets in every
        # field (nothing may echo them), then the deletes
        messages = self.call(admin, "GET", "/api/v1/messages")[1]
        self.assertIn(b'"total": 4', messages.replace(b'"total":4', b'"total": 4'))
        routes = self.routes()
        self.assertGreater(len(routes), 40)
        every_field = {k: MAIL_PASSWORD for k in (
            "password", "secret", "token", "name", "username", "address", "credential",
            "connector", "filters", "recipients", "target", "csrf_token")}
        for client in (admin, bearer):
            for method, pattern in routes:
                path = "/api/v1/" + pattern.replace("*", "1")
                if method == "GET":
                    self.call(client, method, path)
                elif method in ("POST", "PATCH", "PUT") and "session" not in pattern:
                    self.call(client, method, path, every_field)
        # and the changes a user makes to secrets (audited as "changed")
        for cred, secret in ((1, MAIL_PASSWORD), (2, WRONG_PASSWORD), (3, PROXY_PASSWORD)):
            for method, client in (("PATCH", admin), ("PUT", bearer)):
                status, _ = self.call(client, method, f"/api/v1/credentials/{cred}",
                                      {"password": secret})
                self.assertEqual(status, 200)
        for client in (admin, bearer):
            for path in ("/api/v1/reports/accounts.csv", "/api/v1/audit?format=csv",
                         "/api/v1/audit", "/metrics", "/healthz"):
                self.call(client, "GET", path)
        for path in ("/", "/index.html"):
            status, page = self.call(admin, "GET", path)
            for asset in re.findall(rb'(?:src|href)="(/[^"]+)"', page):
                self.call(admin, "GET", asset.decode())
        self.call(admin, "POST", "/api/v1/session", {"username": "admin",
                                                     "password": WRONG_PASSWORD})
        for method, pattern in routes:
            if method == "DELETE" and "session" not in pattern:
                self.call(admin, method, "/api/v1/" + pattern.replace("*", "2"))
        self.call(admin, "DELETE", "/api/v1/session")
        for args in (("credential", "list", "--format", "json"), ("connector", "list"),
                     ("account", "list", "--format", "json"), ("audit", "list"),
                     ("report", "--format", "csv")):
            self.cli(d, *args)

    def assert_no_secret(self):
        self.assertGreater(len(self.seen), 120)
        for where, text in self.seen:
            for secret, user in self.secrets.items():
                for leak in variants(secret, user):
                    self.assertNotIn(leak, text, f"{secret!r} leaked in {where}")
        print(f"{len(self.seen)} answers, outputs and files scanned, "
              f"{sum(len(t) for _, t in self.seen)} characters: no secret")


if __name__ == "__main__":
    unittest.main()
