#!/usr/bin/env bash
# make bench-http: the local HTTP token endpoint (--http-listen) beside gRPC GetAccessToken on one
# tokenbroker, cached token, plaintext on loopback, h2load for both, under the same concurrency:
# BENCH_CONCURRENCY (default 32) requests in flight, one per connection on both sides (HTTP/1.1
# cannot multiplex; gRPC then also uses one stream per connection). A third row shows gRPC as its
# clients usually run, multiplexed (4 connections). Rounds alternate (BENCH_ROUNDS, default 3):
# on a shared machine only figures taken side by side compare, so each round prints its ratio.
#   BENCH_REQUESTS (default 100000 per run)
set -euo pipefail
BIN=$(cd "${1:-build/bin}" && pwd)
REQUESTS=${BENCH_REQUESTS:-100000}
CONCURRENCY=${BENCH_CONCURRENCY:-32}
ROUNDS=${BENCH_ROUNDS:-3}
source "$(dirname "$0")/lib.sh"
bench_require h2load nghttp2-client
bench_workdir bench-http

bench_emulator "$WORK/ca.pem"
# --http-threads: one thread per HTTP/1.1 connection, so as many as the load's connections.
"$BIN/tokenbroker" --listen=127.0.0.1:0 --port-file="$WORK/broker.port" \
  --http-listen=127.0.0.1:0 --http-threads="$CONCURRENCY" \
  --ims-url="https://127.0.0.1:$(cat "$WORK/ims.port")" --ims-ca-file="$WORK/ca.pem" \
  >"$WORK/broker.log" 2>&1 & PIDS+=($!)
wait_for_file "$WORK/broker.port"
BROKER="127.0.0.1:$(cat "$WORK/broker.port")"
HTTP_PORT=$(sed -n 's/.*"msg":"http token endpoint serving".*"port":"\([0-9]*\)".*/\1/p' "$WORK/broker.log")
"$BIN/tokenctl" --server="$BROKER" --plaintext integrations create bench --auth=oauth-s2s \
  --client-id=bench --client-secret-file="$WORK/secret" --org-id=BENCH@AdobeOrg \
  --scopes=openid,AdobeID >/dev/null
"$BIN/tokenctl" --server="$BROKER" --plaintext token get bench >/dev/null  # cached from here on
curl -sf -H 'Tokenbroker-Request: true' "http://127.0.0.1:$HTTP_PORT/v1/integrations/bench/token" \
  >/dev/null

# The gRPC request as h2load sends it: a gRPC frame (flag 0, 4-byte length, GetAccessTokenRequest).
python3 -c '
import struct, sys
msg = b"\x0a" + bytes([len(b"integrations/bench")]) + b"integrations/bench"
sys.stdout.buffer.write(b"\x00" + struct.pack(">I", len(msg)) + msg)' > "$WORK/request.bin"
grpc() {  # name connections streams-per-connection
  h2load -n "$REQUESTS" -c "$2" -m "$3" -d "$WORK/request.bin" \
    -H 'content-type: application/grpc' -H 'te: trailers' \
    "http://$BROKER/tokenbroker.v1.TokenService/GetAccessToken" > "$WORK/$1.h2load"
}
http() {  # name
  h2load --h1 -n "$REQUESTS" -c "$CONCURRENCY" -m 1 -H 'Tokenbroker-Request: true' \
    "http://127.0.0.1:$HTTP_PORT/v1/integrations/bench/token" > "$WORK/$1.h2load"
}
report() {  # name...
  python3 - "$WORK" "$@" <<'PY'
import re, sys
work, names = sys.argv[1], sys.argv[2:]
rps = {}
for name in names:
    text = open(f"{work}/{name}.h2load").read()
    rps[name] = float(re.search(r"finished in [^,]+, ([\d.]+) req/s", text).group(1))
    ok = re.search(r"status codes: (\d+) 2xx", text).group(1)
    mean = re.search(r"time for request:\s+\S+\s+\S+\s+(\S+)", text).group(1)
    print(f"  {name:28s} {rps[name]:9.0f} req/s   mean {mean:>9s}   2xx {ok}")
print(f"  HTTP / gRPC (same shape): {rps[names[1]] / rps[names[0]]:.2f}"
      f"   HTTP / gRPC (multiplexed): {rps[names[1]] / rps[names[2]]:.2f}")
PY
}
echo "h2load: $REQUESTS cached-token calls per run, $CONCURRENCY in flight, $(nproc) cores, one tokenbroker"
for round in $(seq 1 "$ROUNDS"); do
  echo "round $round"
  grpc "grpc-${CONCURRENCY}x1" "$CONCURRENCY" 1
  http "http1.1-${CONCURRENCY}x1"
  grpc "grpc-4x$((CONCURRENCY / 4))" 4 $((CONCURRENCY / 4))
  report "grpc-${CONCURRENCY}x1" "http1.1-${CONCURRENCY}x1" "grpc-4x$((CONCURRENCY / 4))"
done
echo "upstream exchanges during the benchmark: $(curl -s --cacert "$WORK/ca.pem" "https://127.0.0.1:$(cat "$WORK/ims.port")/emulator/stats")"
