#!/usr/bin/env bash
# Installs the C++ SDK from OUT_DIR (what dist.sh built) the way README.md "Install and use"
# says, in a clean temporary directory: unpack tokenbroker-client-cpp-<version>.tar.gz,
# configure, build and install it into a temporary prefix with nothing but gRPC, Protobuf,
# Abseil and libcurl; then build the archive's example/ (find_package(tokenbroker CONFIG
# REQUIRED) + tokenbroker::client) against that prefix and run it against a real tokenbroker
# and ims-emulator, started here on free loopback ports and stopped on exit: it creates an
# integration through the SDK's IntegrationService call, gets its token and headers, and lists
# the integrations. Fails on anything off.
#
# Usage: TOKENBROKER_BIN_DIR=... client/cpp/dist_test.sh OUT_DIR
# Needs: the server binaries ($TOKENBROKER_BIN_DIR, default <repo>/build/bin); the Debian
# packages below are installed when missing (apt-get as root, else sudo).
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="$(cd "$1" && pwd)"
version="$(sed -n 's/^project(tokenbroker VERSION \([0-9.]*\).*/\1/p' "$repo/CMakeLists.txt")"
name="tokenbroker-client-cpp-$version"
tarball="$out/$name.tar.gz"
[ -f "$tarball" ] || { echo "dist_test.sh: $tarball is missing: run dist.sh $out first" >&2; exit 1; }

# What README.md lists for building the SDK (Debian 12).
packages="cmake g++ protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev
  libabsl-dev libcurl4-openssl-dev"
missing="$(for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
done)"
if [ -n "$missing" ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "dist_test.sh: installing" $missing
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
fi

work="$(mktemp -d)"
# shellcheck source=../conformance/stack.sh
. "$repo/client/conformance/stack.sh"
trap 'stack_stop; rm -rf "$work"' EXIT

fail() { echo "dist_test.sh: $*" >&2; exit 1; }

# The build: Ninja and ccache when present (ccache keyed on paths relative to $work, so that
# a second run hits), else CMake's defaults.
cmake_args=(-DCMAKE_BUILD_TYPE=Release)
command -v ninja >/dev/null && cmake_args+=(-G Ninja)
if command -v ccache >/dev/null; then
  cmake_args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="$work" CCACHE_NOHASHDIR=1
fi

# The install, as README.md says.
mkdir "$work/src"
tar -xzf "$tarball" -C "$work/src"
sdk="$work/src/$name"
[ -f "$sdk/LICENSE" ] || fail "the archive has no LICENSE"
prefix="$work/prefix"
cmake -S "$sdk" -B "$work/build" "${cmake_args[@]}" >"$work/configure.log" 2>&1 \
  || { cat "$work/configure.log" >&2; fail "configure failed"; }
cmake --build "$work/build" -j 2 >"$work/build.log" 2>&1 \
  || { tail -50 "$work/build.log" >&2; fail "build failed"; }
cmake --install "$work/build" --prefix "$prefix" >/dev/null
for f in include/tokenbroker/client/client.h include/tokenbroker/client/curl_headers.h \
  include/tokenbroker/proto/tokenbroker/v1/integration_service.pb.h lib/libtokenbroker_client.a \
  lib/libtokenbroker_proto.a lib/cmake/tokenbroker/tokenbrokerConfig.cmake \
  lib/cmake/tokenbroker/tokenbrokerConfigVersion.cmake share/doc/tokenbroker/LICENSE; do
  [ -f "$prefix/$f" ] || fail "not installed: $f"
done
[ ! -e "$prefix/bin" ] || fail "the install has a bin/ (nothing but the library belongs there)"
if grep -rlI "$work/src" "$prefix"; then fail "installed files refer to the unpacked sources"; fi

# A consumer project: the archive's example/, against the prefix only.
cmake -S "$sdk/example" -B "$work/consumer" "${cmake_args[@]}" -DCMAKE_PREFIX_PATH="$prefix" \
  >"$work/consumer-configure.log" 2>&1 \
  || { cat "$work/consumer-configure.log" >&2; fail "consumer configure failed"; }
cmake --build "$work/consumer" >"$work/consumer-build.log" 2>&1 \
  || { tail -50 "$work/consumer-build.log" >&2; fail "consumer build failed"; }

stack_start "$work/stack" c-dist s-dist
broker_port="$BROKER_PORT" ims_port="$IMS_PORT"

output="$("$work/consumer/consumer" "127.0.0.1:$broker_port" demo c-dist s-dist \
  "https://127.0.0.1:$ims_port")" || { echo "$output" >&2; fail "the consumer failed"; }
for want in "created integrations/demo" "header Authorization" "header x-api-key" \
  "integrations 1"; do
  grep -qxF "$want" <<<"$output" || { echo "$output" >&2; fail "no line '$want'"; }
done
grep -qE '^valid for [0-9]+ s$' <<<"$output" || { echo "$output" >&2; fail "no token validity"; }
echo "dist_test.sh: $name installed, built a consumer, got a token from a real broker: OK"
