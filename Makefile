# Parley's two commands: `make run` and `make test`. Each installs what it needs first.
BUILD_DIR ?= build
SANITIZE_DIR ?= build-sanitize
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
JOBS ?= $(shell nproc)
BROKER_FLAGS ?=
FRONTEND_FLAGS ?=

.PHONY: all deps build build-sanitize build-fuzz run dev test test-release test-sanitize \
	test-fuzz test-deploy fuzz format clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD_DIR) -j$(JOBS)

build-sanitize: deps
	@cmake -S . -B $(SANITIZE_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPARLEY_SANITIZE=ON >/dev/null
	@cmake --build $(SANITIZE_DIR) -j$(JOBS)

# The libFuzzer targets (fuzz/), with clang.
build-fuzz: deps
	@CC=clang CXX=clang++ cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DPARLEY_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_DIR) -j$(JOBS) --target parley_fuzzers

# Starts the broker (127.0.0.1:50051) and the frontend (http://localhost:8080) together;
# Ctrl-C stops both gracefully.
run: build
	@BUILD_DIR=$(BUILD_DIR) BROKER_FLAGS="$(BROKER_FLAGS)" FRONTEND_FLAGS="$(FRONTEND_FLAGS)" \
	  scripts/run-local.sh

# Like run, with the web files served from frontend/web (edit, reload the page) and both
# programs rebuilt and restarted when C++ sources change.
dev:
	@scripts/install-deps.sh --dev
	@BUILD_DIR=$(BUILD_DIR) BROKER_FLAGS="$(BROKER_FLAGS)" FRONTEND_FLAGS="$(FRONTEND_FLAGS)" \
	  scripts/dev.sh

# Every test, twice: an optimized build, then one under AddressSanitizer and UBSan; then
# each fuzzer for a fixed number of executions.
test: test-release test-sanitize test-fuzz

test-release: build
	@cd $(BUILD_DIR) && ctest --output-on-failure --timeout 300 -j$(JOBS)

test-sanitize: build-sanitize
	@cd $(SANITIZE_DIR) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure --timeout 600 -j$(JOBS)

test-fuzz: build-fuzz
	@cd $(FUZZ_DIR) && ctest --output-on-failure -j$(JOBS)

# The deploy files on a real Docker engine (dockerd from Debian, started here as root): both
# images built, both compose files brought up, a chat in Chromium, a broker and Redis restarted
# with nothing lost. Some ten minutes on two cores, most of it building the images, so not part
# of `make test`; the engine's cache stays in DEPLOY_DIR for the next run.
DEPLOY_DIR ?= build-deploy
test-deploy:
	@scripts/install-deps.sh --deploy
	@cd tests/js && PARLEY_DEPLOY_DIR=$(abspath $(DEPLOY_DIR)) node --test deploy/engine.test.mjs

# Each fuzzer for FUZZ_SECONDS (default 60), one after another, keeping what they find.
fuzz: build-fuzz
	@for f in $(FUZZ_DIR)/fuzz/*_fuzzer; do \
	  fuzz/run-fuzzer.sh $$f fuzz/corpus/$$(basename $$f) $(FUZZ_DIR)/fuzz/found/$$(basename $$f) \
	    -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) $(SANITIZE_DIR) $(FUZZ_DIR)
