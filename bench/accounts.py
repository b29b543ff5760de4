#!/usr/bin/env python3
"""Check rounds of many accounts with no new mail: how long the daemon's
scheduler takes to check every one of N accounts (default 1000) once,
against the test suite's private Dovecot on 127.0.0.1.

    bench/accounts.py [N] [--security tls|none] [--workers W] [--rounds R]
                      [--keep-sessions K]

Accounts (checked every 10 minutes) are registered through the API with the
scheduler off, then made due all at once (their creation time moved an hour
back, so the scheduler's first-check spread is behind them), and the daemon
is restarted with the scheduler on. Round 1's clock runs from that start
until the N-th run has ended: every check logs in. Each further round moves
the fetch history 11 minutes back, so every account is due again at once,
and runs until N more runs have ended: checks then take up the sessions the
daemon kept open (--keep-sessions 0: they log in again). Prints a line of
figures per round; uses the release build (make build)."""
import argparse
import os
import sqlite3
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
os.environ.setdefault("MAILROOM_BIN", os.path.join(ROOT, "build", "mailroom"))
sys.path.insert(0, os.path.join(ROOT, "tests", "api"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from daemon import Client, Daemon  # noqa: E402
from dovecot import POOL_PASSWORD, Dovecot  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=1000)
    ap.add_argument("--security", default="tls", choices=["tls", "none"])
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--keep-sessions", type=int, default=None,
                    help="the daemon's --keep-sessions (default: N, all of them)")
    ap.add_argument("--scheme", default="SCRAM-SHA-256", choices=["SCRAM-SHA-256", "PLAIN"],
                    help="how Dovecot stores passwords (PLAIN makes it salt SCRAM afresh "
                         "on every login, so no client can reuse SaltedPassword)")
    ap.add_argument("--stock-dovecot", action="store_true",
                    help="Dovecot's default process model (a login process per connection)")
    ap.add_argument("--mailboxes", type=int, default=40,
                    help="distinct Dovecot users the accounts log in to")
    args = ap.parse_args()

    dovecot = Dovecot(users=args.mailboxes, name="bench", scheme=args.scheme,
                      high_performance=not args.stock_dovecot).start()
    d = None
    try:
        d = Daemon(("--no-scheduler",))
        c = Client(d)
        assert c.login()[0] == 200
        users = [dovecot.take_user() for _ in range(args.mailboxes)]
        for u in users:
            status, body = c.json("POST", "/api/v1/credentials",
                                  {"name": u, "username": u, "password": POOL_PASSWORD})
            assert status == 201, body
        port = dovecot.ports["imaps" if args.security == "tls" else "imap"]
        t0 = time.time()
        for i in range(args.n):
            status, body = c.json("POST", "/api/v1/accounts", {
                "name": f"bench-{i:05d}", "protocol": "imap", "address": "127.0.0.1",
                "port": port, "security": args.security, "skip_certificate": True,
                "credential": users[i % len(users)], "interval": 600})
            assert status == 201, body
        registered = time.time() - t0
        assert d.stop() == 0, d.output()[-2000:]
        db = sqlite3.connect(os.path.join(d.data, "mailroom.db"), timeout=10)
        db.execute("UPDATE accounts SET created_at = created_at - 3600")
        db.commit()

        keep = args.n if args.keep_sessions is None else args.keep_sessions
        d = Daemon(("--workers", str(args.workers), "--keep-sessions", str(keep),
                    "--keep-per-server", str(max(keep, 1))), reuse=d)
        ok = True
        for rnd in range(1, args.rounds + 1):
            if rnd > 1:  # every account due again at once
                db.execute("UPDATE fetch_runs SET started_at = started_at - 660,"
                           " ended_at = ended_at - 660")
                db.commit()
            ok &= one_round(args, d, db, rnd, keep, registered)
        db.close()
        return 0 if ok else 1
    finally:
        if d:
            d.stop()
        dovecot.stop()


def one_round(args, d, db, rnd, keep, registered):
    """Waits for N more runs to end; prints the round's line."""
    target = args.n * rnd
    if rnd > 1:  # the clock starts with the round's first check (the planner looks once a second)
        t = time.time()
        while (db.execute("SELECT count(*) FROM fetch_runs").fetchone()[0] <= args.n * (rnd - 1)
               and time.time() - t < 10):
            time.sleep(0.005)
    started = time.time()
    cpu0 = cpu_times()
    own0 = process_cpu(d.proc.pid)
    if os.environ.get("BENCH_PERF"):
        import subprocess
        perf = subprocess.Popen(["perf", "record", "-g", "-o", f"/tmp/perf.accounts.{rnd}",
                                 "-p", str(d.proc.pid)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    done = 0
    while done < target and time.time() - started < 600:
        done = db.execute("SELECT count(*) FROM fetch_runs WHERE ended_at IS NOT NULL"
                          ).fetchone()[0]
        time.sleep(0.02)
    elapsed = time.time() - started
    busy = (cpu_times() - cpu0) / os.sysconf("SC_CLK_TCK")
    own = process_cpu(d.proc.pid) - own0
    if os.environ.get("BENCH_PERF"):
        perf.send_signal(2)
        perf.wait()
    checked = done - args.n * (rnd - 1)
    failed = db.execute("SELECT count(*) FROM fetch_runs WHERE result = 'error'").fetchone()[0]
    errors = db.execute("SELECT error FROM fetch_runs WHERE result = 'error' LIMIT 1"
                        ).fetchone()
    print(f"round={rnd} ({'logins' if rnd == 1 or not keep else 'kept sessions'}) "
          f"accounts={args.n} security={args.security} workers={args.workers} "
          f"keep_sessions={keep} mailboxes={args.mailboxes} scheme={args.scheme} "
          f"dovecot={'stock' if args.stock_dovecot else 'high-performance'} "
          f"round_s={elapsed:.2f} per_account={elapsed / max(checked, 1) * 1000:.2f}ms "
          f"checked={checked} failed={failed} "
          f"cpu: all={busy:.2f}s mailroom={own:.2f}s "
          f"mailroom_cpu_per_check={own / max(checked, 1) * 1000:.2f}ms "
          f"(goal: round <= 2 s)"
          + (f" (registering took {registered:.1f}s)" if rnd == 1 else "")
          + (f" first error: {errors[0]}" if errors else ""), flush=True)
    return checked == args.n and failed == 0


def cpu_times():
    """Busy clock ticks of the whole machine (user, nice, system, irq, softirq)."""
    with open("/proc/stat") as fh:
        f = [int(x) for x in fh.readline().split()[1:]]
    return f[0] + f[1] + f[2] + f[5] + f[6]


def process_cpu(pid):
    """CPU seconds the daemon used (user + system), from /proc."""
    with open(f"/proc/{pid}/stat") as fh:
        f = fh.read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    sys.exit(main())
