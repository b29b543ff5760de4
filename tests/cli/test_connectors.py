"""mailroom connector and settings: proxies, the default connector, and
refusing to remove what accounts rely on."""
import unittest

from mailroom_cli import CliTestCase


class ConnectorTest(CliTestCase):
    def test_add_show_list(self):
        self.add_credential("proxy-login")
        s = self.add_connector("corp", "socks5", "1080", "--credential", "proxy-login")
        self.assertEqual((s["type"], s["address"], s["port"]), ("socks5", "proxy.internal", 1080))
        self.assertEqual(s["credential"]["name"], "proxy-login")
        h = self.add_connector("web", "http", "3128")
        self.assertIsNone(h["credential"])
        shown = self.ok("connector", "show", "corp")
        self.assertIn("proxy-login (ID", shown)
        self.assertIn("Used by:    nothing", shown)
        rows = self.ok("connector", "list").splitlines()
        self.assertEqual(rows[0].split(), ["ID", "Name", "Type", "Address", "Port",
                                           "Credential", "Default", "Used", "by"])
        self.assertEqual(len(rows), 3)
        self.assertEqual([c["default"] for c in self.json("connector", "list")["connectors"]],
                         [False, False])

    def test_validation(self):
        err = self.fails("connector", "add", "--name", "bad", "--type", "socks4",
                         "--address", "no such host", "--port", "0")
        self.assertIn("type: expected socks5 or http", err)
        self.assertIn("address: 'no such host' is not a valid host name", err)
        self.assertIn("port: must be a number between 1 and 65535", err)
        err = self.fails("connector", "add", "--name", "incomplete")
        for field in ("type", "address", "port"):
            self.assertIn(f"{field}: is required", err)
        self.fails("connector", "add", "--name", "c", "--type", "http", "--address", "p",
                   "--port", "8080", "--credential", "ghost",
                   message="credential: no credential named 'ghost'")
        self.add_connector("corp")
        self.fails("connector", "add", "--name", "Corp", "--type", "http",
                   "--address", "p", "--port", "1", message="already exists")
        self.assertEqual(len(self.json("connector", "list")["connectors"]), 1)

    def test_type_specific_fields(self):
        s = self.add_connector("socks", "socks5", "1080", "--resolve", "local")
        self.assertEqual((s["resolve"], s["tls"]), ("local", False))
        self.assertIn("Resolve:    local", self.ok("connector", "show", "socks"))
        err = self.fails("connector", "edit", "socks", "--tls", "yes")
        self.assertIn("tls: applies to http connectors only", err)
        err = self.fails("connector", "add", "--name", "h", "--type", "http", "--address", "p",
                         "--port", "3128", "--resolve", "local", "--skip-certificate", "yes",
                         "--ca-file", "relative.pem")
        self.assertIn("resolve: applies to socks5 connectors only", err)
        self.assertIn("ca_file: applies only when tls is yes", err)
        self.fails("connector", "add", "--name", "h", "--type", "http", "--address", "p",
                   "--port", "3128", "--tls", "yes", "--ca-file", "relative.pem",
                   message="ca_file: must be an absolute path")
        self.fails("connector", "edit", "socks", "--resolve", "dns", message="expected proxy or local")
        h = self.add_connector("https", "http", "443", "--tls", "yes", "--skip-certificate", "yes",
                               "--ca-file", "/etc/ssl/certs/ca-certificates.crt")
        self.assertEqual((h["tls"], h["skip_certificate"], h["ca_file"]),
                         (True, True, "/etc/ssl/certs/ca-certificates.crt"))
        e = self.json("connector", "edit", "https", "--tls", "no", "--skip-certificate", "no",
                      "--ca-file", "")
        self.assertEqual((e["tls"], e["ca_file"]), (False, None))
        # the audit log records the change in words
        changes = self.ok("audit", "list")
        self.assertIn("tls", changes)

    def test_edit(self):
        self.add_credential("proxy-login")
        self.add_connector("corp", "socks5", "1080", "--credential", "proxy-login")
        e = self.json("connector", "edit", "corp", "--type", "http", "--port", "3128",
                      "--credential", "")
        self.assertEqual((e["type"], e["port"], e["credential"]), ("http", 3128, None))
        self.fails("connector", "edit", "corp", "--port", "70000", message="port:")
        self.fails("connector", "edit", "corp", code=2, message="nothing to change")

    def test_default_connector(self):
        self.assertIn("none", self.ok("settings", "show"))
        self.assertIsNone(self.json("settings", "show")["default_connector"])
        self.add_connector("corp")
        self.ok("settings", "set", "default-connector", "corp")
        self.assertEqual(self.json("settings", "show")["default_connector"]["name"], "corp")
        self.assertIn("corp (ID", self.ok("settings", "show"))
        self.assertEqual([c["default"] for c in self.json("connector", "list")["connectors"]],
                         [True])
        self.fails("settings", "set", "default-connector", "ghost",
                   message="no network connector named 'ghost'")
        self.fails("settings", "set", "colour", "blue", code=2, message="unknown setting")
        self.fails("settings", "set", "default-connector", code=2)
        self.ok("settings", "set", "default-connector", "none")
        self.assertIsNone(self.json("settings", "show")["default_connector"])

    def test_in_use_cannot_be_removed(self):
        self.add_credential()
        self.add_connector("corp")
        self.add_connector("backup")
        self.add_account("Through corp", "--connector", "corp")
        self.fails("connector", "rm", "corp", message="in use by account Through corp")
        self.assertIn("account Through corp", self.ok("connector", "show", "corp"))
        self.ok("settings", "set", "default-connector", "backup")
        self.add_account("Through default", "--use-connector", "yes")
        self.fails("connector", "rm", "backup", message="the default connector setting")
        self.fails("settings", "set", "default-connector", "none",
                   message="accounts use the default connector: Through default")
        # moving the default to another connector is allowed
        self.ok("settings", "set", "default-connector", "corp")
        self.ok("connector", "rm", "backup")
        self.ok("account", "edit", "Through default", "--use-connector", "no")
        self.ok("account", "rm", "Through corp")
        self.ok("settings", "set", "default-connector", "none")
        self.assertIn("removed", self.ok("connector", "rm", "corp"))
        self.assertEqual(self.json("connector", "list")["connectors"], [])


if __name__ == "__main__":
    unittest.main()
