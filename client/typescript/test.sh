#!/usr/bin/env bash
# Builds @tokenbroker/client (ESM + CJS) and runs its tests against the real
# binaries: $TOKENBROKER_BIN_DIR, else <repo>/build/bin (`make build`).
# Installs what is missing (npm ci); quick on re-run (incremental tsc).
set -euo pipefail
cd "$(dirname "$0")"

# shellcheck source=scripts/node.sh
. scripts/node.sh

bin_dir="${TOKENBROKER_BIN_DIR:-$(cd ../.. && pwd)/build/bin}"
for b in tokenbroker ims-emulator; do
  [ -x "$bin_dir/$b" ] || { echo "test.sh: $bin_dir/$b is missing: run 'make build' at the repo root or set TOKENBROKER_BIN_DIR" >&2; exit 1; }
done
command -v openssl >/dev/null || { echo "test.sh: the openssl CLI is needed for the TLS tests" >&2; exit 1; }

# npm ci when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

npm run --silent build
npm run --silent build:test

# Every suite: unit (in-process fake), integration (real binaries), the package
# itself, and conformance.test.js: the shared client/conformance/scenarios.json.
export TOKENBROKER_BIN_DIR="$bin_dir"
exec node --test --test-timeout=60000 --test-reporter=spec \
  dist-test/test/*.test.js dist-test/test/*.test.cjs
