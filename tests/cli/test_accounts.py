"""mailroom account add|edit|show|rm: every field, its default and its rules."""
import unittest

from mailroom_cli import CliTestCase


class AccountTest(CliTestCase):
    def setUp(self):
        super().setUp()
        self.add_credential()

    def test_defaults(self):
        imap = self.add_account("Support")
        self.assertEqual(imap["security"], "tls")
        self.assertEqual(imap["port"], 993)
        self.assertTrue(imap["port_is_default"])
        self.assertEqual(imap["folder"], "INBOX")
        self.assertEqual(imap["interval"], 300)
        self.assertEqual(imap["auth"], "auto")
        for flag in ("keep_copy", "automatic_check", "enabled", "secure_connection"):
            self.assertTrue(imap[flag], flag)
        for flag in ("skip_certificate", "use_connector"):
            self.assertFalse(imap[flag], flag)
        self.assertEqual(imap["connection_type"], "SSL")
        self.assertEqual(imap["credential"]["name"], "support-login")
        pop = self.add_account("Alerts", protocol="pop3")
        self.assertEqual(pop["port"], 995)
        self.assertIsNone(pop["folder"])
        starttls = self.add_account("Plain", "--security", "starttls", protocol="pop3")
        self.assertEqual((starttls["port"], starttls["connection_type"]), (110, "TLS"))
        none = self.add_account("Clear", "--security", "none")
        self.assertEqual((none["port"], none["connection_type"]), (143, ""))
        self.assertFalse(none["secure_connection"])

    def test_every_field(self):
        self.add_connector("corp")
        a = self.add_account("Everything", "--port", "10143", "--security", "starttls-optional",
                             "--skip-certificate", "yes", "--keep-copy", "no",
                             "--automatic-check", "no", "--interval", "45", "--enabled", "no",
                             "--connector", "corp", "--folder", "INBOX.Support",
                             "--auth", "cram-md5")
        expected = {"port": 10143, "security": "starttls-optional", "skip_certificate": True,
                    "keep_copy": False, "automatic_check": False, "interval": 45,
                    "enabled": False, "use_connector": True, "folder": "INBOX.Support",
                    "auth": "CRAM-MD5", "port_is_default": False}
        for k, v in expected.items():
            self.assertEqual(a[k], v, k)
        self.assertEqual(a["connector"]["name"], "corp")
        text = self.ok("account", "show", "Everything")
        for label in ("Account name:", "Keep a copy on the server:", "Automatic check:",
                      "Enabled:", "Address:", "Port:", "Protocol:", "Use network connector:",
                      "Network connector:", "Credential for authentication:",
                      "Skip certificate:", "Secure connection:", "Mailbox folder:",
                      "Authentication mechanism:"):
            self.assertIn(label, text)
        self.assertIn("corp (ID", text)
        self.assertIn("INBOX.Support", text)

    def test_edit(self):
        a = self.add_account("Support")
        e = self.json("account", "edit", "Support", "--protocol", "pop3",
                      "--security", "starttls", "--name", "Support POP")
        self.assertEqual((e["id"], e["name"], e["port"]), (a["id"], "Support POP", 110))
        e = self.json("account", "edit", str(a["id"]), "--port", "2110")
        self.assertEqual(e["port"], 2110)
        e = self.json("account", "edit", str(a["id"]), "--port", "")
        self.assertEqual((e["port"], e["port_is_default"]), (110, True))
        self.assertIn("updated", self.ok("account", "edit", str(a["id"]), "--enabled", "no"))
        self.fails("account", "edit", "Support POP", code=2, message="nothing to change")
        self.fails("account", "edit", "Nope", "--enabled", "no",
                   message="no account named 'Nope'")
        self.fails("account", "edit", "999", "--enabled", "no", message="no account with ID 999")

    def test_folder_only_for_imap(self):
        self.fails("account", "add", "--name", "P", "--protocol", "pop3", "--address", "h",
                   "--credential", "support-login", "--folder", "Support",
                   message="folder: only IMAP accounts have a folder")
        self.add_account("Nested", "--folder", "INBOX/Support")
        self.fails("account", "edit", "Nested", "--protocol", "pop3", message="folder:")
        e = self.json("account", "edit", "Nested", "--protocol", "pop3", "--folder", "")
        self.assertIsNone(e["folder"])

    def test_connector_rules(self):
        self.fails("account", "add", "--name", "A", "--protocol", "imap", "--address", "h",
                   "--credential", "support-login", "--use-connector", "yes",
                   message="no default connector is set")
        self.fails("account", "add", "--name", "A", "--protocol", "imap", "--address", "h",
                   "--credential", "support-login", "--connector", "ghost",
                   message="connector: no network connector named 'ghost'")
        self.add_connector("corp")
        self.fails("account", "add", "--name", "A", "--protocol", "imap", "--address", "h",
                   "--credential", "support-login", "--use-connector", "no",
                   "--connector", "corp", message="is set but Use network connector is no")
        self.ok("settings", "set", "default-connector", "corp")
        a = self.add_account("Default", "--use-connector", "yes")
        self.assertIsNone(a["connector"])
        self.assertEqual(a["default_connector"], "corp")
        self.assertIn("default: corp", self.ok("account", "show", "Default"))
        e = self.json("account", "edit", "Default", "--use-connector", "no")
        self.assertFalse(e["use_connector"])

    def test_all_problems_are_reported_and_nothing_written(self):
        err = self.fails("account", "add", "--name", "12", "--protocol", "smtp",
                         "--address", "bad host", "--port", "0", "--credential", "ghost",
                         "--interval", "10", "--security", "ssl", "--keep-copy", "maybe",
                         "--auth", "magic")
        for field in ("name", "protocol", "address", "port", "credential", "interval",
                      "security", "keep_copy", "auth"):
            self.assertIn(f"account add: {field}: ", err)
        self.assertEqual(len(err.splitlines()), 9)  # one line per field
        err = self.fails("account", "add", "--name", "x")
        for field in ("address", "protocol", "credential"):
            self.assertIn(f"{field}: is required", err)
        self.assertEqual(self.count_accounts(), 0)

    def test_unique_names(self):
        self.add_account("Support")
        self.fails("account", "add", "--name", "support", "--protocol", "imap",
                   "--address", "h", "--credential", "support-login",
                   message="an account named 'support' already exists")
        self.add_account("Other")
        self.fails("account", "edit", "Other", "--name", "SUPPORT", message="already exists")
        self.assertEqual(self.json("account", "show", "Other")["name"], "Other")

    def test_addresses(self):
        for addr in ("192.0.2.10", "2001:db8::25", "[2001:db8::26]", "mail.example.org."):
            a = self.json("account", "add", "--name", addr.strip("[]."), "--protocol",
                          "imap", "--address", addr, "--credential", "support-login")
            self.assertEqual(a["address"], addr.strip("[]"))
        for addr in ("300.1.1.1", "bad_host", "a..b", "-x.example"):
            self.fails("account", "add", "--name", "bad", "--protocol", "imap",
                       "--address", addr, "--credential", "support-login",
                       message="address:")

    def test_rm(self):
        a = self.add_account("Gone")
        self.assertIn(f"account {a['id']} removed", self.ok("account", "rm", "Gone"))
        self.fails("account", "show", "Gone", message="no account named 'Gone'")
        self.fails("account", "rm", "Gone", message="no account named 'Gone'")
        self.fails("account", "rm", code=2)

    def test_usage_errors(self):
        self.fails("account", "add", "--colour", "red", code=2)
        self.fails("account", "add", "--name", "a", "stray", code=2,
                   message="unexpected argument")
        self.fails("account", "show", code=2)
        self.fails("account", "show", "a", "b", code=2)
        self.fails("account", "frobnicate", code=2, message="unknown command")
        self.fails("account", code=2)
        help_text = self.ok("account", "add", "--help")
        for flag in ("--name", "--keep-copy", "--automatic-check", "--interval",
                     "--enabled", "--address", "--port", "--protocol", "--use-connector",
                     "--connector", "--credential", "--skip-certificate", "--security",
                     "--folder", "--auth"):
            self.assertIn(flag, help_text)


if __name__ == "__main__":
    unittest.main()
