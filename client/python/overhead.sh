#!/usr/bin/env bash
# The Python SDK's per-call overhead (make bench-sdk): cached GetAccessToken on
# one thread after warm-up, Client.get_access_token beside the bare generated
# stub (tokenbroker.v1 TokenServiceStub, same channel options and deadline),
# against one tokenbroker + ims-emulator ($TOKENBROKER_BIN_DIR, default
# <repo>/build/bin) on loopback ports. Prints calls/s of each and
# (t_sdk - t_stub) / t_stub; never fails on a figure, only on errors.
#
#   client/python/overhead.sh [--seconds N]     (default 10 s of measurement)
#
# Installs the package and its runtime dependencies into client/python/.venv/bench
# when missing (re-made when pyproject.toml changes).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="$here/.venv/bench"
# shellcheck source=scripts/lib.sh
. "$here/scripts/lib.sh"
pip=(--quiet --disable-pip-version-check)

export TOKENBROKER_BIN_DIR="${TOKENBROKER_BIN_DIR:-$repo/build/bin}"
for b in tokenbroker ims-emulator; do
  [ -x "$TOKENBROKER_BIN_DIR/$b" ] || {
    echo "overhead.sh: $TOKENBROKER_BIN_DIR/$b is missing: run \`make build\`" >&2
    exit 2
  }
done

stamp="$(sha256sum <"$here/pyproject.toml" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.deps" 2>/dev/null)" != "$stamp" ]; then
  echo "overhead.sh: creating $venv" >&2
  make_venv "$venv"
  "$venv/bin/pip" install "${pip[@]}" "setuptools>=77" wheel
  "$venv/bin/pip" install "${pip[@]}" "$here"
  echo "$stamp" >"$venv/.deps"
fi
# The current code, installed as users get it.
"$venv/bin/pip" install "${pip[@]}" --no-deps --no-build-isolation --force-reinstall "$here"
rm -rf "$here/build" "$here/src/tokenbroker.egg-info"

seconds=10
if [ "${1:-}" = --seconds ]; then seconds="$2"; fi
"$venv/bin/python" "$here/bench.py" --overhead --seconds "$seconds"
