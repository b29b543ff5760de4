"""Real proxies for the network connector tests, each in its own temporary
directory, listening on a free port of 127.0.0.1, stopped by its PID:

- Dante (danted) for SOCKS5, without authentication or with RFC 1929
  username/password (Dante checks those against the system's users, so a
  dedicated system user is made when the tests run as root);
- tinyproxy for HTTP CONNECT, with Basic authentication or without;
- stunnel in front of tinyproxy for an HTTP proxy reached over TLS.

Each keeps a log the tests read to prove the traffic went through it."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from dovecot import free_port

PROXY_USER = "mailroom-proxy"
PROXY_PASSWORD = "Proxy-Pw-Wombat-77"


def ensure_proxy_user():
    """A system user whose password Dante checks (RFC 1929)."""
    if subprocess.run(["id", PROXY_USER], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", PROXY_USER], check=True)
    subprocess.run(["chpasswd"], input=f"{PROXY_USER}:{PROXY_PASSWORD}\n".encode(),
                   check=True)


def wait_port(port, proc, log, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"proxy exited: {open(log).read()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"proxy did not listen on {port}")


class Proxy:
    name = "proxy"

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix=f"mr-{self.name}-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.log = os.path.join(self.dir, "log")
        self.proc = None

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Dante(Proxy):
    """auth: "none" or "username". blocked_port: connections to it are
    refused by a rule (SOCKS5 reply 2, not allowed by ruleset)."""
    name = "dante"

    def __init__(self, auth="none", blocked_port=None):
        super().__init__()
        self.auth = auth
        self.blocked_port = blocked_port

    def start(self):
        if self.auth == "username":
            ensure_proxy_user()
        block = ""
        if self.blocked_port:
            block = (f"socks block {{\n from: 127.0.0.0/8 to: 127.0.0.1/32 port = "
                     f"{self.blocked_port}\n log: connect error\n}}\n")
        conf = os.path.join(self.dir, "danted.conf")
        with open(conf, "w") as f:
            f.write(f"""logoutput: {self.log}
debug: 0
internal: 127.0.0.1 port = {self.port}
external: 127.0.0.1
clientmethod: none
socksmethod: {self.auth}
user.privileged: root
user.unprivileged: nobody
client pass {{
 from: 127.0.0.0/8 to: 0.0.0.0/0
 log: error
}}
{block}socks pass {{
 from: 127.0.0.0/8 to: 0.0.0.0/0
 command: connect
 log: connect disconnect error
}}
""")
        self.proc = subprocess.Popen(["danted", "-f", conf, "-p",
                                      os.path.join(self.dir, "pid"), "-N", "1"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, self.proc, self.log)
        return self

    def stop(self):
        super().stop()
        if self.auth == "username":  # no user with a known password stays behind
            subprocess.run(["userdel", PROXY_USER], capture_output=True)


class Tinyproxy(Proxy):
    name = "tinyproxy"

    def __init__(self, user=None, password=None):
        super().__init__()
        self.user = user
        self.password = password

    def start(self):
        conf = os.path.join(self.dir, "tinyproxy.conf")
        auth = f"BasicAuth {self.user} {self.password}\n" if self.user else ""
        with open(conf, "w") as f:
            f.write(f"""Port {self.port}
Listen 127.0.0.1
Timeout 60
LogFile "{self.log}"
LogLevel Connect
MaxClients 50
Allow 127.0.0.1
{auth}""")
        if os.getuid() == 0:
            # tinyproxy drops to nobody: let it write its log
            open(self.log, "w").close()
            shutil.chown(self.log, "nobody")
            with open(conf, "a") as f:
                f.write("User nobody\nGroup nogroup\n")
        self.proc = subprocess.Popen(["tinyproxy", "-d", "-c", conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, self.proc, self.log)
        return self


class TlsFront(Proxy):
    """stunnel: TLS on its port, plain text on to backend_port; its own
    self-signed certificate for "proxy.test" and 127.0.0.1 (not localhost)."""
    name = "stunnel"

    def __init__(self, backend_port):
        super().__init__()
        self.backend_port = backend_port
        self.cert = os.path.join(self.dir, "cert.pem")

    def start(self):
        key = os.path.join(self.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-sha256", "-days", "30", "-subj", "/CN=proxy.test",
                        "-addext", "subjectAltName=DNS:proxy.test,IP:127.0.0.1",
                        "-keyout", key, "-out", self.cert], check=True, capture_output=True)
        conf = os.path.join(self.dir, "stunnel.conf")
        with open(conf, "w") as f:
            f.write(f"""foreground = yes
pid =
output = {self.log}
debug = 5
[proxy]
accept = 127.0.0.1:{self.port}
connect = 127.0.0.1:{self.backend_port}
cert = {self.cert}
key = {key}
""")
        self.proc = subprocess.Popen(["stunnel4", conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_port(self.port, self.proc, self.log)
        return self


class Silent(Proxy):
    """Accepts connections and never answers: a proxy that hangs."""
    name = "silent"

    def start(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(16)
        return self

    def stop(self):
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)
