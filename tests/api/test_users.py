"""Users over the API, for admins: listed (with their created time and
token count), added with a typed or a generated password, their role
changed, their password reset (their sessions end; their tokens too when
asked), removed (their sessions and tokens with them). Viewers and
read-only tokens are refused; the last admin stays one; a password is never
in an answer (but a generated one, in the answer that made it), the log or
the audit log. And the first start: one that fails never uses up the admin
password it would print."""
import json
import os
import re
import socket
import subprocess
import time
import unittest

from daemon import ADMIN_PASSWORD, BIN, Client, Daemon, free_port, mailroom_tmp

ANA_PASSWORD = "ana-Password-0001"
NEW_PASSWORD = "ana-Password-0002"


class Recording(Client):
    """A client that keeps every answer's body, to look for secrets in."""
    seen = []

    def request(self, *args, **kw):
        status, headers, data = super().request(*args, **kw)
        Recording.seen.append(data.decode("utf-8", "replace"))
        return status, headers, data


class UsersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon()
        cls.admin = Recording(cls.d)
        assert cls.admin.login()[0] == 200

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        if rc != 0:
            print(cls.d.output())
        assert rc == 0, f"the daemon exited {rc} on SIGTERM"

    def add(self, name, role="viewer", password=ANA_PASSWORD, expect=201):
        body = {"name": name, "role": role}
        body.update({"password": password} if password else {"generate_password": True})
        status, data = self.admin.json("POST", "/api/v1/users", body)
        self.assertEqual(status, expect, data)
        return data

    def user(self, name):
        status, body = self.admin.json("GET", "/api/v1/users")
        self.assertEqual(status, 200)
        return next((u for u in body["users"] if u["name"] == name), None)

    def logged_in(self, name, password):
        c = Recording(self.d)
        status, body = c.login(name, password)
        self.assertEqual(status, 200, body)
        return c

    def token_for(self, name, read_only=False):
        status, body = self.admin.json("POST", "/api/v1/tokens",
                                       {"user": name, "name": f"{name} ci", "read_only": read_only})
        self.assertEqual(status, 201, body)
        return body["token"], body["id"]

    def test_add_list_change_role_reset_and_remove(self):
        ana = self.add("ana")
        self.assertEqual((ana["name"], ana["role"], ana["api_tokens"]), ("ana", "viewer", 0))
        self.assertRegex(ana["created_at"], r"^\d{4}-\d\d-\d\dT")
        self.assertNotIn("password", json.dumps(ana))
        listed = self.user("ana")
        self.assertEqual((listed["id"], listed["role"], listed["created_at"]),
                         (ana["id"], "viewer", ana["created_at"]))
        session = self.logged_in("ana", ANA_PASSWORD)
        self.assertEqual(session.json("GET", "/api/v1/accounts")[0], 200)

        status, body = self.admin.json("PATCH", f"/api/v1/users/{ana['id']}", {"role": "admin"})
        self.assertEqual((status, body["role"]), (200, "admin"), body)
        self.assertEqual(session.json("GET", "/api/v1/users")[0], 200, "an admin now")
        status, body = self.admin.json("PATCH", f"/api/v1/users/{ana['id']}", {"role": "viewer"})
        self.assertEqual((status, body["role"]), (200, "viewer"))

        # a typed password: the sessions end, the old password no longer works
        status, body = self.admin.json("POST", f"/api/v1/users/{ana['id']}/password",
                                       {"password": NEW_PASSWORD})
        self.assertEqual(status, 200, body)
        self.assertEqual((body["sessions_ended"], body["tokens_revoked"]), (True, 0))
        self.assertNotIn("generated_password", body)
        self.assertEqual(session.json("GET", "/api/v1/accounts")[0], 401, "the session ended")
        self.assertEqual(Client(self.d).login("ana", ANA_PASSWORD)[0], 401)
        self.logged_in("ana", NEW_PASSWORD)

        # a generated one, shown in that answer only
        status, body = self.admin.json("POST", f"/api/v1/users/{ana['id']}/password",
                                       {"generate_password": True})
        self.assertEqual(status, 200, body)
        generated = body["generated_password"]
        self.assertGreaterEqual(len(generated), 20)
        self.logged_in("ana", generated)
        self.assertEqual(Client(self.d).login("ana", NEW_PASSWORD)[0], 401)
        status, audit = self.admin.json("GET", "/api/v1/audit?object=user")
        self.assertNotIn(generated, json.dumps(audit))
        self.assertNotIn(generated, json.dumps(self.admin.json("GET", "/api/v1/users")[1]))

        status, body = self.admin.json("DELETE", f"/api/v1/users/{ana['id']}")
        self.assertEqual((status, body["deleted"]), (200, ana["id"]), body)
        self.assertIsNone(self.user("ana"))
        self.assertEqual(Client(self.d).login("ana", generated)[0], 401)
        self.assertEqual(self.admin.json("DELETE", f"/api/v1/users/{ana['id']}")[0], 404)
        # every change is in the audit log, by the admin who made it
        status, audit = self.admin.json("GET", "/api/v1/audit?object=user")
        mine = [e for e in audit["entries"] if e["object_name"] == "ana"
                and e["action"] in ("create", "update", "delete")]
        actions = {e["action"] for e in mine}
        self.assertTrue({"create", "update", "delete"} <= actions, mine)
        self.assertTrue(all(e["actor"] == "admin" for e in mine), mine)
        self.assertIn('"changed"', json.dumps(mine), "a password change shows as changed")

    def test_a_generated_password_at_creation(self):
        body = self.add("gus", password=None)
        self.logged_in("gus", body["generated_password"])
        self.assertNotIn("generated_password", self.user("gus"))

    def test_bad_input_says_what_is_wrong(self):
        cases = [
            ({"role": "viewer", "password": ANA_PASSWORD}, "name", r"required"),
            ({"name": "a b", "role": "viewer", "password": ANA_PASSWORD}, "name", r"letters"),
            ({"name": "x" * 65, "role": "viewer", "password": ANA_PASSWORD}, "name", r"64"),
            ({"name": "olga", "role": "operator", "password": ANA_PASSWORD}, "role",
             r"expected admin or viewer, got 'operator'"),
            ({"name": "olga", "password": ANA_PASSWORD}, "role", r"required"),
            ({"name": "olga", "role": "viewer", "password": "short"}, "password", r"at least 10"),
            ({"name": "olga", "role": "viewer", "password": "p" * 2000}, "password", r"at most"),
            ({"name": "olga", "role": "viewer"}, "password", r"is required.*generate_password"),
            ({"name": "olga", "role": "viewer", "password": None}, "password", r"is required"),
            ({"name": "olga", "role": "viewer", "password": ANA_PASSWORD,
              "generate_password": True}, "password", r"not both"),
            ({"name": "olga", "role": "viewer", "password": 12345678901}, "password", r"text"),
            ({"name": "olga", "role": "viewer", "generate_password": "yes"}, "generate_password",
             r"true or false"),
            ({"name": "olga", "role": "viewer", "password": ANA_PASSWORD, "admin": True}, "admin",
             r"not a field of a user"),
        ]
        for body, field, message in cases:
            status, data = self.admin.json("POST", "/api/v1/users", body)
            self.assertEqual(status, 400, (body, data))
            fields = {f["field"]: f["message"] for f in data["error"]["fields"]}
            self.assertIn(field, fields, (body, data))
            self.assertRegex(fields[field], message)
        self.assertIsNone(self.user("olga"))
        self.add("dup")
        status, data = self.admin.json("POST", "/api/v1/users", {"name": "DUP", "role": "viewer",
                                                                 "password": ANA_PASSWORD})
        self.assertEqual((status, data["error"]["code"]), (409, "exists"), data)
        dup = self.user("dup")["id"]
        for body, field, message in [({}, "role", r"required"),
                                     ({"role": "root"}, "role", r"admin or viewer"),
                                     ({"password": ANA_PASSWORD}, "password", r"/password"),
                                     ({"name": "renamed"}, "name", r"not a field")]:
            status, data = self.admin.json("PATCH", f"/api/v1/users/{dup}", body)
            self.assertEqual(status, 400, (body, data))
            self.assertRegex({f["field"]: f["message"] for f in data["error"]["fields"]}[field],
                             message)
        for body, field in [({}, "password"), ({"password": "short"}, "password"),
                            ({"generate_password": True, "revoke_tokens": "yes"}, "revoke_tokens"),
                            ({"password": ANA_PASSWORD, "role": "admin"}, "role")]:
            status, data = self.admin.json("POST", f"/api/v1/users/{dup}/password", body)
            self.assertEqual(status, 400, (body, data))
            self.assertIn(field, [f["field"] for f in data["error"]["fields"]])
        for method, path, body in [("PATCH", "/api/v1/users/99999", {"role": "viewer"}),
                                   ("POST", "/api/v1/users/99999/password",
                                    {"password": ANA_PASSWORD}),
                                   ("DELETE", "/api/v1/users/99999", None),
                                   ("PATCH", "/api/v1/users/dup", {"role": "viewer"})]:
            status, data = self.admin.json(method, path, body)
            self.assertEqual(status, 404, (method, path, data))
            self.assertTrue(data["error"]["message"])
        status, _, data = self.admin.request("POST", "/api/v1/users", raw=b"{not json")
        self.assertEqual(status, 400)
        self.assertEqual(self.user("dup")["role"], "viewer", "nothing changed")

    def test_viewers_and_read_only_tokens_are_refused(self):
        self.add("vic")
        viewer = self.logged_in("vic", ANA_PASSWORD)
        vic = self.user("vic")["id"]
        ro_token, _ = self.token_for("admin", read_only=True)
        vic_token, _ = self.token_for("vic")
        writes = [("POST", "/api/v1/users", {"name": "eve", "role": "admin",
                                             "password": ANA_PASSWORD}),
                  ("PATCH", f"/api/v1/users/{vic}", {"role": "admin"}),
                  ("POST", f"/api/v1/users/{vic}/password", {"generate_password": True}),
                  ("DELETE", "/api/v1/users/1", None),
                  ("DELETE", f"/api/v1/users/{vic}", None)]
        for who in (viewer, Client(self.d, token=vic_token), Client(self.d, token=ro_token)):
            for method, path, body in writes:
                status, data = who.json(method, path, body)
                self.assertEqual(status, 403, (method, path, data))
                self.assertEqual(data["error"]["code"], "forbidden")
        for who in (viewer, Client(self.d, token=vic_token)):
            status, data = who.json("GET", "/api/v1/users")
            self.assertEqual(status, 403)
            self.assertRegex(data["error"]["message"], r"vic may read but not change")
            self.assertEqual(who.json("GET", "/api/v1/tokens")[0], 403)
        # a read-only token of an admin reads the list, changes nothing
        self.assertEqual(Client(self.d, token=ro_token).json("GET", "/api/v1/users")[0], 200)
        self.assertIsNone(self.user("eve"))
        self.assertEqual(self.user("vic")["role"], "viewer")
        # no CSRF token, no change (a cookie session)
        status, data = self.admin.json("PATCH", f"/api/v1/users/{vic}", {"role": "admin"},
                                       csrf=False)
        self.assertEqual((status, data["error"]["code"]), (403, "csrf"))

    def test_removed_users_sessions_and_tokens_stop_working(self):
        self.add("cara", role="admin")
        cara = self.user("cara")["id"]
        session = self.logged_in("cara", ANA_PASSWORD)
        token, token_id = self.token_for("cara")
        self.token_for("cara", read_only=True)
        by_token = Client(self.d, token=token)
        self.assertEqual(by_token.json("GET", "/api/v1/users")[0], 200)
        self.assertEqual(self.user("cara")["api_tokens"], 2)
        status, body = self.admin.json("DELETE", f"/api/v1/users/{cara}")
        self.assertEqual((status, body["tokens_revoked"]), (200, 2), body)
        self.assertEqual(session.json("GET", "/api/v1/accounts")[0], 401)
        self.assertEqual(by_token.json("GET", "/api/v1/accounts")[0], 401)
        status, tokens = self.admin.json("GET", "/api/v1/tokens")
        self.assertNotIn(token_id, [t["id"] for t in tokens["tokens"]])
        self.assertNotIn("cara", [t["user"]["name"] for t in tokens["tokens"]])

    def test_a_reset_revokes_tokens_when_asked(self):
        self.add("dan")
        dan = self.user("dan")["id"]
        kept, _ = self.token_for("dan")
        status, body = self.admin.json("POST", f"/api/v1/users/{dan}/password",
                                       {"password": NEW_PASSWORD})
        self.assertEqual((status, body["tokens_revoked"], body["api_tokens"]), (200, 0, 1))
        self.assertEqual(Client(self.d, token=kept).json("GET", "/api/v1/accounts")[0], 200)
        status, body = self.admin.json("POST", f"/api/v1/users/{dan}/password",
                                       {"password": ANA_PASSWORD, "revoke_tokens": True})
        self.assertEqual((status, body["tokens_revoked"], body["api_tokens"]), (200, 1, 0))
        self.assertEqual(Client(self.d, token=kept).json("GET", "/api/v1/accounts")[0], 401)

    def test_z_no_password_in_any_answer_the_log_or_the_store(self):
        """Runs last (z): every answer this class's clients received, the
        daemon's log, the audit log and the database files hold none of the
        typed passwords; a generated one only in the answer that made it."""
        body = self.add("zed", password=None)
        generated = body["generated_password"]
        answers = [a for a in Recording.seen if generated in a]
        self.assertEqual(len(answers), 1, "the generated password in one answer only")
        typed = (ANA_PASSWORD, NEW_PASSWORD)
        for text in Recording.seen:
            for secret in typed:
                self.assertNotIn(secret, text)
        audit = self.d.cli("audit", "list", "--format", "json")
        self.assertEqual(audit.returncode, 0, audit.stderr)
        for place, text in (("log", self.d.output()), ("audit", audit.stdout)):
            for secret in (*typed, generated, ADMIN_PASSWORD):
                self.assertNotIn(secret, text, place)
        for name in os.listdir(self.d.data):
            if name.startswith("mailroom.db"):
                with open(os.path.join(self.d.data, name), "rb") as fh:
                    raw = fh.read()
                for secret in (*typed, generated, ADMIN_PASSWORD):
                    self.assertNotIn(secret.encode(), raw, name)


class LastAdminTest(unittest.TestCase):
    """The last admin cannot stop being one, by a role change or a removal;
    once another admin exists it can, also to itself (its session ends with
    a removal, and its own password change ends its own sessions)."""

    def setUp(self):
        self.d = Daemon()
        self.admin = Client(self.d)
        self.assertEqual(self.admin.login()[0], 200)
        self.me = self.admin.json("GET", "/api/v1/session")[1]["user"]["id"]

    def tearDown(self):
        self.assertEqual(self.d.stop(), 0)

    def test_the_last_admin_stays(self):
        for method, path, body in [("PATCH", f"/api/v1/users/{self.me}", {"role": "viewer"}),
                                   ("DELETE", f"/api/v1/users/{self.me}", None)]:
            status, data = self.admin.json(method, path, body)
            self.assertEqual((status, data["error"]["code"]), (409, "in_use"), data)
            self.assertRegex(data["error"]["message"], r"last admin; make another admin first")
        # a viewer beside it changes nothing: still the last admin
        self.admin.json("POST", "/api/v1/users", {"name": "val", "role": "viewer",
                                                  "password": ANA_PASSWORD})
        self.assertEqual(self.admin.json("DELETE", f"/api/v1/users/{self.me}")[0], 409)
        status, data = self.admin.json("POST", "/api/v1/users", {"name": "bea", "role": "admin",
                                                                 "password": ANA_PASSWORD})
        self.assertEqual(status, 201, data)
        bea = Client(self.d)
        self.assertEqual(bea.login("bea", ANA_PASSWORD)[0], 200)
        status, data = self.admin.json("PATCH", f"/api/v1/users/{self.me}", {"role": "viewer"})
        self.assertEqual((status, data["role"]), (200, "viewer"), data)
        self.assertEqual(self.admin.json("GET", "/api/v1/users")[0], 403, "a viewer now")
        # bea is the last admin now
        status, data = bea.json("PATCH", f"/api/v1/users/{data['id']}", {"role": "admin"})
        self.assertEqual(status, 200, data)
        bea_id = bea.json("GET", "/api/v1/session")[1]["user"]["id"]
        self.assertEqual(self.admin.json("DELETE", f"/api/v1/users/{bea_id}")[0], 200)
        self.assertEqual(bea.json("GET", "/api/v1/accounts")[0], 401)
        self.assertEqual(self.admin.json("DELETE", f"/api/v1/users/{self.me}")[0], 409)

    def test_own_password_change_ends_own_sessions(self):
        other = Client(self.d)
        self.assertEqual(other.login()[0], 200)
        status, body = self.admin.json("POST", f"/api/v1/users/{self.me}/password",
                                       {"password": NEW_PASSWORD})
        self.assertEqual(status, 200, body)
        for c in (self.admin, other):
            self.assertEqual(c.json("GET", "/api/v1/accounts")[0], 401)
        self.assertEqual(Client(self.d).login("admin", NEW_PASSWORD)[0], 200)


def printed_password(text):
    m = re.search(r"created user 'admin' with password (\S+)", text)
    return m.group(1) if m else None


def certificate_and_wrong_key(d):
    cert, key, other = (os.path.join(d, n) for n in ("c.pem", "k.pem", "other.pem"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=t",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    subprocess.run(["openssl", "genpkey", "-algorithm", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-out", other], check=True, capture_output=True)
    os.chmod(other, 0o600)
    return cert, other


class FirstStartTest(unittest.TestCase):
    """The first start makes the user admin and prints its password once:
    a start that fails (the port taken, a TLS key that is not the
    certificate's) keeps no admin whose password was printed for nothing,
    and the next start prints one that logs in."""

    def setUp(self):
        self.tmp = mailroom_tmp("mailroom-first-")
        self.data = os.path.join(self.tmp, "var")
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("MAILROOM_DATA", "MAILROOM_ADMIN_PASSWORD")}

    def serve_fails(self, *args):
        r = subprocess.run([BIN, "--data", self.data, "serve", "--no-scheduler", *args],
                           capture_output=True, text=True, env=self.env, timeout=60)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)  # an error, not a crash or a leak
        self.assertNotIn("Sanitizer", r.stderr)
        self.assertIsNone(printed_password(r.stdout + r.stderr), "a password for nothing")
        users = subprocess.run([BIN, "--data", self.data, "user", "list", "--format", "json"],
                               capture_output=True, text=True, env=self.env, timeout=60)
        if users.returncode == 0:
            self.assertEqual(json.loads(users.stdout)["users"], [], "an admin nobody can use")
        return r

    def next_start_logs_in(self):
        """Starts serve on the data directory (no $MAILROOM_ADMIN_PASSWORD),
        logs in with the password it prints, stops it."""
        port = free_port()
        log = os.path.join(self.tmp, "serve.log")
        with open(log, "w") as out:
            proc = subprocess.Popen([BIN, "--data", self.data, "serve", "--no-scheduler",
                                     "--listen", f"127.0.0.1:{port}"], stdout=out,
                                    stderr=subprocess.STDOUT, env=self.env)
        try:
            password, deadline = None, time.time() + 30
            while not password and time.time() < deadline and proc.poll() is None:
                time.sleep(0.05)
                with open(log) as fh:
                    password = printed_password(fh.read())
            with open(log) as fh:
                self.assertTrue(password, fh.read())
            d = type("Running", (), {"base": f"http://127.0.0.1:{port}"})()
            self.assertEqual(Client(d).login("admin", password)[0], 200)
        finally:
            proc.terminate()
            self.assertEqual(proc.wait(timeout=60), 0)

    def test_port_in_use(self):
        port = free_port()
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", port))
            taken.listen()
            r = self.serve_fails("--listen", f"127.0.0.1:{port}")
        self.assertIn(f"port {port}", r.stderr)
        self.assertIn("--listen", r.stderr, "how to choose another port")
        self.next_start_logs_in()

    def test_a_start_failing_after_the_admin_was_made(self):
        cert, wrong_key = certificate_and_wrong_key(self.tmp)
        r = self.serve_fails("--listen", f"127.0.0.1:{free_port()}", "--tls-cert", cert,
                             "--tls-key", wrong_key)
        self.assertIn("TLS", r.stderr)
        self.assertIn("next start creates 'admin' and prints its password", r.stderr)
        self.next_start_logs_in()
        audit = subprocess.run([BIN, "--data", self.data, "audit", "list", "--format", "json"],
                               capture_output=True, text=True, env=self.env, timeout=60)
        self.assertIn("the first start failed", audit.stdout)


if __name__ == "__main__":
    unittest.main()
