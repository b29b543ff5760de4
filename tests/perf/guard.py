"""The fetch path's cost guard: counts the instructions mailroom executes
(valgrind's callgrind, all threads) to fetch a deterministic corpus over
plain IMAP and POP3 from the suite's Dovecot, minus those of fetching an
empty mailbox (start-up, login, SCRAM), per message; and fails when that
grows past baseline.json by more than its margin. Instruction counts do not
depend on the machine's load, so this is not a timing test.

Callgrind sees only user space: what the kernel does for mailroom's writes
is not in those counts. So the guard also counts, with strace, the bytes the
fetch writes to files, per byte of mail stored: to the store (WAL and
database) and to temporary files. A statement journal (SQLite's temp file
for undoing one statement; a trigger on the messages table once made it copy
every page an insert touched: 28 times the mail's size for this corpus) or any other new
write traffic shows there. How many commits a fetch makes depends on timing,
so the store's figure varies a little and has a wider margin.

    guard.py              check against baseline.json
    guard.py --update     measure and write baseline.json

Needs a build without sanitizers: $MAILROOM_GUARD_BIN (default
build/mailroom)."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from dovecot import POOL_PASSWORD, Dovecot  # noqa: E402
from corpus import message  # noqa: E402
sys.path.insert(0, os.path.join(HERE, "..", "cli"))
from mailroom_cli import SERVICE_USER, for_mailroom, mailroom_tmp  # noqa: E402

N = 200
BASELINE = os.path.join(HERE, "baseline.json")
BIN = os.environ.get("MAILROOM_GUARD_BIN") or os.path.join(HERE, "..", "..", "build",
                                                           "mailroom")


def fetch_under(tool, what, d, user, proto, tmp):
    """One `mailroom fetch` (keep copy) of user's mailbox in a fresh data
    directory, run under the command tool (a list); returns the fetch's run
    as JSON and the data directory (SQLite's temporary files go there too)."""
    data = for_mailroom(tempfile.mkdtemp(dir=tmp))
    # MAILROOM_CORE_DUMPS=1 keeps the process dumpable: a non-dumpable one's
    # /proc/PID/fd belongs to root, and strace (running as the service user
    # here) could not name the files written, so it would count nothing
    env = dict(os.environ, MAILROOM_DATA=data, SQLITE_TMPDIR=data, MAILROOM_CORE_DUMPS="1")
    env.pop("MAILROOM_MASTER_KEY", None)
    # as root: the tool and mailroom both run as the service user, as
    # mailroom itself would (the tool's output goes where that user writes)
    as_user = (["setpriv", f"--reuid={SERVICE_USER}", f"--regid={SERVICE_USER}",
                "--init-groups", "--"] if os.geteuid() == 0 else [])

    def cli(*args, stdin=None):
        return subprocess.run([*as_user, BIN, *args], input=stdin, env=env,
                              capture_output=True, text=True, check=True, timeout=120).stdout

    cli("credential", "add", "--name", "g", "--username", user, "--password-stdin",
        stdin=POOL_PASSWORD)
    cli("account", "add", "--name", "g", "--protocol", proto, "--address", "127.0.0.1",
        "--port", str(d.ports[proto]), "--security", "none", "--credential", "g")
    r = subprocess.run([*as_user, *tool, BIN, "fetch", "g", "--format", "json"], env=env,
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise SystemExit(f"guard: fetch under {what} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout)["runs"][0], data


def instructions(d, user, proto, tmp):
    """Instructions of one fetch of user's mailbox, and how many it fetched."""
    out = os.path.join(tmp, f"callgrind.{proto}.{user}")
    run, data = fetch_under(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"],
                            "valgrind", d, user, proto, tmp)
    with open(out) as f:
        total = int(re.search(r"^(?:summary|totals): (\d+)", f.read(), re.M).group(1))
    shutil.rmtree(data, ignore_errors=True)
    return total, run["fetched"]


def written(d, user, proto, tmp):
    """Bytes one fetch of user's mailbox writes to the store's files and to
    temporary files, and the bytes of mail it stored."""
    out = os.path.join(tmp, f"strace.{proto}.{user}")
    run, data = fetch_under(["strace", "-f", "-qq", "-y", "-o", out, "-e",
                             "trace=write,pwrite64,writev,pwritev,pwritev2"],
                            "strace", d, user, proto, tmp)
    stored = run["bytes"]
    store = temp = 0
    call = re.compile(r"^\d+\s+\w+\(\d+<([^>]*)>.*\)\s+=\s+(\d+)$")
    with open(out) as f:
        for line in f:
            m = call.match(line.rstrip())
            if not m:
                continue
            path, n = m.group(1), int(m.group(2))
            if path.startswith(data + "/mailroom.db"):
                store += n
            elif path.startswith(data + "/"):
                temp += n  # SQLite's temporary files (SQLITE_TMPDIR), unlinked at once
    shutil.rmtree(data, ignore_errors=True)
    return store, temp, stored


def measure():
    d = Dovecot(tls=False, users=2, name="guard").start()
    tmp = mailroom_tmp("mr-guard-")
    try:
        empty, full = d.take_user(), d.take_user()
        for i in range(N):
            d.deliver(full, message(i))
        figures = {}
        for proto in ("imap", "pop3"):
            base, n0 = instructions(d, empty, proto, tmp)
            total, n = instructions(d, full, proto, tmp)
            if (n0, n) != (0, N):
                raise SystemExit(f"guard: {proto} fetched {n0} and {n}, expected 0 and {N}")
            figures[proto] = round((total - base) / N)
            print(f"guard: {proto}: {total:,} instructions for {N} messages, {base:,} for none: "
                  f"{figures[proto]:,} per message")
        for proto in ("imap", "pop3"):
            store, temp, stored = written(d, full, proto, tmp)
            if not stored:
                raise SystemExit(f"guard: {proto}: the fetch under strace stored nothing")
            if store < stored:  # the mail itself goes to the WAL at least once
                raise SystemExit(f"guard: {proto}: strace saw {store:,} bytes written to the "
                                 f"store for {stored:,} bytes of mail: it cannot name the files")
            figures[f"{proto}_store_writes"] = round(store / stored, 2)
            figures[f"{proto}_temp_writes"] = round(temp / stored, 3)
            print(f"guard: {proto}: {store:,} bytes written to the store and {temp:,} to "
                  f"temporary files for {stored:,} bytes of mail")
        return figures
    finally:
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)


# Bytes written per byte of mail: the store's (WAL, then the database at
# checkpoints: about twice the mail) may vary with the number of commits;
# temporary files should see next to nothing.
WRITE_MARGIN = 0.25
TEMP_WRITES_MAX = 0.05


def check_writes(figures, baseline):
    failed = False
    for proto in ("imap", "pop3"):
        value = figures.pop(f"{proto}_store_writes")
        ref = baseline.get("store_writes_per_byte", {}).get(proto)
        verdict = "ok"
        if ref and value > ref * (1 + WRITE_MARGIN):
            verdict, failed = f"FAILED: more than {WRITE_MARGIN:.0%} over the baseline", True
        print(f"guard: {proto}: {value} bytes written to the store per byte of mail "
              f"(baseline {ref}): {verdict}")
        temp = figures.pop(f"{proto}_temp_writes")
        verdict = "ok"
        if temp > TEMP_WRITES_MAX:
            verdict, failed = (f"FAILED: more than {TEMP_WRITES_MAX} (a statement journal? "
                               "see the top of guard.py)"), True
        print(f"guard: {proto}: {temp} bytes written to temporary files per byte of mail: "
              f"{verdict}")
    return failed


def main():
    for tool in ("valgrind", "strace"):
        if not shutil.which(tool):
            raise SystemExit(f"guard: {tool} is not installed (make deps installs it)")
    figures = measure()
    if "--update" in sys.argv:
        writes = {p: figures.pop(f"{p}_store_writes") for p in ("imap", "pop3")}
        for p in ("imap", "pop3"):
            figures.pop(f"{p}_temp_writes")
        with open(BASELINE, "w") as f:
            json.dump({"per_message_instructions": figures, "margin": 0.10,
                       "store_writes_per_byte": writes}, f, indent=2)
            f.write("\n")
        print(f"guard: wrote {BASELINE}")
        return 0
    with open(BASELINE) as f:
        baseline = json.load(f)
    margin = baseline["margin"]
    failed = check_writes(figures, baseline)
    for proto, value in figures.items():
        ref = baseline["per_message_instructions"][proto]
        ratio = value / ref
        verdict = "ok"
        if ratio > 1 + margin:
            verdict, failed = f"FAILED: more than {margin:.0%} over the baseline", True
        elif ratio < 1 - margin:
            verdict = "cheaper than the baseline: run `make guard-baseline` to lock it in"
        print(f"guard: {proto}: {value:,} vs baseline {ref:,} per message ({ratio:.2f}x): "
              f"{verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
