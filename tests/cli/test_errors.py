"""Bad data directories, damaged databases and usage errors: exit codes and
messages that say what and where."""
import os
import sqlite3
import unittest

from mailroom_cli import CliTestCase


class DataDirectoryTest(CliTestCase):
    def test_default_and_environment(self):
        env_dir = os.path.join(self.tmp, "from-env")
        self.ok("credential", "list", data=False, env={"MAILROOM_DATA": env_dir})
        self.assertTrue(os.path.exists(os.path.join(env_dir, "mailroom.db")))
        # --data wins over the environment, before or after the command
        self.ok("connector", "list", "--data", self.data, data=False,
                env={"MAILROOM_DATA": env_dir})
        self.assertTrue(os.path.exists(os.path.join(self.data, "mailroom.db")))

    def test_data_dir_is_a_file(self):
        path = os.path.join(self.tmp, "file")
        open(path, "w").close()
        self.fails("--data", path, "account", "list", data=False,
                   message=f"data directory {path} is not a directory")

    def test_data_dir_cannot_be_made(self):
        path = os.path.join(self.tmp, "missing-parent", "var")
        self.fails("--data", path, "account", "list", data=False,
                   message=f"cannot create data directory {path}")

    def test_corrupt_database(self):
        os.makedirs(self.data, mode=0o700)
        db = os.path.join(self.data, "mailroom.db")
        with open(db, "wb") as fh:
            fh.write(b"garbage " * 2000)
        self.fails("account", "list", message="not a mailroom database or is damaged")
        self.fails("account", "list", message=db)

    def test_newer_schema(self):
        self.ok("account", "list")
        con = sqlite3.connect(os.path.join(self.data, "mailroom.db"))
        con.execute("PRAGMA user_version = 999")
        con.close()
        self.fails("account", "list", message="schema version 999 is newer")


class UsageTest(CliTestCase):
    def test_help_everywhere(self):
        self.assertIn("usage: mailroom", self.ok("--help"))
        for group, subs in (("account", ("add", "edit", "show", "rm", "list", "test")),
                            ("inbox", ("list", "show", "attachment")),
                            ("credential", ("add", "edit", "show", "rm", "list")),
                            ("connector", ("add", "edit", "show", "rm", "list")),
                            ("settings", ("show", "set"))):
            self.assertIn("commands:", self.ok(group, "--help"))
            for sub in subs:
                self.assertIn(f"{group} {sub}", self.ok(group, sub, "--help"))
        self.assertIn("serve", self.ok("serve", "--help"))
        self.assertIn("fetch (ID|NAME... | --all)", self.ok("fetch", "--help"))
        self.fails("fetch", code=2, message="name the accounts to fetch, or give --all")
        self.fails("fetch", "x", "--timeout", "0", message="timeout: expected 1 to 86400")

    def test_usage_errors_exit_2(self):
        self.fails(code=2)
        self.fails("frobnicate", code=2, message="unknown command 'frobnicate'")
        self.fails("--bogus", code=2, message="unknown option '--bogus'")
        self.fails("credential", "list", "--format", "yaml",
                   message="format: expected table, csv or json")
        self.fails("connector", "show", code=2, message="expected one ID or NAME")

    def test_version(self):
        self.assertRegex(self.ok("version"), r"^mailroom \d+\.\d+\.\d+\n$")
        self.assertRegex(self.ok("--version"), r"^mailroom \d+\.\d+\.\d+\n$")

    def test_serve_errors(self):
        self.fails("serve", "--listen", "127.0.0.1", message="listen: expected ADDRESS:PORT")
        self.fails("serve", "--listen", "somehost:8080",
                   message="'somehost' is not an IP address to listen on")
        self.fails("serve", "--threads", "0", message="threads: expected 1 to 64")
        import socket
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen(1)
            port = busy.getsockname()[1]
            self.fails("serve", "--listen", f"127.0.0.1:{port}", message="cannot listen on")

    def test_not_found_messages(self):
        self.fails("account", "show", "42", message="account show: no account with ID 42")
        self.fails("connector", "rm", "x", message="no network connector named 'x'")
        self.fails("credential", "show", "y", message="no credential named 'y'")


if __name__ == "__main__":
    unittest.main()
