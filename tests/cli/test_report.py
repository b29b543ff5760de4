"""mailroom account list: the IMAP/POP3 settings report with 65 accounts:
30 a page, every filter combination, and table, CSV and JSON agreeing."""
import csv
import io
import itertools
import unittest

from mailroom_cli import CliTestCase

SECURITY = ["none", "starttls-optional", "starttls", "tls"]
COLUMNS = ["ID", "Name", "Status", "Secure connection", "Connection type", "Protocol", "Port",
           "Automatic check", "Keep a copy on the server"]


def spec(i):
    """The deterministic settings of account i (1..65)."""
    if i == 7:
        name = 'Sales, "EMEA"'  # CSV must quote this
    elif i == 11:
        name = "Suporte Técnico"
    else:
        name = f"{'Support' if i % 5 == 0 else 'alerts'}-{i:02d}"
    return {
        "name": name,
        "protocol": "pop3" if i % 3 == 1 else "imap",
        "security": SECURITY[i % 4],
        "automatic_check": i % 2 == 1,
        "keep_copy": i % 3 != 0,
        "enabled": i % 7 != 0,
    }


def yn(b):
    return "yes" if b else "no"


class ReportTest(CliTestCase):
    @classmethod
    def setUpClass(cls):
        # one data directory for the whole class: 65 accounts take a while
        cls.shared = CliTestCase("run")
        cls.shared.setUp()
        cls.shared.add_credential()
        for i in range(1, 66):
            s = spec(i)
            cls.shared.ok("account", "add", "--name", s["name"], "--protocol", s["protocol"],
                          "--address", "mail.example.com", "--credential", "support-login",
                          "--security", s["security"],
                          "--automatic-check", yn(s["automatic_check"]),
                          "--keep-copy", yn(s["keep_copy"]), "--enabled", yn(s["enabled"]))

    @classmethod
    def tearDownClass(cls):
        cls.shared.tearDown()

    def setUp(self):
        super().setUp()
        self.data = self.shared.data

    def tearDown(self):
        pass  # the class owns the data directory

    def expected(self, name=None, secure=None, auto=None, keep=None, status="all"):
        ids = []
        for i in range(1, 66):
            s = spec(i)
            if name is not None and name.lower() not in s["name"].lower():
                continue
            if secure is not None and (s["security"] != "none") != secure:
                continue
            if auto is not None and s["automatic_check"] != auto:
                continue
            if keep is not None and s["keep_copy"] != keep:
                continue
            if status != "all" and s["enabled"] != (status == "enabled"):
                continue
            ids.append(i)
        return ids

    def test_pages_of_thirty(self):
        for page, size, first in ((1, 30, 1), (2, 30, 31), (3, 5, 61)):
            lines = self.ok("account", "list", "--page", str(page)).splitlines()
            self.assertEqual(lines[0].split("  ")[0], "ID")
            self.assertEqual(len(lines), size + 2)  # header, rows, footer
            self.assertEqual(lines[-1], f"page {page} of 3, 65 accounts")
            self.assertEqual(int(lines[1].split()[0]), first)
        self.fails("account", "list", "--page", "4", message="page 4 does not exist: 3 pages")
        self.fails("account", "list", "--page", "0", message="page: expected a page number")
        self.fails("account", "list", "--page", "x", message="page:")
        data = self.json("account", "list", "--page", "3")
        self.assertEqual((data["page"], data["pages"], data["per_page"], data["total"]),
                         (3, 3, 30, 65))
        self.assertEqual([a["id"] for a in data["accounts"]], list(range(61, 66)))

    def test_table_columns(self):
        lines = self.ok("account", "list", "--per-page", "100").splitlines()
        header = lines[0]
        for col in COLUMNS:
            self.assertIn(col, header)
        row = lines[3]  # account 3: imap, tls
        self.assertEqual(row.split()[:2], ["3", "alerts-03"])
        self.assertIn("SSL", row)
        self.assertIn("993", row)

    def test_every_filter_combination(self):
        tri = [None, True, False]
        for name, secure, auto, keep, status in itertools.product(
                [None, "support", "ALERTS-1"], tri, tri, tri, ["all", "enabled", "disabled"]):
            args = ["account", "list", "--per-page", "1000", "--status", status]
            if name is not None:
                args += ["--name", name]
            for flag, v in (("--secure", secure), ("--automatic-check", auto),
                            ("--keep-copy", keep)):
                if v is not None:
                    args += [flag, yn(v)]
            got = [a["id"] for a in self.json(*args)["accounts"]]
            self.assertEqual(got, self.expected(name, secure, auto, keep, status), args)

    def test_in_portuguese_with_lang(self):
        """LANG=pt_BR.UTF-8: the report's table and CSV take the Portuguese
        document's labels and sim/não; JSON keeps its keys."""
        pt = {"LANG": "pt_BR.UTF-8"}
        raw = self.ok("account", "list", "--format", "csv", "--secure", "yes", env=pt)
        rows = list(csv.reader(io.StringIO(raw, newline="")))
        self.assertEqual(rows[0], ["Código", "Nome", "Situação", "Conexão segura",
                                   "Tipo conexão", "Protocolo", "Porta", "Verificação automática",
                                   "Manter cópia no servidor"])
        self.assertEqual({r[3] for r in rows[1:]}, {"sim"})
        self.assertLessEqual({r[2] for r in rows[1:]}, {"ativo", "inativo"})
        table = self.ok("account", "list", "--secure", "no", env=pt)
        self.assertIn("Conexão segura", table.splitlines()[0])
        self.assertIn("não", table)
        j = self.json("account", "list", env=pt)
        self.assertIn("keep_copy", j["accounts"][0])
        # LC_ALL wins over LANG, as locales go
        raw = self.ok("account", "list", "--format", "csv", env={"LANG": "pt_BR.UTF-8",
                                                                 "LC_ALL": "C.UTF-8"})
        self.assertTrue(raw.startswith("ID,Name,"))

    def test_csv_export(self):
        raw = self.ok("account", "list", "--format", "csv", "--secure", "yes", "--page", "1")
        self.assertTrue(raw.endswith("\r\n"))
        self.assertNotIn("\n", raw.replace("\r\n", ""))  # CRLF only, no bare LF
        rows = list(csv.reader(io.StringIO(raw, newline="")))
        self.assertEqual(rows[0], COLUMNS)
        ids = self.expected(secure=True)
        self.assertGreater(len(ids), 30)  # all rows, not one page
        self.assertEqual([int(r[0]) for r in rows[1:]], ids)
        by_id = {int(r[0]): r for r in rows[1:]}
        self.assertEqual(by_id[7][1], 'Sales, "EMEA"')
        self.assertIn('"Sales, ""EMEA"""', raw)
        self.assertEqual(by_id[11][1], "Suporte Técnico")
        for i in ids:
            s = spec(i)
            conn = {"tls": "SSL", "starttls": "TLS", "starttls-optional": "TLS"}[s["security"]]
            port = {"imap": 993 if s["security"] == "tls" else 143,
                    "pop3": 995 if s["security"] == "tls" else 110}[s["protocol"]]
            self.assertEqual(by_id[i][1:], [s["name"], "enabled" if s["enabled"] else "disabled",
                                            "yes", conn, s["protocol"].upper(),
                                            str(port), yn(s["automatic_check"]),
                                            yn(s["keep_copy"])])

    def test_formats_agree(self):
        args = ["account", "list", "--name", "support", "--status", "enabled"]
        table_ids = [int(l.split()[0]) for l in self.ok(*args).splitlines()[1:-1]]
        json_ids = [a["id"] for a in self.json(*args)["accounts"]]
        csv_rows = list(csv.reader(io.StringIO(self.ok(*args, "--format", "csv"), newline="")))
        self.assertEqual(table_ids, json_ids)
        self.assertEqual([int(r[0]) for r in csv_rows[1:]], json_ids)
        self.assertEqual(json_ids, self.expected(name="support", status="enabled"))

    def test_empty_result_and_bad_filters(self):
        out = self.ok("account", "list", "--name", "no-such-account")
        self.assertEqual(out.splitlines()[-1], "page 1 of 1, 0 accounts")
        self.assertEqual(self.ok("account", "list", "--name", "zzz", "--format", "csv"),
                         ",".join(COLUMNS) + "\r\n")
        self.fails("account", "list", "--secure", "maybe",
                   message="secure: expected yes, no or any")
        self.fails("account", "list", "--keep-copy", "1", message="keep-copy:")
        self.fails("account", "list", "--automatic-check", "", message="automatic-check:")
        self.fails("account", "list", "--status", "on",
                   message="status: expected enabled, disabled or all")
        self.fails("account", "list", "--format", "xml", message="format: expected table")
        self.fails("account", "list", "--per-page", "0", message="per-page:")
        self.fails("account", "list", "--colour", "red", code=2)


if __name__ == "__main__":
    unittest.main()
