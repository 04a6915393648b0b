#!/usr/bin/env bash
# dist_test.sh OUT_DIR: installs OUT_DIR/tokenbroker-client-*.tgz (made by
# dist.sh) into a clean temporary project the way the README says
# (`npm install <tarball>`), checks what was installed, and runs an ES module
# and a CommonJS consumer that each get a token from a real tokenbroker +
# ims-emulator ($TOKENBROKER_BIN_DIR, else <repo>/build/bin), started here on
# free loopback ports and stopped on exit.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 OUT_DIR" >&2; exit 2; }
here="$(cd "$(dirname "$0")" && pwd)"
bin_dir="${TOKENBROKER_BIN_DIR:-$(cd "$here/../.." && pwd)/build/bin}"
out="$(cd "$1" && pwd)"
fail() { echo "dist_test.sh: $*" >&2; exit 1; }

shopt -s nullglob
tarballs=("$out"/tokenbroker-client-*.tgz)
[ ${#tarballs[@]} -eq 1 ] || fail "expected one tokenbroker-client-*.tgz in $out, found ${#tarballs[@]} (run dist.sh)"
for b in tokenbroker ims-emulator; do
  [ -x "$bin_dir/$b" ] || fail "$bin_dir/$b is missing: run 'make build' or set TOKENBROKER_BIN_DIR"
done
# shellcheck source=scripts/node.sh
. "$here/scripts/node.sh"

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# A project of its own, as a user has.
mkdir "$work/app"
cd "$work/app"
npm init -y >/dev/null
npm install --no-audit --no-fund --loglevel=error "${tarballs[0]}"

pkg=node_modules/@tokenbroker/client
[ "$(node -p "require('./$pkg/package.json').license")" = "Apache-2.0" ] || fail "package.json license is not Apache-2.0"
grep -q "Apache License" "$pkg/LICENSE" || fail "LICENSE is missing from the package"
[ -f "$pkg/dist/esm/index.d.ts" ] && [ -f "$pkg/dist/cjs/index.d.ts" ] || fail "type definitions are missing"
for tool in @bufbuild/buf ts-proto typescript; do
  [ ! -e "node_modules/$tool" ] || fail "installing the package pulled in $tool"
done

# ims-emulator and tokenbroker on free loopback ports (each writes its port).
start() { # name port-file args...
  local name="$1" port_file="$2"
  shift 2
  "$bin_dir/$name" "$@" --port-file="$port_file" >"$work/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 150); do
    [ -s "$port_file" ] && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || { cat "$work/$name.log" >&2; fail "$name exited"; }
    sleep 0.1
  done
  cat "$work/$name.log" >&2
  fail "$name did not write its port"
}
cat >"$work/clients.json" <<'EOF'
{"clients":[{"client_id":"c-day","client_secrets":["s-day"],"org_id":"ORG@AdobeOrg",
 "technical_account_id":"T@techacct.adobe.com","scopes":["openid","AdobeID"]}]}
EOF
start ims-emulator "$work/ims.port" --listen=127.0.0.1:0 --cert-out="$work/ims-ca.pem" --clients="$work/clients.json"
start tokenbroker "$work/broker.port" --listen=127.0.0.1:0 --store=memory \
  --ims-url="https://127.0.0.1:$(cat "$work/ims.port")" --ims-ca-file="$work/ims-ca.pem" --shutdown-grace=1s
export TOKENBROKER_SERVER="127.0.0.1:$(cat "$work/broker.port")"

cat >consumer.mjs <<'EOF'
import { AuthMethod, TokenbrokerClient, TokenbrokerError } from "@tokenbroker/client";

// A broker on loopback: plaintext, asked for explicitly (TLS is the default).
const client = new TokenbrokerClient({ plaintext: true });
try {
  await client.createIntegration("esm", {
    authMethod: AuthMethod.AUTH_METHOD_OAUTH_SERVER_TO_SERVER,
    clientId: "c-day", orgId: "ORG@AdobeOrg", scopes: ["openid", "AdobeID"],
    credentials: { clientSecrets: ["s-day"] },
  });
  const token = await client.getAccessToken("esm");
  const source = client.tokenSource("esm");
  if (!token.accessToken || (await source.accessToken()) !== token.accessToken) throw new Error("no token");
  await client.getAccessToken("missing").then(
    () => { throw new Error("missing integration found"); },
    (e) => { if (!(e instanceof TokenbrokerError) || e.codeName !== "NOT_FOUND") throw e; },
  );
  console.log(`esm: a token valid until ${token.expireTime.toISOString()}`);
} finally {
  client.close();
}
EOF
cat >consumer.cjs <<'EOF'
const { AuthMethod, TokenbrokerClient } = require("@tokenbroker/client");

(async () => {
  const client = new TokenbrokerClient({ plaintext: true });
  try {
    await client.createIntegration("cjs", {
      authMethod: AuthMethod.AUTH_METHOD_OAUTH_SERVER_TO_SERVER,
      clientId: "c-day", orgId: "ORG@AdobeOrg", scopes: ["openid", "AdobeID"],
      credentials: { clientSecrets: ["s-day"] },
    });
    const { headers } = await client.getRequestHeaders("cjs");
    if (!headers["Authorization"]?.startsWith("Bearer ") || headers["x-api-key"] !== "c-day") throw new Error("bad headers");
    console.log("cjs: Authorization and x-api-key");
  } finally {
    client.close();
  }
})().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
EOF
node consumer.mjs
node consumer.cjs
echo "dist_test.sh: OK (${tarballs[0]##*/})"
