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
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# wait_port FILE NAME: the port a server wrote to FILE, within 15 s.
wait_port() {
  for _ in $(seq 150); do
    if [ -s "$1" ]; then cat "$1"; return 0; fi
    sleep 0.1
  done
  cat "$work/$2.log" >&2
  echo "overhead.sh: $2 did not start" >&2
  return 1
}

cat > "$work/clients.json" <<'JSON'
{"clients": [{"client_id": "c-bench", "client_secrets": ["s-bench"], "org_id": "ORG@AdobeOrg",
  "technical_account_id": "T@techacct.adobe.com", "scopes": ["openid", "AdobeID"],
  "token_lifetime_seconds": 86400}]}
JSON
"$bin_dir/ims-emulator" --listen=127.0.0.1:0 --cert-out="$work/ims-ca.pem" \
  --clients="$work/clients.json" --port-file="$work/ims.port" >"$work/ims-emulator.log" 2>&1 &
pids+=($!)
ims_port="$(wait_port "$work/ims.port" ims-emulator)"
"$bin_dir/tokenbroker" --listen=127.0.0.1:0 --store=memory --ims-url="https://127.0.0.1:$ims_port" \
  --ims-ca-file="$work/ims-ca.pem" --port-file="$work/broker.port" >"$work/tokenbroker.log" 2>&1 &
pids+=($!)
broker_port="$(wait_port "$work/broker.port" tokenbroker)"
echo s-bench > "$work/secret"
"$bin_dir/tokenctl" --server="127.0.0.1:$broker_port" --plaintext integrations create bench \
  --auth=oauth-s2s --client-id=c-bench --client-secret-file="$work/secret" \
  --org-id=ORG@AdobeOrg --scopes=openid,AdobeID >/dev/null

echo "C++ SDK overhead (cached GetAccessToken, one thread, plaintext loopback):"
"$build/tokenbroker_client_bench" --target="127.0.0.1:$broker_port" --integration=bench \
  --overhead --seconds=0.5 --rounds=10 "$@"
