# Thin wrapper over CMake. The two commands a newcomer needs:
#   make run     install dependencies, build, start mailroom
#   make check   install dependencies, build with sanitizers, run every test
BUILD       := build
CHECK_BUILD := build/check
JOBS        := $(shell nproc 2>/dev/null || echo 2)
SOURCES      = $(shell git ls-files '*.c' '*.h' 2>/dev/null)

.PHONY: all deps test-deps build run check soak bench bench-delivery bench-push guard-baseline fuzz format format-check clean

all: build

# What building and running need (Debian packages); make run stops here.
deps:
	scripts/deps.sh

# And what the tests need besides: Node.js, and the npm packages of the
# browser tests (tests/e2e) and of the OAuth 2.0 authorization server
# (tests/oauth). Only make check (and make test-deps) installs them.
test-deps:
	scripts/deps.sh --tests
	@[ -d tests/e2e/node_modules/playwright-core ] || \
		(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
	@[ -d tests/oauth/node_modules/oidc-provider ] || \
		(cd tests/oauth && npm ci --no-audit --no-fund --loglevel=error)

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

run: deps build
	@[ "$$(id -u)" != 0 ] || echo "make run: started as root, mailroom keeps its data in" \
	    "/var/lib/mailroom and runs as the system user mailroom (created if missing)"
	./$(BUILD)/mailroom serve

# The release build is checked too: the cost guard (tests/perf) runs it under
# valgrind, which cannot run the sanitized one.
check: test-deps build
	cmake -S . -B $(CHECK_BUILD) -DCMAKE_BUILD_TYPE=Debug -DMR_SANITIZE=ON \
		-DMR_GUARD_BIN=$(CURDIR)/$(BUILD)/mailroom >/dev/null
	cmake --build $(CHECK_BUILD) -j $(JOBS)
	cd $(CHECK_BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	bench/run.sh $(N)

# The outbox: deliveries a second to a local signed webhook and the time
# from commit to arrival (p50/p99), N messages (default 10000).
bench-delivery: build
	python3 bench/delivery.py $(N)

# Push (IMAP IDLE): N accounts (default 1000) in IDLE on a private Dovecot,
# the time to bring them up (and after a restart), rest and load figures,
# and the latency from delivery to store at 20 and 100 messages a second.
bench-push: build
	python3 bench/push.py $(or $(N),1000)

# The crash tests at 10x their kills: 500 SIGKILLs per crash test instead of
# 50, and 200 daemon kills with the CLI and the API beside it instead of 20;
# run directly, as they take longer than ctest's per-test timeout (about 15
# minutes for the crash test's daemon alone on 2 cores, as long for beside).
soak: check
	cd tests/integration && MAILROOM_BIN=$(abspath $(CHECK_BUILD))/mailroom MR_KILLS=500 \
	    PYTHONDONTWRITEBYTECODE=1 python3 -m unittest -v test_crash
	cd tests/integration && MAILROOM_BIN=$(abspath $(CHECK_BUILD))/mailroom MR_KILLS=200 \
	    PYTHONDONTWRITEBYTECODE=1 python3 -m unittest -v test_beside

# libFuzzer targets under ASan+UBSan, FUZZ_SECONDS each (default 60).
fuzz: deps
	scripts/fuzz.sh

# After making the fetch path cheaper on purpose: record the new cost.
guard-baseline: build
	MAILROOM_GUARD_BIN=$(CURDIR)/$(BUILD)/mailroom python3 tests/perf/guard.py --update

format:
	clang-format -i $(SOURCES)

format-check:
	clang-format --dry-run -Werror $(SOURCES)

clean:
	rm -rf $(BUILD)
