"""The OAuth 2.0 test infrastructure, proved with Python's own clients
before mailroom relies on it: a real authorization server (oidc-provider,
tests/oauth, started by oauth.py) and the suite's Dovecot validating its
bearer tokens by introspection (passdb oauth2).

Tokens minted by the server itself (client credentials, the device flow and
the authorization code flow with the test playing the user, refreshes) are
accepted over IMAP (AUTHENTICATE with SASL-IR, and without) and POP3 (AUTH
with an initial response), XOAUTH2 and OAUTHBEARER, plain, STARTTLS and
implicit TLS; garbage, revoked, expired and other users' tokens are refused,
and what Dovecot answers then (the base64 JSON error challenge, the final
NO / -ERR) is pinned here for the client side to decode."""
import base64
import imaplib
import json
import os
import poplib
import secrets
import ssl
import time
import unittest
import urllib.parse
import urllib.request

from dovecot import POOL_PASSWORD, Dovecot
from oauth import (DEVICE_GRANT, GOOGLE, MICROSOFT_APP, MICROSOFT_IMAP, MICROSOFT_POP, OFFLINE,
                   OAuthError, OAuthServer, oauthbearer, xoauth2)

SHORT_TTL = 2  # seconds: the "short" client's access tokens
LONG_BITS = 3000  # the "long" client's access tokens: 500 characters
SECURITIES = ("none", "starttls", "tls")
MECHANISMS = ("XOAUTH2", "OAUTHBEARER")
IMAP_REFUSED = b"NO [AUTHENTICATIONFAILED] Authentication failed."
POP3_REFUSED = b"-ERR [AUTH] Authentication failed."


def message(subject):
    return (f"From: sender@example.com\r\nTo: inbox@example.com\r\nSubject: {subject}\r\n"
            f"Message-ID: <{secrets.token_hex(8)}@example.com>\r\n\r\nbody\r\n").encode()


class OAuthInfraTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.app_user = "user000"  # the mailbox of the app-only (client credentials) client
        short = {"client_id": "mailroom-short", "client_secret": secrets.token_urlsafe(24),
                 "grant_types": ["client_credentials", DEVICE_GRANT, "refresh_token"],
                 "response_types": [], "redirect_uris": [], "mailbox": cls.app_user,
                 "access_token_ttl": SHORT_TTL}
        long = {"client_id": "mailroom-long", "client_secret": secrets.token_urlsafe(24),
                "grant_types": ["client_credentials"], "response_types": [], "redirect_uris": [],
                "mailbox": cls.app_user, "access_token_bits": LONG_BITS}
        cls.oauth = OAuthServer(mailbox=cls.app_user,
                                clients={"short": short, "long": long}).start()
        cls.addClassCleanup(cls.oauth.stop)
        cls.d = Dovecot(name="oauth", users=12, oauth2=cls.oauth.dovecot_oauth2()).start()
        cls.addClassCleanup(cls.d.stop)
        cls.d.pool.remove(cls.app_user)
        cls.d.deliver(cls.app_user, message("for the app"))
        cls.config_url = cls.oauth.issuer + "/.well-known/openid-configuration"

    # --- clients ------------------------------------------------------------
    def context(self):
        return ssl.create_default_context(cafile=self.d.cert)

    def imap(self, security):
        if security == "tls":
            m = imaplib.IMAP4_SSL("127.0.0.1", self.d.ports["imaps"], ssl_context=self.context(),
                                  timeout=15)
        else:
            m = imaplib.IMAP4("127.0.0.1", self.d.ports["imap"], timeout=15)
            if security == "starttls":
                m.starttls(self.context())
        self.addCleanup(m.shutdown)
        self.assertIn("SASL-IR", m.capabilities)
        self.assertIn("AUTH=XOAUTH2", m.capabilities)
        self.assertIn("AUTH=OAUTHBEARER", m.capabilities)
        return m

    def pop3(self, security):
        if security == "tls":
            p = poplib.POP3_SSL("127.0.0.1", self.d.ports["pop3s"], context=self.context(),
                                timeout=15)
        else:
            p = poplib.POP3("127.0.0.1", self.d.ports["pop3"], timeout=15)
            if security == "starttls":
                p.stls(self.context())
        self.addCleanup(p.close)
        self.assertIn("XOAUTH2", p.capa()["SASL"])
        self.assertIn("OAUTHBEARER", p.capa()["SASL"])
        return p

    def initial_response(self, mech, user, token, port):
        if mech == "XOAUTH2":
            return xoauth2(user, token)
        return oauthbearer(user, token, "127.0.0.1", port)

    @staticmethod
    def ending(mech):
        """What a client sends to end a refused exchange: an empty response
        for XOAUTH2 (Google's and Microsoft's documentation), %x01 for
        OAUTHBEARER (RFC 7628 section 3.2.3); Dovecot takes either for both."""
        return b"" if mech == "XOAUTH2" else base64.b64encode(b"\x01")

    @staticmethod
    def _tagged(m, tag):
        while True:
            line = m.readline()
            if not line:
                raise AssertionError("IMAP server closed the connection")
            if line.startswith(tag + b" ") or line.startswith(b"+"):
                return line.rstrip(b"\r\n")

    def imap_auth(self, m, mech, user, token, port):
        """AUTHENTICATE with SASL-IR (RFC 4959): (tagged reply, the decoded
        JSON challenge or None)."""
        ir = self.initial_response(mech, user, token, port)
        m.send(f"T1 AUTHENTICATE {mech} {ir}\r\n".encode())
        line, challenge = self._tagged(m, b"T1"), None
        if line.startswith(b"+"):
            challenge = json.loads(base64.b64decode(line[2:]))
            m.send(self.ending(mech) + b"\r\n")
            line = self._tagged(m, b"T1")
        return line, challenge

    def imap_exists(self, m):
        m.send(b"T2 SELECT INBOX\r\n")
        exists = None
        while True:
            line = m.readline()
            if line.endswith(b" EXISTS\r\n"):
                exists = int(line.split()[1])
            if line.startswith(b"T2 "):
                self.assertTrue(line.startswith(b"T2 OK"), line)
                return exists

    def pop3_auth(self, p, mech, user, token, port):
        """AUTH with an initial response (RFC 5034): (reply, challenge)."""
        ir = self.initial_response(mech, user, token, port)
        p.sock.sendall(f"AUTH {mech} {ir}\r\n".encode())
        line, challenge = p.file.readline().rstrip(b"\r\n"), None
        if line.startswith(b"+ "):
            challenge = json.loads(base64.b64decode(line[2:]))
            p.sock.sendall(self.ending(mech) + b"\r\n")
            line = p.file.readline().rstrip(b"\r\n")
        return line, challenge

    def assert_accepted(self, user, token, messages, protos=("imap", "pop3"),
                        securities=SECURITIES, mechanisms=MECHANISMS):
        """The token logs in as user everywhere asked, to user's own mailbox."""
        for proto in protos:
            for security in securities:
                for mech in mechanisms:
                    with self.subTest(proto=proto, security=security, mech=mech):
                        if proto == "imap":
                            m = self.imap(security)
                            port = m.port
                            line, challenge = self.imap_auth(m, mech, user, token, port)
                            self.assertIsNone(challenge)
                            self.assertTrue(line.startswith(b"T1 OK"),
                                            f"{line}\n{self.d.log()[-2000:]}")
                            self.assertEqual(self.imap_exists(m), messages)
                        else:
                            p = self.pop3(security)
                            port = self.d.ports["pop3s" if security == "tls" else "pop3"]
                            line, challenge = self.pop3_auth(p, mech, user, token, port)
                            self.assertIsNone(challenge)
                            self.assertEqual(line, b"+OK Logged in.", self.d.log()[-2000:])
                            self.assertEqual(p.stat()[0], messages)

    def assert_refused(self, user, token, why, protos=("imap", "pop3"), mechanisms=MECHANISMS):
        """Refused, with the error challenge Dovecot 2.3 sends before its NO
        or -ERR; and the log says why (`why`: Dovecot's words)."""
        expected = {
            # XOAUTH2: Google's error format (status as an HTTP code, string)
            "XOAUTH2": {"status": "401", "schemes": "bearer", "scope": "mail",
                        "openid-configuration": self.config_url},
            # OAUTHBEARER: RFC 7628 section 3.2.2
            "OAUTHBEARER": {"status": "invalid_token", "openid-configuration": self.config_url},
        }
        for proto in protos:
            for mech in mechanisms:
                with self.subTest(proto=proto, mech=mech, why=why):
                    if proto == "imap":
                        m = self.imap("none")
                        line, challenge = self.imap_auth(m, mech, user, token, m.port)
                        self.assertEqual(line, b"T1 " + IMAP_REFUSED)
                    else:
                        p = self.pop3("none")
                        line, challenge = self.pop3_auth(p, mech, user, token,
                                                         self.d.ports["pop3"])
                        self.assertEqual(line, POP3_REFUSED)
                    self.assertEqual(challenge, expected[mech])
        deadline = time.time() + 5  # the auth process's log line may lag the reply
        while why not in self.d.log() and time.time() < deadline:
            time.sleep(0.05)
        self.assertIn(why, self.d.log())

    # --- the server ---------------------------------------------------------
    def test_discovery(self):
        meta = self.oauth.metadata
        self.assertEqual(meta["issuer"], self.oauth.issuer)
        self.assertTrue(self.oauth.issuer.startswith("http://127.0.0.1:"))
        for endpoint in ("authorization", "token", "device_authorization", "introspection",
                         "revocation"):
            url = getattr(self.oauth, endpoint + "_endpoint")
            self.assertTrue(url.startswith(self.oauth.issuer + "/"), url)
            self.assertEqual(meta[endpoint + "_endpoint"], url)
        for grant in ("authorization_code", "refresh_token", "client_credentials", DEVICE_GRANT):
            self.assertIn(grant, meta["grant_types_supported"])
        self.assertEqual(meta["code_challenge_methods_supported"], ["S256"])

    def test_client_credentials_everywhere(self):
        """Microsoft 365 app-only access: a client credentials token for
        https://outlook.office365.com/.default; the mailbox is the login name."""
        r = self.oauth.client_credentials(scope=MICROSOFT_APP)
        self.assertEqual(r["token_type"], "Bearer")
        self.assertEqual(r["scope"], MICROSOFT_APP)
        self.assertNotIn("refresh_token", r)
        info = self.oauth.introspect(r["access_token"])
        self.assertTrue(info["active"])
        self.assertNotIn("sub", info)  # no user: hence the "username" claim
        self.assertEqual(info["username"], self.app_user)
        self.assertEqual(info["aud"], "https://outlook.office365.com")
        self.assertEqual(info["client_id"], self.oauth.clients["app"]["client_id"])
        self.assertLessEqual(abs(info["exp"] - time.time() - r["expires_in"]), 5)
        self.assert_accepted(self.app_user, r["access_token"], 1)
        # imaplib's own AUTHENTICATE (no SASL-IR: the response after "+ ")
        m = self.imap("none")
        raw = base64.b64decode(xoauth2(self.app_user, r["access_token"]))
        self.assertEqual(m.authenticate("XOAUTH2", lambda _: raw)[0], "OK")
        self.assertEqual(m.select("INBOX"), ("OK", [b"1"]))
        # the client's secret is checked
        self.oauth.clients["wrong-secret"] = {**self.oauth.clients["app"], "client_secret": "wrong"}
        with self.assertRaises(OAuthError) as e:
            self.oauth.client_credentials(client="wrong-secret")
        self.assertEqual((e.exception.status, e.exception.error), (401, "invalid_client"))

    def test_long_tokens(self):
        """A 500-character token: IMAP takes it in the AUTHENTICATE line
        (SASL-IR); POP3's AUTH line holds 255 octets (RFC 2449, RFC 5034), so
        the initial response follows the server's empty "+ " instead."""
        token = self.oauth.client_credentials(client="long")["access_token"]
        self.assertEqual(len(token), 500)
        self.assertTrue(self.oauth.introspect(token)["active"])
        self.assert_accepted(self.app_user, token, 1, protos=("imap",), securities=("tls",))
        for mech in MECHANISMS:
            with self.subTest(mech=mech):
                p = self.pop3("starttls")
                ir = self.initial_response(mech, self.app_user, token, self.d.ports["pop3"])
                self.assertGreater(len(f"AUTH {mech} {ir}\r\n"), 255)
                p.sock.sendall(f"AUTH {mech}\r\n".encode())
                self.assertEqual(p.file.readline(), b"+ \r\n")
                p.sock.sendall(ir.encode() + b"\r\n")
                self.assertEqual(p.file.readline(), b"+OK Logged in.\r\n")
                self.assertEqual(p.stat()[0], 1)

    def test_device_flow_refresh_and_rotation(self):
        """RFC 8628 with the test playing the user at the verification page;
        the refresh token rotates, and a spent one, used again, revokes the
        whole grant (oidc-provider's reuse detection)."""
        user = self.d.take_user()
        self.d.deliver(user, message("one"))
        self.d.deliver(user, message("two"))
        auth = self.oauth.device_authorization(scope=f"{OFFLINE} {MICROSOFT_IMAP} {MICROSOFT_POP}")
        base20 = "[BCDFGHJKLMNPQRSTVWXZ]{4}"  # oidc-provider's charset and mask ****-****
        self.assertRegex(auth["user_code"], f"^{base20}-{base20}$")
        self.assertEqual(auth["verification_uri"], self.oauth.issuer + "/device")
        self.assertIn("expires_in", auth)
        with self.assertRaises(OAuthError) as e:  # before the user has approved
            self.oauth.device_token(auth["device_code"])
        self.assertEqual((e.exception.status, e.exception.error), (400, "authorization_pending"))
        # the user types the code in at verification_uri (not the _complete one)
        page = self.oauth.play_user(auth["verification_uri"], user, user_code=auth["user_code"])
        self.assertIn("Sign-in Success", page)
        tokens = self.oauth.device_token(auth["device_code"])
        self.assertEqual(set(tokens["scope"].split()), {MICROSOFT_IMAP, MICROSOFT_POP})
        self.assertIn("refresh_token", tokens)
        info = self.oauth.introspect(tokens["access_token"])
        self.assertEqual((info["sub"], info["username"]), (user, user))
        self.assertEqual(info["aud"], "https://outlook.office.com")
        self.assert_accepted(user, tokens["access_token"], 2)

        fresh = self.oauth.refresh(tokens["refresh_token"])
        self.assertNotEqual(fresh["refresh_token"], tokens["refresh_token"])
        self.assertNotEqual(fresh["access_token"], tokens["access_token"])
        self.assert_accepted(user, fresh["access_token"], 2, securities=("tls",))
        again = self.oauth.refresh(fresh["refresh_token"])
        self.assert_accepted(user, again["access_token"], 2, protos=("imap",),
                             securities=("none",), mechanisms=("XOAUTH2",))
        # the spent refresh token once more: refused, and the grant is gone
        with self.assertRaises(OAuthError) as e:
            self.oauth.refresh(fresh["refresh_token"])
        self.assertEqual((e.exception.status, e.exception.error), (400, "invalid_grant"))
        with self.assertRaises(OAuthError) as e:
            self.oauth.refresh(again["refresh_token"])
        self.assertEqual(e.exception.error, "invalid_grant")
        self.assertEqual(self.oauth.introspect(again["access_token"]), {"active": False})
        self.assert_refused(user, again["access_token"], "Provided token is not valid",
                            protos=("imap",), mechanisms=("OAUTHBEARER",))

    def test_device_code_used_twice_revokes(self):
        """A device code is good once: polling again after the tokens came
        gets invalid_grant and revokes what the first poll got."""
        user = self.d.take_user()
        auth = self.oauth.device_authorization(client="device", scope=f"{OFFLINE} {GOOGLE}")
        self.oauth.play_user(auth["verification_uri_complete"], user)
        tokens = self.oauth.device_token(auth["device_code"], client="device")
        self.assertTrue(self.oauth.introspect(tokens["access_token"])["active"])
        with self.assertRaises(OAuthError) as e:
            self.oauth.device_token(auth["device_code"], client="device")
        self.assertEqual((e.exception.status, e.exception.error), (400, "invalid_grant"))
        self.assertEqual(self.oauth.introspect(tokens["access_token"]), {"active": False})
        with self.assertRaises(OAuthError) as e:
            self.oauth.refresh(tokens["refresh_token"], client="device")
        self.assertEqual(e.exception.error, "invalid_grant")

    def test_device_flow_pacing_and_expiry(self):
        """device_poll_interval: "interval" in the response, slow_down (and 5 s
        more) for a poll too soon; an unused device code expires."""
        s = OAuthServer(name="pace", device_poll_interval=1, device_code_ttl=2).start()
        self.addCleanup(s.stop)
        auth = s.device_authorization()
        self.assertEqual((auth["interval"], auth["expires_in"]), (1, 2))
        errors = []
        for _ in range(3):
            with self.assertRaises(OAuthError) as e:
                s.device_token(auth["device_code"])
            errors.append((e.exception.error, e.exception.description))
        self.assertEqual(errors[0][0], "authorization_pending")
        self.assertEqual(errors[1:], [("slow_down", "poll at most every 6 s"),
                                      ("slow_down", "poll at most every 11 s")])
        time.sleep(2.5)
        with self.assertRaises(OAuthError) as e:
            s.device_token(auth["device_code"])
        self.assertEqual((e.exception.status, e.exception.error), (400, "expired_token"))
        tokens = s.device_flow(self.d.take_user())  # approved, then the first poll
        self.assertIn("refresh_token", tokens)

    def test_authorization_code_with_pkce(self):
        """The console's flow: login and consent pages, back to the
        redirect URI with code and state, PKCE S256; Google's scope."""
        user = self.d.take_user()
        tokens = self.oauth.authorization_code(user, client="web", scope=f"{OFFLINE} {GOOGLE}")
        self.assertEqual(tokens["scope"], GOOGLE)
        self.assertIn("refresh_token", tokens)  # offline_access without prompt=consent
        self.assertEqual(self.oauth.introspect(tokens["access_token"])["aud"],
                         "https://mail.google.com")
        self.assert_accepted(user, tokens["access_token"], 0, securities=("starttls",))
        # a public client (no secret) the same way; no offline_access, no refresh token
        tokens = self.oauth.authorization_code(user, client="public", scope=MICROSOFT_IMAP)
        self.assertNotIn("refresh_token", tokens)
        self.assert_accepted(user, tokens["access_token"], 0, protos=("imap",),
                             securities=("none",))
        # without PKCE: refused, back at the redirect URI with the error
        query = urllib.parse.urlencode({
            "response_type": "code", "client_id": self.oauth.clients["web"]["client_id"],
            "redirect_uri": "http://127.0.0.1:9/oauth/callback", "scope": GOOGLE,
            "state": "s1"})
        back = self.oauth.play_user(f"{self.oauth.authorization_endpoint}?{query}", user,
                                    stop_at="http://127.0.0.1:9/oauth/callback")
        params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(back).query))
        self.assertEqual((params["error"], params["state"]), ("invalid_request", "s1"))
        self.assertIn("PKCE", params["error_description"])

    # --- refusals -------------------------------------------------------------
    def test_garbage_token_refused(self):
        self.assert_refused(self.app_user, "not-a-token-" + secrets.token_urlsafe(16),
                            "Provided token is not valid")

    def test_password_is_no_token_and_token_no_password(self):
        user = self.d.take_user()
        self.assert_refused(user, POOL_PASSWORD, "Provided token is not valid",
                            protos=("imap",), mechanisms=("XOAUTH2",))
        token = self.oauth.client_credentials()["access_token"]
        m = self.imap("none")
        with self.assertRaises(imaplib.IMAP4.error):
            m.login(self.app_user, token)
        m = self.imap("none")  # and the password still works
        self.assertEqual(m.login(user, POOL_PASSWORD)[0], "OK")

    def test_other_users_token_refused(self):
        """A token is good for its own user only (username_attribute): the
        XOAUTH2 user= must be the token's "username"."""
        user = self.d.take_user()
        token = self.oauth.client_credentials()["access_token"]  # the app's mailbox
        self.assert_refused(user, token, f"Username '{user}' did not match '{self.app_user}'",
                            protos=("imap",))

    def test_revoked_tokens_refused(self):
        user = self.d.take_user()
        token = self.oauth.client_credentials()["access_token"]
        self.assert_accepted(self.app_user, token, 1, protos=("pop3",), securities=("none",),
                             mechanisms=("XOAUTH2",))
        self.oauth.revoke(token, client="app", hint="access_token")
        self.assertEqual(self.oauth.introspect(token), {"active": False})
        self.assert_refused(self.app_user, token, "Provided token is not valid")
        # revoking a refresh token revokes its grant: its access token too
        tokens = self.oauth.device_flow(user, client="device")
        self.assert_accepted(user, tokens["access_token"], 0, protos=("imap",),
                             securities=("none",), mechanisms=("OAUTHBEARER",))
        self.oauth.revoke(tokens["refresh_token"], client="device", hint="refresh_token")
        with self.assertRaises(OAuthError) as e:
            self.oauth.refresh(tokens["refresh_token"], client="device")
        self.assertEqual((e.exception.status, e.exception.error), (400, "invalid_grant"))
        self.assert_refused(user, tokens["access_token"], "Provided token is not valid",
                            protos=("imap",))

    def test_expired_token_refused(self):
        """The "short" client's tokens live SHORT_TTL seconds."""
        r = self.oauth.client_credentials(client="short")
        self.assertEqual(r["expires_in"], SHORT_TTL)
        self.assert_accepted(self.app_user, r["access_token"], 1, protos=("imap",),
                             securities=("none",), mechanisms=("XOAUTH2",))
        user = self.d.take_user()
        tokens = self.oauth.device_flow(user, client="short")
        self.assertEqual(tokens["expires_in"], SHORT_TTL)
        time.sleep(SHORT_TTL + 1)
        self.assertEqual(self.oauth.introspect(r["access_token"]), {"active": False})
        self.assert_refused(self.app_user, r["access_token"], "Provided token is not valid")
        # the refresh token outlives it and mints a working one
        self.assert_refused(user, tokens["access_token"], "Provided token is not valid",
                            protos=("pop3",), mechanisms=("OAUTHBEARER",))
        fresh = self.oauth.refresh(tokens["refresh_token"], client="short")
        self.assert_accepted(user, fresh["access_token"], 0, protos=("pop3",),
                             securities=("none",), mechanisms=("OAUTHBEARER",))

    def test_provider_down_is_a_temporary_failure(self):
        """No introspection possible: a temporary failure, without an error
        challenge, which a client should retry (not "sign in again")."""
        s = OAuthServer(name="down", mailbox="user000").start()
        self.addCleanup(s.stop)
        d = Dovecot(name="oauth-down", users=1, tls=False, oauth2=s.dovecot_oauth2()).start()
        self.addCleanup(d.stop)
        token = s.client_credentials()["access_token"]
        s.stop()
        for mech in MECHANISMS:
            with self.subTest(mech=mech):
                m = imaplib.IMAP4("127.0.0.1", d.ports["imap"], timeout=15)
                self.addCleanup(m.shutdown)
                line, challenge = self.imap_auth(m, mech, "user000", token, m.port)
                self.assertIsNone(challenge)
                self.assertRegex(line,
                                 rb"^T1 NO \[UNAVAILABLE\] Temporary authentication failure\.")
                p = poplib.POP3("127.0.0.1", d.ports["pop3"], timeout=15)
                self.addCleanup(p.close)
                line, challenge = self.pop3_auth(p, mech, "user000", token, d.ports["pop3"])
                self.assertIsNone(challenge)
                self.assertRegex(line, rb"^-ERR \[SYS/TEMP\] Temporary authentication failure\.")
        self.assertIn("Introspection failed: connect(", d.log())

    # --- the fixture itself -------------------------------------------------
    def test_jwt_access_tokens(self):
        """access_token_format="jwt": signed RS256 at+jwt tokens with the same
        claims; not stored, so not introspectable (Dovecot would need
        introspection_mode = local with the server's key)."""
        s = OAuthServer(name="jwt", access_token_format="jwt", mailbox="someone").start()
        self.addCleanup(s.stop)
        token = s.client_credentials()["access_token"]
        header, payload, _ = (json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
                              if i < 2 else p for i, p in enumerate(token.split(".")))
        self.assertEqual((header["alg"], header["typ"]), ("RS256", "at+jwt"))
        self.assertEqual(payload["username"], "someone")
        self.assertEqual(payload["iss"], s.issuer)
        self.assertEqual(payload["aud"], "https://outlook.office365.com")
        self.assertEqual(s.introspect(token), {"active": False})

    def test_start_failure_and_stop(self):
        s = OAuthServer(name="bad", access_token_ttl=0)
        with self.assertRaises(RuntimeError) as e:
            s.start()
        self.assertIn("access_token_ttl must be a positive", str(e.exception))
        s.stop()
        self.assertFalse(os.path.exists(s.dir))
        s = OAuthServer(name="stop").start()
        s.stop()
        self.assertIsNotNone(s.proc.poll())
        self.assertFalse(os.path.exists(s.dir))
        with self.assertRaises(OSError):
            s._open(urllib.request.Request(s.issuer + "/.well-known/openid-configuration"),
                    timeout=2)


if __name__ == "__main__":
    unittest.main()
