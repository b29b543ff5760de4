"""Runs `mailroom serve` for the API tests and talks to it over real HTTP."""
import http.cookiejar
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from mailroom_cli import BIN, for_mailroom, mailroom_tmp  # noqa: E402,F401

ADMIN_PASSWORD = "admin-Password-42"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    """args default to --no-scheduler: only the scheduler's tests want
    automatic checks racing their manual fetches."""

    def __init__(self, args=("--no-scheduler",), env=None, reuse=None, listen="127.0.0.1"):
        """reuse: a stopped Daemon whose data directory this one takes over;
        listen: the address to listen on (the tests reach it there, or at
        127.0.0.1 when it is every address). With --tls-cert in args the base
        URL is https."""
        self.tmp = reuse.tmp if reuse else mailroom_tmp("mailroom-api-")
        self.data = os.path.join(self.tmp, "var")
        self.port = free_port()
        scheme = "https" if "--tls-cert" in args else "http"
        host = "127.0.0.1" if listen in ("0.0.0.0", "::") else listen
        self.base = f"{scheme}://{host}:{self.port}"
        env = dict(os.environ, MAILROOM_ADMIN_PASSWORD=ADMIN_PASSWORD, **(env or {}))
        env.pop("MAILROOM_DATA", None)
        self.log = open(os.path.join(self.tmp, "daemon.log"), "a+")
        self.proc = subprocess.Popen([BIN, "--data", self.data, "serve", "--listen",
                                      f"{listen}:{self.port}", *args], stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection((host, self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the daemon did not start:\n" + self.output())

    def output(self):
        with open(self.log.name) as fh:
            return fh.read()

    def cli(self, *args, stdin=None):
        env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES")}
        env["LANG"] = "C.UTF-8"  # the CLI's report words: English in the tests
        return subprocess.run([BIN, "--data", self.data, *args], input=stdin,
                              capture_output=True, text=True, timeout=60, env=env)

    def stop(self):
        self.proc.send_signal(15)
        rc = self.proc.wait(timeout=60)
        self.log.close()
        return rc


class Client:
    """A browser-like client: cookies, and the CSRF token after login."""

    def __init__(self, daemon, token=None):
        self.d = daemon
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.csrf = None
        self.token = token

    def request(self, method, path, body=None, headers=None, raw=None, csrf=True):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None
                                            else None)
        req = urllib.request.Request(self.d.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        if csrf and self.csrf and method not in ("GET", "HEAD"):
            req.add_header("X-CSRF-Token", self.csrf)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with self.opener.open(req, timeout=60) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def json(self, method, path, body=None, **kw):
        status, headers, data = self.request(method, path, body, **kw)
        return status, (json.loads(data) if data else None)

    def login(self, user="admin", password=ADMIN_PASSWORD):
        status, body = self.json("POST", "/api/v1/session",
                                 {"username": user, "password": password})
        if status == 200:
            self.csrf = body["csrf_token"]
        return status, body
