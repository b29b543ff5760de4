"""Never as root (src/cli/runas.c): mailroom started by root opens its
port and reads its TLS key, then runs as the data directory's owner (the
service user `mailroom` for a new one). Every command that opens the store
does the same, so nothing in the data directory ever belongs to root.

These need root: the suite runs as root on CI and on a fresh machine."""
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from daemon import ADMIN_PASSWORD, BIN, Client, Daemon, free_port, mailroom_tmp  # noqa: E402
sys.path.insert(0, os.path.join(HERE, "..", "cli"))
from mailroom_cli import SERVICE_USER, service_ids  # noqa: E402


def ids_of(pid):
    """Real, effective, saved and filesystem uids and gids, and the groups."""
    with open(f"/proc/{pid}/status") as fh:
        status = dict(line.rstrip("\n").split(":\t", 1) for line in fh if ":\t" in line)
    return ([int(x) for x in status["Uid"].split()], [int(x) for x in status["Gid"].split()],
            [int(x) for x in status["Groups"].split()])


def owners(top):
    """Every path under top (top too) with its owner's uid, symlinks not followed."""
    found = {top: os.lstat(top).st_uid}
    for root, dirs, files in os.walk(top):
        for name in dirs + files:
            path = os.path.join(root, name)
            found[path] = os.lstat(path).st_uid
    return found


def run(*argv, data=None, env=None, cwd=None, stdin=""):
    full = dict(os.environ, **(env or {}))
    full.pop("MAILROOM_DATA", None)
    return subprocess.run([BIN, *(["--data", data] if data else []), *argv], input=stdin,
                          capture_output=True, text=True, timeout=60, env=full, cwd=cwd)


def free_low_port():
    """A port below 1024 that nothing listens on here."""
    for port in range(901, 1000):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise unittest.SkipTest("no free port below 1024")


@unittest.skipUnless(os.geteuid() == 0, "needs root: what root does is the subject")
class NotRootTest(unittest.TestCase):
    def setUp(self):
        self.uid, self.gid = service_ids()
        self.tmp = mailroom_tmp("mailroom-notroot-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def assert_all_theirs(self, data, uid):
        for path, owner in owners(data).items():
            self.assertEqual(owner, uid, f"{path} belongs to uid {owner}")

    def test_serve_started_by_root_runs_as_the_service_user(self):
        d = Daemon(args=("--no-scheduler",))
        try:
            uids, gids, groups = ids_of(d.proc.pid)
            self.assertEqual(uids, [self.uid] * 4, "real, effective, saved and fs uid")
            self.assertEqual(gids, [self.gid] * 4)
            self.assertNotIn(0, groups)
            c = Client(d)
            self.assertEqual(c.login()[0], 200)
            status, body = c.json("POST", "/api/v1/credentials",
                                  {"name": "mail", "username": "u", "password": "secret-1"})
            self.assertEqual(status, 201, body)
            # the command line beside it, run by root, works as the daemon's user too
            r = d.cli("credential", "add", "--name", "other", "--username", "u",
                      "--password-stdin", stdin="secret-2")
            self.assertEqual(r.returncode, 0, r.stderr)
            r = d.cli("fetch", "--all")  # makes fetch.lock; nothing to fetch
            self.assertEqual(r.returncode, 0, r.stderr)
            names = [c["name"] for c in c.json("GET", "/api/v1/credentials")[1]["credentials"]]
            self.assertEqual(sorted(names), ["mail", "other"])
        finally:
            self.assertEqual(d.stop(), 0)
        out = d.output()
        self.assertIn(f"; running as {SERVICE_USER}, root given up; ", out)
        self.assertTrue(os.path.exists(os.path.join(d.data, "master.key")))
        self.assert_all_theirs(d.data, self.uid)
        self.assertEqual(os.stat(d.data).st_mode & 0o777, 0o700)

    def test_a_port_below_1024_and_a_key_only_root_reads(self):
        key, cert = os.path.join(self.tmp, "key.pem"), os.path.join(self.tmp, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
                        "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        os.chmod(key, 0o600)  # root's: the service user cannot read it
        port = free_low_port()
        data = os.path.join(self.tmp, "var")
        proc = subprocess.Popen([BIN, "--data", data, "serve", "--no-scheduler", "--listen",
                                 f"127.0.0.1:{port}", "--tls-cert", cert, "--tls-key", key],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=dict(os.environ, MAILROOM_ADMIN_PASSWORD=ADMIN_PASSWORD))
        try:
            ctx = ssl.create_default_context(cafile=cert)
            deadline, answer = time.time() + 20, None
            while answer is None and time.time() < deadline:
                try:
                    answer = urllib.request.urlopen(f"https://127.0.0.1:{port}/healthz",
                                                    context=ctx, timeout=2).read()
                except OSError:
                    time.sleep(0.1)
            self.assertIsNotNone(answer, "no HTTPS answer on the low port")
            self.assertEqual(ids_of(proc.pid)[0], [self.uid] * 4)
            self.assertEqual(os.stat(key).st_uid, 0)
        finally:
            proc.terminate()
            out = proc.communicate(timeout=60)[0]
        self.assertEqual(proc.returncode, 0, out)

    def test_the_port_is_named_when_it_cannot_be_had(self):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            r = run("serve", "--listen", f"127.0.0.1:{port}", data=os.path.join(self.tmp, "v"))
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"cannot listen on 127.0.0.1 port {port}: Address already in use", r.stderr)
        self.assertIn("choose another port with --listen", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "v")), "nothing made before")

    def test_a_data_directory_of_a_user_is_used_as_that_user(self):
        nobody = pwd.getpwnam("nobody")
        above = tempfile.mkdtemp(dir=self.tmp)
        os.chmod(self.tmp, 0o711)  # open to nobody on the way down
        os.chmod(above, 0o711)
        data = os.path.join(above, "theirs")
        os.mkdir(data, 0o700)
        os.chown(data, nobody.pw_uid, nobody.pw_gid)
        r = run("credential", "add", "--name", "n", "--username", "u", "--password-stdin",
                data=data, stdin="secret-3")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_all_theirs(data, nobody.pw_uid)
        # serve --user naming someone else is refused, not chowned
        r = run("serve", "--listen", f"127.0.0.1:{free_port()}", "--user", SERVICE_USER,
                data=data)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"{data} belongs to the user nobody, not {SERVICE_USER}", r.stderr)
        self.assert_all_theirs(data, nobody.pw_uid)

    def test_root_made_store_is_given_over_but_nothing_outside_it(self):
        data = os.path.join(self.tmp, "var")
        os.mkdir(data, 0o700)
        for name in ("mailroom.db", "master.key"):  # as an earlier root run left them
            open(os.path.join(data, name), "wb").close()
        victim = os.path.join(self.tmp, "victim")  # root's, outside the store
        with open(victim, "w") as fh:
            fh.write("root's\n")
        os.link(victim, os.path.join(data, "hardlink"))
        os.symlink(victim, os.path.join(data, "symlink"))
        r = run("account", "list", data=data)
        self.assertIn(f"gave the data directory {data} for the user {SERVICE_USER}",
                      r.stderr)
        self.assertEqual(os.stat(os.path.join(data, "mailroom.db")).st_uid, self.uid)
        self.assertEqual(os.stat(data).st_uid, self.uid)
        self.assertEqual(os.stat(victim).st_uid, 0, "a second name of a file is left alone")
        self.assertEqual(os.lstat(os.path.join(data, "symlink")).st_uid, 0)

    def test_a_directory_of_roots_that_is_no_store_is_refused(self):
        data = os.path.join(self.tmp, "notes")
        os.mkdir(data, 0o700)
        with open(os.path.join(data, "notes.txt"), "w") as fh:
            fh.write("mine\n")
        r = run("serve", "--listen", f"127.0.0.1:{free_port()}", data=data)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"{data} belongs to root and holds no mailroom store", r.stderr)
        self.assertIn("mailroom does not run as root", r.stderr)
        self.assert_all_theirs(data, 0)

    def test_users_that_cannot_be(self):
        data = os.path.join(self.tmp, "var")
        r = run("serve", "--user", "root", "--listen", f"127.0.0.1:{free_port()}", data=data)
        self.assertEqual(r.returncode, 1)
        self.assertIn("root is root, and mailroom does not run as root", r.stderr)
        r = run("serve", "--user", "no-such-user-x", "--listen", f"127.0.0.1:{free_port()}",
                data=data)
        self.assertEqual(r.returncode, 1)
        self.assertIn("there is no user no-such-user-x", r.stderr)
        self.assertFalse(os.path.exists(data))
        # not root: --user cannot switch
        theirs = os.path.join(self.tmp, "v2")
        r = subprocess.run(["setpriv", f"--reuid={SERVICE_USER}", f"--regid={SERVICE_USER}",
                            "--init-groups", "--", BIN, "--data", theirs, "serve",
                            "--user", "nobody", "--listen", f"127.0.0.1:{free_port()}"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("only root can switch to the user nobody", r.stderr)

    def test_a_data_directory_the_user_cannot_reach(self):
        closed = tempfile.mkdtemp(prefix="mailroom-closed-")  # 0700, root's: like /root
        try:
            data = os.path.join(closed, "var")
            r = run("account", "list", data=data)
            self.assertEqual(r.returncode, 1)
            self.assertIn(f"the user {SERVICE_USER}, as whom mailroom runs, cannot use {data}",
                          r.stderr)
            self.assertIn("a directory above it is closed to others", r.stderr)
        finally:
            shutil.rmtree(closed, ignore_errors=True)

    @unittest.skipIf(os.path.exists("/var/lib/mailroom"), "this machine has /var/lib/mailroom")
    def test_a_store_left_in_var_by_root_is_not_forgotten(self):
        # before, root's default was ./var as everyone's; a store there is
        # named rather than silently replaced by a new empty one
        os.mkdir(os.path.join(self.tmp, "var"), 0o700)
        open(os.path.join(self.tmp, "var", "mailroom.db"), "wb").close()
        r = run("account", "list", cwd=self.tmp)
        self.assertEqual(r.returncode, 1)
        self.assertIn("the store is in ./var", r.stderr)
        self.assertIn("mv var /var/lib/mailroom", r.stderr)
        self.assertFalse(os.path.exists("/var/lib/mailroom"))


if __name__ == "__main__":
    unittest.main()
