#!/usr/bin/env python3
"""Push benchmark (issue 22): N IMAP accounts in IDLE (fetch/push.h) on a
private Dovecot, one user each, and how long new mail waits.

    bench/push.py [N] [--rates 20,100] [--seconds 60] [--workers W] [--perf]

Figures, each printed as a line and kept in build/bench/push-N.json:
  up        from `mailroom serve`'s start until every account is in mode push
            (/metrics mailroom_push_accounts{mode="push"} = N, polled every
            0.2 s); again after a restart (SIGTERM, then a start on the same
            data), with the stop's own time;
  rest      the daemon's RSS, threads, open files and CPU over 20 s with the N
            connections open and no mail; Dovecot's CPU (master, its
            children, and those reaped meanwhile) over the same window;
  load      mail delivered over LMTP (one delivery per message, 4 connections
            kept open) to random users at each rate for --seconds: per
            message, from the end of DATA's 250 (Dovecot has it in the
            Maildir) until its row is in mailroom's store, seen by a
            read-only SQLite reader polling every 5 ms (the store's
            fetched_at is in seconds: too coarse); p50, p99, max, and the
            daemon's own figure (fetch_runs.latency_ms: the server's notice
            to the first commit); RSS and CPU of both over the window.
  floor     a bare IMAP client in IDLE (no mailroom): LMTP's 250 to the
            server's EXISTS, Dovecot's own delay (it waits 500 ms after a
            change before telling IDLE clients, NOTIFY_DELAY_MSECS in
            lib-storage/mailbox-watch.c).
The goal (issue 22): p99 < 1 s at 1,000 accounts, < 2 s at 10,000, Dovecot
on the same 2 cores. Accounts are registered through the API (a credential
and an account each, 4 clients at once); `mailroom account add` is timed on
20 accounts for comparison. Uses the release build (make build, or
MAILROOM_BIN); run as root (it raises the open-file limit to 65536 for
Dovecot and the daemon)."""
import shutil
import argparse
import json
import os
import random
import resource
import smtplib
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
os.environ.setdefault("MAILROOM_BIN", os.path.join(ROOT, "build", "mailroom"))
sys.path.insert(0, os.path.join(ROOT, "tests", "api"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from daemon import ADMIN_PASSWORD, Client, Daemon  # noqa: E402
from dovecot import POOL_PASSWORD, Dovecot  # noqa: E402

BIN = os.environ["MAILROOM_BIN"]
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def say(**kw):
    print(" ".join(f"{k}={v}" for k, v in kw.items()), flush=True)


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p))] if s else None


# --- /proc ---------------------------------------------------------------------
def stat(pid):
    """(utime+stime, cutime+cstime) in seconds, ppid, rss bytes."""
    with open(f"/proc/{pid}/stat") as fh:
        f = fh.read().rsplit(")", 1)[1].split()
    return ((int(f[11]) + int(f[12])) / TICK, (int(f[13]) + int(f[14])) / TICK, int(f[1]),
            int(f[21]) * PAGE)


def status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def daemon_sample(pid):
    cpu, _, _, rss = stat(pid)
    st = status(pid)
    return {"cpu": cpu, "rss_mb": rss / 1e6, "hwm_mb": int(st["VmHWM"].split()[0]) / 1e3,
            "threads": int(st["Threads"]), "fds": len(os.listdir(f"/proc/{pid}/fd"))}


def dovecot_sample(master):
    """CPU of the master, its live children, and the children it reaped; the
    sum of RSS and the number of imap processes."""
    cpu, reaped, _, rss = stat(master)
    total, rss_sum, imap = cpu + reaped, rss, 0
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            c, r, ppid, m = stat(int(p))
            if ppid != master:
                continue
            with open(f"/proc/{p}/comm") as fh:
                imap += fh.read().strip() == "imap"
        except OSError:
            continue
        total += c + r
        rss_sum += m
    return {"cpu": total, "rss_mb": rss_sum / 1e6, "imap_processes": imap}


def master_pid(dovecot):
    """Dovecot writes its pid file a moment after its ports answer."""
    path = os.path.join(dovecot.dir, "run", "master.pid")
    for _ in range(200):
        try:
            with open(path) as fh:
                return int(fh.read())
        except (OSError, ValueError):
            time.sleep(0.05)
    raise RuntimeError("no master.pid")


def machine_busy():
    with open("/proc/stat") as fh:
        f = [int(x) for x in fh.readline().split()[1:]]
    return (f[0] + f[1] + f[2] + f[5] + f[6]) / TICK


def window(d, master, seconds, during=None):
    """CPU of the daemon, Dovecot and the machine over `seconds` (running
    `during` meanwhile, if given), with the daemon's peak RSS."""
    d0, v0, m0, t0 = daemon_sample(d.proc.pid), dovecot_sample(master), machine_busy(), time.time()
    peak = d0["rss_mb"]
    result = None
    if during:
        th = threading.Thread(target=lambda: globals().__setitem__("_r", during()))
        th.start()
        while th.is_alive():
            peak = max(peak, daemon_sample(d.proc.pid)["rss_mb"])
            th.join(0.5)
        result = globals().pop("_r")
    else:
        end = t0 + seconds
        while time.time() < end:
            peak = max(peak, daemon_sample(d.proc.pid)["rss_mb"])
            time.sleep(0.5)
    wall = time.time() - t0
    d1, v1, m1 = daemon_sample(d.proc.pid), dovecot_sample(master), machine_busy()
    return result, {
        "wall_s": round(wall, 1),
        "mailroom_cpu_pct": round((d1["cpu"] - d0["cpu"]) / wall * 100, 1),
        "dovecot_cpu_pct": round((v1["cpu"] - v0["cpu"]) / wall * 100, 1),
        "machine_cpu_pct": round((m1 - m0) / wall * 100, 1),
        "mailroom_rss_mb": round(d1["rss_mb"], 1), "mailroom_rss_peak_mb": round(peak, 1),
        "mailroom_threads": d1["threads"], "mailroom_fds": d1["fds"],
        "dovecot_rss_mb": round(v1["rss_mb"], 1), "dovecot_imap_processes": v1["imap_processes"]}


# --- the daemon ---------------------------------------------------------------
def metrics(c):
    _, _, body = c.request("GET", "/metrics")
    out = {}
    for line in body.decode().splitlines():
        if line.startswith("mailroom_push_accounts{mode="):
            mode = line.split('"')[1]
            out[mode] = int(line.split()[-1])
    return out


def wait_push(d, n, limit):
    """Seconds from t0 (the daemon's start) until n accounts are in push;
    with the times to 50 % and 90 %."""
    c = Client(d)
    assert c.login()[0] == 200
    marks, last = {}, {}
    while time.time() - d.t0 < limit:
        last = metrics(c)
        live = last.get("push", 0)
        for f in (0.5, 0.9, 1.0):
            if live >= n * f and f not in marks:
                marks[f] = round(time.time() - d.t0, 2)
        if live >= n:
            break
        time.sleep(0.2)
    return {"to_50pct_s": marks.get(0.5), "to_90pct_s": marks.get(0.9),
            "to_all_s": marks.get(1.0), "modes": last}


def serve(args, n, reuse=None):
    t0 = time.time()
    d = Daemon(("--workers", str(args.workers), "--push-max", str(n + 10),
                "--push-max-per-server", str(n + 10), "--log-level", "warn"), reuse=reuse)
    d.t0 = t0
    d.started_s = round(time.time() - t0, 2)  # until the HTTP port answers
    return d


def register(d, dovecot, users, port, clients=4):
    """A credential and an account per user through the API, `clients` at once."""
    todo = list(enumerate(users))
    lock = threading.Lock()
    errors = []

    def worker():
        c = Client(d)
        assert c.login()[0] == 200
        while True:
            with lock:
                if not todo or errors:
                    return
                i, u = todo.pop()
            st, body = c.json("POST", "/api/v1/credentials",
                              {"name": f"c-{u}", "username": u, "password": POOL_PASSWORD})
            if st != 201:
                errors.append(body)
                return
            st, body = c.json("POST", "/api/v1/accounts", {
                "name": f"push-{i:05d}", "protocol": "imap", "address": "127.0.0.1",
                "port": port, "security": "none", "credential": f"c-{u}", "interval": 3600})
            if st != 201:
                errors.append(body)
                return
    ths = [threading.Thread(target=worker) for _ in range(clients)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    if errors:
        sys.exit(f"registering failed: {errors[0]}")


def cli_add_cost(dovecot, port, count=20):
    """Seconds per account with the CLI (a credential add and an account add,
    a process each), on a scratch data directory."""
    data = tempfile.mkdtemp(prefix="mr-push-cli-", dir="/tmp")
    env = dict(os.environ, MAILROOM_ADMIN_PASSWORD=ADMIN_PASSWORD)
    t0 = time.time()
    for i in range(count):
        for cmd, stdin in (
                (["credential", "add", "--name", f"c{i}", "--username", f"x{i}",
                  "--password-stdin"], POOL_PASSWORD),
                (["account", "add", "--name", f"a{i}", "--protocol", "imap", "--address",
                  "127.0.0.1", "--port", str(port), "--security", "none", "--credential",
                  f"c{i}"], None)):
            r = subprocess.run([BIN, "--data", data, *cmd], input=stdin, capture_output=True,
                               text=True, env=env)
            if r.returncode:
                sys.exit(f"mailroom {' '.join(cmd)}: {r.stderr}")
    per = (time.time() - t0) / count
    shutil.rmtree(data, ignore_errors=True)
    return per


# --- mail and its arrival ----------------------------------------------------------
class Watcher:
    """Polls the store read-only every 5 ms for new message rows; the first
    time each Message-ID is seen."""

    def __init__(self, data):
        self.db = sqlite3.connect(f"file:{os.path.join(data, 'mailroom.db')}?mode=ro", uri=True,
                                  timeout=5, check_same_thread=False)
        self.last = self.db.execute("SELECT coalesce(max(id), 0) FROM messages").fetchone()[0]
        self.seen = {}
        self.stopping = False
        self.th = threading.Thread(target=self.run, daemon=True)
        self.th.start()

    def run(self):
        while not self.stopping:
            try:
                rows = self.db.execute("SELECT id, message_id FROM messages WHERE id > ?",
                                       (self.last,)).fetchall()
            except sqlite3.OperationalError:
                rows = []
            now = time.time()
            for i, mid in rows:
                self.last = max(self.last, i)
                if mid:
                    self.seen.setdefault(mid.strip("<>"), now)
            time.sleep(0.005)

    def stop(self):
        self.stopping = True
        self.th.join()
        self.db.close()


def load(dovecot, users, rate, seconds, tag, senders=4):
    """Delivers rate messages a second for `seconds` over LMTP to random
    users; {message id: the time its 250 came}, and the rate achieved."""
    total = int(rate * seconds)
    ok, errors = {}, []
    lock = threading.Lock()
    nxt = [0]
    start = time.time() + 0.5
    rnd = random.Random(22)
    targets = [rnd.choice(users) for _ in range(total)]

    def sender():
        lmtp = smtplib.LMTP("127.0.0.1", dovecot.lmtp_port)
        try:
            while True:
                with lock:
                    k = nxt[0]
                    nxt[0] += 1
                if k >= total:
                    return
                due = start + k / rate
                pause = due - time.time()
                if pause > 0:
                    time.sleep(pause)
                mid = f"{tag}-{k}@push.bench"
                raw = (f"From: bench@push.bench\r\nTo: {targets[k]}@push.bench\r\n"
                       f"Subject: push {tag} {k}\r\nMessage-ID: <{mid}>\r\n\r\n"
                       f"message {k} of {total}\r\n").encode()
                try:
                    refused = lmtp.sendmail("bench@push.bench", [targets[k]], raw)
                except smtplib.SMTPException as e:
                    refused = {targets[k]: str(e)}
                t = time.time()
                with lock:
                    if refused:
                        errors.append(refused)
                    else:
                        ok[mid] = t
        finally:
            try:
                lmtp.quit()
            except smtplib.SMTPException:
                pass
    ths = [threading.Thread(target=sender) for _ in range(senders)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    span = max(ok.values()) - start if ok else 0
    return ok, errors, (len(ok) / span if span > 0 else 0)


def measure_load(d, master, dovecot, users, rate, seconds):
    tag = f"r{rate}-{int(time.time())}"
    w = Watcher(d.data)
    t_start = int(time.time())
    (ok, errors, achieved), win = window(
        d, master, None, lambda: load(dovecot, users, rate, seconds, tag))
    deadline = time.time() + 30  # the stragglers
    while time.time() < deadline and any(m not in w.seen for m in ok):
        time.sleep(0.05)
    w.stop()
    lat = [(w.seen[m] - t) * 1000 for m, t in ok.items() if m in w.seen]
    db = sqlite3.connect(f"file:{os.path.join(d.data, 'mailroom.db')}?mode=ro", uri=True)
    own = [r[0] for r in db.execute(
        "SELECT latency_ms FROM fetch_runs WHERE trigger = 'push' AND latency_ms IS NOT NULL"
        " AND started_at >= ?", (t_start,))]
    triggers = dict(db.execute("SELECT coalesce(trigger, '-'), count(*) FROM fetch_runs"
                               " WHERE started_at >= ? GROUP BY 1", (t_start,)).fetchall())
    db.close()
    r = {"rate": rate, "achieved_rate": round(achieved, 1), "sent": len(ok),
         "refused": len(errors), "stored": len(lat), "missing": len(ok) - len(lat),
         "p50_ms": round(pct(lat, 0.5) or 0), "p99_ms": round(pct(lat, 0.99) or 0),
         "max_ms": round(max(lat) if lat else 0),
         "daemon_p50_ms": pct(own, 0.5), "daemon_p99_ms": pct(own, 0.99),
         "daemon_max_ms": max(own) if own else None, "runs_by_trigger": triggers}
    r.update(win)
    return r


def idle_floor(dovecot, user, count=20):
    """The server's own delay: a bare IMAP client in IDLE on a user no
    account uses; per message, from LMTP's 250 to the server's EXISTS."""
    import socket
    sock = socket.create_connection(("127.0.0.1", dovecot.ports["imap"]), timeout=10)
    f = sock.makefile("rb")

    def cmd(line, until):
        sock.sendall(line.encode() + b"\r\n")
        while True:
            got = f.readline()
            if not got or got.startswith(until.encode()):
                return got
    f.readline()
    cmd(f"a LOGIN {user} {POOL_PASSWORD}", "a ")
    cmd("b SELECT INBOX", "b ")
    lat = []
    with smtplib.LMTP("127.0.0.1", dovecot.lmtp_port) as lmtp:
        for k in range(count):
            cmd("c IDLE", "+")
            lmtp.sendmail("bench@push.bench", [user], f"Subject: floor {k}\r\n\r\nx\r\n")
            t = time.time()
            while b"EXISTS" not in f.readline():
                pass
            lat.append((time.time() - t) * 1000)
            cmd("DONE", "c ")
    sock.close()
    return {"p50_ms": round(pct(lat, 0.5)), "max_ms": round(max(lat)), "count": count}


def perf_record(pid, seconds, name):
    out = f"/tmp/perf.push.{name}"
    subprocess.run(["perf", "record", "-g", "-o", out, "-p", str(pid), "--", "sleep",
                    str(seconds)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=1000)
    ap.add_argument("--rates", default="20,100")
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--up-limit", type=int, default=900, help="seconds to wait for all in push")
    ap.add_argument("--perf", action="store_true",
                    help="perf record the daemon for 30 s of the first bring-up")
    args = ap.parse_args()
    n = args.n
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, hard)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    results = {"n": n, "workers": args.workers, "nofile": resource.getrlimit(
        resource.RLIMIT_NOFILE)[0], "cpus": os.cpu_count(), "load_before": os.getloadavg()}

    t = time.time()
    dovecot = Dovecot(users=n + 1, name="push", tls=False, lmtp=True, connections=n + 200)
    d = None
    try:
        dovecot.start()
        master = master_pid(dovecot)
        results["dovecot_users_s"] = round(time.time() - t, 1)
        say(step="dovecot", users=n, seconds=results["dovecot_users_s"])
        port = dovecot.ports["imap"]
        users = list(dovecot.pool)
        probe = users.pop()  # no account: the bare IDLE client's
        results["cli_add_s_per_account"] = round(cli_add_cost(dovecot, port), 3)
        d = Daemon(("--no-scheduler",))
        t = time.time()
        register(d, dovecot, users, port)
        results["api_register_s"] = round(time.time() - t, 1)
        say(step="registered", accounts=n, api_s=results["api_register_s"],
            cli_s_per_account=results["cli_add_s_per_account"],
            cli_estimate_s=round(results["cli_add_s_per_account"] * n))
        assert d.stop() == 0, d.output()[-2000:]

        d = serve(args, n, reuse=d)
        if args.perf:
            threading.Thread(target=perf_record, args=(d.proc.pid, 30, f"up{n}"),
                             daemon=True).start()
        up = wait_push(d, n, args.up_limit)
        up["http_s"] = d.started_s
        results["up"] = up
        say(step="up", **{k: v for k, v in up.items()})
        _, rest = window(d, master, 20)
        results["rest"] = rest
        say(step="rest", **rest)
        results["idle_floor"] = idle_floor(dovecot, probe)
        say(step="idle_floor", **results["idle_floor"])
        results["load"] = []
        for rate in [int(x) for x in args.rates.split(",") if x]:
            r = measure_load(d, master, dovecot, users, rate, args.seconds)
            results["load"].append(r)
            say(step="load", **r)
        t = time.time()
        rc = d.stop()
        stop_s = round(time.time() - t, 2)
        d = serve(args, n, reuse=d)
        up = wait_push(d, n, args.up_limit)
        up["http_s"], up["stop_s"], up["stop_rc"] = d.started_s, stop_s, rc
        results["restart"] = up
        say(step="restart", **up)
        out = os.path.join(ROOT, "build", "bench")
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, f"push-{n}.json"), "w") as fh:
            json.dump(results, fh, indent=1)
        goal = 1000 if n <= 1000 else 2000
        worst = max((r["p99_ms"] for r in results["load"]), default=0)
        say(step="goal", p99_goal_ms=goal, worst_p99_ms=worst, met=worst < goal)
        return 0
    finally:
        if d:
            try:
                d.stop()
            except Exception:
                pass
        dovecot.stop()


if __name__ == "__main__":
    sys.exit(main())
