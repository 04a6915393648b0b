#!/usr/bin/env bash
# Runs the Go SDK's tests against the real tokenbroker and ims-emulator binaries.
#
# Needs: Go >= the version in go.mod (on every machine of this project) and the server
# binaries in $TOKENBROKER_BIN_DIR (default <repo>/build/bin: `make build` at the repo root).
# Modules are downloaded into the module cache (~/go/pkg/mod) on first use only, so a re-run
# is quick. Exits non-zero when anything fails. Extra arguments go to `go test`
# (e.g. ./test.sh -run TLS -v).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

if ! command -v go >/dev/null; then
  echo "test.sh: Go is not installed (need $(awk '/^go /{print $2}' go.mod) or newer)" >&2
  exit 1
fi

bin_dir="${TOKENBROKER_BIN_DIR:-$(cd "$here/../.." && pwd)/build/bin}"
for b in tokenbroker ims-emulator; do
  if [ ! -x "$bin_dir/$b" ]; then
    echo "test.sh: $bin_dir/$b is missing: run 'make build' at the repo root" \
         "(or set TOKENBROKER_BIN_DIR)" >&2
    exit 1
  fi
done
export TOKENBROKER_BIN_DIR="$bin_dir"

# -mod=readonly: go.mod/go.sum must already say everything (no silent upgrades in CI).
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=readonly"
unformatted="$(gofmt -l tokenbroker)"
if [ -n "$unformatted" ]; then
  echo "test.sh: not gofmt-formatted: $unformatted" >&2
  exit 1
fi
go vet ./...
go test -count=1 -timeout=5m "$@" ./...
