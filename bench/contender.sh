#!/usr/bin/env bash
# mailroom as a contender of ../shared/bench (see its README, "Adding a
# contender"): one account in keep mode on the harness's Dovecot, one fetch
# into a fresh store, every message committed durably (SQLite WAL,
# synchronous=FULL, one fsync per batch of 256 messages) before it exits.
# Prints msgs=N for the harness.
set -euo pipefail
mailroom=${MAILROOM_BIN:-$(cd "$(dirname "$0")/.." && pwd)/build/mailroom}
export MAILROOM_DATA=$BENCH_STATE/mailroom
proto=${BENCH_PROTO%s}            # imaps -> imap, pop3s -> pop3
security=none
[[ ${BENCH_TLS:-0} == 1 ]] && security=tls
printf '%s' "$BENCH_PASS" |
    "$mailroom" credential add --name bench --username "$BENCH_USER" --password-stdin >/dev/null
"$mailroom" account add --name bench --protocol "$proto" --address "$BENCH_HOST" \
    --port "$BENCH_PORT" --security "$security" --skip-certificate yes --credential bench >/dev/null
out=$("$mailroom" fetch bench --format json)
fetched=$(printf '%s' "$out" | sed -n 's/.*"fetched": \([0-9]*\).*/\1/p')
echo "msgs=$fetched"
