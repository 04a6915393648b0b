#!/usr/bin/env bash
# Runs the Python SDK's tests against the real tokenbroker and ims-emulator
# binaries ($TOKENBROKER_BIN_DIR, default <repo>/build/bin).
#
# Installs what is missing into client/python/.venv/test (re-made only when
# pyproject.toml changes; pip's cache in ~/.cache/pip makes that quick), then
# installs the package itself, non-editable, as users get it, and runs pytest.
# Extra arguments go to pytest (e.g. ./test.sh -k tls -v).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="$here/.venv/test"
# shellcheck source=scripts/lib.sh
. "$here/scripts/lib.sh"
pip=(--quiet --disable-pip-version-check)

bin_dir="${TOKENBROKER_BIN_DIR:-$repo/build/bin}"
for b in tokenbroker ims-emulator; do
  if [ ! -x "$bin_dir/$b" ]; then
    echo "test.sh: $bin_dir/$b is missing: run \`make build\` first (or set TOKENBROKER_BIN_DIR)" >&2
    exit 2
  fi
done
command -v openssl >/dev/null || apt_install openssl  # makes the tests' certificates

stamp="$(cat "$here/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.deps" 2>/dev/null)" != "$stamp" ]; then
  echo "test.sh: creating $venv" >&2
  make_venv "$venv"
  "$venv/bin/pip" install "${pip[@]}" "setuptools>=77" wheel
  # The package with its test extra pulls every runtime and test dependency.
  "$venv/bin/pip" install "${pip[@]}" "$here[test]"
  echo "$stamp" > "$venv/.deps"
fi
# The package itself, rebuilt every run (so the tests see the current code,
# installed as a wheel: py.typed, the .pyi stubs and import paths included).
"$venv/bin/pip" install "${pip[@]}" --no-deps --no-build-isolation --force-reinstall "$here"
rm -rf "$here/build" "$here/src/tokenbroker.egg-info"

cd "$here"
# Lint, format and types (the hints are part of the API: py.typed).
"$venv/bin/ruff" check --quiet --cache-dir="$here/.venv/ruff-cache" .
"$venv/bin/ruff" format --check --quiet --cache-dir="$here/.venv/ruff-cache" . || {
  echo "test.sh: run \`.venv/test/bin/ruff format\` in client/python" >&2
  exit 1
}
"$venv/bin/mypy" --cache-dir="$here/.venv/mypy-cache"

export TOKENBROKER_BIN_DIR="$bin_dir"
set +e
"$venv/bin/python" -m pytest -p no:cacheprovider "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "test.sh: pytest collected no tests: failing on purpose" >&2
  exit 1
fi
exit "$rc"
