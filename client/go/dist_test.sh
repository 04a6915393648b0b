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
repo="$(cd "$here/../.." && pwd)"
version="$(sed -n 's/^const Version = "\(.*\)"$/\1/p' "$here/tokenbroker/client.go")"
zip="$out/tokenbroker-go-$version.zip"
[ -f "$zip" ] || { echo "dist_test.sh: $zip is missing: run dist.sh $out first" >&2; exit 1; }

work="$(mktemp -d)"
# shellcheck source=../conformance/stack.sh
. "$repo/client/conformance/stack.sh"
trap 'stack_stop; rm -rf "$work"' EXIT
stack_start "$work/stack" c-dist s-dist
broker_port="$BROKER_PORT"

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
