#!/usr/bin/env bash
# overhead.sh: the SDK's per-call overhead against the bare generated grpc-js
# stub (cached GetAccessToken, one sequential async caller, same server, same
# channel options, after warm-up), printed as calls/s and a percentage of the
# stub's time per call. Measures and prints; exits non-zero only on errors.
# Binaries: $TOKENBROKER_BIN_DIR, else <repo>/build/bin. OVERHEAD_BATCHES,
# OVERHEAD_BATCH (calls per batch) and OVERHEAD_WARMUP tune the run.
set -euo pipefail
cd "$(dirname "$0")"

# shellcheck source=scripts/node.sh
. scripts/node.sh
bin_dir="${TOKENBROKER_BIN_DIR:-$(cd ../.. && pwd)/build/bin}"
for b in tokenbroker ims-emulator; do
  [ -x "$bin_dir/$b" ] || { echo "overhead.sh: $bin_dir/$b is missing: run 'make build' or set TOKENBROKER_BIN_DIR" >&2; exit 1; }
done
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
npm run --silent build:test
TOKENBROKER_BIN_DIR="$bin_dir" exec node dist-test/bench/overhead.js
