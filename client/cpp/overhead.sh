#!/usr/bin/env bash
# The C++ SDK's per-call overhead: cached GetAccessToken through Client::GetAccessToken against
# the bare generated stub (tokenbroker::v1::TokenService::Stub) on the SDK's own channel, same
# deadline, one thread, after a warm-up, in alternating rounds against one tokenbroker +
# ims-emulator started here on loopback (bench/client_bench.cc --overhead). Prints calls/s of
# both and (t_sdk - t_stub) / t_stub; exits non-zero only on errors, never on a figure.
#
# Usage: TOKENBROKER_BIN_DIR=... client/cpp/overhead.sh [--seconds=0.5] [--rounds=10]
# The benchmark is built from client/cpp as its own CMake project (Release) in
# <repo>/build/cpp-overhead; the server binaries come from $TOKENBROKER_BIN_DIR (default
# <repo>/build/bin: tokenbroker, ims-emulator, tokenctl).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bin_dir="${TOKENBROKER_BIN_DIR:-$repo/build/bin}"
for b in tokenbroker ims-emulator tokenctl; do
  [ -x "$bin_dir/$b" ] || { echo "overhead.sh: $bin_dir/$b is missing (TOKENBROKER_BIN_DIR)" >&2; exit 1; }
done

build="$repo/build/cpp-overhead"
cmake_args=(-DCMAKE_BUILD_TYPE=Release -DTOKENBROKER_SDK_BENCH=ON)
command -v ninja >/dev/null && [ ! -f "$build/CMakeCache.txt" ] && cmake_args+=(-G Ninja)
command -v ccache >/dev/null && cmake_args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$here" -B "$build" "${cmake_args[@]}" >/dev/null
cmake --build "$build" -j 2 --target tokenbroker_client_bench >/dev/null

work="$(mktemp -d)"
# shellcheck source=../conformance/stack.sh
. "$repo/client/conformance/stack.sh"
trap 'stack_stop; rm -rf "$work"' EXIT
stack_start "$work/stack" c-bench s-bench
broker_port="$BROKER_PORT"
echo s-bench > "$work/secret"
"$bin_dir/tokenctl" --server="127.0.0.1:$broker_port" --plaintext integrations create bench \
  --auth=oauth-s2s --client-id=c-bench --client-secret-file="$work/secret" \
  --org-id=ORG@AdobeOrg --scopes=openid,AdobeID >/dev/null

echo "C++ SDK overhead (cached GetAccessToken, one thread, plaintext loopback):"
"$build/tokenbroker_client_bench" --target="127.0.0.1:$broker_port" --integration=bench \
  --overhead --seconds=0.5 --rounds=10 "$@"
