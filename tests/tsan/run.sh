#!/usr/bin/env bash
# make test-tsan: the broker, store, API and client unit tests under ThreadSanitizer.
#
# 1. tests/tsan/build-abseil.sh: Debian's Abseil source built with -fsanitize=thread into
#    build/tsan-abseil (downloaded and built once; later runs find it complete).
# 2. The tsan preset (clang, TOKENBROKER_SANITIZE=thread, absl_DIR=build/tsan-abseil) into
#    build/tsan, only the test binaries below (and the binaries they start).
# 3. Each test binary, JOBS at a time. Every process, including the servers the tests start,
#    writes its TSan reports to build/tsan/reports/; any report fails the run.
#
# Environment: JOBS (parallel test binaries and build jobs, default nproc),
# TSAN_GTEST_FILTER_CLIENT (overrides the client tests' filter, for a quick look).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
jobs=${JOBS:-$(nproc)}
build=build/tsan
reports=$root/$build/reports
start=$(date +%s)
# clang 14's TSan maps its shadow for at most 28 bits of mmap randomization; kernels that use
# more (vm.mmap_rnd_bits=32) make it abort at start-up, so run without ASLR there.
norandom=""
if [ "$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 28)" -gt 28 ]; then
  norandom="setarch $(uname -m) -R"
fi

JOBS=$jobs tests/tsan/build-abseil.sh build/tsan-abseil
if [ ! -f $build/build.ninja ]; then
  cmake --preset tsan >/dev/null
fi
cmake --build $build -j "$jobs" --target broker_tests store_tests api_tests \
  tokenbroker_client_tests
built=$(date +%s)

# The client SDK's tests without PackageTest (it installs the SDK and compiles a consumer
# project: a build check, no threads of the SDK's own to look at).
client_filter=${TSAN_GTEST_FILTER_CLIENT:--PackageTest.*}
tests=(
  "broker_tests"
  "store_tests"
  "api_tests"
  "tokenbroker_client_tests --gtest_filter=$client_filter"
)

rm -rf "$reports" && mkdir -p "$reports"
suppressions=$root/tests/tsan/suppressions.txt

# The canary (canary.cc): TSan must see absl::Mutex (no report) and must report a real race.
# It runs with the suites' suppressions (one is for Abseil's Mutex internals, hit here too).
canary=$build/tsan-canary
# shellcheck disable=SC2046  # pkg-config's flags are separate words
clang++ -std=c++17 -fsanitize=thread -g tests/tsan/canary.cc -o $canary \
  $(PKG_CONFIG_PATH=build/tsan-abseil/lib/pkgconfig pkg-config --cflags --libs --static \
    absl_synchronization)
if ! TSAN_OPTIONS="exitcode=66 suppressions=$suppressions" $norandom $canary; then
  echo "tsan: canary: ThreadSanitizer reported accesses an absl::Mutex guards" >&2; exit 1
fi
rc=0
TSAN_OPTIONS="exitcode=66 suppressions=$suppressions" $norandom $canary race 2>/dev/null || rc=$?
if [ $rc != 66 ]; then
  echo "tsan: canary: ThreadSanitizer did not report a data race (exit $rc)" >&2; exit 1
fi
echo "tsan: canary: absl::Mutex seen, data race reported"
export TOKENBROKER_BIN_DIR=$root/$build/bin
# log_path: reports of every process (test binaries and the servers they start) land in
# reports/, where the check below finds them. second_deadlock_stack: both stacks of a
# lock-order inversion.
# suppressions: see the files; each entry says why. The client tests, which run gRPC servers and
# clients on gRPC's threads, add suppressions-grpc-threads.txt (it says what that costs).
cat "$suppressions" tests/tsan/suppressions-grpc-threads.txt >"$reports/client-suppressions.txt"
tsan_options="log_path=$reports/tsan second_deadlock_stack=1 history_size=4"

run_one() {
  local name=${1%% *} log=$reports/$name.log
  local t0 rc=0 supp=$suppressions
  if [ "$name" = tokenbroker_client_tests ]; then supp=$reports/client-suppressions.txt; fi
  export TSAN_OPTIONS="$tsan_options suppressions=$supp"
  t0=$(date +%s)
  # shellcheck disable=SC2086  # the filter is a separate word on purpose
  (cd $build && timeout 1200 $norandom bin/$1) >"$log" 2>&1 || rc=$?
  echo "tsan: $name exit $rc in $(( $(date +%s) - t0 )) s"
  if [ $rc != 0 ]; then tail -40 "$log"; fi
  return $rc
}
export -f run_one
export build reports norandom suppressions tsan_options
failed=0
printf '%s\n' "${tests[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "{}"' || failed=1

found=$(find "$reports" -name 'tsan.*' | sort)
if [ -n "$found" ]; then
  # The first report of each process in full, then every report's summary line.
  for f in $found; do
    echo "== $f"; sed -n '1,/^SUMMARY/p' "$f"; grep '^SUMMARY' "$f" | sort | uniq -c
  done
  echo "tsan: ThreadSanitizer reports above ($(echo "$found" | wc -l) files)"
  failed=1
fi
echo "tsan: build $(( built - start )) s, tests $(( $(date +%s) - built )) s"
[ $failed = 0 ] && echo "tsan: no data race found"
exit $failed
