#!/usr/bin/env bash
# make demo: the quick start, end to end on loopback. Starts ims-emulator
# (a local Adobe IMS) and tokenbroker, registers an OAuth Server-to-Server
# integration with tokenctl, prints a token and its Adobe request headers,
# then stops both.
set -euo pipefail
BIN=${1:-build/bin}
BIN=$(cd "$BIN" && pwd)
WORK=$(mktemp -d /tmp/tokenbroker-demo-XXXXXX)
chmod 700 "$WORK"
cleanup() {
  [ -n "${BROKER_PID:-}" ] && kill "$BROKER_PID" 2>/dev/null || true
  [ -n "${IMS_PID:-}" ] && kill "$IMS_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_for_file() {
  for _ in $(seq 1 200); do [ -s "$1" ] && return 0; sleep 0.05; done
  echo "timed out waiting for $1" >&2; exit 1
}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# A demo secret (not a real credential): random per run.
SECRET=$(openssl rand -hex 16)
printf '%s\n' "$SECRET" > "$WORK/secret"
chmod 600 "$WORK/secret"
cat > "$WORK/clients.json" <<JSON
{"clients": [{"client_id": "demo-client-id", "client_secrets": ["$SECRET"],
  "org_id": "DEMO0123456789@AdobeOrg", "technical_account_id": "DEMO@techacct.adobe.com",
  "scopes": ["openid", "AdobeID", "read_organizations"]}]}
JSON

step "1. Start ims-emulator (a local Adobe IMS over TLS)"
"$BIN/ims-emulator" --listen=127.0.0.1:0 --port-file="$WORK/ims.port" \
  --cert-out="$WORK/ims-ca.pem" --clients="$WORK/clients.json" >"$WORK/ims.log" 2>&1 &
IMS_PID=$!
wait_for_file "$WORK/ims.port"
IMS_URL="https://127.0.0.1:$(cat "$WORK/ims.port")"
echo "ims-emulator at $IMS_URL"

step "2. Start tokenbroker pointed at it"
"$BIN/tokenbroker" --listen=127.0.0.1:0 --port-file="$WORK/broker.port" \
  --ims-url="$IMS_URL" --ims-ca-file="$WORK/ims-ca.pem" >"$WORK/broker.log" 2>&1 &
BROKER_PID=$!
wait_for_file "$WORK/broker.port"
export TOKENBROKER_SERVER="127.0.0.1:$(cat "$WORK/broker.port")"
echo "tokenbroker at $TOKENBROKER_SERVER"

step "3. Register an integration (the secret is read from a file, never argv)"
echo "\$ tokenctl --plaintext integrations create demo --auth=oauth-s2s --client-id=demo-client-id \\"
echo "    --client-secret-file=secret --org-id=DEMO0123456789@AdobeOrg \\"
echo "    --scopes=openid,AdobeID,read_organizations --org-header"
"$BIN/tokenctl" --plaintext integrations create demo --auth=oauth-s2s --client-id=demo-client-id \
  --client-secret-file="$WORK/secret" --org-id=DEMO0123456789@AdobeOrg \
  --scopes=openid,AdobeID,read_organizations --org-header

step "4. List integrations"
echo "\$ tokenctl --plaintext integrations list"
"$BIN/tokenctl" --plaintext integrations list

step "5. Get a token"
echo "\$ tokenctl --plaintext token get demo"
"$BIN/tokenctl" --plaintext token get demo

step "6. Get the headers an Adobe API call needs"
echo "\$ tokenctl --plaintext token headers demo"
"$BIN/tokenctl" --plaintext token headers demo

step "7. Ask again: served from the cache, no new IMS exchange"
"$BIN/tokenctl" --plaintext token get demo --json
curl -s --cacert "$WORK/ims-ca.pem" "$IMS_URL/emulator/stats"; echo
