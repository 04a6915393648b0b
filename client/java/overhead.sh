#!/usr/bin/env bash
# The Java SDK's per-call overhead: one thread, cached GetAccessToken through the SDK beside the
# bare generated blocking stub on the same channel to the same local tokenbroker + ims-emulator
# (started and stopped here, on loopback), after warm-up. Prints calls/s of both and the SDK's
# overhead per call, (t_sdk - t_stub) / t_stub; exits non-zero only on errors.
#
#   TOKENBROKER_BIN_DIR=build/bin client/java/overhead.sh   # BENCH_SECONDS (3), BENCH_ROUNDS (3)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export TOKENBROKER_BIN_DIR="${TOKENBROKER_BIN_DIR:-$repo/build/bin}"
[[ "$TOKENBROKER_BIN_DIR" = /* ]] || TOKENBROKER_BIN_DIR="$PWD/$TOKENBROKER_BIN_DIR"

source "$here/tools.sh"
ensure_java_tools

cd "$here"
mvn -B -q test-compile 2>&1 | strip_colours
mvn -B -q dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile=target/bench-classpath.txt 2>&1 | strip_colours

exec java -Dbench.seconds="${BENCH_SECONDS:-3}" -Dbench.rounds="${BENCH_ROUNDS:-3}" \
  -Dtokenbroker.repo="$repo" \
  -cp "target/test-classes:target/classes:$(cat target/bench-classpath.txt)" \
  dev.tokenbroker.client.Overhead
