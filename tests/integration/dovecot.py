"""A private Dovecot for the integration tests: its config, self-signed
certificate, users, logs and mail all live in one temporary directory; it
listens on free ports on 127.0.0.1 only, for IMAP and POP3, in plain text
(STARTTLS offered unless tls=False) and implicit TLS. Stopped by its PID."""
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
import time

MAIL_USER = "mailroom-test"  # runs the mail processes when the tests run as root


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(count):
    """count different free ports: each held open until all are chosen (one
    by one, the kernel may hand out the same port twice)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def ensure_mail_user():
    try:
        return pwd.getpwnam(MAIL_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", MAIL_USER], check=True)
        return pwd.getpwnam(MAIL_USER)


POOL_PASSWORD = "pool-Pw-Quokka-42"
PASSWORD_MECHANISMS = "plain login cram-md5 scram-sha-1 scram-sha-256 apop"


class Dovecot:
    """users: how many accounts to create before start. Dovecot re-reads its
    passwd file at most once a second, so users added while it runs may stay
    unknown for a moment; tests take fresh users from this pool instead."""

    def __init__(self, tls=True, separator=".", name="main", users=80, scheme="PLAIN",
                 high_performance=False, cert_san="DNS:localhost,IP:127.0.0.1", oauth2=None,
                 imap_capability="+UIDPLUS", lmtp=False, mechanisms=PASSWORD_MECHANISMS,
                 prefix=None, special_use=None):
        """scheme: how passwords are stored; PLAIN (every mechanism works, and
        Dovecot salts SCRAM afresh on each login) or SCRAM-SHA-256 (Dovecot's
        recommended storage: a fixed salt, as on a real server).
        oauth2: the settings of dovecot-oauth2.conf.ext (a dict, e.g.
        oauth.OAuthServer.dovecot_oauth2()): XOAUTH2 and OAUTHBEARER offered
        too, their bearer tokens checked by a passdb oauth2 (introspection at
        the authorization server); the users' mail stays in the passwd file's
        homes, and passwords keep working with the other mechanisms.
        imap_capability: Dovecot's setting of that name; "+X" adds to what it
        offers, a whole list replaces it (e.g. to leave MOVE out).
        lmtp: Dovecot's LMTP service too, on a free loopback port
        (.lmtp_port) and a unix socket anyone may connect to (.lmtp_socket);
        with it, add_lda_user() and lda_command() deliver with dovecot-lda.
        mechanisms: the password mechanisms offered (auth_mechanisms), fewer
        to test a mechanism the server does not list.
        prefix: the personal namespace's prefix (default "INBOX" and the
        separator): with separator, the layouts servers have, e.g.
        prefix="INBOX.", separator="." (Courier), "INBOX/" and "/" (Cyrus
        with the Unix hierarchy separator), "" and "/" (INBOX without
        children, as GNU Mailutils).
        special_use: {folder: attribute} (RFC 6154), e.g. Gmail's layout
        {"[Gmail]/All Mail": "\\All", "[Gmail]/Trash": "\\Trash"}: each
        folder is created for every user and LIST marks it so."""
        self.special_use = special_use or {}
        self.mechanisms = mechanisms
        self.prefix = f"INBOX{separator}" if prefix is None else prefix
        self.imap_capability = imap_capability
        self.tls = tls
        self.oauth2 = oauth2
        self.scheme = scheme
        self.cert_san = cert_san  # the names the server's certificate is good for
        # benchmarks: Dovecot's "high-performance" login mode and reused mail
        # processes, as a busy server is run, so the bench measures the client
        self.high_performance = high_performance
        self.separator = separator
        self.dir = tempfile.mkdtemp(prefix=f"mr-dovecot-{name}-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        names = ("imap", "imaps", "pop3", "pop3s")
        self.ports = dict(zip(names, free_ports(len(names))))
        self.lmtp = lmtp
        self.lmtp_port = free_port() if lmtp else None
        self.lmtp_socket = os.path.join(self.dir, "run", "lmtp-test") if lmtp else None
        self.cert = os.path.join(self.dir, "ssl", "cert.pem")
        self.users = {}
        self.pool_size = users
        self.pool = []
        if os.getuid() == 0:
            pw = ensure_mail_user()
            self.uid, self.gid = pw.pw_uid, pw.pw_gid
        else:
            self.uid, self.gid = os.getuid(), os.getgid()

    # --- set-up -------------------------------------------------------------
    def _cert(self):
        os.makedirs(os.path.join(self.dir, "ssl"))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-sha256", "-days", "30", "-subj", "/CN=localhost",
                        "-addext", f"subjectAltName={self.cert_san}",
                        "-keyout", os.path.join(self.dir, "ssl", "key.pem"),
                        "-out", self.cert], check=True, capture_output=True)
        os.chmod(self.cert, 0o644)

    def _config(self):
        root = os.getuid() == 0
        d = self.dir
        login_user = "dovenull" if root else pwd.getpwuid(os.getuid()).pw_name
        internal = "dovecot" if root else login_user
        chroot = "" if root else "chroot ="
        ssl = (f"ssl = yes\nssl_cert = <{d}/ssl/cert.pem\nssl_key = <{d}/ssl/key.pem"
               if self.tls else "ssl = no")
        listeners = ""
        if self.oauth2:
            # Dovecot 2.3 penalises a failed XOAUTH2/OAUTHBEARER per IP (4, 8,
            # then 15 s before the next attempt is even looked at) although
            # 127.0.0.0/8 is a trusted network: the tests refuse tokens on
            # purpose, so this instance keeps no penalties at all
            listeners += ("service anvil {\n  unix_listener anvil-auth-penalty {\n"
                          "    mode = 0\n  }\n}\n")
        tuning = ("  service_count = 0\n  process_min_avail = 1\n  process_limit = 1\n"
                  if self.high_performance else "")
        if self.high_performance and not self.lmtp:
            listeners += "service auth {\n  client_limit = 4096\n}\n"
        if self.lmtp:
            listeners += self._lmtp_services()
        for proto in ("imap", "pop3"):
            secure = (f"  inet_listener {proto}s {{\n    address = 127.0.0.1\n"
                      f"    port = {self.ports[proto + 's']}\n    ssl = yes\n  }}\n"
                      if self.tls else "")
            if self.high_performance:  # 25 sessions a process: room for 2,500 kept open
                listeners += (f"service {proto} {{\n  service_count = 1000\n"
                              f"  process_min_avail = 4\n  client_limit = 25\n}}\n")
            listeners += (f"service {proto}-login {{\n  {chroot}\n{tuning}"
                          f"  inet_listener {proto} {{\n    address = 127.0.0.1\n"
                          f"    port = {self.ports[proto]}\n  }}\n{secure}}}\n")
        oauth2_passdb = ""
        if self.oauth2:
            # the passwd file answers for passwords only, and the tokens go to
            # the authorization server only: a password is no token, nor a
            # token a password
            oauth2_passdb = (f"  mechanisms = {PASSWORD_MECHANISMS}\n}}\npassdb {{\n"
                             f"  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
                             f"  args = {d}/dovecot-oauth2.conf.ext\n")
            # it holds the introspection client's secret: for Dovecot's auth
            # process (root, or the user running the tests) only
            path = os.path.join(d, "dovecot-oauth2.conf.ext")
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as fh:
                fh.writelines(f"{k} = {v}\n" for k, v in self.oauth2.items())
        conf = f"""# private test instance written by tests/integration/dovecot.py
instance_name = mailroom-test-{os.path.basename(d)}
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/log/dovecot.log
info_log_path = {d}/log/info.log
protocols = imap pop3{" lmtp" if self.lmtp else ""}
listen = 127.0.0.1
shutdown_clients = yes
default_login_user = {login_user}
default_internal_user = {internal}
default_internal_group = {internal}
first_valid_uid = {self._first_valid_uid()}
first_valid_gid = {self._first_valid_gid()}
{ssl}
disable_plaintext_auth = no
auth_mechanisms = {self.mechanisms}{" xoauth2 oauthbearer" if self.oauth2 else ""}
auth_verbose = yes
# tests fail logins on purpose: no growing per-IP penalty for loopback
login_trusted_networks = 127.0.0.0/8
auth_failure_delay = 0
mail_location = maildir:~/Maildir
mail_max_userip_connections = 100
namespace inbox {{
  inbox = yes
  prefix = {self.prefix}
  separator = {self.separator}
{self._mailbox_settings()}}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
{oauth2_passdb}}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/passwd
}}
protocol imap {{
  imap_capability = {self.imap_capability}
}}
pop3_uidl_format = %08Xu%08Xv
{listeners}"""
        for sub in ("run", "state", "log", "home"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        with open(os.path.join(d, "dovecot.conf"), "w") as fh:
            fh.write(conf)
        open(os.path.join(d, "passwd"), "w").close()
        os.chmod(os.path.join(d, "passwd"), 0o644)
        for i in range(self.pool_size):
            self.pool.append(self.add_user(f"user{i:03d}", POOL_PASSWORD))

    def _mailbox_settings(self):
        return "".join(f'  mailbox "{name}" {{\n    auto = create\n    special_use = {use}\n  }}\n'
                       for name, use in self.special_use.items())

    # --- LMTP and dovecot-lda (lmtp=True) ------------------------------------
    def _first_valid_uid(self):
        # with lmtp, add_lda_user() may give mail to another user (mailroom's
        # service user, a system account below the test user's uid)
        return min(self.uid, 100) if self.lmtp else self.uid

    def _first_valid_gid(self):
        return min(self.gid, 100) if self.lmtp else self.gid

    def _lmtp_services(self):
        """The LMTP listeners, the auth-userdb socket dovecot-lda asks (open
        to every user, as dovecot-lda runs as the mail's owner), and the
        small config dovecot-lda reads: none of the TLS key's settings, so
        that an unprivileged user can read it."""
        d = self.dir
        auth = "  client_limit = 4096\n" if self.high_performance else ""
        with open(os.path.join(d, "lda.conf"), "w") as fh:
            fh.write(f"""# dovecot-lda's settings for the test instance (tests/integration/dovecot.py)
base_dir = {d}/run
log_path = /dev/stderr
first_valid_uid = {self._first_valid_uid()}
first_valid_gid = {self._first_valid_gid()}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  prefix = {self.prefix}
  separator = {self.separator}
}}
""")
        os.chmod(os.path.join(d, "lda.conf"), 0o644)
        return (f"service lmtp {{\n  inet_listener lmtp {{\n    address = 127.0.0.1\n"
                f"    port = {self.lmtp_port}\n  }}\n"
                f"  unix_listener {os.path.basename(self.lmtp_socket)} {{\n    mode = 0666\n  }}\n}}\n"
                f"service auth {{\n{auth}  unix_listener auth-userdb {{\n    mode = 0666\n  }}\n}}\n"
                f"service stats {{\n  unix_listener stats-writer {{\n    mode = 0666\n  }}\n}}\n")

    def add_lda_user(self, name, uid=None, gid=None, password=POOL_PASSWORD):
        """A user whose mail belongs to uid:gid (default: the user running
        the tests), so that dovecot-lda run as that user (mailroom's service
        user, say) can deliver to it; IMAP logins work as for any user.
        Dovecot sees the user within a second or so (it re-reads the file)."""
        uid = os.getuid() if uid is None else uid
        gid = os.getgid() if gid is None else gid
        home = os.path.join(self.dir, "home", name)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(home, "Maildir", sub), exist_ok=True)
        for root, dirs, files in os.walk(home):
            os.chown(root, uid, gid)
        self.users[name] = password
        path = os.path.join(self.dir, "passwd")
        with open(path, "a") as fh:
            fh.write(f"{name}:{self._stored(password)}:{uid}:{gid}::{home}::\n")
        self._stamp = max(getattr(self, "_stamp", 0) + 1, int(time.time()))
        os.utime(path, (self._stamp, self._stamp))
        return name

    def lda_command(self, user, sender="mailroom@localhost"):
        """A dovecot-lda command line (for sh -c) that delivers the message
        on its stdin to user's INBOX with this instance's settings. Run it
        as the user owning that mail (see add_lda_user)."""
        return (f"/usr/lib/dovecot/dovecot-lda -c {shlex.quote(os.path.join(self.dir, 'lda.conf'))}"
                f" -d {shlex.quote(user)} -f {shlex.quote(sender)}")

    def start(self):
        if self.tls:
            self._cert()
        self._config()
        subprocess.run(["dovecot", "-c", os.path.join(self.dir, "dovecot.conf")], check=True)
        deadline = time.time() + 15
        wanted = [self.ports["imap"], self.ports["pop3"]] + (
            [self.ports["imaps"], self.ports["pop3s"]] if self.tls else []) + (
            [self.lmtp_port] if self.lmtp else [])
        while time.time() < deadline:
            if all(self._accepts(p) for p in wanted):
                return self
            time.sleep(0.05)
        raise RuntimeError("dovecot did not start:\n" + self.log())

    def restart(self, down=0):
        """Stops the server (its mail stays) and starts it again on the same
        ports after `down` seconds."""
        pidfile = os.path.join(self.dir, "run", "master.pid")
        with open(pidfile) as fh:
            pid = int(fh.read())
        os.kill(pid, 15)
        for _ in range(200):
            try:
                os.kill(pid, 0)
            except OSError:
                break
            time.sleep(0.05)
        time.sleep(down)
        subprocess.run(["dovecot", "-c", os.path.join(self.dir, "dovecot.conf")], check=True)
        deadline = time.time() + 15
        while time.time() < deadline and not self._accepts(self.ports["imap"]):
            time.sleep(0.05)
        return self

    @staticmethod
    def _accepts(port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self):
        pidfile = os.path.join(self.dir, "run", "master.pid")
        try:
            with open(pidfile) as fh:
                pid = int(fh.read())
            os.kill(pid, 15)
            for _ in range(100):
                os.kill(pid, 0)
                time.sleep(0.05)
        except (OSError, ValueError):
            pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        text = ""
        for name in ("dovecot.log", "info.log"):
            try:
                with open(os.path.join(self.dir, "log", name)) as f:
                    text += f.read()
            except OSError:
                pass
        return text

    # --- users and mail ---------------------------------------------------
    def take_user(self):
        """A user nobody else has used, with POOL_PASSWORD."""
        if not self.pool:
            name = self.add_user(f"late{len(self.users)}", POOL_PASSWORD)
            time.sleep(1.1)  # let Dovecot's once-a-second passwd check see it
            return name
        return self.pool.pop(0)

    def add_user(self, name, password):
        home = os.path.join(self.dir, "home", name)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(home, "Maildir", sub), exist_ok=True)
        self._chown(home)
        self.users[name] = password
        path = os.path.join(self.dir, "passwd")
        with open(path, "a") as fh:
            fh.write(f"{name}:{self._stored(password)}:{self.uid}:{self.gid}::{home}::\n")
        # Dovecot reloads the file when its mtime (in whole seconds) changes:
        # give every write a later second than the last, or a user added in
        # the same second as the previous reload stays unknown.
        self._stamp = max(getattr(self, "_stamp", 0) + 1, int(time.time()))
        os.utime(path, (self._stamp, self._stamp))
        return name

    def _stored(self, password):
        if self.scheme == "PLAIN":
            return "{PLAIN}" + password
        return subprocess.run(["doveadm", "pw", "-s", self.scheme, "-p", password],
                              capture_output=True, text=True, check=True).stdout.strip()

    def maildir(self, user, folder=None):
        base = os.path.join(self.dir, "home", user, "Maildir")
        if folder is None:
            return base
        # Maildir++ keeps sub-folders as .Name directories whatever the separator
        sub = folder[len("INBOX") + 1:] if folder.upper().startswith("INBOX") else folder
        return os.path.join(base, "." + sub.replace(self.separator, "."))

    def create_folder(self, user, folder):
        path = self.maildir(user, folder)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(path, sub), exist_ok=True)
        open(os.path.join(path, "maildirfolder"), "w").close()
        self._chown(os.path.join(self.dir, "home", user))

    def deliver(self, user, raw, folder=None, name=None):
        """Puts one message (bytes, CRLF or LF) into the user's folder."""
        path = self.maildir(user, folder)
        self._deliver_count = getattr(self, "_deliver_count", 0) + 1
        fname = name or f"{int(time.time())}.M{self._deliver_count}P{os.getpid()}.test"
        # Maildir delivery: written and owned in tmp/, then renamed into new/,
        # so Dovecot never sees a half-written or root-owned file
        staged = os.path.join(path, "tmp", fname)
        full = os.path.join(path, "new", fname)
        with open(staged, "wb") as fh:
            fh.write(raw.replace(b"\r\n", b"\n"))
        os.chown(staged, self.uid, self.gid)
        os.rename(staged, full)
        return full

    def doveadm(self, *args, input=None):
        return subprocess.run(["doveadm", "-c", os.path.join(self.dir, "dovecot.conf"), *args],
                              check=True, capture_output=True, text=True, input=input).stdout

    def create_mailbox(self, user, folder):
        """Creates the folder (its name in UTF-8, as the server spells it:
        with this instance's prefix and separator) with doveadm."""
        self.doveadm("mailbox", "create", "-u", user, folder)

    def save(self, user, raw, folder):
        """Puts one message into the folder (named as the server spells it)
        with doveadm save: any name, Maildir's encoding of it is Dovecot's."""
        self.doveadm("save", "-u", user, "-m", folder,
                     input=raw.replace(b"\r\n", b"\n").decode())

    def mailboxes(self, user):
        return self.doveadm("mailbox", "list", "-u", user).split("\n")

    def count_in(self, user, folder):
        """Messages in the folder (named as the server spells it), per doveadm."""
        out = self.doveadm("mailbox", "status", "-u", user, "messages", folder)
        return int(out.split("=")[1])

    def set_uidvalidity(self, user, value, folder="INBOX"):
        """Gives the folder a new UIDVALIDITY (and so new UIDs), as a server
        does after a rebuild or a restore."""
        self.doveadm("mailbox", "update", "-u", user, "--uid-validity", str(value), folder)

    def message_count(self, user, folder=None):
        path = self.maildir(user, folder)
        return sum(len(os.listdir(os.path.join(path, s))) for s in ("cur", "new"))

    def snapshot(self, user, folder=None):
        """File names and contents of a folder: to prove it was left unchanged."""
        path = self.maildir(user, folder)
        out = {}
        for s in ("cur", "new"):
            for f in sorted(os.listdir(os.path.join(path, s))):
                with open(os.path.join(path, s, f), "rb") as fh:
                    out[f"{s}/{f}"] = fh.read()
        return out

    def _chown(self, top):
        for root, dirs, files in os.walk(top):
            os.chown(root, self.uid, self.gid)
            for f in files:
                os.chown(os.path.join(root, f), self.uid, self.gid)


if __name__ == "__main__":
    d = Dovecot().start()
    d.add_user("alice", "alice-pw")
    d.deliver("alice", b"From: a@b\r\nSubject: hi\r\n\r\nbody\r\n")
    print(d.dir, d.ports)
    import sys
    if len(sys.argv) > 1:
        input("running; enter to stop")
    d.stop()
