#!/usr/bin/env bash
# Installs the Go SDK from OUT_DIR (what dist.sh built) the way README.md "Install" says, in a
# clean temporary directory: unpack tokenbroker-go-<version>.zip, make a consumer module whose
# go.mod `replace`s the SDK's module path with the unpacked folder, `go mod tidy`, `go build`.
# The consumer then creates an integration and gets its token from a real tokenbroker and
# ims-emulator, started here on free loopback ports and stopped on exit. Fails on anything off.
#
# Usage: TOKENBROKER_BIN_DIR=... client/go/dist_test.sh OUT_DIR
# Needs: Go, python3 (to unpack the zip), the server binaries ($TOKENBROKER_BIN_DIR, default
# <repo>/build/bin). Modules come from $GOPROXY (the go command's default when unset).
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
out="$(cd "$1" && pwd)"
bin_dir="${TOKENBROKER_BIN_DIR:-$(cd "$here/../.." && pwd)/build/bin}"
version="$(sed -n 's/^const Version = "\(.*\)"$/\1/p' "$here/tokenbroker/client.go")"
zip="$out/tokenbroker-go-$version.zip"
[ -f "$zip" ] || { echo "dist_test.sh: $zip is missing: run dist.sh $out first" >&2; exit 1; }
for b in tokenbroker ims-emulator; do
  [ -x "$bin_dir/$b" ] || { echo "dist_test.sh: $bin_dir/$b is missing (TOKENBROKER_BIN_DIR)" >&2; exit 1; }
done

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
  echo "dist_test.sh: $2 did not start; its log:" >&2
  cat "$work/$2.log" >&2
  return 1
}

# The servers: an emulator with client c-dist, a broker in front of it (memory store).
cat > "$work/clients.json" <<'JSON'
{"clients": [{"client_id": "c-dist", "client_secrets": ["s-dist"], "org_id": "ORG@AdobeOrg",
  "technical_account_id": "T@techacct.adobe.com", "scopes": ["openid", "AdobeID"]}]}
JSON
"$bin_dir/ims-emulator" --listen=127.0.0.1:0 --cert-out="$work/ims-ca.pem" \
  --clients="$work/clients.json" --port-file="$work/ims.port" >"$work/ims-emulator.log" 2>&1 &
pids+=($!)
ims_port="$(wait_port "$work/ims.port" ims-emulator)"
"$bin_dir/tokenbroker" --listen=127.0.0.1:0 --store=memory --ims-url="https://127.0.0.1:$ims_port" \
  --ims-ca-file="$work/ims-ca.pem" --port-file="$work/broker.port" >"$work/tokenbroker.log" 2>&1 &
pids+=($!)
broker_port="$(wait_port "$work/broker.port" tokenbroker)"

# The install, as README.md says: unpack, then require + replace in the consumer's go.mod.
python3 -m zipfile -e "$zip" "$work"
sdk="$work/tokenbroker-go-$version"
[ -f "$sdk/LICENSE" ] || { echo "dist_test.sh: the archive has no LICENSE" >&2; exit 1; }
mkdir "$work/consumer"
cd "$work/consumer"
export GOFLAGS=-mod=mod
go mod init example.com/consumer >/dev/null 2>&1
go mod edit -require=github.com/tokenbroker/tokenbroker/client/go@v0.0.0 \
  -replace=github.com/tokenbroker/tokenbroker/client/go="../tokenbroker-go-$version"
cat > main.go <<'GO'
// A program that uses the installed SDK: creates an integration, gets its token.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/tokenbroker/tokenbroker/client/go/tokenbroker"
	pb "github.com/tokenbroker/tokenbroker/client/go/tokenbrokerv1"
)

func main() {
	c, err := tokenbroker.New(os.Args[1], tokenbroker.WithPlaintext())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = c.CreateIntegration(ctx, "dist-test", &pb.Integration{
		AuthMethod: pb.AuthMethod_AUTH_METHOD_OAUTH_SERVER_TO_SERVER, ClientId: "c-dist",
		OrgId: "ORG@AdobeOrg", TechnicalAccountId: "T@techacct.adobe.com",
		Scopes:      []string{"openid", "AdobeID"},
		Credentials: &pb.Credentials{ClientSecrets: []string{"s-dist"}}})
	if err != nil {
		log.Fatal(err)
	}
	ts := c.TokenSource("dist-test")
	defer ts.Close()
	tok, err := ts.AccessToken(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if tok.AccessToken == "" || !tok.ValidFor(time.Minute) {
		log.Fatalf("unusable token: %v", tok)
	}
	fmt.Println("ok", tok)
}
GO
go mod tidy
go build -o consumer .
result="$(./consumer "127.0.0.1:$broker_port")"
echo "dist_test.sh: consumer said: $result"
case "$result" in
  "ok Token{integrations/dist-test, "*) echo "dist_test.sh: PASS (tokenbroker-go-$version installed from $zip)" ;;
  *) echo "dist_test.sh: FAIL" >&2; exit 1 ;;
esac
