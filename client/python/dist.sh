#!/usr/bin/env bash
# Builds the Python SDK's distributions into OUT_DIR: the wheel
# (tokenbroker-<version>-py3-none-any.whl) and the sdist (tokenbroker-<version>.tar.gz).
#
#   client/python/dist.sh OUT_DIR      (make sdk-dist: OUT_DIR = build/dist)
#
# Nothing is written into the source tree: the package is copied to a temporary
# directory (with the repository's LICENSE, which PEP 639 metadata names) and built
# there by PyPA `build` (isolated: setuptools from PyPI), wheel from the sdist, so
# the sdist is proven to build. `build` itself is installed into
# client/python/.venv/dist (git-ignored) when missing. Fails unless the wheel's
# METADATA says `License-Expression: Apache-2.0` and carries the license file.
set -euo pipefail

BUILD_VERSION=1.3.0

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=scripts/lib.sh
. "$here/scripts/lib.sh"

[ $# -eq 1 ] || { echo "usage: $0 OUT_DIR" >&2; exit 2; }
mkdir -p "$1"
out="$(cd "$1" && pwd)"

venv="$here/.venv/dist"
if ! "$venv/bin/python" -c "import importlib.metadata as m; \
    assert m.version('build') == '$BUILD_VERSION'" 2>/dev/null; then
  echo "dist.sh: installing build==$BUILD_VERSION into $venv" >&2
  make_venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "build==$BUILD_VERSION"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
pkg="$tmp/tokenbroker"
mkdir -p "$pkg"
cp "$here/pyproject.toml" "$here/README.md" "$repo/LICENSE" "$pkg/"
cp -R "$here/src" "$pkg/src"
find "$pkg/src" \( -name __pycache__ -o -name '*.egg-info' \) -prune -exec rm -rf {} +

rm -f "$out"/tokenbroker-[0-9]*.whl "$out"/tokenbroker-[0-9]*.tar.gz
"$venv/bin/python" -m build --outdir "$out" "$pkg" >"$tmp/build.log" 2>&1 || {
  cat "$tmp/build.log" >&2
  exit 1
}

wheel="$(ls "$out"/tokenbroker-[0-9]*.whl)"
sdist="$(ls "$out"/tokenbroker-[0-9]*.tar.gz)"
metadata="$(unzip -p "$wheel" '*.dist-info/METADATA')"
grep -qx 'License-Expression: Apache-2.0' <<<"$metadata" || {
  echo "dist.sh: $wheel: METADATA has no 'License-Expression: Apache-2.0'" >&2
  exit 1
}
grep -qx 'License-File: LICENSE' <<<"$metadata" || {
  echo "dist.sh: $wheel: METADATA names no License-File" >&2
  exit 1
}
# The listing is captured first: `unzip -l | grep -q` under pipefail fails when grep
# exits on the match before unzip has written its last line (SIGPIPE, exit 141).
listing="$(unzip -l "$wheel")"
grep -q 'tokenbroker/py.typed' <<<"$listing" || {
  echo "dist.sh: $wheel has no py.typed marker" >&2
  exit 1
}
echo "dist.sh: $wheel"
echo "dist.sh: $sdist"
