#!/usr/bin/env python3
"""ratios.py RUNS.tsv [CONTENDER] - mailroom against the peers and the raw
wire limit, from one run of the shared harness (its per-run .tsv).

For each protocol: mailroom's median wall time, the fastest peer's (the
lowest median among the other tools in the same run) and how many times
faster mailroom is, the raw limit's and how many times slower mailroom is,
and mailroom's peak RSS. The issue's goals are printed next to them: at least
5x faster than the fastest peer, within 2x of the raw limit, peak RSS
<= 32 MB."""
import csv
import statistics
import sys


def main():
    path = sys.argv[1]
    me = sys.argv[2] if len(sys.argv) > 2 else "mailroom"
    rows = [r for r in csv.DictReader(open(path), delimiter="\t") if r["status"] == "OK"]
    med, rss = {}, {}
    for r in rows:
        key = (r["tool"], r["proto"])
        med.setdefault(key, []).append(float(r["wall_s"]))
        rss[key] = max(rss.get(key, 0), int(r["maxrss_kb"]))
    med = {k: statistics.median(v) for k, v in med.items()}
    n = rows[0]["n"] if rows else "?"
    print(f"N={n}: {me} against the fastest peer and the raw limit (medians of one run)\n")
    print("| proto | mailroom s | fastest peer | peer s | x faster (goal >= 5) | raw s "
          "| x raw (goal <= 2) | peak RSS MB (goal <= 32) |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for proto in ("imap", "imaps", "pop3", "pop3s"):
        if (me, proto) not in med:
            continue
        mine = med[(me, proto)]
        peers = [(v, t) for (t, p), v in med.items() if p == proto and t not in (me, "raw")]
        peer = min(peers) if peers else None
        raw = med.get(("raw", proto))
        print(f"| {proto} | {mine:.3f} | {peer[1] if peer else '-'} | "
              f"{f'{peer[0]:.3f}' if peer else '-'} | "
              f"{f'{peer[0] / mine:.2f}' if peer else '-'} | "
              f"{f'{raw:.3f}' if raw else '-'} | {f'{mine / raw:.2f}' if raw else '-'} | "
              f"{rss[(me, proto)] / 1024:.1f} |")


if __name__ == "__main__":
    main()
