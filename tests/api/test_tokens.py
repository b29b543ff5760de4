"""API tokens: a name, an optional expiry, an optional read-only scope and
the time of last use; listed and revoked from the command line and the API;
revoked with their user, and on a password change when asked (a line says
they still work otherwise). A token's secret is shown once and never
listed."""
import json
import os
import sqlite3
import unittest

from daemon import Client, Daemon

CONNECTOR = {"name": "by-token", "type": "http", "address": "p.example", "port": 3128}


class TokenTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon()
        cls.admin = Client(cls.d)
        cls.admin.login()
        r = cls.d.cli("user", "add", "--name", "ana", "--role", "viewer", "--password-stdin",
                      stdin="ana-Password-1")
        assert r.returncode == 0, r.stderr

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def create(self, *args):
        r = self.d.cli("token", "create", *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        token = r.stdout.strip()
        self.assertEqual(len(token), 64)
        return token

    def listed(self, *args):
        r = self.d.cli("token", "list", "--format", "json", *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)["tokens"]

    def test_listed_with_name_scope_expiry_and_last_use_never_the_secret(self):
        token = self.create("--user", "admin", "--name", "ci deploy", "--expires", "30")
        mine = [t for t in self.listed() if t["name"] == "ci deploy"][0]
        self.assertEqual((mine["user"], mine["scope"], mine["last_used_at"]),
                         ("admin", "read-write", None))
        self.assertIsNotNone(mine["expires_at"])
        self.assertEqual(Client(self.d, token=token).json("GET", "/api/v1/accounts")[0], 200)
        mine = [t for t in self.listed() if t["id"] == mine["id"]][0]
        self.assertIsNotNone(mine["last_used_at"], "the use was recorded")
        status, body = self.admin.json("GET", "/api/v1/tokens")
        self.assertEqual(status, 200)
        self.assertIn(mine["id"], [t["id"] for t in body["tokens"]])
        table = self.d.cli("token", "list").stdout
        self.assertIn("ci deploy", table)
        for text in (table, json.dumps(body), json.dumps(self.listed())):
            self.assertNotIn(token, text)

    def test_read_only_token_reads_and_changes_nothing(self):
        token = self.create("--user", "admin", "--name", "dashboard", "--read-only")
        bot = Client(self.d, token=token)
        self.assertEqual(bot.json("GET", "/api/v1/accounts")[0], 200)
        self.assertEqual(bot.json("GET", "/api/v1/audit")[0], 200, "an admin's reads")
        status, body = bot.json("POST", "/api/v1/connectors", CONNECTOR)
        self.assertEqual(status, 403)
        self.assertIn("read-only", body["error"]["message"])
        status, _ = bot.json("POST", "/api/v1/tokens", {"user": "admin", "name": "escalate"})
        self.assertEqual(status, 403, "a read-only token cannot mint a read-write one")

    def test_expired_token_is_refused_saying_so(self):
        token = self.create("--user", "admin", "--name", "short", "--expires", "1")
        tid = [t for t in self.listed() if t["name"] == "short"][0]["id"]
        db = sqlite3.connect(os.path.join(self.d.data, "mailroom.db"), timeout=30)
        with db:  # a day and a bit later
            db.execute("UPDATE api_tokens SET expires_at = strftime('%s','now') - 5 WHERE id = ?",
                       (tid,))
        db.close()
        status, body = Client(self.d, token=token).json("GET", "/api/v1/accounts")
        self.assertEqual(status, 401)
        self.assertIn(f"API token {tid} expired", body["error"]["message"])

    def test_created_listed_and_revoked_over_the_api(self):
        status, body = self.admin.json("POST", "/api/v1/tokens",
                                       {"user": "ana", "name": "ana's script",
                                        "expires_in_days": 7, "read_only": True})
        self.assertEqual(status, 201, body)
        self.assertEqual((body["user"]["name"], body["scope"]), ("ana", "read-only"))
        bot = Client(self.d, token=body["token"])
        self.assertEqual(bot.json("GET", "/api/v1/accounts")[0], 200)
        status, listed = self.admin.json("GET", "/api/v1/tokens?user=ana")
        self.assertEqual([t["name"] for t in listed["tokens"]], ["ana's script"])
        self.assertNotIn(body["token"], json.dumps(listed))
        self.assertEqual(self.admin.json("DELETE", f"/api/v1/tokens/{body['id']}")[0], 200)
        self.assertEqual(bot.json("GET", "/api/v1/accounts")[0], 401)
        self.assertEqual(self.admin.json("DELETE", f"/api/v1/tokens/{body['id']}")[0], 404)
        audit = self.d.cli("audit", "list", "--format", "json").stdout
        self.assertIn("ana's script", audit)
        self.assertNotIn(body["token"], audit)

    def test_bad_requests_and_a_viewer(self):
        for bad, field in (({"user": "nobody", "name": "x"}, "user"),
                           ({"user": "admin", "name": ""}, "name"),
                           ({"user": "admin", "expires_in_days": 0}, "expires_in_days"),
                           ({"user": "admin", "expires_in_days": 99999}, "expires_in_days"),
                           ({"user": "admin", "read_only": "yes please"}, "read_only"),
                           ({"user": "admin", "secret": "mine"}, "secret")):
            with self.subTest(body=bad):
                status, body = self.admin.json("POST", "/api/v1/tokens", bad)
                self.assertEqual(status, 400, body)
                self.assertIn(field, [f["field"] for f in body["error"]["fields"]])
        viewer = Client(self.d)
        self.assertEqual(viewer.login("ana", "ana-Password-1")[0], 200)
        self.assertEqual(viewer.json("GET", "/api/v1/tokens")[0], 403)
        self.assertEqual(viewer.json("POST", "/api/v1/tokens", {"user": "ana"})[0], 403)
        r = self.d.cli("token", "create", "--user", "admin", "--expires", "0")
        self.assertEqual(r.returncode, 1)
        self.assertIn("expires", r.stderr)

    def test_revoked_with_the_user_and_on_a_password_change_when_asked(self):
        r = self.d.cli("user", "add", "--name", "bob", "--role", "admin", "--password-stdin",
                       stdin="bob-Password-1")
        self.assertEqual(r.returncode, 0, r.stderr)
        first = Client(self.d, token=self.create("--user", "bob", "--name", "one"))
        second = Client(self.d, token=self.create("--user", "bob", "--name", "two"))
        r = self.d.cli("user", "passwd", "bob", "--password-stdin", stdin="bob-Password-2")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("still has 2 API tokens, which keep working", r.stderr)
        self.assertEqual(first.json("GET", "/api/v1/accounts")[0], 200)
        r = self.d.cli("user", "passwd", "bob", "--password-stdin", "--revoke-tokens",
                       stdin="bob-Password-3")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("2 API tokens revoked", r.stdout)
        self.assertEqual(first.json("GET", "/api/v1/accounts")[0], 401)
        self.assertEqual(second.json("GET", "/api/v1/accounts")[0], 401)
        third = Client(self.d, token=self.create("--user", "bob", "--name", "three"))
        self.assertEqual(self.d.cli("user", "rm", "bob").returncode, 0)
        self.assertEqual(third.json("GET", "/api/v1/accounts")[0], 401)
        self.assertEqual([t for t in self.listed() if t["user"] == "bob"], [])


if __name__ == "__main__":
    unittest.main()
