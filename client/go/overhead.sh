#!/usr/bin/env bash
# Prints the Go SDK's per-call overhead: cached GetAccessToken through tokenbroker.Client
# beside the bare generated TokenServiceClient, one goroutine each, against the same broker
# (real tokenbroker + ims-emulator on loopback, plaintext), after a warm-up, in one run
# (BenchmarkOverhead in tokenbroker/bench_test.go: 20 alternating 0.4 s rounds per side).
# Overhead = (t_sdk - t_stub) / t_stub per call. It measures and prints; it exits non-zero
# only on errors, never on a figure.
#
# Needs: Go and the server binaries in $TOKENBROKER_BIN_DIR (default <repo>/build/bin).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
export TOKENBROKER_BIN_DIR="${TOKENBROKER_BIN_DIR:-$(cd "$here/../.." && pwd)/build/bin}"
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=readonly"

out="$(go test -count=1 -run '^$' -bench '^BenchmarkOverhead$' -benchtime 1x ./tokenbroker)" || {
  echo "$out" >&2
  exit 1
}
line="$(grep '^BenchmarkOverhead' <<<"$out")" || { echo "$out" >&2; exit 1; }
metric() { awk -v unit="$1" '{for (i = 2; i <= NF; i++) if ($i == unit) print $(i-1)}' <<<"$line"; }
printf 'go  sdk %8.0f calls/s  stub %8.0f calls/s  overhead %+.1f %%\n' \
  "$(metric sdk-calls/s)" "$(metric stub-calls/s)" "$(metric overhead-%)"
