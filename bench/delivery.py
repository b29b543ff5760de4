#!/usr/bin/env python3
"""Delivery benchmark (issue 19): how fast the daemon's outbox hands stored
messages to a local webhook receiver, and how long a message waits between
being committed and arriving there.

The shared harness (../../shared/bench) builds its deterministic corpus and
serves it from a private Dovecot; mailroom fetches it (keep copy) while
`mailroom serve` delivers what each batch commits to a signed webhook on
127.0.0.1. Two runs per size:
  live     the fetch and the deliveries at once: latency from commit to
           arrival (p50, p99, max) as a user sees it
  backlog  the same messages stored first with the outbox off, then the
           daemon started: the outbox's own throughput (deliveries a second)
  steady   messages arriving one by one (doveadm save, one process each: about 30 a second here)
           while the daemon checks the account every second: the latency a
           message sees when the outbox is not behind
Each burst run once with the default ordered target and once with --parallel yes.

    bench/delivery.py [N]        (default 10000; needs root for the harness)

The receiver is Python's ThreadingHTTPServer checking every signature: it is
part of what is measured, as a real receiver would be.
"""
import base64
import hashlib
import hmac
import http.server
import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
HARNESS = os.environ.get("BENCH_HARNESS_DIR", os.path.join(ROOT, "..", "shared", "bench"))
BIN = os.environ.get("MAILROOM_BIN", os.path.join(ROOT, "build", "mailroom"))
WORK = os.environ.get("BENCH_WORK", "/var/tmp/mailbench")
SECRET = "whsec_" + base64.b64encode(b"mailroom-bench-secret-0123456789").decode()
KEY = base64.b64decode(SECRET[6:])


class Receiver:
    def __init__(self):
        self.arrivals = {}  # event id -> first arrival (ms)
        self.requests = 0
        self.bad = 0
        self.lock = threading.Lock()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                now = time.time() * 1000
                i, ts = self.headers.get("webhook-id", ""), self.headers.get("webhook-timestamp", "")
                want = "v1," + base64.b64encode(hmac.new(KEY, f"{i}.{ts}.".encode() + body,
                                                         hashlib.sha256).digest()).decode()
                ok = want in self.headers.get("webhook-signature", "").split()
                with outer.lock:
                    outer.requests += 1
                    outer.bad += not ok
                    outer.arrivals.setdefault(i, now)
                self.send_response(200 if ok else 400)
                self.send_header("Content-Length", "0")
                self.end_headers()

        class S(http.server.ThreadingHTTPServer):
            daemon_threads = True
        self.httpd = S(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def count(self):
        with self.lock:
            return len(self.arrivals)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(data, *args, stdin=None):
    r = subprocess.run([BIN, "--data", data, *args], input=stdin, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"mailroom {' '.join(args)}: {r.stderr}")
    return r.stdout


def serve(data, workers):
    port = free_port()
    env = dict(os.environ, MAILROOM_ADMIN_PASSWORD="bench-Password-1")
    p = subprocess.Popen([BIN, "--data", data, "serve", "--listen", f"127.0.0.1:{port}",
                          "--no-scheduler", "--delivery-workers", str(workers)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return p
        except OSError:
            time.sleep(0.05)
    sys.exit("the daemon did not start")


def setup(data, rx, parallel, imap_port):
    shutil.rmtree(data, ignore_errors=True)
    os.makedirs(os.path.dirname(data), exist_ok=True)
    cli(data, "credential", "add", "--name", "bench", "--username", "bench", "--password-stdin",
        stdin="benchpw")
    cli(data, "credential", "add", "--name", "hook-secret", "--username", "webhook",
        "--password-stdin", stdin=SECRET)
    cli(data, "account", "add", "--name", "bench", "--protocol", "imap", "--address",
        "127.0.0.1", "--port", str(imap_port), "--security", "none", "--credential", "bench")
    cli(data, "target", "add", "bench", "--name", "hook", "--kind", "webhook", "--url",
        f"http://127.0.0.1:{rx.port}/hook", "--allow-http", "yes", "--secret-credential",
        "hook-secret", "--parallel", "yes" if parallel else "no")


def created(data):
    db = sqlite3.connect(os.path.join(data, "mailroom.db"))
    try:
        return dict(db.execute("SELECT event_id, created_ms FROM deliveries"))
    finally:
        db.close()


def wait_all(rx, n, limit=1800):
    t0 = time.time()
    while rx.count() < n and time.time() - t0 < limit:
        time.sleep(0.02)
    return rx.count() >= n


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p))] if s else 0


def run(n, mode, parallel, imap_port, workers=4):
    rx = Receiver()
    data = os.path.join(WORK, "delivery-bench", "mailroom")
    setup(data, rx, parallel, imap_port)
    if mode == "live":
        d = serve(data, workers)
        t0 = time.time()
        cli(data, "fetch", "bench")
        fetched = time.time() - t0
        ok = wait_all(rx, n)
        total = time.time() - t0
    else:
        t0 = time.time()
        cli(data, "fetch", "bench")
        fetched = time.time() - t0
        t1 = time.time()
        d = serve(data, workers)
        ok = wait_all(rx, n)
        total = time.time() - t1
    d.terminate()
    d.wait()
    made = created(data)
    lat = [rx.arrivals[e] - c for e, c in made.items() if e in rx.arrivals]
    first, last = min(rx.arrivals.values()), max(rx.arrivals.values())
    return {"mode": mode, "order": "parallel" if parallel else "ordered", "n": n,
            "delivered": rx.count(), "requests": rx.requests, "bad_signatures": rx.bad,
            "complete": ok, "fetch_s": round(fetched, 2), "total_s": round(total, 2),
            "per_s": round(rx.count() / max((last - first) / 1000, 0.001)),
            "p50_ms": round(pct(lat, 0.50)), "p99_ms": round(pct(lat, 0.99)),
            "max_ms": round(max(lat) if lat else 0)}


def steady(n, box, imap_port, count=500, rate=50):
    """count messages saved into the mailbox at about rate a second while
    the daemon (scheduler on, a check a second) fetches and delivers."""
    rx = Receiver()
    data = os.path.join(WORK, "delivery-bench", "mailroom")
    setup(data, rx, False, imap_port)
    cli(data, "target", "edit", "hook", "--enabled", "no")
    cli(data, "fetch", "bench")  # what the mailbox holds already: not delivered
    cli(data, "target", "edit", "hook", "--enabled", "yes")
    cli(data, "account", "edit", "bench", "--interval", "30")
    port = free_port()
    env = dict(os.environ, MAILROOM_ADMIN_PASSWORD="bench-Password-1",
               MAILROOM_TEST_INTERVAL_DIVISOR="30")
    d = subprocess.Popen([BIN, "--data", data, "serve", "--listen", f"127.0.0.1:{port}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    dovecot = os.path.join(HARNESS, "dovecot.sh")

    def expunge():  # the corpus stays as populate made it, for the next runs
        subprocess.run(["bash", dovecot, "doveadm", box, "expunge", "-u", "bench", "mailbox",
                        "INBOX", "SUBJECT", "steady"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    expunge()
    t0 = time.time()
    for i in range(count):
        raw = (f"From: steady{i}@example.com\r\nTo: bench@example.com\r\n"
               f"Message-ID: <steady{i}.{t0}@example.com>\r\nSubject: steady {i}\r\n\r\n"
               + "a steady stream of mail\r\n" * 200).encode()
        subprocess.run(["bash", dovecot, "doveadm", box, "save", "-u", "bench"], input=raw,
                       check=True, stdout=subprocess.DEVNULL)
        ahead = t0 + (i + 1) / rate - time.time()
        if ahead > 0:
            time.sleep(ahead)
    ok = wait_all(rx, count, 300)
    d.terminate()
    d.wait()
    expunge()
    made = created(data)
    lat = [rx.arrivals[e] - c for e, c in made.items() if e in rx.arrivals]
    return {"mode": "steady", "order": "ordered", "n": count, "delivered": rx.count(),
            "requests": rx.requests, "bad_signatures": rx.bad, "complete": ok,
            "fetch_s": 0, "total_s": round(time.time() - t0, 2),
            "per_s": round(count / max(time.time() - t0, 0.001)),
            "p50_ms": round(pct(lat, 0.50)), "p99_ms": round(pct(lat, 0.99)),
            "max_ms": round(max(lat) if lat else 0)}


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    subprocess.run(["bash", os.path.join(HARNESS, "setup.sh")], check=True,
                   stdout=subprocess.DEVNULL)
    box = os.path.join(WORK, f"delivery-n{n}")
    dovecot = os.path.join(HARNESS, "dovecot.sh")
    subprocess.run(["bash", dovecot, "stop", box], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    if not os.path.exists(os.path.join(box, "corpus.json")):
        subprocess.run([sys.executable, os.path.join(HARNESS, "populate.py"), str(n), box],
                       check=True, stdout=subprocess.DEVNULL)
    port = int(os.environ.get("BENCH_IMAP_PORT", "10143"))
    subprocess.run(["bash", dovecot, "start", box], check=True, stdout=subprocess.DEVNULL)
    rows = []
    try:
        for mode in ("live", "backlog"):
            for parallel in (False, True):
                rows.append(run(n, mode, parallel, port))
                print(json.dumps(rows[-1]), flush=True)
        rows.append(steady(n, box, port))
        print(json.dumps(rows[-1]), flush=True)
    finally:
        subprocess.run(["bash", dovecot, "stop", box], stdout=subprocess.DEVNULL)
    print()
    print(f"| run | target | delivered | deliveries/s | commit→arrival p50 ms | p99 ms | max ms "
          f"| fetch s | all delivered s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['mode']} | {r['order']} | {r['delivered']}/{r['n']} | {r['per_s']} "
              f"| {r['p50_ms']} | {r['p99_ms']} | {r['max_ms']} | {r['fetch_s']} "
              f"| {r['total_s']} |")
    bad = [r for r in rows if not r["complete"] or r["bad_signatures"]]
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
