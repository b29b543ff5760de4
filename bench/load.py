#!/usr/bin/env python3
"""The console and API with a big store, under load, while mail is fetched.

    bench/load.py [--accounts 10000] [--messages 1000000] [--seconds 10]

Builds a data directory with that many accounts and stored messages (rows
written straight into a store the binary created, so building takes a minute,
not a day), starts `mailroom serve` on it, keeps a fetch of a private
Dovecot's mailbox running the whole time (fetch now, again and again), and
runs wrk (4 connections) against the accounts report and the inbox, first,
middle and last pages; then times the CSV export of every account with
curl. Prints a table with p50/p99 latency, requests per second and the goals
of the performance issue (p99 <= 50 ms, the CSV in <= 1 s).

Needs wrk (Debian package; installed here when missing, as root) and the
release build (make build)."""
import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "tests", "perf"))
sys.path.insert(0, os.path.join(ROOT, "tests", "api"))
from corpus import message  # noqa: E402
from daemon import free_port  # noqa: E402
from dovecot import POOL_PASSWORD, Dovecot  # noqa: E402

BIN = os.environ.get("MAILROOM_BIN") or os.path.join(ROOT, "build", "mailroom")
ADMIN = "load-Admin-pw-1"


def cli(data, *args, stdin=None):
    return subprocess.run([BIN, "--data", data, *args], input=stdin, capture_output=True,
                          text=True, check=True, timeout=120).stdout


def build_store(data, accounts, messages, mail_port, mail_user):
    """One real account (the fetch), then accounts and messages in bulk."""
    cli(data, "credential", "add", "--name", "mail", "--username", mail_user,
        "--password-stdin", stdin=POOL_PASSWORD)
    cli(data, "account", "add", "--name", "fetching", "--protocol", "imap", "--address",
        "127.0.0.1", "--port", str(mail_port), "--security", "none", "--credential", "mail",
        "--automatic-check", "no", "--keep-copy", "no")
    db = sqlite3.connect(os.path.join(data, "mailroom.db"))
    db.execute("PRAGMA synchronous=OFF")
    now = int(time.time())
    db.executemany(
        "INSERT INTO accounts (name, keep_copy, automatic_check, check_interval, enabled,"
        " address, port, protocol, use_connector, credential_id, skip_certificate, security,"
        " created_at, updated_at) VALUES (?, ?, 0, 300, ?, ?, NULL, ?, 0, 1, 0, ?, ?, ?)",
        ((f"acct-{i:05d}", i % 2, int(i % 7 != 0), f"mail{i % 50}.example.com",
          "imap" if i % 3 else "pop3", ("tls", "starttls", "none")[i % 3], now, now)
         for i in range(1, accounts)))
    raw = (b"From: Sender <s@example.org>\r\nTo: support@example.com\r\n"
           b"Subject: ticket\r\n\r\nHello, the printer is down again.\r\n")
    batch = 20000
    for start in range(0, messages, batch):
        rows = []
        for i in range(start, min(messages, start + batch)):
            rows.append((2 + i % (accounts - 1), 1, i + 1, os.urandom(32), len(raw),
                         now - messages + i, f"<load-{i}@example.org>",
                         "2026-11-21T10:00:00Z", now, f"Sender {i % 977} <s{i}@example.org>",
                         "support@example.com", f"ticket {i}: printer on floor {i % 9}",
                         i % 5 == 0, "Hello, the printer is down again. " * 4))
        db.executemany(
            "INSERT INTO messages (account_id, uidvalidity, uid, sha256, size, fetched_at,"
            " status, message_id, date, date_unix, from_addr, to_addr, subject, attachments,"
            " body_text) VALUES (?, ?, ?, ?, ?, ?, 'stored', ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        first = db.execute("SELECT max(id) FROM messages").fetchone()[0] - len(rows) + 1
        db.executemany("INSERT INTO message_raw (message_id, raw) VALUES (?, ?)",
                       ((first + k, raw) for k in range(len(rows))))
        db.commit()
    # the insert path keeps the inbox counters (migration 10); rows written
    # here directly get theirs counted at once
    db.execute("DELETE FROM message_counts")
    db.execute("INSERT INTO message_counts (account_id, stored, parse_failed)"
               " SELECT account_id, sum(status = 'stored'), sum(status = 'parse_failed')"
               " FROM messages GROUP BY account_id")
    db.execute("DELETE FROM message_blocks")
    db.execute("INSERT INTO message_blocks (status, block, n)"
               " SELECT status, id >> 12, count(*) FROM messages GROUP BY status, id >> 12")
    db.execute("ANALYZE")
    db.commit()
    db.close()


def wrk(url, token, seconds):
    r = subprocess.run(["wrk", "-t2", "-c4", f"-d{seconds}s", "--latency", "-H",
                        f"Authorization: Bearer {token}", url], capture_output=True, text=True,
                       timeout=seconds + 60)
    out = r.stdout

    def ms(label):
        m = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\b", out, re.M)
        if not m:
            return float("nan")
        return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"p50": ms("50%"), "p99": ms("99%"), "rps": float(rps.group(1)) if rps else 0,
            "errors": int(non2xx.group(1)) if non2xx else 0}


def keep_delivering(d, user, stop, counter):
    """New mail all the time: 100 messages every half second."""
    i = 3000
    while not stop.is_set():
        for _ in range(100):
            d.deliver(user, message(i))
            i += 1
        counter[0] = i - 3000
        stop.wait(0.5)


def keep_fetching(base, token, account, stop, counter):
    """Fetch now, again and again, until stop is set."""
    while not stop.is_set():
        req = urllib.request.Request(f"{base}/api/v1/accounts/{account}/fetch", method="POST",
                                     headers={"Authorization": f"Bearer {token}"})
        try:
            urllib.request.urlopen(req, timeout=30).read()
            counter[0] += 1
        except OSError:
            pass
        stop.wait(0.5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=10000)
    ap.add_argument("--messages", type=int, default=1000000)
    ap.add_argument("--seconds", type=int, default=10)
    args = ap.parse_args()
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    tmp = tempfile.mkdtemp(prefix="mr-load-", dir="/var/tmp")
    data = os.path.join(tmp, "var")
    d = Dovecot(tls=False, users=2, name="load").start()
    daemon = None
    try:
        user = d.take_user()
        for i in range(3000):
            d.deliver(user, message(i))
        t0 = time.time()
        build_store(data, args.accounts, args.messages, d.ports["imap"], user)
        print(f"load: store with {args.accounts} accounts and {args.messages} messages built in "
              f"{time.time() - t0:.0f} s ({os.path.getsize(os.path.join(data, 'mailroom.db')) >> 20} MB)")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = dict(os.environ, MAILROOM_ADMIN_PASSWORD=ADMIN)
        log = open(os.path.join(tmp, "daemon.log"), "w")
        daemon = subprocess.Popen([BIN, "--data", data, "serve", "--listen", f"127.0.0.1:{port}",
                                   "--no-scheduler"], stdout=log, stderr=subprocess.STDOUT,
                                  env=env)
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        token = re.search(r"(mrt_\S+|[A-Za-z0-9_-]{30,})",
                          cli(data, "token", "create", "--user", "admin", "--name", "load")).group(1)
        stop, fetches, delivered = threading.Event(), [0], [0]
        fetcher = threading.Thread(target=keep_fetching, args=(base, token, 1, stop, fetches))
        deliverer = threading.Thread(target=keep_delivering, args=(d, user, stop, delivered))
        fetcher.start()
        deliverer.start()
        wrk(base + "/api/v1/accounts", token, 2)  # warm-up, not reported
        last_ids = json.loads(urllib.request.urlopen(urllib.request.Request(
            f"{base}/api/v1/messages?page={(args.messages + 29) // 30 // 2}",
            headers={"Authorization": f"Bearer {token}"})).read())["next_before"]
        pages_a = (args.accounts + 29) // 30
        pages_m = (args.messages + 29) // 30
        cases = [("accounts report, page 1", "/api/v1/accounts"),
                 (f"accounts report, page {pages_a // 2}", f"/api/v1/accounts?page={pages_a // 2}"),
                 (f"accounts report, last page ({pages_a})", f"/api/v1/accounts?page={pages_a}"),
                 ("accounts report, name filter", "/api/v1/accounts?name=acct-0777"),
                 ("accounts report, secure=no filter", "/api/v1/accounts?secure=no&page=5"),
                 ("inbox, page 1", "/api/v1/messages"),
                 (f"inbox, page {pages_m // 2}", f"/api/v1/messages?page={pages_m // 2}"),
                 (f"inbox, last page ({pages_m})", f"/api/v1/messages?page={pages_m}"),
                 (f"inbox, keyset page after page {pages_m // 2}",
                  f"/api/v1/messages?before={last_ids}"),
                 ("one account's inbox, page 2", "/api/v1/accounts/2/messages?page=2")]
        print(f"\n{args.accounts} accounts, {args.messages} messages; wrk: 4 connections, "
              f"{args.seconds} s each, a fetch running throughout\n")
        print("| request | p50 ms | p99 ms (goal <= 50) | requests/s | errors |")
        print("|---|---:|---:|---:|---:|")
        for label, path in cases:
            r = wrk(base + path, token, args.seconds)
            print(f"| {label} | {r['p50']:.1f} | {r['p99']:.1f} | {r['rps']:.0f} | {r['errors']} |")
        c = subprocess.run(["curl", "-s", "-o", os.path.join(tmp, "accounts.csv"), "-w",
                            "%{time_total}", "-H", f"Authorization: Bearer {token}",
                            f"{base}/api/v1/reports/accounts.csv"], capture_output=True,
                           text=True, timeout=120)
        rows = sum(1 for _ in open(os.path.join(tmp, "accounts.csv"), "rb")) - 1
        print(f"\nCSV export of {rows} accounts: {float(c.stdout):.3f} s (goal <= 1 s)")
        stop.set()
        fetcher.join()
        deliverer.join()
        time.sleep(2)
        db = sqlite3.connect(os.path.join(data, "mailroom.db"), timeout=30)
        runs, stored, failed = db.execute(
            "SELECT count(*), sum(fetched), sum(result = 'error') FROM fetch_runs"
            " WHERE account_id = 1 AND result != 'running'").fetchone()
        db.close()
        print(f"meanwhile: {delivered[0] + 3000} messages delivered to the mailbox, fetch now "
              f"requested {fetches[0]} times, {runs} runs ended, {stored} messages stored "
              f"and deleted from the server, {failed} runs failed")
    finally:
        if daemon:
            daemon.terminate()
            daemon.wait(timeout=60)
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
