#!/usr/bin/env bash
# Installs the Debian packages that mailroom's build and test suite need.
# Idempotent: packages already installed are skipped, and `apt-get update`
# runs once, only when something has to be installed.
set -euo pipefail

packages=(
    # build
    build-essential cmake pkg-config clang-format
    # libraries
    libsqlite3-dev libsodium-dev libjansson-dev libssl-dev libgsasl-dev libgmime-3.0-dev
    libmicrohttpd-dev libcurl4-openssl-dev
    # tests: unit tests, a real Dovecot (IMAP and POP3), certificates
    libcmocka-dev python3 python3-yaml sqlite3 dovecot-imapd dovecot-pop3d dovecot-lmtpd openssl time
    # network connector tests: real proxies (SOCKS5, HTTP CONNECT, TLS in front)
    dante-server tinyproxy stunnel4
    # setting up from an e-mail address: a private DNS server (SRV, A, MX records);
    # dnsmasq-base is the binary without the system service
    dnsmasq-base
    # the fetch path's cost guard counts instructions (callgrind) and bytes written (strace)
    valgrind strace
    # the daemon under load (integration.load, bench/load.py), bench/accounts.py's profile
    wrk curl linux-perf
    # api.api reads the daemon's live environment (the admin password unset) with gdb
    gdb
    # browser tests: Debian's Chromium (driven by playwright-core from npm)
    chromium fonts-dejavu-core
)

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

# Node.js drives the browser tests and the tests' OAuth 2.0 server: asked
# for by `make check` (--tests), not by `make run`. The machine image has
# it, a bare Debian gets Debian's.
if [[ "${1:-}" == "--tests" ]]; then
    command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
fi

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "deps: all ${#packages[@]} packages present"
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "deps: missing packages: ${missing[*]}" >&2
    target=deps
    [[ "${1:-}" == "--tests" ]] && target=test-deps # the tests' Node.js too
    echo "deps: run 'make $target' as root (or: sudo apt-get install ${missing[*]})" >&2
    exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Packages such as dovecot would start system services on install; the tests
# run their own private instances, so forbid service starts while installing
# (unless the machine already has a policy of its own).
policy=/usr/sbin/policy-rc.d
made_policy=0
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && made_policy=1
fi
trap '[[ $made_policy -eq 1 ]] && rm -f "$policy"' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
