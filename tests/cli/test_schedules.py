"""mailroom report schedule and settings smtp-*: scheduling the settings
report from the command line, and running it now against a real SMTP
server on 127.0.0.1."""
import csv
import io
import os
import unittest

from mailroom_cli import CliTestCase
from smtpsink import SmtpSink


class ScheduleCliTest(CliTestCase):
    def setUp(self):
        super().setUp()
        self.sink = SmtpSink()
        self.add_credential()
        for name in ("Support-1", "support-2", "alerts"):
            self.add_account(name)
        self.ok("settings", "set", "smtp-host", "127.0.0.1")
        self.ok("settings", "set", "smtp-port", str(self.sink.port))
        self.ok("settings", "set", "smtp-from", "mailroom@example.com")

    def tearDown(self):
        self.sink.close()
        super().tearDown()

    def test_settings_show_the_relay(self):
        out = self.ok("settings", "show")
        self.assertIn("smtp-host:          127.0.0.1", out)
        self.assertIn(f"smtp-port:          {self.sink.port}", out)
        self.assertIn("smtp-from:          mailroom@example.com", out)
        self.fails("settings", "set", "smtp-port", "0", message="smtp_port")
        self.fails("settings", "set", "smtp-security", "ssl", message="none, starttls or tls")
        self.fails("settings", "set", "smtp-from", "nobody", message="not an e-mail address")
        self.fails("settings", "set", "smtp-colour", "red", code=2, message="unknown setting")

    def test_add_list_run_now_and_remove(self):
        outdir = os.path.join(self.tmp, "reports")
        os.mkdir(outdir)
        out = self.ok("report", "schedule", "add", "--name", "daily support",
                      "--recurrence", "daily", "--at", "06:15", "--filter", "name=support",
                      "--to", "ops@example.com", "--directory", outdir)
        self.assertIn("report schedule 1 'daily support' added; next run", out)
        listed = self.json("report", "schedule", "list")["schedules"]
        self.assertEqual(len(listed), 1)
        self.assertEqual(listed[0]["filters"], {"name": "support"})
        self.assertEqual(listed[0]["at"], "06:15")
        self.assertIn("daily support", self.ok("report", "schedule", "list"))

        self.ok("report", "schedule", "run-now", "daily support")
        self.assertEqual(len(self.sink.messages), 1)
        _, rcpts, msg = self.sink.messages[0]
        self.assertEqual(rcpts, ["ops@example.com"])
        att = next(msg.iter_attachments())
        rows = list(csv.reader(io.StringIO(att.get_content())))
        self.assertEqual(sorted(r[1] for r in rows[1:]), ["Support-1", "support-2"])
        self.assertEqual(os.listdir(outdir), [att.get_filename()])
        ran = self.json("report", "schedule", "list")["schedules"][0]
        self.assertEqual(ran["last_result"], "ok")
        self.assertEqual(ran["failures"], 0)

        self.ok("report", "schedule", "edit", "daily support", "--enabled", "no")
        self.assertFalse(self.json("report", "schedule", "list")["schedules"][0]["enabled"])
        self.ok("report", "schedule", "rm", "1")
        self.assertEqual(self.json("report", "schedule", "list")["schedules"], [])
        self.assertIn("schedule", self.ok("audit", "list"))

    def test_bad_input_names_each_flag(self):
        err = self.fails("report", "schedule", "add", "--name", "x", "--recurrence", "weekly",
                         "--day", "funday", "--at", "7pm", "--to", "ops@example.com,@x",
                         "--filter", "status=sleepy")
        for field in ("day", "at", "recipients", "filters"):
            self.assertIn(f": {field}: ", err)
        self.fails("report", "schedule", "add", "--name", "x", "--filter", "novalue",
                   message="expected KEY=VALUE")
        self.fails("report", "schedule", "run-now", "nope", message="no report schedule")
        self.assertEqual(self.json("report", "schedule", "list")["schedules"], [])

    def test_a_relay_that_is_down_fails_clearly_and_is_recorded(self):
        self.ok("report", "schedule", "add", "--name", "r", "--recurrence", "hours",
                "--every-hours", "6", "--to", "ops@example.com")
        self.sink.close()
        err = self.fails("report", "schedule", "run-now", "r",
                         message=f"sending through 127.0.0.1:{self.sink.port} failed")
        self.assertNotIn("s3cret-pw", err)
        s = self.json("report", "schedule", "list")["schedules"][0]
        self.assertEqual((s["last_result"], s["failures"]), ("error", 1))
        self.assertIn("Couldn't connect", s["last_error"])


if __name__ == "__main__":
    unittest.main()
