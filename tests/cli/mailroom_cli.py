"""Helpers for the command-line tests: run the real mailroom binary on a
fresh data directory and check exit codes, output and messages."""
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import unittest

_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
BIN = os.environ.get("MAILROOM_BIN") or next(
    (p for p in (os.path.join(_ROOT, "build", "check", "mailroom"),
                 os.path.join(_ROOT, "build", "mailroom")) if os.path.exists(p)), "mailroom")


SERVICE_USER = "mailroom"  # as root, mailroom runs as this user (src/cli/runas.c)


def service_ids():
    """The uid and gid mailroom runs as when the tests run as root; on a
    machine without the user, mailroom itself makes it, as it would for a
    newcomer."""
    try:
        pw = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        scratch = tempfile.mkdtemp(prefix="mailroom-user-")
        subprocess.run([BIN, "--data", os.path.join(scratch, "var"), "settings", "show"],
                       capture_output=True, timeout=60)
        shutil.rmtree(scratch, ignore_errors=True)
        pw = pwd.getpwnam(SERVICE_USER)
    return pw.pw_uid, pw.pw_gid


def for_mailroom(path, mode=0o700):
    """A directory (made when missing) for mailroom to write in: as root it
    goes to the service user, as one an administrator prepares would.
    Returns path."""
    os.makedirs(path, mode=mode, exist_ok=True)
    if os.geteuid() == 0:
        os.chown(path, *service_ids())
    return path


def mailroom_tmp(prefix):
    """A private scratch directory (0700) that mailroom, too, can use."""
    return for_mailroom(tempfile.mkdtemp(prefix=prefix))


class CliTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = mailroom_tmp("mailroom-cli-")
        self.data = os.path.join(self.tmp, "var")
        # the CLI reads LANG for the report's words: the tests' own is English
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("MAILROOM_DATA", "MAILROOM_MASTER_KEY", "LC_ALL", "LC_MESSAGES")}
        self.env["LANG"] = "C.UTF-8"

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_cli(self, *args, stdin=None, env=None, data=True):
        """Runs mailroom [--data DIR] ARGS; returns the CompletedProcess."""
        argv = [BIN] + (["--data", self.data] if data else []) + list(args)
        full_env = dict(self.env)
        full_env.update(env or {})
        # bytes in and out, so line ends arrive exactly as written (CSV has CRLF)
        r = subprocess.run(argv, input=stdin.encode() if stdin is not None else None,
                           capture_output=True, env=full_env, timeout=60)
        r.stdout = r.stdout.decode("utf-8")
        r.stderr = r.stderr.decode("utf-8")
        return r

    def ok(self, *args, **kw):
        r = self.run_cli(*args, **kw)
        self.assertEqual(r.returncode, 0,
                         f"mailroom {' '.join(args)} failed:\n{r.stderr}")
        return r.stdout

    def fails(self, *args, code=1, message=None, **kw):
        """Expects exit code `code` and every stderr line to be a mailroom
        message; `message` must appear in stderr. Returns stderr."""
        r = self.run_cli(*args, **kw)
        self.assertEqual(r.returncode, code,
                         f"mailroom {' '.join(args)}: expected exit {code}, got "
                         f"{r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}")
        if message is not None:
            self.assertIn(message, r.stderr)
        if code == 1:
            for line in r.stderr.splitlines():
                self.assertTrue(line.startswith("mailroom: "), line)
        return r.stderr

    def json(self, *args, **kw):
        return json.loads(self.ok(*args, "--format", "json", **kw))

    def add_credential(self, name="support-login", password="s3cret-pw",
                       username=None):
        return self.json("credential", "add", "--name", name, "--username",
                         username or f"{name}@example.com", "--password-stdin",
                         stdin=password)

    def add_connector(self, name="corp", type_="socks5", port="1080", *extra):
        return self.json("connector", "add", "--name", name, "--type", type_,
                         "--address", "proxy.internal", "--port", port, *extra)

    def add_account(self, name, *extra, protocol="imap", credential="support-login"):
        return self.json("account", "add", "--name", name, "--protocol", protocol,
                         "--address", "mail.example.com", "--credential", credential,
                         *extra)

    def count_accounts(self):
        return self.json("account", "list", "--per-page", "1000")["total"]

    def files_text(self):
        """Every byte under the data directory, for secret scans."""
        blob = b""
        for root, _, files in os.walk(self.data):
            for f in files:
                with open(os.path.join(root, f), "rb") as fh:
                    blob += fh.read()
        return blob
