"""mailroom credential: secrets in by stdin or environment only, sealed in the
vault, never shown; the master key's rules."""
import os
import stat
import unittest

from mailroom_cli import CliTestCase

SECRET = "Zebra-Quasar-7781!"


class CredentialTest(CliTestCase):
    def test_add_from_stdin_and_show(self):
        c = self.add_credential("helpdesk", password=SECRET + "\n")
        self.assertEqual(c["name"], "helpdesk")
        self.assertEqual(c["username"], "helpdesk@example.com")
        self.assertEqual(c["kind"], "password")
        self.assertTrue(c["secret_set"])
        shown = self.ok("credential", "show", "helpdesk")
        self.assertIn("set (write-only)", shown)
        self.assertIn("Used by:", shown)
        self.assertEqual(self.json("credential", "show", str(c["id"]))["id"], c["id"])

    def test_add_from_environment(self):
        c = self.json("credential", "add", "--name", "envcred", "--username", "u",
                      "--password-env", "MR_TEST_PW", env={"MR_TEST_PW": SECRET})
        self.assertTrue(c["secret_set"])
        self.fails("credential", "add", "--name", "x", "--username", "u",
                   "--password-env", "MR_NOT_SET", message="MR_NOT_SET is not set")

    def test_secret_is_never_shown_or_stored_in_clear(self):
        self.add_credential("helpdesk", password=SECRET)
        outputs = [
            self.ok("credential", "list"),
            self.ok("credential", "list", "--format", "json"),
            self.ok("credential", "show", "helpdesk"),
            self.ok("credential", "show", "helpdesk", "--format", "json"),
        ]
        for out in outputs:
            self.assertNotIn(SECRET, out)
        self.assertNotIn(SECRET.encode(), self.files_text())

    def test_password_is_never_taken_from_argv(self):
        self.fails("credential", "add", "--name", "a", "--username", "u", SECRET,
                   code=2, message="never taken from the command line")
        self.fails("credential", "add", "--name", "a", "--username", "u",
                   code=2, message="a password is required")
        self.fails("credential", "add", "--name", "a", "--username", "u",
                   "--password-stdin", "--password-env", "X", code=2)
        self.fails("credential", "add", "--name", "a", "--username", "u",
                   "--password", SECRET, code=2)

    def test_validation(self):
        self.fails("credential", "add", "--name", "a", "--username", "u",
                   "--password-stdin", stdin="", message="password: is empty")
        err = self.fails("credential", "add", "--name", "", "--username", "",
                         "--password-stdin", stdin="x")
        self.assertIn("name: is required", err)
        self.assertIn("username: is required", err)
        self.add_credential("taken")
        self.fails("credential", "add", "--name", "TAKEN", "--username", "u",
                   "--password-stdin", stdin="x",
                   message="name: a credential named 'TAKEN' already exists")
        self.fails("credential", "add", "--name", "123", "--username", "u",
                   "--password-stdin", stdin="x", message="only digits")
        self.fails("credential", "add", "--name", "big", "--username", "u",
                   "--password-stdin", stdin="x" * 70000, message="longer than 65536")

    def test_edit(self):
        c = self.add_credential("old")
        out = self.ok("credential", "edit", "old", "--name", "new", "--username", "n@x")
        self.assertIn("updated", out)
        shown = self.json("credential", "show", str(c["id"]))
        self.assertEqual((shown["name"], shown["username"]), ("new", "n@x"))
        out = self.ok("credential", "edit", "new", "--password-stdin", stdin="other")
        self.assertIn("password changed", out)
        self.fails("credential", "edit", "new", code=2, message="nothing to change")
        self.fails("credential", "edit", "missing", "--name", "x",
                   message="no credential named 'missing'")
        self.add_credential("second")
        self.fails("credential", "edit", "second", "--name", "NEW",
                   message="already exists")

    def test_remove_and_in_use(self):
        self.add_credential("support-login")
        self.add_account("Helpdesk")
        self.fails("credential", "rm", "support-login",
                   message="in use by account Helpdesk")
        self.ok("account", "rm", "Helpdesk")
        self.assertIn("removed", self.ok("credential", "rm", "support-login"))
        self.fails("credential", "show", "support-login", message="no credential named")

    def test_list(self):
        self.add_credential("one")
        self.add_credential("two")
        table = self.ok("credential", "list").splitlines()
        self.assertEqual(table[0].split(), ["ID", "Name", "Kind", "Username"])
        self.assertEqual(len(table), 3)
        data = self.json("credential", "list")
        self.assertEqual([c["name"] for c in data["credentials"]], ["one", "two"])


class MasterKeyTest(CliTestCase):
    def test_key_file_is_made_private(self):
        self.add_credential("a")
        key = os.path.join(self.data, "master.key")
        mode = stat.S_IMODE(os.stat(key).st_mode)
        self.assertEqual(mode, 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(self.data).st_mode), 0o700)
        db = os.path.join(self.data, "mailroom.db")
        self.assertEqual(stat.S_IMODE(os.stat(db).st_mode), 0o600)

    def test_wrong_key_is_refused(self):
        self.add_credential("a")
        wrong = {"MAILROOM_MASTER_KEY": "ab" * 32}
        self.fails("credential", "add", "--name", "b", "--username", "u",
                   "--password-stdin", stdin="x", env=wrong, message="wrong master key")
        self.fails("credential", "edit", "a", "--password-stdin", stdin="x", env=wrong,
                   message="wrong master key")
        # nothing was written by the refused commands
        names = [c["name"] for c in self.json("credential", "list")["credentials"]]
        self.assertEqual(names, ["a"])

    def test_missing_key_is_refused(self):
        self.add_credential("a")
        os.unlink(os.path.join(self.data, "master.key"))
        self.fails("credential", "add", "--name", "b", "--username", "u",
                   "--password-stdin", stdin="x", message="no master key")
        # the key is not silently made again
        self.assertFalse(os.path.exists(os.path.join(self.data, "master.key")))

    def test_world_readable_key_is_refused(self):
        self.add_credential("a")
        os.chmod(os.path.join(self.data, "master.key"), 0o644)
        self.fails("credential", "add", "--name", "b", "--username", "u",
                   "--password-stdin", stdin="x", message="readable by other users")

    def test_key_from_environment(self):
        env = {"MAILROOM_MASTER_KEY": "0f" * 32}
        self.ok("credential", "add", "--name", "a", "--username", "u",
                "--password-stdin", stdin="x", env=env)
        self.assertFalse(os.path.exists(os.path.join(self.data, "master.key")))
        self.ok("credential", "edit", "a", "--password-stdin", stdin="y", env=env)
        self.fails("credential", "edit", "a", "--password-stdin", stdin="y",
                   message="no master key")
        self.fails("credential", "add", "--name", "b", "--username", "u",
                   "--password-stdin", stdin="x", env={"MAILROOM_MASTER_KEY": "zz"},
                   message="is not a master key")


if __name__ == "__main__":
    unittest.main()
