"""Scheduled reports over the API: the SMTP relay in settings, schedules with
the report's filters, run now, the daemon's own runs when one is due, and a
relay that is down (recorded, retried, nothing crashes)."""
import csv
import io
import os
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from daemon import Client, Daemon, for_mailroom, mailroom_tmp  # noqa: E402
from smtpsink import SmtpSink  # noqa: E402

RELAY_PASSWORD = "Relay-Secret-Pw-41"


def report_rows(text):
    return list(csv.reader(io.StringIO(text)))


class ScheduleApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.outdir = mailroom_tmp("mailroom-reports-")  # 0700, the daemon's
        # with the scheduler: it runs due reports; reports only under outdir
        cls.d = Daemon(args=("--report-dir", cls.outdir))
        cls.c = Client(cls.d)
        assert cls.c.login()[0] == 200
        cls.sink = SmtpSink(username="relay-user", password=RELAY_PASSWORD)
        status, _ = cls.c.json("POST", "/api/v1/credentials", {
            "name": "relay", "username": "relay-user", "password": RELAY_PASSWORD})
        assert status == 201
        status, _ = cls.c.json("POST", "/api/v1/credentials", {
            "name": "mail", "username": "u", "password": "x"})
        assert status == 201
        for name, proto in (("Support desk", "imap"), ("support-eu", "pop3"),
                            ("alerts", "imap"), ('Sales, "EMEA" <b>', "imap")):
            status, a = cls.c.json("POST", "/api/v1/accounts", {
                "name": name, "protocol": proto, "address": "mail.example.com",
                "credential": "mail", "automatic_check": False})
            assert status == 201, a
        _, s = cls.c.json("GET", "/api/v1/settings")
        assert s["smtp_security"] == "starttls", s  # the default (issue 17)
        # the sink speaks no TLS: its password goes in clear, which must be said
        status, s = cls.c.json("PATCH", "/api/v1/settings", {
            "smtp_host": "127.0.0.1", "smtp_port": cls.sink.port, "smtp_security": "none",
            "smtp_credential": "relay", "smtp_from": "mailroom@example.com"})
        assert status == 400 and "none-insecure" in str(s), s
        status, s = cls.c.json("PATCH", "/api/v1/settings", {
            "smtp_host": "127.0.0.1", "smtp_port": cls.sink.port,
            "smtp_security": "none-insecure", "smtp_credential": "relay",
            "smtp_from": "mailroom@example.com"})
        assert status == 200, s

    @classmethod
    def tearDownClass(cls):
        cls.sink.close()
        rc = cls.d.stop()
        assert rc == 0, cls.d.output()[-3000:]

    def create(self, body, expect=201):
        status, data = self.c.json("POST", "/api/v1/schedules", body)
        self.assertEqual(status, expect, data)
        return data

    def wait_mail(self, count, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline and len(self.sink.messages) < count:
            time.sleep(0.1)
        self.assertGreaterEqual(len(self.sink.messages), count, self.d.output()[-2000:])
        return self.sink.messages[count - 1]

    def test_settings_show_the_relay_but_never_its_password(self):
        status, s = self.c.json("GET", "/api/v1/settings")
        self.assertEqual(status, 200)
        self.assertEqual(s["smtp_host"], "127.0.0.1")
        self.assertEqual(s["smtp_port"], self.sink.port)
        self.assertEqual(s["smtp_credential"]["name"], "relay")
        self.assertNotIn(RELAY_PASSWORD, str(s))

    def test_the_relay_takes_no_password_in_clear_unless_told(self):
        """Plain none with a credential is refused on the field being set;
        STARTTLS required refuses a relay without it, sending nothing."""
        status, e = self.c.json("PATCH", "/api/v1/settings", {"smtp_security": "none"})
        self.assertEqual((status, e["error"]["fields"][0]["field"]), (400, "smtp_security"), e)
        self.assertIn("none-insecure", e["error"]["fields"][0]["message"])
        before = len(self.sink.auth_seen)
        status, s = self.c.json("PATCH", "/api/v1/settings", {"smtp_security": "starttls"})
        self.assertEqual(status, 200, s)
        try:
            sched = self.create({"name": "needs tls", "recurrence": "daily", "at": "05:00",
                                 "recipients": "ops@example.com"})
            _, ran = self.c.json("POST", f"/api/v1/schedules/{sched['id']}/run")
            self.assertEqual(ran["last_result"], "error")
            self.assertIn("does not offer STARTTLS", ran["last_error"])
            self.assertEqual(len(self.sink.auth_seen), before)  # no AUTH arrived
        finally:
            self.c.json("PATCH", "/api/v1/settings", {"smtp_security": "none-insecure"})
        _, s = self.c.json("GET", "/api/v1/settings")
        self.assertEqual(s["smtp_security"], "none-insecure")

    def test_bad_relay_settings_name_each_field(self):
        status, e = self.c.json("PATCH", "/api/v1/settings", {
            "smtp_port": 70000, "smtp_security": "ssl3", "smtp_from": "not an address",
            "smtp_credential": "nobody"})
        self.assertEqual(status, 400, e)
        fields = {f["field"] for f in e["error"]["fields"]}
        self.assertEqual(fields, {"smtp_port", "smtp_security", "smtp_from", "smtp_credential"})
        _, s = self.c.json("GET", "/api/v1/settings")
        self.assertEqual(s["smtp_port"], self.sink.port)  # nothing half-applied

    def test_bad_schedules_name_each_field(self):
        e = self.create({"name": "broken", "recurrence": "fortnightly", "at": "25:61",
                         "recipients": "ops@example.com, nope", "format": "pdf",
                         "filters": {"colour": "red"}}, expect=400)
        fields = {f["field"] for f in e["error"]["fields"]}
        self.assertTrue({"recurrence", "at", "recipients", "format", "filters"} <= fields, e)
        e = self.create({"name": "nowhere", "recurrence": "daily", "at": "08:00"}, expect=400)
        self.assertIn("recipients", str(e))  # neither recipients nor a directory
        e = self.create({"name": "relative", "recurrence": "hours", "every_hours": 0,
                         "directory": "reports"}, expect=400)
        fields = {f["field"] for f in e["error"]["fields"]}
        self.assertEqual(fields, {"every_hours", "directory"})
        _, lst = self.c.json("GET", "/api/v1/schedules")
        self.assertNotIn("broken", [s["name"] for s in lst["schedules"]])

    def test_directories_outside_the_report_base_are_refused(self):
        """The daemon writes reports only under its --report-dir: an admin
        cannot have it create files in /etc (issue 17)."""
        _, settings = self.c.json("GET", "/api/v1/settings")
        self.assertEqual(settings["report_dir"], os.path.realpath(self.outdir))
        for directory in ("/etc", os.path.join(self.outdir, "..")):
            e = self.create({"name": "escape", "recurrence": "daily", "at": "08:00",
                             "directory": directory}, expect=400)
            self.assertEqual([f["field"] for f in e["error"]["fields"]], ["directory"], e)
            message = e["error"]["fields"][0]["message"]
            self.assertIn(os.path.realpath(self.outdir), message)
            self.assertIn("--report-dir", message)
        shared = os.path.join(self.outdir, "shared")
        for_mailroom(shared)
        os.chmod(shared, 0o777)
        e = self.create({"name": "shared", "recurrence": "daily", "at": "08:00",
                         "directory": shared}, expect=400)
        self.assertIn("writable by group or others", str(e))
        _, lst = self.c.json("GET", "/api/v1/schedules")
        self.assertFalse({"escape", "shared"} & {s["name"] for s in lst["schedules"]})

    def test_run_now_mails_and_writes_the_filtered_report(self):
        s = self.create({"name": "support weekly", "recurrence": "weekly", "day": "monday",
                         "at": "07:30", "filters": {"name": "support"},
                         "recipients": "ops@example.com,lead@example.com",
                         "directory": self.outdir})
        self.assertEqual(s["day"], 1)
        self.assertEqual(s["at"], "07:30")
        self.assertIsNone(s["last_run_at"])
        before = len(self.sink.messages)
        status, ran = self.c.json("POST", f"/api/v1/schedules/{s['id']}/run")
        self.assertEqual(status, 200, ran)
        self.assertEqual(ran["last_result"], "ok", ran)
        self.assertEqual(ran["next_run_at"], s["next_run_at"])  # the regular run stays
        sender, rcpts, msg = self.wait_mail(before + 1)
        self.assertEqual(sender, "mailroom@example.com")
        self.assertEqual(sorted(rcpts), ["lead@example.com", "ops@example.com"])
        self.assertIn("relay-user", self.sink.auth_seen)
        self.assertEqual(msg["Subject"], "mailroom report: support weekly")
        att = next(msg.iter_attachments())
        self.assertTrue(att.get_filename().endswith(".csv"))
        rows = report_rows(att.get_content())
        self.assertEqual([r[1] for r in rows[1:]], ["Support desk", "support-eu"])
        files = [f for f in os.listdir(self.outdir) if f == att.get_filename()]
        self.assertEqual(len(files), 1)
        with open(os.path.join(self.outdir, files[0]), newline="") as f:
            self.assertEqual(report_rows(f.read()), rows)

    def test_html_report_escapes_names(self):
        s = self.create({"name": "html", "recurrence": "daily", "at": "06:00",
                         "format": "html", "filters": {"name": "sales"},
                         "recipients": "ops@example.com"})
        before = len(self.sink.messages)
        self.assertEqual(self.c.json("POST", f"/api/v1/schedules/{s['id']}/run")[1]
                         ["last_result"], "ok")
        _, _, msg = self.wait_mail(before + 1)
        html = next(msg.iter_attachments()).get_content()
        self.assertIn("Sales, &quot;EMEA&quot; &lt;b&gt;", html)
        self.assertNotIn("<b>", html)
        self.assertNotIn("alerts", html)

    def test_a_report_in_its_schedulers_language(self):
        """Scheduled in Portuguese: the columns as the Portuguese document
        names them, sim/não, the filters in words, a subject in RFC 2047;
        English stays the default; a language it does not know is refused."""
        s = self.create({"name": "Relatório semanal", "recurrence": "daily", "at": "06:00",
                         "format": "html", "language": "pt-BR",
                         "filters": {"name": "support", "automatic_check": "no",
                                     "status": "enabled"},
                         "recipients": "ops@example.com"})
        self.assertEqual(s["language"], "pt-BR")
        before = len(self.sink.messages)
        self.assertEqual(self.c.json("POST", f"/api/v1/schedules/{s['id']}/run")[1]
                         ["last_result"], "ok")
        _, _, msg = self.wait_mail(before + 1)
        self.assertEqual(str(msg["Subject"]), "relatório do mailroom: Relatório semanal")
        self.assertIn(b"subject: =?utf-8?", msg.as_bytes().lower())  # RFC 2047 on the wire
        html = next(msg.iter_attachments()).get_content()
        self.assertIn('<html lang="pt-BR">', html)
        self.assertIn("<h1>Relatório de configurações IMAP/POP3</h1>", html)
        self.assertIn("Filtros aplicados: Nome: support, Verificação automática: não, "
                      "Situação: ativo", html)
        for label in ("Código", "Nome", "Situação", "Conexão segura", "Tipo conexão", "Protocolo",
                      "Porta", "Verificação automática", "Manter cópia no servidor"):
            self.assertIn(f"<th>{label}</th>", html)
        self.assertIn("<td>não</td>", html)
        self.assertIn("<td>ativo</td>", html)  # the Status column, filtered to enabled
        self.assertNotIn("automatic_check", html)
        self.assertIn("está em anexo", msg.get_body(("plain",)).get_content())
        # English by default, with the filters in words too
        e = self.create({"name": "english", "recurrence": "daily", "at": "06:00",
                         "format": "html", "filters": {"keep_copy": "yes"},
                         "recipients": "ops@example.com"})
        self.assertEqual(e["language"], "en")
        self.c.json("POST", f"/api/v1/schedules/{e['id']}/run")
        _, _, msg = self.wait_mail(before + 2)
        html = next(msg.iter_attachments()).get_content()
        self.assertIn("Filters applied: Keep copy: yes", html)
        status, r = self.c.json("POST", "/api/v1/schedules", {
            "name": "klingon", "recurrence": "daily", "at": "06:00", "language": "tlh",
            "recipients": "ops@example.com"})
        self.assertEqual((status, r["error"]["field"]), (400, "language"))

    def test_the_daemon_runs_a_due_schedule_by_itself(self):
        s = self.create({"name": "hourly", "recurrence": "hours", "every_hours": 2,
                         "filters": {"name": "alerts"}, "recipients": "noc@example.com"})
        before = len(self.sink.messages)
        # make it due: the clock cannot be moved, the stored next run can
        db = sqlite3.connect(os.path.join(self.d.data, "mailroom.db"), timeout=10)
        db.execute("UPDATE report_schedules SET next_run_at = ? WHERE id = ?",
                   (int(time.time()) - 5, s["id"]))
        db.commit()
        db.close()
        _, rcpts, msg = self.wait_mail(before + 1)
        self.assertEqual(rcpts, ["noc@example.com"])
        rows = report_rows(next(msg.iter_attachments()).get_content())
        self.assertEqual([r[1] for r in rows[1:]], ["alerts"])
        deadline = time.time() + 10
        while time.time() < deadline:
            _, got = self.c.json("GET", f"/api/v1/schedules/{s['id']}")
            if got["last_result"] == "ok":
                break
            time.sleep(0.1)
        self.assertEqual(got["last_result"], "ok")
        nxt = time.mktime(time.strptime(got["next_run_at"], "%Y-%m-%dT%H:%M:%SZ"))
        self.assertGreater(nxt, time.mktime(time.gmtime()) + 3600)  # two hours on
        time.sleep(1.5)  # the thread polls every second: it must not send twice
        self.assertEqual(len([m for m in self.sink.messages if m[1] == ["noc@example.com"]]), 1)
        _, audit = self.c.json("GET", "/api/v1/audit?object=schedule")
        self.assertTrue(any(e.get("object_name") == "hourly" for e in audit["entries"]), audit)

    def test_relay_down_is_recorded_and_retried(self):
        dead = SmtpSink()
        port = dead.port
        dead.close()
        status, _ = self.c.json("PATCH", "/api/v1/settings", {"smtp_port": port})
        self.assertEqual(status, 200)
        try:
            s = self.create({"name": "unlucky", "recurrence": "daily", "at": "05:00",
                             "recipients": "ops@example.com"})
            status, ran = self.c.json("POST", f"/api/v1/schedules/{s['id']}/run")
            self.assertEqual(status, 200, ran)
            self.assertEqual(ran["last_result"], "error")
            self.assertIn(f"127.0.0.1:{port}", ran["last_error"])
            self.assertEqual(ran["failures"], 1)
            # retried in minutes, not at tomorrow's 05:00
            retry = time.mktime(time.strptime(ran["next_run_at"], "%Y-%m-%dT%H:%M:%SZ"))
            now = time.mktime(time.gmtime())
            self.assertLess(retry - now, 6 * 60)
            self.assertNotIn(RELAY_PASSWORD, str(ran))
        finally:
            self.c.json("PATCH", "/api/v1/settings", {"smtp_port": self.sink.port})
        status, h = self.c.json("GET", "/healthz")
        self.assertEqual(status, 200)

    def test_edit_and_delete(self):
        s = self.create({"name": "temp", "recurrence": "monthly", "day": 31, "at": "23:00",
                         "recipients": "ops@example.com"})
        status, e = self.c.json("PATCH", f"/api/v1/schedules/{s['id']}",
                                {"enabled": False, "recipients": "a@example.com"})
        self.assertEqual(status, 200, e)
        self.assertFalse(e["enabled"])
        self.assertEqual(e["recipients"], "a@example.com")
        status, _ = self.c.json("DELETE", f"/api/v1/schedules/{s['id']}")
        self.assertEqual(status, 200)
        status, e = self.c.json("GET", f"/api/v1/schedules/{s['id']}")
        self.assertEqual(status, 404)


if __name__ == "__main__":
    unittest.main()
