"""A real OAuth 2.0 authorization server for the tests: oidc-provider from
npm (tests/oauth/server.mjs), started on a free port of 127.0.0.1 with its
clients and token lifetimes in a private temporary directory, everything in
memory. It is stopped by stop(), at the test process's exit, and by the
kernel if the test process dies (parent-death signal).

Besides the endpoints and the clients, it has helpers that speak OAuth with
urllib only: client credentials, refresh, revocation, introspection, the
device authorization grant, and play_user(), which plays the person at the
provider's pages (login, consent, device confirmation) by plain HTTP with a
cookie jar, so a test needs no browser to mint a user's tokens."""
import atexit
import base64
import ctypes
import hashlib
import html.parser
import http.cookiejar
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

SERVER_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "oauth")
READY = "oidc-provider listening on "

# The scopes of the providers mailroom has presets for; the server groups
# them into resource servers (tests/oauth/server.mjs)
MICROSOFT_IMAP = "https://outlook.office.com/IMAP.AccessAsUser.All"
MICROSOFT_POP = "https://outlook.office.com/POP.AccessAsUser.All"
MICROSOFT_SMTP = "https://outlook.office.com/SMTP.Send"
MICROSOFT_APP = "https://outlook.office365.com/.default"  # app-only (client credentials)
GOOGLE = "https://mail.google.com/"
OFFLINE = "offline_access"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
REDIRECT_URI = "http://127.0.0.1:9/oauth/callback"  # never reached: play_user stops there


class OAuthError(Exception):
    """The server refused: status is the HTTP status, error and description
    come from its JSON body (RFC 6749 section 5.2)."""

    def __init__(self, status, body):
        self.status = status
        self.body = body
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = {}
        self.error = parsed.get("error")
        self.description = parsed.get("error_description")
        super().__init__(f"HTTP {status}: {body[:500]}")


def _die_with_parent():
    # PR_SET_PDEATHSIG: the server gets SIGTERM when the test process dies,
    # even by SIGKILL (ctest's timeout), so no server outlives its tests
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


class _Forms(html.parser.HTMLParser):
    """The forms of a page: action, method and the inputs inside each."""

    def __init__(self):
        super().__init__()
        self.forms = []
        self._form = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"action": a.get("action") or "", "id": a.get("id"), "inputs": [],
                          "method": (a.get("method") or "get").lower()}
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None and a.get("name"):
            self._form["inputs"].append((a["name"], a.get("value") or "", a.get("type") or "text"))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


class _Stop(Exception):
    def __init__(self, url):
        super().__init__(url)
        self.url = url


class _StopAt(urllib.request.HTTPRedirectHandler):
    """Follows redirects, except one to `prefix` (the client's redirect URI),
    which ends the walk with that URL."""

    def __init__(self, prefix):
        self.prefix = prefix

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if self.prefix and newurl.startswith(self.prefix):
            raise _Stop(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def pkce_pair():
    """(code_verifier, code_challenge) for PKCE S256 (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


class OAuthServer:
    """access_token_ttl, client_credentials_ttl, refresh_token_ttl,
    device_code_ttl: seconds (a few, to see tokens expire);
    device_poll_interval: seconds, sent as the device flow's "interval" and
    enforced with slow_down (None: oidc-provider's own behaviour, neither);
    access_token_bits: the randomness of an opaque access token, 6 bits a
    character (256: 43 characters; at most 3072: 512, longer than a POP3
    AUTH line can carry); access_token_format:
    "opaque" (introspectable, revocable) or "jwt" (signed RS256, neither).
    mailbox: the user name the client-credentials client's tokens are good
    for at Dovecot (the "username" claim; see tests/oauth/README.md).
    clients: more clients, {name: metadata} (oidc-provider's snake_case
    client metadata, plus "mailbox", "access_token_ttl", "refresh_token_ttl",
    "access_token_bits").
    Each client's metadata, with its secret, is in self.clients[name]."""

    def __init__(self, name="main", access_token_ttl=3600, client_credentials_ttl=None,
                 refresh_token_ttl=14 * 24 * 3600, device_code_ttl=600,
                 device_poll_interval=None, access_token_format="opaque", access_token_bits=256,
                 rotate_refresh_token=True,
                 mailbox="app-mailbox", clients=None, redirect_uris=(REDIRECT_URI,)):
        self.dir = tempfile.mkdtemp(prefix=f"mr-oauth-{name}-", dir="/tmp")
        self.log_path = os.path.join(self.dir, "server.log")
        self.proc = None
        self.issuer = None
        self.settings = {
            "access_token_ttl": access_token_ttl,
            "client_credentials_ttl": client_credentials_ttl or access_token_ttl,
            "refresh_token_ttl": refresh_token_ttl,
            "device_code_ttl": device_code_ttl,
            "access_token_format": access_token_format,
            "access_token_bits": access_token_bits,
            "rotate_refresh_token": rotate_refresh_token,
        }
        if device_poll_interval is not None:
            self.settings["device_poll_interval"] = device_poll_interval

        def secret():
            return secrets.token_urlsafe(24)
        # name -> metadata; client_secret absent for public clients
        self.clients = {
            # app-only access (Microsoft 365 client credentials)
            "app": {"client_id": "mailroom-app", "client_secret": secret(),
                    "grant_types": ["client_credentials"], "response_types": [],
                    "redirect_uris": [], "mailbox": mailbox},
            # the console's sign-in (authorization code + PKCE), a web app with a secret
            "web": {"client_id": "mailroom-web", "client_secret": secret(),
                    "grant_types": ["authorization_code", "refresh_token"],
                    "response_types": ["code"], "redirect_uris": list(redirect_uris)},
            # a public client, as Microsoft's and Google's "desktop" apps:
            # device flow and authorization code, no secret
            "public": {"client_id": "mailroom-public", "token_endpoint_auth_method": "none",
                       "grant_types": [DEVICE_GRANT, "authorization_code", "refresh_token"],
                       "response_types": ["code"], "redirect_uris": list(redirect_uris)},
            # a confidential client with the device flow (Google's "TVs and limited input")
            "device": {"client_id": "mailroom-device", "client_secret": secret(),
                       "grant_types": [DEVICE_GRANT, "refresh_token"], "response_types": [],
                       "redirect_uris": []},
            # Dovecot: a resource server that only introspects
            "dovecot": {"client_id": "dovecot", "client_secret": secret(), "grant_types": [],
                        "response_types": [], "redirect_uris": []},
        }
        for name, metadata in (clients or {}).items():
            self.clients[name] = dict(metadata)

    # --- life cycle -----------------------------------------------------------
    def start(self, timeout=30):
        config = os.path.join(self.dir, "config.json")
        with open(os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as fh:
            json.dump({**self.settings, "clients": list(self.clients.values())}, fh, indent=1)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(["node", "server.mjs", "--config", config, "--port", "0"],
                                         cwd=SERVER_DIR, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        atexit.register(self.stop)
        deadline = time.time() + timeout
        while time.time() < deadline:
            for line in self.log().splitlines():
                if line.startswith(READY):
                    self.issuer = line[len(READY):].strip()
                    self._discover()
                    return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"oidc-provider exited ({self.proc.returncode}):\n{self.log()}")
            time.sleep(0.05)
        self.stop(remove=False)
        raise RuntimeError(f"oidc-provider did not start within {timeout} s:\n{self.log()}")

    def _discover(self):
        meta = self._json(urllib.request.Request(
            self.issuer + "/.well-known/openid-configuration"))
        self.metadata = meta
        self.authorization_endpoint = meta["authorization_endpoint"]
        self.token_endpoint = meta["token_endpoint"]
        self.device_authorization_endpoint = meta["device_authorization_endpoint"]
        self.introspection_endpoint = meta["introspection_endpoint"]
        self.revocation_endpoint = meta["revocation_endpoint"]
        self.port = urllib.parse.urlsplit(self.issuer).port

    def stop(self, remove=True):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if remove:
            shutil.rmtree(self.dir, ignore_errors=True)

    def grants(self, grant_type, client_id):
        """How many tokens the server issued to client_id with grant_type."""
        return self.log().count(f"grant {grant_type} {client_id}\n")

    def log(self):
        try:
            with open(self.log_path, errors="replace") as fh:
                return fh.read()
        except OSError:
            return ""

    # --- what Dovecot needs -------------------------------------------------
    def dovecot_oauth2(self):
        """The settings of Dovecot's dovecot-oauth2.conf.ext for this server:
        RFC 7662 introspection as the client "dovecot" (HTTP Basic from the
        URL's user and password, which oidc-provider takes as
        client_secret_basic), the user name from the "username" claim, the
        token good only while introspection says "active": true. (Dovecot
        2.3's "issuers" applies to locally validated JWTs only; no auth
        cache, so a revoked token is refused at once.)"""
        d = self.clients["dovecot"]
        split = urllib.parse.urlsplit(self.introspection_endpoint)
        auth = f"{urllib.parse.quote(d['client_id'], safe='')}:" \
               f"{urllib.parse.quote(d['client_secret'], safe='')}"
        return {
            "introspection_mode": "post",
            "introspection_url": split._replace(netloc=f"{auth}@{split.netloc}").geturl(),
            "force_introspection": "yes",
            "username_attribute": "username",
            "active_attribute": "active",
            "active_value": "true",
            "openid_configuration_url": self.issuer + "/.well-known/openid-configuration",
            "timeout_msecs": "10000",
        }

    # --- HTTP ---------------------------------------------------------------
    @staticmethod
    def _open(req, timeout=15):
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.read()
        except urllib.error.HTTPError as e:
            raise OAuthError(e.code, e.read().decode("utf-8", "replace")) from None

    def _json(self, req):
        return json.loads(self._open(req))

    def _request(self, url, fields, client):
        """A form POST authenticated as the client: HTTP Basic with the secret
        (client_secret_basic, each part form-encoded), or client_id in the
        body for a public client."""
        c = self.clients[client]
        fields = {k: v for k, v in fields.items() if v is not None}
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "Accept": "application/json"}
        if c.get("client_secret"):
            pair = (urllib.parse.quote_plus(c["client_id"]) + ":" +
                    urllib.parse.quote_plus(c["client_secret"]))
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            fields["client_id"] = c["client_id"]
        return urllib.request.Request(url, data=urllib.parse.urlencode(fields).encode(),
                                      headers=headers)

    def _post(self, url, fields, client):
        return self._json(self._request(url, fields, client))

    # --- grants ---------------------------------------------------------------
    def client_credentials(self, client="app", scope=MICROSOFT_APP):
        """The token response of a client credentials grant."""
        return self._post(self.token_endpoint,
                          {"grant_type": "client_credentials", "scope": scope}, client)

    def refresh(self, refresh_token, client="public", scope=None):
        """The token response of a refresh (with rotation: a new refresh_token;
        the old one is spent, and using it again revokes the whole grant)."""
        return self._post(self.token_endpoint, {"grant_type": "refresh_token",
                                                "refresh_token": refresh_token,
                                                "scope": scope}, client)

    def revoke(self, token, client="public", hint=None):
        """RFC 7009; revoking a refresh token also revokes its grant's tokens."""
        self._open(self._request(self.revocation_endpoint,
                                 {"token": token, "token_type_hint": hint}, client))

    def introspect(self, token):
        """What Dovecot sees for the token (RFC 7662)."""
        return self._post(self.introspection_endpoint, {"token": token}, "dovecot")

    def device_authorization(self, client="public", scope=f"{OFFLINE} {MICROSOFT_IMAP}"):
        """The device authorization response (RFC 8628 section 3.2):
        device_code, user_code, verification_uri(_complete), expires_in."""
        return self._post(self.device_authorization_endpoint, {"scope": scope}, client)

    def device_token(self, device_code, client="public"):
        """One poll of the token endpoint; OAuthError with error
        authorization_pending until the user has approved."""
        return self._post(self.token_endpoint, {"grant_type": DEVICE_GRANT,
                                                "device_code": device_code}, client)

    def device_flow(self, login, client="public", scope=f"{OFFLINE} {MICROSOFT_IMAP}",
                    timeout=30):
        """The whole device flow with the test as the user: the token response.
        Polls as RFC 8628 says (interval, 5 s more on slow_down), but first
        right after the user's approval."""
        auth = self.device_authorization(client, scope)
        self.play_user(auth["verification_uri_complete"], login)
        interval = auth.get("interval", 5)
        deadline = time.time() + timeout
        while True:
            try:
                return self.device_token(auth["device_code"], client)
            except OAuthError as e:
                if e.error == "slow_down":
                    interval += 5
                if e.error not in ("authorization_pending", "slow_down") or \
                        time.time() + interval > deadline:
                    raise
            time.sleep(interval)

    def authorization_code(self, login, client="public", scope=f"{OFFLINE} {MICROSOFT_IMAP}",
                           redirect_uri=REDIRECT_URI):
        """The authorization code flow with PKCE, the test as the user at the
        login and consent pages: the token response."""
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(16)
        query = urllib.parse.urlencode({
            "response_type": "code", "client_id": self.clients[client]["client_id"],
            "redirect_uri": redirect_uri, "scope": scope, "state": state,
            "code_challenge": challenge, "code_challenge_method": "S256"})
        back = self.play_user(f"{self.authorization_endpoint}?{query}", login,
                              stop_at=redirect_uri)
        params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(back).query))
        if params.get("state") != state or "code" not in params:
            raise RuntimeError(f"authorization failed: {back}")
        return self._post(self.token_endpoint, {
            "grant_type": "authorization_code", "code": params["code"],
            "redirect_uri": redirect_uri, "code_verifier": verifier}, client)

    # --- the user at the provider's pages ----------------------------------
    def play_user(self, url, login, password="any-password", user_code=None, stop_at=None,
                  steps=12, timeout=30):
        """Opens url with a fresh cookie jar and submits each page's form as
        a person would: the user code (when asked), the login name and a
        password (devInteractions takes any; the account is the login name),
        consent, the device confirmation. Returns the URL of a redirect to
        stop_at (the client's redirect URI: the code and state are in it),
        or, when a page has no form left (the device flow's "Sign-in
        Success"), that page's text."""
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar),
                                             _StopAt(stop_at))
        deadline = time.time() + timeout
        req = urllib.request.Request(url)
        for _ in range(steps):
            try:
                with opener.open(req, timeout=max(1, deadline - time.time())) as r:
                    page, at = r.read().decode("utf-8", "replace"), r.geturl()
            except _Stop as s:
                return s.url
            except urllib.error.HTTPError as e:
                raise OAuthError(e.code, e.read().decode("utf-8", "replace")) from None
            forms = _Forms()
            forms.feed(page)
            posts = [f for f in forms.forms if f["method"] == "post"]
            if not posts:
                return page
            form = posts[0]
            fields = []
            for name, value, kind in form["inputs"]:
                if name == "login":
                    value = login
                elif name == "password":
                    value = password
                elif name == "user_code" and not value:
                    value = user_code or ""
                fields.append((name, value))
            req = urllib.request.Request(urllib.parse.urljoin(at, form["action"]),
                                         data=urllib.parse.urlencode(fields).encode())
        raise RuntimeError(f"play_user: still on a form after {steps} pages:\n{page[-2000:]}")


def xoauth2(user, token):
    """The XOAUTH2 initial response (Google's and Microsoft's SASL), base64."""
    raw = f"user={user}\x01auth=Bearer {token}\x01\x01"
    return base64.b64encode(raw.encode()).decode()


def oauthbearer(user, token, host="127.0.0.1", port=143):
    """The OAUTHBEARER initial response (RFC 7628 section 3.1), base64."""
    raw = f"n,a={user},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01"
    return base64.b64encode(raw.encode()).decode()


if __name__ == "__main__":
    s = OAuthServer().start()
    print(s.issuer, json.dumps(s.client_credentials(), indent=1))
    tokens = s.device_flow("alice")
    print(json.dumps(tokens, indent=1), json.dumps(s.introspect(tokens["access_token"]), indent=1))
    s.stop()
