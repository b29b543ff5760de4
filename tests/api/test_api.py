"""The JSON API over real HTTP: every route's access rules, validation,
CRUD of accounts, credentials, connectors and settings, the report CSV,
sessions, CSRF, rate limiting, API tokens and a viewer's limits."""
import base64
import csv
import io
import json
import os
import re
import time
import socket
import sys
import subprocess
import tempfile
import unittest

from daemon import ADMIN_PASSWORD, BIN, Client, Daemon

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from fakeserver import FakeServer  # noqa: E402

# (method, path, is_write) for every route; 1 stands for an existing ID
ROUTES = [
    ("GET", "/api/v1/session", False), ("DELETE", "/api/v1/session", True),
    ("GET", "/api/v1/dashboard", False),
    ("GET", "/api/v1/accounts", False), ("POST", "/api/v1/accounts", True),
    ("POST", "/api/v1/accounts/test", True), ("GET", "/api/v1/accounts/1", False),
    ("POST", "/api/v1/accounts/discover", True),
    ("PATCH", "/api/v1/accounts/1", True), ("PUT", "/api/v1/accounts/1", True),
    ("DELETE", "/api/v1/accounts/1", True), ("POST", "/api/v1/accounts/1/test", True),
    ("POST", "/api/v1/accounts/1/fetch", True), ("GET", "/api/v1/accounts/1/history", False),
    ("GET", "/api/v1/accounts/1/messages", False),
    ("GET", "/api/v1/credentials", False), ("POST", "/api/v1/credentials", True),
    ("GET", "/api/v1/credentials/1", False), ("PATCH", "/api/v1/credentials/1", True),
    ("PUT", "/api/v1/credentials/1", True), ("DELETE", "/api/v1/credentials/1", True),
    ("POST", "/api/v1/credentials/1/token", True),
    ("POST", "/api/v1/credentials/1/authorize", True),
    ("POST", "/api/v1/credentials/1/device", True), ("GET", "/api/v1/credentials/1/device", False),
    ("GET", "/api/v1/connectors", False), ("POST", "/api/v1/connectors", True),
    ("GET", "/api/v1/connectors/1", False), ("PATCH", "/api/v1/connectors/1", True),
    ("PUT", "/api/v1/connectors/1", True), ("DELETE", "/api/v1/connectors/1", True),
    ("POST", "/api/v1/connectors/1/test", True),
    ("GET", "/api/v1/settings", False), ("PATCH", "/api/v1/settings", True),
    ("PUT", "/api/v1/settings", True), ("GET", "/api/v1/messages", False),
    ("GET", "/api/v1/skipped", False),
    ("GET", "/api/v1/messages/1", False), ("GET", "/api/v1/messages/1/raw", False),
    ("GET", "/api/v1/messages/1/attachments/1", False),
    ("GET", "/api/v1/reports/accounts.csv", False), ("GET", "/api/v1/users", False),
    ("POST", "/api/v1/users", True), ("PATCH", "/api/v1/users/1", True),
    ("DELETE", "/api/v1/users/1", True), ("POST", "/api/v1/users/1/password", True),
    ("GET", "/api/v1/audit", False),
    ("GET", "/api/v1/tokens", False), ("POST", "/api/v1/tokens", True),
    ("DELETE", "/api/v1/tokens/1", True),
    ("GET", "/api/v1/schedules", False), ("POST", "/api/v1/schedules", True),
    ("GET", "/api/v1/schedules/1", False), ("PATCH", "/api/v1/schedules/1", True),
    ("DELETE", "/api/v1/schedules/1", True), ("POST", "/api/v1/schedules/1/run", True),
    ("GET", "/api/v1/accounts/1/targets", False), ("POST", "/api/v1/accounts/1/targets", True),
    ("GET", "/api/v1/targets", False), ("POST", "/api/v1/targets", True),
    ("GET", "/api/v1/targets/1", False), ("PATCH", "/api/v1/targets/1", True),
    ("PUT", "/api/v1/targets/1", True), ("DELETE", "/api/v1/targets/1", True),
    ("POST", "/api/v1/targets/1/test", True),
    ("GET", "/api/v1/deliveries", False), ("POST", "/api/v1/deliveries/replay", True),
    ("GET", "/api/v1/deliveries/1", False), ("POST", "/api/v1/deliveries/1/replay", True),
    ("GET", "/api/v1/events", False),
]
STREAMS = ("/api/v1/events",)  # never end: read by test_events.py
SECRET = "Marmoset-Secret-Pw-99"
TARGET_PASSWORD = "target-password-1"


class ApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon()

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        if rc != 0:
            print(cls.d.output())
        assert rc == 0, f"the daemon exited {rc} on SIGTERM"

    def setUp(self):
        self.admin = Client(self.d)
        self.assertEqual(self.admin.login()[0], 200)

    def create(self, path, body, expect=201):
        status, data = self.admin.json("POST", path, body)
        self.assertEqual(status, expect, data)
        return data

    def ensure_fixtures(self):
        """Objects with ID 1 for the route checks."""
        s, creds = self.admin.json("GET", "/api/v1/credentials")
        if not any(c["name"] == "fixture" for c in creds["credentials"]):
            self.create("/api/v1/credentials", {"name": "fixture", "username": "u",
                                                "password": SECRET})

    # --- access ------------------------------------------------------------------
    def test_every_route_needs_a_login(self):
        anon = Client(self.d)
        for method, path, _ in ROUTES:
            status, _, body = anon.request(method, path, body={} if method != "GET" else None)
            self.assertEqual(status, 401, f"{method} {path}")
            self.assertEqual(json.loads(body)["error"]["code"], "unauthorized")

    def test_viewer_reads_but_never_writes(self):
        self.ensure_fixtures()
        self.d.cli("user", "add", "--name", "vera", "--role", "viewer", "--password-stdin",
                   stdin="viewer-password-1")
        viewer = Client(self.d)
        self.assertEqual(viewer.login("vera", "viewer-password-1")[0], 200)
        for method, path, write in ROUTES:
            if path == "/api/v1/session" or path in STREAMS:
                continue
            status, _, _ = viewer.request(method, path, body={} if write else None)
            if write or path in ("/api/v1/users", "/api/v1/audit", "/api/v1/tokens"):
                self.assertEqual(status, 403, f"{method} {path}")
            else:
                self.assertNotIn(status, (401, 403), f"{method} {path}")

    def test_writes_need_the_csrf_token(self):
        for method, path, write in ROUTES:
            if not write:
                continue
            status, _, body = self.admin.request(method, path, body={}, csrf=False)
            self.assertEqual(status, 403, f"{method} {path}")
            self.assertEqual(json.loads(body)["error"]["code"], "csrf")
            status, _, _ = self.admin.request(method, path, body={}, csrf=False,
                                              headers={"X-CSRF-Token": "0" * 64})
            self.assertEqual(status, 403)
        # compared whole (in constant time): a prefix, an extension, nothing
        for near in (self.admin.csrf[:-1], self.admin.csrf + "0", ""):
            status, _, _ = self.admin.request("POST", "/api/v1/connectors", body={},
                                              csrf=False, headers={"X-CSRF-Token": near})
            self.assertEqual(status, 403, near)

    def test_foreign_origin_is_refused(self):
        status, body = self.admin.json("POST", "/api/v1/credentials",
                                       {"name": "o", "username": "u", "password": SECRET},
                                       headers={"Origin": "http://evil.example"})
        self.assertEqual(status, 403)
        status, _ = self.admin.json("POST", "/api/v1/credentials",
                                    {"name": "same-origin", "username": "u", "password": SECRET},
                                    headers={"Origin": self.d.base})
        self.assertEqual(status, 201)

    def test_api_token(self):
        out = self.d.cli("token", "create", "--user", "admin")
        token = out.stdout.strip()
        self.assertEqual(len(token), 64)
        bot = Client(self.d, token=token)
        status, body = bot.json("GET", "/api/v1/session")
        self.assertEqual((status, body["user"]["name"]), (200, "admin"))
        # no CSRF needed with a bearer token, and no cookie is set
        status, _ = bot.json("POST", "/api/v1/connectors",
                             {"name": "by-token", "type": "http", "address": "p.example",
                              "port": 3128})
        self.assertEqual(status, 201)
        self.assertEqual(Client(self.d, token="f" * 64).json("GET", "/api/v1/accounts")[0], 401)

    def test_security_headers(self):
        for path in ("/api/v1/accounts", "/api/v1/nothing", "/"):
            status, headers, _ = self.admin.request("GET", path)
            csp = headers.get("Content-Security-Policy", "")
            self.assertIn("frame-ancestors 'none'", csp)
            self.assertNotIn("unsafe-inline", csp)
            self.assertEqual(headers.get("X-Content-Type-Options"), "nosniff")
            self.assertEqual(headers.get("Referrer-Policy"), "no-referrer")

    # --- sessions ------------------------------------------------------------------
    def test_login_logout_and_cookie(self):
        c = Client(self.d)
        status, _, body = c.request("POST", "/api/v1/session",
                                    body={"username": "admin", "password": ADMIN_PASSWORD})
        self.assertEqual(status, 200)
        cookie = [k for k in c.jar][0]
        self.assertEqual(cookie.name, "mailroom_session")
        self.assertTrue(cookie.has_nonstandard_attr("HttpOnly"))
        self.assertEqual(cookie.get_nonstandard_attr("SameSite"), "Strict")
        c.csrf = json.loads(body)["csrf_token"]
        self.assertEqual(c.json("GET", "/api/v1/accounts")[0], 200)
        stolen = cookie.value
        self.assertEqual(c.json("DELETE", "/api/v1/session")[0], 200)
        replay = Client(self.d)
        status, _ = replay.json("GET", "/api/v1/accounts",
                                headers={"Cookie": f"mailroom_session={stolen}"})
        self.assertEqual(status, 401)  # the session is gone on the server, not just the cookie

    def test_session_fixation_and_idle_expiry(self):
        d = Daemon(env={"MAILROOM_TEST_SESSION_IDLE_SECS": "2"})
        try:
            # a login that arrives with a cookie an attacker planted gets a
            # new token from the server; the planted one never works
            planted = "fixed-by-an-attacker-0123456789abcdef"
            attacker = Client(d)
            status, headers, _ = attacker.request(
                "POST", "/api/v1/session", {"username": "admin", "password": ADMIN_PASSWORD},
                headers={"Cookie": f"mailroom_session={planted}"})
            self.assertEqual(status, 200)
            issued = re.search(r"mailroom_session=([^;]+)", headers["Set-Cookie"]).group(1)
            self.assertNotEqual(issued, planted)
            status, _, _ = Client(d).request("GET", "/api/v1/session",
                                             headers={"Cookie": f"mailroom_session={planted}"})
            self.assertEqual(status, 401)
            c = Client(d)
            self.assertEqual(c.login()[0], 200)
            for _ in range(4):  # activity keeps it alive past the idle time
                time.sleep(1)
                self.assertEqual(c.json("GET", "/api/v1/session")[0], 200)
            time.sleep(3.5)  # idle longer than 2 s: gone on the server
            self.assertEqual(c.json("GET", "/api/v1/session")[0], 401)
            status, _, _ = Client(d).request("GET", "/api/v1/session",
                                             headers={"Cookie": f"mailroom_session={issued}"})
            self.assertEqual(status, 401)
        finally:
            d.stop()

    def test_session_absolute_lifetime(self):
        """A session ends its lifetime after login however active it is
        (12 h by default; MAILROOM_TEST_SESSION_MAX_SECS=3 here): a stolen
        cookie kept busy does not last for ever."""
        d = Daemon(env={"MAILROOM_TEST_SESSION_MAX_SECS": "3"})
        try:
            c = Client(d)
            self.assertEqual(c.login()[0], 200)
            t0 = time.time()
            while time.time() - t0 < 2.0:  # active, well within the idle time
                self.assertEqual(c.json("GET", "/api/v1/session")[0], 200)
                time.sleep(0.5)
            time.sleep(max(0.0, 3.5 - (time.time() - t0)))
            self.assertEqual(c.json("GET", "/api/v1/session")[0], 401)
            self.assertEqual(c.login()[0], 200)  # a new login starts a new lifetime
            self.assertEqual(c.json("GET", "/api/v1/session")[0], 200)
        finally:
            self.assertEqual(d.stop(), 0, d.output())

    def test_open_data_directory_is_warned_about(self):
        """serve starting on a data directory that its group or others may
        read, write or search says so on stderr (it goes on: the operator
        may mean it); a private one gets no warning."""
        import os
        d = Daemon()
        d.stop()
        os.chmod(d.data, 0o755)
        d = Daemon(reuse=d)
        try:
            self.assertEqual(Client(d).login()[0], 200)
            line = [x for x in d.output().splitlines() if "data directory" in x and "warn" in x]
            self.assertEqual(len(line), 1, d.output())
            self.assertIn("0755", line[0])
            self.assertIn(d.data, line[0])
        finally:
            self.assertEqual(d.stop(), 0, d.output())
        os.chmod(d.data, 0o700)
        before = len(d.output())
        d = Daemon(reuse=d)
        try:
            self.assertEqual(Client(d).login()[0], 200)
            self.assertNotIn("data directory", d.output()[before:])
        finally:
            self.assertEqual(d.stop(), 0, d.output())

    def test_admin_password_leaves_the_environment(self):
        """serve unsets MAILROOM_ADMIN_PASSWORD once it has read it, so no
        later getenv and no child process sees it. /proc/PID/environ still
        shows it: that is the block the process started with, which
        unsetenv does not rewrite (docs/reliability.md says so). gdb reads
        the live environ array (without calling into the daemon, which
        would allocate there)."""
        import shutil
        import subprocess
        import tempfile
        gdb = shutil.which("gdb")
        if not gdb:
            self.skipTest("gdb is needed to read the daemon's live environment")
        d = Daemon()
        try:
            with tempfile.NamedTemporaryFile("w", suffix=".gdb") as script:
                script.write("set $i = 0\n"
                             "while ((char **)environ)[$i] != 0\n"
                             "  printf \"env: %s\\n\", ((char **)environ)[$i]\n"
                             "  set $i = $i + 1\n"
                             "end\n")
                script.flush()
                out = subprocess.run([gdb, "-p", str(d.proc.pid), "-batch", "-x", script.name],
                                     capture_output=True, text=True, timeout=120).stdout
            live = re.findall(r"^env: (.*)$", out, re.M)
            if not any(v.startswith("PATH=") for v in live):
                self.skipTest("gdb could not read the daemon's environment:\n" + out[-500:])
            self.assertEqual([v for v in live if v.startswith("MAILROOM_ADMIN_PASSWORD=")], [])
            with open(f"/proc/{d.proc.pid}/environ", "rb") as fh:
                self.assertIn(ADMIN_PASSWORD.encode(), fh.read())  # the honest limit
            self.assertEqual(Client(d).login()[0], 200)  # the admin it made still logs in
        finally:
            self.assertEqual(d.stop(), 0, d.output())

    # --- bad requests --------------------------------------------------------------
    def test_bad_bodies(self):
        for raw, code in ((b"{not json", "bad_json"), (b"[1, 2]", "bad_json"),
                          (b'{"a": 1, "a": 2}', "bad_json")):
            status, _, body = self.admin.request("POST", "/api/v1/accounts", raw=raw)
            self.assertEqual((status, json.loads(body)["error"]["code"]), (400, code))
        status, _, _ = self.admin.request("POST", "/api/v1/accounts", raw=b"x" * (2 << 20))
        self.assertEqual(status, 413)
        status, body = self.admin.json("POST", "/api/v1/accounts", {"name": "x", "colour": "red"})
        self.assertEqual(status, 400)
        self.assertEqual(body["error"]["field"], "colour")
        status, body = self.admin.json("POST", "/api/v1/accounts", {"name": ["a"]})
        self.assertEqual((status, body["error"]["field"]), (400, "name"))
        self.assertEqual(self.admin.json("GET", "/api/v1/accounts/99999")[0], 404)
        self.assertEqual(self.admin.json("GET", "/api/v1/accounts/abc")[0], 404)
        self.assertEqual(self.admin.json("GET", "/api/v1/nothing/here")[0], 404)
        self.assertEqual(self.admin.json("POST", "/api/v1/reports/accounts.csv", {})[0], 405)
        self.assertEqual(self.admin.json("GET", "/api/v1/accounts?page=0")[0], 400)
        self.assertEqual(self.admin.json("GET", "/api/v1/accounts?secure=maybe")[0], 400)

    def test_client_that_disconnects_mid_request(self):
        s = socket.create_connection(("127.0.0.1", self.d.port))
        s.sendall(b"POST /api/v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
        s.close()
        self.assertEqual(self.admin.json("GET", "/api/v1/accounts")[0], 200)

    # --- resources -------------------------------------------------------------------
    def test_account_lifecycle(self):
        self.create("/api/v1/credentials", {"name": "acc-login", "username": "u",
                                            "password": SECRET})
        status, body = self.admin.json("POST", "/api/v1/accounts",
                                       {"name": "12", "protocol": "smtp", "address": "bad host",
                                        "port": 0, "credential": "nope"})
        self.assertEqual(status, 400)
        fields = {f["field"] for f in body["error"]["fields"]}
        self.assertEqual(fields, {"name", "protocol", "address", "port", "credential"})
        a = self.create("/api/v1/accounts", {"name": "Helpdesk", "protocol": "pop3",
                                             "address": "pop.example.com",
                                             "credential": "acc-login", "keep_copy": False,
                                             "security": "starttls"})
        self.assertEqual((a["port"], a["keep_copy"], a["folder"]), (110, False, None))
        status, body = self.admin.json("POST", "/api/v1/accounts",
                                       {"name": "helpdesk", "protocol": "imap",
                                        "address": "h.example", "credential": "acc-login"})
        self.assertEqual((status, body["error"]["code"]), (409, "exists"))
        status, b = self.admin.json("PATCH", f"/api/v1/accounts/{a['id']}",
                                    {"port": 1110, "enabled": False})
        self.assertEqual((status, b["port"], b["enabled"]), (200, 1110, False))
        status, b = self.admin.json("PATCH", f"/api/v1/accounts/{a['id']}", {"port": None})
        self.assertEqual(b["port"], 110)
        self.assertEqual(self.admin.json("GET", f"/api/v1/accounts/{a['id']}")[1]["name"],
                         "Helpdesk")
        status, b = self.admin.json("DELETE", "/api/v1/credentials/" +
                                    str(a["credential"]["id"]))
        self.assertEqual((status, b["error"]["code"]), (409, "in_use"))
        self.assertEqual(self.admin.json("DELETE", f"/api/v1/accounts/{a['id']}")[0], 200)
        self.assertEqual(self.admin.json("GET", f"/api/v1/accounts/{a['id']}")[0], 404)

    def test_credentials_are_write_only(self):
        c = self.create("/api/v1/credentials", {"name": "wo", "username": "u",
                                                "password": SECRET})
        self.assertTrue(c["secret_set"])
        status, b = self.admin.json("PATCH", f"/api/v1/credentials/{c['id']}",
                                    {"password": SECRET + "2"})
        self.assertEqual(status, 200)
        for path in ("/api/v1/credentials", f"/api/v1/credentials/{c['id']}"):
            _, _, raw = self.admin.request("GET", path)
            self.assertNotIn(SECRET.encode(), raw)
        self.assertIn("daemon.log", self.d.log.name)
        self.assertNotIn(SECRET, self.d.output())
        status, b = self.admin.json("POST", "/api/v1/credentials", {"name": "nopw",
                                                                    "username": "u"})
        self.assertEqual((status, b["error"]["field"]), (400, "password"))

    def test_connectors_and_settings(self):
        k = self.create("/api/v1/connectors", {"name": "corp", "type": "socks5",
                                               "address": "proxy.internal", "port": 1080})
        self.assertEqual((k["resolve"], k["tls"], k["used_by"]), ("proxy", False, []))
        status, s = self.admin.json("PATCH", "/api/v1/settings", {"default_connector": "corp"})
        self.assertEqual((status, s["default_connector"]["id"]), (200, k["id"]))
        # an account on the default shows in used_by
        self.create("/api/v1/credentials", {"name": "via", "username": "u", "password": SECRET})
        acc = self.create("/api/v1/accounts", {"name": "on-default", "protocol": "imap",
                                               "address": "m.example", "credential": "via",
                                               "use_connector": True})
        _, k2 = self.admin.json("GET", f"/api/v1/connectors/{k['id']}")
        self.assertEqual([(u["name"], u["through_default"]) for u in k2["used_by"]],
                         [("on-default", True)])
        # fields that do not fit the type are named
        status, b = self.admin.json("PATCH", f"/api/v1/connectors/{k['id']}", {"tls": True})
        self.assertEqual((status, b["error"]["field"]), (400, "tls"))
        status, b = self.admin.json("POST", "/api/v1/connectors",
                                    {"name": "h", "type": "http", "address": "p", "port": 3128,
                                     "resolve": "local"})
        self.assertEqual((status, b["error"]["field"]), (400, "resolve"))
        # Test connector: a bad target is a 400; a proxy that is not there is a failed step
        status, b = self.admin.json("POST", f"/api/v1/connectors/{k['id']}/test",
                                    {"target": "no-port"})
        self.assertEqual((status, b["error"]["field"]), (400, "target"))
        status, b = self.admin.json("POST", "/api/v1/connectors/999/test", {})
        self.assertEqual(status, 404)
        self.admin.json("PATCH", f"/api/v1/connectors/{k['id']}",
                        {"address": "127.0.0.1", "port": 1})
        status, b = self.admin.json("POST", f"/api/v1/connectors/{k['id']}/test", {})
        self.assertEqual((status, b["ok"]), (200, False))
        self.assertEqual(b["steps"][0]["step"], "proxy connect")
        self.assertIn("proxy unreachable", b["error"])
        # said as said, for the console's languages: the step and the error
        # the step names the proxy, then says the error's parts (no English inside)
        self.assertEqual(b["steps"][0]["said"][0], {"format": "%s proxy '%s'",
                                                    "args": ["SOCKS5", k["name"]]})
        self.assertEqual(b["steps"][0]["said"][1:], b["error_said"])
        self.assertTrue(b["error_said"][-1]["format"].startswith("connecting to"), b["error_said"])
        self.admin.json("PATCH", f"/api/v1/accounts/{acc['id']}", {"use_connector": False})
        status, b = self.admin.json("DELETE", f"/api/v1/connectors/{k['id']}")
        self.assertEqual(status, 409)
        self.assertEqual(self.admin.json("PATCH", "/api/v1/settings",
                                         {"default_connector": None})[0], 200)
        self.assertEqual(self.admin.json("DELETE", f"/api/v1/connectors/{k['id']}")[0], 200)

    def test_settings_change_all_or_nothing(self):
        """PATCH /settings applies the default connector and the SMTP relay
        together or not at all: a bad field in one leaves the other as it
        was."""
        self.create("/api/v1/connectors", {"name": "both", "type": "socks5",
                                           "address": "proxy.internal", "port": 1080})
        _, before = self.admin.json("GET", "/api/v1/settings")
        status, b = self.admin.json("PATCH", "/api/v1/settings",
                                    {"default_connector": "both", "smtp_port": 99999})
        self.assertEqual((status, b["error"]["field"]), (400, "smtp_port"))
        _, now = self.admin.json("GET", "/api/v1/settings")
        self.assertEqual(now, before)
        status, s = self.admin.json("PATCH", "/api/v1/settings",
                                    {"default_connector": "both", "smtp_host": "relay.example",
                                     "smtp_port": 587})
        self.assertEqual((status, s["default_connector"]["name"], s["smtp_host"]),
                         (200, "both", "relay.example"))
        status, b = self.admin.json("PATCH", "/api/v1/settings",
                                    {"default_connector": "no-such", "smtp_host": "other.example"})
        self.assertEqual((status, b["error"]["field"]), (404, "default_connector"))
        _, now = self.admin.json("GET", "/api/v1/settings")
        self.assertEqual((now["default_connector"]["name"], now["smtp_host"]),
                         ("both", "relay.example"))
        self.assertEqual(self.admin.json("PATCH", "/api/v1/settings",
                                         {"default_connector": None})[0], 200)

    def test_report_paging_filters_and_csv(self):
        self.create("/api/v1/credentials", {"name": "rep", "username": "u", "password": SECRET})
        for i in range(65):
            self.create("/api/v1/accounts", {"name": f"rep-{i:02d}", "protocol": "imap",
                                             "address": "m.example", "credential": "rep",
                                             "security": "none" if i % 3 == 0 else "tls",
                                             "keep_copy": i % 2 == 0})
        sizes = [len(self.admin.json("GET", f"/api/v1/accounts?name=rep-&page={p}")[1]
                     ["accounts"]) for p in (1, 2, 3)]
        self.assertEqual(sizes, [30, 30, 5])
        _, b = self.admin.json("GET", "/api/v1/accounts?name=REP-&secure=no&keep_copy=yes")
        expected = [f"rep-{i:02d}" for i in range(65) if i % 3 == 0 and i % 2 == 0]
        self.assertEqual([a["name"] for a in b["accounts"]], expected)
        status, headers, raw = self.admin.request(
            "GET", "/api/v1/reports/accounts.csv?name=rep-&secure=no&keep_copy=yes")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/csv"))
        self.assertIn("attachment", headers["Content-Disposition"])
        rows = list(csv.reader(io.StringIO(raw.decode(), newline="")))
        self.assertEqual([r[1] for r in rows[1:]], expected)
        self.assertEqual(rows[0][:4], ["ID", "Name", "Status", "Secure connection"])
        self.assertEqual(rows[1][3], "no")
        # in the language of whoever exports it: ?lang=, the console's mr_lang
        # cookie, or Accept-Language; the Portuguese document's labels
        token = self.d.cli("token", "create", "--user", "admin").stdout.strip()
        pt_header = ["Código", "Nome", "Situação", "Conexão segura", "Tipo conexão", "Protocolo",
                     "Porta", "Verificação automática", "Manter cópia no servidor"]
        for how in ({"path": "&lang=pt-BR"}, {"headers": {"Accept-Language": "pt-BR,pt;q=0.9"}},
                    {"headers": {"Cookie": "mr_lang=pt-BR"}, "client": Client(self.d, token)}):
            client = how.get("client", self.admin)
            status, _, raw = client.request(
                "GET", "/api/v1/reports/accounts.csv?name=rep-&secure=no&keep_copy=yes" +
                how.get("path", ""), headers=how.get("headers"))
            rows = list(csv.reader(io.StringIO(raw.decode(), newline="")))
            self.assertEqual((status, rows[0]), (200, pt_header), how)
            self.assertEqual((rows[1][3], rows[1][8]), ("não", "sim"), how)
        # a language it does not have: English
        _, _, raw = self.admin.request("GET", "/api/v1/reports/accounts.csv?lang=tlh&name=rep-")
        self.assertTrue(raw.decode().startswith("ID,Name,"))

    def test_audit_log_records_who_changed_what(self):
        self.create("/api/v1/credentials", {"name": "audited", "username": "u",
                                            "password": SECRET})
        a = self.create("/api/v1/accounts", {"name": "Audited", "protocol": "imap",
                                             "address": "a.example", "credential": "audited"})
        self.admin.json("PATCH", f"/api/v1/accounts/{a['id']}", {"port": 1993,
                                                                 "keep_copy": False})
        self.admin.json("PATCH", f"/api/v1/credentials/{a['credential']['id']}",
                        {"password": SECRET + "-new"})
        status, log = self.admin.json("GET", f"/api/v1/audit?object=account&object_id={a['id']}")
        self.assertEqual(status, 200)
        update, create = log["entries"][0], log["entries"][1]
        self.assertEqual((update["actor"], update["action"]), ("admin", "update"))
        self.assertEqual(update["changes"], {"port": ["993", "1993"], "keep_copy": ["yes", "no"]})
        self.assertEqual((create["action"], create["changes"]["name"]), ("create", [None, "Audited"]))
        _, cred = self.admin.json("GET", "/api/v1/audit?object=credential")
        self.assertEqual(cred["entries"][0]["changes"], {"password": "changed"})
        status, headers, raw = self.admin.request("GET", "/api/v1/audit?format=csv")
        self.assertTrue(headers["Content-Type"].startswith("text/csv"))
        self.assertNotIn(SECRET.encode(), raw)
        self.assertIn(b"Audited", raw)
        for query, field in (("format=xml", "format"), ("object_id=1x", "object_id")):
            status, e = self.admin.json("GET", f"/api/v1/audit?{query}")
            self.assertEqual((status, e["error"]["field"]), (400, field), query)
        cli = self.d.cli("audit", "list", "--object", "account", "--format", "json")
        self.assertIn('"actor": "admin"', cli.stdout)

    def test_test_connection_echoes_little_of_a_servers_first_line(self):
        """Test connection against something that is not a mail server (or a
        mail server with a long greeting) shows at most 200 bytes of its
        first line, control characters escaped: the daemon is no banner
        grabber, and no terminal or log gets raw escape sequences. API (JSON
        and streamed) and CLI alike."""
        import os
        import sys
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
        from fakeserver import FakeServer
        self.create("/api/v1/credentials", {"name": "echo", "username": "u",
                                            "password": SECRET})
        lines = {"pop3": b"+OK " + b"A" * 450 + b"\x1b[2J\x07 end\r\n",
                 "imap": b"* OK " + b"B" * 450 + b"\x1b]0;pwned\x07 end\r\n"}
        bad_pop3 = b"SSH-2.0-OpenSSH_9.6\x1b[2J" + b"C" * 300 + b"\r\n"
        cases = [("pop3", lines["pop3"]), ("imap", lines["imap"]), ("pop3", bad_pop3)]
        for proto, line in cases:
            srv = FakeServer(lambda c, line=line: (c.send(line), c.line()))
            try:
                form = {"protocol": proto, "address": "127.0.0.1", "port": srv.port,
                        "security": "none", "credential": "echo"}
                _, r = self.admin.json("POST", "/api/v1/accounts/test", form)
                _, _, raw = self.admin.request("POST", "/api/v1/accounts/test", form,
                                               headers={"Accept": "application/x-ndjson"})
                streamed = [json.loads(x) for x in raw.splitlines() if x.strip()]
                a = self.create("/api/v1/accounts", dict(form, name=f"echo-{srv.port}"))
                cli_json = json.loads(self.d.cli("account", "test", str(a["id"]), "--format",
                                                 "json").stdout)
                cli_text = self.d.cli("account", "test", str(a["id"]))
                self.admin.json("DELETE", f"/api/v1/accounts/{a['id']}")
            finally:
                srv.stop()
            for steps in (r["steps"], streamed, cli_json["steps"]):
                greeting = [s for s in steps if s.get("step") == "greeting"]
                self.assertEqual(len(greeting), 1, steps)
                detail = greeting[0]["detail"]
                self.assertLessEqual(len(detail.encode()), 200 + len("…".encode()), detail)
                self.assertFalse(re.search(r"[\x00-\x1f\x7f]", detail), detail)
                self.assertTrue(detail.endswith("…") or "\\x1b" in detail, detail)
            for out in (cli_text.stdout, cli_text.stderr):
                self.assertNotIn("\x1b", out)
                self.assertNotIn("\x07", out)

    def test_deny_test_targets(self):
        """serve --deny-test-targets: Test connection refuses (403
        denied_target, before connecting) a server or proxy on this host,
        link-local or a cloud metadata service, by name or by address, every
        address a name resolves to checked; off by default."""
        d = Daemon(args=("--no-scheduler", "--deny-test-targets"))
        try:
            c = Client(d)
            self.assertEqual(c.login()[0], 200)
            c.json("POST", "/api/v1/credentials", {"name": "dt", "username": "u",
                                                   "password": SECRET})
            form = {"protocol": "imap", "port": 143, "security": "none", "credential": "dt"}
            for address in ("127.0.0.1", "localhost", "127.3.4.5", "0.0.0.0", "::1",
                            "::ffff:127.0.0.1", "169.254.169.254", "169.254.1.1",
                            "fe80::1", "fd00:ec2::254", "100.100.100.200",
                            "no-such-host.invalid"):
                status, b = c.json("POST", "/api/v1/accounts/test",
                                   dict(form, address=address))
                self.assertEqual(status, 403, (address, b))
                self.assertEqual((b["error"]["code"], b["error"]["field"]),
                                 ("denied_target", "address"), address)
                self.assertIn("--deny-test-targets", b["error"]["message"])
            # a saved account, and one through a connector on this host
            a = c.json("POST", "/api/v1/accounts", dict(form, name="dt-local",
                                                        address="localhost"))[1]
            self.assertEqual(c.json("POST", f"/api/v1/accounts/{a['id']}/test")[0], 403)
            # a password typed again: the saved account's is kept to its own server
            c.json("POST", "/api/v1/credentials", {"name": "dt2", "username": "u",
                                                   "password": SECRET})
            form = dict(form, credential="dt2")
            k = c.json("POST", "/api/v1/connectors", {"name": "dt-proxy", "type": "socks5",
                                                      "address": "127.0.0.1",
                                                      "port": 1080})[1]
            status, b = c.json("POST", "/api/v1/accounts/test",
                               dict(form, address="mail.example.com", use_connector=True,
                                    connector="dt-proxy"))
            self.assertEqual((status, b["error"]["field"]), (403, "connector"), b)
            status, b = c.json("POST", f"/api/v1/connectors/{k['id']}/test", {})
            self.assertEqual((status, b["error"]["field"]), (403, "connector"), b)
            # a proxy elsewhere: a numeric target on this host is refused, a
            # name the proxy resolves is the proxy's business
            c.json("PATCH", f"/api/v1/connectors/{k['id']}", {"address": "192.0.2.1"})
            status, b = c.json("POST", f"/api/v1/connectors/{k['id']}/test",
                               {"target": "169.254.169.254:80"})
            self.assertEqual((status, b["error"]["field"]), (403, "target"), b)
            # an address that is not denied is tested as usual (a closed port
            # on this machine's own network address, when it has one)
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                s.connect(("192.0.2.1", 9))
                own = s.getsockname()[0]
            except OSError:
                own = None
            finally:
                s.close()
            if own and not own.startswith("127."):
                status, b = c.json("POST", "/api/v1/accounts/test",
                                   dict(form, address=own, port=1))
                self.assertEqual(status, 200, b)
                self.assertEqual(b["steps"][1]["step"], "connect")
        finally:
            self.assertEqual(d.stop(), 0, d.output())
        # off by default: the class's daemon tests what it is asked to
        self.create("/api/v1/credentials", {"name": "dt-off", "username": "u",
                                            "password": SECRET})
        status, b = self.admin.json("POST", "/api/v1/accounts/test",
                                    {"protocol": "imap", "address": "127.0.0.1", "port": 1,
                                     "security": "none", "credential": "dt-off"})
        self.assertEqual((status, b["steps"][1]["step"]), (200, "connect"), b)

    def test_users_list_is_for_admins(self):
        status, body = self.admin.json("GET", "/api/v1/users")
        self.assertEqual(status, 200)
        self.assertIn("admin", [u["name"] for u in body["users"]])
        self.assertNotIn("password", json.dumps(body))


class OwnDaemonTestCase(unittest.TestCase):
    """Each test starts a daemon of its own in self.d, stopped cleanly after."""

    def setUp(self):
        self.d = None

    def tearDown(self):
        if self.d:
            rc = self.d.stop()
            self.assertEqual(rc, 0, self.d.output())


class LoginThrottleTest(OwnDaemonTestCase):
    """Failed logins slow down whoever fails (growing delays per user name
    and client, per client, and a global cap on guesses from clients that
    have failed), never lock anyone out, and are audited. Each test has a
    daemon of its own that trusts 127.0.0.1 as a reverse proxy, so a client
    is whatever X-Forwarded-For says."""

    def start(self, *args, env=None):
        self.d = Daemon(args=("--no-scheduler", *args), env=env)
        self.d.cli("user", "add", "--name", "target", "--role", "viewer", "--password-stdin",
                   stdin=TARGET_PASSWORD)
        return self.d

    def login(self, user, password, client=None, source="127.0.0.1"):
        """(status, Retry-After, body) of one login, from the TCP source
        address given, with X-Forwarded-For: client when given."""
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.d.port, timeout=60,
                                          source_address=(source, 0))
        headers = {"Content-Type": "application/json"}
        if client:
            headers["X-Forwarded-For"] = client
        conn.request("POST", "/api/v1/session",
                     json.dumps({"username": user, "password": password}), headers)
        resp = conn.getresponse()
        body = json.loads(resp.read() or b"null")
        conn.close()
        return resp.status, resp.getheader("Retry-After"), body

    def assert_throttled(self, result, most=None):
        status, retry, body = result
        self.assertEqual(status, 429, body)
        self.assertEqual(body["error"]["code"], "rate_limited")
        self.assertTrue(retry and retry.isdigit() and int(retry) >= 1, retry)
        self.assertEqual(body["error"]["retry_after"], int(retry))
        self.assertIn(f"try again in {retry} second", body["error"]["message"])
        if most is not None:
            self.assertLessEqual(int(retry), most)
        return int(retry)

    def throttled_soon(self, user, password, client=None, tries=2, most=None):
        """Of `tries` attempts back to back, one is throttled (a slow
        password check may let one through when a 1 s delay runs out while
        it hashes; the next delay is twice as long). Its Retry-After."""
        for _ in range(tries):
            result = self.login(user, password, client)
            if result[0] == 429:
                return self.assert_throttled(result, most)
            self.assertEqual(result[0], 401, result)
        self.fail(f"{tries} attempts in a row, none throttled")

    def hammer(self, user, client=None, seconds=15):
        """Wrong passwords until one is throttled with more than a second
        to wait."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            status, retry, _ = self.login(user, "wrong-password-1", client)
            if status == 429 and int(retry) >= 2:
                return int(retry)
        self.fail("never throttled")

    def test_wrong_password_and_unknown_name_answer_alike(self):
        self.start()
        for user in ("target", "nobody"):
            status, _, body = self.login(user, "wrong-password-1")
            self.assertEqual((status, body["error"]["message"]),
                             (401, "wrong user name or password"))

    def test_a_stranger_cannot_lock_out_a_user(self):
        """The old lock: 5 failures locked the name for 15 minutes, right
        password or not, from anywhere. Now a stranger hammering 'target'
        only slows himself; the right password from another client logs in
        at once."""
        self.start("--trusted-proxy", "127.0.0.1")
        seen = [self.login("target", "guess-guess", "203.0.113.5")[0] for _ in range(12)]
        self.assertEqual(set(seen), {401, 429}, seen)
        t0 = time.time()
        status, _, body = self.login("target", TARGET_PASSWORD, "198.51.100.7")
        self.assertEqual(status, 200, body)
        self.assertLess(time.time() - t0, 2.0)
        # and for the stranger's own client the wait ends: no hard lock
        status, retry, body = self.login("target", "guess-guess", "203.0.113.5")
        if status == 429:
            self.assertLessEqual(int(retry), 300)
            time.sleep(int(retry) + 0.2)
            status, _, body = self.login("target", "guess-guess", "203.0.113.5")
        self.assertEqual(status, 401, body)

    def test_delays_grow_and_say_when(self):
        """Three free failures per user name and client, then 1 s, 2 s, 4 s
        ... (at most 5 minutes); a throttled attempt is 429 with Retry-After
        and the wait in the message; the right password after the wait logs
        in."""
        self.start("--trusted-proxy", "127.0.0.1")
        for _ in range(3):
            self.assertEqual(self.login("target", "wrong-password-1", "203.0.113.9")[0], 401)
        first = self.throttled_soon("target", "wrong-password-1", "203.0.113.9", most=2)
        time.sleep(first + 0.2)
        t0 = time.time()  # the next failure is counted after this: 2 s from then
        self.assertEqual(self.login("target", "wrong-password-1", "203.0.113.9")[0], 401)
        result = self.login("target", "wrong-password-1", "203.0.113.9")
        second = self.assert_throttled(result)
        self.assertGreaterEqual(second, 2 - (time.time() - t0))  # the delay doubled
        time.sleep(second + 0.2)
        status, _, body = self.login("target", TARGET_PASSWORD, "203.0.113.9")
        self.assertEqual(status, 200, body)
        # a success clears this user name's delays from this client
        self.assertEqual(self.login("target", "wrong-password-1", "203.0.113.9")[0], 401)

    def test_user_name_case_does_not_bypass(self):
        """Login takes 'TARGET' for 'target', and so does the throttle."""
        self.start("--trusted-proxy", "127.0.0.1")
        for name in ("target", "Target", "tArGeT"):
            self.assertEqual(self.login(name, "wrong-password-1", "203.0.113.9")[0], 401)
        self.throttled_soon("TARGET", "wrong-password-1", "203.0.113.9")

    def test_a_success_does_not_reset_the_client(self):
        """Ten failures from one client (any user names), then it waits; a
        success in between does not wipe its count, so guessing cannot go
        on at full speed by logging into an account of one's own."""
        self.start("--trusted-proxy", "127.0.0.1")
        for i in range(10):
            self.assertEqual(self.login(f"user-{i}", "wrong-password-1", "203.0.113.9")[0], 401)
        retry = self.throttled_soon("user-10", "wrong-password-1", "203.0.113.9")
        time.sleep(retry + 0.2)
        self.assertEqual(self.login("target", TARGET_PASSWORD, "203.0.113.9")[0], 200)
        self.throttled_soon("user-x", "wrong-password-1", "203.0.113.9")

    def test_concurrent_guesses_are_counted_before_they_run(self):
        """The attempt is reserved under the lock before the password is
        checked: 20 guesses at once get no more through than 3 in a row."""
        import threading
        self.start("--trusted-proxy", "127.0.0.1", "--threads", "8")
        results = []
        def guess():
            results.append(self.login("target", "wrong-password-1", "203.0.113.9")[0])
        threads = [threading.Thread(target=guess) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(results), 20)
        self.assertEqual(results.count(401), 3, results)
        self.assertEqual(results.count(429), 17, results)

    def test_global_cap_on_guesses(self):
        """Guesses from clients that have failed before share a cap per
        minute (MAILROOM_TEST_LOGIN_GUESSES_PER_MINUTE=6 here): many
        addresses, each far from its own limits, still wait. A client with
        no recent failures is never held behind the cap."""
        self.start("--trusted-proxy", "127.0.0.1",
                   env={"MAILROOM_TEST_LOGIN_GUESSES_PER_MINUTE": "6"})
        clients = [f"203.0.113.{i}" for i in range(1, 11)]
        for c in clients:  # a first failure each: not yet behind the cap
            self.assertEqual(self.login("target", "wrong-password-1", c)[0], 401)
        second = [self.login(f"other-{c}", "wrong-password-1", c) for c in clients]
        self.assertEqual([s for s, _, _ in second].count(401), 6, second)
        for r in second:
            if r[0] == 429:
                self.assert_throttled(r, 10)
        status, _, body = self.login("target", TARGET_PASSWORD, "198.51.100.7")
        self.assertEqual(status, 200, body)

    def test_client_address_from_trusted_proxies_only(self):
        """X-Forwarded-For counts only when the TCP peer is a trusted proxy,
        and then its right-most address that is not one: what a client puts
        in front is ignored. The audit log shows the address taken."""
        self.start("--trusted-proxy", "127.0.0.1,10.0.0.1")
        cases = [("6.6.6.6, 203.0.113.9", "203.0.113.9"),
                 ("203.0.113.8, 10.0.0.1", "203.0.113.8"),
                 ("::ffff:203.0.113.7", "203.0.113.7"),
                 ("not-an-address", "127.0.0.1"),
                 ("10.0.0.1", "10.0.0.1")]
        for header, _ in cases:
            self.assertEqual(self.login("target", "wrong-password-1", header)[0], 401)
        out = self.d.cli("audit", "list", "--format", "json")
        entries = json.loads(out.stdout)["entries"]
        taken = [e["changes"]["client"] for e in entries if e["action"] == "login_failed"]
        self.assertEqual(taken[::-1], [want for _, want in cases])
        # the spoofed part does not make a fresh client
        self.assertEqual(self.login("target", "wrong-password-1", "1.1.1.1, 203.0.113.9")[0],
                         401)
        self.assertEqual(self.login("target", "wrong-password-1", "2.2.2.2, 203.0.113.9")[0],
                         401)
        self.throttled_soon("target", "wrong-password-1", "3.3.3.3, 203.0.113.9")

    def test_forwarded_for_ignored_without_trusted_proxy(self):
        """Without --trusted-proxy the client is the TCP peer whatever
        X-Forwarded-For says; another peer (127.0.0.2) is another client."""
        self.start()
        for i in range(3):
            self.assertEqual(self.login("target", "wrong-password-1", f"203.0.113.{i}")[0], 401)
        self.hammer("target", "203.0.113.3")
        self.assert_throttled(self.login("target", TARGET_PASSWORD, "198.51.100.1"))
        status, _, body = self.login("target", TARGET_PASSWORD, source="127.0.0.2")
        self.assertEqual(status, 200, body)

    def test_failed_logins_are_audited(self):
        """Each failed login is in the audit log: the name tried, the
        client's address, never the password. Throttled attempts are not
        (they cost nothing and could flood it)."""
        self.start("--trusted-proxy", "127.0.0.1")
        self.login("Target", "Secret-Guess-77", "203.0.113.9")
        self.login("nobody-here", "Secret-Guess-78", "203.0.113.9")
        admin = Client(self.d)
        self.assertEqual(admin.login()[0], 200)
        status, log = admin.json("GET", "/api/v1/audit?object=user")
        failed = [e for e in log["entries"] if e["action"] == "login_failed"]
        self.assertEqual([(e["object_name"], e["changes"]) for e in failed],
                         [("nobody-here", {"client": "203.0.113.9"}),
                          ("Target", {"client": "203.0.113.9"})])
        self.assertEqual(failed[0]["actor"], "anonymous")
        _, _, raw = admin.request("GET", "/api/v1/audit?format=csv")
        cli = self.d.cli("audit", "list")
        for text in (json.dumps(log), raw.decode(), cli.stdout, self.d.output()):
            self.assertNotIn("Secret-Guess", text)
        self.assertIn("login_failed", cli.stdout)

    def test_trusted_proxy_must_be_addresses(self):
        out = subprocess.run([BIN, "--data", tempfile.mkdtemp(prefix="mailroom-api-"),
                              "serve", "--trusted-proxy", "127.0.0.1,proxy.example"],
                             capture_output=True, text=True, timeout=60)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("trusted-proxy", out.stderr)
        self.assertIn("proxy.example", out.stderr)


class HostCheckTest(OwnDaemonTestCase):
    """DNS rebinding: a page on rebind.attacker.example whose name then
    resolves to 127.0.0.1 talks to the daemon as its own origin, so an
    Origin equal to Host proves nothing. The daemon answers only for the
    names it is configured with (serve --public-url, the listen address,
    and localhost with the port when it listens on loopback): any other
    Host is 421 Misdirected Request on every route but /healthz, which load
    balancers probe by whatever address they have and which tells
    nothing."""

    def raw(self, method, path, host, body=b"", headers=(), version="HTTP/1.1"):
        """(status, body) of one request with exactly this Host (None: no
        Host header at all)."""
        lines = [f"{method} {path} {version}"] + ([f"Host: {host}"] if host is not None else [])
        lines += list(headers) + ["Connection: close", f"Content-Length: {len(body)}"]
        if body:
            lines.append("Content-Type: application/json")
        with socket.create_connection(("127.0.0.1", self.d.port), timeout=30) as s:
            s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        return int(head.split()[1]), rest

    def login_body(self):
        return json.dumps({"username": "admin", "password": ADMIN_PASSWORD}).encode()

    def assert_refused(self, host, paths=("/", "/js/app.js", "/api/v1/session", "/metrics")):
        for path in paths:
            status, body = self.raw("GET", path, host)
            self.assertEqual(status, 421, (host, path))
            self.assertLess(len(body), 300)
            self.assertEqual(json.loads(body)["error"]["code"], "misdirected")
        status, _ = self.raw("POST", "/api/v1/session", host, self.login_body())
        self.assertEqual(status, 421, host)

    def test_loopback_names_with_the_port(self):
        self.d = Daemon()
        port = self.d.port
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LocalHost:{port}",
                     f"[::1]:{port}"):
            self.assertEqual(self.raw("GET", "/", host)[0], 200, host)
            self.assertEqual(self.raw("POST", "/api/v1/session", host, self.login_body())[0],
                             200, host)
        for host in (f"rebind.attacker.example:{port}", "127.0.0.1", "localhost",
                     "127.0.0.1:1", f"127.0.0.2:{port}", f"127.0.0.1:{port}.evil.example",
                     f"admin@127.0.0.1:{port}", ""):
            self.assert_refused(host)
        # the rebinding page sends an Origin that matches its Host: still refused
        status, _ = self.raw("POST", "/api/v1/session", f"rebind.attacker.example:{port}",
                             self.login_body(),
                             [f"Origin: http://rebind.attacker.example:{port}"])
        self.assertEqual(status, 421)
        self.assertEqual(self.raw("GET", "/", None, version="HTTP/1.0")[0], 421)
        for host in (f"rebind.attacker.example:{port}", None):
            status, body = self.raw("GET", "/healthz", host, version="HTTP/1.0")
            self.assertEqual(status, 200, host)

    def test_public_url(self):
        self.d = Daemon(args=("--no-scheduler", "--public-url", "https://Mail.Example.com/"))
        port = self.d.port
        for host in ("mail.example.com", "MAIL.example.com", "mail.example.com:443",
                     f"127.0.0.1:{port}"):
            self.assertEqual(self.raw("GET", "/", host)[0], 200, host)
        for host in ("mail.example.com:8443", "mail.example.com.evil.example",
                     "other.example.com", f"mail.example.com:{port}"):
            self.assert_refused(host)

    def test_public_url_with_a_port(self):
        self.d = Daemon(args=("--no-scheduler", "--public-url",
                              "http://[2001:db8::7]:8443/mailroom"))
        for host in ("[2001:db8::7]:8443", "[2001:DB8:0::7]:8443", "[2001:db8::7]"):
            self.assertEqual(self.raw("GET", "/", host)[0], 200, host)
        self.assert_refused("[2001:db8::7]:80")

    def test_any_address(self):
        """Listening on every address, a Host that is an IP address with the
        port is taken (a page cannot rebind an address, only a name); names
        still need --public-url."""
        self.d = Daemon(listen="0.0.0.0")
        port = self.d.port
        for host in (f"127.0.0.1:{port}", f"192.0.2.2:{port}", f"localhost:{port}"):
            self.assertEqual(self.raw("GET", "/", host)[0], 200, host)
        for host in (f"mailroom.internal:{port}", f"192.0.2.2:{port + 1}"):
            self.assert_refused(host)

    def test_bad_public_url(self):
        self.d = Daemon()
        for url in ("mail.example.com", "ftp://mail.example.com/", "https://", "https://a b/",
                    "https://user@mail.example.com/", "https://mail.example.com:0/",
                    "https://mail.example.com:99999/"):
            out = self.d.cli("serve", "--public-url", url, "--listen", "127.0.0.1:1")
            self.assertNotEqual(out.returncode, 0, url)
            self.assertIn("public-url", out.stderr, url)


class OpenApiTest(unittest.TestCase):
    """docs/openapi.yaml documents exactly the routes the daemon serves."""

    def test_is_valid_yaml(self):
        """A tool reading the document gets it whole: it parses as YAML (a
        plain scalar with ': ' in it once did not)."""
        import os
        import yaml
        path = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "openapi.yaml")
        with open(path) as fh:
            doc = yaml.safe_load(fh)
        self.assertTrue(doc["openapi"].startswith("3."))
        self.assertIn("/messages/{id}", doc["paths"])
        self.assertIn("CSV", doc["paths"]["/reports/accounts.csv"]["get"]["summary"])

    def documented(self):
        import os
        import re
        path = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "openapi.yaml")
        routes, current, in_paths = set(), None, False
        with open(path) as fh:
            lines = fh.readlines()
        for line in lines:
            if line.startswith("paths:"):
                in_paths = True
            elif in_paths and re.match(r"^\S", line):
                break
            elif in_paths and re.match(r"^  /", line):
                current = line.strip().rstrip(":")
            elif in_paths and (m := re.match(r"^    (get|post|put|patch|delete):", line)):
                routes.add((m.group(1).upper(), current))
        return routes

    def served(self):
        """The route table in src/http/routes.c."""
        import os
        import re
        path = os.path.join(os.path.dirname(__file__), "..", "..", "src", "http", "routes.c")
        with open(path) as fh:
            code = fh.read()
        out = set()
        for method, pattern in re.findall(r'\{"(GET|POST|PUT|PATCH|DELETE)", "([^"]+)", mr_api_',
                                          code):
            parts = pattern.split("/")
            names = iter(["{id}", "{n}"])
            out.add((method, "/" + "/".join(next(names) if x == "*" else x for x in parts)))
        return out

    def test_spec_matches_the_routes(self):
        served = self.served()
        self.assertGreater(len(served), 30)
        self.assertEqual(self.documented(), served)
        # and the access tests above try every one of them
        tested = {(m, p[len("/api/v1"):]) for m, p, _ in ROUTES}
        tested = {(m, "/".join("{id}" if x == "1" else x for x in p.split("/"))) for m, p in tested}
        tested = {(m, p.replace("/attachments/{id}", "/attachments/{n}")) for m, p in tested}
        self.assertEqual(served - {("POST", "/session")}, tested)


VAULTED = "Vaulted-Secret-Pw-5150"


def recording_imap(c):
    """An IMAP server that takes any login: LOGIN, or AUTHENTICATE PLAIN with
    or without an initial response. What the client sent is in the log."""
    c.send(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] recording\r\n")
    while (line := c.line()) is not None:
        tag, _, cmd = line.partition(" ")
        up = cmd.upper()
        if up == "AUTHENTICATE PLAIN":
            c.send(b"+ \r\n")
            c.line()
        if up.startswith("CAPABILITY"):
            c.send(f"* CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR\r\n{tag} OK\r\n".encode())
        elif up.startswith("EXAMINE") or up.startswith("SELECT"):
            c.send(f"* 0 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n{tag} OK done\r\n".encode())
        elif up.startswith("LOGOUT"):
            c.send(f"* BYE bye\r\n{tag} OK\r\n".encode())
            return
        else:
            c.send(f"{tag} OK\r\n".encode())


def password_arrived(server, password):
    """Whether the password reached the server, as LOGIN or SASL PLAIN."""
    for line in server.log:
        for word in [line] + line.split(" "):
            try:
                word = base64.b64decode(word, validate=True).decode("utf-8", "replace")
            except ValueError:
                pass
            if password in word:
                return True
    return False


class UnsavedTestKeepsStoredPasswordsTest(unittest.TestCase):
    """Test connection with unsaved values (POST /accounts/test) sends a
    stored password only where a saved account already sends it (issue 17
    item 5, CWE-200/CWE-522): the form's id with a new host and security
    none used to send the vault's password in clear to any server."""

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon()
        cls.c = Client(cls.d)
        assert cls.c.login()[0] == 200
        cls.home, cls.elsewhere = FakeServer(recording_imap), FakeServer(recording_imap)
        status, _ = cls.c.json("POST", "/api/v1/credentials", {
            "name": "vaulted", "username": "keeper", "password": VAULTED})
        assert status == 201
        cls.saved = {"protocol": "imap", "address": "127.0.0.1", "port": cls.home.port,
                     "security": "none", "credential": "vaulted", "automatic_check": False}
        status, a = cls.c.json("POST", "/api/v1/accounts", dict(cls.saved, name="saved"))
        assert status == 201, a
        cls.id = a["id"]
        status, _ = cls.c.json("POST", "/api/v1/connectors", {
            "name": "proxy", "type": "socks5", "address": "127.0.0.1", "port": 9})
        assert status == 201

    @classmethod
    def tearDownClass(cls):
        cls.home.stop()
        cls.elsewhere.stop()
        assert cls.d.stop() == 0, cls.d.output()[-3000:]

    def setUp(self):
        self.home.log.clear()
        self.elsewhere.log.clear()

    def test_the_saved_destination_gets_the_stored_password(self):
        status, r = self.c.json("POST", "/api/v1/accounts/test", dict(self.saved, id=self.id))
        self.assertEqual(status, 200, r)
        self.assertTrue(r["ok"], r)
        self.assertTrue(password_arrived(self.home, VAULTED), self.home.log)

    def test_a_changed_destination_needs_the_password_typed_again(self):
        changes = [{"port": self.elsewhere.port}, {"address": "localhost"},
                   {"security": "starttls-optional"}, {"protocol": "pop3"},
                   {"use_connector": True, "connector": "proxy"},
                   {"address": "localhost", "port": self.elsewhere.port, "id": None}]
        for change in changes:
            body = dict(dict(self.saved, id=self.id), **change)
            if body["id"] is None:  # the same without the form's id
                del body["id"]
            status, e = self.c.json("POST", "/api/v1/accounts/test", body)
            self.assertIn(status, (400, 422), f"{change}: {e}")
            fields = {f["field"]: f["message"] for f in e["error"]["fields"]}
            self.assertEqual(list(fields), ["credential"], e)
            self.assertIn("type", fields["credential"])
            self.assertIn("vaulted", fields["credential"])
            self.assertFalse(password_arrived(self.elsewhere, VAULTED), change)
            self.assertFalse(password_arrived(self.home, VAULTED), change)
        self.assertEqual(self.elsewhere.log, [])  # no connection at all

    def test_a_password_typed_for_the_form_may_go_anywhere(self):
        """A credential nothing uses yet was just typed (Credentials, Add)."""
        status, _ = self.c.json("POST", "/api/v1/credentials", {
            "name": "typed", "username": "keeper", "password": "Typed-Again-Pw-77"})
        self.assertEqual(status, 201)
        body = dict(self.saved, id=self.id, port=self.elsewhere.port, credential="typed")
        status, r = self.c.json("POST", "/api/v1/accounts/test", body)
        self.assertEqual(status, 200, r)
        self.assertTrue(password_arrived(self.elsewhere, "Typed-Again-Pw-77"))
        self.assertFalse(password_arrived(self.elsewhere, VAULTED))


if __name__ == "__main__":
    unittest.main()
