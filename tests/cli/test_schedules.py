"""mailroom report schedule and settings smtp-*: scheduling the settings
report from the command line, and running it now against a real SMTP
server on 127.0.0.1; where reports may be written, and how (issue 17)."""
import csv
import io
import os
import time
import unittest

from mailroom_cli import CliTestCase, for_mailroom
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
        self.ok("settings", "set", "smtp-security", "none")  # the sink has no TLS; no password

    def tearDown(self):
        self.sink.close()
        super().tearDown()

    def test_settings_show_the_relay(self):
        out = self.ok("settings", "show")
        self.assertIn("smtp-host:          127.0.0.1", out)
        self.assertIn(f"smtp-port:          {self.sink.port}", out)
        self.assertIn("smtp-from:          mailroom@example.com", out)
        self.fails("settings", "set", "smtp-port", "0", message="smtp_port")
        self.fails("settings", "set", "smtp-security", "ssl",
                   message="starttls, tls, none or none-insecure")
        self.fails("settings", "set", "smtp-from", "nobody", message="not an e-mail address")
        self.fails("settings", "set", "smtp-colour", "red", code=2, message="unknown setting")

    def test_add_list_run_now_and_remove(self):
        outdir = os.path.join(self.data, "reports")  # the default --report-dir
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


class SmtpSecurityCliTest(CliTestCase):
    """The relay's password never crosses the network in clear unless the
    admin says so (issue 17 item 4, CWE-319): STARTTLS is required by
    default, and AUTH over a plain connection needs smtp-security
    none-insecure."""

    def setUp(self):
        super().setUp()
        self.add_credential()
        self.add_account("Support-1")
        self.add_credential("relay", password="Relay-Clear-Pw-7", username="relay-user")

    def relay(self, sink, *settings):
        for key, value in (("host", "127.0.0.1"), ("port", str(sink.port)),
                           ("from", "mailroom@example.com"), *settings):
            self.ok("settings", "set", f"smtp-{key}", value)
        self.ok("report", "schedule", "add", "--name", "r", "--recurrence", "daily", "--at",
                "06:00", "--to", "ops@example.com")

    def test_the_relay_defaults_to_starttls(self):
        self.assertIn("smtp-security:      starttls", self.ok("settings", "show"))
        self.assertEqual(self.json("settings", "show")["smtp"]["security"], "starttls")

    def test_without_starttls_the_password_is_not_sent(self):
        sink = SmtpSink(username="relay-user", password="Relay-Clear-Pw-7")
        try:
            self.relay(sink, ("credential", "relay"))  # security left at its default
            err = self.fails("report", "schedule", "run-now", "r", message="STARTTLS")
            self.assertIn("smtp-security", err)
            self.assertEqual(sink.auth_seen, [])
            self.assertNotIn("AUTH", sink.commands)
            self.assertEqual(sink.messages, [])
        finally:
            sink.close()

    def test_starttls_comes_before_auth(self):
        sink = SmtpSink(username="relay-user", password="Relay-Clear-Pw-7", starttls=True)
        try:
            self.relay(sink, ("credential", "relay"), ("security", "starttls"))
            # the sink's certificate is self-signed: the handshake is refused
            err = self.fails("report", "schedule", "run-now", "r")
            self.assertIn(f"127.0.0.1:{sink.port}", err)
            self.assertEqual(sink.commands[:2], ["EHLO", "STARTTLS"])
            self.assertNotIn("AUTH", sink.commands)
            self.assertEqual(len(sink.tls_handshakes), 1)
            self.assertNotEqual(sink.tls_handshakes[0], "ok")
        finally:
            sink.close()

    def test_auth_in_clear_needs_none_insecure(self):
        sink = SmtpSink(username="relay-user", password="Relay-Clear-Pw-7")
        try:
            self.relay(sink, ("credential", "relay"))
            self.fails("settings", "set", "smtp-security", "none", message="none-insecure")
            self.ok("settings", "set", "smtp-credential", "")
            self.ok("settings", "set", "smtp-security", "none")  # no password: fine
            self.fails("settings", "set", "smtp-credential", "relay", message="none-insecure")
            self.ok("settings", "set", "smtp-security", "none-insecure")
            self.ok("settings", "set", "smtp-credential", "relay")
            self.ok("report", "schedule", "run-now", "r")
            self.assertEqual(sink.auth_seen, ["relay-user"])  # in clear, as asked
            self.assertEqual(len(sink.messages), 1)
        finally:
            sink.close()


class ReportDirectoryCliTest(CliTestCase):
    """Where a scheduled report is written: only under the report base
    (--report-dir, default DATA/reports), in a directory that belongs to
    mailroom's user and that nobody else can write, never through a symlink
    someone planted (the CWE-59 / CWE-377 class: a predictable temporary
    name opened with O_CREAT|O_TRUNC let whoever could write the directory
    make the daemon, often root, overwrite any file)."""

    def setUp(self):
        super().setUp()
        self.add_credential()
        self.add_account("Support-1")
        self.base = os.path.join(self.data, "reports")
        for_mailroom(self.base)

    def schedule(self, directory, *extra, name="r"):
        return self.run_cli("report", "schedule", "add", "--name", name, "--recurrence",
                            "daily", "--at", "06:00", "--directory", directory, *extra)

    def test_a_planted_symlink_never_redirects_the_report(self):
        victim = os.path.join(self.tmp, "victim")
        with open(victim, "w") as f:
            f.write("precious\n")
        out = os.path.join(self.base, "team")
        for_mailroom(out)
        self.assertEqual(self.schedule(out).returncode, 0)
        # the old names: accounts-ID-YYYYMMDD-HHMM.csv(.tmp), this minute and the next
        for minutes in (0, 1):
            stamp = time.strftime("%Y%m%d-%H%M", time.localtime(time.time() + 60 * minutes))
            for suffix in (".csv", ".csv.tmp"):
                os.symlink(victim, os.path.join(out, f"accounts-1-{stamp}{suffix}"))
        self.ok("report", "schedule", "run-now", "r")
        with open(victim) as f:
            self.assertEqual(f.read(), "precious\n")
        reports = [n for n in os.listdir(out) if not os.path.islink(os.path.join(out, n))]
        self.assertEqual(len(reports), 1, os.listdir(out))
        path = os.path.join(out, reports[0])
        self.assertRegex(reports[0], r"^accounts-1-\d{8}-\d{4}\.csv$")
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        with open(path) as f:
            self.assertIn("Support-1", f.read())
        self.assertEqual([n for n in os.listdir(out) if "tmp" in n and not
                          os.path.islink(os.path.join(out, n))], [])  # no temporary left

    def test_directories_outside_the_base_are_refused(self):
        escape = os.path.join(self.base, "escape")
        os.symlink(self.tmp, escape)
        for directory in ("/etc", self.tmp, os.path.join(self.base, "..", ".."), escape):
            r = self.schedule(directory)
            self.assertEqual(r.returncode, 1, f"{directory}: {r.stdout}{r.stderr}")
            self.assertIn(": directory: ", r.stderr)
            self.assertIn(os.path.realpath(self.base), r.stderr)
            self.assertIn("--report-dir", r.stderr)
        self.assertEqual(self.json("report", "schedule", "list")["schedules"], [])
        self.assertEqual(self.schedule(self.base).returncode, 0)  # the base itself is fine

    def test_a_directory_others_can_write_is_refused(self):
        shared = os.path.join(self.base, "shared")
        for_mailroom(shared)
        os.chmod(shared, 0o775)
        err = self.fails("report", "schedule", "add", "--name", "r", "--recurrence", "daily",
                         "--at", "06:00", "--directory", shared,
                         message="writable by group or others")
        self.assertIn(shared, err)
        self.assertIn("chmod go-w", err)
        # made shared after it was saved: the run is refused and recorded
        os.chmod(shared, 0o700)
        self.assertEqual(self.schedule(shared).returncode, 0)
        os.chmod(shared, 0o777)
        self.fails("report", "schedule", "run-now", "r", message="writable by group or others")
        self.assertEqual(os.listdir(shared), [])
        s = self.json("report", "schedule", "list")["schedules"][0]
        self.assertEqual(s["last_result"], "error")
        self.assertIn("chmod go-w", s["last_error"])

    @unittest.skipUnless(os.geteuid() == 0, "needs root to give a directory away")
    def test_a_directory_of_another_user_is_refused(self):
        theirs = os.path.join(self.base, "theirs")
        os.mkdir(theirs, 0o700)
        os.chown(theirs, 65534, 65534)
        err = self.fails("report", "schedule", "add", "--name", "r", "--recurrence", "daily",
                         "--at", "06:00", "--directory", theirs, message="belongs to uid 65534")
        self.assertIn(theirs, err)

    def test_report_dir_names_another_base(self):
        base = os.path.join(self.tmp, "elsewhere")  # missing: created 0700
        out = os.path.join(base, "ops")
        r = self.schedule(out, "--report-dir", base)
        self.assertEqual(r.returncode, 1)
        self.assertIn("does not exist", r.stderr)
        self.assertEqual(os.stat(base).st_mode & 0o777, 0o700)
        for_mailroom(out)
        self.assertEqual(self.schedule(out, "--report-dir", base).returncode, 0)
        self.ok("report", "schedule", "run-now", "r", "--report-dir", base)
        self.assertEqual(len(os.listdir(out)), 1)
        # another base (here the default) does not hold it: refused when run
        err = self.fails("report", "schedule", "run-now", "r", message="--report-dir")
        self.assertIn(os.path.realpath(self.base), err)


if __name__ == "__main__":
    unittest.main()
