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
export TOKENBROKER_BIN_DIR=$root/$build/bin
# log_path: reports of every process (test binaries and the servers they start) land in
# reports/, where the check below finds them. second_deadlock_stack: both stacks of a
# lock-order inversion. suppressions: see the file; each entry says why.
export TSAN_OPTIONS="log_path=$reports/tsan second_deadlock_stack=1 history_size=4 \
suppressions=$root/tests/tsan/suppressions.txt"

# clang 14's TSan maps its shadow for at most 28 bits of mmap randomization; kernels that use
# more (vm.mmap_rnd_bits=32) make it abort at start-up, so run without ASLR there.
norandom=""
if [ "$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 28)" -gt 28 ]; then
  norandom="setarch $(uname -m) -R"
fi
run_one() {
  local name=${1%% *} log=$reports/$name.log
  local t0 rc=0
  t0=$(date +%s)
  # shellcheck disable=SC2086  # the filter is a separate word on purpose
  (cd $build && timeout 1200 $norandom bin/$1) >"$log" 2>&1 || rc=$?
  echo "tsan: $name exit $rc in $(( $(date +%s) - t0 )) s"
  if [ $rc != 0 ]; then tail -40 "$log"; fi
  return $rc
}
export -f run_one
export build reports norandom
failed=0
printf '%s\n' "${tests[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "{}"' || failed=1

found=$(find "$reports" -name 'tsan.*' | sort)
if [ -n "$found" ]; then
  for f in $found; do echo "== $f"; cat "$f"; done
  echo "tsan: ThreadSanitizer reports above ($(echo "$found" | wc -l) files)"
  failed=1
fi
echo "tsan: build $(( built - start )) s, tests $(( $(date +%s) - built )) s"
[ $failed = 0 ] && echo "tsan: no data race found" 
exit $failed
