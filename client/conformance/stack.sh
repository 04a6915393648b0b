# Sourced (bash) by the SDKs' dist_test.sh and overhead.sh: a real ims-emulator with one OAuth
# client and a tokenbroker (memory store, plaintext, loopback) in front of it, on free ports.
#
#   . "$repo/client/conformance/stack.sh"
#   stack_start DIR CLIENT_ID SECRET   # sets IMS_PORT, BROKER_PORT; logs and files in DIR
#   ...                                # the broker: 127.0.0.1:$BROKER_PORT (plaintext)
#   stack_stop                         # SIGTERM to both, waited for; call it from the EXIT trap
#
# Binaries from $TOKENBROKER_BIN_DIR (default <repo>/build/bin). A server that exits or writes
# no port within 20 s fails the script, with its log on stderr.

_stack_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STACK_BIN_DIR="${TOKENBROKER_BIN_DIR:-$_stack_repo/build/bin}"
_stack_pids=()

# _stack_port FILE PID NAME LOG: the port NAME wrote to FILE.
_stack_port() {
  local deadline=$((SECONDS + 20))
  until [ -s "$1" ]; do
    if ! kill -0 "$2" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
      echo "stack.sh: $3 did not start; its log:" >&2
      cat "$4" >&2
      exit 1
    fi
    sleep 0.05
  done
  cat "$1"
}

stack_start() {
  local dir="$1" client_id="$2" secret="$3" b
  for b in tokenbroker ims-emulator; do
    [ -x "$STACK_BIN_DIR/$b" ] || {
      echo "stack.sh: $STACK_BIN_DIR/$b is missing: run \`make build\` (or set TOKENBROKER_BIN_DIR)" >&2
      exit 2
    }
  done
  mkdir -p "$dir"
  cat >"$dir/clients.json" <<JSON
{"clients": [{"client_id": "$client_id", "client_secrets": ["$secret"], "org_id": "ORG@AdobeOrg",
  "technical_account_id": "T@techacct.adobe.com", "scopes": ["openid", "AdobeID"]}]}
JSON
  "$STACK_BIN_DIR/ims-emulator" --listen=127.0.0.1:0 --cert-out="$dir/ims-ca.pem" \
    --clients="$dir/clients.json" --port-file="$dir/ims.port" >"$dir/ims-emulator.log" 2>&1 &
  _stack_pids+=($!)
  IMS_PORT="$(_stack_port "$dir/ims.port" "$!" ims-emulator "$dir/ims-emulator.log")"
  "$STACK_BIN_DIR/tokenbroker" --listen=127.0.0.1:0 --store=memory \
    --ims-url="https://127.0.0.1:$IMS_PORT" --ims-ca-file="$dir/ims-ca.pem" --log-level=warning \
    --port-file="$dir/broker.port" >"$dir/tokenbroker.log" 2>&1 &
  _stack_pids+=($!)
  BROKER_PORT="$(_stack_port "$dir/broker.port" "$!" tokenbroker "$dir/tokenbroker.log")"
  export IMS_PORT BROKER_PORT
}

stack_stop() {
  local pid
  for pid in "${_stack_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${_stack_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  _stack_pids=()
}
