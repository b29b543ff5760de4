#!/usr/bin/env bash
# Times mailroom against fetchmail, mbsync, getmail and the raw wire limit on
# the same private Dovecot and corpus, using the shared harness
# (../../shared/bench; read its README). Needs root for the harness's
# setup (apt packages, the 'mailbench' user).
#
#   bench/run.sh [N...]          default N=2000
#   ONLY="raw mbsync mailroom" bench/run.sh 2000     (harness filters work)
#
# Tables are printed and kept in build/bench/, each followed by mailroom's
# ratios against the fastest peer and the raw limit (bench/ratios.py).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
harness=${BENCH_HARNESS_DIR:-$(cd "$root/../shared/bench" && pwd)}
make -C "$root" build >/dev/null
bash "$harness/setup.sh"
mkdir -p "$root/build/bench"
chmod o+rx "$root/build" "$root/build/bench" 2>/dev/null || true
export RESULTS_DIR=${RESULTS_DIR:-$root/build/bench}
export CONTENDER_NAME=mailroom
export CONTENDER_PROTO="imap imaps pop3 pop3s"
export CONTENDER_CMD="MAILROOM_BIN=$root/build/mailroom $here/contender.sh"
stamp=$(mktemp)
bash "$harness/run.sh" "${@:-2000}"
# the ratios against the fastest peer and the raw limit, per size
for tsv in $(find "$RESULTS_DIR" -name '*.tsv' -newer "$stamp" | sort); do
    echo
    python3 "$here/ratios.py" "$tsv" | tee "${tsv%.tsv}.ratios.md"
done
rm -f "$stamp"
