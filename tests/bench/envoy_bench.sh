#!/usr/bin/env bash
# make bench-edge: requests per second through a real Envoy with the ext_authz filter calling
# tokenbroker (--ext-authz-listen, over mutual TLS) beside the same Envoy without the filter, to
# the same upstream, under the same h2load load, in one run. Measures and prints; not a test.
#   tests/bench/envoy_bench.sh BIN_DIR ENVOY
#   BENCH_SECONDS (default 10 per measurement), BENCH_CONNECTIONS (4), BENCH_STREAMS (10 per
#   connection), BENCH_ROUNDS (2: plain and ext_authz alternate, each round prints its ratio),
#   BENCH_ENVOY_CONCURRENCY (1 worker thread per Envoy)
#
# The deployment, all on loopback:
#   h2load --h2c--> Envoy (proxy) listener "authz": ext_authz --gRPC, mTLS--> tokenbroker
#                                 listener "plain": no ext_authz filter, otherwise the same
#                   both route to --h2c--> Envoy (upstream): direct_response 200, a trivial
#                   fast server in its own process, so that it costs both listeners the same.
# Envoy's certificate identity is a `reader` of integration `bench` (no `proxy` binding: the
# downstream is plaintext, so there is no workload identity to act for). The machine is shared
# and small: compare the ratio taken side by side, not absolute figures.
set -euo pipefail
BIN=$(cd "${1:-build/bin}" && pwd)
ENVOY=${2:-build/envoy-venv/envoy}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
CONNECTIONS=${BENCH_CONNECTIONS:-4}
STREAMS=${BENCH_STREAMS:-10}
ROUNDS=${BENCH_ROUNDS:-2}
ENVOY_CONCURRENCY=${BENCH_ENVOY_CONCURRENCY:-1}

if [ ! -x "$ENVOY" ]; then
  echo "no Envoy at $ENVOY: run 'make envoy'" >&2
  exit 1
fi
source "$(dirname "$0")/lib.sh"
bench_require h2load nghttp2-client
bench_workdir bench-edge
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# PKI: a CA, the broker's server certificate, Envoy's and the admin's client certificates.
bench_pki
bench_issue server "IP:127.0.0.1,DNS:localhost"
bench_issue envoy "URI:spiffe://bench.local/envoy"
bench_issue admin "DNS:bench-admin.example"
cat > "$WORK/policy.json" <<JSON
{"version": 1, "bindings": [
  {"identity": "spiffe://bench.local/envoy", "role": "reader", "integrations": ["bench"]},
  {"identity": "bench-admin.example", "role": "admin"}]}
JSON

bench_emulator "$WORK/ims-ca.pem"

# The ext_authz port is logged at info level; the benchmark runs the broker at warning, so it
# names a free port itself.
EXT_AUTHZ_PORT=$(free_port)
"$BIN/tokenbroker" --listen=127.0.0.1:0 --port-file="$WORK/broker.port" --log-level=warning \
  --ext-authz-listen="127.0.0.1:$EXT_AUTHZ_PORT" \
  --tls-cert="$PKI/server.pem" --tls-key="$PKI/server.key" --client-ca-file="$PKI/ca.pem" \
  --policy-file="$WORK/policy.json" \
  --ims-url="https://127.0.0.1:$(cat "$WORK/ims.port")" --ims-ca-file="$WORK/ims-ca.pem" \
  >"$WORK/broker.log" 2>&1 & PIDS+=($!)
wait_for_file "$WORK/broker.port"
"$BIN/tokenctl" --server="127.0.0.1:$(cat "$WORK/broker.port")" --ca-file="$PKI/ca.pem" \
  --cert="$PKI/admin.pem" --key="$PKI/admin.key" integrations create bench --auth=oauth-s2s \
  --client-id=bench --client-secret-file="$WORK/secret" --org-id=BENCH@AdobeOrg \
  --scopes=openid,AdobeID >/dev/null

# Starts an Envoy on config $2 (YAML) named $1; waits until it is live; its admin address is
# then in $WORK/$1.admin.
start_envoy() {
  "$ENVOY" --config-path "$2" --admin-address-path "$WORK/$1.admin" --use-dynamic-base-id \
    --concurrency "$ENVOY_CONCURRENCY" --log-level warning >"$WORK/$1.log" 2>&1 & PIDS+=($!)
  wait_for_file "$WORK/$1.admin"
  for _ in $(seq 1 200); do
    [ "$(curl -s "http://$(cat "$WORK/$1.admin")/ready")" = LIVE ] && return 0
    sleep 0.05
  done
  echo "Envoy $1 not live; its log:" >&2
  cat "$WORK/$1.log" >&2
  exit 1
}
# The port of listener $2 of Envoy $1, from its admin /listeners.
listener_port() {
  curl -s "http://$(cat "$WORK/$1.admin")/listeners?format=json" | python3 -c '
import json, sys
for s in json.load(sys.stdin)["listener_statuses"]:
    if s["name"] == sys.argv[1]:
        print(s["local_address"]["socket_address"]["port_value"])' "$2"
}

cat > "$WORK/upstream.yaml" <<YAML
admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}
static_resources:
  listeners:
  - name: upstream
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: upstream
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: {prefix: "/"}
                direct_response: {status: 200, body: {inline_string: "{\"upstream\":\"ok\"}"}}
          http_filters:
          - name: envoy.filters.http.router
            typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
YAML
start_envoy upstream "$WORK/upstream.yaml"
UPSTREAM_PORT=$(listener_port upstream upstream)

# One listener of the proxy Envoy; $1 its name, $2 its extra HTTP filters (YAML list items).
proxy_listener() {
  cat <<YAML
  - name: $1
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: $1
          route_config:
            virtual_hosts:
            - name: api
              domains: ["*"]
              routes:
              - match: {prefix: "/"}
                route: {cluster: upstream}
                typed_per_filter_config:
                  envoy.filters.http.ext_authz:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute
                    check_settings: {context_extensions: {tokenbroker.integration: bench}}
          http_filters:
$2
          - name: envoy.filters.http.router
            typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
YAML
}
EXT_AUTHZ_FILTER='          - name: envoy.filters.http.ext_authz
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz
              transport_api_version: V3
              failure_mode_allow: false
              grpc_service: {envoy_grpc: {cluster_name: tokenbroker}, timeout: 5s}'
H2='typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: {http2_protocol_options: {}}'
{
  echo "admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}"
  echo "static_resources:"
  echo "  listeners:"
  proxy_listener authz "$EXT_AUTHZ_FILTER"
  proxy_listener plain ""
  cat <<YAML
  clusters:
  - name: upstream
    type: STATIC
    $H2
    load_assignment:
      cluster_name: upstream
      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: $UPSTREAM_PORT}}}}]}]
  - name: tokenbroker
    type: STATIC
    $H2
    load_assignment:
      cluster_name: tokenbroker
      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: $EXT_AUTHZ_PORT}}}}]}]
    transport_socket:
      name: envoy.transport_sockets.tls
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
        sni: localhost
        common_tls_context:
          alpn_protocols: [h2]
          tls_certificates:
          - certificate_chain: {filename: $PKI/envoy.pem}
            private_key: {filename: $PKI/envoy.key}
          validation_context: {trusted_ca: {filename: $PKI/ca.pem}}
YAML
} > "$WORK/proxy.yaml"
start_envoy proxy "$WORK/proxy.yaml"
AUTHZ_PORT=$(listener_port proxy authz)
PLAIN_PORT=$(listener_port proxy plain)

# A check that the ext_authz path works before measuring it: 200, not a denial.
for port in "$PLAIN_PORT" "$AUTHZ_PORT"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' --http2-prior-knowledge "http://127.0.0.1:$port/v1/things")
  if [ "$code" != 200 ]; then
    echo "GET through port $port answered $code, not 200; broker log:" >&2
    cat "$WORK/broker.log" >&2
    exit 1
  fi
done

# Prints "<req/s> <2xx> <non-2xx> <mean latency>" of one h2load run against port $1.
measure() {
  h2load --duration="$SECONDS_PER_RUN" --warm-up-time=1 -c "$CONNECTIONS" -m "$STREAMS" \
    "http://127.0.0.1:$1/v1/things" > "$WORK/h2load.out"
  python3 - "$WORK/h2load.out" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rps = float(re.search(r"finished in [^,]+, ([\d.]+) req/s", text).group(1))
codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
ok, bad = int(codes.group(1)), sum(int(codes.group(i)) for i in (2, 3, 4))
mean = re.search(r"time for request:\s+\S+\s+\S+\s+(\S+)", text).group(1)
print(f"{rps:.0f} {ok} {bad} {mean}")
PY
}
echo "Envoy $("$ENVOY" --version | sed -n 's/.*version: [0-9a-f]*\/\([^/]*\)\/.*/\1/p'), $ENVOY_CONCURRENCY worker(s); h2load: ${SECONDS_PER_RUN} s per run, $CONNECTIONS connections x $STREAMS streams (h2c), $(nproc) cores"
for round in $(seq 1 "$ROUNDS"); do
  read -r plain_rps plain_ok plain_bad plain_mean <<<"$(measure "$PLAIN_PORT")"
  read -r authz_rps authz_ok authz_bad authz_mean <<<"$(measure "$AUTHZ_PORT")"
  printf 'round %s: ext_authz off %8s req/s (mean %s, 2xx %s, other %s)\n' \
    "$round" "$plain_rps" "$plain_mean" "$plain_ok" "$plain_bad"
  printf 'round %s: ext_authz on  %8s req/s (mean %s, 2xx %s, other %s)\n' \
    "$round" "$authz_rps" "$authz_mean" "$authz_ok" "$authz_bad"
  python3 -c "import sys; print(f'round {sys.argv[1]}: on / off = {float(sys.argv[2]) / float(sys.argv[3]):.2f}')" \
    "$round" "$authz_rps" "$plain_rps"
done
curl -s --cacert "$WORK/ims-ca.pem" "https://127.0.0.1:$(cat "$WORK/ims.port")/emulator/stats" |
  python3 -c 'import json, sys; print("IMS exchanges during the benchmark:", json.load(sys.stdin)["total_exchanges"])'

