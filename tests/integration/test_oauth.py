"""OAuth 2.0 credentials end to end (issue 18): mailroom's own token
requests against a real authorization server (oidc-provider, oauth.py) and
the suite's Dovecot checking the bearer tokens by introspection (passdb
oauth2): app-only access (client credentials), the device flow from the
command line with the test as the user at the provider's pages, an
imported refresh token with rotation, tokens that expire between checks, a
revoked grant, a provider that is down or answers garbage, and one token
request for many accounts on one credential. No token, client secret or
refresh token appears in anything mailroom prints."""
import http.client
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time
import unittest
import urllib.parse

from dovecot import Dovecot
from helpers import BIN, message
from mailroom_cli import CliTestCase
from proxies import Dante, Tinyproxy
from smtpsink import SmtpSink
from oauth import (MICROSOFT_APP, MICROSOFT_IMAP, MICROSOFT_POP, OFFLINE, REDIRECT_URI,
                   OAuthServer)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "api"))
from daemon import Client, Daemon  # noqa: E402

DELEGATED = f"{OFFLINE} {MICROSOFT_IMAP} {MICROSOFT_POP}"
CONSOLE = "http://mailroom.test"  # the daemon's --public-url in OAuthConsoleSignInTest
SHORT_TTL = 3  # seconds: the "short" client's access tokens


def setUpModule():
    global OAUTH, DOVECOT, APP_USER
    APP_USER = "user000"  # the app-only client's mailbox
    short = {"client_id": "mailroom-short", "token_endpoint_auth_method": "none",
             "grant_types": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
             "response_types": [], "redirect_uris": [], "access_token_ttl": SHORT_TTL}
    OAUTH = OAuthServer(name="mailroom", mailbox=APP_USER, device_poll_interval=1,
                        clients={"short": short},
                        redirect_uris=(REDIRECT_URI, CONSOLE + "/oauth/callback")).start()
    DOVECOT = Dovecot(name="oauth-mr", users=16, oauth2=OAUTH.dovecot_oauth2()).start()
    DOVECOT.pool.remove(APP_USER)


def tearDownModule():
    DOVECOT.stop()
    OAUTH.stop()


class Provider(http.server.BaseHTTPRequestHandler):
    """A token endpoint that lies: each path answers one way."""
    answers = {
        "/html": (500, "text/html", b"<html><body>Internal error</body></html>"),
        "/notjson": (200, "application/json", b"{this is not json"),
        "/notoken": (200, "application/json", b'{"token_type":"Bearer","expires_in":3600}'),
        "/badclient": (401, "application/json",
                       b'{"error":"invalid_client","error_description":"no such app\\u001b[31m"}'),
        "/mac": (200, "application/json",
                 b'{"access_token":"abc","token_type":"mac","expires_in":3600}'),
        "/huge": (200, "application/json",
                  b'{"access_token":"abc.def","token_type":"Bearer","expires_in":99999999999}'),
        "/big": (200, "application/json", b'{"x":"' + b"a" * 200000 + b'"}'),
        "/noexpiry": (200, "application/json", b'{"access_token":"abc.def","token_type":"Bearer"}'),
    }

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status, kind, body = self.answers.get(self.path, (404, "text/plain", b"no"))
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class OAuthCredentialTest(CliTestCase):
    def add_oauth(self, name, username, *extra, stdin=None):
        r = self.run_cli("credential", "add", "--name", name, "--username", username, "--kind",
                         "oauth2", "--provider", "other", "--token-url", OAUTH.token_endpoint,
                         *extra, stdin=stdin)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.outputs.append(r.stdout + r.stderr)
        return r

    def setUp(self):
        super().setUp()
        self.outputs = []  # everything mailroom printed, scanned for secrets at the end
        self.secrets = []

    def tearDown(self):
        for text in self.outputs:
            for secret in self.secrets:
                self.assertNotIn(secret, text)
        super().tearDown()

    def cli(self, *args, ok=True, stdin=None):
        r = self.run_cli(*args, stdin=stdin)
        self.outputs.append(r.stdout + r.stderr)
        if ok:
            self.assertEqual(r.returncode, 0, f"mailroom {' '.join(args)}: {r.stderr}")
        return r

    def account(self, name, user, proto="imap", security="tls", credential=None, *extra):
        port = DOVECOT.ports[{"imap": {"none": "imap", "starttls": "imap", "tls": "imaps"},
                              "pop3": {"none": "pop3", "starttls": "pop3",
                                       "tls": "pop3s"}}[proto][security]]
        self.cli("account", "add", "--name", name, "--protocol", proto, "--address", "127.0.0.1",
                 "--port", str(port), "--security", security, "--skip-certificate", "yes",
                 "--credential", credential or name, "--keep-copy", "no", *extra)

    def show(self, credential):
        return self.json("credential", "show", credential)

    def app_credential(self, name="app"):
        app = OAUTH.clients["app"]
        self.secrets.append(app["client_secret"])
        self.add_oauth(name, APP_USER, "--flow", "app", "--client-id", app["client_id"],
                       "--scopes", MICROSOFT_APP, "--client-secret-stdin",
                       stdin=app["client_secret"])

    def test_app_only_access_over_imap_and_pop3(self):
        self.app_credential()
        before = OAUTH.grants("client_credentials", "mailroom-app")
        fetched = 0
        for i, (proto, security) in enumerate((("imap", "tls"), ("imap", "starttls"),
                                               ("imap", "none"), ("pop3", "tls"),
                                               ("pop3", "starttls"), ("pop3", "none"))):
            DOVECOT.deliver(APP_USER, message(i))
            self.account(f"a{i}", APP_USER, proto, security, "app")
            r = self.cli("fetch", f"a{i}", "--trace", "--format", "json")
            run = json.loads(r.stdout)["runs"][0]
            self.assertEqual(run["result"], "ok", r.stderr)
            fetched += run["fetched"]
            self.assertIn("AUTHENTICATE OAUTHBEARER" if proto == "imap" else "AUTH OAUTHBEARER",
                          r.stderr)
            self.assertIn("<redacted>", r.stderr)
            self.assertNotIn("auth=Bearer", r.stderr)
        self.assertEqual(fetched, 6)
        self.assertEqual(DOVECOT.message_count(APP_USER), 0)
        # one token for all six: the stored one is reused while it is fresh
        self.assertEqual(OAUTH.grants("client_credentials", "mailroom-app") - before, 1)
        cred = self.show("app")
        self.assertEqual(cred["kind"], "oauth2")
        self.assertEqual(cred["token"]["state"], "ok")
        self.assertEqual(cred["oauth"]["flow"], "app")
        self.assertNotIn("client_secret", json.dumps(cred))
        # XOAUTH2 named on the account works too
        DOVECOT.deliver(APP_USER, message(9))
        self.account("x", APP_USER, "imap", "tls", "app", "--auth", "XOAUTH2")
        r = self.cli("fetch", "x", "--trace")
        self.assertIn("AUTHENTICATE XOAUTH2", r.stderr)
        # a password mechanism on an oauth2 credential is refused, naming both
        self.account("p", APP_USER, "imap", "tls", "app", "--auth", "PLAIN")
        r = self.cli("fetch", "p", ok=False)
        self.assertIn("PLAIN takes a password", r.stderr)
        # Test connection shows where the token came from, never the token
        r = self.cli("account", "test", "a0", "--format", "json")
        steps = {s["step"]: s for s in json.loads(r.stdout)["steps"]}
        self.assertEqual(steps["token"]["result"], "ok", steps)
        self.assertIn("the stored access token of other (app), good until", steps["token"]["detail"])

    def sign_in(self, credential, login, argv=None):
        """mailroom credential sign-in (or argv), with the test as the user at
        the page it names."""
        argv = argv or ["credential", "sign-in", credential]
        proc = subprocess.Popen([BIN, "--data", self.data, *argv],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=self.env)
        lines = []
        url = None
        deadline = time.time() + 30
        while url is None and time.time() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            lines.append(line)
            m = re.match(r"Or open (\S+)", line)
            url = m.group(1) if m else None
        self.assertIsNotNone(url, "".join(lines))
        self.assertRegex(lines[0], r"^To sign in, open http://127\.0\.0\.1:\d+/\S+ and enter "
                                   r"the code [A-Z0-9-]+ \(within \d+ minutes\)\.")
        OAUTH.play_user(url, login)
        out, err = proc.communicate(timeout=60)
        self.outputs.append("".join(lines) + out + err)
        self.assertEqual(proc.returncode, 0, "".join(lines) + err)
        self.assertIn("signed in", out)

    def test_device_flow_from_the_command_line(self):
        user = DOVECOT.take_user()
        self.add_oauth("me", user, "--client-id", "mailroom-public", "--device-url",
                       OAUTH.device_authorization_endpoint, "--scopes", DELEGATED)
        self.assertEqual(self.show("me")["token"]["state"], "not_signed_in")
        self.account("mine", user, "imap", "tls", "me")
        r = self.cli("fetch", "mine", ok=False)
        self.assertIn("is not signed in yet", r.stderr)
        self.assertIn("credential sign-in me", r.stderr)
        self.sign_in("me", user)
        DOVECOT.deliver(user, message(1))
        self.account("pop", user, "pop3", "starttls", "me")
        for account in ("mine", "pop"):
            r = self.cli("fetch", account, "--format", "json")
            self.assertEqual(json.loads(r.stdout)["runs"][0]["result"], "ok", r.stderr)
        self.assertEqual(DOVECOT.message_count(user), 0)
        cred = self.show("me")
        self.assertEqual(cred["token"]["state"], "ok")
        self.assertIsNotNone(cred["token"]["expires_at"])
        # added and signed in in one command, as --device says
        other = DOVECOT.take_user()
        self.sign_in("me2", other, ["credential", "add", "--name", "me2", "--username", other,
                                    "--kind", "oauth2", "--provider", "other", "--token-url",
                                    OAUTH.token_endpoint, "--client-id", "mailroom-public",
                                    "--device-url", OAUTH.device_authorization_endpoint,
                                    "--scopes", DELEGATED, "--device"])
        self.assertEqual(self.show("me2")["token"]["state"], "ok")

    def test_a_device_code_that_expires(self):
        """Nobody signs in: the code expires, the command says so and saves
        nothing."""
        quick = OAuthServer(name="expiry", device_code_ttl=3, device_poll_interval=1).start()
        try:
            self.add_oauth("late", "someone", "--client-id", "mailroom-public", "--token-url",
                           quick.token_endpoint, "--device-url",
                           quick.device_authorization_endpoint, "--scopes", DELEGATED)
            t0 = time.time()
            r = self.cli("credential", "sign-in", "late", ok=False)
            self.assertEqual(r.returncode, 1)
            self.assertIn("the code expired before the sign-in was done: start again", r.stderr)
            self.assertLess(time.time() - t0, 30)
            self.assertEqual(self.show("late")["token"]["state"], "not_signed_in")
        finally:
            quick.stop()

    def test_imported_refresh_token_rotates_and_is_kept(self):
        user = DOVECOT.take_user()
        tokens = OAUTH.device_flow(user, scope=DELEGATED)
        self.secrets += [tokens["refresh_token"], tokens["access_token"]]
        self.add_oauth("imp", user, "--client-id", "mailroom-public", "--scopes", DELEGATED,
                       "--refresh-token-stdin", stdin=tokens["refresh_token"] + "\n")
        for _ in range(3):  # each refresh rotates: only a saved new token makes the next work
            r = self.cli("credential", "token", "imp", "--refresh")
            self.assertIn("access token new from the provider, good until", r.stdout)
        r = self.cli("credential", "token", "imp")
        self.assertIn("access token stored", r.stdout)
        DOVECOT.deliver(user, message(2))
        self.account("imp", user)
        self.assertEqual(json.loads(self.cli("fetch", "imp", "--format", "json").stdout)
                         ["runs"][0]["fetched"], 1)
        # the refresh token first imported was spent by the first rotation
        r = self.cli("credential", "edit", "imp", "--refresh-token-stdin",
                     stdin=tokens["refresh_token"])
        r = self.cli("credential", "token", "imp", "--refresh", ok=False)
        self.assertIn("invalid_grant", r.stderr)
        self.assertIn("sign in again", r.stderr)
        self.assertEqual(self.show("imp")["token"]["state"], "consent_needed")

    def test_tokens_that_expire_between_checks(self):
        user = DOVECOT.take_user()
        tokens = OAUTH.device_flow(user, client="short", scope=DELEGATED)
        self.secrets.append(tokens["refresh_token"])
        r = self.run_cli("credential", "add", "--name", "short", "--username", user, "--kind",
                         "oauth2", "--provider", "other", "--token-url", OAUTH.token_endpoint,
                         "--client-id", "mailroom-short", "--scopes", DELEGATED,
                         "--refresh-token-env", "RT", env={"RT": tokens["refresh_token"]})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.account("short", user)
        for i in range(3):
            DOVECOT.deliver(user, message(10 + i))
            r = self.cli("fetch", "short", "--format", "json")
            self.assertEqual(json.loads(r.stdout)["runs"][0]["fetched"], 1, r.stderr)
            time.sleep(SHORT_TTL + 1)  # the access token has expired by the next check
        # the tokens live 3 s, less than mailroom's margin: a new one every check
        self.assertGreaterEqual(OAUTH.grants("refresh_token", "mailroom-short"), 3)

    def test_revoked_grant_says_sign_in_again(self):
        user = DOVECOT.take_user()
        tokens = OAUTH.device_flow(user, scope=DELEGATED)
        self.add_oauth("rev", user, "--client-id", "mailroom-public", "--scopes", DELEGATED,
                       "--refresh-token-stdin", stdin=tokens["refresh_token"])
        self.account("rev", user)
        self.cli("fetch", "rev")
        # revoked at the provider: the stored access token is refused by
        # Dovecot, the refresh by the provider
        r = self.cli("credential", "token", "rev", "--refresh")
        OAUTH.revoke(tokens["refresh_token"])
        DOVECOT.deliver(user, message(3))
        r = self.cli("fetch", "rev", ok=False)
        self.assertIn("sign in again", r.stderr)
        self.assertEqual(DOVECOT.message_count(user), 1, "nothing fetched, nothing lost")
        cred = self.show("rev")
        self.assertEqual(cred["token"]["state"], "consent_needed")
        self.assertIn("invalid_grant", cred["token"]["error"])
        r = self.cli("credential", "show", "rev")
        self.assertIn("consent needed: sign in again", r.stdout)
        # and every account on it says so in the report
        accounts = self.json("account", "list")["accounts"]
        self.assertEqual([a["credential_token"]["state"] for a in accounts if a["name"] == "rev"],
                         ["consent_needed"])

    def test_provider_down_or_lying(self):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Provider)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            cases = {
                "down": ("http://127.0.0.1:9/token", "cannot reach http://127.0.0.1:9/token",
                         "provider_unreachable"),
                "html": (base + "/html", "answered HTTP 500 without JSON", "provider_unreachable"),
                "notjson": (base + "/notjson", "answered HTTP 200 without JSON", "refused"),
                "notoken": (base + "/notoken", "has no usable access_token", "provider_unreachable"),
                "badclient": (base + "/badclient", "invalid_client: no such app?[31m",
                              "client_misconfigured"),
                "mac": (base + "/mac", "a token of type 'mac', not Bearer",
                        "provider_unreachable"),
                "big": (base + "/big", "larger than 64 KiB", "provider_unreachable"),
            }
            for name, (url, said, state) in cases.items():
                with self.subTest(name=name):
                    r = self.run_cli("credential", "add", "--name", name, "--username", "u",
                                     "--kind", "oauth2", "--provider", "other", "--flow", "app",
                                     "--token-url", url, "--client-id", "c",
                                     "--client-secret-stdin", stdin="s3cret-value")
                    self.assertEqual(r.returncode, 0, r.stderr)
                    r = self.cli("credential", "token", name, ok=False)
                    self.assertEqual(r.returncode, 1)
                    self.assertIn(said, r.stderr)
                    self.assertNotIn("\x1b", r.stderr)
                    self.assertEqual(self.show(name)["token"]["state"], state)
            # no expires_in: an hour, as providers give
            self.cli("credential", "add", "--name", "noexp", "--username", "u", "--kind",
                     "oauth2", "--provider", "other", "--flow", "app", "--token-url",
                     base + "/noexpiry", "--client-id", "c", "--client-secret-stdin", stdin="s")
            r = self.cli("credential", "token", "noexp", "--format", "json")
            self.assertAlmostEqual(json.loads(r.stdout)["expires_at"], time.time() + 3600, delta=30)
            # an absurd expires_in is capped at a day
            self.cli("credential", "add", "--name", "huge", "--username", "u", "--kind", "oauth2",
                     "--provider", "other", "--flow", "app", "--token-url", base + "/huge",
                     "--client-id", "c", "--client-secret-stdin", stdin="s")
            r = self.cli("credential", "token", "huge", "--format", "json")
            self.assertLessEqual(json.loads(r.stdout)["expires_at"], time.time() + 86400 + 5)
        finally:
            server.shutdown()
            server.server_close()

    def test_many_accounts_on_one_credential_ask_once(self):
        self.app_credential("shared")
        accounts = [f"s{i}" for i in range(12)]
        for name in accounts:
            self.account(name, APP_USER, "imap", "none", "shared")
        before = OAUTH.grants("client_credentials", "mailroom-app")
        # several processes at once, each with accounts on the credential
        procs = [subprocess.Popen([BIN, "--data", self.data, "fetch", *accounts[i::4]],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=self.env) for i in range(4)]
        for p in procs:
            out, err = p.communicate(timeout=120)
            self.outputs.append(out + err)
            self.assertEqual(p.returncode, 0, err)
        self.assertEqual(OAUTH.grants("client_credentials", "mailroom-app") - before, 1)

    def test_scheduled_report_through_a_relay_with_a_token(self):
        """The SMTP relay takes an oauth2 credential: libcurl's OAUTHBEARER or
        XOAUTH2 with the access token, which the sink checks with the real
        authorization server (introspection)."""
        def good(user, token):
            info = OAUTH.introspect(token)
            return info.get("active") is True and info.get("username") == user == APP_USER
        sink = SmtpSink(bearer_check=good)
        try:
            self.app_credential("relay")
            for key, value in (("smtp-host", "127.0.0.1"), ("smtp-port", str(sink.port)),
                               ("smtp-security", "none-insecure"), ("smtp-credential", "relay"),
                               ("smtp-from", "mailroom@example.com")):
                self.cli("settings", "set", key, value)
            self.cli("report", "schedule", "add", "--name", "r", "--recurrence", "daily",
                     "--at", "06:00", "--to", "ops@example.com")
            self.cli("report", "schedule", "run-now", "r")
            self.assertEqual(len(sink.messages), 1, sink.auth_seen)
            self.assertEqual(sink.auth_seen, [("OAUTHBEARER", APP_USER)])
        finally:
            sink.close()

    def test_token_requests_go_through_the_accounts_connector(self):
        """An account behind a network connector reaches the provider through
        it too: SOCKS5 (Dante) and HTTP CONNECT (tinyproxy), their logs show
        the token endpoint's port."""
        port = urllib.parse.urlsplit(OAUTH.token_endpoint).port
        for kind, proxy in (("socks5", Dante()), ("http", Tinyproxy())):
            with self.subTest(kind=kind):
                proxy.start()
                try:
                    self.app_credential(f"via-{kind}")
                    self.cli("connector", "add", "--name", kind, "--type", kind, "--address",
                             "127.0.0.1", "--port", str(proxy.port))
                    DOVECOT.deliver(APP_USER, message(50))
                    self.account(f"via-{kind}", APP_USER, "imap", "tls", f"via-{kind}",
                                 "--use-connector", "yes", "--connector", kind)
                    r = self.cli("fetch", f"via-{kind}", "--format", "json")
                    self.assertEqual(json.loads(r.stdout)["runs"][0]["fetched"], 1, r.stderr)
                    log = proxy.log_text()
                    self.assertIn(f"127.0.0.1.{port}" if kind == "socks5"
                                  else f"CONNECT 127.0.0.1:{port}", log)
                finally:
                    proxy.stop()

    def test_known_lapses_are_said_ahead(self):
        def lapses(provider):
            r = self.run_cli("credential", "add", "--name", provider, "--username", "u@x.test",
                             "--kind", "oauth2", "--provider", provider, "--client-id", "c",
                             "--refresh-token-stdin", stdin="imported-refresh-token")
            self.assertEqual(r.returncode, 0, r.stderr)
            token = self.show(provider)["token"]
            self.assertIsNotNone(token["signed_in_at"])
            return token, self.cli("credential", "show", provider).stdout
        token, text = lapses("google")
        self.assertIn("in testing at Google", token["lapses_why"])
        self.assertIn("Lapses:     soon: sign in again by", text)
        token, text = lapses("microsoft")
        self.assertIn("unused for 90 days", token["lapses_why"])
        self.assertNotIn("soon", text)
        for name, days in (("google", 7), ("microsoft", 90)):
            got = self.show(name)["token"]
            at = time.mktime(time.strptime(got["lapses_at"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
            self.assertAlmostEqual(at, time.time() + days * 86400, delta=120)

    def test_bad_settings_are_refused(self):
        def fails(*args, message):
            r = self.run_cli("credential", "add", "--name", "bad", "--username", "u", "--kind",
                             "oauth2", *args)
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertIn(message, r.stderr)
        fails("--provider", "other", message="client_id: is required")
        fails("--provider", "other", "--client-id", "c", message="token_url: is required")
        fails("--provider", "other", "--client-id", "c", "--token-url",
              "http://login.example.com/token", message="token_url: must be an https:// URL")
        fails("--provider", "microsoft", "--client-id", "c", "--flow", "app",
              message="app access needs your tenant's ID or domain")
        fails("--provider", "google", "--client-id", "c", "--flow", "app",
              message="Google has no client-credentials access")
        fails("--provider", "yahoo", "--client-id", "c", message="expected microsoft, google")
        r = self.run_cli("credential", "add", "--name", "pw", "--username", "u",
                         "--password-stdin", stdin="pw")
        self.assertEqual(r.returncode, 0)
        r = self.run_cli("credential", "edit", "pw", "--client-id", "x")
        self.assertIn("client_id: applies only to oauth2 credentials", r.stderr)
        r = self.run_cli("credential", "edit", "pw", "--kind", "oauth2")
        self.assertIn("kind: cannot change from password", r.stderr)
        # the presets
        self.cli("credential", "add", "--name", "ms", "--username", "u@example.com", "--kind",
                 "oauth2", "--provider", "microsoft", "--client-id", "c", "--tenant",
                 "contoso.onmicrosoft.com")
        o = self.show("ms")["oauth"]
        self.assertEqual(o["token_url"], "https://login.microsoftonline.com/"
                                         "contoso.onmicrosoft.com/oauth2/v2.0/token")
        self.assertIn("https://outlook.office.com/IMAP.AccessAsUser.All", o["scopes"])
        self.assertIn("offline_access", o["scopes"])
        self.cli("credential", "add", "--name", "g", "--username", "u@example.com", "--kind",
                 "oauth2", "--provider", "google", "--client-id", "c")
        o = self.show("g")["oauth"]
        self.assertEqual((o["token_url"], o["scopes"]),
                         ("https://oauth2.googleapis.com/token", "https://mail.google.com/"))


class OAuthDaemonTest(unittest.TestCase):
    """The daemon: an oauth2 credential made over the API, 50 accounts on it
    checked by the scheduler every second with 4 workers (one token request
    for them all), its state and the token check over the API, no secret in
    any answer or in the log."""

    def test_scheduler_and_api(self):
        app = OAUTH.clients["app"]
        d = Daemon(("--workers", "4", "--log-level", "debug"),
                   {"MAILROOM_TEST_INTERVAL_DIVISOR": "60"})
        seen = []
        try:
            c = Client(d)
            self.assertEqual(c.login()[0], 200)
            status, cred = c.json("POST", "/api/v1/credentials", {
                "name": "app", "username": APP_USER, "kind": "oauth2", "provider": "other",
                "flow": "app", "client_id": app["client_id"], "client_secret": app["client_secret"],
                "token_url": OAUTH.token_endpoint, "scopes": MICROSOFT_APP})
            self.assertEqual(status, 201, cred)
            seen.append(json.dumps(cred))
            self.assertEqual(cred["token"]["state"], "not_signed_in")
            self.assertEqual((cred["oauth"]["client_secret_set"],
                              cred["oauth"]["refresh_token_set"]), (True, False))
            before = OAUTH.grants("client_credentials", "mailroom-app")
            for i in range(50):
                status, body = c.json("POST", "/api/v1/accounts", {
                    "name": f"d{i}", "protocol": "imap", "address": "127.0.0.1",
                    "port": DOVECOT.ports["imap"], "security": "none", "credential": "app",
                    "automatic_check": True, "interval": 60, "keep_copy": True})
                self.assertEqual(status, 201, body)
            DOVECOT.deliver(APP_USER, message(77))
            deadline = time.time() + 60
            done = set()
            while len(done) < 50 and time.time() < deadline:
                for a in c.json("GET", "/api/v1/accounts?per_page=100")[1]["accounts"]:
                    if (a.get("last_check") or {}).get("result") == "ok":
                        done.add(a["id"])
                time.sleep(0.5)
            self.assertEqual(len(done), 50, "every account checked")
            self.assertEqual(OAUTH.grants("client_credentials", "mailroom-app") - before, 1)
            status, cred = c.json("GET", f"/api/v1/credentials/{cred['id']}")
            seen.append(json.dumps(cred))
            self.assertEqual(cred["token"]["state"], "ok")
            status, _, metrics = c.request("GET", "/metrics")
            self.assertIn(b'mailroom_oauth_credentials{state="ok"} 1\n', metrics)
            self.assertIn(f'mailroom_oauth_token_expiry_seconds{{credential="{cred["id"]}"}}'
                          .encode(), metrics)
            accounts = c.json("GET", "/api/v1/accounts?per_page=100")[1]["accounts"]
            self.assertEqual({a["credential_token"]["state"] for a in accounts}, {"ok"})
            status, tok = c.json("POST", f"/api/v1/credentials/{cred['id']}/token",
                                 {"refresh": True})
            self.assertEqual((status, tok["source"]), (200, "provider"), tok)
            seen.append(json.dumps(tok))
            # a provider that is down: 502, not a 401 that reads as the session's end
            status, down = c.json("POST", "/api/v1/credentials", {
                "name": "down", "username": "u", "kind": "oauth2", "provider": "other",
                "flow": "app", "client_id": "c", "client_secret": "s",
                "token_url": "http://127.0.0.1:9/token"})
            self.assertEqual(status, 201, down)
            status, body = c.json("POST", f"/api/v1/credentials/{down['id']}/token", {})
            self.assertEqual((status, body["error"]["code"]), (502, "provider_unreachable"), body)
            self.assertEqual(c.json("GET", "/api/v1/accounts")[0], 200, "still logged in")
            # an imported refresh token, used and rotated
            user = DOVECOT.take_user()
            tokens = OAUTH.device_flow(user, scope=DELEGATED)
            status, imp = c.json("POST", "/api/v1/credentials", {
                "name": "imp", "username": user, "kind": "oauth2", "provider": "other",
                "client_id": "mailroom-public", "scopes": DELEGATED,
                "token_url": OAUTH.token_endpoint, "refresh_token": tokens["refresh_token"]})
            self.assertEqual(status, 201, imp)
            self.assertEqual((imp["oauth"]["client_secret_set"],
                              imp["oauth"]["refresh_token_set"]), (False, True))
            status, _ = c.json("POST", f"/api/v1/credentials/{imp['id']}/token", {"refresh": True})
            self.assertEqual(status, 200)
            for path in ("/api/v1/audit", "/api/v1/audit?format=csv", "/api/v1/credentials",
                         "/api/v1/reports/accounts.csv", "/metrics"):
                seen.append(c.request("GET", path)[2].decode("utf-8", "replace"))
            # a bad body names its field
            status, bad = c.json("POST", "/api/v1/credentials", {
                "name": "bad", "username": "u", "kind": "oauth2", "provider": "other",
                "client_id": "c", "token_url": "http://example.com/token"})
            self.assertEqual(status, 400)
            self.assertEqual(bad["error"]["fields"][0]["field"], "token_url")
        finally:
            self.assertEqual(d.stop(), 0)
        seen.append(d.output())
        for root, _, files in os.walk(d.data):  # the store holds them sealed only
            for name in files:
                with open(os.path.join(root, name), "rb") as fh:
                    seen.append(fh.read().decode("latin-1"))
        self.assertGreater(len(seen), 10)
        for text in seen:
            for secret in (app["client_secret"], tokens["refresh_token"], tokens["access_token"]):
                self.assertNotIn(secret, text)
            self.assertNotIn("auth=Bearer", text)
        self.assertIn("<redacted>", d.output())


class OAuthKeptSessionTest(unittest.TestCase):
    """An access token that expires while mailroom is logged in: the daemon
    keeps the IMAP session between checks (accounts checked at least every
    20 minutes), so the check after the token's expiry goes on in the same
    session, logged in once; a fetch in progress is the same (the server
    checks the token at login only). When the session is gone, the next
    login takes a new token."""

    def test_token_expires_inside_a_kept_session(self):
        user = DOVECOT.take_user()
        tokens = OAUTH.device_flow(user, client="short", scope=DELEGATED)
        d = Daemon(("--workers", "2"), {"MAILROOM_TEST_INTERVAL_DIVISOR": "30"})
        try:
            c = Client(d)
            self.assertEqual(c.login()[0], 200)
            status, cred = c.json("POST", "/api/v1/credentials", {
                "name": "short", "username": user, "kind": "oauth2", "provider": "other",
                "client_id": "mailroom-short", "scopes": DELEGATED,
                "token_url": OAUTH.token_endpoint, "refresh_token": tokens["refresh_token"]})
            self.assertEqual(status, 201, cred)
            status, a = c.json("POST", "/api/v1/accounts", {
                "name": "kept", "protocol": "imap", "address": "127.0.0.1",
                "port": DOVECOT.ports["imap"], "security": "none", "credential": "short",
                "automatic_check": True, "interval": 60, "keep_copy": False})
            self.assertEqual(status, 201, a)

            def fetched(i):
                DOVECOT.deliver(user, message(60 + i))
                deadline = time.time() + 30
                while DOVECOT.message_count(user) and time.time() < deadline:
                    time.sleep(0.2)
                self.assertEqual(DOVECOT.message_count(user), 0, d.output()[-2000:])

            logins = f"imap-login: Info: Login: user=<{user}>"
            fetched(0)
            time.sleep(SHORT_TTL + 2)  # the token it logged in with has expired
            fetched(1)
            self.assertEqual(DOVECOT.log().count(logins), 1, "one login, the session kept")
            # the server ends the session: the next login gets a new token
            DOVECOT.doveadm("kick", user)
            time.sleep(1)
            fetched(2)
            self.assertEqual(DOVECOT.log().count(logins), 2)
            self.assertGreaterEqual(OAUTH.grants("refresh_token", "mailroom-short"), 2)
        finally:
            self.assertEqual(d.stop(), 0)


class OAuthWarningTest(unittest.TestCase):
    """The daemon says which sign-ins need a person: consent needed, or a
    lapse within two weeks (a Google sign-in of an app in testing lasts 7
    days), in its log as it starts and every hour."""

    def test_warnings_in_the_log(self):
        d0 = Daemon(("--no-scheduler",))
        try:
            c = Client(d0)
            self.assertEqual(c.login()[0], 200)
            status, g = c.json("POST", "/api/v1/credentials", {
                "name": "gmail", "username": "a@example.com", "kind": "oauth2",
                "provider": "google", "client_id": "c", "refresh_token": "imported-rt"})
            self.assertEqual(status, 201, g)
            status, gone = c.json("POST", "/api/v1/credentials", {
                "name": "gone", "username": "u", "kind": "oauth2", "provider": "other",
                "client_id": "mailroom-public", "token_url": OAUTH.token_endpoint,
                "refresh_token": "not-a-refresh-token-it-knows"})
            self.assertEqual(status, 201, gone)
            status, body = c.json("POST", f"/api/v1/credentials/{gone['id']}/token", {})
            self.assertEqual(status, 502, body)  # invalid_grant: consent needed
        finally:
            self.assertEqual(d0.stop(), 0)
        d = Daemon((), reuse=d0)  # the scheduler on
        try:
            deadline = time.time() + 20
            while d.output().count(" warn oauth ") < 2 and time.time() < deadline:
                time.sleep(0.2)
        finally:
            self.assertEqual(d.stop(), 0)
        lines = [line for line in d.output().splitlines() if " warn oauth " in line]
        self.assertEqual(len(lines), 2, d.output()[-3000:])
        self.assertTrue(any("name=gmail" in line and "lapses_at=" in line and "testing" in line
                            for line in lines), lines)
        self.assertTrue(any("name=gone" in line and "state=consent_needed" in line
                            for line in lines), lines)
        self.assertNotIn("imported-rt", d.output())


class OAuthConsoleSignInTest(unittest.TestCase):
    """What the console's buttons do, over the API: the authorization code
    grant with PKCE (the test plays the browser: the provider's pages, then
    the callback with the cookie the start set) and the device grant waited
    for by the daemon."""

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(("--no-scheduler", "--public-url", CONSOLE + "/"))
        cls.c = Client(cls.d)
        assert cls.c.login()[0] == 200

    @classmethod
    def tearDownClass(cls):
        assert cls.d.stop() == 0

    def credential(self, name, user, client, **extra):
        body = {"name": name, "username": user, "kind": "oauth2", "provider": "other",
                "client_id": OAUTH.clients[client]["client_id"], "scopes": DELEGATED,
                "token_url": OAUTH.token_endpoint, **extra}
        if OAUTH.clients[client].get("client_secret"):
            body["client_secret"] = OAUTH.clients[client]["client_secret"]
        status, cred = self.c.json("POST", "/api/v1/credentials", body)
        self.assertEqual(status, 201, cred)
        return cred

    def callback(self, query, cookie=True):
        """GET /oauth/callback as the browser would after the provider's
        redirect: the Lax cookie set at the start, not the session's."""
        conn = http.client.HTTPConnection("127.0.0.1", self.d.port, timeout=30)
        headers = {}
        nonce = [c for c in self.c.jar if c.name == "mailroom_oauth"]
        if cookie and nonce:
            headers["Cookie"] = f"mailroom_oauth={nonce[0].value}"
        conn.request("GET", "/oauth/callback?" + query, headers=headers)
        r = conn.getresponse()
        r.read()
        conn.close()
        return r.status, r.getheader("Location") or ""

    def test_authorization_code_with_pkce(self):
        user = DOVECOT.take_user()
        cred = self.credential("web", user, "web", authorize_url=OAUTH.authorization_endpoint)
        status, start = self.c.json("POST", f"/api/v1/credentials/{cred['id']}/authorize")
        self.assertEqual(status, 200, start)
        self.assertEqual(start["redirect_uri"], CONSOLE + "/oauth/callback")
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start["url"]).query))
        self.assertEqual((q["code_challenge_method"], q["response_type"], q["login_hint"]),
                         ("S256", "code", user))
        self.assertNotIn("code_verifier", start["url"])
        back = OAUTH.play_user(start["url"], user, stop_at=CONSOLE + "/oauth/callback")
        query = urllib.parse.urlsplit(back).query
        # another browser (no cookie) cannot use it, and that spends it
        status, where = self.callback(query, cookie=False)
        self.assertEqual(status, 302)
        self.assertIn("sign_in_error=", where)
        self.assertIn("not%20started%20from%20this%20browser", where)
        self.assertEqual(self.c.json("GET", f"/api/v1/credentials/{cred['id']}")[1]["token"]
                         ["state"], "not_signed_in")
        # again, properly
        status, start = self.c.json("POST", f"/api/v1/credentials/{cred['id']}/authorize")
        back = OAUTH.play_user(start["url"], user, stop_at=CONSOLE + "/oauth/callback")
        query = urllib.parse.urlsplit(back).query
        status, where = self.callback(query)
        self.assertEqual((status, where), (302, f"/#/credentials/{cred['id']}?signed_in=1"))
        status, where = self.callback(query)  # replayed
        self.assertIn("used%20already", where)
        got = self.c.json("GET", f"/api/v1/credentials/{cred['id']}")[1]
        self.assertEqual(got["token"]["state"], "ok")
        # the account on it fetches
        DOVECOT.deliver(user, message(40))
        status, a = self.c.json("POST", "/api/v1/accounts", {
            "name": "web", "protocol": "imap", "address": "127.0.0.1",
            "port": DOVECOT.ports["imaps"], "security": "tls", "skip_certificate": True,
            "credential": "web", "keep_copy": False})
        self.assertEqual(status, 201, a)
        status, _ = self.c.json("POST", f"/api/v1/accounts/{a['id']}/fetch")
        deadline = time.time() + 30
        while DOVECOT.message_count(user) and time.time() < deadline:
            time.sleep(0.3)
        self.assertEqual(DOVECOT.message_count(user), 0)
        # the provider says no
        status, start = self.c.json("POST", f"/api/v1/credentials/{cred['id']}/authorize")
        state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start["url"]).query))["state"]
        status, where = self.callback(urllib.parse.urlencode(
            {"state": state, "error": "access_denied", "error_description": "the user said no"}))
        self.assertIn("access_denied", urllib.parse.unquote(where))
        self.assertIn("the user said no", urllib.parse.unquote(where))
        # app access needs no sign-in
        app = self.credential("app-only", APP_USER, "app", flow="app")
        status, body = self.c.json("POST", f"/api/v1/credentials/{app['id']}/authorize")
        self.assertEqual(status, 400, body)

    def test_device_grant_waited_for_by_the_daemon(self):
        user = DOVECOT.take_user()
        cred = self.credential("dev", user, "public",
                               device_url=OAUTH.device_authorization_endpoint)
        path = f"/api/v1/credentials/{cred['id']}/device"
        self.assertEqual(self.c.json("GET", path)[1]["status"], "none")
        status, code = self.c.json("POST", path)
        self.assertEqual(status, 200, code)
        self.assertRegex(code["user_code"], r"^[A-Z0-9-]+$")
        self.assertEqual(self.c.json("GET", path)[1]["status"], "pending")
        OAUTH.play_user(code["verification_uri_complete"], user)
        deadline = time.time() + 30
        while self.c.json("GET", path)[1]["status"] == "pending" and time.time() < deadline:
            time.sleep(0.5)
        self.assertEqual(self.c.json("GET", path)[1], {"status": "signed_in",
                                                       "message": "signed in"})
        self.assertEqual(self.c.json("GET", f"/api/v1/credentials/{cred['id']}")[1]["token"]
                         ["state"], "ok")


if __name__ == "__main__":
    unittest.main()
