#!/usr/bin/env bash
# make bench: cached-token throughput and latency of tokenbroker beside a
# bare gRPC echo server returning the same bytes, under the same ghz load, in
# one run (the machine is noisy: compare the ratio, not absolute numbers).
#   BENCH_REQUESTS (default 200000), BENCH_CONCURRENCY (50), BENCH_CONNECTIONS (4),
#   BENCH_BROKER_FLAGS (extra tokenbroker flags, e.g. "--audit-log=/tmp/audit.log"),
#   BENCH_PLAINTEXT=0 (skip the plaintext comparison)
# Then the production configuration: a second tokenbroker with mutual TLS, a
# policy and the audit log, beside the echo server behind the same mutual TLS,
# loaded by ghz (h2load cannot present a client certificate) in BENCH_ROUNDS
# (default 3) interleaved rounds; each round prints its own ratio, since on a
# shared machine only figures taken side by side compare.
set -euo pipefail
BIN=$(cd "${1:-build/bin}" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
REQUESTS=${BENCH_REQUESTS:-200000}
CONCURRENCY=${BENCH_CONCURRENCY:-50}
CONNECTIONS=${BENCH_CONNECTIONS:-4}
ROUNDS=${BENCH_ROUNDS:-3}
GHZ=$(command -v ghz || echo "$(go env GOPATH)/bin/ghz")
if [ ! -x "$GHZ" ]; then
  echo "installing ghz (go install github.com/bojand/ghz/cmd/ghz@v0.120.0)..."
  go install github.com/bojand/ghz/cmd/ghz@v0.120.0
  GHZ="$(go env GOPATH)/bin/ghz"
fi
source "$(dirname "$0")/lib.sh"
bench_workdir bench

bench_emulator "$WORK/ca.pem"
"$BIN/tokenbroker" --listen=127.0.0.1:0 --port-file="$WORK/broker.port" --log-level=warning \
  --ims-url="https://127.0.0.1:$(cat "$WORK/ims.port")" --ims-ca-file="$WORK/ca.pem" \
  ${BENCH_BROKER_FLAGS:-} >"$WORK/broker.log" 2>&1 & PIDS+=($!)
wait_for_file "$WORK/broker.port"
BROKER="127.0.0.1:$(cat "$WORK/broker.port")"
"$BIN/tokenctl" --server="$BROKER" --plaintext integrations create bench --auth=oauth-s2s --client-id=bench \
  --client-secret-file="$WORK/secret" --org-id=BENCH@AdobeOrg --scopes=openid,AdobeID >/dev/null
"$BIN/tokenctl" --server="$BROKER" --plaintext token get bench > "$WORK/token"
"$BIN/bench-echo-server" --listen=127.0.0.1:0 --port_file="$WORK/echo.port" \
  --token_file="$WORK/token" & PIDS+=($!)
wait_for_file "$WORK/echo.port"
ECHO="127.0.0.1:$(cat "$WORK/echo.port")"

run() {  # name address [ghz TLS flags...]
  local name=$1 address=$2
  shift 2
  "$GHZ" "${@:---insecure}" --proto "$ROOT/proto/tokenbroker/v1/token_service.proto" \
    --import-paths "$ROOT/proto" --call tokenbroker.v1.TokenService.GetAccessToken \
    -d '{"name":"integrations/bench"}' -n "$REQUESTS" -c "$CONCURRENCY" \
    --connections="$CONNECTIONS" --format=json "$address" > "$WORK/$name.json"
  python3 - "$name" "$WORK/$name.json" <<'PY'
import json, sys
name, path = sys.argv[1], sys.argv[2]
r = json.load(open(path))
lat = {d["percentage"]: d["latency"] / 1e6 for d in r["latencyDistribution"]}
ok = r["statusCodeDistribution"].get("OK", 0)
print(f"{name:12s} {r['rps']:10.0f} req/s   p50 {lat[50]:6.2f} ms   p99 {lat[99]:6.2f} ms   ok {ok}/{r['count']}")
PY
}
# h2load: a lighter load generator than ghz (C, not Go), so on 2 cores it
# leaves more CPU to the server. It speaks raw HTTP/2: the body is a gRPC
# frame (flag 0, 4-byte length, GetAccessTokenRequest{name}).
python3 -c '
import struct, sys
msg = b"\x0a" + bytes([len(b"integrations/bench")]) + b"integrations/bench"
sys.stdout.buffer.write(b"\x00" + struct.pack(">I", len(msg)) + msg)' > "$WORK/request.bin"
h2() {  # name address
  if ! command -v h2load >/dev/null; then echo "(h2load not installed: apt-get install nghttp2-client)"; return; fi
  h2load -n "$REQUESTS" -c "$CONNECTIONS" -m "$CONCURRENCY" -d "$WORK/request.bin" \
    -H 'content-type: application/grpc' -H 'te: trailers' \
    "http://$2/tokenbroker.v1.TokenService/GetAccessToken" > "$WORK/$1.h2load"
  python3 - "$1" "$WORK/$1.h2load" <<'PY'
import re, sys
name, text = sys.argv[1], open(sys.argv[2]).read()
rps = re.search(r"finished in [^,]+, ([\d.]+) req/s", text).group(1)
ok = re.search(r"status codes: (\d+) 2xx", text).group(1)
mean = re.search(r"time for request:\s+\S+\s+\S+\s+(\S+)", text).group(1)
print(f"{name:12s} {float(rps):10.0f} req/s   mean {mean:>9s}   HTTP 2xx {ok}")
PY
}
if [ "${BENCH_PLAINTEXT:-1}" = 1 ]; then
  echo "h2load: $REQUESTS GetAccessToken calls, $CONNECTIONS connections x $CONCURRENCY streams, $(nproc) cores"
  h2 echo-server "$ECHO"
  h2 tokenbroker "$BROKER"
  h2 echo-server "$ECHO"
  h2 tokenbroker "$BROKER"

  echo "ghz: $REQUESTS GetAccessToken calls, concurrency $CONCURRENCY, $CONNECTIONS connections, $(nproc) cores"
  run echo-server "$ECHO"
  run tokenbroker "$BROKER"
  run echo-server "$ECHO"
  run tokenbroker "$BROKER"
  python3 - "$WORK" <<'PY'
import json, sys
w = sys.argv[1]
b, e = json.load(open(f"{w}/tokenbroker.json")), json.load(open(f"{w}/echo-server.json"))
print(f"tokenbroker / echo-server throughput ratio (last pair): {b['rps'] / e['rps']:.2f}")
PY
fi

# The production configuration. PKI as in README "Securing a deployment".
bench_pki
bench_issue server "IP:127.0.0.1,DNS:localhost"
bench_issue reader "DNS:bench-reader.example"
bench_issue admin "DNS:bench-admin.example"
cat > "$WORK/policy.json" <<JSON
{"version": 1, "bindings": [
  {"identity": "bench-reader.example", "role": "reader", "integrations": ["bench"]},
  {"identity": "bench-admin.example", "role": "admin"}]}
JSON
openssl rand -hex 32 > "$WORK/audit.key"
MTLS_SERVER=(--tls-cert="$PKI/server.pem" --tls-key="$PKI/server.key" --client-ca-file="$PKI/ca.pem")
"$BIN/tokenbroker" --listen=127.0.0.1:0 --port-file="$WORK/prod.port" --log-level=warning \
  --ims-url="https://127.0.0.1:$(cat "$WORK/ims.port")" --ims-ca-file="$WORK/ca.pem" \
  "${MTLS_SERVER[@]}" --policy-file="$WORK/policy.json" \
  --audit-log="$WORK/audit.log" --audit-key-file="$WORK/audit.key" \
  >"$WORK/prod.log" 2>&1 & PIDS+=($!)
wait_for_file "$WORK/prod.port"
PROD="127.0.0.1:$(cat "$WORK/prod.port")"
"$BIN/tokenctl" --server="$PROD" --ca-file="$PKI/ca.pem" --cert="$PKI/admin.pem" \
  --key="$PKI/admin.key" integrations create bench --auth=oauth-s2s --client-id=bench \
  --client-secret-file="$WORK/secret" --org-id=BENCH@AdobeOrg --scopes=openid,AdobeID >/dev/null
"$BIN/tokenctl" --server="$PROD" --ca-file="$PKI/ca.pem" --cert="$PKI/reader.pem" \
  --key="$PKI/reader.key" token get bench >/dev/null
"$BIN/bench-echo-server" --listen=127.0.0.1:0 --port_file="$WORK/echo-mtls.port" \
  --token_file="$WORK/token" --tls_cert="$PKI/server.pem" --tls_key="$PKI/server.key" \
  --client_ca="$PKI/ca.pem" & PIDS+=($!)
wait_for_file "$WORK/echo-mtls.port"
ECHO_MTLS="127.0.0.1:$(cat "$WORK/echo-mtls.port")"
MTLS_CLIENT=(--cacert="$PKI/ca.pem" --cert="$PKI/reader.pem" --key="$PKI/reader.key")

echo "production configuration: mutual TLS (P-256), policy, audit log; ghz as above, $ROUNDS rounds"
for round in $(seq 1 "$ROUNDS"); do
  run echo-mtls "$ECHO_MTLS" "${MTLS_CLIENT[@]}"
  run broker-mtls "$PROD" "${MTLS_CLIENT[@]}"
  python3 - "$WORK" "$round" <<'PY'
import json, sys
w, n = sys.argv[1], sys.argv[2]
b, e = json.load(open(f"{w}/broker-mtls.json")), json.load(open(f"{w}/echo-mtls.json"))
print(f"round {n}: tokenbroker (mTLS, policy, audit) / echo-server (mTLS) = {b['rps'] / e['rps']:.2f}")
PY
done
echo "audit log lines written: $(wc -l < "$WORK/audit.log")"
echo "upstream exchanges during the benchmark: $(curl -s --cacert "$WORK/ca.pem" "https://127.0.0.1:$(cat "$WORK/ims.port")/emulator/stats")"
