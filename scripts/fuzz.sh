#!/usr/bin/env bash
# Runs every libFuzzer target (tests/fuzz) under AddressSanitizer and
# UndefinedBehaviorSanitizer for FUZZ_SECONDS each (default 60; the issue's
# long run is FUZZ_SECONDS=1800). The committed seeds are copied into
# build/fuzz/corpus/NAME, where libFuzzer adds what it finds; crashes land in
# build/fuzz/crashes/ (add each, once fixed, to tests/fuzz/corpus/NAME so
# `make check` replays it). Prints executions, coverage and corpus size per
# target.
#
#   scripts/fuzz.sh [NAME...]        default: imap pop3 mime csv json query sasl
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${FUZZ_SECONDS:-60}
targets=("${@:-imap pop3 mime csv json query sasl}")
read -r -a targets <<< "${targets[*]}"
if ! command -v clang >/dev/null || ! dpkg-query -W libclang-rt-14-dev >/dev/null 2>&1; then
    [[ $(id -u) -eq 0 ]] || { echo "fuzz: needs clang and libclang-rt-14-dev (run as root)" >&2; exit 1; }
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-14-dev
fi
build=$root/build/fuzz
CC=clang cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DMR_SANITIZE=ON -DMR_FUZZ=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target $(printf 'fuzz_%s ' "${targets[@]}") >/dev/null
mkdir -p "$build/crashes"
printf '\n| target | seconds | executions | exec/s | coverage (edges) | features | corpus | crashes |\n|---|---:|---:|---:|---:|---:|---:|---:|\n' > "$build/summary.md"
status=0
for t in "${targets[@]}"; do
    corpus=$build/corpus/$t
    mkdir -p "$corpus"
    cp -n "$root/tests/fuzz/corpus/$t/"* "$corpus/" 2>/dev/null || true
    log=$build/$t.log
    echo "fuzz: $t for ${seconds}s"
    if ! "$build/tests/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$build/crashes/$t-" -print_final_stats=1 "$corpus" > "$log" 2>&1; then
        status=1
        echo "fuzz: $t FAILED, see $log and $build/crashes/" >&2
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    crashes=$(find "$build/crashes" -name "$t-*" | wc -l)
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$t" "$seconds" "${execs:-?}" \
        "${rate:-?}" "${cov:-?}" "${ft:-?}" "$(ls "$corpus" | wc -l)" "$crashes" >> "$build/summary.md"
done
cat "$build/summary.md"
exit $status
