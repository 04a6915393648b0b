#!/usr/bin/env bash
# Measures one thread's cached-token calls/s through the Java SDK against a
# local tokenbroker + ims-emulator (started and stopped by the benchmark, on
# loopback). Not part of test.sh.
#
#   client/java/bench.sh                 # 5 s per measurement
#   BENCH_SECONDS=10 BENCH_ROUNDS=3 client/java/bench.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export TOKENBROKER_BIN_DIR="${TOKENBROKER_BIN_DIR:-$repo/build/bin}"
# Absolute: Maven runs the tests from client/java.
[[ "$TOKENBROKER_BIN_DIR" = /* ]] || TOKENBROKER_BIN_DIR="$PWD/$TOKENBROKER_BIN_DIR"
cd "$here"

strip() { sed -u 's/\x1b\[[0-9;]*m//g'; }
mvn -B -q test-compile 2>&1 | strip
mvn -B -q dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile=target/bench-classpath.txt 2>&1 | strip

exec java -Dbench.seconds="${BENCH_SECONDS:-5}" -Dbench.rounds="${BENCH_ROUNDS:-2}" -Dtokenbroker.repo="$repo" \
  -cp "target/test-classes:target/classes:$(cat target/bench-classpath.txt)" \
  dev.tokenbroker.client.Bench
