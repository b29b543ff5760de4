"""Folders resolved through NAMESPACE (RFC 2342) and LIST, against the
suite's Dovecot in the three personal-namespace layouts servers have:
prefix INBOX. with '.' (Courier), INBOX/ with '/' (Cyrus with the Unix
hierarchy separator), "" with '/' (INBOX has no children, as GNU
Mailutils). Whichever the layout, a folder typed INBOX.Support,
INBOX/Support or Support is found (INBOX in any case), names outside
ASCII go in modified UTF-7, a missing folder's error names what was typed
and suggests the close ones, and the after-fetch move folder resolves the
same way.

Gmail's layout too (prefix "", '/', the system folders under [Gmail] with
RFC 6154 special uses, labels as folders), on a Dovecot configured so: a
folder named by its use (\\All, \\Trash) is found whatever the server
calls it, and Test connection lists the folders for the console's picker."""
import json
import re
import unittest

from helpers import CliTestCase, MailTestCase, message, server, stop_servers

# name: (prefix, separator)
LAYOUTS = {
    "courier": ("INBOX.", "."),
    "cyrus": ("INBOX/", "/"),
    "flat": ("", "/"),
}


def tearDownModule():
    stop_servers()


def spelled(layout, *parts):
    """The folder as the server of that layout spells it."""
    prefix, sep = LAYOUTS[layout]
    return prefix + sep.join(parts)


class FolderBase(MailTestCase):
    def setUp(self):  # a fresh data directory; the servers are the layouts' own
        CliTestCase.setUp(self)

    def on(self, layout):
        """The layout's Dovecot, a fresh user there, and its credential."""
        prefix, sep = LAYOUTS[layout]
        self.srv = server("ns-" + layout, separator=sep, prefix=prefix, users=12)
        self.user = self.srv.take_user()
        self.cred = f"login-{layout}-{self.user}"
        self.add_credential(self.cred, password=self.password, username=self.user)
        return self.srv

    def account_on(self, name, *extra):
        return self.json("account", "add", "--name", name, "--protocol", "imap", "--address",
                         "127.0.0.1", "--port", str(self.srv.ports["imaps"]), "--security",
                         "tls", "--skip-certificate", "yes", "--credential", self.cred, *extra)

    def fill(self, folder, subject, count=2):
        self.srv.create_mailbox(self.user, folder)
        for i in range(count):
            self.srv.save(self.user, message(i, subject=subject), folder)



class FolderTest(FolderBase):
    def test_the_folder_typed_three_ways(self):
        for layout in LAYOUTS:
            with self.subTest(layout=layout):
                self.on(layout)
                self.fill(spelled(layout, "Support"), "support")
                self.srv.save(self.user, message(9, subject="inbox"), "INBOX")
                for i, typed in enumerate(("INBOX.Support", "INBOX/Support", "Support",
                                           "inbox.Support")):
                    name = f"{layout}-{i}"
                    self.account_on(name, "--folder", typed)
                    run, r = self.fetch(name)
                    self.assertEqual(run["fetched"], 2, (layout, typed, r.stderr))
                # every message came from the folder, none from INBOX
                subjects = {m["subject"] for m in self.inbox()}
                self.assertEqual(subjects, {"support"})
                self.setUp()

    def test_modified_utf7_names(self):
        for layout in LAYOUTS:
            with self.subTest(layout=layout):
                self.on(layout)
                server_name = spelled(layout, "Suporte", "Ações")
                self.fill(server_name, "ações", count=1)
                wire = [n for n in self.srv.mailboxes(self.user) if n.endswith("es")]
                self.assertEqual(wire, [server_name])  # doveadm shows it decoded
                for i, typed in enumerate(("Suporte/Ações", "INBOX.Suporte.Ações",
                                           "Suporte.Ações")):
                    name = f"utf7-{layout}-{i}"
                    self.account_on(name, "--folder", typed)
                    run, r = self.fetch(name, "--trace")
                    self.assertEqual(run["fetched"], 1, (layout, typed, r.stderr))
                    # the name went in modified UTF-7
                    self.assertIn("A&AOcA9Q-es", r.stderr)
                self.setUp()

    def test_namespace_is_asked_once_and_not_for_inbox(self):
        self.on("cyrus")
        self.fill(spelled("cyrus", "Support"), "support", count=1)
        self.account_on("inbox", "--folder", "inbox")
        _, r = self.fetch("inbox", "--trace")
        self.assertNotRegex(r.stderr, r"(?m)^C: a\d+ NAMESPACE$")
        self.account_on("sub", "--folder", "Support")
        _, r = self.fetch("sub", "--trace")
        self.assertEqual(len(re.findall(r"(?m)^C: a\d+ NAMESPACE$", r.stderr)), 1, r.stderr)

    def test_wildcards_find_nothing_and_the_step_shows_both_spellings(self):
        self.on("courier")
        self.fill(spelled("courier", "Support"), "support", count=1)
        self.account_on("star", "--folder", "Suppor*")
        out = self.run_cli("account", "test", "star")
        self.assertEqual(out.returncode, 1)
        self.assertIn("'Suppor*' does not exist on the server (did you mean INBOX.Support?)",
                      out.stderr)
        self.account_on("plain", "--folder", "Support")
        out = self.run_cli("account", "test", "plain")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("INBOX.Support (typed Support) opened", out.stdout)

    def test_a_missing_folder_names_what_was_typed_and_suggests(self):
        for layout in LAYOUTS:
            with self.subTest(layout=layout):
                self.on(layout)
                self.srv.create_mailbox(self.user, spelled(layout, "Support"))
                self.srv.create_mailbox(self.user, spelled(layout, "Sales"))
                self.srv.create_mailbox(self.user, spelled(layout, "Archive", "2025"))
                for i, typed in enumerate(("INBOX.Suport", "suport", "INBOX/Archive/2026")):
                    name = f"missing-{layout}-{i}"
                    self.account_on(name, "--folder", typed)
                    out = self.run_cli("account", "test", name)
                    self.assertEqual(out.returncode, 1)
                    self.assertIn(f"the folder '{typed}' does not exist on the server",
                                  out.stderr)
                    close = spelled(layout, "Archive", "2025") if "Archive" in typed else \
                        spelled(layout, "Support")
                    self.assertIn(f"did you mean {close}", out.stderr)
                    self.assertNotIn("Sales", out.stderr)  # not close
                # nothing close: the layout instead
                self.account_on(f"far-{layout}", "--folder", "Quarterly reports")
                out = self.run_cli("account", "test", f"far-{layout}")
                self.assertIn("'Quarterly reports' does not exist", out.stderr)
                self.assertNotIn("did you mean", out.stderr)
                self.assertIn(f"separated by '{LAYOUTS[layout][1]}'", out.stderr)
                self.setUp()

    def test_move_folder_resolves_and_is_created_in_the_namespace(self):
        for layout in LAYOUTS:
            with self.subTest(layout=layout):
                self.on(layout)
                self.srv.create_mailbox(self.user, spelled(layout, "Done"))
                for i in range(2):
                    self.srv.save(self.user, message(i), "INBOX")
                self.account_on(f"mv-{layout}", "--after-fetch", "move", "--move-folder",
                                "INBOX.Done")
                run, _ = self.fetch(f"mv-{layout}")
                self.assertEqual((run["fetched"], run["acted"]), (2, 2))
                self.assertEqual(self.srv.count_in(self.user, spelled(layout, "Done")), 2)
                # missing and asked to create: made inside the namespace
                self.srv.save(self.user, message(5), "INBOX")
                self.account_on(f"mk-{layout}", "--after-fetch", "move", "--move-folder",
                                "Processed/2026", "--create-folder", "yes")
                run, _ = self.fetch(f"mk-{layout}")
                self.assertEqual(run["acted"], 1)
                made = spelled(layout, "Processed", "2026")
                self.assertIn(made, self.srv.mailboxes(self.user))
                self.assertEqual(self.srv.count_in(self.user, made), 1)
                self.setUp()


GMAIL = {"[Gmail]/All Mail": "\\All", "[Gmail]/Trash": "\\Trash", "[Gmail]/Sent Mail": "\\Sent"}


class GmailLayoutTest(FolderBase):
    """What Gmail looks like over IMAP, on Dovecot: INBOX and labels at the
    top (a nested label is Support/Tickets), the system folders under a
    \\Noselect [Gmail] with special-use attributes."""

    def on_gmail(self):
        self.srv = server("gmail", separator="/", prefix="", users=8, special_use=GMAIL)
        self.user = self.srv.take_user()
        self.cred = f"login-gmail-{self.user}"
        self.add_credential(self.cred, password=self.password, username=self.user)

    def test_all_mail_by_name_and_by_use(self):
        self.on_gmail()
        for i in range(3):
            self.srv.save(self.user, message(i, subject="archived"), "[Gmail]/All Mail")
        self.account_on("named", "--folder", "[Gmail]/All Mail")
        run, r = self.fetch("named")
        self.assertEqual(run["fetched"], 3, r.stderr)
        # by its use: the name a German account would have does not matter
        self.account_on("used", "--folder", "\\All")
        out = self.run_cli("account", "test", "used")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("[Gmail]/All Mail (typed \\All) opened", out.stdout)
        # a use no folder has: said so, with what to do
        self.account_on("junk", "--folder", "\\Junk")
        out = self.run_cli("account", "test", "junk")
        self.assertEqual(out.returncode, 1)
        self.assertIn("no folder on the server is marked \\Junk (RFC 6154 special use); type "
                      "the folder's name instead", out.stderr)

    def test_nested_labels_and_moving_to_the_trash_by_use(self):
        self.on_gmail()
        self.fill("Support/Tickets", "ticket", count=2)
        self.account_on("label", "--folder", "Support.Tickets", "--after-fetch", "move",
                        "--move-folder", "\\Trash")
        run, r = self.fetch("label")
        self.assertEqual((run["fetched"], run["acted"]), (2, 2), r.stderr)
        self.assertEqual(self.srv.count_in(self.user, "[Gmail]/Trash"), 2)
        self.assertEqual(self.srv.count_in(self.user, "Support/Tickets"), 0)

    def test_test_connection_lists_the_folders_with_their_uses(self):
        self.on_gmail()
        self.srv.create_mailbox(self.user, "Support/Tickets")
        self.srv.create_mailbox(self.user, "Relatórios")
        self.account_on("picker")
        j = self.json("account", "test", "picker", "--format", "json")
        self.assertTrue(j["ok"], j)
        folders = {f["name"]: f.get("special_use") for f in j["folders"]}
        self.assertEqual(folders.get("[Gmail]/All Mail"), "\\All", folders)
        self.assertEqual(folders.get("[Gmail]/Trash"), "\\Trash")
        self.assertIsNone(folders.get("Support/Tickets", "missing"))
        self.assertIn("INBOX", folders)
        self.assertIn("Relatórios", folders)  # decoded from modified UTF-7
        self.assertNotIn("[Gmail]", folders)  # \\Noselect: not a folder one can fetch
        self.assertFalse(j["folders_truncated"])
        step = next(s for s in j["steps"] if s["step"] == "folders")
        self.assertIn(f"{len(folders)} folders: ", step["detail"])


class PickerListTest(FolderBase):
    def test_a_folder_that_does_not_exist_still_gets_the_list(self):
        self.on("cyrus")
        self.srv.create_mailbox(self.user, spelled("cyrus", "Support"))
        self.account_on("typo", "--folder", "Suport")
        out = self.run_cli("account", "test", "typo", "--format", "json")
        self.assertEqual(out.returncode, 1)
        j = json.loads(out.stdout)
        self.assertFalse(j["ok"])
        self.assertIn("INBOX/Support", [f["name"] for f in j["folders"]])

    def test_pop3_has_no_folders(self):
        self.on("flat")
        self.add_credential("pop-cred", password=self.password, username=self.user)
        self.json("account", "add", "--name", "pop", "--protocol", "pop3", "--address",
                  "127.0.0.1", "--port", str(self.srv.ports["pop3s"]), "--security", "tls",
                  "--skip-certificate", "yes", "--credential", "pop-cred")
        j = self.json("account", "test", "pop", "--format", "json")
        self.assertTrue(j["ok"], j)
        self.assertEqual(j["folders"], [])


if __name__ == "__main__":
    unittest.main()
