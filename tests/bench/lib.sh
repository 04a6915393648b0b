# Sourced by the benchmark scripts (run.sh, http_endpoint.sh, envoy_bench.sh): what each of them
# sets up before it measures. Needs `set -euo pipefail` and BIN (the binaries' folder).

# A work folder $WORK (removed at exit, with every process whose pid is in PIDS).
bench_workdir() {  # name
  WORK=$(mktemp -d "/tmp/tokenbroker-$1-XXXXXX")
  PIDS=()
  trap bench_cleanup EXIT
}
bench_cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}

# Polls for a non-empty file (a port file), 10 s at most.
wait_for_file() {
  for _ in $(seq 1 200); do [ -s "$1" ] && return 0; sleep 0.05; done
  echo "timed out waiting for $1" >&2
  exit 1
}

# Installs a Debian package when `command` is missing (apt-get as root, else sudo).
bench_require() {  # command package
  command -v "$1" >/dev/null && return 0
  echo "installing $1 (apt package $2)..."
  local sudo
  sudo=$([ "$(id -u)" = 0 ] || echo sudo)
  $sudo apt-get install -y -qq "$2" >/dev/null ||
    { $sudo apt-get update -qq && $sudo apt-get install -y -qq "$2" >/dev/null; }
}

# A CA in $PKI (ca.pem, ca.key); then `bench_issue NAME SUBJECT_ALT_NAME` writes NAME.pem/.key.
bench_pki() {
  PKI="$WORK/pki"
  mkdir "$PKI"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -keyout "$PKI/ca.key" -out "$PKI/ca.pem" -subj "/CN=bench CA" 2>/dev/null
}
bench_issue() {  # name subjectAltName
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/$1.key" \
    -out "$PKI/$1.csr" -subj "/CN=$1" 2>/dev/null
  openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 1 -out "$PKI/$1.pem" -extfile <(printf 'subjectAltName=%s' "$2") 2>/dev/null
}

# The IMS emulator with one client "bench" (its secret in $WORK/secret), its CA written to
# $1; its port in $WORK/ims.port.
bench_emulator() {  # ca_out
  SECRET=$(openssl rand -hex 16)
  printf '%s\n' "$SECRET" > "$WORK/secret"
  cat > "$WORK/clients.json" <<JSON
{"clients": [{"client_id": "bench", "client_secrets": ["$SECRET"], "org_id": "BENCH@AdobeOrg",
  "scopes": ["openid", "AdobeID"]}]}
JSON
  "$BIN/ims-emulator" --listen=127.0.0.1:0 --port-file="$WORK/ims.port" --cert-out="$1" \
    --clients="$WORK/clients.json" >"$WORK/ims.log" 2>&1 & PIDS+=($!)
  wait_for_file "$WORK/ims.port"
}
